"""Out-of-core sorting and joining for a release build: a DuckDB connection over the build's scratch files,
with a fixed memory limit and spilling to the scratch directory, so that what grows with a release (variants,
significant pairs) passes through disk instead of memory.

Every query reads scratch Parquet files and is streamed back in Arrow record batches (:func:`stream`); the
writers of the release files take those batches one at a time (:class:`RowGroupWriter` cuts Parquet row
groups of a fixed size from them). A sort is always of one scratch file: joins and unions are written to a
file first (:func:`copy_to_parquet`), because DuckDB (2.0) cannot spill the sort of a union's result and
fails with out of memory instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from ..io.chromosomes import chrom_sort_key
from .batched import PendingRows

#: DuckDB's memory limit during a build (sorts and joins beyond it spill to the scratch directory). Set
#: ``QTLATLAS_BUILD_SQL_MEMORY`` (e.g. ``1GB``) to change it.
MEMORY_LIMIT = "256MB"
#: Rows per record batch read back from a query.
STREAM_ROWS = 65_536


def connect(scratch: str | os.PathLike[str]) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection that spills to ``scratch/duckdb`` beyond :data:`MEMORY_LIMIT`."""
    spill = Path(scratch) / "duckdb"
    spill.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(":memory:")
    limit = os.environ.get("QTLATLAS_BUILD_SQL_MEMORY", MEMORY_LIMIT)
    con.execute(f"SET memory_limit = '{limit}'")
    con.execute(f"SET temp_directory = '{_quote(spill)}'")
    con.execute(f"SET threads = {max(1, min(4, os.cpu_count() or 1))}")
    con.execute("SET preserve_insertion_order = false")  # results without ORDER BY may come in any order
    return con


def parquet(path: str | os.PathLike[str] | Iterable[str | os.PathLike[str]]) -> str:
    """SQL of a ``read_parquet`` over one file or a list of files."""
    if isinstance(path, (str, os.PathLike)):
        return f"read_parquet('{_quote(path)}')"
    return "read_parquet([" + ", ".join(f"'{_quote(p)}'" for p in path) + "])"


def _quote(path: str | os.PathLike[str]) -> str:
    return str(path).replace("'", "''")


def stream(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None,
           rows: int = STREAM_ROWS) -> Iterator[pa.RecordBatch]:
    """The result of ``sql`` as record batches of at most ``rows`` rows (empty batches skipped)."""
    # a relation's reader keeps the ORDER BY (DuckDB 2's reader over a DB-API result may not)
    relation = con.sql(sql, params=params or None)
    reader = relation.to_arrow_reader(rows) if hasattr(relation, "to_arrow_reader") else relation.fetch_record_batch(rows)
    for batch in reader:
        if batch.num_rows:
            yield batch


def query_table(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> pa.Table:
    """The whole result of ``sql`` as an Arrow table (for small results)."""
    batches = list(stream(con, sql, params))
    if batches:
        return pa.Table.from_batches(batches)
    relation = con.sql(f"SELECT * FROM ({sql}) LIMIT 0", params=params or None)
    return relation.to_arrow_table() if hasattr(relation, "to_arrow_table") else relation.arrow()


def copy_to_parquet(con: duckdb.DuckDBPyConnection, sql: str, dest: str | os.PathLike[str],
                    params: list | None = None) -> Path:
    """Write the result of ``sql`` to the scratch Parquet file ``dest`` (lz4: written and read once)."""
    con.execute(f"COPY ({sql}) TO '{_quote(dest)}' (FORMAT parquet, COMPRESSION lz4)", params or [])
    return Path(dest)


def chrom_ranks(chroms: Iterable[str]) -> pa.Table:
    """``chrom, chrom_rank``: each name's rank in natural chromosome order (1..22, X, Y, MT, others)."""
    names = sorted({str(c) for c in chroms}, key=chrom_sort_key)
    return pa.table({"chrom": pa.array(names, pa.string()), "chrom_rank": pa.array(range(len(names)), pa.int64())})


class SpoolWriter:
    """An append-only scratch Parquet data set (lz4: written and read once) as a list of files, a new file every
    :data:`ROW_GROUPS_PER_FILE` writes: a Parquet writer keeps the metadata of every row group it wrote until it
    closes (~1 KB per column per row group), which for millions of small batches would grow with the data."""

    #: Writes (row groups) per file.
    ROW_GROUPS_PER_FILE = 256

    def __init__(self, stem: Path, schema: pa.Schema):
        self.stem, self.schema = stem, schema
        self.paths: list[Path] = []
        self._writer: pq.ParquetWriter | None = None
        self._groups = 0

    def write(self, table: pa.Table) -> None:
        if self._writer is None or self._groups >= self.ROW_GROUPS_PER_FILE:
            self.close()
            path = self.stem.with_name(f"{self.stem.name}.{len(self.paths)}.parquet")
            self._writer = pq.ParquetWriter(path, self.schema, compression="lz4")
            self.paths.append(path)
            self._groups = 0
        self._writer.write_table(table)
        self._groups += 1

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class RowGroupWriter:
    """A Parquet file written from a stream of batches in row groups of exactly ``row_group_size`` rows, each
    run of rows closed by :meth:`flush` ending with one shorter row group (as ``pq.write_table`` of that run
    would cut it)."""

    def __init__(self, path: str | os.PathLike[str], schema: pa.Schema, row_group_size: int,
                 compression: str = "zstd"):
        self.schema, self.row_group_size = schema, int(row_group_size)
        self._writer = pq.ParquetWriter(path, schema, compression=compression)
        self._pending = PendingRows(self.row_group_size)

    def write(self, table: pa.Table | pa.RecordBatch) -> None:
        if isinstance(table, pa.RecordBatch):
            table = pa.Table.from_batches([table])
        self._pending.add(table.select(self.schema.names).cast(self.schema))
        if self._pending.full():
            self._write(final=False)

    def flush(self) -> None:
        """Write the rows held back (a row group shorter than ``row_group_size``)."""
        self._write(final=True)

    def _write(self, final: bool) -> None:
        batches = self._pending.take(final)
        if batches:
            self._writer.write_table(pa.Table.from_batches(batches), row_group_size=self.row_group_size)

    def close(self) -> None:
        self.flush()
        self._writer.close()
