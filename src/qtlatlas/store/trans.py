"""trans-QTLs of a release (``tables/trans_pairs.parquet``: the pairs of each tissue × modality below the trans
reporting threshold, tensorQTL's ``map_trans`` columns), made browsable: by target gene, by variant, by region,
and as hotspots (loci with many trans targets).

Each pair is read with what a researcher needs beside it: the target phenotype's gene (id and symbol), the
variant's position, and the variant's **cis genes**: the genes of which it is a significant cis pair in the same
tissue (any modality), the candidate mediators of a trans effect. The trans table is small (pairs below 1e-5), so
it is joined once per release and kept in memory; the cis genes take one scan of the significant-pairs table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import NotFound
from .params import region as parse_region

#: Columns of :meth:`TransQueries.trans_qtls`.
TRANS_COLUMNS = ["tissue", "modality", "phenotype_id", "gene_id", "gene_name", "variant_id", "chrom", "pos", "af",
                 "pval", "b", "b_se", "r2", "cis_genes"]
#: Columns of :meth:`TransQueries.trans_hotspots`.
HOTSPOT_COLUMNS = ["tissue", "modality", "chrom", "start", "end", "lead_variant", "pval", "n_variants", "n_targets",
                   "targets", "cis_genes"]
#: Variants of one tissue × modality closer than this (bp) form one hotspot locus.
HOTSPOT_GAP = 500_000
#: Target genes named per hotspot (the most significant first); ``n_targets`` counts them all.
HOTSPOT_TARGETS_SHOWN = 10


class TransQueries:
    """trans-QTL reads, mixed into :class:`~qtlatlas.store.release.ReleaseStore` (see the module docstring)."""

    def has_trans(self) -> bool:
        """Whether the release has trans-QTL pairs."""
        return self.has_table("trans_pairs")

    def _trans_table(self) -> pd.DataFrame:
        """Every trans pair with its target gene, variant position and cis genes (:data:`TRANS_COLUMNS`), most
        significant first (cached). A restricted store keeps the release's pairs of its visible tissues (a pair's
        cis genes are of its own tissue)."""
        if self.hidden.tissues:
            return self._cached("trans:pairs", lambda: self.visible_rows(self._base._trans_table()))

        def load() -> pd.DataFrame:
            if not self.has_trans():
                return pd.DataFrame({c: pd.Series(dtype=object) for c in TRANS_COLUMNS})
            trans = self.table_file("trans_pairs")
            have = set(self.columns("trans_pairs"))
            # ids as text whatever the file's types (an empty result's columns may be written as doubles)
            stats = ", ".join(f"{c}" if c in have else f"CAST(NULL AS DOUBLE) AS {c}" for c in ("pval", "b", "b_se", "r2", "af"))
            df = self.db.df(
                "WITH t AS (SELECT CAST(tissue AS VARCHAR) AS tissue, CAST(modality AS VARCHAR) AS modality, "
                f"CAST(variant_id AS VARCHAR) AS variant_id, CAST(phenotype_id AS VARCHAR) AS phenotype_id, {stats} "
                "FROM read_parquet(?)), "
                "v AS (SELECT variant_id, chrom, pos FROM read_parquet(?) "
                "      WHERE variant_id IN (SELECT DISTINCT variant_id FROM t)), "
                "g AS (SELECT DISTINCT tissue, modality, phenotype_id, gene_id FROM read_parquet(?) "
                "      WHERE phenotype_id IN (SELECT DISTINCT phenotype_id FROM t)) "
                "SELECT t.tissue, t.modality, t.phenotype_id, g.gene_id, t.variant_id, v.chrom, v.pos, t.af, t.pval, "
                "t.b, t.b_se, t.r2 FROM t LEFT JOIN v USING (variant_id) "
                "LEFT JOIN g ON g.tissue = t.tissue AND g.modality = t.modality AND g.phenotype_id = t.phenotype_id "
                "ORDER BY t.pval, t.tissue, t.modality, t.phenotype_id, t.variant_id",
                [trans, self.table_file("variants"), self.table_file("top_qtls")])
            if self.has_table("signif_pairs"):
                cis = self.db.df(
                    "SELECT tissue, variant_id, list(DISTINCT gene_id ORDER BY gene_id) AS genes FROM read_parquet(?) "
                    "WHERE variant_id IN (SELECT DISTINCT CAST(variant_id AS VARCHAR) FROM read_parquet(?)) "
                    "AND gene_id IS NOT NULL "
                    "GROUP BY tissue, variant_id", [self.table_file("signif_pairs"), trans])
            else:
                cis = pd.DataFrame(columns=["tissue", "variant_id", "genes"])
            names = self.gene_names(set(df["gene_id"].dropna()) | {g for gs in cis["genes"] for g in gs})
            cis_names = {(t, v): ", ".join(names.get(g, g) for g in gs)
                         for t, v, gs in zip(cis["tissue"], cis["variant_id"], cis["genes"], strict=True)}
            df["gene_name"] = [names.get(g) if isinstance(g, str) else None for g in df["gene_id"]]
            df["cis_genes"] = [cis_names.get(k, "") for k in zip(df["tissue"], df["variant_id"], strict=True)]
            df["pos"] = df["pos"].astype("Int64")
            return df[TRANS_COLUMNS].reset_index(drop=True)

        return self._cached("trans:pairs", load)

    def trans_qtls(self, *, gene=None, variant=None, region=None, tissues=None, modalities=None) -> pd.DataFrame:
        """trans pairs (:data:`TRANS_COLUMNS`, most significant first) whose target is ``gene`` (id or symbol),
        whose variant is ``variant``, and/or whose variant lies in ``region`` (``chrom:start-end``); of some
        ``tissues`` / ``modalities``. NotFound for an unknown gene, variant, tissue or modality; BadQuery for a
        malformed region."""
        df = self._trans_table()
        keep = np.ones(len(df), dtype=bool)
        if gene is not None:
            keep &= (df["gene_id"] == self.resolve_gene(gene)["gene_id"]).to_numpy(bool, na_value=False)
        if variant is not None:
            keep &= (df["variant_id"] == self.variant(variant)["variant_id"]).to_numpy(bool)
        if region is not None:
            span = parse_region(region)
            chroms = set(self.chrom_spellings(span.chrom))
            pos = df["pos"].to_numpy("float64", na_value=np.nan)
            keep &= df["chrom"].isin(chroms).to_numpy(bool) & (pos >= span.start) & (pos <= span.end)
        tissue_list = self._tissue_filter(tissues)
        if tissue_list is not None:
            keep &= df["tissue"].isin(tissue_list).to_numpy(bool)
        modality_list = self._modality_filter(modalities)
        if modality_list is not None:
            keep &= df["modality"].isin(modality_list).to_numpy(bool)
        return df[keep].reset_index(drop=True)

    def trans_hotspots(self, *, tissues=None, modalities=None, min_targets: int = 2) -> pd.DataFrame:
        """Loci with trans targets (:data:`HOTSPOT_COLUMNS`), per tissue × modality: variants with trans pairs
        closer than :data:`HOTSPOT_GAP` form a locus; its lead is the variant of smallest p, ``n_targets`` the
        distinct target genes (phenotypes without a gene count by id), ``targets`` the first
        :data:`HOTSPOT_TARGETS_SHOWN` symbols by p, ``cis_genes`` the lead's. Loci with at least ``min_targets``
        targets, the most targets first."""
        out = self._hotspot_table()
        tissue_list, modality_list = self._tissue_filter(tissues), self._modality_filter(modalities)
        keep = out["n_targets"] >= min_targets
        if tissue_list is not None:
            keep &= out["tissue"].isin(tissue_list)
        if modality_list is not None:
            keep &= out["modality"].isin(modality_list)
        return out[keep].reset_index(drop=True)

    def _hotspot_table(self) -> pd.DataFrame:
        """Every hotspot locus of the release (:meth:`trans_hotspots` with one target or more), the most targets
        first; computed once per release (grouping every trans pair is too slow for each page view). A hotspot is
        of one tissue: a restricted store keeps those of its visible tissues."""
        if self.hidden.tissues:
            return self._cached("trans:hotspots", lambda: self.visible_rows(self._base._hotspot_table()))

        def load() -> pd.DataFrame:
            df = self._trans_table()
            df = df[df["pos"].notna()]
            rows = []
            for (tissue, modality, chrom), part in df.groupby(["tissue", "modality", "chrom"], sort=False):
                part = part.sort_values("pos", kind="stable")
                pos = part["pos"].to_numpy(np.int64)
                locus = np.concatenate([[0], np.cumsum(np.diff(pos) >= HOTSPOT_GAP)])
                for _, hits in part.groupby(locus, sort=False):
                    rows.append(_hotspot(tissue, modality, chrom, hits.sort_values("pval", kind="stable")))
            out = pd.DataFrame(rows, columns=HOTSPOT_COLUMNS)
            return out.sort_values(["n_targets", "pval"], ascending=[False, True], kind="stable").reset_index(drop=True)

        return self._cached("trans:hotspots", load)

    def check_trans(self) -> None:
        """NotFound when the release has no trans-QTL pairs."""
        if not self.has_trans():
            raise NotFound("trans-QTL table", self.id, detail="(this release was built without trans mapping)")


def _hotspot(tissue: str, modality: str, chrom: str, hits: pd.DataFrame) -> dict:
    """The row of one hotspot locus from its trans pairs (``hits``, most significant first)."""
    target = hits["gene_id"].where(hits["gene_id"].notna(), hits["phenotype_id"])
    names = list(dict.fromkeys(hits["gene_name"].where(hits["gene_name"].notna(), target)))
    lead = hits.iloc[0]
    return {"tissue": tissue, "modality": modality, "chrom": chrom, "start": int(hits["pos"].min()),
            "end": int(hits["pos"].max()), "lead_variant": lead["variant_id"], "pval": float(lead["pval"]),
            "n_variants": int(hits["variant_id"].nunique()), "n_targets": int(target.nunique()),
            "targets": ", ".join(names[:HOTSPOT_TARGETS_SHOWN]), "cis_genes": lead["cis_genes"]}
