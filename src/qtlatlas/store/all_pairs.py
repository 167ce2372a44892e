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
        n = P.limit(limit)
        threshold = P.number(min_nlog10p, "min_nlog10p")
        kind = "all_pairs"
        offset = P.decode_cursor(cursor, kind)
        candidates = self._candidates(gene, region, variant, phenotype, tissues, modalities)
        if threshold is not None:
            for c in candidates:
                c.keep(threshold)
        total = sum(len(c.rows) for c in candidates)
        parts, at = [], 0
        for c in candidates:
            k = len(c.rows)
            lo, hi = max(offset - at, 0), min(offset + n - at, k)
            if hi > lo:
                parts.append(self._rows(c, lo, hi))
            at += k
        rows = self._frame(parts)
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
        most = P.limit(most, "most", maximum=1_000_000)
        candidates = self._candidates(gene, region, variant, phenotype, tissues, modalities)
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
        rows = self._frame([self._rows(c, 0, len(c.rows), fields) for c in candidates if len(c.rows)], fields)
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

    def _candidates(self, gene, region, variant, phenotype, tissues, modalities) -> list[_Candidates]:
        """The candidate rows of a gene, region or variant query (exactly one of the three) in each tissue ×
        modality asked, in release order."""
        if sum(x is not None for x in (gene, region, variant)) != 1:
            raise BadQuery("gene/region/variant", "give exactly one of gene, region and variant")
        targets = self.all_pairs_targets(tissues, modalities)
        if not targets:
            raise NotFound("all pairs", "of the tissues and modalities asked",
                           detail=f"(release {self.id} publishes no nominal pass for them)")
        pick = self._picker(gene=gene, region=region, variant=variant, phenotype=phenotype)
        out = []
        for t, m in targets:
            file = self.all_pairs_file(t, m)
            out.append(_Candidates(t, m, file, pick(file)))
        return out

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

    def _rows(self, c: _Candidates, lo: int, hi: int, fields: list[str] | None = None) -> pa.Table:
        """Rows ``lo .. hi - 1`` of a tissue × modality's candidates with the fields of :data:`PAIR_COLUMNS` (those
        of ``fields`` only when given: a plot's few columns skip the others' reads), but the variants' fields: an
        Arrow table with ``_variant_index`` and ``_start``, completed by :meth:`_with_variants` once for the
        whole page (the pages of several tissues are joined before the one conversion to pandas)."""
        want = set(PAIR_COLUMNS if fields is None else fields)
        rows, runs = c.rows[lo:hi], c.runs[lo:hi]
        file = c.file
        values = [f for f in ("nlog10p", "slope", "slope_se") if f in want or (f == "nlog10p" and "pval_nominal" in want)]
        pairs = file.pair_values(rows, runs, values)
        index = pairs["variant_index"]
        k = len(rows)
        start = file.start[runs].astype(np.float64)
        columns: dict[str, pa.Array] = {"_variant_index": pa.array(index, pa.int64()),
                                        "_start": pa.array(start, mask=np.isnan(start))}
        if "tissue" in want:
            columns["tissue"] = pa.array([c.tissue] * k, pa.string())
        if "modality" in want:
            columns["modality"] = pa.array([c.modality] * k, pa.string())
        if "phenotype_id" in want:
            columns["phenotype_id"] = pa.array(file.phenotype_ids[runs], pa.string())
        genes = file.gene_ids[runs]
        if "gene_id" in want:
            columns["gene_id"] = pa.array(genes, pa.string())
        if "gene_name" in want:
            columns["gene_name"] = pa.array(self._gene_names(genes), pa.string())
        if want & {"af", "ma_samples", "ma_count"}:
            stats = file.variant_stats(index)
            columns.update({f: stats.column(f) for f in ("af", "ma_samples", "ma_count") if f in want})
        if "nlog10p" in values:
            nlog10p = pairs["nlog10p"].to_numpy(zero_copy_only=False).astype(np.float64)
            with np.errstate(over="ignore", invalid="ignore"):
                pval = np.power(10.0, -nlog10p)
            columns["nlog10p"] = pa.array(nlog10p, mask=np.isnan(nlog10p))
            columns["pval_nominal"] = pa.array(pval, mask=np.isnan(pval))
        for f in ("slope", "slope_se"):
            if f in values:
                columns[f] = pairs[f]
        return pa.table(columns)

    def _with_variants(self, table: pa.Table, fields: list[str] | None = None) -> pa.Table:
        """The rows of :meth:`_rows` with their variants' fields (read once for the whole page) and
        ``start_distance``, in the order of :data:`PAIR_COLUMNS` (or of ``fields``)."""
        want = PAIR_COLUMNS if fields is None else fields
        columns = {name: table.column(name) for name in table.column_names if not name.startswith("_")}
        if set(want) & {*_VARIANT_FIELDS, "start_distance"}:
            variants = self._variants_by_index().take(table.column("_variant_index").to_numpy(zero_copy_only=False))
            columns.update({f: variants.column(f) for f in _VARIANT_FIELDS})
            start = table.column("_start").to_numpy(zero_copy_only=False)
            unplaced = np.isnan(start)
            pos = variants.column("pos").to_numpy(zero_copy_only=False)
            columns["start_distance"] = pa.array(np.where(unplaced, 0, pos - np.nan_to_num(start)).astype(np.int64),
                                                 mask=unplaced)
        return pa.table({name: columns[name] for name in want})

    def _frame(self, parts: list[pa.Table], fields: list[str] | None = None) -> pd.DataFrame:
        """One DataFrame of the :meth:`_rows` tables of a page (nullable integers as pandas' Int64)."""
        if not parts:
            return pd.DataFrame({c: [] for c in (PAIR_COLUMNS if fields is None else fields)})
        table = self._with_variants(pa.concat_tables(parts), fields)
        return table.to_pandas(types_mapper={pa.int32(): pd.Int64Dtype(), pa.int64(): pd.Int64Dtype()}.get)

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
        row = self._with_variants(self._rows(c, 0, 1)).to_pylist()[0]
        return {k: row[k] for k in ("phenotype_id", "variant_id", "pval_nominal", "nlog10p", "slope", "slope_se", "af",
                                    "ma_samples", "ma_count", "start_distance")}
