"""Random access to the all-pairs store of one tissue × modality (written by
:mod:`qtlatlas.release.all_pairs`): the rows of phenotypes, of a variant-index range, of one variant.

The runs table (one row per phenotype: first row, number of rows, variant-index and position range) is held in
memory as arrays (~100 bytes per phenotype); the pairs are decoded from whole Parquet row groups of
:data:`~qtlatlas.release.all_pairs.ROW_GROUP_ROWS` rows, only those that hold the asked rows. A run whose
variant indices are consecutive (every variant of the window tested, as a nominal pass does) locates a
variant or a range by arithmetic; another reads its ``variant_index`` column first (a fraction of a byte per
pair).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..release.all_pairs import (
    PRESENT_KEY,
    ROW_GROUP_ROWS,
    STATS_ROW_GROUP_ROWS,
    VALUE_COLUMNS,
    VARIANT_STATS_SCHEMA,
)


@dataclass
class RowSlice:
    """Rows ``start .. end - 1`` of the pairs file, all of run ``run``."""

    run: int
    start: int
    end: int

    @property
    def n(self) -> int:
        return self.end - self.start


class _RowGroups:
    """Whole-row-group reads of a Parquet file written in row groups of ``rows`` rows (thread-safe: each thread
    keeps its own reader over the footer parsed once)."""

    def __init__(self, path: str, rows: int):
        self.path, self.rows = path, rows
        self.metadata = pq.read_metadata(path)
        self._local = threading.local()

    def _file(self) -> pq.ParquetFile:
        f = getattr(self._local, "file", None)
        if f is None:
            # pre_buffer off: a read of one row group's few column chunks is half as long without it
            f = self._local.file = pq.ParquetFile(self.path, metadata=self.metadata, pre_buffer=False)
        return f

    def take(self, rows: np.ndarray, columns: list[str]) -> pa.Table:
        """Rows ``rows`` (int array, any order) of ``columns``, in the order given."""
        rows = np.asarray(rows, dtype=np.int64)
        if not len(rows):
            return self._file().schema_arrow.empty_table().select(columns)
        groups = np.unique(rows // self.rows)
        table = self._file().read_row_groups(groups.tolist(), columns=columns, use_threads=False)
        # the first row of each read group within `table`
        offset = np.searchsorted(groups, rows // self.rows) * self.rows + rows % self.rows
        return table.take(pa.array(offset))

    def ranges(self, slices: list[tuple[int, int]], columns: list[str]) -> pa.Table:
        """The rows of ``[(start, end), ...]`` concatenated, in the order given."""
        if not slices:
            return self._file().schema_arrow.empty_table().select(columns)
        rows = np.concatenate([np.arange(s, e, dtype=np.int64) for s, e in slices])
        return self.take(rows, columns)


class AllPairsFile:
    """The all-pairs store of one tissue × modality (thread-safe)."""

    def __init__(self, pairs: str, runs: str, variant_stats: str):
        self.pairs = _RowGroups(pairs, ROW_GROUP_ROWS)
        self.stats = _RowGroups(variant_stats, STATS_ROW_GROUP_ROWS)
        r = pq.read_table(runs)
        named = (r.schema.metadata or {}).get(PRESENT_KEY)
        #: the value columns that hold any value (the others are all null and are not read)
        self.present = set(VALUE_COLUMNS) if named is None else set(named.decode().split(",")) - {""}
        self.phenotype_ids = np.asarray(r.column("phenotype_id").to_pylist(), dtype=object)
        self.gene_ids = np.asarray(r.column("gene_id").to_pylist(), dtype=object)
        self.chroms = np.asarray(r.column("chrom").to_pylist(), dtype=object)
        self.start = r.column("start").to_numpy(zero_copy_only=False)
        self.first_row = r.column("first_row").to_numpy()
        self.n_rows = r.column("n_rows").to_numpy()
        self.variant_first = r.column("variant_first").to_numpy()
        self.variant_last = r.column("variant_last").to_numpy()
        self.pos_first = r.column("pos_first").to_numpy()
        self.pos_last = r.column("pos_last").to_numpy()
        self.dense = self.n_rows == self.variant_last - self.variant_first + 1
        self._by_phenotype = {p: i for i, p in enumerate(self.phenotype_ids.tolist())}
        self._by_gene: dict[str, list[int]] = {}
        for i, g in enumerate(self.gene_ids.tolist()):
            self._by_gene.setdefault(g, []).append(i)
        self._by_chrom = {c: np.flatnonzero(self.chroms == c) for c in dict.fromkeys(self.chroms.tolist())}

    # -- which runs -------------------------------------------------------------------------------

    def runs_of_phenotype(self, phenotype_id: str) -> list[int]:
        i = self._by_phenotype.get(phenotype_id)
        return [] if i is None else [i]

    def runs_of_gene(self, gene_id: str) -> list[int]:
        return list(self._by_gene.get(gene_id, ()))

    def runs_meeting(self, chroms: list[str], start: int, end: int) -> list[int]:
        """Runs on ``chroms`` whose variants span a position in ``[start, end]`` (file order)."""
        out: list[np.ndarray] = []
        for c in chroms:
            idx = self._by_chrom.get(c)
            if idx is not None:
                out.append(idx[(self.pos_last[idx] >= start) & (self.pos_first[idx] <= end)])
        return sorted(np.concatenate(out).tolist()) if out else []

    def runs_covering(self, variant_index: int) -> list[int]:
        """Runs whose variant-index range holds ``variant_index`` (the variant may still be absent from a run
        that is not dense)."""
        hit = (self.variant_first <= variant_index) & (self.variant_last >= variant_index)
        return np.flatnonzero(hit).tolist()

    # -- which rows -------------------------------------------------------------------------------

    def slices(self, runs: list[int], lo: int | None = None, hi: int | None = None) -> list[RowSlice]:
        """The rows of ``runs`` whose variant index is in ``[lo, hi]`` (all when None), one slice per run that
        has any."""
        out: list[RowSlice] = []
        sparse = [i for i in runs if not self.dense[i]]
        indices = self._run_indices(sparse) if (sparse and (lo is not None or hi is not None)) else {}
        for i in runs:
            first, n = int(self.first_row[i]), int(self.n_rows[i])
            if lo is None and hi is None:
                a, b = 0, n
            elif self.dense[i]:
                v0 = int(self.variant_first[i])
                a = 0 if lo is None else min(max(lo - v0, 0), n)
                b = n if hi is None else min(max(hi - v0 + 1, 0), n)
            else:
                v = indices[i]
                a = 0 if lo is None else int(np.searchsorted(v, lo, side="left"))
                b = n if hi is None else int(np.searchsorted(v, hi, side="right"))
            if b > a:
                out.append(RowSlice(i, first + a, first + b))
        return out

    def _run_indices(self, runs: list[int]) -> dict[int, np.ndarray]:
        table = self.pairs.ranges([(int(self.first_row[i]), int(self.first_row[i] + self.n_rows[i])) for i in runs],
                                  ["variant_index"])
        v = table.column("variant_index").to_numpy()
        out, at = {}, 0
        for i in runs:
            n = int(self.n_rows[i])
            out[i] = v[at:at + n]
            at += n
        return out

    # -- reading ----------------------------------------------------------------------------------

    def pair_values(self, rows: np.ndarray, runs: np.ndarray,
                    columns: tuple[str, ...] | list[str] = ("nlog10p", "slope", "slope_se")
                    ) -> dict[str, np.ndarray | pa.Array]:
        """``variant_index`` (int64) and ``columns`` (of ``nlog10p, slope, slope_se``) of pairs ``rows`` (of runs
        ``runs``). Columns the store holds no value of come back null without being read, and the variant index
        of a row of a dense run is its position in the run."""
        rows = np.asarray(rows, dtype=np.int64)
        dense = bool(self.dense[runs].all()) if len(runs) else True
        wanted = [c for c in columns if c in self.present] + ([] if dense else ["variant_index"])
        table = self.pairs.take(rows, wanted) if wanted else None
        out: dict[str, np.ndarray | pa.Array] = {}
        for c in columns:
            out[c] = table.column(c).combine_chunks() if c in wanted else pa.nulls(len(rows), pa.float32())
        if dense:
            out["variant_index"] = self.variant_first[runs] + (rows - self.first_row[runs])
        else:
            out["variant_index"] = table.column("variant_index").to_numpy(zero_copy_only=False).astype(np.int64)
        return out

    def variant_stats(self, variant_index: np.ndarray) -> pa.Table:
        """``af, ma_samples, ma_count`` in this tissue × modality of each variant index (null where untested)."""
        index = np.asarray(variant_index, dtype=np.int64)
        if not self.present & set(VARIANT_STATS_SCHEMA.names):
            return pa.table({f.name: pa.nulls(len(index), f.type) for f in VARIANT_STATS_SCHEMA})
        return self.stats.take(index, VARIANT_STATS_SCHEMA.names)
