"""The TWAS hub's locus page (``/twas/traits/{trait}/loci/{n}``): the marginal and conditional GWAS of the
locus SNPs with the genes of its models, its summary values (computed from the rows the plot draws) and its
models."""

from __future__ import annotations

import math
from urllib.parse import quote

import numpy as np
import pandas as pd
from fastapi import APIRouter, Request
from fastapi.responses import Response

from ...store import NotFound
from .context import Page, page_for
from .errors import PageRoute
from .evidence import coloc_rows_in_span, coloc_table
from .tables import Column, table_from_frame
from .twas_hub import (
    STATUS_HELP,
    STATUS_TEXT,
    gene_hub_url,
    hub_render,
    hub_url,
    locus_url,
    mark_statuses,
    mark_weak,
    mlog10_p,
    no_twas,
    not_found,
    rounded,
    set_links,
    trait_url,
    weak_column,
    yes_no,
)

router = APIRouter(route_class=PageRoute, include_in_schema=False)

# ------------------------------------------------------------------------------------------------------------
# A locus
# ------------------------------------------------------------------------------------------------------------

#: The locus's models: what the joint analysis says first (TWAS, joint and conditional z), then the model's
#: quality, then where it comes from (a splicing phenotype id is long: last, so the numbers fit the screen).
LOCUS_MODEL_COLUMNS = [
    Column("gene_name", "Gene"), Column("panel", "Panel", filter=True), Column("model", "Model", more=True),
    Column("twas_z", "TWAS Z", "fixed"), Column("twas_p", "TWAS P", "p"),
    Column("joint", "Joint", filter=True, help="kept by the joint (conditional) analysis of the locus"),
    Column("joint_z", "Joint Z", "fixed", help="z of a joint model in the joint model"),
    Column("joint_p", "Joint P", "p"),
    Column("cond_z", "Conditional Z", "fixed", help="z of a model conditioned on the joint models"),
    Column("cond_p", "Conditional P", "p"),
    Column("cond_r2", "R² by joint models", "fixed",
           help="variance of the model's prediction explained by the joint models' predictions", more=True),
    Column("model_cv_r2", "CV R²", "fixed", help="cross-validated R² of the model"),
    Column("model_cv_pval", "CV P", "p", help="cross-validation p-value of the model", more=True),
    Column("hsq", "h²", "fixed", help="cis-heritability (REML)", more=True), Column("nsnp", "SNPs", "int", more=True),
    Column("coloc_pp3", "PP3", "fixed", help="coloc posterior of two distinct causal variants", more=True),
    Column("coloc_pp4", "PP4", "fixed", help="coloc posterior of one shared causal variant"),
    Column("top_snp_cor", "r with top SNP", "fixed", help="correlation of the predicted expression with the best GWAS SNP",
           more=True),
    Column("tissue", "Tissue", filter=True, more=True), Column("modality", "Modality", filter=True, more=True),
    Column("phenotype_id", "Phenotype", short=True, more=True),
]
GWAS_COLUMNS = [
    Column("variant_id", "Variant", link="variant"), Column("pos", "Position", "int"),
    Column("gwas_z", "GWAS Z", "fixed"), Column("gwas_p", "GWAS P", "p"),
    Column("cond_z", "Conditional Z", "fixed", help="after conditioning on the joint models"),
    Column("cond_p", "Conditional P", "p"),
    Column("cond_r2", "R² by joint models", "fixed", help="variance of the SNP explained by the joint models' predictions"),
]


def format_mlog10(m: float | None) -> str:
    """A p-value given as −log10 p, formatted as the tables format p (``3.2e-05``; exact below 1e-300)."""
    if m is None or not math.isfinite(m):
        return "—"
    if m < 3:
        return f"{10.0 ** -m:.3g}"
    k = math.ceil(m)
    mantissa = 10.0 ** (k - m)
    if mantissa >= 9.995:  # rounds up to 10.00
        mantissa, k = mantissa / 10, k - 1
    return f"{mantissa:.2f}e-{k}"


def locus_summary(gwas: pd.DataFrame, y: np.ndarray, cy: np.ndarray) -> dict:
    """The locus card's GWAS values, from the rows the plot draws (``y``, ``cy``: their marginal and
    conditional −log10 p): the lead SNP (largest marginal −log10 p) with its conditional p or status, the SNP
    with the smallest conditional p (the plot's conditional maximum), and the SNPs left without a conditional
    statistic."""
    status = gwas["cond_status"].astype(object).where(gwas["cond_status"].notna(), None).tolist() \
        if "cond_status" in gwas else [None] * len(gwas)
    out: dict = {"lead": None, "best_cond": None, "n_explained": status.count("explained"),
                 "n_unstable": status.count("unstable"), "n_snps": len(gwas)}
    if not len(gwas) or not np.isfinite(y).any():
        return out
    lead = int(np.nanargmax(y))
    lead_status = status[lead] or ("tested" if np.isfinite(cy[lead]) else "undefined")
    out["lead"] = {"variant": str(gwas["variant_id"].iat[lead]), "mlog10": float(y[lead]), "p": format_mlog10(y[lead]),
                   "status": lead_status, "cond_mlog10": float(cy[lead]) if np.isfinite(cy[lead]) else None,
                   "cond_p": format_mlog10(cy[lead]) if np.isfinite(cy[lead]) else STATUS_TEXT.get(lead_status, "—")}
    if np.isfinite(cy).any():
        best = int(np.nanargmax(cy))
        out["best_cond"] = {"variant": str(gwas["variant_id"].iat[best]), "mlog10": float(cy[best]),
                            "p": format_mlog10(cy[best])}
    return out


def gene_track(page: Page, models: list[dict], span: tuple[int, int] | None = None) -> list[dict]:
    """Genes of a locus's models with their coordinates, joint flag and a track row (genes and their labels do
    not overlap within a row; ``span`` is the plotted range)."""
    genes: dict[str, dict] = {}
    for m in models:
        gid = str(m["gene_id"])
        g = genes.get(gid)
        if g is None:
            try:
                row = page.release.resolve_gene(gid)
                start, end, strand = int(row["start"]), int(row["end"]), row.get("strand")
                name = row.get("gene_name") or m.get("gene_name") or gid
            except NotFound:  # not in the genes table: the model's weight SNPs
                start, end, strand, name = int(m["p0"]), int(m["p1"]), None, m.get("gene_name") or gid
            g = genes[gid] = {"id": gid, "name": str(name), "start": start, "end": end, "strand": strand,
                              "joint": False, "best_p": None, "n_models": 0}
        g["n_models"] += 1
        g["joint"] = g["joint"] or bool(m.get("joint"))
        p = m.get("twas_p")
        if p is not None and (g["best_p"] is None or p < g["best_p"]):
            g["best_p"] = p
    ordered = sorted(genes.values(), key=lambda g: (g["start"], g["end"], g["name"]))
    lo = min([g["start"] for g in ordered] + ([int(span[0])] if span else []), default=0)
    hi = max([g["end"] for g in ordered] + ([int(span[1])] if span else []), default=1)
    width = max(hi - lo, 1)
    rows_end: list[float] = []
    for g in ordered:
        # a gene and its label (about 0.6 % of the plot width per character) must not overlap another in its row
        half = max((g["end"] - g["start"]) / 2, width * (0.006 * len(g["name"]) + 0.01) / 2)
        mid = (g["start"] + g["end"]) / 2
        left, right = mid - half, mid + half
        for k, end in enumerate(rows_end):
            if left > end:
                g["row"] = k
                rows_end[k] = right
                break
        else:
            g["row"] = len(rows_end)
            rows_end.append(right)
        g["url"] = gene_hub_url(page, g["name"])
    return ordered


@router.get("/twas/traits/{trait}/loci/{n}")
def locus_page(request: Request, trait: str, n: str) -> Response:
    """A locus of a trait: marginal and conditional GWAS with the genes of its models, and its models."""
    page = page_for(request)
    if not page.release.has_twas():
        return no_twas(page, "traits")
    release = page.release
    try:
        tid = release.check_trait(trait)
    except NotFound as exc:
        return not_found(page, exc, "traits")
    try:
        data = release.twas_locus(tid, n)  # the store checks the number
    except NotFound as exc:
        return not_found(page, exc, "traits", trait=tid)
    info = release.twas_trait(tid)
    locus, models = data["locus"], data["models"]
    number = int(locus["locus"])
    count = int(info.get("n_loci") or 0)
    methods = release.twas_methods()
    analysis = methods.get("loci") or {}
    frame = pd.DataFrame.from_records(models) if models else pd.DataFrame(columns=["gene_name", "gene_id", "joint"])
    if len(frame):
        frame["joint"] = yes_no(frame["joint"])
    columns = list(LOCUS_MODEL_COLUMNS)
    if "weak_model" in frame:  # beside the CV R² it comes from
        columns.insert(next(k for k, c in enumerate(columns) if c.key == "model_cv_r2") + 1,
                       weak_column(methods.get("weak_cv_r2")))
    shown = frame.assign(weak_model=yes_no(frame["weak_model"])) if "weak_model" in frame else frame
    table = table_from_frame(page, "models-table", shown, columns,
                             tsv_name=f"twas_locus.{tid}.{number}.{release.id}",
                             caption="Models of the locus: joint models first, then by TWAS P", empty="No model.")
    set_links(table, {"gene_name": [gene_hub_url(page, g if g else i) for g, i in
                                    zip(frame.get("gene_name", []), frame.get("gene_id", []), strict=True)]})
    mark_statuses(table, frame.get("cond_status", [None] * len(frame)))
    mark_weak(table, frame.get("weak_model", [None] * len(frame)))
    gwas = pd.DataFrame.from_records(data["gwas"]) if data["gwas"] else pd.DataFrame(
        columns=["variant_id", "pos", "gwas_z", "gwas_p", "cond_z", "cond_p", "cond_r2", "cond_status"])
    top = gwas.sort_values("gwas_p", na_position="last").head(50)
    gwas_table = table_from_frame(
        page, "gwas-table", top, GWAS_COLUMNS, tsv_name=f"twas_locus_gwas.{tid}.{number}.{release.id}", total=len(gwas),
        caption="Most significant GWAS SNPs of the locus, marginal and conditional on the joint models",
        empty="No GWAS SNP in this locus.",
        links={"Every SNP (JSON, API)": page.api_url(f"/twas/traits/{quote(tid, safe='')}/loci/{number}")})
    mark_statuses(gwas_table, top["cond_status"].tolist() if "cond_status" in top else [None] * len(top))
    lo = min([int(locus["start"])] + ([int(gwas["pos"].min())] if len(gwas) else []))
    hi = max([int(locus["end"])] + ([int(gwas["pos"].max())] if len(gwas) else []))
    genes = gene_track(page, models, (lo, hi))
    coloc = coloc_table(page, "coloc-table", "Colocalisation of the GWAS loci overlapping this locus with every "
                        "phenotype tested there, most probable shared causal variant (PP.H4) first", f"{tid}.{number}",
                        coloc_rows_in_span(page, tid, str(locus["chrom"]), lo, hi), trait=tid)
    y = mlog10_p(gwas["gwas_z"], gwas["gwas_p"])
    cy = mlog10_p(gwas["cond_z"], gwas["cond_p"])
    status = gwas["cond_status"].astype(object).where(gwas["cond_status"].notna(), None).tolist() \
        if "cond_status" in gwas else [None] * len(gwas)
    plot = {"view": "locus", "trait": {"id": tid, "name": info["name"]},
            "locus": {k: locus.get(k) for k in ("locus", "chrom", "start", "end", "p0", "p1")},
            "gwas": {"variant": gwas["variant_id"].astype(str).tolist(), "pos": gwas["pos"].astype(np.int64).tolist(),
                     "y": rounded(y, 3), "cy": rounded(cy, 3),
                     "z": rounded(gwas["gwas_z"], 3), "cz": rounded(gwas["cond_z"], 3),
                     "r2": rounded(gwas["cond_r2"], 3) if "cond_r2" in gwas else [None] * len(gwas),
                     "status": status},
            "genes": genes, "gwas_threshold": -math.log10(5e-8)}
    summary = locus_summary(gwas, y, cy)
    nav = {"prev": locus_url(page, tid, number - 1) if number > 1 else None,
           "next": locus_url(page, tid, number + 1) if number < count else None}
    help_values = {"max_explained": analysis.get("max_explained") or 0.8,
                   "max_increase": analysis.get("max_increase") or 1.96}
    return hub_render(page, "twas_locus.html", "traits", uses_plots=True, trait=info, tid=tid, locus=locus,
                      number=number, count=count, table=table, gwas=gwas_table, genes=genes, locus_nav=nav, data=plot,
                      coloc=coloc,
                      trait_link=trait_url(page, tid), summary=summary,
                      status_help={k: v.format(**help_values) for k, v in STATUS_HELP.items()},
                      explained_share=f"{help_values['max_explained']:.0%}", max_increase=f"{help_values['max_increase']:g}",
                      methods_url=hub_url(page, "methods"),
                      n_joint=sum(1 for m in models if m.get("joint")), n_models=len(models))


