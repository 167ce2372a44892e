"""Colocalisation of the release's GWAS traits with its QTLs (``tables/coloc.parquet``, written by
:mod:`qtlatlas.release.coloc`); mixed into :class:`~qtlatlas.store.release.ReleaseStore`.

One row per GWAS locus × phenotype tested there (coloc.abf's posteriors PP.H0..PP.H4 and the variants used).
The table is small next to the pair tables (a few rows per locus and phenotype), so a query is one DuckDB
scan with every user value bound as a parameter: rows of a trait, of a gene (id or symbol), of the loci whose
window holds a variant — any combination of the three — filtered by tissue, modality and PP.H4, sorted by
PP.H4 descending (then trait, locus, tissue, modality, phenotype) and paged. A restricted store leaves out
the rows of hidden traits and hidden tissues (before counting and paging) and its traits list the hidden ones
not.
"""

from __future__ import annotations

import pandas as pd

from . import params as P
from .db import placeholders, quote_identifier
from .errors import BadQuery, NotFound

#: Columns of a row (:data:`qtlatlas.release.coloc.COLUMNS`).
COLOC_COLUMNS = ["trait", "locus", "lead_variant_id", "chrom", "locus_start", "locus_end", "tissue", "modality",
                 "phenotype_id", "gene_id", "gene_name", "nsnps", "hit1", "hit2", "PP.H0.abf", "PP.H1.abf",
                 "PP.H2.abf", "PP.H3.abf", "PP.H4.abf"]
#: Columns of a coloc.susie row (:data:`qtlatlas.release.coloc_susie.COLUMNS`): ``idx1``/``idx2`` name the GWAS's
#: and the phenotype's single effects (``L1``…) whose credible sets were colocalised.
COLOC_SUSIE_COLUMNS = [*COLOC_COLUMNS[:11], "idx1", "idx2", *COLOC_COLUMNS[11:]]
#: The tables of each method.
METHODS = {"abf": "coloc", "susie": "coloc_susie"}
_ORDER = [('"PP.H4.abf"', "DESC"), ("trait", "ASC"), ("locus", "ASC"), ("tissue", "ASC"), ("modality", "ASC"),
          ("phenotype_id", "ASC")]


class ColocQueries:
    """Colocalisation look-ups (see the module docstring)."""

    def has_coloc(self) -> bool:
        """True when the release was built with colocalisation results."""
        return self.has_table("coloc")

    def _coloc_file(self) -> str:
        if not self.has_coloc():
            raise NotFound("colocalisation results", self.id, detail="(this release was built without "
                           "colocalisation: it lists no GWAS trait, or has no every-tested-pair store)")
        return self.table_file("coloc")

    def coloc_recorded(self) -> dict:
        """release.json's ``counts.coloc`` (settings and per-trait counts, as built: over every tissue and trait)."""
        return ((self._base.info.get("counts") or {}).get("coloc") or {})

    def coloc_traits(self) -> list[str]:
        """The traits colocalised (those of release.json's counts, a trait without a locus included, one skipped
        for another genome build not; else the traits of the table), sorted; the visible ones."""
        path = self._coloc_file()

        def load() -> list[str]:
            listed = self.coloc_recorded().get("traits") or []
            ids = {str(t["trait"]) for t in listed if isinstance(t, dict) and "trait" in t and "skipped" not in t}
            ids |= {r[0] for r in self.db.rows("SELECT DISTINCT trait FROM read_parquet(?)", [path])}
            return sorted(t for t in ids if self.trait_visible(t))

        return list(self._cached("coloc_traits", load))

    def _coloc_trait(self, trait: object) -> str:
        """The trait id of ``trait`` (exact, else the one id equal to it ignoring case); NotFound otherwise."""
        traits = self.coloc_traits()
        if P.is_clean(trait) and str(trait).strip():
            q = str(trait).strip()
            if q in traits:
                return q
            same = [t for t in traits if t.lower() == q.lower()]
            if len(same) == 1:
                return same[0]
        raise NotFound("trait", trait, detail=f"in the colocalisation results of release {self.id} (traits: "
                       f"{', '.join(traits[:20]) or 'none'})")

    def _coloc_gene(self, gene: object, path: str) -> str:
        """The gene id of ``gene`` (id or symbol), or ``gene`` itself when the annotation lacks it but the
        table holds rows of that gene id."""
        try:
            return self.resolve_gene(gene)["gene_id"]
        except NotFound:
            q = P.text(gene, "gene")
            hide, hidden = self._coloc_hidden()
            if self.db.scalar(f"SELECT count(*) FROM read_parquet(?) WHERE gene_id = ?{hide}", [path, q, *hidden]):
                return q
            raise

    def _coloc_hidden(self) -> tuple[str, list[str]]:
        """The SQL (`` AND …``) and values leaving out the rows of hidden tissues and traits."""
        tissue, tissues = self.tissue_clause("tissue")
        trait, traits = self.trait_clause("trait")
        return tissue + trait, [*tissues, *traits]

    def has_coloc_susie(self) -> bool:
        """True when the release holds coloc.susie results (its traits' loci against fine-mapped phenotypes)."""
        return self.has_table("coloc_susie")

    def coloc_table(self, *, trait: str | None = None, gene: str | None = None, variant: str | None = None,
                    tissues=None, modalities=None, min_pp4: float | None = None, limit: int = 1000,
                    cursor: str | None = None, method: str = "abf") -> tuple[pd.DataFrame, int, str | None]:
        """Colocalisation rows of a trait (id, or the id ignoring case), of a gene (id or symbol) and/or of the
        loci whose window holds a variant (any syntax of :meth:`variant`): at least one of the three, combined
        with AND. ``tissues``/``modalities`` (lists or comma-separated) and ``min_pp4`` (PP.H4 at least this,
        in [0, 1]) filter further.

        ``method``: ``abf`` (coloc.abf of each phenotype) or ``susie`` (coloc.susie of each pair of credible
        sets, :data:`COLOC_SUSIE_COLUMNS`).

        Returns ``(rows, total, next_cursor)``: at most ``limit`` rows of :data:`COLOC_COLUMNS` from ``cursor``
        on, sorted by PP.H4 descending, then trait, locus, tissue, modality and phenotype; the number of rows
        matching; the cursor of the next page (None on the last). Rows of hidden tissues and traits are left
        out (a hidden trait is NotFound).

        Raises:
            BadQuery: no trait, gene or variant; a malformed value; ``min_pp4`` outside [0, 1].
            NotFound: an unknown trait, gene, variant, tissue or modality, or a release without colocalisation.
        """
        if trait is None and gene is None and variant is None:
            raise BadQuery("trait/gene/variant", "give at least one of trait, gene and variant")
        if method not in METHODS:
            raise BadQuery("method", f"one of {', '.join(METHODS)}")
        path = self._coloc_file()
        if method == "susie":
            if not self.has_coloc_susie():
                raise NotFound("coloc.susie results", self.id, detail="(built without fine-mapping, or with "
                               "coloc.susie off)")
            path = self.table_file("coloc_susie")
        n = P.limit(limit)
        kind = "coloc"
        offset = P.decode_cursor(cursor, kind)
        pp4 = P.number(min_pp4, "min_pp4")
        if pp4 is not None and pp4 > 1:
            raise BadQuery("min_pp4", "must be between 0 and 1")
        where, params = ["TRUE"], []
        if trait is not None:
            where.append("trait = ?")
            params.append(self._coloc_trait(trait))
        if gene is not None:
            where.append("gene_id = ?")
            params.append(self._coloc_gene(gene, path))
        if variant is not None:
            v = self.variant(variant)
            names = self.chrom_spellings(v["chrom"])
            where.append(f"chrom IN ({placeholders(len(names))}) AND locus_start <= ? AND locus_end >= ?")
            params += [*names, int(v["pos"]), int(v["pos"])]
        for column, values in (("tissue", self._tissue_filter(tissues)), ("modality", self._modality_filter(modalities))):
            if values is not None:
                where.append(f"{column} IN ({placeholders(len(values))})")
                params += values
        if pp4 is not None:
            where.append(f"{quote_identifier('PP.H4.abf')} >= ?")
            params.append(pp4)
        hide, hidden = self._coloc_hidden()
        cond = " AND ".join(where) + hide
        params += hidden
        total = int(self.db.scalar(f"SELECT count(*) FROM read_parquet(?) WHERE {cond}", [path, *params]))
        select = ", ".join(quote_identifier(c) for c in (COLOC_SUSIE_COLUMNS if method == "susie" else COLOC_COLUMNS))
        if offset >= total:
            rows = self.db.df(f"SELECT {select} FROM read_parquet(?) LIMIT 0", [path])
        else:
            order = ", ".join(f"{c} {how}" for c, how in _ORDER)
            rows = self.db.df(f"SELECT {select} FROM read_parquet(?) WHERE {cond} ORDER BY {order} LIMIT ? OFFSET ?",
                              [path, *params, n, offset])
        return rows, total, P.next_cursor(offset, len(rows), total, kind)
