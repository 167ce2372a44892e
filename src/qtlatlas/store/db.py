"""DuckDB access shared by the release stores: one in-memory database, one cursor per thread.

A DuckDB connection must not be used by two threads at once; the portal runs its handlers in a thread
pool, so each thread gets its own cursor (:meth:`Database.cursor`) on one shared database (one buffer
pool, one memory limit). Every value that comes from a user reaches SQL as a bound parameter.

The hot look-ups (a gene, a variant, a pair, per-sample values) do not use DuckDB at all: they read the
release's look-up files. What remains (browsing QTLs across genes with filters and sorts, legacy releases)
may meet concurrent queries whose sum exceeds the buffer pool: the database spills to a private temporary
directory instead of failing the query, so no request fails because another one holds the memory.
"""

from __future__ import annotations

import tempfile
import threading

import duckdb
import pandas as pd

#: Defaults that keep a portal process small: DuckDB's buffer pool, and its threads per query (one: a server's
#: concurrency comes from its requests, and several threads per query would oversubscribe the cores).
MEMORY_LIMIT = "96MB"
THREADS = 1


class Database:
    """An in-memory DuckDB database that reads the release Parquet files with ``read_parquet``."""

    def __init__(self, memory_limit: str = MEMORY_LIMIT, threads: int = THREADS):
        self._con = duckdb.connect(":memory:")
        self._con.execute(f"SET memory_limit = '{memory_limit}'")
        self._con.execute(f"SET threads = {int(threads)}")
        self._spill = tempfile.TemporaryDirectory(prefix="qtlatlas-duckdb-")
        self._con.execute(f"SET temp_directory = '{self._spill.name}'")
        for setting in ("SET parquet_metadata_cache = true", "SET preserve_insertion_order = true"):
            try:
                self._con.execute(setting)
            except duckdb.Error:  # an older or newer DuckDB without the setting
                pass
        self._local = threading.local()
        self._lock = threading.Lock()

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """This thread's cursor (created on first use)."""
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            with self._lock:
                cur = self._con.cursor()
            self._local.cursor = cur
        return cur

    def df(self, sql: str, params: list | tuple = ()) -> pd.DataFrame:
        """Run ``sql`` with bound ``params`` and return the result as a DataFrame."""
        return self.cursor().execute(sql, list(params)).df()

    def rows(self, sql: str, params: list | tuple = ()) -> list[tuple]:
        return self.cursor().execute(sql, list(params)).fetchall()

    def scalar(self, sql: str, params: list | tuple = ()):
        row = self.cursor().execute(sql, list(params)).fetchone()
        return None if row is None else row[0]


def quote_identifier(identifier: str) -> str:
    """A validated column name as a quoted SQL identifier."""
    return '"' + identifier.replace('"', '""') + '"'


def placeholders(n: int) -> str:
    """``?, ?, ?`` for ``n`` bound values (``NULL`` when ``n`` is 0, so that ``IN (NULL)`` matches nothing)."""
    return ", ".join(["?"] * n) if n else "NULL"
