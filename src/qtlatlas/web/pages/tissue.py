"""The tissue page: counts per modality, QQ plot and Manhattan plot of the lead p-value of every gene (for
the modality of ``?modality=``), the most significant genes and the most expressed ones."""

from __future__ import annotations

import numpy as np
import pandas as pd
from fastapi import APIRouter, Request
from fastapi.responses import Response
from scipy import stats

from ...store.portal import portal_queries
from ...store.sharing import egene_sharing
from . import params
from .context import Page, page_for
from .errors import PageRoute
from .tables import Column, table_from_frame, table_from_records
from .templating import render
from .trans import hotspot_table

router = APIRouter(route_class=PageRoute, include_in_schema=False)
#: Points kept in full on the plots: every gene with p below this; the others are thinned.
KEEP_BELOW_P = 0.01
#: Most points drawn for the genes above :data:`KEEP_BELOW_P` (evenly thinned).
MAX_BACKGROUND = 3000
TOP_GENES = 25
#: Genes labelled on the Manhattan plot (the phone layout shows fewer).
LABELLED_GENES = 5
#: Most points of the confidence band of the QQ plot (spaced evenly in −log10 of the rank).
BAND_POINTS = 200
#: Median of the chi-square distribution with one degree of freedom (the divisor of λ_GC).
CHI2_MEDIAN = float(stats.chi2.ppf(0.5, 1))


def _thin(n: int, keep: np.ndarray) -> np.ndarray:
    """Indices of the points to draw: all of ``keep`` and at most :data:`MAX_BACKGROUND` of the others."""
    rest = np.flatnonzero(~keep)
    if len(rest) > MAX_BACKGROUND:
        rest = rest[np.linspace(0, len(rest) - 1, MAX_BACKGROUND).astype(np.int64)]
    return np.sort(np.concatenate([np.flatnonzero(keep), rest]))


def genomic_inflation(p: np.ndarray) -> float | None:
    """λ_GC of p-values: the median of their chi-square (1 df) statistics over the median of that distribution."""
    p = np.asarray(p, np.float64)
    p = p[(p > 0) & (p <= 1)]
    if not len(p):
        return None
    return float(np.median(stats.chi2.isf(p, 1)) / CHI2_MEDIAN)


def qq_band(n: int, level: float = 0.95) -> dict:
    """Pointwise ``level`` band of the i-th smallest of ``n`` uniform p-values (Beta(i, n − i + 1)), as −log10
    p at the expected positions −log10(i / (n + 1)), on at most :data:`BAND_POINTS` ranks."""
    if n == 0:
        return {"x": [], "lower": [], "upper": []}
    ranks = np.unique(np.round(np.geomspace(1, n, min(n, BAND_POINTS))).astype(np.int64))
    tail = (1 - level) / 2
    a, b = ranks, n - ranks + 1
    return {"x": np.round(-np.log10(ranks / (n + 1)), 4).tolist(),
            "lower": np.round(-np.log10(stats.beta.ppf(1 - tail, a, b)), 4).tolist(),
            "upper": np.round(-np.log10(stats.beta.ppf(tail, a, b)), 4).tolist()}


def qq_data(leads: pd.DataFrame) -> dict:
    """Expected (−log10 i / (n + 1)) and observed −log10 p of the leads (Beta-approximated permutation p-values
    when the release has them), thinned, with the 95% band of the null and λ_GC of the same p-values."""
    column = "pval_beta" if leads["pval_beta"].notna().any() else "pval_nominal"
    p = np.sort(leads[column].dropna().to_numpy(np.float64))
    p = p[(p >= 0) & (p <= 1)]
    n = len(p)
    if n == 0:
        return {"expected": [], "observed": [], "column": column, "n": 0, "band": qq_band(0), "lambda": None}
    expected = -np.log10(np.arange(1, n + 1) / (n + 1))
    observed = -np.log10(np.maximum(p, 1e-320))
    idx = _thin(n, p < KEEP_BELOW_P)
    lam = genomic_inflation(p)
    return {"expected": np.round(expected[idx], 4).tolist(), "observed": np.round(observed[idx], 4).tolist(),
            "column": column, "n": n, "band": qq_band(n), "lambda": None if lam is None else round(lam, 3)}


def significance_line(leads: pd.DataFrame, fdr: float | None) -> dict | None:
    """The Manhattan threshold: the largest lead ``pval_nominal`` of the eGenes (q ≤ ``fdr``), or None."""
    if fdr is None or leads.empty:
        return None
    p = leads.loc[leads["qval"] <= fdr, "pval_nominal"].dropna()
    if p.empty:
        return None
    top = float(p.max())
    return {"p": top, "y": round(float(-np.log10(max(top, 1e-320))), 4), "fdr": fdr}


def manhattan_data(page: Page, leads: pd.DataFrame, fdr: float | None) -> dict:
    """Genome-wide positions (cumulative over chromosomes in natural order), −log10 lead p, symbol, chromosome
    index and eGene flag (0/1) of every gene (genes with p ≥ :data:`KEEP_BELOW_P` that are not eGenes are thinned)."""
    if leads.empty:
        return {"x": [], "y": [], "gene": [], "chrom": [], "egene": [], "ticks": [], "labels": [], "threshold": None,
                "top": []}
    order = portal_queries(page.release).chromosome_order()
    span = leads.groupby("chrom", sort=False)["tss"].max()
    offsets, ticks, labels, total = {}, [], [], 0
    for c in order:
        if c in span.index:
            offsets[c] = total
            ticks.append(total + int(span[c]) / 2)
            labels.append(str(c).removeprefix("chr"))
            total += int(span[c]) + 1
    x = leads["chrom"].map(offsets).to_numpy(np.float64) + leads["tss"].to_numpy(np.float64)
    p = leads["pval_nominal"].to_numpy(np.float64)
    y = -np.log10(np.clip(p, 1e-320, 1))
    egene = (leads["qval"].to_numpy(np.float64) <= fdr) if fdr is not None else np.zeros(len(leads), bool)
    keep = np.isfinite(y) & np.isfinite(x)
    idx = _thin(len(leads), keep & ((p < KEEP_BELOW_P) | egene))
    idx = idx[keep[idx]]
    chrom_index = {c: i for i, c in enumerate(offsets)}
    return {"x": x[idx].astype(np.int64).tolist(), "y": np.round(y[idx], 3).tolist(),
            "gene": leads["gene_name"].to_numpy(object)[idx].tolist(),
            "chrom": [chrom_index.get(c, 0) for c in leads["chrom"].to_numpy(object)[idx]],
            "egene": egene[idx].astype(np.int8).tolist(), "ticks": ticks, "labels": labels,
            "threshold": significance_line(leads, fdr), "top": top_genes(leads, offsets)}


def top_genes(leads: pd.DataFrame, offsets: dict) -> list[dict]:
    """The :data:`LABELLED_GENES` genes of smallest lead p (one per symbol), to label: symbol, x and y."""
    top = leads[leads["chrom"].isin(list(offsets))].sort_values(["pval_nominal", "gene_id"])
    top = top.drop_duplicates("gene_name").head(LABELLED_GENES)
    return [{"gene": str(r.gene_name), "x": int(offsets[r.chrom] + r.tss),
             "y": round(float(-np.log10(np.clip(r.pval_nominal, 1e-320, 1))), 3)} for r in top.itertuples()]


@router.get("/tissue/{tissue}")
def tissue_page(request: Request, tissue: str) -> Response:
    """The page of a tissue; ``?modality=`` chooses the modality of its plots and top genes."""
    page = page_for(request)
    release = page.release
    t = release.check_tissue(tissue)
    info = page.tissue_info[t]
    mods = list(info["modalities"]) or release.modality_ids()
    modality = params.choice(request, "modality", mods, default="expression" if "expression" in mods else mods[0])
    fdr = (release.info.get("mapping") or {}).get("fdr")
    leads = portal_queries(release).lead_per_gene(t, modality)
    counts = [{"modality": m, "name": page.modality_names.get(m, m), **info["counts"].get(m, {}),
               "share": (info["counts"][m]["n_egenes"] / info["counts"][m]["n_tested"])
               if info["counts"].get(m, {}).get("n_tested") else None} for m in mods]
    counts_table = table_from_records(page, "counts-table", counts, [
        Column("name", "Modality"), Column("n_samples", "Samples", "int"), Column("n_tested", "Tested", "int",
        help="phenotypes or groups tested"), Column("n_egenes", "eGenes", "int"),
        Column("share", "eGenes / tested", "fixed"), Column("n_independent", "Independent QTLs", "int")],
        tsv_name=f"counts.{t}.{release.id}", caption=f"QTL counts of {t} per modality")
    top = leads.sort_values(["pval_nominal", "gene_id"]).head(TOP_GENES)
    top_table = table_from_frame(page, "top-genes-table", top, [
        Column("gene_name", "Gene", link="gene"), Column("chrom", "Chr", more=True), Column("tss", "TSS", "int", more=True),
        Column("variant_id", "Lead variant", link="variant"), Column("pval_nominal", "p", "p"),
        Column("pval_beta", "p (beta)", "p"), Column("qval", "q", "p"),
        Column("n_phenotypes", "Phenotypes", "int")],
        tsv_name=f"top_genes.{t}.{modality}.{release.id}", caption=f"Most significant genes ({modality})",
        empty="No gene was tested.",
        links={"All QTLs of this tissue": page.url("/qtls", tissue=t, modality=modality)})
    sharing = egene_sharing(release, modality)
    sharing = sharing[(sharing["tissue"] == t) & (sharing["n_egenes"] > 0)].copy()
    sharing["name"] = [page.tissue_name(o) for o in sharing["other"]]
    sharing["colour"] = [page.tissue_colour(o) for o in sharing["other"]]
    expressed = release.top_expressed(t, 20)
    expressed_table = None
    if len(expressed):
        expressed_table = table_from_frame(page, "expressed-table", expressed, [
            Column("gene_name", "Gene", link="gene"), Column("gene_id", "Id"),
            Column("median", f"Median {page.unit}", "num")],
            tsv_name=f"top_expressed.{t}.{release.id}", caption=f"Most expressed genes (median {page.unit})",
            links={"Heatmap across tissues": page.url("/expression", tissue=t)})
    data = {"tissue": {"id": t, "name": info.get("name") or t, "colour": page.tissue_colour(t)}, "modality": modality,
            "modality_name": page.modality_names.get(modality, modality),
            "qq": qq_data(leads), "manhattan": manhattan_data(page, leads, fdr), "fdr": fdr,
            "n_genes": len(leads)}
    return render(page, "tissue.html", uses_plots=True, tissue=info, tid=t, modalities=mods, modality=modality,
                  counts=counts_table, top=top_table, hotspots=hotspot_table(page, t), sharing=sharing.to_dict("records"), expressed=expressed_table, data=data, n_genes=len(leads),
                  n_egenes=int((leads["qval"] <= fdr).sum()) if fdr is not None else None)
