"""Opening tabular text files: plain or gzip/bgzip, tab- or whitespace-separated."""

from __future__ import annotations

import gzip
from typing import IO

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
