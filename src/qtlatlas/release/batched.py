"""Look-up files of a release: an Arrow IPC file of small record batches plus a sidecar table of each
batch's key range.

The portal answers "every association at this position" and "this variant id" by decoding one batch whose
key range it finds in the sidecar (kept in memory: a few bytes per batch). Parquet would need its footer —
statistics of every column of every row group, tens of MB at tens of millions of rows — in memory or parsed
at each look-up; an IPC file's footer holds only batch offsets.

Two kinds of keys:

* by position (:class:`PositionBatchWriter`): rows sorted by chromosome then ``pos``, one chromosome per
  batch; the sidecar has ``batch, chrom, pos_min, pos_max, n_rows``;
* by text key (:func:`write_keyed_batches`): rows sorted by a string column; the sidecar has
  ``batch, key_min, key_max, n_rows``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

#: Rows per record batch: small enough that decoding one batch takes a fraction of a millisecond.
BATCH_ROWS = 8192
_OPTIONS = pa.ipc.IpcWriteOptions(compression="lz4")


def sidecar_path(path: str | os.PathLike[str]) -> Path:
    """``name.arrow`` -> ``name.batches.parquet``."""
    p = Path(path)
    return p.with_name(p.name.removesuffix(".arrow") + ".batches.parquet")


class PositionBatchWriter:
    """Writes rows sorted by (chromosome, ``pos``), one chromosome per :meth:`write` call."""

    def __init__(self, path: str | os.PathLike[str], schema: pa.Schema, batch_rows: int = BATCH_ROWS):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.batch_rows = batch_rows
        self._writer = pa.ipc.new_file(self.path, schema, options=_OPTIONS)
        self._ranges: list[tuple[int, str, int, int, int]] = []

    def write(self, table: pa.Table) -> None:
        """Append the rows of one chromosome (sorted by ``pos``) as batches of at most ``batch_rows``."""
        for batch in table.combine_chunks().to_batches(max_chunksize=self.batch_rows):
            if batch.num_rows == 0:
                continue
            chrom = batch.column(batch.schema.get_field_index("chrom"))
            pos = batch.column(batch.schema.get_field_index("pos"))
            first = chrom[0].as_py()
            if pc.any(pc.not_equal(chrom, first)).as_py() or chrom.null_count or pos.null_count:
                raise ValueError("a batch of a position file must hold one chromosome and no missing position")
            self._writer.write_batch(batch)
            self._ranges.append((len(self._ranges), str(first), int(pc.min(pos).as_py()), int(pc.max(pos).as_py()),
                                 batch.num_rows))

    def close(self) -> Path:
        self._writer.close()
        cols = list(zip(*self._ranges, strict=True)) if self._ranges else [[], [], [], [], []]
        sidecar = pa.table({"batch": pa.array(cols[0], pa.int64()), "chrom": pa.array(cols[1], pa.string()),
                            "pos_min": pa.array(cols[2], pa.int64()), "pos_max": pa.array(cols[3], pa.int64()),
                            "n_rows": pa.array(cols[4], pa.int64())})
        pq.write_table(sidecar, sidecar_path(self.path))
        return self.path


def write_keyed_batches(table: pa.Table, key: str, path: str | os.PathLike[str], batch_rows: int = 4096) -> Path:
    """Write ``table`` (sorted by the string column ``key``) as batches of ``batch_rows`` rows, with a sidecar
    of each batch's first and last key."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mins, maxs, rows = [], [], []
    with pa.ipc.new_file(path, table.schema, options=_OPTIONS) as writer:
        for batch in table.combine_chunks().to_batches(max_chunksize=batch_rows):
            if batch.num_rows == 0:
                continue
            keys = batch.column(batch.schema.get_field_index(key))
            writer.write_batch(batch)
            mins.append(keys[0].as_py())
            maxs.append(keys[batch.num_rows - 1].as_py())
            rows.append(batch.num_rows)
    sidecar = pa.table({"batch": pa.array(range(len(rows)), pa.int64()), "key_min": pa.array(mins, pa.string()),
                        "key_max": pa.array(maxs, pa.string()), "n_rows": pa.array(rows, pa.int64())})
    pq.write_table(sidecar, sidecar_path(path))
    return path
