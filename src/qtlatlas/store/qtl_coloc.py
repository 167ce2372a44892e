"""QTL–QTL colocalisation of a release (``tables/qtl_coloc.parquet``, written by
:mod:`qtlatlas.release.qtl_coloc`): coloc.abf between every two significant phenotypes of a gene in two tissues
or two modalities. Mixed into :class:`~qtlatlas.store.release.ReleaseStore`.

The table is sorted by gene id, so DuckDB reads only the row groups of the gene asked (row-group statistics);
other filters scan it (one row per pair of significant phenotypes: tens of MB at most). Every user value is a
bound parameter. A release built without it answers :class:`NotFound`.
"""

from __future__ import annotations

import pandas as pd

from . import params as P
from .db import placeholders, quote_identifier
from .errors import BadQuery, NotFound

#: Columns of a row, as the table stores them.
QTL_COLOC_COLUMNS = ["gene_id", "gene_name", "tissue1", "modality1", "phenotype_id1", "tissue2", "modality2",
                     "phenotype_id2", "nsnps", "hit1", "hit2", "PP.H0.abf", "PP.H1.abf", "PP.H2.abf", "PP.H3.abf",
                     "PP.H4.abf"]
#: Row order (the table's): each row on exactly one page.
_ORDER = ["gene_id", "tissue1", "modality1", "phenotype_id1", "tissue2", "modality2", "phenotype_id2"]


class QtlColocQueries:
    """QTL–QTL colocalisation (see the module docstring)."""

    def has_qtl_coloc(self) -> bool:
        """True when the release was built with QTL–QTL colocalisation (its table may still be empty: no gene
        with two significant phenotypes)."""
        return self.has_table("qtl_coloc")

    def qtl_coloc_table(self, *, gene: str | None = None, tissues=None, modalities=None, min_pp4: float | None = None,
                        limit: int = 1000, cursor: str | None = None) -> tuple[pd.DataFrame, int, str | None]:
        """Pairs of significant phenotypes colocalised by coloc.abf, filtered and paged.

        Filters (optional, combined with AND): ``gene`` (id or symbol; NotFound for a gene neither the annotation
        nor the table knows), ``tissues`` / ``modalities`` (lists or comma-separated text; NotFound for an unknown
        one; a pair matches when either of its sides does), ``min_pp4`` (``PP.H4.abf`` at least this, in [0, 1];
        pairs without posteriors never match).

        Returns ``(rows, total, next_cursor)``: at most ``limit`` (≤ 10,000) rows of :data:`QTL_COLOC_COLUMNS`
        from ``cursor`` on, ordered by gene id, tissue1, modality1, phenotype_id1, tissue2, modality2,
        phenotype_id2; the number of matching rows; the cursor of the next page (None on the last). Pairs with a
        tissue this store hides on either side are left out of the rows and the total."""
        if not self.has_qtl_coloc():
            raise NotFound("QTL–QTL colocalisation", self.id, detail="(this release was built without it)")
        n = P.limit(limit)
        kind = "qtl_coloc"
        offset = P.decode_cursor(cursor, kind)
        path = self.table_file("qtl_coloc")
        where, params = ["TRUE"], []
        for side in ("tissue1", "tissue2"):  # a pair with a hidden tissue on either side is left out
            hidden, hidden_values = self.tissue_clause(side)
            if hidden:
                where.append(hidden.removeprefix(" AND "))
                params += hidden_values
        if gene is not None:
            where.append("gene_id = ?")
            params.append(self._qtl_coloc_gene(gene, path))
        for column, values in (("tissue", self._tissue_filter(tissues)), ("modality", self._modality_filter(modalities))):
            if values is not None:
                where.append(f"({column}1 IN ({placeholders(len(values))}) OR {column}2 IN ({placeholders(len(values))}))")
                params += values + values
        pp4 = P.number(min_pp4, "min_pp4")
        if pp4 is not None:
            if pp4 > 1:
                raise BadQuery("min_pp4", "must be a probability, between 0 and 1")
            where.append(f"{quote_identifier('PP.H4.abf')} >= ?")
            params.append(pp4)
        cond = " AND ".join(where)
        total = int(self.db.scalar(f"SELECT COUNT(*) FROM read_parquet(?) WHERE {cond}", [path, *params]))
        fields = ", ".join(quote_identifier(c) for c in QTL_COLOC_COLUMNS)
        if offset >= total:
            rows = self.db.df(f"SELECT {fields} FROM read_parquet(?) LIMIT 0", [path])
        else:
            order = ", ".join(quote_identifier(c) for c in _ORDER)
            rows = self.db.df(f"SELECT {fields} FROM read_parquet(?) WHERE {cond} ORDER BY {order} LIMIT ? OFFSET ?",
                              [path, *params, n, offset])
        return rows, total, P.next_cursor(offset, len(rows), total, kind)

    def _qtl_coloc_gene(self, gene: str, path: str) -> str:
        """The gene id of ``gene`` (id or symbol), or ``gene`` itself when the annotation lacks it but the table
        holds rows of that gene id (phenotypes of genes outside the release's annotation) between visible tissues."""
        try:
            return self.resolve_gene(gene)["gene_id"]
        except NotFound:
            q = P.text(gene, "gene")
            hidden1, values1 = self.tissue_clause("tissue1")
            hidden2, values2 = self.tissue_clause("tissue2")
            if self.db.scalar(f"SELECT COUNT(*) FROM read_parquet(?) WHERE gene_id = ?{hidden1}{hidden2}",
                              [path, q, *values1, *values2]):
                return q
            raise
