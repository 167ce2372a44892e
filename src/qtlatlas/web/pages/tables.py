"""Server-rendered data tables: a :class:`Table` holds pre-formatted cells (text shown, raw value for sorting
and TSV download, optional link), built from a DataFrame by :func:`table_from_frame` with column specs.

Cells are formatted here, column by column, rather than in the template: a gene page shows a few thousand
cells and formatting them in Python keeps its rendering time small. The template ``macros.html`` renders a
Table; ``static/tables.js`` adds sorting, filters, TSV download and the "More columns" toggle in the browser.

Condensed columns keep the statistics of a table on a laptop's screen:

- a long id (``Column(short=True)``: phenotype ids) is shortened in its cell (:func:`shorten`); the full id is
  the cell's ``title`` (shown on hover) and its ``data-v``, which sorting, filters and the TSV use;
- two columns shown as one (``Column(join=...)``: REF and ALT as "Alleles", ``A>G``) carry both raw values in
  ``data-v``, separated by a tab; the header names both keys in ``data-tsv-keys``, and the TSV download splits
  the cell back into its two raw columns (``ref`` and ``alt``), so a download always has one value per column;
- secondary columns (``Column(more=True)``: chromosome next to the position, rank, AF, TSS distance…) have
  the class ``more``: ``tables.js`` hides them behind a "More columns" button of the table; without
  JavaScript they are shown. Statistic columns (p, q, slope, SE, effect sizes, TWAS Z and P, PP4, CV R²,
  significance) are never secondary.

Every cell carries its column's label in ``data-label``: on a phone the stylesheet lays each row out as a card
of labelled values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import pandas as pd
from markupsafe import Markup, escape

from . import formatting as F
from .context import Page

#: How a column's values are shown (``kind`` of :class:`Column`).
FORMATTERS: dict[str, Callable] = {
    "text": F.text, "int": F.integer, "num": F.number, "p": F.pvalue, "fixed": F.fixed,
    "distance": F.signed_distance, "size": F.filesize, "hash": F.text,
    "flagged": F.text,  # a number already formatted, perhaps with a word after it ("6 low"): shown as given
}
NUMERIC = {"int", "num", "p", "fixed", "distance", "size", "flagged"}


@dataclass(frozen=True)
class Column:
    """One column: ``key`` in the data, ``label`` shown, ``kind`` (see :data:`FORMATTERS`), ``link`` (``gene``,
    ``variant``, ``tissue``, ``url``: the row's ``url`` value, or None), ``help`` (a tooltip), ``filter`` (offer
    a value filter), ``more`` (secondary: behind the table's "More columns" button), ``short`` (shorten long
    values in the cell, see :func:`shorten`), ``join`` (the key of a second column shown in this one,
    ``value>joined``, as REF and ALT; see the module's docstring)."""

    key: str
    label: str
    kind: str = "text"
    link: str | None = None
    help: str = ""
    filter: bool = False
    more: bool = False
    short: bool = False
    join: str | None = None

    @property
    def numeric(self) -> bool:
        """Whether the column holds numbers."""
        return self.kind in NUMERIC

    @property
    def css(self) -> str:
        """CSS classes of the column's cells: ``num`` (right-aligned numbers), ``hash`` (checksums) or ``id``
        (long ids, shortened), and ``more`` (a secondary column)."""
        kind = "num" if self.numeric else "hash" if self.kind == "hash" else "id" if self.short else ""
        return f"{kind} more".strip() if self.more else kind

    @property
    def tsv_keys(self) -> str:
        """The keys of the TSV columns of a joined column (space-separated), else an empty string."""
        return f"{self.key} {self.join}" if self.join else ""


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
        ``data-v`` (for sorting and TSV) when it differs from the text shown, its column's label in
        ``data-label`` (the cards of a phone) and, when shortened, the full value in ``title``."""
        starts = [f'<td class="{c.css}" data-label="{escape(c.label)}"' if c.css else f'<td data-label="{escape(c.label)}"'
                  for c in self.columns]
        titled = [c.short for c in self.columns]
        lines = []
        for row in self.rows:
            cells = []
            for (text, raw, href), start, title in zip(row, starts, titled, strict=True):
                shown = escape(text)
                inner = shown if href is None else f'<a href="{escape(href)}">{shown}</a>'
                if raw == text:  # the text is the value: no attribute
                    value = ""
                else:
                    value = f' data-v="{escape(raw)}"'
                    if title and raw:
                        value += f' title="{escape(raw)}"'
                cells.append(f"{start}{value}>{inner}</td>")
            lines.append("<tr>" + "".join(cells) + "</tr>")
        return Markup("\n".join(lines))


#: Longest value a ``short`` column shows whole.
SHORT_MAX = 30


def shorten(value: str) -> str:
    """A long id shortened for its cell: an id that extends a gene id (``GENE__suffix``: isoforms, splicing
    clusters, TSS and polyA sites) shows its suffix after an ellipsis; any id still longer than
    :data:`SHORT_MAX` keeps its head and tail around an ellipsis."""
    if len(value) <= SHORT_MAX:
        return value
    if "__" in value:
        value = "…" + value.rsplit("__", 1)[1]
    if len(value) > SHORT_MAX:
        half = (SHORT_MAX - 1) // 2
        value = value[:half] + "…" + value[-half:]
    return value


def _joined(column: Column, frame: pd.DataFrame) -> list[tuple[str, str, None]]:
    """Cells of a column shown with another (``join``): ``A>G``, raw values tab-separated."""
    cells = []
    for a, b in zip(frame[column.key].to_numpy(dtype=object, na_value=None).tolist(),
                    frame[column.join].to_numpy(dtype=object, na_value=None).tolist(), strict=True):
        raw_a, raw_b = _raw(a), _raw(b)
        text = f"{F.text(a)}>{F.text(b)}" if raw_a or raw_b else F.MISSING
        cells.append((text, f"{raw_a}\t{raw_b}", None))
    return cells


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
    cols = [c if c.join is None or c.join in frame.columns else replace(c, join=None, label=c.key.capitalize())
            for c in columns if c.key in frame.columns]
    per_column = []
    for c in cols:
        if c.join:
            per_column.append(_joined(c, frame))
            continue
        values = frame[c.key].to_numpy(dtype=object, na_value=None).tolist()
        fmt = FORMATTERS[c.kind]
        texts = [fmt(v) for v in values]
        if c.short:
            texts = [shorten(t) for t in texts]
        per_column.append(list(zip(texts, [_raw(v) for v in values],
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
    Column("phenotype_id", "Phenotype", short=True),
    Column("rank", "Rank", "int", help="rank of the conditionally independent signal", more=True),
    Column("variant_id", "Variant", link="variant"),
    Column("chrom", "Chr", more=True),
    Column("pos", "Position", "int"),
    Column("ref", "Alleles", join="alt", help="REF>ALT"),
    Column("af", "AF", "fixed", help="frequency of the ALT allele", more=True),
    Column("tss_distance", "TSS dist.", "distance", help="variant position minus the TSS, strand-aware (bp)",
           more=True),
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
