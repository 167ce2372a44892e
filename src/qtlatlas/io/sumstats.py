"""GWAS summary statistics in the FUSION layout: ``SNP A1 A2 Z`` (A1 the effect allele), optionally
``BETA``, ``SE``, ``P``, ``N``, ``CHR``, ``BP`` and an allele frequency (``FRQ``, ``FREQ``, ``EAF`` or ``MAF``,
which colocalisation uses). Tab- or whitespace-separated, plain or gzipped.

When ``Z`` is absent it is derived as ``BETA / SE``. Column names are matched case-insensitively.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from ..errors import InputFileError, require_file
from .phenotypes import NA_STRINGS
from .text import first_line, separator_of, split_fields

REQUIRED = ("SNP", "A1", "A2")
OPTIONAL_NUMERIC = ("Z", "BETA", "SE", "P", "N", "CHR", "BP", "FRQ", "FREQ", "EAF", "MAF")


def read_sumstats_header(path: str | os.PathLike[str]) -> list[str]:
    """Upper-cased column names of a summary-statistics file, after checking the required ones exist."""
    path = os.fspath(path)
    require_file(path, "summary statistics")
    cols = [c.upper() for c in split_fields(first_line(path))]
    missing = [c for c in REQUIRED if c not in cols]
    if missing:
        raise InputFileError(path, f"missing column(s) {', '.join(missing)} (expected SNP A1 A2 Z)", line=1)
    if "Z" not in cols and not {"BETA", "SE"} <= set(cols):
        raise InputFileError(path, "needs a Z column, or BETA and SE to derive it", line=1)
    return cols


def read_sumstats(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read summary statistics into a DataFrame with columns SNP, A1, A2, Z and any optional ones present.

    Alleles are upper-cased. Rows with a missing Z are dropped (their count is in ``df.attrs['dropped_na']``).

    Raises:
        InputFileError: missing file or columns, non-numeric values, duplicate SNP ids.
    """
    path = os.fspath(path)
    cols = read_sumstats_header(path)
    try:
        df = pd.read_csv(path, sep=separator_of(first_line(path)), dtype=str, na_values=NA_STRINGS,
                         keep_default_na=False, compression="infer")
    except pd.errors.ParserError as e:
        raise InputFileError(path, f"malformed table: {str(e).split('C error: ')[-1]}") from None
    df.columns = cols
    for c in OPTIONAL_NUMERIC:
        if c in df:
            num = pd.to_numeric(df[c], errors="coerce")
            bad = num.isna() & df[c].notna()
            if bad.any():
                i = int(bad.to_numpy().argmax())
                raise InputFileError(path, f"column {c}: non-numeric value {df[c].iat[i]!r}", line=i + 2)
            df[c] = num
    if "Z" not in df:
        df["Z"] = df["BETA"] / df["SE"]
    df["A1"] = df["A1"].str.upper()
    df["A2"] = df["A2"].str.upper()
    dup = df["SNP"].duplicated()
    if dup.any():
        i = int(dup.to_numpy().argmax())
        raise InputFileError(path, f"SNP {df['SNP'].iat[i]!r} appears more than once", line=i + 2)
    na = ~np.isfinite(df["Z"].to_numpy(dtype=float))
    out = df.loc[~na].reset_index(drop=True)
    out.attrs["dropped_na"] = int(na.sum())
    keep = [c for c in ("SNP", "A1", "A2", "Z") + OPTIONAL_NUMERIC if c in out]
    return out[list(dict.fromkeys(keep))]
