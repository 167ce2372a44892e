"""The region view (``/region?region=chr:start-end&tissue=&modality=``), linked from the QTL browser: every
tested pair of a region (at most 2 Mb) for one tissue × modality as −log10 p by position, coloured by r² with
the region's lead (LD over the tissue's samples) or by phenotype, the independent QTLs of the region ringed,
the region's genes below; a table of the region's phenotypes links to their genes. The plot is drawn on the
server first (:mod:`.regional_svg`), then by plotly (``static/region.js``)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
from fastapi import APIRouter, Request
from fastapi.responses import Response

from ...store.errors import StoreError
from ...store.params import region as parse_region
from ...store.portal import portal_queries
from ..regional import aligned_r2, ld_region, rounded, significant_digits
from . import params
from .context import Page, page_for
from .errors import PageRoute
from .regional_svg import Locus, regional_svgs
from .tables import Column, table_from_frame
from .templating import render

router = APIRouter(route_class=PageRoute, include_in_schema=False)
#: Most pairs of a region drawn (the most significant when it has more).
MAX_REGION_PAIRS = 20_000
#: Threads that read a region's pairs, genes and independent QTLs side by side.
_READS = ThreadPoolExecutor(max_workers=3, thread_name_prefix="qtlatlas-region-page")
COLOURS = {"ld": "r² with the lead variant", "phenotype": "phenotype"}
PHENOTYPE_COLUMNS = [
    Column("gene_name", "Gene", link="gene"),
    Column("phenotype_id", "Phenotype", short=True),
    Column("variant_id", "Lead variant", link="variant"),
    Column("pos", "Position", "int"),
    Column("pval_nominal", "p", "p", help="nominal p-value of the phenotype's most significant pair in the region"),
    Column("slope", "Slope", "fixed"),
    Column("n_pairs", "Pairs", "int", help="tested pairs of the phenotype whose variant lies in the region"),
]


def _targets(page: Page) -> list[tuple[str, str]]:
    """Tissue × modality pairs whose every tested pair the release publishes."""
    return page.release.all_pairs_targets()


def region_data(page: Page, span_text: str, tissue: str, modality: str) -> tuple[dict, pd.DataFrame]:
    """The region's plot payload (the shape of :func:`qtlatlas.web.regional.regional_data`'s, one point per
    pair with ``variants.ph`` its phenotype's index into ``phenotypes``) and the table of its phenotypes."""
    release = page.release
    span = parse_region(span_text)
    chrom = release.chrom_spellings(span.chrom)[0]
    pairs_read = _READS.submit(release.all_pairs_strongest, MAX_REGION_PAIRS, region=span_text, tissues=[tissue],
                               modalities=[modality], fields=["phenotype_id", "gene_id", "variant_id", "pos",
                                                              "nlog10p", "pval_nominal", "slope"])
    genes_read = _READS.submit(release.genes_in_span, span)
    independent_read = _READS.submit(release.qtls, "independent", tissues=[tissue], modalities=[modality],
                                     region=span_text, limit=1000)
    pairs, total, cut = pairs_read.result()
    pairs = pairs.sort_values(["pos", "phenotype_id"], kind="stable").reset_index(drop=True)
    names = portal_queries(release).gene_names(pairs["gene_id"].dropna().unique())
    phenotypes = list(dict.fromkeys(pairs["phenotype_id"].astype(str)))
    genes_of = dict(zip(pairs["phenotype_id"].astype(str), pairs["gene_id"].astype(str), strict=False))
    ph_index = {p: i for i, p in enumerate(phenotypes)}
    nlog10p = pairs["nlog10p"].to_numpy(dtype=np.float64)
    lead = int(np.nanargmax(nlog10p)) if np.isfinite(nlog10p).any() else None
    ids = pairs["variant_id"].astype(str).tolist()
    reference = ids[lead] if lead is not None else None
    r2, note, window = None, None, None
    if reference is not None:
        window = ld_region(chrom, span.start, span.end, int(pairs["pos"].iloc[lead]))
        try:
            r2 = aligned_r2(release.ld(reference, region=window, tissue=tissue), ids)
        except StoreError as exc:
            note = f"LD is not available: {exc}"
    independent, _, _ = independent_read.result()
    at = {(p, v): i for i, (p, v) in enumerate(zip(pairs["phenotype_id"], ids, strict=True))}
    signals = [{"variant_id": r.variant_id, "rank": int(r.rank), "phenotype_id": r.phenotype_id,
                "p": float(r.pval_nominal), "i": at.get((r.phenotype_id, r.variant_id), -1)}
               for r in independent.itertuples()] if len(independent) else []

    def label(p: str) -> str:  # the gene's symbol, then the phenotype id without the gene id it starts with
        g = genes_of[p]
        name = names.get(g, g)
        return name if p == g else f"{name} · {p.removeprefix(g).lstrip('_:.') or p}"

    data = {
        "tissue": tissue, "modality": modality, "chrom": chrom, "window": [span.start, span.end], "threshold": None,
        "n_total": int(total), "min_nlog10p": cut,
        "variants": {"id": ids, "pos": pairs["pos"].astype("int64").tolist(), "nlog10p": rounded(nlog10p, 3),
                     "slope": significant_digits(pairs["slope"]),
                     "ph": [ph_index[p] for p in pairs["phenotype_id"].astype(str)]},
        "phenotypes": [{"id": p, "gene_id": genes_of[p], "gene_name": names.get(genes_of[p], genes_of[p]),
                        "label": label(p)} for p in phenotypes],
        "lead": lead, "reference": reference, "r2": r2, "ld_region": window, "ld_note": note,
        "independent": signals, "genes": genes_read.result(),
    }
    best = pairs.sort_values("nlog10p", ascending=False, kind="stable").drop_duplicates("phenotype_id")
    table = best.assign(gene_name=best["gene_id"].map(names).fillna(best["gene_id"]),
                        n_pairs=best["phenotype_id"].map(pairs["phenotype_id"].value_counts()))
    return data, table.sort_values("pval_nominal", kind="stable")


def region_svg(data: dict, title: str):
    """The server-drawn plot of a region payload (coloured by r² with the lead; wide and for phones), and its
    height."""
    v = data["variants"]
    r2 = None if data["r2"] is None else np.array([np.nan if x is None else x for x in data["r2"]], dtype=float)
    locus = Locus(chrom=data["chrom"], window=tuple(data["window"]), pos=np.asarray(v["pos"], dtype=float),
                  nlog10p=np.array([np.nan if x is None else x for x in v["nlog10p"]], dtype=float), r2=r2,
                  reference=data["lead"], reference_label=data["reference"] or "",
                  independent=[(s["i"], s["rank"]) for s in data["independent"] if s["i"] >= 0], genes=data["genes"])
    return regional_svgs(locus, title)


@router.get("/region")
def region_page(request: Request) -> Response:
    """The region view; without ``region`` a form with an example region."""
    page = page_for(request)
    targets = _targets(page)
    region_text = params.text(request, "region", max_len=100)
    tissues = list(dict.fromkeys(t for t, _ in targets))
    tissue = params.choice(request, "tissue", tissues, default=tissues[0] if tissues else None)
    modalities = [m for t, m in targets if t == tissue]
    default_modality = "expression" if "expression" in modalities else (modalities[0] if modalities else None)
    modality = params.choice(request, "modality", modalities, default=default_modality)
    colour = params.choice(request, "colour", COLOURS, default="ld")
    example = portal_queries(page.release).search_examples().get("region")
    context = dict(region=region_text, tissue=tissue, modality=modality, colour=colour, colours=COLOURS,
                   tissues=tissues, modalities=modalities, example=example, data=None, table=None, svg=None,
                   height=420)
    if region_text and tissue and modality:
        data, rows = region_data(page, region_text, tissue, modality)
        where = f"{page.tissue_name(tissue)}, {page.modality_names.get(modality, modality)}"
        context["data"] = data
        context["svg"], context["height"] = region_svg(data, f"−log10 p of every tested pair of {region_text} in {where}")
        context["table"] = table_from_frame(
            page, "region-phenotypes", rows, PHENOTYPE_COLUMNS, tsv_name=f"region_phenotypes.{page.release.id}",
            caption=f"Phenotypes tested with a variant of {region_text} in {where}, most significant first",
            empty="No tested pair in this region.",
            links={"Every pair (TSV, API)": page.api_url(f"/all-pairs/region/{region_text.replace(' ', '')}",
                                                         tissue=tissue, modality=modality, format="tsv",
                                                         limit=10_000)})
    return render(page, "region.html", uses_plots=True, **context)
