"""Look-up files of a release: an Arrow IPC file of small record batches plus a sidecar table of each
batch's key range.

The portal answers "every association at this position" and "this variant id" by decoding one batch whose
key range it finds in the sidecar (kept in memory: a few bytes per batch). Parquet would need its footer —
statistics of every column of every row group, tens of MB at tens of millions of rows — in memory or parsed
at each look-up; an IPC file's footer holds only batch offsets.

Three kinds of keys:

* by position (:class:`PositionBatchWriter`): rows sorted by chromosome then ``pos``, one chromosome per
  batch; the sidecar has ``batch, chrom, pos_min, pos_max, n_rows``;
* by text key (:class:`KeyedBatchWriter`, :func:`write_keyed_batches`): rows sorted by a string column,
  within each of optional parts written one after the other; the sidecar has
  ``batch, part, key_min, key_max, n_rows``;
* by runs (:class:`RunBatchWriter`): the rows of each key (and part) contiguous, keys in any order, in
  batches of a fixed number of rows; the sidecar has one row per run, ``key, part, first_row, n_rows``
  (sorted by key, part, first_row), so a look-up reads exactly the rows of its runs and knows their number
  without reading them.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

#: Rows per record batch: small enough that decoding one batch takes a fraction of a millisecond.
BATCH_ROWS = 8192
_OPTIONS = pa.ipc.IpcWriteOptions(compression="lz4")


class PendingRows:
    """Rows held back until batches of exactly ``size`` rows can be cut from them."""

    def __init__(self, size: int):
        self.size = int(size)
        self._tables: list[pa.Table] = []
        self.n = 0

    def add(self, table: pa.Table) -> None:
        self._tables.append(table)
        self.n += table.num_rows

    def full(self) -> bool:
        return self.n >= self.size

    def take(self, final: bool) -> list[pa.RecordBatch]:
        """The batches of ``size`` rows that can be cut (and, when ``final``, the shorter rest too)."""
        if not self._tables:
            return []
        rows = pa.concat_tables(self._tables)
        cut = rows.num_rows if final else rows.num_rows - rows.num_rows % self.size
        batches = [b for start in range(0, cut, self.size)
                   for b in rows.slice(start, min(self.size, cut - start)).combine_chunks().to_batches()]
        rest = rows.slice(cut)
        self._tables, self.n = ([rest] if rest.num_rows else []), rest.num_rows
        return batches


def sidecar_path(path: str | os.PathLike[str]) -> Path:
    """``name.arrow`` -> ``name.batches.parquet``."""
    p = Path(path)
    return p.with_name(p.name.removesuffix(".arrow") + ".batches.parquet")


class PositionBatchWriter:
    """Writes rows sorted by (chromosome, ``pos``) as batches of ``batch_rows`` rows cut from the start of each
    chromosome (its last batch shorter), one chromosome per batch. The rows may come in any number of
    :meth:`write` calls; a chromosome may span several."""

    def __init__(self, path: str | os.PathLike[str], schema: pa.Schema, batch_rows: int = BATCH_ROWS):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.batch_rows = batch_rows
        self._writer = pa.ipc.new_file(self.path, schema, options=_OPTIONS)
        self._ranges: list[tuple[int, str, int, int, int]] = []
        self._pending = PendingRows(batch_rows)
        self._chrom: str | None = None
        self._seen: set[str] = set()

    def write(self, table: pa.Table | pa.RecordBatch) -> None:
        """Append rows that continue the sorted order (a chromosome once left is not seen again)."""
        if isinstance(table, pa.RecordBatch):
            table = pa.Table.from_batches([table])
        if table.num_rows == 0:
            return
        chrom = table.column("chrom").combine_chunks()
        if chrom.null_count or table.column("pos").null_count:
            raise ValueError("a position file takes no row without a chromosome or a position")
        codes = pc.dictionary_encode(chrom)
        idx = codes.indices.to_numpy(zero_copy_only=False)
        names = codes.dictionary.to_pylist()
        cuts = np.concatenate([[0], np.flatnonzero(idx[1:] != idx[:-1]) + 1, [len(idx)]])
        for a, b in zip(cuts[:-1], cuts[1:], strict=True):
            name = names[idx[a]]
            if name != self._chrom:
                if name in self._seen:
                    raise ValueError(f"chromosome {name} comes back after another: the rows of a position file "
                                     "must be sorted by chromosome")
                self._flush(final=True)
                self._chrom = name
                self._seen.add(name)
            self._pending.add(table.slice(int(a), int(b - a)))
            if self._pending.full():
                self._flush(final=False)

    def _flush(self, final: bool) -> None:
        for batch in self._pending.take(final):
            pos = batch.column(batch.schema.get_field_index("pos"))
            self._writer.write_batch(batch)
            self._ranges.append((len(self._ranges), str(self._chrom), int(pc.min(pos).as_py()),
                                 int(pc.max(pos).as_py()), batch.num_rows))

    def close(self) -> Path:
        self._flush(final=True)
        self._writer.close()
        cols = list(zip(*self._ranges, strict=True)) if self._ranges else [[], [], [], [], []]
        sidecar = pa.table({"batch": pa.array(cols[0], pa.int64()), "chrom": pa.array(cols[1], pa.string()),
                            "pos_min": pa.array(cols[2], pa.int64()), "pos_max": pa.array(cols[3], pa.int64()),
                            "n_rows": pa.array(cols[4], pa.int64())})
        pq.write_table(sidecar, sidecar_path(self.path))
        return self.path


class KeyedBatchWriter:
    """Writes tables sorted by the string column ``key`` as batches of at most ``batch_rows`` rows, with a
    sidecar of each batch's ``part``, first and last key (buffers compressed with ``compression``: lz4, zstd or
    None).

    Each :meth:`write` may name a ``part`` (a tissue, say): the rows of one part are sorted by key, and a
    look-up searches the batches of each part on its own, so parts can be written one after the other
    without holding them all in memory.
    """

    def __init__(self, path: str | os.PathLike[str], schema: pa.Schema, key: str, batch_rows: int = 4096,
                 compression: str | None = "lz4"):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.schema, self.key, self.batch_rows = schema, key, int(batch_rows)
        self._writer = pa.ipc.new_file(self.path, schema, options=pa.ipc.IpcWriteOptions(compression=compression))
        self._ranges: tuple[list, list, list, list] = ([], [], [], [])

    def write(self, table: pa.Table, part: str | None = None) -> None:
        """Append ``table`` (sorted by the key) as batches of ``part``."""
        table = table.select(self.schema.names).cast(self.schema)
        for batch in table.combine_chunks().to_batches(max_chunksize=self.batch_rows):
            if batch.num_rows == 0:
                continue
            keys = batch.column(batch.schema.get_field_index(self.key))
            self._writer.write_batch(batch)
            for column, value in zip(self._ranges, (part, keys[0].as_py(), keys[batch.num_rows - 1].as_py(),
                                                    batch.num_rows), strict=True):
                column.append(value)

    def close(self, metadata: dict[bytes, bytes] | None = None) -> Path:
        """Finish the file and write its sidecar (with ``metadata`` in the sidecar's schema)."""
        self._writer.close()
        parts, mins, maxs, rows = self._ranges
        sidecar = pa.table({"batch": pa.array(range(len(rows)), pa.int64()), "part": pa.array(parts, pa.string()),
                            "key_min": pa.array(mins, pa.string()), "key_max": pa.array(maxs, pa.string()),
                            "n_rows": pa.array(rows, pa.int64())})
        pq.write_table(sidecar.replace_schema_metadata(metadata), sidecar_path(self.path))
        return self.path


def write_keyed_batches(table: pa.Table, key: str, path: str | os.PathLike[str], batch_rows: int = 4096) -> Path:
    """Write ``table`` (sorted by the string column ``key``) as batches of ``batch_rows`` rows, with a sidecar
    of each batch's first and last key (:class:`KeyedBatchWriter` with one part)."""
    writer = KeyedBatchWriter(path, table.schema, key, batch_rows)
    writer.write(table)
    return writer.close()


#: Sidecar metadata key of a run file's batch size (rows).
RUN_BATCH_ROWS_KEY = b"qtlatlas.batch_rows"


class RunBatchWriter:
    """Writes rows in runs of one ``key`` (and ``part``) value each, as batches of exactly ``batch_rows`` rows
    (the last one excepted), with a sidecar of runs (see the module docstring).

    Each :meth:`write` call takes rows whose equal (key, part) values are adjacent; a (key, part) may recur in
    a later call (a second run, listed in the sidecar after the first). Missing keys are refused.
    ``compression``: of the IPC buffers (``lz4`` decodes fastest, ``zstd`` is ~30 % smaller).
    """

    def __init__(self, path: str | os.PathLike[str], schema: pa.Schema, key: str, part: str | None = None,
                 batch_rows: int = BATCH_ROWS, compression: str = "lz4"):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.schema, self.key, self.part, self.batch_rows = schema, key, part, int(batch_rows)
        if self.batch_rows < 1:
            raise ValueError("batch_rows must be at least 1")
        self._writer = pa.ipc.new_file(self.path, schema, options=pa.ipc.IpcWriteOptions(compression=compression))
        self._pending = PendingRows(self.batch_rows)
        self._n_rows = 0
        self._runs: tuple[list, list, list, list] = ([], [], [], [])

    def _run_starts(self, table: pa.Table) -> np.ndarray:
        """Row numbers where a new (key, part) run starts, and the table's length at the end."""
        n = table.num_rows
        change = np.zeros(max(n - 1, 0), dtype=bool)
        for name in filter(None, (self.key, self.part)):
            col = table.column(name).combine_chunks()
            if name == self.key and col.null_count:
                raise ValueError(f"{self.path.name}: the key column {name!r} has missing values")
            if n > 1:
                differs = pc.not_equal(col.slice(1), col.slice(0, n - 1))
                # a change to or from a missing part counts too
                nulls = pc.not_equal(pc.is_null(col.slice(1)), pc.is_null(col.slice(0, n - 1)))
                change |= pc.fill_null(pc.or_(differs, nulls), False).to_numpy(zero_copy_only=False)
        return np.concatenate([[0], np.flatnonzero(change) + 1, [n]]).astype(np.int64)

    def write(self, table: pa.Table) -> None:
        """Append rows (the runs of ``table`` in order)."""
        table = table.select(self.schema.names).cast(self.schema)
        if table.num_rows == 0:
            return
        starts = self._run_starts(table)
        keys = table.column(self.key).take(pa.array(starts[:-1])).to_pylist()
        parts = (table.column(self.part).take(pa.array(starts[:-1])).to_pylist() if self.part
                 else [None] * (len(starts) - 1))
        for k, p, a, b in zip(keys, parts, starts[:-1], starts[1:], strict=True):
            for column, value in zip(self._runs, (k, p, self._n_rows + int(a), int(b - a)), strict=True):
                column.append(value)
        self._n_rows += table.num_rows
        self._pending.add(table)
        if self._pending.full():
            self._flush(final=False)

    def _flush(self, final: bool) -> None:
        for batch in self._pending.take(final):
            self._writer.write_batch(batch)

    def close(self) -> Path:
        self._flush(final=True)
        self._writer.close()
        keys, parts, first, n = self._runs
        sidecar = pa.table({"key": pa.array(keys, pa.string()), "part": pa.array(parts, pa.string()),
                            "first_row": pa.array(first, pa.int64()), "n_rows": pa.array(n, pa.int64())})
        sidecar = sidecar.sort_by([("key", "ascending"), ("part", "ascending"), ("first_row", "ascending")])
        sidecar = sidecar.replace_schema_metadata({RUN_BATCH_ROWS_KEY: str(self.batch_rows).encode()})
        pq.write_table(sidecar, sidecar_path(self.path))
        return self.path
