"""The QTL browser: top or independent QTLs across genes, filtered by tissue, modality, gene, region, q- and
p-value, sorted by any column, paginated (``/qtls``), and the TSV download of exactly the filtered rows
(``/qtls.tsv``, every page, streamed). Filtered by a region, it links to the region view (:mod:`.region`).

By default it lists the significant top QTLs only (q ≤ the release's FDR, atlas.yaml's ``mapping.fdr``); ``all=1``
lists every tested phenotype's, and an explicit ``max_qval`` sets the bound. The heading says how many of the
matching phenotypes are significant and how many are shown. Rows carry the lead's minor-allele frequency and
count in its tissue × modality, and leads with fewer than :data:`~qtlatlas.store.associations.LOW_MAC` minor-allele
copies have "low" after their count."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

import pandas as pd
from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from ...store import MAX_LIMIT, BadQuery
from ...store.associations import DERIVED_SORTS, LOW_MAC
from ...store.params import encode_cursor
from . import params
from .context import Page, page_for
from .errors import PageRoute
from .tables import QTL_COLUMNS, Column, table_from_frame
from .templating import PAGE_HEADERS, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)
KINDS = {"top": "Top QTL per phenotype", "independent": "Conditionally independent QTLs"}
PAGE_SIZES = ("25", "50", "100", "250")
#: Columns of the browser beside the shared QTL columns, each after the column named: minor-allele frequency and
#: count (in the lead's tissue × modality), and the flag of leads carried by few copies of the minor allele.
ALLELE_COLUMNS = [
    ("af", Column("maf", "MAF", "fixed", help="minor-allele frequency among the samples of the tissue × modality")),
    ("maf", Column("mac", "MAC", "flagged", help="minor-allele count: copies of the minor allele among the samples of the tissue "
                   f"× modality (2 × samples × MAF); 'low' marks fewer than {LOW_MAC} copies, so a handful of "
                   "individuals carry the association")),
]
#: Columns the browser keeps behind "More columns" beyond the shared ones (the variant's page and the region
#: filter give its position), so that the statistics stay on a laptop's screen.
BROWSER_SECONDARY = {"pos"}


@dataclass
class QtlQuery:
    """The validated filters of a QTL browser request."""

    kind: str
    tissues: list[str]
    modalities: list[str]
    genes: list[str]
    region: str | None
    max_qval: float | None
    max_pval: float | None
    sort: str
    descending: bool
    per_page: int
    number: int
    all_tested: bool = False  # every tested phenotype, not only the significant ones
    fdr: float | None = None  # the release's FDR

    @property
    def qval_bound(self) -> float | None:
        """The q-value bound applied: the one given, else the FDR for the top QTLs unless every tested phenotype is
        asked for (the conditionally independent signals are all of significant phenotypes: none)."""
        if self.max_qval is not None:
            return self.max_qval
        return None if self.all_tested or self.kind != "top" else self.fdr

    def count_filters(self) -> dict:
        """Keyword arguments of :meth:`ReleaseStore.qtl_counts` for these filters (all but the q-value bound)."""
        return {"tissues": self.tissues or None, "modalities": self.modalities or None, "genes": self.genes or None,
                "region": self.region, "max_pval": self.max_pval}

    def store_filters(self) -> dict:
        """Keyword arguments of :meth:`ReleaseStore.qtls` for these filters."""
        return {**self.count_filters(), "max_qval": self.qval_bound, "sort": self.sort, "descending": self.descending}

    def url_params(self, **override) -> dict:
        """Query parameters of a browser URL with these filters (``override`` replaces some)."""
        out = {"kind": self.kind, "tissue": self.tissues, "modality": self.modalities, "gene": self.genes,
               "region": self.region, "max_qval": _num(self.max_qval), "max_pval": _num(self.max_pval),
               "all": "1" if self.all_tested else None,
               "sort": self.sort, "order": "desc" if self.descending else "asc", "per_page": self.per_page}
        out.update(override)
        return out


def _num(x: float | None) -> str | None:
    return None if x is None else f"{x:g}"


def read_query(page: Page, request: Request) -> QtlQuery:
    """The filters of ``request`` (BadQuery for a malformed one; unknown tissues or genes are NotFound later)."""
    release = page.release
    kind = params.choice(request, "kind", KINDS, default="top")
    columns = sort_keys(release, kind)
    return QtlQuery(
        kind=kind,
        tissues=[release.check_tissue(t) for t in params.text_list(request, "tissue", max_items=200)],
        modalities=[release.check_modality(m) for m in params.text_list(request, "modality", max_items=50)],
        genes=params.text_list(request, "gene", max_items=100),
        region=params.text(request, "region", max_len=100),
        max_qval=params.number(request, "max_qval", maximum=1),
        max_pval=params.number(request, "max_pval", maximum=1),
        sort=params.choice(request, "sort", columns, default="pval_nominal"),
        descending=params.choice(request, "order", ("asc", "desc"), default="asc") == "desc",
        per_page=int(params.choice(request, "per_page", PAGE_SIZES, default="50")),
        number=params.integer(request, "page", 1, maximum=10_000_000),
        all_tested=params.flag(request, "all"),
        fdr=release.fdr(),
    )


def sort_keys(release, kind: str) -> list[str]:
    """The columns the browser can sort ``kind`` QTLs by: the table's, and MAF and MAC where it has AF."""
    columns = release.columns("top_qtls" if kind == "top" else "independent_qtls")
    return [*columns, *(DERIVED_SORTS if "af" in columns else ())]


def _shown(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows as the table shows them: a gene without a symbol by its id, the minor-allele count with "low"
    after it when it is below :data:`~qtlatlas.store.associations.LOW_MAC`."""
    rows = rows.copy()
    if "gene_id" in rows.columns:
        names = rows["gene_name"] if "gene_name" in rows.columns else pd.Series(None, index=rows.index, dtype=object)
        rows["gene_name"] = names.where(names.notna(), rows["gene_id"])
    if "mac" in rows.columns:  # the count with its low-count flag, in one cell
        low = (rows["low_mac"].astype(object).where(rows["low_mac"].notna(), False).map(bool)
               if "low_mac" in rows.columns else pd.Series(False, index=rows.index))
        rows["mac"] = [None if pd.isna(m) else f"{int(m):,}" + (" low" if flag else "")
                       for m, flag in zip(rows["mac"].astype(object), low, strict=True)]
    return rows


def _columns() -> list[Column]:
    """The browser's columns: the shared QTL columns (unfiltered: the form filters every page) with
    :data:`ALLELE_COLUMNS`."""
    columns = [replace(c, filter=False, more=c.more or c.key in BROWSER_SECONDARY) for c in QTL_COLUMNS]
    for after, column in ALLELE_COLUMNS:
        keys = [c.key for c in columns]
        columns.insert(keys.index(after) + 1 if after in keys else len(columns), column)
    return columns


def _heading(q: QtlQuery, total: int, counts: dict) -> str:
    """"N significant QTLs (q ≤ FDR) of M tested; K shown" for the filters of ``q``."""
    noun = "QTL" if q.kind == "top" else "independent QTL"
    tested, significant, fdr = counts["tested"], counts["significant"], counts["fdr"]
    if significant is None:
        return f"{total:,} {noun}{'s' if total != 1 else ''} shown of {tested:,}"
    shown = "all shown" if total == tested else f"{total:,} shown"
    return f"{significant:,} significant {noun}{'s' if significant != 1 else ''} (q ≤ {fdr:g}) of {tested:,} tested; {shown}"


@router.get("/qtls")
def qtl_browser(request: Request) -> Response:
    """One page of the QTLs matching the filters, with links to sort, page and download them."""
    page = page_for(request)
    q = read_query(page, request)
    cursor = encode_cursor((q.number - 1) * q.per_page, q.kind) if q.number > 1 else None
    rows, total, _next = page.release.qtls(q.kind, limit=q.per_page, cursor=cursor, **q.store_filters())
    count = max(1, -(-total // q.per_page))
    if q.number > count:
        raise BadQuery("page", f"beyond the last page ({count:,}) of these filters")
    counts = page.release.qtl_counts(q.kind, **q.count_filters())
    rows = _shown(rows)
    columns = _columns()  # filtering is done by the form, on all pages
    tsv = page.url("/qtls.tsv", **q.url_params(page=None, per_page=None))
    table = table_from_frame(page, "qtl-table", rows, columns, total=total, tsv_name="qtls",
                             caption=f"{KINDS[q.kind]}, sorted by {q.sort} ({'descending' if q.descending else 'ascending'})",
                             empty="No QTL matches these filters.",
                             links={f"Download all {total:,} rows (TSV)": tsv} if total else {})
    sortable = set(sort_keys(page.release, q.kind))
    sort_links = {c.key: page.url("/qtls", **q.url_params(
        sort=c.key, order="asc" if (c.key != q.sort or q.descending) else "desc", page=None))
        for c in table.columns if c.key in sortable}
    link = lambda n: page.url("/qtls", **q.url_params(page=n))  # noqa: E731
    pages = {"number": q.number, "count": count, "prev": link(q.number - 1) if q.number > 1 else None,
             "next": link(q.number + 1) if q.number < count else None}
    region_view = None
    if q.region and page.release.all_pairs_targets():  # the region's every tested pair, for its first tissue × modality
        region_view = page.url("/region", region=q.region, tissue=q.tissues[0] if q.tissues else None,
                               modality=q.modalities[0] if q.modalities else None)
    # the other scope: every tested phenotype, or back to the significant ones (the default) from any other bound
    to_all = not q.all_tested and q.max_qval is None and q.qval_bound is not None
    switch = page.url("/qtls", **q.url_params(all="1" if to_all else None, max_qval=None, page=None))
    return render(page, "qtls.html", q=q, kinds=KINDS, table=table, total=total, pages=pages, sort_links=sort_links,
                  page_sizes=PAGE_SIZES, modalities=page.modalities, tissues=page.tissues, region_view=region_view,
                  counts=counts, heading=_heading(q, total, counts), switch=switch, low_mac=LOW_MAC)


def _tsv_chunks(page: Page, q: QtlQuery, first: tuple[pd.DataFrame, int, str | None]) -> Iterator[bytes]:
    rows, _total, cursor = first
    header = True
    while True:
        yield rows.to_csv(sep="\t", index=False, header=header, na_rep="NA", float_format="%.6g").encode()
        header = False
        if cursor is None:
            return
        rows, _total, cursor = page.release.qtls(q.kind, limit=MAX_LIMIT, cursor=cursor, **q.store_filters())


@router.get("/qtls.tsv")
def qtl_download(request: Request) -> Response:
    """Every row matching the filters of the QTL browser (all pages, in the browser's order) as TSV."""
    page = page_for(request)
    q = read_query(page, request)
    first = page.release.qtls(q.kind, limit=MAX_LIMIT, **q.store_filters())  # errors answer before streaming
    name = f"{q.kind}_qtls.{page.release.id}.tsv"
    headers = {**PAGE_HEADERS, "Content-Disposition": f'attachment; filename="{name}"', "X-Total-Count": str(first[1])}
    return StreamingResponse(_tsv_chunks(page, q, first), media_type="text/tab-separated-values", headers=headers)
