"""Readers of the look-up files written by :mod:`qtlatlas.release.batched`: one record batch at a time.

Each thread keeps its own open IPC reader (its footer is a list of batch offsets, a few bytes per batch);
the sidecar of key ranges is read once and shared.
"""

from __future__ import annotations

import threading

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
