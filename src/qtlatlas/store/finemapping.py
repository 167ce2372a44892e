"""SuSiE fine-mapping queries of a release; mixed into :class:`~qtlatlas.store.release.ReleaseStore`.

Reads ``tables/credible_sets.parquet`` (one row per member of a credible set, sorted by chromosome and position)
and ``tables/lbf_variable.parquet`` (one row per phenotype × variant fine-mapped), both described in
:mod:`qtlatlas.release.finemapping`. Every query is of one gene, one variant or one region of at most
:data:`~qtlatlas.store.params.MAX_REGION_BP`, with predicates on the tables' chromosome and position so that
DuckDB reads the few row groups that can match; user values reach SQL as bound parameters only.

A release built without fine-mapping answers empty results (after checking the gene, variant or region asked
for, so an unknown one is still :class:`~qtlatlas.store.errors.NotFound`).
"""

from __future__ import annotations

import pandas as pd

from ..release.finemapping import CREDIBLE_SETS_COLUMNS
from . import params as P
from .db import placeholders
from .errors import BadQuery

#: Columns of :meth:`FinemappingQueries.pips`.
PIP_COLUMNS = ["phenotype_id", "variant_id", "pos", "pip", "cs_id"]
#: Order of the rows of :meth:`FinemappingQueries.finemapping_table` (each row on exactly one page): credible
#: sets by their effect number (L2 before L10), members by PIP descending.
_ORDER = ("tissue, modality, phenotype_id, TRY_CAST(substr(cs_index, 2) AS BIGINT) NULLS LAST, cs_index, "
          "pip DESC NULLS LAST, variant_id")


def _given(value: object) -> bool:
    """Whether a selector was given (an empty or blank text counts as absent)."""
    return value is not None and not (isinstance(value, str) and not value.strip())


class FinemappingQueries:
    """Credible sets and PIPs (see the module docstring)."""

    def has_finemapping(self) -> bool:
        """True when the release was built with fine-mapping results."""
        return self.has_table("credible_sets")

    def _gene_window_clause(self, g: dict) -> tuple[list[str], list]:
        """Predicates selecting the rows of gene ``g`` (a genes-table row) by chromosome, a position range that
        holds every cis window of its phenotypes (pruning only; see :meth:`AssociationQueries.pairs`), and
        ``gene_id``."""
        names = self.chrom_spellings(g["chrom"])
        where = [f"chrom IN ({placeholders(len(names))})"]
        values: list = list(names)
        window = self._window()
        if window is not None:
            lo, hi = min(g["start"], g["end"], g["tss"]), max(g["start"], g["end"], g["tss"])
            where.append("pos BETWEEN ? AND ?")
            values += [int(lo) - 2 * window, int(hi) + 2 * window]
        where.append("gene_id = ?")
        values.append(g["gene_id"])
        return where, values

    def finemapping_table(self, *, gene: str | None = None, variant: str | None = None, region: str | None = None,
                          tissues=None, modalities=None, min_pip: float | None = None, limit: int = 1000,
                          cursor: str | None = None) -> tuple[pd.DataFrame, int, str | None]:
        """Members of the credible sets of one gene (id or symbol: its phenotypes' sets), one variant (the sets
        it belongs to; any syntax of :meth:`~qtlatlas.store.variants.VariantQueries.variant`) or one region
        (``chrom:start-end``, the member's position, at most MAX_REGION_BP = 2,000,000 bp); exactly one of the
        three. Optional ``tissues`` / ``modalities`` filters and ``min_pip`` (members with a PIP at least this).

        Rows: :data:`~qtlatlas.release.finemapping.CREDIBLE_SETS_COLUMNS`, ordered by tissue, modality,
        phenotype, credible set (L1, L2, …) and PIP descending; the tissues this store hides are left out before
        counting and paging. Returns ``(rows, total, next_cursor)``: at most
        ``limit`` (≤ 10,000) rows from ``cursor`` on, the number of rows matching, and the next page's cursor
        (None on the last page).

        Raises:
            BadQuery: none or several of gene/variant/region, a malformed region, limit, cursor or min_pip.
            NotFound: an unknown gene, variant, tissue or modality.
        """
        given = [name for name, value in (("gene", gene), ("variant", variant), ("region", region)) if _given(value)]
        if len(given) != 1:
            got = f" (got {' and '.join(given)})" if given else ""
            raise BadQuery("gene/variant/region", f"give exactly one of gene, variant and region{got}")
        kind = "finemapping"
        n = P.limit(limit)
        offset = P.decode_cursor(cursor, kind)
        pip_min = P.number(min_pip, "min_pip")
        where: list[str] = []
        values: list = []
        if _given(gene):
            where, values = self._gene_window_clause(self.resolve_gene(gene))
        elif _given(variant):
            v = self.variant(variant)
            names = self.chrom_spellings(str(v["chrom"]))
            where = [f"chrom IN ({placeholders(len(names))})", "pos = ?", "variant_id = ?"]
            values = [*names, int(v["pos"]), v["variant_id"]]
        else:
            clause, values = self._region_clause(P.region(region))
            where = [clause]
        self._add_membership(where, values, tissues, modalities)
        hidden, hidden_values = self.tissue_clause("tissue")
        if hidden:  # rows of the tissues this store hides count nowhere
            where.append(hidden.removeprefix(" AND "))
            values += hidden_values
        if pip_min is not None:
            where.append("pip >= ?")
            values.append(pip_min)
        if not self.has_finemapping():
            return pd.DataFrame({c: [] for c in CREDIBLE_SETS_COLUMNS}), 0, None
        path = self.table_file("credible_sets")
        cond = " AND ".join(where)
        total = int(self.db.scalar(f"SELECT COUNT(*) FROM read_parquet(?) WHERE {cond}", [path, *values]))
        if offset >= total:
            rows = self.db.df("SELECT * FROM read_parquet(?) LIMIT 0", [path])
        else:
            rows = self.db.df(f"SELECT * FROM read_parquet(?) WHERE {cond} ORDER BY {_ORDER} LIMIT ? OFFSET ?",
                              [path, *values, n, offset])
        return rows, total, P.next_cursor(offset, len(rows), total, kind)

    def pips(self, gene: str, tissue: str, modality: str, phenotype: str | None = None) -> pd.DataFrame:
        """Every variant fine-mapped for the phenotypes of ``gene`` (or only ``phenotype``) in one tissue ×
        modality, for a regional plot: :data:`PIP_COLUMNS`, ``pos`` in bp, ``pip`` a probability, ``cs_id`` the
        credible set the variant belongs to (the first by name when several; null when none). Ordered by
        phenotype and position. Empty when the gene (or that phenotype) was not fine-mapped there.

        Raises:
            NotFound: an unknown gene, tissue or modality of the tissue.
            BadQuery: a malformed phenotype id.
        """
        t = self.check_tissue(tissue)
        m = self.check_modality(modality, t)
        g = self.resolve_gene(gene)
        where, values = self._gene_window_clause(g)
        where += ["tissue = ?", "modality = ?"]
        values += [t, m]
        if phenotype is not None:
            where.append("phenotype_id = ?")
            values.append(P.text(phenotype, "phenotype", max_len=300))
        if not self.has_finemapping():
            return pd.DataFrame({c: [] for c in PIP_COLUMNS})
        cond = " AND ".join(where)
        return self.db.df(
            f"WITH members AS (SELECT phenotype_id, variant_id, min(cs_id) AS cs_id FROM read_parquet(?) WHERE {cond} "
            "GROUP BY phenotype_id, variant_id) "
            "SELECT l.phenotype_id, l.variant_id, l.pos, l.pip, m.cs_id "
            f"FROM (SELECT * FROM read_parquet(?) WHERE {cond}) l LEFT JOIN members m USING (phenotype_id, variant_id) "
            "ORDER BY l.phenotype_id, l.pos, l.variant_id",
            [self.table_file("credible_sets"), *values, self.table_file("lbf_variable"), *values])
