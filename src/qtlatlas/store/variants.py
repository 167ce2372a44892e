"""Variant queries of a release: lookup by id or position, every association of a variant, and the data
of a phenotype-by-genotype plot. Mixed into :class:`~qtlatlas.store.release.ReleaseStore`."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..release import layout
from .db import placeholders
from .errors import NotFound
from .genes import records
from .params import is_clean
from .params import limit as check_limit
from .variant_index import VariantIndexReader

#: Missing dosage code of the release's int8 genotypes (``qtlatlas.io.genotypes.MISSING_INT8``; not imported, to
#: keep the portal's start light).
MISSING_INT8 = -9
VARIANT_FIELDS = ["variant_id", "chrom", "pos", "ref", "alt", "af"]
_CHROM = r"[A-Za-z0-9.]{1,40}?"
_POSITION = re.compile(rf"^({_CHROM})[:_-]([0-9][0-9,]{{0,14}})$")
_ALLELES = re.compile(rf"^({_CHROM})[:_-]([0-9][0-9,]{{0,14}})[:_-]([A-Za-z*<>.]{{1,100}})[:_/>-]([A-Za-z*<>.,]{{1,100}})$")
#: How far from an unknown position suggested variants may lie, bp.
SUGGEST_BP = 10_000
#: Most ids a variant id prefix search reads before ranking them (bounds the scan of a short prefix).
PREFIX_SCAN = 1000
#: Widths tried, bp, when looking for the variants at or after a position before a scan of the chromosome.
AFTER_WINDOWS = (10_000, 1_000_000)
_SOURCES = (("top", "top_qtls"), ("independent", "independent_qtls"), ("significant", "signif_pairs"))
#: The QTL tables that give a pair's mapped statistics when the nominal look-up has no row for it (a release
#: without a nominal pass for the tissue × modality), in the order they are read: the significant pairs (rows of
#: the nominal pass), the top QTLs (each phenotype's lead pair, same model), the independent QTLs (statistics
#: conditional on the phenotype's other independent signals). Names as in ``statistics_source``; each is the
#: ``source`` of :meth:`VariantQueries.variant_associations` given as value.
MAPPED_TABLES = {"significant_pairs": "significant", "top": "top", "independent": "independent"}


def _plain_row(row: dict) -> dict:
    """An index row with JSON-ready values (a missing frequency as None)."""
    af = row.get("af")
    row["af"] = None if af is None or (isinstance(af, float) and math.isnan(af)) else float(af)
    row["pos"] = int(row["pos"])
    return row


class VariantQueries:
    """Variant lookups (see the module docstring)."""

    def _variant_positions(self):
        """The reader of ``variants_by_position`` (None when the release predates it)."""
        if not self.has_table("variants_by_position"):
            return None
        from .positional import PositionalTable

        return self._cached("variants_by_position", lambda: PositionalTable(self.table_file("variants_by_position")))

    def _variants_at(self, chrom: str, pos: int) -> pd.DataFrame:
        names = self.chrom_spellings(chrom)
        positions = self._variant_positions()
        if positions is not None:
            rows = positions.read(names, pos, pos, columns=VARIANT_FIELDS).to_pandas()
            return rows.sort_values("variant_id", kind="stable").reset_index(drop=True)
        return self.db.df(
            f"SELECT {', '.join(VARIANT_FIELDS)} FROM read_parquet(?) WHERE chrom IN ({placeholders(len(names))}) "
            "AND pos = ? ORDER BY variant_id", [self.table_file("variants"), *names, pos])

    def _nearby(self, chrom: str, pos: int, n: int = 5) -> list[str]:
        names = self.chrom_spellings(chrom)
        positions = self._variant_positions()
        if positions is not None:
            rows = positions.read(names, pos - SUGGEST_BP, pos + SUGGEST_BP, columns=["variant_id", "pos"]).to_pandas()
            rows["_d"] = (rows["pos"] - pos).abs()
            return list(rows.sort_values(["_d", "variant_id"], kind="stable")["variant_id"].head(n))
        rows = self.db.rows(
            f"SELECT variant_id FROM read_parquet(?) WHERE chrom IN ({placeholders(len(names))}) "
            "AND pos BETWEEN ? AND ? ORDER BY abs(pos - ?), variant_id LIMIT ?",
            [self.table_file("variants"), *names, pos - SUGGEST_BP, pos + SUGGEST_BP, pos, n])
        return [r[0] for r in rows]

    def variant(self, variant: str) -> dict:
        """A variant of the release's QTL tables by id (rsID or the id used in the genotypes, case-insensitive),
        by position ``chr:pos`` / ``chrN:pos`` (either chromosome spelling), or by ``chr_pos_ref_alt``
        (also ``chr:pos:ref:alt``). Returns ``variant_id, chrom, pos, ref, alt, af`` and ``same_position``
        (ids of the other variants at that position). NotFound otherwise, with nearby variants as
        suggestions for a position."""
        if not is_clean(variant) or not str(variant).strip():
            raise NotFound("variant", variant)
        q = str(variant).strip()
        index = self._variant_index()
        if index is not None and self._variant_positions() is not None:
            # releases whose index holds every genotyped variant: an exact id is one small batch to decode
            row = index.lookup(q)
            if row is not None and row["variant_id"] == q:
                return _plain_row(row)
        df, suggestions = pd.DataFrame(), []
        m_alleles, m_pos = _ALLELES.match(q), _POSITION.match(q)
        if m_alleles:  # positional syntaxes first: they read only the rows of one position
            chrom, pos = m_alleles.group(1), int(m_alleles.group(2).replace(",", ""))
            ref, alt = m_alleles.group(3).upper(), m_alleles.group(4).upper()
            at = self._variants_at(chrom, pos)
            df = at[(at["ref"].astype(str).str.upper() == ref) & (at["alt"].astype(str).str.upper() == alt)]
            suggestions = list(at["variant_id"]) or self._nearby(chrom, pos)
        elif m_pos:
            chrom, pos = m_pos.group(1), int(m_pos.group(2).replace(",", ""))
            df = self._variants_at(chrom, pos)
            if df.empty:
                suggestions = self._nearby(chrom, pos)
        if df.empty:
            index = self._variant_index()
            if index is not None:
                row = index.lookup(q)
                if row is None:
                    raise NotFound("variant", q, suggestions=suggestions, detail=f"in release {self.id}")
                return _plain_row(row)
            df = self._variant_by_id(q)
        if df.empty:
            raise NotFound("variant", q, suggestions=suggestions, detail=f"in release {self.id}")
        row = records(df.iloc[[0]])[0]
        others = self._variants_at(row["chrom"], row["pos"])
        row["same_position"] = [v for v in others["variant_id"] if v != row["variant_id"]]
        return row

    def search_variants(self, q: str, limit: int = 10) -> list[dict]:
        """Variants for an autocomplete: for a position (``chr:pos``, ``chr_pos``; either chromosome spelling) the
        variants at or after it (by position, then id), ``match`` "position"; otherwise the variants whose id
        starts with ``q`` (ignoring case), the exact id first then shorter ids first then by id (natural order of
        rsIDs), ``match`` "exact" or "prefix" (ranked among the first :data:`PREFIX_SCAN` ids in index order).
        Each result has ``variant_id, chrom, pos, ref, alt, af``. Nothing found (or an unclean ``q``) is []."""
        n = check_limit(limit, "limit", maximum=100)
        if not is_clean(q) or not str(q).strip():
            return []
        q = str(q).strip()
        m_pos = _POSITION.match(q)
        if m_pos:
            rows = self._variants_after(m_pos.group(1), int(m_pos.group(2).replace(",", "")), n)
            return [dict(_plain_row({k: r[k] for k in VARIANT_FIELDS}), match="position") for r in rows]
        key = q.lower()
        index = self._variant_index()
        if index is not None:
            rows = index.with_prefix(key, PREFIX_SCAN)
        else:
            rows = records(self.db.df(f"SELECT {', '.join(VARIANT_FIELDS)} FROM read_parquet(?) "
                                      "WHERE starts_with(lower(variant_id), ?) ORDER BY lower(variant_id) LIMIT ?",
                                      [self.table_file("variants"), key, PREFIX_SCAN]))
        rows.sort(key=lambda r: (r["variant_id"] != q, r["variant_id"].lower() != key, len(r["variant_id"]),
                                 r["variant_id"].lower(), r["variant_id"]))
        return [dict(_plain_row({k: r[k] for k in VARIANT_FIELDS}), match="exact" if r["variant_id"].lower() == key
                     else "prefix") for r in rows[:n]]

    def _variants_after(self, chrom: str, pos: int, n: int) -> list[dict]:
        """The first ``n`` variants at or after ``chrom:pos`` by position, then id."""
        names = self.chrom_spellings(chrom)
        positions = self._variant_positions()
        if positions is not None:
            for width in AFTER_WINDOWS:
                rows = positions.read(names, pos, pos + width, columns=VARIANT_FIELDS).to_pandas()
                if len(rows) >= n:
                    return records(rows.sort_values(["pos", "variant_id"], kind="stable").head(n))
        return records(self.db.df(
            f"SELECT {', '.join(VARIANT_FIELDS)} FROM read_parquet(?) WHERE chrom IN ({placeholders(len(names))}) "
            "AND pos >= ? ORDER BY pos, variant_id LIMIT ?", [self.table_file("variants"), *names, pos, n]))

    def _variant_index(self) -> VariantIndexReader | None:
        """The id index reader of this release, or None when the release predates it."""
        if not self.has_table("variant_index"):
            return None
        return self._cached("variant_index_reader", lambda: VariantIndexReader(self.table_file("variant_index")))

    def _variant_by_id(self, q: str) -> pd.DataFrame:
        """The variant whose id is ``q`` (exact first, then case-insensitive) by SQL: through the index of ids
        and positions of releases built before the look-up files, else by scanning the ids."""
        fields = ", ".join(VARIANT_FIELDS)
        path = self.table_file("variants")
        legacy = self.path / layout.LEGACY_VARIANT_INDEX
        if legacy.is_file():
            hits = self.db.df("SELECT variant_id, chrom, pos FROM read_parquet(?) WHERE variant_key = lower(?) "
                              "ORDER BY variant_id <> ?, variant_id LIMIT 1", [str(legacy), q, q])
            if hits.empty:
                return hits
            hit = hits.iloc[0]
            return self.db.df(f"SELECT {fields} FROM read_parquet(?) WHERE chrom = ? AND pos = ? AND variant_id = ? LIMIT 1",
                              [path, hit["chrom"], int(hit["pos"]), hit["variant_id"]])
        df = self.db.df(f"SELECT {fields} FROM read_parquet(?) WHERE variant_id = ? LIMIT 1", [path, q])
        if df.empty:
            df = self.db.df(f"SELECT {fields} FROM read_parquet(?) WHERE lower(variant_id) = lower(?) "
                            "ORDER BY variant_id LIMIT 1", [path, q])
        return df

    def variant_associations(self, variant_id: str, include_nominal: bool = False) -> pd.DataFrame:
        """Every row of ``top_qtls``, ``independent_qtls`` and the significant pairs for a variant (any syntax
        of :meth:`variant`), every tissue (the store's hidden tissues left out) and modality, with a ``source`` column (``top``, ``independent``,
        ``significant``) first, sorted by source (in that order), tissue, modality, phenotype. Columns a
        table lacks are missing values; ``gene_name`` (the gene's symbol) follows ``gene_id`` and ``maf, mac,
        low_mac`` follow ``af`` (:meth:`~qtlatlas.store.associations.AssociationQueries.with_allele_counts`). One batch of ``associations_by_position`` when the release has it,
        else one SQL query over the three tables.

        ``include_nominal`` adds, after them, every tested pair of the variant (the nominal pass, for the
        tissues × modalities that publish it) whose tissue, modality and phenotype none of those rows has, with
        ``source = "nominal"`` and the all-pairs columns (``nlog10p``, ``start_distance``, ``ma_samples``,
        ``ma_count``…), by tissue, modality and phenotype position."""
        listed = self._listed_associations(variant_id)
        if len(listed):  # the gene's symbol, and the minor-allele count in the row's tissue × modality
            listed = self.with_allele_counts(self.with_gene_names(listed))
        if not include_nominal:
            return listed
        v = self.variant(variant_id)
        if not self.all_pairs_targets():
            return listed
        tested, _, _ = self.all_pairs_strongest(1_000_000, variant=v["variant_id"])
        if tested.empty:
            return listed
        tested = self.with_allele_counts(tested)
        seen = set(zip(listed.get("tissue", []), listed.get("modality", []), listed.get("phenotype_id", []),
                       strict=True))
        keep = [k not in seen for k in zip(tested["tissue"], tested["modality"], tested["phenotype_id"], strict=True)]
        nominal = tested.loc[keep].assign(source="nominal")
        nominal = nominal[["source", *[c for c in nominal.columns if c != "source"]]]
        if listed.empty:
            return nominal.reset_index(drop=True)
        return pd.concat([listed, nominal], ignore_index=True)

    def _listed_associations(self, variant_id: str) -> pd.DataFrame:
        """:meth:`variant_associations` without the nominal rows."""
        v = self.variant(variant_id)
        names = self.chrom_spellings(v["chrom"])
        where = f"chrom IN ({placeholders(len(names))}) AND pos = ? AND variant_id = ?"
        key = [*names, v["pos"], v["variant_id"]]
        positional = self._positional()
        if positional is not None:
            table = positional.read(names, v["pos"], v["pos"], {"variant_id": [v["variant_id"]]},
                                    exclude={"tissue": self.hidden.tissues} if self.hidden.tissues else None)
            rank = pc.index_in(table.column("source"), value_set=pa.array([s for s, _ in _SOURCES]))
            table = table.append_column("_rank", rank).sort_by(
                [("_rank", "ascending"), ("tissue", "ascending"), ("modality", "ascending"),
                 ("phenotype_id", "ascending")]).drop_columns(["_rank"])
            if table.num_rows and pc.all(pc.equal(table.column("source"), "significant")).as_py():
                pair_columns = {"source", *self.columns("signif_pairs")}
                table = table.select([c for c in table.column_names if c in pair_columns])
            return table.to_pandas()
        hide, hidden = self.tissue_clause("tissue")
        parts, params = [], []
        for i, (source, table) in enumerate(_SOURCES):
            if not self.has_table(table):
                continue
            parts.append(f"SELECT '{source}' AS source, {i} AS _source_rank, * FROM read_parquet(?) WHERE {where}{hide}")
            params += [self.table_file(table), *key, *hidden]
        if not parts:
            return pd.DataFrame({"source": []})
        sql = " UNION ALL BY NAME ".join(parts)
        df = self.db.df(f"SELECT * EXCLUDE (_source_rank) FROM ({sql}) "
                        "ORDER BY _source_rank, tissue, modality, phenotype_id", params)
        return df.reset_index(drop=True)

    # -- phenotype by genotype --------------------------------------------------------------------

    def genotype_reader(self):
        """The genotypes of the release (:class:`~qtlatlas.store.genotypes.VcfGenotypes` over its VCF download),
        or None when it has none."""
        def load():
            from .genotypes import VcfGenotypes

            vcf = [d["path"] for d in self.downloads()
                   if d["path"].startswith(f"{layout.DOWNLOADS_DIR}/genotypes.") and d["path"].endswith(".vcf.gz")]
            return VcfGenotypes(str(self.path / vcf[0])) if vcf else False

        reader = self._cached("genotype_reader", load)
        return reader or None

    def dosages(self, v: dict, samples: list[str]) -> np.ndarray:
        """ALT dosages (int64, MISSING_INT8 where missing or not genotyped) of variant ``v`` (a row of
        :meth:`variant`) for ``samples``; NotFound when the release's genotypes lack it."""
        reader = self.genotype_reader()
        found = None if reader is None else reader.dosages(
            self._vcf_chrom(reader, v["chrom"]), v["pos"], v["variant_id"], v.get("ref"), v.get("alt"))
        if found is None:
            raise NotFound("genotypes of variant", v["variant_id"], detail=f"in release {self.id}")
        columns = reader.columns(samples)
        out = np.where(columns >= 0, found[np.clip(columns, 0, None)], MISSING_INT8).astype(np.int64)
        return out

    def _vcf_chrom(self, reader, chrom: str) -> str:
        """``chrom`` spelled as the VCF spells it (the variant tables keep the genotype files' spelling)."""
        return str(chrom)

    def phenotype_values(self, phenotype_id: str, tissue: str, modality: str) -> tuple[list[str], np.ndarray, str]:
        """``(sample ids, float32 values, kind)`` of a phenotype in a tissue × modality: its normalised values
        (``kind`` "normalised"), or, for expression in a release without them, its TPM (``kind`` "tpm").
        NotFound when the release has neither."""
        t = self.check_tissue(tissue)
        m = self.check_modality(modality, t)
        if not is_clean(phenotype_id) or not str(phenotype_id).strip():
            raise NotFound("phenotype", phenotype_id)
        pid = str(phenotype_id)
        if self.has_table("phenotype_index"):
            from ..release.values import phenotype_part
            from .values import ValueIndex

            index = self._cached("phenotype_index", lambda: ValueIndex(self.table_file("phenotype_index")))
            part = phenotype_part(t, m)
            if part in index.samples:
                values = index.values(pid, part)
                if values is None:
                    raise NotFound("phenotype", pid, detail=f"in {t} {m} of release {self.id}")
                return index.samples[part], values, "normalised"
        table = self.path / layout.phenotype_table_path(t, m)
        if table.is_file():  # releases built before the look-up file: one row of a wide table
            wide = self.db.df("SELECT * FROM read_parquet(?) WHERE phenotype_id = ? LIMIT 1", [str(table), pid])
            if wide.empty:
                raise NotFound("phenotype", pid, detail=f"in {t} {m} of release {self.id}")
            series = wide.drop(columns=["phenotype_id"]).iloc[0]
            return [str(x) for x in series.index], pd.to_numeric(series, errors="coerce").to_numpy(np.float32), \
                "normalised"
        if m == "expression":
            found = [(s, v) for tt, s, v in self.expression_arrays(pid, [t]) if tt == t] if self._is_gene(pid) else []
            if found:
                return found[0][0], found[0][1], "tpm"
        raise NotFound("phenotype values", f"{t}.{m}", detail=f"in release {self.id}")

    def _is_gene(self, gene: str) -> bool:
        return self._gene_index().find(str(gene)) is not None

    def nominal_pair(self, tissue: str, modality: str, phenotype_id: str, variant_id: str) -> dict | None:
        """The mapped nominal statistics (``pval_nominal, slope, slope_se``, …) of one tested pair, from the
        release's all-pairs store (or the nominal look-up file of releases built before it); None when the pair
        was not tested, the release does not publish its nominal pass or the tissue is hidden from this store."""
        if not self.tissue_visible(tissue):
            return None
        if self.all_pairs_file(tissue, modality) is not None:
            return self.all_pairs_pair(tissue, modality, phenotype_id, variant_id)
        from .nominal import NominalPairs

        pairs = self._cached("nominal_pairs", lambda: NominalPairs(
            lambda t, m: self.path / layout.nominal_table_path(t, m)))
        return pairs.pair(tissue, modality, str(phenotype_id), str(variant_id))

    def mapped_statistics(self, tissue: str, modality: str, phenotype_id: str, variant_id: str,
                          tables=tuple(MAPPED_TABLES)) -> dict:
        """The mapped statistics of one pair (the mapping model, with its covariates): ``pval_nominal``,
        ``slope``, ``slope_se``, ``nlog10p`` and ``statistics_source``, where they come from.

        First the release's nominal look-up (:meth:`nominal_pair`; ``statistics_source`` "nominal"). When it
        has no row with a p-value for the pair, the first of ``tables`` (names of :data:`MAPPED_TABLES`, tried
        in the order given; by default "significant_pairs", "top", "independent") holding the pair with a
        p-value, named in ``statistics_source``; an "independent" row's statistics are conditional on the
        phenotype's other independent signals. A pair the nominal pass did not test is in none of these tables
        either, so they only stand in for a release without a nominal pass. Nothing found: every field None.
        ``nlog10p`` is the source's own −log10 p when it gives one, else −log10(``pval_nominal``) (None for a
        p-value of 0). ``tissue`` and ``modality`` are release ids, ``variant_id`` the id of a variant of the
        release (see :meth:`variant`)."""
        found = _mapped_row(self.nominal_pair(tissue, modality, phenotype_id, variant_id), "nominal")
        if found is None and tables:
            assoc = self.variant_associations(variant_id)
            if len(assoc):
                mine = assoc[(assoc["tissue"] == tissue) & (assoc["modality"] == modality)
                             & (assoc["phenotype_id"] == str(phenotype_id))]
                for name in tables:
                    rows = mine[mine["source"] == MAPPED_TABLES[name]].to_dict("records")
                    found = next((f for f in (_mapped_row(r, name) for r in rows) if f is not None), None)
                    if found is not None:
                        break
        return found or {"pval_nominal": None, "slope": None, "slope_se": None, "nlog10p": None,
                         "statistics_source": None}

    def nominal_threshold(self, tissue: str, modality: str, phenotype_id: str) -> float | None:
        """The nominal p-value threshold of a phenotype (or of its gene/group) from the top QTL table; None
        when it has none (or the tissue is hidden from this store). All thresholds of the release are read once and
        kept (one float per phenotype)."""
        if not self.tissue_visible(tissue):
            return None
        def load() -> dict[tuple[str, str, str], float]:
            cols = set(self.columns("top_qtls"))
            if "pval_nominal_threshold" not in cols:
                return {}
            group = "group_id" if "group_id" in cols else "NULL"
            rows = self.db.rows(f"SELECT tissue, modality, phenotype_id, gene_id, {group}, pval_nominal_threshold "
                                "FROM read_parquet(?) WHERE pval_nominal_threshold IS NOT NULL",
                                [self.table_file("top_qtls")])
            out: dict[tuple[str, str, str], float] = {}
            for t, m, pid, gid, grp, thr in rows:
                for key in (pid, grp, gid):
                    if key is not None:
                        out.setdefault((t, m, str(key)), float(thr))
            return out

        thr = self._cached("nominal_thresholds", load).get((tissue, modality, str(phenotype_id)))
        return None if thr is None or math.isnan(thr) else thr

    def phenotype_by_genotype(self, phenotype_id: str, variant_id: str, tissue: str, modality: str) -> dict:
        """Data of a phenotype-by-genotype plot.

        Returns ``phenotype_id, variant_id, chrom, pos, ref, alt, tissue, modality``, ``samples`` (the
        phenotype's samples), ``values`` (normalised phenotype values, or TPM for expression in a release
        without normalised values; None when missing), ``value_kind`` ("normalised" or "tpm": unnormalised
        expression, in ``value_unit``, the release's unit, else None), ``genotypes``
        (ALT dosage 0/1/2, None when missing), ``counts`` ({hom_ref, het, hom_alt, missing}), ``n`` (samples with
        both a value and a genotype); the pair's mapped statistics (the mapping model, with its covariates;
        see :meth:`mapped_statistics`): ``pval_nominal``, ``slope``, ``slope_se``, ``nlog10p`` and
        ``statistics_source`` ("nominal", "significant_pairs", "top", "independent", or None when the release
        has no mapped statistics of the pair: then all None); ``pval_nominal_threshold`` (of the phenotype,
        from the top QTL table, else None); ``slope_unadjusted``, ``slope_se_unadjusted``, ``pval_unadjusted``
        (a simple regression of the plotted values on the dosage WITHOUT the covariates, on TPM when
        ``value_kind`` is "tpm": it illustrates the plot and is not the mapped result; None when undefined)
        and ``genotype_source`` ("vcf": the release's genotypes).
        """
        t = self.check_tissue(tissue)
        m = self.check_modality(modality, t)
        samples, values32, kind = self.phenotype_values(phenotype_id, t, m)
        v = self.variant(variant_id)
        values = values32.astype(np.float64)
        dosage = self.dosages(v, samples)
        missing = (dosage < 0) | (dosage > 2)
        counts = {"hom_ref": int(np.sum(dosage[~missing] == 0)), "het": int(np.sum(dosage[~missing] == 1)),
                  "hom_alt": int(np.sum(dosage[~missing] == 2)), "missing": int(missing.sum())}
        use = ~missing & np.isfinite(values)
        slope, se, pval = _regression(dosage[use].astype(np.float64), values[use])
        mapped = self.mapped_statistics(t, m, phenotype_id, v["variant_id"])
        finite = np.isfinite(values)
        return {
            "phenotype_id": phenotype_id, "variant_id": v["variant_id"], "chrom": v["chrom"], "pos": v["pos"],
            "ref": v["ref"], "alt": v["alt"], "tissue": t, "modality": m, "samples": samples,
            "values": [float(x) if ok else None for x, ok in zip(values32.tolist(), finite.tolist(), strict=True)],
            "value_kind": kind, "value_unit": self.value_unit() if kind == "tpm" else None,
            "genotypes": [None if miss else int(d) for d, miss in zip(dosage.tolist(), missing.tolist(), strict=True)],
            "counts": counts, "n": int(use.sum()),
            **mapped, "pval_nominal_threshold": self.nominal_threshold(t, m, phenotype_id),
            "slope_unadjusted": slope, "slope_se_unadjusted": se, "pval_unadjusted": pval, "genotype_source": "vcf",
        }


def _finite(value) -> float | None:
    """``value`` as a float, None when it is missing, not a number or not finite."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _mapped_row(row: dict | None, source: str) -> dict | None:
    """The mapped statistics of a row of ``source`` (see :meth:`VariantQueries.mapped_statistics`); None when
    there is no row or it has no p-value."""
    p = None if row is None else _finite(row.get("pval_nominal"))
    if p is None:
        return None
    nlog10p = _finite(row.get("nlog10p"))
    if nlog10p is None and p > 0:
        nlog10p = -math.log10(p)
    return {"pval_nominal": p, "slope": _finite(row.get("slope")), "slope_se": _finite(row.get("slope_se")),
            "nlog10p": nlog10p, "statistics_source": source}


def _regression(x: np.ndarray, y: np.ndarray) -> tuple[float | None, float | None, float | None]:
    """Slope, its standard error and two-sided p-value of ``y ~ a + b x`` (None when undefined)."""
    n = len(x)
    if n < 3:
        return None, None, None
    xc, yc = x - x.mean(), y - y.mean()
    sxx = float(xc @ xc)
    if sxx <= 0:
        return None, None, None
    slope = float(xc @ yc) / sxx
    resid = yc - slope * xc
    df = n - 2
    se = math.sqrt(float(resid @ resid) / df / sxx)
    if se == 0:
        return slope, 0.0, 0.0
    from scipy import stats

    pval = float(2 * stats.t.sf(abs(slope / se), df))
    return slope, se, pval
