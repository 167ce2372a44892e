"""Opening tabular text files: plain or gzip/bgzip, tab- or whitespace-separated."""

from __future__ import annotations

import gzip
import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import pandas as pd

from ..errors import InputFileError


def open_text(path: str) -> IO[str]:
    """Open ``path`` for reading text, decompressing gzip/bgzip transparently (sniffed, not by name)."""
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rt")
    return open(path)


def first_line(path: str) -> str:
    """The first line of a text file without its line ending ('' for an empty file)."""
    try:
        with open_text(path) as fh:
            return fh.readline().rstrip("\n\r")
    except (OSError, EOFError, UnicodeDecodeError) as e:
        raise InputFileError(path, f"cannot read file ({e})") from None


def split_fields(line: str) -> list[str]:
    """Split a header line on tabs, or on whitespace when it has no tab (older QTLtools files)."""
    return line.split("\t") if "\t" in line else line.split()


def separator_of(line: str) -> str:
    """The ``pandas.read_csv`` separator matching :func:`split_fields` for this line."""
    return "\t" if "\t" in line else r"\s+"


@contextmanager
def gzip_text_writer(path: str | os.PathLike[str]) -> Iterator[IO[str]]:
    """A text handle writing gzip to ``path`` with no file name or time in the header, so that equal
    content gives byte-identical files (whatever the file's name or the clock)."""
    with gzip_binary_writer(path) as gz, io.TextIOWrapper(gz, encoding="utf-8", newline="") as fh:
        yield fh


@contextmanager
def gzip_binary_writer(path: str | os.PathLike[str], level: int = 6) -> Iterator[IO[bytes]]:
    """As :func:`gzip_text_writer`, for bytes, at compression ``level`` (1 fastest … 9 smallest)."""
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=level) as gz:
        yield gz


def tsv_bytes(frame: pd.DataFrame, header: bool = True) -> bytes:
    """``frame`` as TSV bytes in tensorQTL's text format — floats with 6 significant digits, ``NA`` for a
    missing value, no quotes — formatted column by column (several times faster than ``DataFrame.to_csv``
    with a float format, for the millions of rows of pair tables)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    columns = {}
    for name in frame.columns:
        col = frame[name]
        if col.dtype.kind == "f":
            values = col.to_numpy(np.float64).tolist()
            columns[str(name)] = pa.array(["NA" if v != v else f"{v:.6g}" for v in values], pa.string())
        else:
            arr = pa.array(col, from_pandas=True)
            if not pa.types.is_string(arr.type):
                arr = arr.cast(pa.string())
            columns[str(name)] = arr.fill_null("NA")
    table = pa.table(columns)
    buffer = io.BytesIO()
    pacsv.write_csv(table, buffer, pacsv.WriteOptions(include_header=header, delimiter="\t", quoting_style="none",
                                                      quoting_header="none"))
    return buffer.getvalue()


def write_tsv_gz(table: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write ``table`` as gzipped TSV with 6 significant digits (tensorQTL's format) and ``NA`` for missing
    values, atomically (written beside, then renamed) and deterministically."""
    path = Path(path)
    tmp = path.with_name(path.name + ".part")
    with gzip_text_writer(tmp) as fh:
        table.to_csv(fh, sep="\t", index=False, float_format="%.6g", na_rep="NA", lineterminator="\n")
    os.replace(tmp, path)
    return path
