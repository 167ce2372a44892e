"""QTL and significant-pair queries of a release (filtered, sorted, paged); mixed into
:class:`~qtlatlas.store.release.ReleaseStore`.

``top_qtls`` and ``independent_qtls`` are small enough (one or a few rows per phenotype) to be filtered and
sorted by DuckDB on each request. ``signif_pairs`` can hold tens of millions of rows: it is only queried by
gene or by a region of at most :data:`~qtlatlas.store.params.MAX_REGION_BP`, with predicates on its sort
keys (chromosome, position) so that DuckDB reads the few row groups that can match.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from . import params as P
from .db import placeholders, quote_identifier
from .errors import BadQuery

QTL_KINDS = {"top": "top_qtls", "independent": "independent_qtls"}
#: Leads whose minor allele has fewer copies than this among the tissue's samples are flagged ``low_mac``: their
#: slope rests on a handful of individuals, one of whom can make the association (GTEx v8 tests only variants
#: whose minor allele is in at least 10 samples; atlas.yaml's ``mapping.min_mac`` defaults to the same 10).
LOW_MAC = 10
#: Columns every QTL and significant-pair row gains over its table: ``gene_name`` (the genes table's symbol, null
#: when the gene has none) after ``gene_id``; ``maf``, ``mac`` (minor-allele copies among the samples of the
#: tissue × modality, from ``af`` and its sample count) and ``low_mac`` (``mac`` < :data:`LOW_MAC`) after ``af``.
DERIVED_COLUMNS = ("gene_name", "maf", "mac", "low_mac")
#: The derived columns a QTL browse can be sorted by.
DERIVED_SORTS = ("maf", "mac")
#: Tie-breakers appended to every ORDER BY so that pages are stable (each row on exactly one page).
_QTL_TIES = ["tissue", "modality", "gene_id", "phenotype_id", "rank", "variant_id"]
_PAIR_TIES = ["tissue", "modality", "phenotype_id", "variant_id"]
#: pyarrow 25 takes the place of missing values per sort key (and deprecates the option for all keys).
_PER_KEY_NULLS = int(pa.__version__.split(".")[0]) >= 25


def _sort_indices(table: pa.Table, keys: list[tuple[str, str]]) -> pa.Array:
    """Row order of ``table`` by ``keys`` (``(column, "ascending"|"descending")``), missing values last."""
    if _PER_KEY_NULLS:
        return pc.sort_indices(table, sort_keys=[(c, how, "at_end") for c, how in keys])
    return pc.sort_indices(table, sort_keys=keys, null_placement="at_end")


def _and(mask, other):
    """Element-wise AND of two boolean masks (``mask`` None: ``other``)."""
    return other if mask is None else pc.and_(mask, other)


def _after(columns: list[str], anchor: str, new: list[str]) -> list[str]:
    """``columns`` with ``new`` moved right after ``anchor`` (at the end when ``anchor`` is absent)."""
    rest = [c for c in columns if c not in new]
    at = rest.index(anchor) + 1 if anchor in rest else len(rest)
    return rest[:at] + list(new) + rest[at:]


class AssociationQueries:
    """QTLs and significant pairs (see the module docstring)."""

    def fdr(self) -> float | None:
        """The release's false discovery rate (atlas.yaml's ``mapping.fdr``), None when release.json has none."""
        try:
            value = float((self.info.get("mapping") or {}).get("fdr"))
        except (TypeError, ValueError):
            return None
        return value if 0 < value < 1 else None

    def _sample_counts(self) -> dict[tuple[str, str], int]:
        """``{(tissue, modality): samples mapped}`` (the ``tissue_modality`` table; cached)."""
        def load() -> dict[tuple[str, str], int]:
            if not self.has_table("tissue_modality"):
                return {}
            df = self._counts_df()
            return {(str(t), str(m)): int(n) for t, m, n in zip(df["tissue"], df["modality"], df["n_samples"], strict=True)
                    if n == n and int(n) > 0}

        return self._cached("sample_counts", load)

    def qtl_columns(self, kind: str) -> list[str]:
        """Columns of the rows of :meth:`qtls` of ``kind``: the table's and :data:`DERIVED_COLUMNS`."""
        columns = self.columns(QTL_KINDS[kind])
        derived = _after(_after(list(columns), "gene_id", ["gene_name"]), "af", ["maf", "mac", "low_mac"])
        return derived if "af" in columns else [c for c in derived if c not in ("maf", "mac", "low_mac")]

    def with_gene_names(self, rows: pd.DataFrame) -> pd.DataFrame:
        """``rows`` (with ``gene_id``) with ``gene_name`` after ``gene_id``: the genes table's symbol, null for a
        gene without one or not in the genes table."""
        if "gene_id" not in rows.columns:
            return rows
        names = self.gene_names(rows["gene_id"].dropna().unique()) if len(rows) else {}
        symbols = {g: n for g, n in names.items() if n != g}  # gene_names gives the id when there is no symbol
        rows = rows.assign(gene_name=rows["gene_id"].map(symbols).astype(object))
        rows["gene_name"] = rows["gene_name"].where(rows["gene_name"].notna(), None)
        return rows[_after(list(rows.columns), "gene_id", ["gene_name"])]

    def with_allele_counts(self, rows: pd.DataFrame) -> pd.DataFrame:
        """``rows`` (with ``tissue, modality, af``) with ``maf``, ``mac`` (rounded 2·n·MAF, n the samples mapped
        in the row's tissue × modality; null when unknown) and ``low_mac`` after ``af``."""
        if not {"tissue", "modality", "af"} <= set(rows.columns):
            return rows
        af = pd.to_numeric(rows["af"], errors="coerce").astype(np.float64)
        maf = np.minimum(af, 1 - af)
        counts = self._sample_counts()
        n = pd.Series([counts.get((str(t), str(m)), np.nan) for t, m in zip(rows["tissue"], rows["modality"],
                                                                              strict=True)], index=rows.index, dtype=np.float64)
        mac = (2 * maf * n).round().astype("Int64")
        rows = rows.assign(maf=maf, mac=mac, low_mac=(mac < LOW_MAC).astype("boolean"))
        return rows[_after(list(rows.columns), "af", ["maf", "mac", "low_mac"])]

    def _derived(self, rows: pd.DataFrame) -> pd.DataFrame:
        return self.with_allele_counts(self.with_gene_names(rows))

    def _arrow_allele_counts(self, table: pa.Table) -> pa.Table:
        """``maf`` and ``mac`` appended to an Arrow table of QTL rows (for filtering and sorting by them)."""
        if "af" not in table.column_names:
            return table
        af = table.column("af").cast(pa.float64())
        maf = pc.min_element_wise(af, pc.subtract(1.0, af))
        counts = self._sample_counts()
        keys = pc.binary_join_element_wise(table.column("tissue").cast(pa.string()),
                                           table.column("modality").cast(pa.string()), "\t")
        index = pc.index_in(keys, value_set=pa.array([f"{t}\t{m}" for t, m in counts], pa.string()))
        n = pc.take(pa.array(list(counts.values()), pa.float64()), index)
        mac = pc.cast(pc.round(pc.multiply(pc.multiply(maf, 2.0), n)), pa.int64())
        return table.append_column("maf", maf).append_column("mac", mac)

    def _window(self) -> int | None:
        try:
            w = int((self.info.get("mapping") or {}).get("window"))
        except (TypeError, ValueError):
            return None
        return w if w > 0 else None

    def _region_clause(self, span: P.Span) -> tuple[str, list]:
        names = self.chrom_spellings(span.chrom)
        return (f"chrom IN ({placeholders(len(names))}) AND pos BETWEEN ? AND ?", [*names, span.start, span.end])

    def _gene_ids(self, genes) -> list[str] | None:
        values = P.text_list(genes, "genes")
        if values is None:
            return None
        return list(dict.fromkeys(self.resolve_gene(g)["gene_id"] for g in values))

    def _gene_page(self, gene_ids: list[str], kind: str, columns: list[str], tissues, modalities,
                   max_qval: float | None, max_pval: float | None, order: list[tuple[str, str]], offset: int,
                   n: int) -> tuple[pd.DataFrame, int]:
        """Rows ``offset .. offset + n - 1`` of the genes' ``kind`` rows (top, independent, significant) from
        ``associations_by_gene``, filtered (tissues, modalities validated; q-value and p-value bounds, missing
        values failing them) and sorted by ``order`` (``(column, "ascending"|"descending")``, missing values
        last), all in Arrow: only the page becomes a DataFrame. Returns ``(page, rows matching)``."""
        parts = [self.gene_table({"gene_id": gid}, kind, columns) for gid in gene_ids]
        if not parts or parts[0].num_columns == 0:  # the release has no such table
            return pd.DataFrame({c: [] for c in columns}), 0
        table = pa.concat_tables(parts) if len(parts) > 1 else parts[0]
        if any(c in DERIVED_SORTS for c, _ in order):
            table = self._arrow_allele_counts(table)
        keep = None
        for column, values in (("tissue", self._tissue_filter(tissues)), ("modality", self._modality_filter(modalities))):
            if values is not None:
                keep = _and(keep, pc.is_in(table.column(column), value_set=pa.array(values, pa.string())))
        for column, bound in (("qval", max_qval), ("pval_nominal", max_pval)):
            if bound is not None:
                values = table.column(column) if column in table.column_names else pa.nulls(table.num_rows, pa.float64())
                keep = _and(keep, pc.fill_null(pc.less_equal(values, bound), False))
        if keep is not None:
            table = table.filter(keep)
        present = [(c, how) for c, how in order if c in table.column_names]
        indices = _sort_indices(table, present) if table.num_rows else None
        if indices is None or offset >= table.num_rows:
            page = table.slice(0, 0)
        else:
            page = table.take(indices.slice(offset, n))
        return page.drop_columns([c for c in DERIVED_SORTS if c in page.column_names]).to_pandas(), table.num_rows

    # -- top / independent QTLs -------------------------------------------------------------------

    def _add_membership(self, where: list[str], params: list, tissues, modalities) -> None:
        """Append the tissue and modality filters (validated; bound parameters) to ``where``/``params``, and the
        clause that leaves out the hidden tissues."""
        for column, values in (("tissue", self._tissue_filter(tissues)), ("modality", self._modality_filter(modalities))):
            if values is not None:
                where.append(f"{column} IN ({placeholders(len(values))})")
                params += values
        clause, hidden = self.tissue_clause("tissue")
        if clause:
            where.append(clause.removeprefix(" AND "))
            params += hidden

    def qtls(self, kind: str = "top", *, tissues=None, modalities=None, genes=None, region: str | None = None,
             max_qval: float | None = None, max_pval: float | None = None, sort: str = "pval_nominal",
             descending: bool = False, limit: int = 100, cursor: str | None = None,
             ) -> tuple[pd.DataFrame, int, str | None]:
        """Rows of the top (``kind="top"``) or conditionally independent (``"independent"``) QTL table.

        Filters (all optional, combined with AND): ``tissues``, ``modalities`` (lists, or comma-separated
        text; NotFound for an unknown one), ``genes`` (ids or symbols; NotFound for an unknown one),
        ``region`` (``chrom:start-end``, variant position, at most MAX_REGION_BP wide), ``max_qval``,
        ``max_pval`` (on ``pval_nominal``). ``sort`` is any column of the table or ``maf``/``mac`` (missing
        values last), ties broken by tissue, modality, gene, phenotype, rank, variant.

        Returns ``(rows, total, next_cursor)``: at most ``limit`` (≤ 10,000) rows from ``cursor`` on, the
        number of rows matching the filters, and the cursor of the next page (None on the last page). Rows hold
        the table's columns and :data:`DERIVED_COLUMNS` (:meth:`qtl_columns`).
        """
        if kind not in QTL_KINDS:
            raise BadQuery("kind", f"must be one of {', '.join(QTL_KINDS)}, not {str(kind)[:40]!r}")
        table = QTL_KINDS[kind]
        n = P.limit(limit)
        offset = P.decode_cursor(cursor, kind)
        columns = self.columns(table)
        sorts = [*columns, *(DERIVED_SORTS if "af" in columns else ())]
        if not isinstance(sort, str) or sort not in sorts:
            raise BadQuery("sort", f"not a column of the {kind} QTL table; columns: {', '.join(sorts)}")
        gene_ids = self._gene_ids(genes)
        qmax, pmax = P.number(max_qval, "max_qval"), P.number(max_pval, "max_pval")
        if gene_ids is not None and region is None and self.has_table("associations_by_gene"):
            # a gene's rows are runs of the look-up file: filtered, sorted and paged here, without a scan
            ties = [(c, "ascending") for c in _QTL_TIES if c != sort]
            page, total = self._gene_page(gene_ids, kind, columns, tissues, modalities, qmax, pmax,
                                          [(sort, "descending" if descending else "ascending"), *ties], offset, n)
            return self._derived(page), total, P.next_cursor(offset, len(page), total, kind)
        cond, params = self._qtl_where(tissues, modalities, gene_ids, region, qmax, pmax)
        path = self.table_file(table)
        total = int(self.db.scalar(f"SELECT COUNT(*) FROM read_parquet(?) WHERE {cond}", [path, *params]))
        direction = "DESC" if descending else "ASC"
        key, key_params = self._sort_expression(sort)
        order = [f"{key} {direction} NULLS LAST"] + [f"{quote_identifier(c)} ASC NULLS LAST" for c in _QTL_TIES
                                                     if c in columns and c != sort]
        if offset >= total:
            rows = self.db.df("SELECT * FROM read_parquet(?) LIMIT 0", [path])
        else:
            rows = self.db.df(f"SELECT * FROM read_parquet(?) WHERE {cond} ORDER BY {', '.join(order)} LIMIT ? OFFSET ?",
                              [path, *params, *key_params, n, offset])
        return self._derived(rows), total, P.next_cursor(offset, len(rows), total, kind)

    def _qtl_where(self, tissues, modalities, gene_ids: list[str] | None, region: str | None, qmax: float | None,
                   pmax: float | None) -> tuple[str, list]:
        """The ``WHERE`` condition (bound parameters) of the QTL rows matching these filters."""
        where, params = ["TRUE"], []
        self._add_membership(where, params, tissues, modalities)
        if gene_ids is not None:
            where.append(f"gene_id IN ({placeholders(len(gene_ids))})")
            params += gene_ids
        if region is not None:
            clause, values = self._region_clause(P.region(region))
            where.append(clause)
            params += values
        if qmax is not None:
            where.append("qval <= ?")
            params.append(qmax)
        if pmax is not None:
            where.append("pval_nominal <= ?")
            params.append(pmax)
        return " AND ".join(where), params

    def _sort_expression(self, sort: str) -> tuple[str, list]:
        """The SQL ``ORDER BY`` key of ``sort`` (a column, or a derived ``maf``/``mac``) and its bound parameters."""
        if sort not in DERIVED_SORTS:
            return quote_identifier(sort), []
        maf = "LEAST(af, 1 - af)"
        if sort == "maf":
            return maf, []
        counts = self._sample_counts()
        if not counts:
            return "CAST(NULL AS DOUBLE)", []
        cases = " ".join("WHEN tissue = ? AND modality = ? THEN ?" for _ in counts)
        params = [v for (t, m), c in counts.items() for v in (t, m, c)]
        return f"ROUND(2 * {maf} * CASE {cases} END)", params

    def qtl_counts(self, kind: str = "top", *, tissues=None, modalities=None, genes=None, region: str | None = None,
                   max_qval: float | None = None, max_pval: float | None = None) -> dict:
        """How many rows of the ``kind`` QTL table match the filters of :meth:`qtls`: ``{"tested": all of them,
        "significant": those with q ≤ the release's FDR (None when the release does not record its FDR), "fdr":
        that FDR}``; without ``max_qval``, "tested" is every tested phenotype's lead that the other filters keep."""
        if kind not in QTL_KINDS:
            raise BadQuery("kind", f"must be one of {', '.join(QTL_KINDS)}, not {str(kind)[:40]!r}")
        fdr = self.fdr()
        cond, params = self._qtl_where(tissues, modalities, self._gene_ids(genes), region,
                                       P.number(max_qval, "max_qval"), P.number(max_pval, "max_pval"))
        significant = "COUNT(*) FILTER (WHERE qval <= ?)" if fdr is not None and "qval" in self.columns(QTL_KINDS[kind]) \
            else "CAST(NULL AS BIGINT)"
        row = self.db.rows(f"SELECT COUNT(*), {significant} FROM read_parquet(?) WHERE {cond}",
                           [*([fdr] if "FILTER" in significant else []), self.table_file(QTL_KINDS[kind]), *params])[0]
        return {"tested": int(row[0]), "significant": None if row[1] is None else int(row[1]), "fdr": fdr}

    # -- significant pairs ------------------------------------------------------------------------

    def pairs(self, *, gene: str | None = None, region: str | None = None, tissues=None, modalities=None,
              limit: int = 1000, cursor: str | None = None) -> tuple[pd.DataFrame, int, str | None]:
        """Significant variant–phenotype pairs of one gene (id or symbol) or of one region
        (``chrom:start-end`` on the variant position, at most MAX_REGION_BP = 2,000,000 bp wide); exactly
        one of ``gene`` and ``region``. Optional ``tissues`` / ``modalities`` filters.

        Rows are sorted by position, tissue, modality, phenotype, variant (a region's also by gene
        after position), with the ``signif_pairs`` columns and :data:`DERIVED_COLUMNS`. Returns
        ``(rows, total, next_cursor)`` as :meth:`qtls` (hidden tissues left out).
        """
        if (gene is None) == (region is None):
            raise BadQuery("gene/region", "give exactly one of gene and region")
        n = P.limit(limit)
        kind = "pairs"
        offset = P.decode_cursor(cursor, kind)
        path = self.table_file("signif_pairs")
        where, params = [], []
        if gene is not None and self.has_table("associations_by_gene"):
            g = self.resolve_gene(gene)
            page, total = self._gene_page([g["gene_id"]], "significant", self.columns("signif_pairs"), tissues,
                                          modalities, None, None, [(c, "ascending") for c in ["pos", *_PAIR_TIES]],
                                          offset, n)
            return self._derived(page), total, P.next_cursor(offset, len(page), total, kind)
        if gene is not None:
            g = self.resolve_gene(gene)
            names = self.chrom_spellings(g["chrom"])
            where.append(f"chrom IN ({placeholders(len(names))})")
            params += names
            window = self._window()
            if window is not None:
                # pruning only: every cis pair of the gene lies within the window of one of its
                # phenotypes, which lie within the gene; a second window of margin keeps this safe
                lo, hi = min(g["start"], g["end"], g["tss"]), max(g["start"], g["end"], g["tss"])
                where.append("pos BETWEEN ? AND ?")
                params += [lo - 2 * window, hi + 2 * window]
            where.append("gene_id = ?")
            params.append(g["gene_id"])
            order = ["pos"] + _PAIR_TIES
        else:
            positional = self._positional()
            if positional is not None:
                # the same rows stored in exactly this order: a page is the next rows of one contiguous run
                span = P.region(region)
                equal: dict[str, list[str]] = {"source": ["significant"]}
                for column, values in (("tissue", self._tissue_filter(tissues)),
                                       ("modality", self._modality_filter(modalities))):
                    if values is not None:
                        equal[column] = values
                table, total = positional.page(self.chrom_spellings(span.chrom), span.start, span.end, equal,
                                               offset, n, self.columns("signif_pairs"),
                                               exclude={"tissue": self.hidden.tissues} if self.hidden.tissues else None)
                return self._derived(table.to_pandas()), total, P.next_cursor(offset, table.num_rows, total, kind)
            clause, values = self._region_clause(P.region(region))
            where.append(clause)
            params += values
            order = ["pos", "gene_id"] + _PAIR_TIES
        self._add_membership(where, params, tissues, modalities)
        cond = " AND ".join(where)
        total = int(self.db.scalar(f"SELECT COUNT(*) FROM read_parquet(?) WHERE {cond}", [path, *params]))
        if offset >= total:
            rows = self.db.df("SELECT * FROM read_parquet(?) LIMIT 0", [path])
        else:
            rows = self.db.df(f"SELECT * FROM read_parquet(?) WHERE {cond} ORDER BY {', '.join(order)} LIMIT ? OFFSET ?",
                              [path, *params, n, offset])
        return self._derived(rows), total, P.next_cursor(offset, len(rows), total, kind)
