"""Reads the portal pages need beyond the REST API's: every association of one gene in one read per table,
the lead p-value of every gene of a tissue × modality (QQ and Manhattan plots), gene symbols of a list of
ids and the chromosome order of a release. Mixed into :class:`~qtlatlas.store.release.ReleaseStore`.

A gene's associations come from the look-up file ``associations_by_gene`` (runs of one gene and source,
already in page order: a gene page decodes only its own rows); releases built before it are read through
DuckDB with bound parameters only and predicates on the tables' sort keys, like the other query modules.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..io.chromosomes import chrom_sort_key
from .batched import RunRows
from .db import placeholders
from .errors import BadQuery
from .params import limit as check_limit

#: Tables read by :meth:`PortalQueries.gene_rows`, by kind.
GENE_TABLES = {"top": "top_qtls", "independent": "independent_qtls", "significant": "signif_pairs"}
#: Most significant pairs returned for one gene (the most significant first).
MAX_GENE_PAIRS = 20_000
#: Columns of :meth:`PortalQueries.lead_per_gene`.
LEAD_COLUMNS = ["gene_id", "gene_name", "chrom", "tss", "variant_id", "pval_nominal", "pval_beta", "qval",
                "n_phenotypes"]


class PortalQueries:
    """Page-oriented reads (see the module docstring)."""

    def tissue_summaries(self) -> list[dict]:
        """:meth:`tissues` computed once per release (a release never changes); do not modify the result."""
        return self._cached("portal:tissues", self.tissues)

    def significant_pair_count(self) -> int | None:
        """Significant pairs of the release (release.json's count), or, in a store that hides tissues, of its
        visible tissues (counted once per view); None when unknown."""
        if not self.hidden.tissues:
            n = (self.info.get("counts") or {}).get("n_signif_pairs")
            return None if n is None else int(n)
        if not self.has_table("signif_pairs"):
            return None
        hide, hidden = self.tissue_clause("tissue")
        return self._cached("portal:n_signif_pairs", lambda: int(self.db.scalar(
            f"SELECT COUNT(*) FROM read_parquet(?) WHERE TRUE{hide}", [self.table_file("signif_pairs"), *hidden])))

    def gene_names(self, gene_ids) -> dict[str, str]:
        """``{gene_id: symbol}`` for the ids of the release among ``gene_ids`` (the id itself when a gene has
        no symbol); unknown ids are left out."""
        idx = self._gene_index()
        out: dict[str, str] = {}
        for g in gene_ids:
            i = idx.by_id.get(str(g).lower())
            if i is not None:
                out[str(g)] = idx.names[i] or idx.ids[i]
        return out

    def search_examples(self) -> dict:
        """Search examples shown on the home page: ``gene`` (symbol), ``variant`` and ``region`` (1 Mb around
        the variant); empty when the release has no QTL (cached per view: rows of hidden tissues are not read).

        The example is a clean eQTL shared across tissues where the release has one (:meth:`_shared_eqtl`);
        otherwise the most significant top QTL of any modality."""
        def load() -> dict:
            hide, hidden = self.tissue_clause("tissue")
            rows = self._shared_eqtl() or self.db.rows(
                "SELECT gene_id, variant_id, chrom, pos FROM read_parquet(?) "
                f"WHERE pval_nominal IS NOT NULL{hide} ORDER BY pval_nominal, gene_id LIMIT 1",
                [self.table_file("top_qtls"), *hidden])
            if not rows:
                return {}
            gene_id, variant_id, chrom, pos = rows[0]
            pos = int(pos)
            return {"gene": self.gene_names([gene_id]).get(gene_id, gene_id), "variant": variant_id,
                    "region": f"{chrom}:{max(pos - 500_000, 1)}-{pos + 500_000}"}

        return self._cached("portal:examples", load)

    def _shared_eqtl(self) -> list[tuple]:
        """``[(gene_id, variant_id, chrom, pos)]`` of the expression QTL that shows a clean shared effect, or
        ``[]``: among significant expression top QTLs (q ≤ the release's FDR), the lead variant of each gene
        in its most significant visible tissue (hidden tissues are left out throughout); the gene whose lead is a significant pair in the most tissues, with the
        same direction of effect in every one of them, the smallest p-value first."""
        if not (self.has_table("signif_pairs") and "qval" in self.columns("top_qtls")):
            return []
        fdr = float((self.info.get("mapping") or {}).get("fdr") or 0.05)
        hide, hidden = self.tissue_clause("tissue")
        hide_s, _ = self.tissue_clause("s.tissue")
        return self.db.rows(
            "WITH lead AS (SELECT gene_id, variant_id, chrom, pos, pval_nominal FROM read_parquet(?) "
            f"  WHERE modality = 'expression' AND qval <= ? AND pval_nominal IS NOT NULL{hide} "
            "  QUALIFY row_number() OVER (PARTITION BY gene_id ORDER BY pval_nominal, tissue) = 1), "
            "shared AS (SELECT s.gene_id, count(DISTINCT s.tissue) AS n_tissues, min(sign(s.slope)) AS lo, "
            "  max(sign(s.slope)) AS hi FROM read_parquet(?) s JOIN lead l "
            "  ON s.gene_id = l.gene_id AND s.variant_id = l.variant_id "
            f"  WHERE s.modality = 'expression'{hide_s} GROUP BY s.gene_id) "
            "SELECT l.gene_id, l.variant_id, l.chrom, l.pos FROM lead l JOIN shared USING (gene_id) "
            "WHERE shared.lo = shared.hi ORDER BY shared.n_tissues DESC, l.pval_nominal, l.gene_id LIMIT 1",
            [self.table_file("top_qtls"), fdr, *hidden, self.table_file("signif_pairs"), *hidden])

    def threshold_summary(self) -> pd.DataFrame:
        """The significance thresholds used in each tissue × modality, from the top QTL table (cached):
        ``tissue, modality, n_phenotypes, n_significant`` (q ≤ the release's FDR), ``pval_beta_threshold``
        (midpoint between the largest significant and the smallest non-significant permutation p-value, the
        genome-wide bar of the mapping) and ``median_nominal_threshold`` (median per-phenotype nominal p bar).
        Tissue × modality in release order; hidden tissues left out (cached per view)."""
        def load() -> pd.DataFrame:
            fdr = float((self.info.get("mapping") or {}).get("fdr") or 0.05)
            cols = set(self.columns("top_qtls"))
            if not {"qval", "pval_beta"} <= cols:
                return pd.DataFrame(columns=["tissue", "modality", "n_phenotypes", "n_significant",
                                             "pval_beta_threshold", "median_nominal_threshold"])
            nominal = "median(pval_nominal_threshold)" if "pval_nominal_threshold" in cols else "NULL"
            hide, hidden = self.tissue_clause("tissue")
            df = self.db.df(
                "SELECT tissue, modality, count(*) AS n_phenotypes, count(*) FILTER (WHERE qval <= ?) AS n_significant, "
                "max(pval_beta) FILTER (WHERE qval <= ?) AS _sig, min(pval_beta) FILTER (WHERE qval > ?) AS _non, "
                f"{nominal} AS median_nominal_threshold FROM read_parquet(?) WHERE TRUE{hide} GROUP BY tissue, modality",
                [fdr, fdr, fdr, self.table_file("top_qtls"), *hidden])
            df["pval_beta_threshold"] = np.where(df["_sig"].notna() & df["_non"].notna(),
                                                 (df["_sig"] + df["_non"]) / 2, df["_sig"])
            order = {(t, m): i for i, (t, m) in enumerate((t, m) for t, ms in self._tissue_modalities.items() for m in ms)}
            df["_o"] = [order.get((t, m), len(order)) for t, m in zip(df["tissue"], df["modality"], strict=True)]
            df = df.sort_values(["_o", "tissue", "modality"])
            return df[["tissue", "modality", "n_phenotypes", "n_significant", "pval_beta_threshold",
                       "median_nominal_threshold"]].reset_index(drop=True)

        return self._cached("portal:thresholds", load)

    def chromosome_order(self) -> list[str]:
        """Chromosome names of the genes table in natural order (1..22, X, Y, MT, others)."""
        return self._cached("portal:chroms", lambda: sorted(
            {str(c) for c in self._genes()["chrom"].dropna()}, key=chrom_sort_key))

    def gene_rows(self, gene: dict, kind: str, *, limit: int | None = None) -> tuple[pd.DataFrame, int]:
        """Every row of one gene in one association table, the smallest ``pval_nominal`` first (then tissue,
        modality, phenotype, rank, variant).

        Args:
            gene: a row of :meth:`resolve_gene` / :meth:`gene` (``gene_id, chrom, start, end, tss``).
            kind: ``top``, ``independent`` or ``significant`` (:data:`GENE_TABLES`).
            limit: most rows returned (≤ 100,000; None: all).

        Returns:
            ``(rows, total)``: the rows and the number of rows of the gene in the table (more than
            ``len(rows)`` when ``limit`` cut the list), both without the rows of hidden tissues. A table the
            release lacks gives no rows.
        """
        if kind not in GENE_TABLES:
            raise BadQuery("kind", f"must be one of {', '.join(GENE_TABLES)}, not {str(kind)[:40]!r}")
        table = GENE_TABLES[kind]
        if not self.has_table(table):
            return pd.DataFrame(), 0
        n = None if limit is None else check_limit(limit, "limit", maximum=100_000)
        if self.has_table("associations_by_gene"):
            return self._gene_runs(str(gene["gene_id"]), kind, table, n)
        return self._gene_rows_sql(gene, table, n)

    def gene_table(self, gene: dict, kind: str, columns: list[str]) -> pa.Table:
        """Every row of one gene in one association table (:data:`GENE_TABLES`), ``columns`` only (those the
        table has), as an Arrow table in the order of :meth:`gene_rows`: for callers that filter and format a
        handful of rows, without a DataFrame. Rows of hidden tissues are left out."""
        if kind not in GENE_TABLES:
            raise BadQuery("kind", f"must be one of {', '.join(GENE_TABLES)}, not {str(kind)[:40]!r}")
        table = GENE_TABLES[kind]
        if not self.has_table(table):
            return pa.table({})
        if not self.has_table("associations_by_gene"):
            rows, _ = self.gene_rows(gene, kind)
            return pa.Table.from_pandas(rows[[c for c in columns if c in rows.columns]], preserve_index=False)
        runs = self._cached("associations_by_gene", lambda: RunRows(self.table_file("associations_by_gene")))
        present = set(self.columns(table)) & set(runs.file.schema.names)
        cols = [c for c in columns if c in present]
        hidden = self.hidden.tissues
        read = cols if not hidden or "tissue" in cols else [*cols, "tissue"]
        parts = runs.read(str(gene["gene_id"]), kind, columns=read)
        if not parts:
            return runs.file.schema.empty_table().select(cols)
        table = parts[0] if len(parts) == 1 else pa.concat_tables(parts)
        if hidden:  # the look-up file holds every tissue's rows
            table = _without_tissues(table, hidden).select(cols)
        return table

    def _gene_runs(self, gene_id: str, kind: str, table: str, n: int | None) -> tuple[pd.DataFrame, int]:
        """:meth:`gene_rows` from ``associations_by_gene``: the gene's run(s) of ``kind``, cut to ``n`` rows."""
        runs = self._cached("associations_by_gene", lambda: RunRows(self.table_file("associations_by_gene")))
        cols = [c for c in self.columns(table) if c in runs.file.schema.names]
        if self.hidden.tissues:  # every tissue's rows are in the runs: read them all, count the visible ones
            parts = [_without_tissues(p, self.hidden.tissues) for p in runs.read(gene_id, kind, columns=cols)]
            total = sum(p.num_rows for p in parts)
        else:
            total = runs.count(gene_id, kind)
            parts = runs.read(gene_id, kind, limit=n, columns=cols)
        rows = pa.concat_tables(parts).to_pandas() if parts else pd.DataFrame({c: [] for c in cols})
        if len(parts) > 1:  # a gene whose rows were written in two runs (variants named on two chromosomes)
            keys = [c for c in ("pval_nominal", "tissue", "modality", "phenotype_id", "rank", "variant_id") if c in cols]
            rows = rows.sort_values(keys, kind="stable", na_position="last")
        if n is not None:
            rows = rows.iloc[:n]
        return rows.reset_index(drop=True), total

    def _gene_rows_sql(self, gene: dict, table: str, n: int | None) -> tuple[pd.DataFrame, int]:
        """:meth:`gene_rows` through DuckDB (releases built before ``associations_by_gene``)."""
        names = self.chrom_spellings(str(gene["chrom"]))
        where = [f"chrom IN ({placeholders(len(names))})"]
        params: list = list(names)
        window = self._window()
        if window is not None:  # pruning only, as in pairs(): cis variants lie within a window of the gene
            coords = [int(gene[k]) for k in ("start", "end", "tss") if gene.get(k) is not None]
            if coords:
                where.append("pos BETWEEN ? AND ?")
                params += [min(coords) - 2 * window, max(coords) + 2 * window]
        where.append("gene_id = ?")
        params.append(str(gene["gene_id"]))
        hide, hidden = self.tissue_clause("tissue")
        cond = " AND ".join(where) + hide
        params += hidden
        cols = self.columns(table)
        ties = "".join(f", {c}" for c in ("tissue", "modality", "phenotype_id", "rank", "variant_id") if c in cols)
        sql = f"SELECT * FROM read_parquet(?) WHERE {cond} ORDER BY pval_nominal ASC NULLS LAST{ties}"
        if n is None:
            rows = self.db.df(sql, [self.table_file(table), *params])
            return rows, len(rows)
        rows = self.db.df(sql + " LIMIT ?", [self.table_file(table), *params, n + 1])
        if len(rows) <= n:
            return rows, len(rows)
        total = int(self.db.scalar(f"SELECT COUNT(*) FROM read_parquet(?) WHERE {cond}", [self.table_file(table), *params]))
        return rows.iloc[:n].reset_index(drop=True), total

    def lead_per_gene(self, tissue: str, modality: str) -> pd.DataFrame:
        """The lead QTL of every tested gene of a tissue × modality: :data:`LEAD_COLUMNS`.

        One row per gene: the smallest ``pval_nominal`` over the gene's phenotypes (or groups) and its
        variant, the smallest ``pval_beta`` and ``qval``, and how many phenotypes were tested. Rows are in
        genome order (chromosomes in natural order, then TSS); genes missing from the genes table are left out.
        """
        t = self.check_tissue(tissue)
        m = self.check_modality(modality, t)
        cols = set(self.columns("top_qtls"))
        beta = "min(pval_beta)" if "pval_beta" in cols else "CAST(NULL AS DOUBLE)"
        qval = "min(qval)" if "qval" in cols else "CAST(NULL AS DOUBLE)"
        df = self.db.df(
            f"SELECT gene_id, arg_min(variant_id, pval_nominal) AS variant_id, min(pval_nominal) AS pval_nominal, "
            f"{beta} AS pval_beta, {qval} AS qval, count(*) AS n_phenotypes FROM read_parquet(?) "
            "WHERE tissue = ? AND modality = ? AND gene_id IS NOT NULL GROUP BY gene_id",
            [self.table_file("top_qtls"), t, m])
        idx = self._gene_index()
        pos = np.array([idx.by_id.get(str(g).lower(), -1) for g in df["gene_id"]], dtype=np.int64)
        df = df[pos >= 0].copy()
        pos = pos[pos >= 0]
        genes = self._genes()
        df["gene_name"] = idx.names[pos] if len(pos) else []
        df["chrom"] = genes["chrom"].to_numpy(dtype=object)[pos] if len(pos) else []
        df["tss"] = genes["tss"].to_numpy()[pos] if len(pos) else []
        order = {c: i for i, c in enumerate(self.chromosome_order())}
        df["_c"] = df["chrom"].map(order).fillna(len(order))
        df = df.sort_values(["_c", "tss", "gene_id"], kind="stable")
        df["n_phenotypes"] = df["n_phenotypes"].astype(np.int64)
        return df[LEAD_COLUMNS].reset_index(drop=True)


def _without_tissues(table: pa.Table, tissues: frozenset[str]) -> pa.Table:
    """``table`` without the rows whose ``tissue`` is one of ``tissues``."""
    found = pc.fill_null(pc.is_in(table.column("tissue"), value_set=pa.array(sorted(tissues), pa.string())), False)
    return table.filter(pc.invert(found))


class _PortalView(PortalQueries):
    """:class:`PortalQueries` over a store that does not mix them in (attributes delegated to the store)."""

    def __init__(self, store):
        self._store = store

    def __getattr__(self, name: str):
        return getattr(self._store, name)


def portal_queries(store) -> PortalQueries:
    """The page queries of a :class:`~qtlatlas.store.release.ReleaseStore`: the store itself when it mixes in
    :class:`PortalQueries`, else a thin view that adds them."""
    return store if isinstance(store, PortalQueries) else _PortalView(store)
