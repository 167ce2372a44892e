"""The pairs of one variant in every tissue × modality, from the release's pairs-by-variant file (written by
:mod:`qtlatlas.release.all_pairs_by_variant`): one record batch read, whatever the number of tissues ×
modalities."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ..release.all_pairs import PRESENT_KEY, VALUE_COLUMNS
from ..release.all_pairs_by_variant import FLOAT_COLUMNS, TARGETS_KEY, join_floats
from .batched import BatchedFile


class PairsByVariant:
    """Random access to ``tables/all_pairs/by_variant.arrow`` (thread-safe). ``targets`` are the ``(tissue,
    modality)`` pairs its ``target`` column numbers; ``present`` the value columns that hold any value."""

    def __init__(self, path: str):
        self.file = BatchedFile(path)
        r = self.file.ranges
        self.batch = r.column("batch").to_numpy()
        self.first = r.column("variant_first").to_numpy()
        self.last = r.column("variant_last").to_numpy()
        meta = self.file.schema.metadata or {}
        named = meta.get(TARGETS_KEY, b"").decode()
        self.targets: list[tuple[str, str]] = [tuple(t.rsplit(".", 1)) for t in named.split(",") if t]
        present = meta.get(PRESENT_KEY)
        self.present = set(VALUE_COLUMNS) if present is None else set(present.decode().split(",")) - {""}

    def rows(self, variant_index: int) -> pa.Table:
        """Every pair of the variant: ``variant_index, target, run, ma_samples, ma_count`` and the float32
        ``nlog10p, slope, slope_se, af`` (NaN where missing), by target (release order), then run (phenotype
        order)."""
        lo = int(np.searchsorted(self.last, variant_index, side="left"))
        hi = int(np.searchsorted(self.first, variant_index, side="right"))
        parts = []
        for i in range(lo, hi):
            batch = self.file.batch(int(self.batch[i]))
            index = batch.column(0).to_numpy()
            a, b = np.searchsorted(index, variant_index, side="left"), np.searchsorted(index, variant_index, side="right")
            if b > a:
                floats = join_floats(batch)
                columns = {name: batch.column(name).slice(int(a), int(b - a)) for name in batch.schema.names
                           if name not in FLOAT_COLUMNS}
                columns.update({c: pa.array(floats[c][a:b]) for c in FLOAT_COLUMNS})
                parts.append(pa.table(columns))
        if not parts:
            return pa.table({"variant_index": pa.array([], pa.int32()), "target": pa.array([], pa.int16()),
                             "run": pa.array([], pa.int32()), "ma_samples": pa.array([], pa.int32()),
                             "ma_count": pa.array([], pa.int32()),
                             **{c: pa.array([], pa.float32()) for c in FLOAT_COLUMNS}})
        return pa.concat_tables(parts) if len(parts) > 1 else parts[0]

    def codes(self, targets: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """The ``target`` code of each of ``targets`` the file holds."""
        index = {t: i for i, t in enumerate(self.targets)}
        return {t: index[t] for t in targets if t in index}


def split_by_target(rows: pa.Table, codes: dict[tuple[str, str], int]) -> dict[tuple[str, str], pa.Table]:
    """The rows of :meth:`PairsByVariant.rows` of each target of ``codes`` that has any (slices: the rows are
    sorted by target)."""
    target = rows.column("target").to_numpy()
    out = {}
    for key, code in codes.items():
        a, b = np.searchsorted(target, code, side="left"), np.searchsorted(target, code, side="right")
        if b > a:
            out[key] = rows.slice(int(a), int(b - a))
    return out

