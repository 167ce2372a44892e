"""The home page (atlas, release banner and changelog, tissue table, studies, search) and ``/search``,
which sends a query to the page it names: a tissue (id or name), a gene, a variant (rsID, ``chr:pos``, ``chr_pos_ref_alt``) or a
region (``chr:start-end``, to the QTL browser)."""

from __future__ import annotations

import re

import pandas as pd
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ...store import BadQuery, NotFound
from ...store import params as P
from ...store.portal import portal_queries
from . import params
from .context import Page, page_for
from .errors import PageRoute
from .tables import Column, Table, table_from_frame
from .templating import render

router = APIRouter(route_class=PageRoute, include_in_schema=False)
_REGION = re.compile(r"^[A-Za-z0-9_.]{1,40}:[\d,]+-[\d,]+$")
#: Most gene matches listed by /search when a query matches several genes.
MAX_MATCHES = 50


def tissue_table(page: Page) -> Table:
    """Tissues of the release: samples, expressed genes and eGenes per modality."""
    mods = page.modalities
    rows = []
    for t in page.tissues:
        row = {"tissue_id": t["tissue_id"], "name": t.get("name") or t["tissue_id"], "n_samples": t["n_samples"],
               "n_expressed_genes": t["n_expressed_genes"]}
        for m in mods:
            counts = t["counts"].get(m["id"])
            row[f"egenes:{m['id']}"] = counts["n_egenes"] if counts else None
        rows.append(row)
    columns = [Column("tissue_id", "Tissue", link="tissue"), Column("name", "Name"),
               Column("n_samples", "Samples", "int", help="genotyped samples with RNA data"),
               Column("n_expressed_genes", "Expressed genes", "int")]
    columns += [Column(f"egenes:{m['id']}", m["name"], "int", help=f"eGenes of {m['name']}: genes with a significant "
                       f"QTL ({m['description'] or m['id']})") for m in mods]
    return table_from_frame(page, "tissue-table", pd.DataFrame(rows), columns, tsv_name=f"tissues.{page.release.id}",
                            caption=f"Tissues of release {page.release.id}: samples, expressed genes and eGenes per "
                                    "modality")


@router.get("/")
def home(request: Request) -> Response:
    """The home page of the release."""
    page = page_for(request)
    fdr = (page.release.info.get("mapping") or {}).get("fdr")
    return render(page, "home.html", tissues=tissue_table(page), studies=page.site.studies(),
                  examples=portal_queries(page.release).search_examples(), fdr=fdr,
                  n_signif_pairs=portal_queries(page.release).significant_pair_count())


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _tissue_named(page: Page, q: str) -> str | None:
    """The id of the release's tissue whose id or name is ``q`` (ignoring case and surrounding spaces)."""
    key = q.strip().casefold()
    for t in page.tissues:
        if key in (str(t["tissue_id"]).casefold(), str(t.get("name") or "").casefold()):
            return t["tissue_id"]
    return None


@router.get("/search")
def search(request: Request) -> Response:
    """Resolve a search: a region goes to the QTL browser, a tissue (id or name), a gene or a variant to its page; a prefix that
    matches several genes lists them; nothing found is a 404 page with suggestions."""
    page = page_for(request)
    q = params.text(request, "q", max_len=100)
    if q is None:
        return _redirect(page.url("/"))
    release = page.release
    if _REGION.match(q.replace(" ", "")):
        span = P.region(q)  # BadQuery (400 page) when reversed or too wide
        return _redirect(page.url("/qtls", region=f"{span.chrom}:{span.start}-{span.end}"))
    tissue = _tissue_named(page, q)
    if tissue is not None:
        return _redirect(page.tissue_url(tissue))
    try:
        gene = release.resolve_gene(q)
        return _redirect(page.gene_url(gene["gene_name"] or gene["gene_id"]))
    except NotFound as exc:
        gene_error = exc
    try:
        variant = release.variant(q)
        return _redirect(page.variant_url(variant["variant_id"]))
    except NotFound as exc:
        variant_error = exc
    try:
        matches = release.search_genes(q, MAX_MATCHES)
    except BadQuery:
        matches = []
    if len(matches) == 1:
        return _redirect(page.gene_url(matches[0]["gene_name"] or matches[0]["gene_id"]))
    if matches:
        return render(page, "search.html", q=q, matches=matches)
    looks_positional = bool(re.match(r"^(rs\d+|[A-Za-z0-9.]{1,40}[:_]\d)", q, re.IGNORECASE))
    raise variant_error if looks_positional and variant_error.suggestions else gene_error
