"""Deterministic file writers: bgzip + tabix, gzip without timestamps, tables as TSV and Parquet."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pysam


def write_bgzip(path: Path, text: str, preset: str | None = None) -> Path:
    """Write ``text`` bgzip-compressed to ``path`` (overwriting) and, with ``preset`` ('vcf', 'bed'),
    build its tabix index ``path.tbi``. BGZF blocks carry no timestamp, so output is reproducible."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with pysam.BGZFile(str(path), "wb3") as fh:  # compression level 3: 3x faster, ~6% larger
        fh.write(text.encode())
    if preset is not None:
        pysam.tabix_index(str(path), preset=preset, force=True)
    return path


def write_gzip(path: Path, text: str) -> Path:
    """Write ``text`` gzip-compressed with a zero mtime and no file name in the header."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as fh:
        fh.write(text.encode())
    return path


def write_text(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def write_table(path: Path, df: pd.DataFrame) -> Path:
    """Write ``df`` as ``path`` (.tsv) and the same name with ``.parquet``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, sep="\t", index=False, float_format="%.6g")
    df.to_parquet(path.with_suffix(".parquet"), index=False)
    return path


def format_rows(values: np.ndarray, fmt: str = "%.6g") -> list[str]:
    """Each row of a 2-D float array as tab-separated text, ``NA`` for NaN (much faster than pandas)."""
    return ["\t".join([fmt % x for x in row]).replace("nan", "NA") for row in values.tolist()]


def frame_text(df: pd.DataFrame, float_format: str = "%.6g", header: bool = True) -> str:
    """Tab-separated text of ``df`` with ``NA`` for missing values."""
    buf = io.StringIO()
    df.to_csv(buf, sep="\t", index=False, header=header, float_format=float_format, na_rep="NA",
              lineterminator="\n")
    return buf.getvalue()
