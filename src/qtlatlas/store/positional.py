"""Position look-ups in a Parquet table sorted by (chromosome, position), without SQL.

``associations_by_position`` is sorted by chromosome then position and each of its row groups holds one
chromosome. The chromosome and position range of every row group are read once from the footer
statistics; a look-up then decodes only the row groups that can hold the position or region. A SQL engine
re-examines the statistics of every row group at each query, which at tens of millions of rows costs more
than the read itself.

One :class:`pyarrow.parquet.FileMetaData` is shared by all threads (each thread has its own file handle), so
memory does not grow with the number of threads.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq


def _stat_text(value) -> str:
    return value if isinstance(value, str) else bytes(value).decode()


class PositionalTable:
    """Row groups of one table indexed by chromosome and position range (thread-safe).

    ``usable`` is False when a row group lacks statistics or spans several chromosomes (then the caller
    queries the table another way).
    """

    def __init__(self, path: str):
        self.path = path
        f = pq.ParquetFile(path)
        self.meta = f.metadata
        self.schema: pa.Schema = f.schema_arrow
        self.usable = "chrom" in self.schema.names and "pos" in self.schema.names
        self._groups: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._rows = np.zeros(self.meta.num_row_groups, dtype=np.int64)
        if self.usable:
            self._index()
        self._local = threading.local()

    def _index(self) -> None:
        ci, pi = self.schema.get_field_index("chrom"), self.schema.get_field_index("pos")
        per_chrom: dict[str, list[tuple[int, int, int]]] = {}
        for g in range(self.meta.num_row_groups):
            rg = self.meta.row_group(g)
            self._rows[g] = rg.num_rows
            if rg.num_rows == 0:
                continue
            cs, ps = rg.column(ci).statistics, rg.column(pi).statistics
            if cs is None or ps is None or not cs.has_min_max or not ps.has_min_max or cs.null_count or ps.null_count:
                self.usable = False
                return
            chrom = _stat_text(cs.min)
            if chrom != _stat_text(cs.max):
                self.usable = False
                return
            per_chrom.setdefault(chrom, []).append((g, int(ps.min), int(ps.max)))
        for chrom, groups in per_chrom.items():
            arr = np.array(groups, dtype=np.int64)
            self._groups[chrom] = (arr[:, 0], arr[:, 1], arr[:, 2])

    def _file(self) -> pq.ParquetFile:
        f = getattr(self._local, "file", None)
        if f is None:
            f = self._local.file = pq.ParquetFile(self.path, metadata=self.meta)
        return f

    def groups(self, chroms: Iterable[str], start: int, end: int) -> list[int]:
        """Row groups (in file order) of ``chroms`` whose position range meets ``[start, end]``."""
        out: list[int] = []
        for c in chroms:
            found = self._groups.get(c)
            if found is None:
                continue
            ids, lo, hi = found
            out.extend(int(g) for g in ids[(hi >= start) & (lo <= end)])
        return sorted(out)

    def _mask(self, table: pa.Table, start: int, end: int, equal: dict[str, Iterable]) -> pa.ChunkedArray:
        pos = table.column("pos")
        mask = pc.and_(pc.greater_equal(pos, start), pc.less_equal(pos, end))
        for column, values in equal.items():
            mask = pc.and_(mask, pc.is_in(table.column(column), value_set=pa.array(list(values), pa.string())))
        return mask

    def read(self, chroms: Iterable[str], start: int, end: int, equal: dict[str, Iterable] | None = None,
             columns: list[str] | None = None) -> pa.Table:
        """Rows with ``start ≤ pos ≤ end`` on ``chroms`` and, for each ``equal`` column, a value in its set;
        in file order, ``columns`` only (all when None)."""
        equal = equal or {}
        groups = self.groups(chroms, start, end)
        names = columns or self.schema.names
        needed = list(dict.fromkeys([*names, "pos", *equal]))
        parts = []
        for g in groups:
            t = self._file().read_row_group(g, columns=needed)
            parts.append(t.filter(self._mask(t, start, end, equal)).select(names))
        return pa.concat_tables(parts) if parts else self.schema.empty_table().select(names)

    def page(self, chroms: Iterable[str], start: int, end: int, equal: dict[str, Iterable] | None, offset: int,
             limit: int, columns: list[str]) -> tuple[pa.Table, int]:
        """``(rows, total)``: the ``limit`` matching rows from ``offset`` on (file order), and the number of
        matching rows. Only the key columns are decoded where no row of the page lies."""
        equal = equal or {}
        keys = list(dict.fromkeys(["pos", *equal]))
        total, parts = 0, []
        for g in self.groups(chroms, start, end):
            t = self._file().read_row_group(g, columns=keys)
            mask = self._mask(t, start, end, equal)
            n = int(pc.sum(mask).as_py() or 0)
            if n and total + n > offset and sum(p.num_rows for p in parts) < limit:
                full = self._file().read_row_group(g, columns=list(dict.fromkeys([*columns, *keys])))
                rows = full.filter(mask).select(columns)
                skip = max(offset - total, 0)
                want = limit - sum(p.num_rows for p in parts)
                parts.append(rows.slice(skip, want))
            total += n
        rows = pa.concat_tables(parts) if parts else self.schema.empty_table().select(columns)
        return rows, total
