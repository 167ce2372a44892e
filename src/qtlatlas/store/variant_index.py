"""Look-ups by variant id through a release's ``variant_index`` table, without SQL.

The index is sorted by ``variant_key`` (the lower-cased id) in small row groups (see
:func:`qtlatlas.release.tables.write_variant_index`). The smallest key of each row group comes from the
Parquet footer statistics, once; a look-up then bisects those keys and decodes the one row group that can hold
the id — about a millisecond whatever the number of variants, where a SQL query costs several.
"""

from __future__ import annotations

import bisect
import threading

import numpy as np
import pyarrow.parquet as pq

#: Columns a release's index must have for this reader (older releases are queried with SQL instead).
REQUIRED = ("variant_key", "variant_id", "chrom", "pos", "ref", "alt", "af", "same_position")


class VariantIndexReader:
    """Exact and case-insensitive id look-ups in one ``variant_index.parquet`` (thread-safe)."""

    def __init__(self, path: str):
        self.path = path
        meta = pq.ParquetFile(path).metadata
        names = meta.schema.to_arrow_schema().names
        self.usable = all(c in names for c in REQUIRED)
        key = names.index("variant_key") if "variant_key" in names else -1
        self._min_keys: list[str] = []
        if self.usable:
            for i in range(meta.num_row_groups):
                stats = meta.row_group(i).column(key).statistics
                if stats is None or not stats.has_min_max:
                    self.usable = False
                    break
                self._min_keys.append(stats.min if isinstance(stats.min, str) else bytes(stats.min).decode())
        self._local = threading.local()

    def _file(self) -> pq.ParquetFile:
        f = getattr(self._local, "file", None)
        if f is None:
            f = self._local.file = pq.ParquetFile(self.path)
        return f

    def lookup(self, variant: str) -> dict | None:
        """The row of ``variant`` (an exact id match first, else the first id equal ignoring case), as a
        dict of :data:`REQUIRED` minus ``variant_key``; None when absent."""
        key = variant.lower()
        first = bisect.bisect_left(self._min_keys, key) - 1  # the group before may end with this key
        for group in range(max(first, 0), len(self._min_keys)):
            if self._min_keys[group] > key:
                break
            table = self._file().read_row_group(group)
            keys = table.column("variant_key").to_numpy(zero_copy_only=False)
            lo, hi = np.searchsorted(keys, key, side="left"), np.searchsorted(keys, key, side="right")
            if lo == hi:
                if hi < len(keys):
                    break  # the key sorts inside this group and is absent
                continue
            rows = table.slice(int(lo), int(hi - lo)).to_pylist()
            exact = [r for r in rows if r["variant_id"] == variant]
            row = (exact or sorted(rows, key=lambda r: r["variant_id"]))[0]
            row.pop("variant_key", None)
            row["same_position"] = list(row.get("same_position") or [])
            return row
        return None
