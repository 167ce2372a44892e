"""Readers of the look-up files written by :mod:`qtlatlas.release.batched`: one record batch at a time.

Each thread keeps its own open IPC reader (its footer is a list of batch offsets, a few bytes per batch);
the sidecar of key ranges is read once and shared.
"""

from __future__ import annotations

import bisect
import threading

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..release.batched import RUN_BATCH_ROWS_KEY, sidecar_path

#: Decoded batches each thread keeps per file (a few hundred kB at most).
RECENT_BATCHES = 4


class BatchedFile:
    """Random access to the record batches of an Arrow IPC file (thread-safe)."""

    def __init__(self, path: str):
        self.path = path
        self.ranges: pa.Table = pq.read_table(sidecar_path(path))
        self._local = threading.local()
        with pa.OSFile(path) as f:
            self.schema: pa.Schema = pa.ipc.open_file(f).schema

    def _reader(self) -> pa.ipc.RecordBatchFileReader:
        reader = getattr(self._local, "reader", None)
        if reader is None:
            # an OS file, not a memory map: pages read for a look-up do not stay in the resident set
            reader = self._local.reader = pa.ipc.open_file(pa.OSFile(self.path))
        return reader

    def batch(self, i: int) -> pa.RecordBatch:
        """Record batch ``i``; each thread keeps its :data:`RECENT_BATCHES` last decoded batches, since one
        request often decodes the same batch again (a variant's id, then its index, then its fields)."""
        recent = getattr(self._local, "recent", None)
        if recent is None:
            recent = self._local.recent = {}
        batch = recent.pop(i, None)
        if batch is None:
            batch = self._reader().get_batch(i)
            if len(recent) >= RECENT_BATCHES:
                del recent[next(iter(recent))]
        recent[i] = batch  # the most recently used last
        return batch


class KeyedRows:
    """All rows of an exact key in a file written by :class:`qtlatlas.release.batched.KeyedBatchWriter`
    (the key's rows may continue from one batch into the next), in one part or in each part."""

    def __init__(self, path: str, key: str):
        self.file = BatchedFile(path)
        self.key = key
        r = self.file.ranges
        parts = r.column("part").to_pylist() if "part" in r.column_names else [None] * r.num_rows  # older files
        self._batches: dict[str | None, tuple[list[str], list[int]]] = {}
        for part, key_min, batch in zip(parts, r.column("key_min").to_pylist(), r.column("batch").to_pylist(),
                                        strict=True):
            mins, ids = self._batches.setdefault(part, ([], []))
            mins.append(key_min)
            ids.append(batch)

    def slices(self, value: str, part: str | None = None) -> list[pa.RecordBatch]:
        """The rows whose key equals ``value`` in ``part``, as slices of the batches that hold them."""
        found = self._batches.get(part)
        if found is None:
            return []
        mins, ids = found
        out: list[pa.RecordBatch] = []
        for i in range(max(bisect.bisect_left(mins, value) - 1, 0), len(mins)):
            if mins[i] > value:
                break
            batch = self.file.batch(ids[i])
            keys = batch.column(batch.schema.get_field_index(self.key)).to_numpy(zero_copy_only=False)
            lo, hi = np.searchsorted(keys, value, side="left"), np.searchsorted(keys, value, side="right")
            if hi > lo:
                out.append(batch.slice(int(lo), int(hi - lo)))
            if hi < len(keys):
                break
        return out

    def slices_of_many(self, values: list[str], part: str | None = None) -> dict[str, list[pa.RecordBatch]]:
        """:meth:`slices` of several keys (``{value: slices}``, keys without rows left out), each batch decoded
        once however many of the keys it holds."""
        found = self._batches.get(part)
        if found is None or not values:
            return {}
        mins, ids = found
        wanted = sorted(set(values))
        decoded: dict[int, tuple[pa.RecordBatch, np.ndarray]] = {}
        out: dict[str, list[pa.RecordBatch]] = {}
        for value in wanted:
            for i in range(max(bisect.bisect_left(mins, value) - 1, 0), len(mins)):
                if mins[i] > value:
                    break
                if ids[i] not in decoded:
                    batch = self.file.batch(ids[i])
                    decoded[ids[i]] = (batch, batch.column(batch.schema.get_field_index(self.key))
                                       .to_numpy(zero_copy_only=False))
                batch, keys = decoded[ids[i]]
                lo, hi = np.searchsorted(keys, value, side="left"), np.searchsorted(keys, value, side="right")
                if hi > lo:
                    out.setdefault(value, []).append(batch.slice(int(lo), int(hi - lo)))
                if hi < len(keys):
                    break
        return out

    def prefix_rows(self, prefix: str, limit: int, part: str | None = None) -> list[dict]:
        """The first ``limit`` rows (key order) whose key starts with ``prefix`` (in ``part``): the matching keys
        are contiguous, so this decodes only the batches from the first match on until ``limit`` rows or a key
        past the prefix."""
        found = self._batches.get(part)
        if found is None or limit < 1 or not prefix:
            return []
        mins, ids = found
        out: list[dict] = []
        for i in range(max(bisect.bisect_left(mins, prefix) - 1, 0), len(mins)):
            if mins[i] > prefix and not mins[i].startswith(prefix):
                break
            batch = self.file.batch(ids[i])
            keys = batch.column(batch.schema.get_field_index(self.key)).to_numpy(zero_copy_only=False)
            lo = int(np.searchsorted(keys, prefix, side="left"))
            hi = lo
            while hi < len(keys) and hi - lo < limit - len(out) and str(keys[hi]).startswith(prefix):
                hi += 1
            out += batch.slice(lo, hi - lo).to_pylist()
            if len(out) >= limit or hi < len(keys):
                break
        return out

    def rows(self, value: str, part: str | None = None) -> list[dict]:
        """Every row whose key equals ``value`` (in ``part``; file order)."""
        return [row for s in self.slices(value, part) for row in s.to_pylist()]


class RunRows:
    """The rows of a key (and part) in a file written by :class:`qtlatlas.release.batched.RunBatchWriter`:
    its runs are found in the sidecar (kept as arrays: a few dozen bytes per run) and only their rows are
    decoded."""

    def __init__(self, path: str):
        self.file = BatchedFile(path)
        r = self.file.ranges
        self.batch_rows = int((r.schema.metadata or {}).get(RUN_BATCH_ROWS_KEY, b"0"))
        if self.batch_rows < 1:
            raise ValueError(f"{path}: the sidecar does not give the batch size")
        self._keys = np.asarray(r.column("key").to_pylist(), dtype=str)
        self._parts = r.column("part").to_pylist()
        self._first = r.column("first_row").to_numpy()
        self._n = r.column("n_rows").to_numpy()

    def runs(self, key: str, part: str | None = None) -> list[tuple[int, int]]:
        """``[(first_row, n_rows), ...]`` of the runs of ``key`` (of ``part`` only, when given), file order."""
        lo, hi = np.searchsorted(self._keys, key, side="left"), np.searchsorted(self._keys, key, side="right")
        return [(int(self._first[i]), int(self._n[i])) for i in range(int(lo), int(hi))
                if part is None or self._parts[i] == part]

    def count(self, key: str, part: str | None = None) -> int:
        """Rows of ``key`` (and ``part``), read from the sidecar only."""
        return sum(n for _, n in self.runs(key, part))

    def read_run(self, first: int, n: int, columns: list[str] | None = None) -> pa.Table:
        """Rows ``first .. first + n - 1`` of the file (``columns`` only, all when None)."""
        names = columns or self.file.schema.names
        parts = []
        row, end = first, first + n
        while row < end:
            b = row // self.batch_rows
            batch = self.file.batch(b)
            offset = row - b * self.batch_rows
            take = min(end - row, batch.num_rows - offset)
            if take <= 0:
                raise ValueError(f"{self.file.path}: rows {first}..{end - 1} run past its batches")
            parts.append(batch.slice(offset, take).select(names))
            row += take
        if not parts:
            return self.file.schema.empty_table().select(names)
        return pa.Table.from_batches(parts)

    def read(self, key: str, part: str | None = None, *, limit: int | None = None,
             columns: list[str] | None = None) -> list[pa.Table]:
        """One table per run of ``key`` (and ``part``), each cut to its first ``limit`` rows when given."""
        return [self.read_run(first, n if limit is None else min(n, limit), columns)
                for first, n in self.runs(key, part)]
