"""TWAS queries of a release (the TWAS hub); mixed into :class:`~qtlatlas.store.release.ReleaseStore`.

Reads the ``twas_*`` tables described in :mod:`qtlatlas.release.twas_tables`. The small ones (traits,
panels) are cached; associations, loci, models and locus GWAS are filtered by DuckDB with every user value
bound as a parameter. A release built without TWAS answers :class:`NotFound` for every TWAS query.

Cross-trait statistic (:meth:`TwasQueries.twas_correlations`): for trait A and each other trait B, the
Pearson correlation ``r`` of the TWAS z-scores of the models tested for both traits (same panel and
phenotype: the same weights), with ``n`` such models and the two-sided p-value of ``t = r √((n − 2)/(1 − r²))``
on ``n − 2`` degrees of freedom. The p-value treats models as independent; models of neighbouring or
co-regulated genes share SNPs and LD, so it is anti-conservative and best read as a ranking (the
correlation itself is unbiased for the z-scores' similarity). ``n_shared_genes`` counts the genes
significant (Bonferroni, per trait) for both traits.

A restricted store (:meth:`~qtlatlas.store.release.ReleaseStore.restricted`) leaves out the hidden traits and
the models of hidden tissues everywhere: traits, panels, models, associations, loci and correlations are
computed over what is left (a trait's and a locus's counts are recounted over the visible models; a locus
with no visible model is left out, and one whose joint model holds a hidden tissue's model shows no conditional
value; the Bonferroni threshold, ``bonferroni_p`` and ``zthresh``, stays the one the analysis used). An unrestricted store reads the tables as they are.
"""

from __future__ import annotations

import difflib
import re

import numpy as np
import pandas as pd

from . import params as P
from .db import placeholders, quote_identifier
from .errors import BadQuery, NotFound

#: Tie-breakers appended to the sort of associations and models (each row on exactly one page).
_ASSOC_TIES = ["trait", "panel", "phenotype_id"]
_MODEL_TIES = ["panel", "phenotype_id"]
#: Columns of a locus's models (from ``twas_associations``).
LOCUS_MODEL_FIELDS = ["panel", "tissue", "modality", "phenotype_id", "gene_id", "gene_name", "p0", "p1", "hsq",
                      "model", "model_cv_r2", "model_cv_pval", "weak_model", "nsnp", "twas_z", "twas_p", "coloc_pp3",
                      "coloc_pp4", "significant", "joint", "joint_z", "joint_p", "cond_z", "cond_p", "cond_r2",
                      "cond_status", "top_snp_cor"]
#: Columns of a locus's GWAS (from ``twas_locus_gwas``).
LOCUS_GWAS_FIELDS = ["variant_id", "chrom", "pos", "gwas_z", "gwas_p", "cond_z", "cond_p", "cond_r2", "cond_status"]
#: A locus's values that the joint model conditioned on (blanked where a hidden tissue's model is in it).
_LOCUS_CONDITIONAL = ["cond_snp_p", "var_exp", "lead_cond_status", "best_cond_snp", "best_cond_p", "n_explained",
                      "n_unstable"]
_MODEL_CONDITIONAL = ["joint_z", "joint_p", "cond_z", "cond_p", "cond_r2", "cond_status"]
_GWAS_CONDITIONAL = ["cond_z", "cond_p", "cond_r2", "cond_status"]
#: Columns added to the TWAS tables after their first releases: older releases answer them as null.
_LATER_FIELDS = {"weak_model", "cond_r2", "cond_status"}
#: Columns of a gene's models (from ``twas_models``), per tissue × modality.
GENE_MODEL_FIELDS = ["panel", "tissue", "modality", "phenotype_id", "chrom", "p0", "p1", "n", "n_snps", "hsq",
                     "hsq_se", "hsq_pval", "top1_r2", "top1_pval", "lasso_r2", "lasso_pval", "enet_r2", "enet_pval",
                     "blup_r2", "blup_pval", "best_model", "weak_model"]


def _flag(value: object, param: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value  # type: ignore[return-value]
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise BadQuery(param, f"expected true or false, not {text[:20]!r}")


class TwasQueries:
    """TWAS traits, associations, loci, genes, panels and models (see the module docstring)."""

    # -- tables -----------------------------------------------------------------------------------

    def has_twas(self) -> bool:
        """True when the release was built with TWAS results."""
        return self.has_table("twas_traits")

    def _twas_table(self, name: str) -> str:
        if not self.has_twas():
            raise NotFound("TWAS results", self.id, detail="(this release was built without TWAS)")
        return self.table_file(name)

    def _twas_traits_df(self) -> pd.DataFrame:
        """The traits table; in a restricted store without the hidden traits and with the counts recounted
        over the models of visible tissues."""
        path = self._twas_table("twas_traits")
        raw = self._base._cached("twas_traits", lambda: pd.read_parquet(path))
        if not self.hidden:
            return raw
        return self._cached("twas_traits:visible", lambda: self._recount_traits(
            self.visible_rows(raw, tissue=None, trait="id")))

    def _recount_traits(self, df: pd.DataFrame) -> pd.DataFrame:
        """``df`` (trait rows) with the model, gene and locus counts of the visible tissues' models."""
        if not self.hidden.tissues or df.empty:
            return df
        clause, hidden = self.tissue_clause("tissue")
        counts = self.db.df(
            "SELECT trait, COUNT(*) AS n_models, COUNT(twas_p) AS n_tested, "
            "COUNT(*) FILTER (WHERE significant) AS n_significant, "
            "COUNT(DISTINCT gene_id) FILTER (WHERE significant) AS n_genes "
            f"FROM read_parquet(?) WHERE TRUE{clause} GROUP BY trait",
            [self._twas_table("twas_associations"), *hidden]).set_index("trait")
        loci = self._visible_loci()
        out = df.copy()
        ids = out["id"].astype(str)
        for col in ("n_models", "n_tested", "n_significant", "n_genes"):
            if col in out.columns:
                out[col] = ids.map(counts[col]).fillna(0).astype(np.int64).to_numpy()
        if "n_loci" in out.columns:
            out["n_loci"] = ids.map(loci.groupby("trait").size()).fillna(0).astype(np.int64).to_numpy()
        if "n_joint_genes" in out.columns:
            joint = {t: len({g for ids_ in part["joint_gene_ids"] for g in str(ids_).split(",") if g})
                     for t, part in loci.groupby("trait")}
            out["n_joint_genes"] = [int(joint.get(t, 0)) for t in ids]
        return out

    def _visible_loci(self) -> pd.DataFrame:
        """Every locus of the visible traits (restricted stores only), its model and gene counts, gene lists and
        best TWAS p recounted over the models of visible tissues; loci without one left out; the conditional
        values (:data:`_LOCUS_CONDITIONAL`) blanked where a hidden tissue's model is among the joint ones."""
        def load() -> pd.DataFrame:
            loci = self.db.df("SELECT * FROM read_parquet(?) ORDER BY trait, locus", [self._twas_table("twas_loci")])
            loci = self.visible_rows(loci, tissue=None, trait="trait")
            if not self.hidden.tissues or loci.empty:
                return loci
            clause, hidden = self.tissue_clause("tissue")
            models = self.db.df(
                "SELECT trait, CAST(locus AS BIGINT) AS locus, gene_id, joint, twas_p FROM read_parquet(?) "
                f"WHERE locus IS NOT NULL{clause}", [self._twas_table("twas_associations"), *hidden])
            groups = {key: part for key, part in models.groupby(["trait", "locus"])}
            keep, rows = [], []
            for i, rec in enumerate(loci.to_dict("records")):
                part = groups.get((rec["trait"], int(rec["locus"])))
                if part is None:
                    continue
                genes = set(part["gene_id"].astype(str))
                joint = part[part["joint"].eq(True)]
                joint_genes = set(joint["gene_id"].astype(str))
                rec.update({"n_models": len(part), "n_genes": len(genes), "n_joint_models": len(joint),
                            "n_joint_genes": len(joint_genes), "best_twas_p": part["twas_p"].min()})
                for ids_col, names_col, chosen in (("gene_ids", "gene_names", genes),
                                                   ("joint_gene_ids", "joint_gene_names", joint_genes)):
                    ids = str(rec.get(ids_col) or "").split(",")
                    names = str(rec.get(names_col) or "").split(",")
                    pairs = [(g, names[j] if len(names) == len(ids) else "") for j, g in enumerate(ids) if g in chosen]
                    if ids_col in rec:
                        rec[ids_col] = ",".join(g for g, _ in pairs)
                    if names_col in rec and len(names) == len(ids):
                        rec[names_col] = ",".join(n for _, n in pairs)
                if (rec["trait"], int(rec["locus"])) in self._loci_joint_hidden():
                    rec.update({c: None for c in _LOCUS_CONDITIONAL if c in rec})
                keep.append(i)
                rows.append(rec)
            out = pd.DataFrame(rows, columns=loci.columns)
            return out.astype({c: loci[c].dtype for c in loci.columns if c not in ("best_twas_p",)},
                              errors="ignore").reset_index(drop=True)

        return self._cached("twas_loci:visible", load)

    def _loci_joint_hidden(self) -> frozenset[tuple[str, int]]:
        """``(trait, locus)`` of the loci whose joint model holds a model of a hidden tissue: their conditional
        statistics are functions of that model's weights."""
        def load() -> frozenset[tuple[str, int]]:
            if not self.hidden.tissues:
                return frozenset()
            hidden = sorted(self.hidden.tissues)
            rows = self.db.rows(
                "SELECT DISTINCT trait, CAST(locus AS BIGINT) FROM read_parquet(?) WHERE locus IS NOT NULL AND joint "
                f"AND tissue IN ({placeholders(len(hidden))})", [self._twas_table("twas_associations"), *hidden])
            return frozenset((str(t), int(n)) for t, n in rows)

        return self._cached("twas_loci:joint_hidden", load)

    def _twas_panels_df(self) -> pd.DataFrame:
        """The weights panels (those of visible tissues)."""
        path = self._twas_table("twas_panels")
        return self._cached("twas_panels", lambda: self.visible_rows(pd.read_parquet(path), tissue="tissue"))

    def _twas_fields(self, name: str, fields: list[str]) -> str:
        """A SELECT list of ``fields`` of TWAS table ``name``; fields added after a release was built are
        selected as NULL (so an older release answers the same shape)."""
        import pyarrow.parquet as pq

        path = self._twas_table(name)
        have = self._cached(f"columns:{name}", lambda: set(pq.read_schema(path).names))
        return ", ".join(quote_identifier(c) if c in have or c not in _LATER_FIELDS
                         else f"NULL AS {quote_identifier(c)}" for c in fields)

    def twas_methods(self) -> dict:
        """The release's TWAS methods metadata (``twas.json``: :func:`qtlatlas.release.twas_tables.methods_metadata`);
        empty for releases built before it was written."""
        import json

        from ..release import layout

        self._twas_table("twas_traits")
        path = self.path / layout.TWAS_JSON

        def load() -> dict:
            methods = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
            weights = methods.get("weights")
            if self.hidden.tissues and isinstance(weights, dict) and isinstance(weights.get("tissues"), list):
                methods["weights"] = {**weights, "tissues": [t for t in weights["tissues"] if self.tissue_visible(t)]}
            return methods

        return self._cached("twas_methods", load)

    # -- validation -------------------------------------------------------------------------------

    def check_trait(self, trait: object) -> str:
        """The trait id (exact, or the one id or name equal to it ignoring case); NotFound with suggestions."""
        df = self._twas_traits_df()
        ids = df["id"].astype(str).tolist()
        if P.is_clean(trait) and trait in ids:
            return trait  # type: ignore[return-value]
        suggestions: list[str] = []
        if P.is_clean(trait) and str(trait).strip():
            key = str(trait).strip().lower()
            names = df["name"].astype(str).str.lower().tolist()
            same = [i for i, n in zip(ids, names, strict=True) if key in (i.lower(), n)]
            if len(same) == 1:
                return same[0]
            by_lower = {i.lower(): i for i in ids}
            suggestions = [by_lower[c] for c in difflib.get_close_matches(key, list(by_lower), n=5, cutoff=0.5)]
            suggestions += [i for i, n in zip(ids, names, strict=True) if key in i.lower() or key in n]
        raise NotFound("trait", trait, suggestions=list(dict.fromkeys(suggestions))[:5],
                       detail=f"in release {self.id} (traits: {', '.join(ids[:20])})")

    def check_panel(self, panel: object) -> str:
        panels = self._twas_panels_df()["panel"].astype(str).tolist()
        if not P.is_clean(panel) or panel not in panels:
            raise NotFound("TWAS panel", panel, detail=f"in release {self.id} (panels: {', '.join(panels)})")
        return panel  # type: ignore[return-value]

    def _twas_filters(self, where: list[str], values: list, *, panels=None, tissues=None, modalities=None,
                      genes=None) -> None:
        """Append panel / tissue / modality / gene filters (validated, bound) to ``where`` and ``values``, and
        the clause leaving out the hidden tissues' rows."""
        panel_ids = P.text_list(panels, "panel")
        if panel_ids is not None:
            panel_ids = [self.check_panel(p) for p in panel_ids]
        for column, chosen in (("panel", panel_ids), ("tissue", self._tissue_filter(tissues)),
                               ("modality", self._modality_filter(modalities))):
            if chosen is not None:
                where.append(f"{column} IN ({placeholders(len(chosen))})")
                values += chosen
        gene_ids = self._gene_ids(genes)
        if gene_ids is not None:
            where.append(f"gene_id IN ({placeholders(len(gene_ids))})")
            values += gene_ids
        clause, hidden = self.tissue_clause("tissue")
        if clause:
            where.append(clause.removeprefix(" AND "))
            values += hidden

    def _page(self, table: str, where: list[str], values: list, sort: str, descending: bool, ties: list[str],
              limit, cursor: str | None, kind: str) -> tuple[pd.DataFrame, int, str | None]:
        """One page of ``table`` filtered by ``where``, sorted by ``sort`` (missing last) then ``ties``."""
        n = P.limit(limit)
        offset = P.decode_cursor(cursor, kind)
        columns = self.columns(table)
        if not isinstance(sort, str) or sort not in columns:
            raise BadQuery("sort", f"not a column of {table}; columns: {', '.join(columns)}")
        path = self._twas_table(table)
        cond = " AND ".join(where) or "TRUE"
        total = int(self.db.scalar(f"SELECT COUNT(*) FROM read_parquet(?) WHERE {cond}", [path, *values]))
        order = [f"{quote_identifier(sort)} {'DESC' if descending else 'ASC'} NULLS LAST"]
        order += [f"{quote_identifier(c)} ASC" for c in ties if c in columns and c != sort]
        if offset >= total:
            rows = self.db.df("SELECT * FROM read_parquet(?) LIMIT 0", [path])
        else:
            rows = self.db.df(f"SELECT * FROM read_parquet(?) WHERE {cond} ORDER BY {', '.join(order)} LIMIT ? OFFSET ?",
                              [path, *values, n, offset])
        return rows, total, P.next_cursor(offset, len(rows), total, kind)

    # -- traits -----------------------------------------------------------------------------------

    def twas_traits(self, *, tag: str | None = None, project: str | None = None) -> pd.DataFrame:
        """Traits (atlas.yaml metadata and counts, ``twas_traits`` columns), in atlas order; ``tag``: traits
        carrying this tag, ``project``: of this project (both exact, case-insensitive). A restricted store lists
        the visible traits, their counts over the models of visible tissues."""
        df = self._twas_traits_df()
        keep = np.ones(len(df), dtype=bool)
        if tag is not None:
            t = P.text(tag, "tag").lower()
            keep &= np.array([t in [str(x).lower() for x in tags] for tags in df["tags"]], dtype=bool)
        if project is not None:
            p = P.text(project, "project").lower()
            keep &= (df["project"].astype(str).str.lower() == p).to_numpy()
        return df[keep].reset_index(drop=True)

    def twas_trait(self, trait: str) -> dict:
        """One trait: its ``twas_traits`` row (tags as a list) plus ``panels`` (ids of the panels tested)."""
        from .genes import records

        tid = self.check_trait(trait)
        df = self._twas_traits_df()
        row = records(df[df["id"] == tid])[0]
        row["tags"] = [str(t) for t in df.loc[df["id"] == tid, "tags"].iloc[0]]
        row["panels"] = self._twas_panels_df()["panel"].astype(str).tolist()
        return row

    def twas_correlations(self, trait: str) -> pd.DataFrame:
        """Cross-trait association of ``trait`` with every other (visible) trait (module docstring): ``trait,
        name, n_models, r, pval, n_shared_genes`` over the models of visible tissues, sorted by |r| descending
        (traits with no shared model last)."""
        tid = self.check_trait(trait)
        path = self._twas_table("twas_associations")
        a_tissue, a_hidden = self.tissue_clause("a.tissue")
        b_tissue, b_hidden = self.tissue_clause("b.tissue")
        b_trait, b_traits = self.trait_clause("b.trait")
        hide, hidden = a_tissue + b_tissue + b_trait, [*a_hidden, *b_hidden, *b_traits]
        pairs = self.db.df(
            "SELECT b.trait AS trait, COUNT(*) AS n_models, corr(a.twas_z, b.twas_z) AS r "
            "FROM read_parquet(?) a JOIN read_parquet(?) b ON a.panel = b.panel AND a.phenotype_id = b.phenotype_id "
            f"WHERE a.trait = ? AND b.trait <> ? AND a.twas_z IS NOT NULL AND b.twas_z IS NOT NULL{hide} "
            "GROUP BY b.trait", [path, path, tid, tid, *hidden])
        shared = self.db.df(
            "SELECT b.trait AS trait, COUNT(DISTINCT a.gene_id) AS n_shared_genes FROM read_parquet(?) a "
            "JOIN read_parquet(?) b ON a.gene_id = b.gene_id WHERE a.trait = ? AND b.trait <> ? AND a.significant "
            f"AND b.significant{hide} GROUP BY b.trait", [path, path, tid, tid, *hidden])
        traits = self._twas_traits_df()
        out = traits.loc[traits["id"] != tid, ["id", "name"]].rename(columns={"id": "trait"}).reset_index(drop=True)
        out = out.merge(pairs, on="trait", how="left").merge(shared, on="trait", how="left")
        out["n_models"] = out["n_models"].fillna(0).astype(np.int64)
        out["n_shared_genes"] = out["n_shared_genes"].fillna(0).astype(np.int64)
        r = out["r"].to_numpy(np.float64)
        n = out["n_models"].to_numpy(np.float64)
        from scipy.special import stdtr  # here, not at import: the portal starts without SciPy

        with np.errstate(invalid="ignore", divide="ignore"):
            t = r * np.sqrt((n - 2) / np.maximum(1 - r * r, 1e-300))
            p = np.where(n > 2, 2 * stdtr(np.maximum(n - 2, 1), -np.abs(t)), np.nan)
        out["r"] = np.where(n > 2, r, np.nan)
        out["pval"] = np.where(np.isnan(out["r"]), np.nan, p)
        order = np.lexsort((out["trait"].to_numpy(), -np.nan_to_num(np.abs(out["r"].to_numpy()), nan=-1.0)))
        return out.iloc[order].reset_index(drop=True)[["trait", "name", "n_models", "r", "pval", "n_shared_genes"]]

    # -- associations and loci --------------------------------------------------------------------

    def twas_associations(self, trait: str, *, panels=None, tissues=None, modalities=None, genes=None,
                          max_pval: float | None = None, significant=None, sort: str = "twas_p",
                          descending: bool = False, limit: int = 100, cursor: str | None = None,
                          ) -> tuple[pd.DataFrame, int, str | None]:
        """Association rows of one trait (``twas_associations`` columns), filtered by ``panels``, ``tissues``,
        ``modalities``, ``genes`` (ids or symbols), ``max_pval`` (on ``twas_p``) and ``significant``, sorted
        by any column (missing values last; models not tested have no ``twas_p``). Returns ``(rows, total,
        next_cursor)`` like :meth:`qtlatlas.store.associations.AssociationQueries.qtls`."""
        tid = self.check_trait(trait)
        where, values = ["trait = ?"], [tid]
        self._twas_filters(where, values, panels=panels, tissues=tissues, modalities=modalities, genes=genes)
        pmax = P.number(max_pval, "max_pval")
        if pmax is not None:
            where.append("twas_p <= ?")
            values.append(pmax)
        sig = _flag(significant, "significant")
        if sig is not None:
            where.append("significant = ?")
            values.append(sig)
        return self._page("twas_associations", where, values, sort, descending, _ASSOC_TIES, limit, cursor,
                          f"twas:{tid}")

    def twas_loci(self, trait: str) -> pd.DataFrame:
        """The analysed loci of a trait (``twas_loci`` columns), by locus number (a restricted store: those with
        a visible model, recounted, :meth:`_visible_loci`)."""
        tid = self.check_trait(trait)
        if self.hidden.tissues:
            loci = self._visible_loci()
            return loci[loci["trait"] == tid].reset_index(drop=True)
        return self.db.df("SELECT * FROM read_parquet(?) WHERE trait = ? ORDER BY locus",
                          [self._twas_table("twas_loci"), tid])

    def twas_locus(self, trait: str, number: object) -> dict:
        """One locus: ``locus`` (its ``twas_loci`` row), ``models`` (its models: h², CV R², TWAS z/p, coloc
        PP3/PP4, joint flag, joint or conditional z; :data:`LOCUS_MODEL_FIELDS`; those of visible tissues) and
        ``gwas`` (per SNP: marginal and conditional GWAS z and p, by position). A locus without a visible model
        is NotFound in a restricted store; where a hidden tissue's model is among the joint ones, the conditional
        and joint values of the locus, its models and its GWAS are null."""
        from .genes import records

        tid = self.check_trait(trait)
        if not re.fullmatch(r"[0-9]{1,9}", str(number)):
            raise BadQuery("locus", f"expected a locus number (1, 2, …), not {str(number)[:20]!r}")
        n = int(str(number))
        if self.hidden.tissues:
            loci = self.twas_loci(tid)
            numbers = loci["locus"].astype(int).tolist()
            loci = loci[loci["locus"] == n]
            if loci.empty:
                raise NotFound("locus", n, detail=f"of trait {tid} in release {self.id} (loci: "
                               f"{', '.join(map(str, numbers))})" if numbers else
                               f"of trait {tid} in release {self.id} (the trait has no locus)")
        else:
            loci = self.db.df("SELECT * FROM read_parquet(?) WHERE trait = ? AND locus = ?",
                              [self._twas_table("twas_loci"), tid, n])
        if loci.empty:
            count = self.db.scalar("SELECT COUNT(*) FROM read_parquet(?) WHERE trait = ?",
                                   [self._twas_table("twas_loci"), tid])
            raise NotFound("locus", n, detail=f"of trait {tid} in release {self.id} (loci: 1..{count})"
                           if count else f"of trait {tid} in release {self.id} (the trait has no locus)")
        fields = self._twas_fields("twas_associations", LOCUS_MODEL_FIELDS)
        clause, hidden = self.tissue_clause("tissue")
        models = self.db.df(f"SELECT {fields} FROM read_parquet(?) WHERE trait = ? AND locus = ?{clause} "
                            "ORDER BY joint DESC, twas_p ASC NULLS LAST, panel, phenotype_id",
                            [self._twas_table("twas_associations"), tid, n, *hidden])
        gwas_fields = self._twas_fields("twas_locus_gwas", LOCUS_GWAS_FIELDS)
        gwas = self.db.df(f"SELECT {gwas_fields} FROM read_parquet(?) "
                          "WHERE trait = ? AND locus = ? ORDER BY pos, variant_id",
                          [self._twas_table("twas_locus_gwas"), tid, n])
        if self.hidden.tissues and (tid, n) in self._loci_joint_hidden():  # conditioned on a hidden model: no conditional value shown
            models = models.assign(**{c: None for c in _MODEL_CONDITIONAL if c in models.columns})
            gwas = gwas.assign(**{c: None for c in _GWAS_CONDITIONAL if c in gwas.columns})
        return {"trait": tid, "locus": records(loci)[0], "models": records(models), "gwas": records(gwas)}

    # -- genes, panels and models -----------------------------------------------------------------

    def twas_gene(self, gene: str) -> dict:
        """A gene's TWAS: ``gene`` (genes-table row), ``models`` (its models per tissue × modality with h² and CV
        R²/p per method; :data:`GENE_MODEL_FIELDS`), ``associations`` (every trait × model row: trait, panel,
        phenotype, model, z, p, significant, joint, locus) and ``matrix`` (``traits`` × ``models`` of TWAS z,
        None where a model was not tested); visible traits and the models of visible tissues only."""
        from .genes import records

        path = self._twas_table("twas_models")
        g = self.resolve_gene(gene)
        gid = g["gene_id"]
        fields = self._twas_fields("twas_models", GENE_MODEL_FIELDS)
        clause, hidden = self.tissue_clause("tissue")
        models = self.db.df(f"SELECT {fields} FROM read_parquet(?) WHERE gene_id = ?{clause} "
                            "ORDER BY panel, phenotype_id", [path, gid, *hidden])
        trait_clause, hidden_traits = self.trait_clause("trait")
        assoc_fields = self._twas_fields("twas_associations", [
            "trait", "panel", "tissue", "modality", "phenotype_id", "model", "model_cv_r2", "weak_model", "twas_z",
            "twas_p", "significant", "joint", "locus"])
        assoc = self.db.df(
            f"SELECT {assoc_fields} FROM read_parquet(?) WHERE gene_id = ?{clause}{trait_clause} "
            "ORDER BY trait, panel, phenotype_id", [self._twas_table("twas_associations"), gid, *hidden, *hidden_traits])
        order = {t: i for i, t in enumerate(self._twas_traits_df()["id"].astype(str))}
        traits = sorted(set(assoc["trait"].astype(str)), key=lambda t: order.get(t, len(order)))
        keys = list(dict.fromkeys(zip(models["panel"].astype(str), models["phenotype_id"].astype(str), strict=True)))
        z = [[None] * len(keys) for _ in traits]
        col = {k: j for j, k in enumerate(keys)}
        row = {t: i for i, t in enumerate(traits)}
        for rec in assoc.itertuples(index=False):
            j = col.get((str(rec.panel), str(rec.phenotype_id)))
            if j is not None and pd.notna(rec.twas_z):
                z[row[str(rec.trait)]][j] = float(rec.twas_z)
        info = {(str(r.panel), str(r.phenotype_id)): (r.tissue, r.modality) for r in models.itertuples(index=False)}
        matrix = {"traits": traits,
                  "models": [{"panel": p, "phenotype_id": ph, "tissue": info[(p, ph)][0],
                              "modality": info[(p, ph)][1]} for p, ph in keys],
                  "z": z}
        return {"gene": g, "models": records(models), "associations": records(assoc), "matrix": matrix}

    def twas_panels(self) -> pd.DataFrame:
        """Weights panels (``twas_panels`` columns): tissue, modality and counts; those of visible tissues."""
        return self._twas_panels_df().copy()

    def twas_models(self, *, panels=None, tissues=None, modalities=None, genes=None,
                    max_hsq_pval: float | None = None, best_model: str | None = None, sort: str = "hsq_pval",
                    descending: bool = False, limit: int = 100, cursor: str | None = None,
                    ) -> tuple[pd.DataFrame, int, str | None]:
        """Models of the panels (``twas_models`` columns), filtered by ``panels``, ``tissues``, ``modalities``,
        ``genes``, ``max_hsq_pval`` and ``best_model``, sorted and paged like :meth:`twas_associations`."""
        where: list[str] = []
        values: list = []
        self._twas_table("twas_models")
        self._twas_filters(where, values, panels=panels, tissues=tissues, modalities=modalities, genes=genes)
        hmax = P.number(max_hsq_pval, "max_hsq_pval")
        if hmax is not None:
            where.append("hsq_pval <= ?")
            values.append(hmax)
        if best_model is not None:
            from ..config import TWAS_MODELS

            if best_model not in TWAS_MODELS:
                raise BadQuery("best_model", f"must be one of {', '.join(TWAS_MODELS)}")
            where.append("best_model = ?")
            values.append(best_model)
        return self._page("twas_models", where, values, sort, descending, ["gene_id", *_MODEL_TIES], limit, cursor,
                          "twas-models")
