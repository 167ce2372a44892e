"""The all-tissue QTL tables of a release: per modality, the per-tissue ``top_assoc`` / ``indep_assoc``
downloads of every tissue in one table, as RatGTEx offers its QTLs of all tissues.

An all-tissue file (``top_assoc.{modality}.{release}_{genome}.tsv.gz``, no tissue part; see
:mod:`qtlatlas.release.layout`) holds a leading ``tissue`` column, then the columns of the per-tissue files:
their union, in the order first seen (a column a tissue's file lacks reads ``NA`` in its rows). Values are the
per-tissue files' text, copied unchanged, tissue after tissue in the order the files were written, so the
all-tissue table has exactly the rows of the per-tissue files. Each per-tissue file is read in chunks of
:data:`CHUNK_ROWS` rows: memory stays bounded by one chunk of one tissue's table.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..io.text import gzip_text_writer

#: Kinds of per-tissue download gathered into an all-tissue table -> what a row is (for its description).
ALL_TISSUE_KINDS = {
    "top_assoc": "top cis-QTL per phenotype",
    "indep_assoc": "conditionally independent cis-QTLs",
}

#: Rows of a per-tissue file read at a time.
CHUNK_ROWS = 200_000

#: Missing-value text of the download tables (as :func:`qtlatlas.io.text.write_tsv_gz` writes them).
MISSING = "NA"


def header_of(path: str | os.PathLike[str]) -> list[str]:
    """The column names of a gzipped TSV (its first line)."""
    with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
        line = fh.readline().rstrip("\n").rstrip("\r")
    return line.split("\t") if line else []


def concatenate_tissues(parts: list[tuple[str, Path]], dest: str | os.PathLike[str]) -> int:
    """Write the per-tissue gzipped TSVs ``parts`` ((tissue id, path) in output order) as one gzipped TSV at
    ``dest``: a ``tissue`` column, then the union of their columns; returns the number of data rows.

    The file is written beside ``dest`` and renamed into place, so ``dest`` is either absent or complete."""
    columns: list[str] = []
    for _tissue, path in parts:
        columns += [c for c in header_of(path) if c not in columns and c != "tissue"]
    dest = Path(dest)
    tmp = dest.with_name(dest.name + ".part")
    n_rows = 0
    with gzip_text_writer(tmp) as out:
        out.write("\t".join(["tissue", *columns]) + "\n")
        for tissue, path in parts:
            if not header_of(path):
                continue  # an empty file: no rows
            for chunk in pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, na_filter=False,
                                     chunksize=CHUNK_ROWS):
                chunk = chunk.drop(columns=[c for c in chunk.columns if c == "tissue"])
                chunk = chunk.reindex(columns=columns, fill_value=MISSING)
                chunk.insert(0, "tissue", tissue)
                chunk.to_csv(out, sep="\t", index=False, header=False, lineterminator="\n")
                n_rows += len(chunk)
    os.replace(tmp, dest)
    return n_rows


@dataclass
class AllTissueTables:
    """Collects the per-tissue QTL downloads as the builder writes them and writes the all-tissue tables.

    ``parts``: (kind, modality) -> [(tissue, path of its per-tissue download)], in the order written;
    ``private``: tissues private at build, left out (the all-tissue tables are public downloads; see
    :mod:`qtlatlas.release.private_files`)."""

    parts: dict[tuple[str, str], list[tuple[str, Path]]] = field(default_factory=dict)
    private: frozenset[str] = frozenset()

    def add(self, kind: str, tissue: str, modality: str, path: Path) -> None:
        """Record the per-tissue download ``path`` of ``kind`` (one of :data:`ALL_TISSUE_KINDS`)."""
        if kind not in ALL_TISSUE_KINDS:
            raise ValueError(f"no all-tissue table of kind {kind!r}; kinds: {', '.join(ALL_TISSUE_KINDS)}")
        if tissue in self.private:
            return
        self.parts.setdefault((kind, modality), []).append((tissue, Path(path)))

    def write(self, download: Callable[..., Path]) -> dict[tuple[str, str], int]:
        """Write one all-tissue table per recorded kind × modality. ``download(kind, description, modality=…)``
        names and records a download (the builder's ``_download``) and returns its path. Returns the number
        of rows of each table by (kind, modality)."""
        rows = {}
        for (kind, modality), parts in self.parts.items():
            what = f"{modality} (the cross-modality xQTLs)" if modality == "cross_modality" else modality
            tissues = ", ".join(t for t, _ in parts)
            dest = download(kind, f"{ALL_TISSUE_KINDS[kind]} of {what}, every tissue in one table ({tissues}): "
                                  "a leading tissue column, then the per-tissue files' columns", modality=modality)
            rows[(kind, modality)] = concatenate_tissues(parts, dest)
        return rows
