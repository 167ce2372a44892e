"""Position look-ups in ``associations_by_position`` (see :mod:`qtlatlas.release.batched`), without SQL.

The file holds the rows sorted by chromosome then position, in batches of one chromosome each; the sidecar
gives each batch's chromosome and position range. A look-up decodes only the batches that can hold the
position or region — a fraction of a millisecond each — where a SQL engine re-examines the statistics of
every row group of a Parquet file at each query (which at tens of millions of rows costs more than the
read), and Parquet's footer would have to stay in memory.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .batched import BatchedFile


class PositionalTable:
    """Batches of one position file indexed by chromosome and position range (thread-safe)."""

    def __init__(self, path: str):
        self.file = BatchedFile(path)
        self.schema: pa.Schema = self.file.schema
        r = self.file.ranges
        batch, lo, hi = (r.column(c).to_numpy() for c in ("batch", "pos_min", "pos_max"))
        chrom = np.asarray(r.column("chrom").to_pylist(), dtype=object)
        self._groups: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        for c in dict.fromkeys(chrom):
            sel = chrom == c
            self._groups[str(c)] = (batch[sel].astype(np.int64), lo[sel].astype(np.int64), hi[sel].astype(np.int64))

    def groups(self, chroms: Iterable[str], start: int, end: int) -> list[int]:
        """Batches (in file order) of ``chroms`` whose position range meets ``[start, end]``."""
        out: list[int] = []
        for c in chroms:
            found = self._groups.get(c)
            if found is None:
                continue
            ids, lo, hi = found
            out.extend(int(g) for g in ids[(hi >= start) & (lo <= end)])
        return sorted(out)

    @staticmethod
    def _mask(batch: pa.RecordBatch, start: int, end: int, equal: dict[str, Iterable],
              exclude: dict[str, Iterable] | None = None) -> pa.Array:
        pos = batch.column(batch.schema.get_field_index("pos"))
        mask = pc.and_(pc.greater_equal(pos, start), pc.less_equal(pos, end))
        for column, values in equal.items():
            col = batch.column(batch.schema.get_field_index(column))
            mask = pc.and_(mask, pc.is_in(col, value_set=pa.array(list(values), pa.string())))
        for column, values in (exclude or {}).items():
            col = batch.column(batch.schema.get_field_index(column))
            found = pc.fill_null(pc.is_in(col, value_set=pa.array(sorted(values), pa.string())), False)
            mask = pc.and_(mask, pc.invert(found))
        return mask

    def read(self, chroms: Iterable[str], start: int, end: int, equal: dict[str, Iterable] | None = None,
             columns: list[str] | None = None, exclude: dict[str, Iterable] | None = None) -> pa.Table:
        """Rows with ``start ≤ pos ≤ end`` on ``chroms``, for each ``equal`` column a value in its set and for
        each ``exclude`` column a value outside its set; in file order, ``columns`` only (all when None)."""
        equal = equal or {}
        names = columns or self.schema.names
        parts = []
        for g in self.groups(chroms, start, end):
            b = self.file.batch(g)
            parts.append(b.filter(self._mask(b, start, end, equal, exclude)).select(names))
        if not parts:
            return self.schema.empty_table().select(names)
        return pa.Table.from_batches(parts)

    def page(self, chroms: Iterable[str], start: int, end: int, equal: dict[str, Iterable] | None, offset: int,
             limit: int, columns: list[str], exclude: dict[str, Iterable] | None = None) -> tuple[pa.Table, int]:
        """``(rows, total)``: the ``limit`` matching rows (as :meth:`read`) from ``offset`` on (file order), and
        the number of matching rows."""
        equal = equal or {}
        total, taken, parts = 0, 0, []
        for g in self.groups(chroms, start, end):
            b = self.file.batch(g)
            mask = self._mask(b, start, end, equal, exclude)
            n = int(pc.sum(mask).as_py() or 0)
            if n and total + n > offset and taken < limit:
                rows = b.filter(mask).select(columns)
                skip = max(offset - total, 0)
                part = rows.slice(skip, limit - taken)
                parts.append(part)
                taken += part.num_rows
            total += n
        rows = pa.Table.from_batches(parts) if parts else self.schema.empty_table().select(columns)
        return rows, total
