"""Every tested cis pair of a release (the nominal pass) by gene, region or variant, filtered by −log10 p and
paged: :class:`AllPairsQueries`, a mixin of :class:`~qtlatlas.store.release.ReleaseStore`.

A query picks, per tissue × modality, the runs (phenotypes) and rows it needs from the runs table of each
all-pairs store (:class:`~qtlatlas.store.all_pairs_file.AllPairsFile`), counts them without decoding (or, with
``min_nlog10p``, decoding that one column), and decodes only the rows of the page asked; the variant fields
come from the release's variant table by index (:class:`VariantsByIndex`).

Rows are ordered by tissue and modality (release order), then phenotype position, then variant position.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..release import layout
from . import params as P
from .all_pairs_file import AllPairsFile, RowSlice
from .batched import BatchedFile
from .errors import BadQuery, NotFound

CROSS_MODALITY = "cross_modality"
#: Columns of a row of :meth:`AllPairsQueries.all_pairs`.
PAIR_COLUMNS = ["tissue", "modality", "phenotype_id", "gene_id", "gene_name", "variant_id", "chrom", "pos", "ref",
                "alt", "start_distance", "af", "ma_samples", "ma_count", "pval_nominal", "nlog10p", "slope",
                "slope_se"]
_VARIANT_FIELDS = ["variant_id", "chrom", "pos", "ref", "alt"]


class VariantsByIndex:
    """The release's variants by index (row of ``variants.parquet``), read from the batches of
    ``variants_by_position.arrow`` (same order; thread-safe)."""

    def __init__(self, path: str):
        self.file = BatchedFile(path)
        r = self.file.ranges
        n = r.column("n_rows").to_numpy()
        self.first = np.concatenate([[0], np.cumsum(n)[:-1]]).astype(np.int64)
        self.batch = r.column("batch").to_numpy()
        self.chrom = np.asarray(r.column("chrom").to_pylist(), dtype=object)
        self.pos_min = r.column("pos_min").to_numpy()
        self.pos_max = r.column("pos_max").to_numpy()

    def take(self, index: np.ndarray) -> pa.Table:
        """``variant_id, chrom, pos, ref, alt`` of each index, in the order given."""
        index = np.asarray(index, dtype=np.int64)
        which = np.searchsorted(self.first, index, side="right") - 1
        parts, order = [], []
        for b in np.unique(which).tolist():
            sel = np.flatnonzero(which == b)
            batch = self.file.batch(int(self.batch[b])).select(_VARIANT_FIELDS)
            parts.append(pa.Table.from_batches([batch]).take(pa.array(index[sel] - self.first[b])))
            order.append(sel)
        if not parts:
            return pa.table({c: pa.array([], pa.int64() if c == "pos" else pa.string()) for c in _VARIANT_FIELDS})
        table = pa.concat_tables(parts)
        return table.take(pa.array(np.argsort(np.concatenate(order), kind="stable")))

    def _batches(self, chroms: list[str], start: int, end: int) -> list[int]:
        sel = np.isin(self.chrom, chroms) & (self.pos_max >= start) & (self.pos_min <= end)
        return np.flatnonzero(sel).tolist()

    def index_range(self, chroms: list[str], start: int, end: int) -> tuple[int, int] | None:
        """First and last index of the variants at ``start ≤ pos ≤ end`` on ``chroms``; None when none."""
        found = self._batches(chroms, start, end)
        if not found:
            return None
        first, last = found[0], found[-1]
        pos = self.file.batch(int(self.batch[first])).column("pos").to_numpy()
        lo = int(self.first[first] + np.searchsorted(pos, start, side="left"))
        pos = self.file.batch(int(self.batch[last])).column("pos").to_numpy()
        hi = int(self.first[last] + np.searchsorted(pos, end, side="right") - 1)
        return (lo, hi) if hi >= lo else None

    def index_of(self, chroms: list[str], pos: int, variant_id: str) -> int | None:
        for b in self._batches(chroms, pos, pos):
            batch = self.file.batch(int(self.batch[b]))
            hit = np.flatnonzero(pc.equal(batch.column("variant_id"), variant_id).to_numpy(zero_copy_only=False))
            if len(hit):
                return int(self.first[b] + hit[0])
        return None


class _Candidates:
    """The candidate rows of one tissue × modality: row numbers of the pairs file (in query order) and the run
    of each."""

    def __init__(self, tissue: str, modality: str, file: AllPairsFile, slices: list[RowSlice]):
        self.tissue, self.modality, self.file = tissue, modality, file
        self.rows = (np.concatenate([np.arange(s.start, s.end, dtype=np.int64) for s in slices])
                     if slices else np.zeros(0, np.int64))
        self.runs = (np.repeat(np.array([s.run for s in slices], np.int64), [s.n for s in slices])
                     if slices else np.zeros(0, np.int64))

    def keep(self, min_nlog10p: float) -> None:
        """Keep the rows whose −log10 p is at least ``min_nlog10p`` (decodes that column)."""
        if not len(self.rows):
            return
        values = self.file.pairs.take(self.rows, ["nlog10p"]).column("nlog10p").to_numpy(zero_copy_only=False)
        mask = values >= min_nlog10p
        self.rows, self.runs = self.rows[mask], self.runs[mask]


class AllPairsQueries:
    """Queries of every tested pair (see the module docstring)."""

    def all_pairs_file(self, tissue: str, modality: str) -> AllPairsFile | None:
        """The all-pairs store of a tissue × modality, or None when the release does not publish it."""
        def load():
            paths = [self.path / layout.all_pairs_path(tissue, modality, p) for p in layout.ALL_PAIRS_PARTS]
            return AllPairsFile(*map(str, paths)) if all(p.is_file() for p in paths) else None

        return self._cached(f"all_pairs:{tissue}.{modality}", load)

    def _variants_by_index(self) -> VariantsByIndex:
        return self._cached("variants_by_index", lambda: VariantsByIndex(self.table_file("variants_by_position")))

    def all_pairs_targets(self, tissues=None, modalities=None) -> list[tuple[str, str]]:
        """(tissue, modality) pairs of the filters whose every tested pair the release publishes."""
        ts = self._tissue_filter(tissues) or list(self._tissue_modalities)
        ms = self._modality_filter(modalities)
        return [(t, m) for t in ts for m in self._tissue_modalities.get(t, [])
                if m != CROSS_MODALITY and (ms is None or m in ms) and self.all_pairs_file(t, m) is not None]

    def all_pairs(self, *, gene: str | None = None, region: str | None = None, variant: str | None = None,
                  phenotype: str | None = None, tissues=None, modalities=None, min_nlog10p: float | None = None,
                  limit: int = 1000, cursor: str | None = None) -> tuple[pd.DataFrame, int, str | None]:
        """Every tested pair of one gene (id or symbol; ``phenotype`` narrows it to one of its phenotypes), of one
        region (``chrom:start-end`` on the variant position, at most MAX_REGION_BP wide) or of one variant (any
        syntax of :meth:`variant`): exactly one of the three. ``min_nlog10p`` keeps pairs with −log10 p at
        least that. Returns ``(rows, total, next_cursor)``; rows have :data:`PAIR_COLUMNS`."""
        if sum(x is not None for x in (gene, region, variant)) != 1:
            raise BadQuery("gene/region/variant", "give exactly one of gene, region and variant")
        n = P.limit(limit)
        threshold = P.number(min_nlog10p, "min_nlog10p")
        kind = "all_pairs"
        offset = P.decode_cursor(cursor, kind)
        targets = self.all_pairs_targets(tissues, modalities)
        if not targets:
            raise NotFound("all pairs", "of the tissues and modalities asked",
                           detail=f"(release {self.id} publishes no nominal pass for them)")
        pick = self._picker(gene=gene, region=region, variant=variant, phenotype=phenotype)
        candidates = []
        for t, m in targets:
            file = self.all_pairs_file(t, m)
            c = _Candidates(t, m, file, pick(file))
            if threshold is not None:
                c.keep(threshold)
            candidates.append(c)
        total = sum(len(c.rows) for c in candidates)
        parts, at = [], 0
        for c in candidates:
            k = len(c.rows)
            lo, hi = max(offset - at, 0), min(offset + n - at, k)
            if hi > lo:
                parts.append(self._rows(c, lo, hi))
            at += k
        rows = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame({c: [] for c in PAIR_COLUMNS})
        return rows, total, P.next_cursor(offset, len(rows), total, kind)

    def all_pairs_strongest(self, most: int, *, gene: str | None = None, region: str | None = None,
                            variant: str | None = None, phenotype: str | None = None, tissues=None,
                            modalities=None, fields: list[str] | None = None
                            ) -> tuple[pd.DataFrame, int, float | None]:
        """Every pair of an :meth:`all_pairs` query when it has at most ``most`` (≥ 1), else the ``most`` of
        highest −log10 p (rows tied at the cut are kept while they fit), in :meth:`all_pairs`' order, in one
        read; ``fields`` (of :data:`PAIR_COLUMNS`) chooses the columns (default all). Returns ``(rows, total,
        cut)``: ``total`` counts every pair of the query, ``cut`` is the smallest −log10 p kept when rows were
        left out (None when none was)."""
        if fields is not None and (not fields or any(f not in PAIR_COLUMNS for f in fields)):
            raise BadQuery("fields", f"expected columns of {', '.join(PAIR_COLUMNS)}")
        if sum(x is not None for x in (gene, region, variant)) != 1:
            raise BadQuery("gene/region/variant", "give exactly one of gene, region and variant")
        most = P.limit(most, "most", maximum=1_000_000)
        targets = self.all_pairs_targets(tissues, modalities)
        if not targets:
            raise NotFound("all pairs", "of the tissues and modalities asked",
                           detail=f"(release {self.id} publishes no nominal pass for them)")
        pick = self._picker(gene=gene, region=region, variant=variant, phenotype=phenotype)
        candidates = [_Candidates(t, m, self.all_pairs_file(t, m), pick(self.all_pairs_file(t, m)))
                      for t, m in targets]
        total = sum(len(c.rows) for c in candidates)
        cut = None
        if total > most:
            values = [c.file.pairs.take(c.rows, ["nlog10p"]).column("nlog10p").to_numpy(zero_copy_only=False)
                      for c in candidates]
            values = [np.where(np.isnan(v), -np.inf, v) for v in values]  # an undefined p ranks last
            flat = np.concatenate(values).astype(np.float64)
            cut = float(np.partition(flat, total - most)[total - most])  # the most-th largest value
            room = most - int((flat > cut).sum())  # rows at the cut that still fit
            for c, v in zip(candidates, values, strict=True):
                keep = v > cut
                tied = np.flatnonzero(v == cut)[:max(room, 0)]
                room -= len(tied)
                keep[tied] = True
                c.rows, c.runs = c.rows[keep], c.runs[keep]
        parts = [self._row_columns(c, 0, len(c.rows), fields) for c in candidates if len(c.rows)]
        rows = (self._concat_columns(parts) if parts
                else pd.DataFrame({c: [] for c in (PAIR_COLUMNS if fields is None else fields)}))
        return rows, total, cut

    def phenotype_runs(self, gene: str) -> pd.DataFrame:
        """The phenotypes of a gene (id or symbol) whose every tested pair the release publishes, from the
        all-pairs stores' runs tables (nothing decoded): ``tissue, modality, phenotype_id, chrom, start``
        (the phenotype's position; None when unknown), ``pos_first, pos_last`` (its first and last tested variant) and
        ``n_variants``, by tissue and modality (release order), then position."""
        gene_id = self._all_pairs_gene(gene)
        rows = []
        for t, m in self.all_pairs_targets():
            file = self.all_pairs_file(t, m)
            for i in file.runs_of_gene(gene_id):
                start = float(file.start[i])
                rows.append((t, m, str(file.phenotype_ids[i]), str(file.chroms[i]),
                             None if start != start else int(start), int(file.pos_first[i]),
                             int(file.pos_last[i]), int(file.n_rows[i])))
        return pd.DataFrame(rows, columns=["tissue", "modality", "phenotype_id", "chrom", "start", "pos_first",
                                           "pos_last", "n_variants"])

    def _picker(self, *, gene, region, variant, phenotype):
        """A function of an :class:`AllPairsFile` giving the row slices the query asks of it."""
        if gene is not None:
            gene_id = self._all_pairs_gene(gene)
            pid = None if phenotype is None else P.text(phenotype, "phenotype")

            def by_gene(file: AllPairsFile) -> list[RowSlice]:
                runs = file.runs_of_gene(gene_id)
                if pid is not None:
                    runs = [i for i in runs if file.phenotype_ids[i] == pid]
                return file.slices(runs)
            return by_gene
        if region is not None:
            span = P.region(region)
            chroms = self.chrom_spellings(span.chrom)
            found = self._variants_by_index().index_range(chroms, span.start, span.end)

            def by_region(file: AllPairsFile) -> list[RowSlice]:
                if found is None:
                    return []
                return file.slices(file.runs_meeting(chroms, span.start, span.end), *found)
            return by_region
        v = self.variant(variant)
        index = self._variants_by_index().index_of(self.chrom_spellings(v["chrom"]), int(v["pos"]), v["variant_id"])

        def by_variant(file: AllPairsFile) -> list[RowSlice]:
            if index is None:
                return []
            return file.slices(file.runs_covering(index), index, index)
        return by_variant

    def _all_pairs_gene(self, gene: str) -> str:
        """The gene id of ``gene`` (id or symbol), or ``gene`` itself when the annotation lacks it but an all-pairs
        store holds pairs of that gene id (phenotypes of genes outside the release's annotation)."""
        try:
            return self.resolve_gene(gene)["gene_id"]
        except NotFound:
            q = P.text(gene, "gene")
            if any(self.all_pairs_file(t, m).runs_of_gene(q) for t, m in self.all_pairs_targets()):
                return q
            raise

    def _rows(self, c: _Candidates, lo: int, hi: int, fields: list[str] | None = None) -> pd.DataFrame:
        """Rows ``lo .. hi - 1`` of a tissue × modality's candidates, with the fields of :data:`PAIR_COLUMNS`
        (those of ``fields`` only, in that order, when given: a plot's few columns skip the others' reads)."""
        return pd.DataFrame(self._row_columns(c, lo, hi, fields))

    @staticmethod
    def _concat_columns(parts: list[dict]) -> pd.DataFrame:
        """One DataFrame of several :meth:`_row_columns` answers (one frame built, not one per part)."""
        out = {}
        for f in parts[0]:
            values = [p[f] for p in parts]
            out[f] = (np.concatenate(values) if all(isinstance(v, np.ndarray) for v in values)
                      else pd.concat([pd.Series(v) for v in values], ignore_index=True))
        return pd.DataFrame(out)

    def _row_columns(self, c: _Candidates, lo: int, hi: int, fields: list[str] | None = None) -> dict:
        """The columns of :meth:`_rows` as arrays, by field."""
        want = PAIR_COLUMNS if fields is None else fields
        rows, runs = c.rows[lo:hi], c.runs[lo:hi]
        file = c.file
        stats_cols = [f for f in ("nlog10p", "slope", "slope_se") if f in want or (f == "nlog10p" and "pval_nominal" in want)]
        pairs = file.pairs.take(rows, ["variant_index", *stats_cols])
        index = pairs.column("variant_index").to_numpy(zero_copy_only=False).astype(np.int64)
        k = len(rows)
        columns: dict = {}
        if {"tissue", "modality"} & set(want):
            columns.update(tissue=np.full(k, c.tissue, dtype=object), modality=np.full(k, c.modality, dtype=object))
        if "phenotype_id" in want:
            columns["phenotype_id"] = file.phenotype_ids[runs]
        if {"gene_id", "gene_name"} & set(want):
            genes = file.gene_ids[runs]
            columns.update(gene_id=genes, gene_name=self._gene_names(genes) if "gene_name" in want else None)
        if set(_VARIANT_FIELDS + ["start_distance"]) & set(want):
            variants = self._variants_by_index().take(index)
            columns.update({f: variants.column(f).to_numpy(zero_copy_only=False) for f in _VARIANT_FIELDS})
            if "start_distance" in want:
                start = file.start[runs].astype(np.float64)
                columns["start_distance"] = pd.array(np.where(np.isnan(start), np.nan, columns["pos"] - start),
                                                     dtype="Float64").astype("Int64")
        if {"af", "ma_samples", "ma_count"} & set(want):
            stats = file.variant_stats(index)
            columns.update(af=stats.column("af").to_numpy(zero_copy_only=False),
                           ma_samples=stats.column("ma_samples").to_pandas().astype("Int64"),
                           ma_count=stats.column("ma_count").to_pandas().astype("Int64"))
        if "nlog10p" in stats_cols:
            columns["nlog10p"] = pairs.column("nlog10p").to_numpy(zero_copy_only=False).astype(np.float64)
            with np.errstate(over="ignore", invalid="ignore"):
                columns["pval_nominal"] = np.power(10.0, -columns["nlog10p"])
        for f in ("slope", "slope_se"):
            if f in stats_cols:
                columns[f] = pairs.column(f).to_numpy(zero_copy_only=False)
        return {f: columns[f] for f in want}

    def _gene_names(self, gene_ids: np.ndarray) -> np.ndarray:
        index = self._gene_index()
        names = index.names
        found = [index.by_id.get(str(g).lower()) if g is not None else None for g in gene_ids.tolist()]
        return np.array([names[i] if i is not None else None for i in found], dtype=object)

    def all_pairs_pair(self, tissue: str, modality: str, phenotype_id: str, variant_id: str) -> dict | None:
        """The statistics of one tested pair (``pval_nominal, nlog10p, slope, slope_se, af, ma_samples,
        ma_count``), None when it was not tested or the release does not publish its nominal pass."""
        file = self.all_pairs_file(tissue, modality)
        if file is None:
            return None
        runs = file.runs_of_phenotype(str(phenotype_id))
        if not runs:
            return None
        try:
            v = self.variant(variant_id)
        except NotFound:
            return None
        index = self._variants_by_index().index_of(self.chrom_spellings(v["chrom"]), int(v["pos"]), v["variant_id"])
        if index is None:
            return None
        slices = file.slices(runs, index, index)
        if not slices:
            return None
        c = _Candidates(tissue, modality, file, slices)
        row = self._rows(c, 0, 1).iloc[0]
        return {k: (None if pd.isna(row[k]) else row[k].item() if hasattr(row[k], "item") else row[k])
                for k in ("phenotype_id", "variant_id", "pval_nominal", "nlog10p", "slope", "slope_se", "af",
                          "ma_samples", "ma_count", "start_distance")}
