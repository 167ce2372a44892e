"""Server-rendered data tables: a :class:`Table` holds pre-formatted cells (text shown, raw value for sorting
and TSV download, optional link), built from a DataFrame by :func:`table_from_frame` with column specs.

Cells are formatted here, column by column, rather than in the template: a gene page shows a few thousand
cells and formatting them in Python keeps its rendering time small. The template ``macros.html`` renders a
Table; ``static/tables.js`` adds sorting, filters and TSV download in the browser.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd
from markupsafe import Markup, escape

from . import formatting as F
from .context import Page

#: How a column's values are shown (``kind`` of :class:`Column`).
FORMATTERS: dict[str, Callable] = {
    "text": F.text, "int": F.integer, "num": F.number, "p": F.pvalue, "fixed": F.fixed,
    "distance": F.signed_distance, "size": F.filesize, "hash": F.text,
}
NUMERIC = {"int", "num", "p", "fixed", "distance", "size"}


@dataclass(frozen=True)
class Column:
    """One column: ``key`` in the data, ``label`` shown, ``kind`` (see :data:`FORMATTERS`), ``link`` (``gene``,
    ``variant``, ``tissue``, ``url``: the row's ``url`` value, or None), ``help`` (a tooltip), ``filter`` (offer
    a value filter)."""

    key: str
    label: str
    kind: str = "text"
    link: str | None = None
    help: str = ""
    filter: bool = False

    @property
    def numeric(self) -> bool:
        """Whether the column holds numbers."""
        return self.kind in NUMERIC

    @property
    def css(self) -> str:
        """CSS class of the column's cells: ``num`` (right-aligned numbers), ``hash`` (checksums) or none."""
        return "num" if self.numeric else "hash" if self.kind == "hash" else ""


@dataclass
class Table:
    """A table ready to render: ``rows`` are lists of ``(text, raw, href)`` cells."""

    id: str
    columns: list[Column]
    rows: list[list[tuple[str, str, str | None]]]
    caption: str = ""
    tsv_name: str = "table"
    total: int | None = None
    empty: str = "No rows."
    links: dict = field(default_factory=dict)  # e.g. {"all rows (TSV)": url}

    @property
    def shown(self) -> int:
        """Rows in the table (one page of them when the server pages it)."""
        return len(self.rows)

    @property
    def css(self) -> list[str]:
        """Per column, the CSS class of its cells."""
        return [c.css for c in self.columns]

    def body_html(self) -> Markup:
        """The ``<tr>`` rows of the table body (escaped): built here rather than in the template, which is
        several times slower for the thousands of cells of a gene page. A cell carries its raw value in
        ``data-v`` (for sorting and TSV) when it differs from the text shown."""
        classes = [f' class="{c}"' if c else "" for c in self.css]
        lines = []
        for row in self.rows:
            cells = []
            for (text, raw, href), cls in zip(row, classes, strict=True):
                shown = escape(text)
                inner = shown if href is None else f'<a href="{escape(href)}">{shown}</a>'
                value = "" if raw == text else f' data-v="{escape(raw)}"'  # the text is the value: no attribute
                cells.append(f"<td{cls}{value}>{inner}</td>")
            lines.append("<tr>" + "".join(cells) + "</tr>")
        return Markup("\n".join(lines))


def _raw(value) -> str:
    text = F.text(value)
    if text == F.MISSING:
        return ""
    if isinstance(value, float):
        return repr(value)
    return text


def _links(page: Page, link: str | None, values: list, frame: pd.DataFrame) -> list[str | None]:
    if link == "variant":
        return [page.variant_url(v) if v is not None and v == v else None for v in values]
    if link == "tissue":
        return [page.tissue_url(v) if v is not None and v == v else None for v in values]
    if link == "url":  # the row's own "url" column
        return frame["url"].tolist() if "url" in frame else [None] * len(values)
    if link == "gene":  # link by gene_id (unique), show whatever the column holds
        ids = frame["gene_id"].tolist() if "gene_id" in frame else values
        return [page.gene_url(g) if g is not None and g == g else None for g in ids]
    return [None] * len(values)


def table_from_frame(page: Page, table_id: str, frame: pd.DataFrame, columns: list[Column], **options) -> Table:
    """A :class:`Table` of ``frame``'s rows and the ``columns`` it has (others are skipped)."""
    cols = [c for c in columns if c.key in frame.columns]
    per_column = []
    for c in cols:
        values = frame[c.key].to_numpy(dtype=object, na_value=None).tolist()
        fmt = FORMATTERS[c.kind]
        per_column.append(list(zip([fmt(v) for v in values], [_raw(v) for v in values],
                                   _links(page, c.link, values, frame), strict=True)))
    rows = [list(r) for r in zip(*per_column, strict=True)] if per_column else []
    return Table(id=table_id, columns=cols, rows=rows, **options)


def table_from_records(page: Page, table_id: str, records: list[dict], columns: list[Column], **options) -> Table:
    """A :class:`Table` of a list of dicts."""
    frame = pd.DataFrame.from_records(records) if records else pd.DataFrame(columns=[c.key for c in columns])
    return table_from_frame(page, table_id, frame, columns, **options)


# ------------------------------------------------------------------------------------------------
# Column sets shared by several pages
# ------------------------------------------------------------------------------------------------

P_HELP = "nominal p-value of the variant–phenotype association"
QTL_COLUMNS = [
    Column("tissue", "Tissue", link="tissue", filter=True),
    Column("modality", "Modality", filter=True),
    Column("gene_name", "Gene", link="gene"),
    Column("phenotype_id", "Phenotype"),
    Column("rank", "Rank", "int", help="rank of the conditionally independent signal"),
    Column("variant_id", "Variant", link="variant"),
    Column("chrom", "Chr"),
    Column("pos", "Position", "int"),
    Column("ref", "Ref"),
    Column("alt", "Alt"),
    Column("af", "AF", "fixed", help="frequency of the ALT allele"),
    Column("tss_distance", "TSS dist.", "distance", help="variant position minus the TSS, strand-aware (bp)"),
    Column("pval_nominal", "p", "p", help=P_HELP),
    Column("slope", "Slope", "fixed", help="effect of each ALT allele on the normalised phenotype"),
    Column("slope_se", "SE", "fixed", help="standard error of the slope"),
    Column("pval_beta", "p (beta)", "p", help="permutation p-value (beta approximation)"),
    Column("qval", "q", "p", help="q-value of the permutation p-value (false discovery rate)"),
    Column("log2_aFC", "log2 aFC", "fixed", help="allelic fold change, log2"),
]
PAIR_COLUMNS = [c for c in QTL_COLUMNS if c.key not in ("rank", "pval_beta", "qval", "ref", "alt", "log2_aFC")]


def without(columns: list[Column], *keys: str) -> list[Column]:
    """``columns`` less those named."""
    return [c for c in columns if c.key not in keys]
