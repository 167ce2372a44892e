"""Every tested pair of a release once more, by variant: the one-read PheWAS of a variant.

The all-pairs store of each tissue × modality (:mod:`.all_pairs`) is ordered by phenotype, so the pairs of one
variant lie in one row group per tissue × modality: a PheWAS over T tissue × modality reads T row groups
(~0.4 ms each with their decoding), which grows with the atlas (13 for RatGTEx, ~200 for a 33-tissue, 6-modality
atlas). ``tables/all_pairs/by_variant.arrow`` (:data:`BY_VARIANT_SCHEMA`) holds the same pairs sorted by
variant index, then tissue × modality (release order), then phenotype (its run in that tissue × modality's
store): a variant's pairs of every tissue × modality are a few consecutive rows, in one record batch (or two)
of :data:`BATCH_ROWS` rows found from the sidecar ``by_variant.batches.parquet`` (``batch, variant_first,
variant_last, n_rows``). An Arrow IPC file, not Parquet: its footer is a list of batch offsets, where a
Parquet footer would hold every column's metadata of ~40,000 row groups (23 MB at 1× RatGTEx).

Columns: ``variant_index``; ``target`` (0-based, into the ``tissue.modality`` list of the schema metadata
:data:`TARGETS_KEY`); ``run`` (the phenotype's row in that store's ``runs.parquet``); ``nlog10p, slope,
slope_se`` exactly as the store keeps them; ``af, ma_samples, ma_count`` of the variant in that tissue ×
modality's samples. Each record batch stores its float32 columns byte-stream split, as Parquet would: the
column's buffer holds the first bytes of every value, then the second bytes… (typed uint32 so the column keeps
its length; 20–30 % smaller once compressed than the floats; NaN where missing): :func:`split_floats` and
:func:`join_floats`. Value columns no store holds are named absent under :data:`~.all_pairs.PRESENT_KEY`.

Only a release of two or more tissue × modality stores gets this file (with one, a variant's pairs are one
row group of that store already). It costs 3.5 bytes per pair for p-values only (RatGTEx), ~6 with every
statistic.

Written with bounded memory (an external bucket sort): each store is streamed once and its rows routed to
spool files by variant-index window (windows sized for about :data:`WINDOW_ROWS` pairs); each window is
then sorted (stably, by variant index: the spools hold the stores in release order, each in run order) and
written.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .all_pairs import PRESENT_KEY, VALUE_COLUMNS, VARIANT_STATS_SCHEMA
from .batched import PendingRows, sidecar_path

#: Rows per record batch: a variant has ~15–20 tested phenotypes per tissue × modality, so a batch holds the
#: pairs of a few to a few tens of variants (a PheWAS decodes one, sometimes two: ~0.1 ms).
BATCH_ROWS = 4096
#: Pairs per sorting window (the memory bound of the build step: ~70 bytes per pair while sorted).
WINDOW_ROWS = 2_000_000
#: Spool files open at once (a window's rows may span several spool files).
OPEN_SPOOLS = 128
TARGETS_KEY = b"qtlatlas.targets"

#: The float32 columns, stored byte-stream split (:func:`split_floats`).
FLOAT_COLUMNS = ("nlog10p", "slope", "slope_se", "af")
BY_VARIANT_SCHEMA = pa.schema([
    ("variant_index", pa.int32()), ("target", pa.int16()), ("run", pa.int32()), ("ma_samples", pa.int32()),
    ("ma_count", pa.int32()), *[(c, pa.uint32()) for c in FLOAT_COLUMNS],
])


def split_floats(table: pa.Table | pa.RecordBatch) -> pa.Table:
    """One batch's rows with each float32 column of :data:`FLOAT_COLUMNS` byte-stream split (missing → NaN),
    in the order of :data:`BY_VARIANT_SCHEMA`."""
    out = {c: table.column(c) for c in BY_VARIANT_SCHEMA.names if c not in FLOAT_COLUMNS}
    for c in FLOAT_COLUMNS:
        values = table.column(c).to_numpy(zero_copy_only=False).astype(np.float32)
        planes = np.ascontiguousarray(values.view(np.uint8).reshape(-1, 4).T)
        out[c] = pa.array(planes.reshape(-1).view(np.uint32))
    return pa.table({name: out[name] for name in BY_VARIANT_SCHEMA.names})


def join_floats(batch: pa.RecordBatch | pa.Table) -> dict[str, np.ndarray]:
    """The float32 values (NaN where missing) of each column of :data:`FLOAT_COLUMNS` of one whole batch."""
    out = {}
    for c in FLOAT_COLUMNS:
        planes = batch.column(c).to_numpy(zero_copy_only=False).view(np.uint8).reshape(4, -1)
        out[c] = np.ascontiguousarray(planes.T).view(np.float32).reshape(-1)
    return out


_IPC_OPTIONS = pa.ipc.IpcWriteOptions(compression="zstd")
_READ_BATCH_ROWS = 1 << 17


@dataclass(frozen=True)
class Store:
    """The all-pairs store of one tissue × modality, as written by :class:`.all_pairs.AllPairsWriter`."""

    tissue: str
    modality: str
    pairs: Path
    runs: Path
    variant_stats: Path


def write_by_variant(stores: Sequence[Store], dest: Path, scratch: Path, variants: Path) -> int:
    """Write ``dest`` (and its sidecar) from ``stores`` (release order); ``variants`` is the Parquet table
    whose rows the stores' variant indices number. Spool files go to ``scratch`` and are removed. Returns the
    number of pairs written."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    n_variants = pq.read_metadata(variants).num_rows
    n_pairs = sum(pq.read_metadata(s.pairs).num_rows for s in stores)
    n_windows = max(1, math.ceil(n_pairs / WINDOW_ROWS))
    width = max(1, math.ceil(max(n_variants, 1) / n_windows))
    present: set[str] = set()
    spools = _WindowSpools(scratch, width)
    try:
        for target, store in enumerate(stores):
            mine = _present(store.runs)
            present |= mine
            _route(store, target, spools, mine)
        spools.close()
        metadata = {TARGETS_KEY: ",".join(f"{s.tissue}.{s.modality}" for s in stores).encode(),
                    PRESENT_KEY: ",".join(c for c in VALUE_COLUMNS if c in present).encode()}
        schema = BY_VARIANT_SCHEMA.with_metadata(metadata)
        ranges: list[tuple[int, int, int]] = []
        pending = PendingRows(BATCH_ROWS)

        def flush(final: bool) -> None:
            for batch in pending.take(final):
                index = batch.column(0)
                ranges.append((index[0].as_py(), index[-1].as_py(), batch.num_rows))
                writer.write_table(split_floats(batch).cast(schema))

        with pa.ipc.new_file(str(dest), schema, options=_IPC_OPTIONS) as writer:
            for window in spools.windows():
                table = spools.read(window)
                order = np.argsort(table.column("variant_index").to_numpy(), kind="stable")
                table = _with_stats(table.take(pa.array(order)), stores, window * width, (window + 1) * width)
                pending.add(table)
                flush(final=False)
            flush(final=True)
    finally:
        spools.remove()
    first, last, n = (list(c) for c in zip(*ranges, strict=True)) if ranges else ([], [], [])
    pq.write_table(pa.table({"batch": pa.array(range(len(n)), pa.int64()), "variant_first": pa.array(first, pa.int64()),
                             "variant_last": pa.array(last, pa.int64()), "n_rows": pa.array(n, pa.int64())}),
                   sidecar_path(dest))
    return sum(n)


def _present(runs: Path) -> set[str]:
    named = (pq.read_schema(runs).metadata or {}).get(PRESENT_KEY)
    return set(VALUE_COLUMNS) if named is None else set(named.decode().split(",")) - {""}


def _route(store: Store, target: int, spools: _WindowSpools, present: set[str]) -> None:
    """Stream one store's pairs (with the run of each row) into the window spools."""
    runs = pq.read_table(store.runs, columns=["first_row", "n_rows", "variant_first", "variant_last"])
    first_row = runs.column("first_row").to_numpy()
    n_rows = runs.column("n_rows").to_numpy()
    dense = n_rows == runs.column("variant_last").to_numpy() - runs.column("variant_first").to_numpy() + 1
    variant_first = runs.column("variant_first").to_numpy()
    values = [c for c in ("nlog10p", "slope", "slope_se") if c in present]
    columns = values + (["variant_index"] if not dense.all() else [])
    start = 0
    for batch in pq.ParquetFile(store.pairs).iter_batches(batch_size=_READ_BATCH_ROWS, columns=columns or None):
        rows = np.arange(start, start + batch.num_rows, dtype=np.int64)
        start += batch.num_rows
        run = np.searchsorted(first_row, rows, side="right") - 1
        if "variant_index" in columns:
            index = batch.column("variant_index").to_numpy(zero_copy_only=False).astype(np.int64)
        else:
            index = variant_first[run] + (rows - first_row[run])
        out = {"variant_index": pa.array(index.astype(np.int32)),
               "target": pa.array(np.full(len(rows), target, np.int16)),
               "run": pa.array(run.astype(np.int32))}
        for c in ("nlog10p", "slope", "slope_se"):
            out[c] = batch.column(c) if c in values else pa.nulls(len(rows), pa.float32())
        spools.write(pa.table(out), index)


def _with_stats(table: pa.Table, stores: Sequence[Store], lo: int, hi: int) -> pa.Table:
    """``table`` (one window's rows, variant indices in ``[lo, hi)``) with ``af, ma_samples, ma_count`` of each
    row's variant in its tissue × modality, read from each store's dense per-variant table."""
    target = table.column("target").to_numpy()
    index = table.column("variant_index").to_numpy().astype(np.int64)
    parts, positions = [], []
    for t in np.unique(target).tolist():
        sel = np.flatnonzero(target == t)
        if _present(stores[t].runs) & set(VARIANT_STATS_SCHEMA.names):
            stats = _stats_rows(stores[t].variant_stats, lo, int(index[sel].max()) + 1)
            parts.append(stats.take(pa.array(index[sel] - lo)).cast(VARIANT_STATS_SCHEMA))
        else:
            parts.append(pa.table({f.name: pa.nulls(len(sel), f.type) for f in VARIANT_STATS_SCHEMA}))
        positions.append(sel)
    stats = pa.concat_tables(parts).take(pa.array(np.argsort(np.concatenate(positions), kind="stable")))
    for name in VARIANT_STATS_SCHEMA.names:
        table = table.append_column(name, stats.column(name))
    return table


def _stats_rows(path: Path, lo: int, hi: int) -> pa.Table:
    """Rows ``lo .. hi - 1`` (variant indices) of a dense per-variant statistics file."""
    f = pq.ParquetFile(path)
    md = f.metadata
    bounds = np.cumsum([0] + [md.row_group(i).num_rows for i in range(md.num_row_groups)])
    first = int(np.searchsorted(bounds, lo, side="right") - 1)
    last = int(np.searchsorted(bounds, hi - 1, side="right") - 1)
    table = f.read_row_groups(list(range(first, last + 1)), columns=VARIANT_STATS_SCHEMA.names)
    return table.slice(lo - int(bounds[first]), hi - lo)


class _WindowSpools:
    """Spool files of the rows of each window of ``width`` variant indices: Arrow IPC streams, at most
    :data:`OPEN_SPOOLS` open at once (a window written to again after its file was closed gets another part);
    a window's parts are read back in the order written."""

    def __init__(self, scratch: Path, width: int):
        self.dir = Path(scratch) / "all_pairs_by_variant"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.width = width
        self._open: dict[int, tuple[pa.OSFile, pa.ipc.RecordBatchStreamWriter]] = {}  # in order of last use
        self._parts: dict[int, list[Path]] = {}

    def write(self, table: pa.Table, index: np.ndarray) -> None:
        window = index // self.width
        order = np.argsort(window, kind="stable")
        window = window[order]
        table = table.take(pa.array(order))
        cuts = np.flatnonzero(np.diff(window)) + 1
        for a, b in zip(np.r_[0, cuts], np.r_[cuts, len(window)], strict=True):
            if b > a:
                self._writer(int(window[a]), table.schema).write_table(table.slice(int(a), int(b - a)))

    def _writer(self, window: int, schema: pa.Schema) -> pa.ipc.RecordBatchStreamWriter:
        if window in self._open:
            self._open[window] = self._open.pop(window)  # most recently used last
            return self._open[window][1]
        if len(self._open) >= OPEN_SPOOLS:
            self._close(next(iter(self._open)))
        parts = self._parts.setdefault(window, [])
        path = self.dir / f"{window:07d}.{len(parts):04d}.arrow"
        parts.append(path)
        sink = pa.OSFile(str(path), "wb")
        self._open[window] = (sink, pa.ipc.new_stream(sink, schema))
        return self._open[window][1]

    def _close(self, window: int) -> None:
        sink, writer = self._open.pop(window)
        writer.close()
        sink.close()

    def close(self) -> None:
        for window in list(self._open):
            self._close(window)

    def windows(self) -> list[int]:
        return sorted(self._parts)

    def read(self, window: int) -> pa.Table:
        tables = []
        for path in self._parts.pop(window):
            with pa.OSFile(str(path)) as f:
                tables.append(pa.ipc.open_stream(f).read_all())
            path.unlink()
        return pa.concat_tables(tables)

    def remove(self) -> None:
        self.close()
        for p in self.dir.glob("*.arrow"):
            p.unlink()
        self.dir.rmdir()
