"""The gene page: coordinates, status per tissue × modality, QTL tables (top, independent, significant pairs),
and the data of its plots (expression violins, bubble map, regional plot with its gene track) embedded in the
page. The expression violins and the regional plot of the default phenotype are also drawn on the server as
SVG, so that they show as soon as the page does; plotly replaces them with the interactive versions."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import numpy as np
import pandas as pd
from fastapi import APIRouter, Request
from fastapi.responses import Response

from ...store.portal import MAX_GENE_PAIRS, portal_queries
from . import params
from .context import Page, page_for
from .errors import PageRoute
from .evidence import (
    coloc_heatmap,
    coloc_rows,
    coloc_settings,
    coloc_susie_table,
    coloc_table,
    credible_set_table,
    qtl_coloc_table,
)
from .formatting import finite_list, json_records, significant_list
from .regional import gene_regional
from .static_plots import Group, violin_svg
from .tables import PAIR_COLUMNS, QTL_COLUMNS, Table, table_from_frame, without
from .templating import render
from .trans import trans_table

router = APIRouter(route_class=PageRoute, include_in_schema=False)
#: Significant pairs listed per page of the gene page's table (all of them go to the plots).
PAIRS_PER_PAGE = 100
#: Threads that run a gene page's reads side by side (its tables, expression, and the regional plot's pairs,
#: LD and genes).
_READS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="qtlatlas-gene-page")


def status_grid(page: Page, gene: dict) -> dict:
    """``{"modalities": [...], "rows": [{"tissue", "name", "colour", "cells": [status or None]}]}``."""
    by_key = {(s["tissue"], s["modality"]): s for s in gene["status"]}
    mods = [m for m in page.modalities if any(k[1] == m["id"] for k in by_key)] or page.modalities
    rows = [{"tissue": t["tissue_id"], "name": t.get("name") or t["tissue_id"], "colour": page.tissue_colour(t["tissue_id"]),
             "cells": [by_key.get((t["tissue_id"], m["id"])) for m in mods]} for t in page.tissues]
    return {"modalities": mods, "rows": rows}


def _pairs_page(page: Page, gene_name: str, pairs: pd.DataFrame, total: int, number: int) -> tuple[Table, dict]:
    count = max(1, -(-len(pairs) // PAIRS_PER_PAGE))
    number = min(number, count)
    part = pairs.iloc[(number - 1) * PAIRS_PER_PAGE: number * PAIRS_PER_PAGE]
    table = table_from_frame(page, "pairs-table", part, without(PAIR_COLUMNS, "gene_name", "chrom"),
                             caption="Significant variant–phenotype pairs, most significant first",
                             tsv_name=f"signif_pairs.{gene_name}.{page.release.id}", total=total,
                             empty="No significant pair for this gene.",
                             links={"All pairs (TSV)": page.api_url("/qtls/pairs", gene=gene_name, format="tsv",
                                                                      limit=10_000)})
    link = lambda n: page.gene_url(gene_name, pairs_page=n) + "#pairs"  # noqa: E731
    pages = {"number": number, "count": count, "prev": link(number - 1) if number > 1 else None,
             "next": link(number + 1) if number < count else None}
    return table, pages


def expression_groups(page: Page, rows: pd.DataFrame) -> list[dict]:
    """Per-sample expression for the page: ``[{"t": tissue index (page.tissues), "tpm": [values]}]`` in
    release order, values (in ``page.unit``) to 6 significant digits (stored as float32), missing values as
    None."""
    if rows is None or rows.empty:
        return []
    index = {t["tissue_id"]: i for i, t in enumerate(page.tissues)}
    out = []
    for tissue, part in rows.groupby("tissue", sort=False):
        if tissue in index:
            out.append({"t": index[tissue], "tpm": significant_list(part["tpm"].to_numpy())})
    return sorted(out, key=lambda g: g["t"])


def expression_svg(page: Page, groups: list[dict], title: str) -> str | None:
    """The expression violins (log10(value + 1) in the release's unit, the page's default scale) as a
    server-drawn SVG; None without expression."""
    if not groups:
        return None
    tissues = page.tissues
    return violin_svg([Group(tissues[g["t"]].get("name") or tissues[g["t"]]["tissue_id"],
                             page.tissue_colour(tissues[g["t"]]["tissue_id"]),
                             np.log10(np.asarray([np.nan if v is None else v for v in g["tpm"]], dtype=np.float64) + 1))
                       for g in groups], y_title=f"log10({page.unit} + 1)", label=title)


def plot_data(page: Page, gene: dict, assoc: dict, regional: dict, expression: list[dict] | None = None) -> dict:
    """The compact JSON embedded in the page for its plots (column arrays, tissues/modalities as indices);
    ``regional`` is :func:`~.regional.gene_regional`'s answer."""
    tissues = [{"id": t["tissue_id"], "name": t.get("name") or t["tissue_id"], "colour": page.tissue_colour(t["tissue_id"])}
               for t in page.tissues]
    mods = [{"id": m["id"], "name": m["name"]} for m in page.modalities]
    t_index = {t["id"]: i for i, t in enumerate(tissues)}
    m_index = {m["id"]: i for i, m in enumerate(mods)}
    pairs = assoc["significant"]
    phenotypes = sorted(set(pairs["phenotype_id"])) if len(pairs) else []
    p_index = {p: i for i, p in enumerate(phenotypes)}
    compact = {"variant": [], "pos": [], "t": [], "m": [], "ph": [], "p": [], "slope": []}
    if len(pairs):
        compact = {"variant": pairs["variant_id"].tolist(), "pos": pairs["pos"].astype("int64").tolist(),
                   "t": [t_index.get(t, -1) for t in pairs["tissue"]], "m": [m_index.get(m, -1) for m in pairs["modality"]],
                   "ph": [p_index[p] for p in pairs["phenotype_id"]], "p": finite_list(pairs["pval_nominal"]),
                   "slope": finite_list(pairs["slope"])}

    def rows(frame: pd.DataFrame, cols: list[str]) -> list[dict]:
        return json_records(frame[[c for c in cols if c in frame.columns]]) if len(frame) else []

    lead_cols = ["tissue", "modality", "phenotype_id", "variant_id", "pos", "pval_nominal", "slope", "slope_se", "qval",
                 "pval_nominal_threshold"]
    fdr = (page.release.info.get("mapping") or {}).get("fdr")
    return {
        "gene": {k: gene.get(k) for k in ("gene_id", "gene_name", "chrom", "start", "end", "strand", "tss")},
        "window": (page.release.info.get("mapping") or {}).get("window"), "fdr": fdr,
        "tissues": tissues, "modalities": mods, "phenotypes": phenotypes, "pairs": compact,
        "n_pairs_total": assoc["n_significant"],
        "leads": rows(assoc["top"], lead_cols), "independent": rows(assoc["independent"], [*lead_cols, "rank"]),
        "regional": regional["data"], "regional_choices": regional["choices"],
        "regional_problem": regional["problem"], "expression": expression or [],
        "expression_url": page.api_url("/expression/" + quote(gene["gene_id"], safe="")), "unit": page.unit,
        "release": page.release.id, "pinned": page.pinned,
    }


@router.get("/gene/{gene}")
def gene_page(request: Request, gene: str) -> Response:
    """The page of a gene (id or symbol, any case); ``?pairs_page=N`` pages its significant pairs."""
    page = page_for(request)
    number = params.integer(request, "pairs_page", 1, maximum=100_000)
    g = page.release.gene(gene)
    queries = portal_queries(page.release)
    # the reads side by side (Arrow and DuckDB release the GIL while they decode)
    pairs_read = _READS.submit(queries.gene_rows, g, "significant", limit=MAX_GENE_PAIRS)
    exons_read = _READS.submit(page.release.exons, g["gene_id"])
    expression_read = _READS.submit(page.release.expression, g["gene_id"])
    independent_read = _READS.submit(queries.gene_rows, g, "independent")
    coloc_read = _READS.submit(coloc_rows, page, gene=g["gene_id"])
    sets_read = _READS.submit(credible_set_table, page, "credible-sets-table", g["gene_name"] or g["gene_id"],
                              gene=g["gene_id"])
    qtl_coloc_read = _READS.submit(qtl_coloc_table, page, g["gene_id"], g["gene_name"] or g["gene_id"])
    susie_read = _READS.submit(coloc_susie_table, page, g["gene_id"], g["gene_name"] or g["gene_id"])
    top_rows, _ = queries.gene_rows(g, "top")
    independent_rows, _ = independent_read.result()
    regional = gene_regional(page, g, top_rows, independent_rows, _READS)
    pair_rows, n_pairs = pairs_read.result()
    exons = exons_read.result()
    expression = expression_groups(page, expression_read.result())
    assoc = {"top": top_rows, "independent": independent_rows, "significant": pair_rows, "n_significant": n_pairs}
    name = g["gene_name"] or g["gene_id"]
    qtl_cols = without(QTL_COLUMNS, "gene_name", "chrom")
    top = table_from_frame(page, "top-table", assoc["top"], without(qtl_cols, "rank"),
                           caption="Top QTL of every phenotype (or phenotype group) of the gene, by tissue and modality",
                           tsv_name=f"top_qtls.{name}.{page.release.id}", empty="The gene was not tested.",
                           links={"TSV (API)": page.api_url("/qtls/top", gene=g["gene_id"], format="tsv", limit=10_000)})
    independent = table_from_frame(page, "independent-table", assoc["independent"], qtl_cols,
                                   caption="Conditionally independent QTLs", empty="No significant QTL.",
                                   tsv_name=f"independent_qtls.{name}.{page.release.id}",
                                   links={"TSV (API)": page.api_url("/qtls/independent", gene=g["gene_id"],
                                                                    format="tsv", limit=10_000)})
    pairs, pages = _pairs_page(page, name, assoc["significant"], assoc["n_significant"], number)
    n_qtl = sum(1 for s in g["status"] if s["has_qtl"] and page.release.tissue_visible(s["tissue"]))
    coloc = coloc_read.result()
    evidence = {"coloc": coloc_table(page, "coloc-table", f"Colocalisation of {name}'s phenotypes with GWAS loci, "
                                     "most probable shared causal variant (PP.H4) first", name, coloc,
                                     gene=g["gene_id"]),
                "heatmap": coloc_heatmap(page, coloc), "sets": sets_read.result(), "qtl_coloc": qtl_coloc_read.result(),
                "coloc_susie": susie_read.result()}
    data = plot_data(page, g, assoc, regional, expression)
    data["coloc"] = evidence["heatmap"]
    return render(page, "gene.html", uses_plots=True, gene=g, name=name, grid=status_grid(page, g), top=top,
                  independent=independent, pairs=pairs, pages=pages, n_qtl=n_qtl, evidence=evidence,
                  trans=trans_table(page, "trans-table", f"trans-QTLs whose target is {name}, most significant first",
                                    gene=g["gene_id"]),
                  coloc_settings=coloc_settings(page),
                  data=data, regional_svg=regional["svg"],
                  regional_height=regional["height"],
                  expression_svg=expression_svg(page, expression, f"Expression ({page.unit}) of {name} per tissue"),
                  twas_url=page.url("/twas/genes/" + quote(name, safe="")) if page.has_twas else None,
                  n_transcripts=len(exons.get("transcripts", [])))
