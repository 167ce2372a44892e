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

from ..release.batched import sidecar_path


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
        return self._reader().get_batch(i)


class KeyedRows:
    """All rows of an exact key in a file written by :func:`qtlatlas.release.batched.write_keyed_batches`
    (the key's rows may continue from one batch into the next)."""

    def __init__(self, path: str, key: str):
        self.file = BatchedFile(path)
        self.key = key
        self._min_keys: list[str] = self.file.ranges.column("key_min").to_pylist()

    def rows(self, value: str) -> list[dict]:
        """Every row whose key equals ``value`` (file order)."""
        out: list[dict] = []
        first = max(bisect.bisect_left(self._min_keys, value) - 1, 0)
        for group in range(first, len(self._min_keys)):
            if self._min_keys[group] > value:
                break
            batch = self.file.batch(group)
            keys = batch.column(batch.schema.get_field_index(self.key)).to_numpy(zero_copy_only=False)
            lo, hi = np.searchsorted(keys, value, side="left"), np.searchsorted(keys, value, side="right")
            out += batch.slice(int(lo), int(hi - lo)).to_pylist()
            if hi < len(keys):
                break
        return out
