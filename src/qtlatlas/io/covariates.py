"""Covariate files.

Accepted layouts (tab-separated, plain or gzipped):

* tensorQTL / QTLtools: covariates × samples, header ``id`` (any first-column name) then sample ids;
* transposed: samples × covariates (first column sample ids, header covariate names), recognised when
  the expected sample ids are found in the first column instead of the header;
* FUSION / PLINK (:func:`read_plink_covariates`): whitespace-separated, header ``FID IID c1 c2 …``, one
  sample (IID) per line, ``NA`` or ``-9`` missing.

QTLtools allows categorical covariates (text values); these are expanded to 0/1 indicator columns,
one per level except the first (in order of appearance), named ``{covariate}_{level}``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import InputFileError, SampleMismatchError, require_file
from .phenotypes import NA_STRINGS
from .text import first_line, separator_of


def read_covariates(path: str | os.PathLike[str], samples: Sequence[str] | None = None, *,
                    allow_empty: bool = False) -> pd.DataFrame:
    """Read covariates into a float64 DataFrame of shape (n_covariates, n_samples).

    Args:
        path: covariate file.
        samples: when given, the columns of the result are these samples in this order; every one must
            be present in the file (an error lists the first missing ones).
        allow_empty: a file with the header line only (what ``qtlatlas run`` writes for a tissue × modality
            mapped without covariates) gives a frame of no rows instead of an error.

    Raises:
        InputFileError: missing file, malformed table, duplicate covariate or sample ids (also after expanding
            categorical covariates), missing values.
        SampleMismatchError: requested samples absent from the file.
    """
    path = os.fspath(path)
    require_file(path, "covariate file")
    try:
        df = pd.read_csv(path, sep=separator_of(first_line(path)), index_col=0, dtype=str, na_values=NA_STRINGS, keep_default_na=False,
                         compression="infer")
    except pd.errors.EmptyDataError:
        raise InputFileError(path, "covariate file is empty") from None
    except pd.errors.ParserError as e:
        raise InputFileError(path, f"malformed table: {str(e).split('C error: ')[-1]}") from None
    except (OSError, EOFError, UnicodeDecodeError) as e:
        raise InputFileError(path, f"cannot read file ({e})") from None
    if allow_empty and df.shape[0] == 0 and df.shape[1] > 0:
        df.columns = df.columns.astype(str)
        return pd.DataFrame(np.zeros((0, df.shape[1] if samples is None else len(samples))),
                            index=pd.Index([], name="id", dtype=object),
                            columns=list(df.columns) if samples is None else list(samples))
    if df.shape[1] == 0 or df.shape[0] == 0:
        raise InputFileError(path, "no covariates found (expected covariates × samples with an 'id' header)")
    df.index = df.index.astype(str)
    df.columns = df.columns.astype(str)
    if samples is not None and not set(samples) & set(df.columns) and set(samples) & set(df.index):
        df = df.T  # samples × covariates layout
        transposed = True
    else:
        transposed = False
    _check_unique(path, list(df.columns), "sample id", transposed)
    _check_unique(path, list(df.index), "covariate", transposed)
    numeric = _to_numeric(path, df, transposed)
    if samples is not None:
        missing = [s for s in samples if s not in numeric.columns]
        if missing:
            shown = ", ".join(missing[:5]) + (" …" if len(missing) > 5 else "")
            raise SampleMismatchError(
                f"{path}: {len(missing)} of {len(samples)} samples are absent from the covariates: {shown}"
            )
        numeric = numeric.loc[:, list(samples)]
    return numeric


def _check_unique(path: str, names: list[str], what: str, transposed: bool) -> None:
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            on_header = (what == "sample id") != transposed
            raise InputFileError(path, f"duplicate {what} {name!r}", line=1 if on_header else i + 2)
        seen.add(name)


def _to_numeric(path: str, df: pd.DataFrame, transposed: bool) -> pd.DataFrame:
    rows: list[pd.Series] = []
    names: list[str] = []
    for r, (name, row) in enumerate(df.iterrows()):
        if row.isna().any():
            j = int(row.isna().to_numpy().argmax())
            line = j + 2 if transposed else r + 2
            raise InputFileError(path, f"missing value for covariate {name!r}, sample {df.columns[j]!r}", line=line)
        num = pd.to_numeric(row, errors="coerce")
        if num.isna().any():  # categorical covariate: indicator columns
            levels = list(dict.fromkeys(row.tolist()))
            if len(levels) == 1:
                continue  # constant: carries no information
            for level in levels[1:]:
                rows.append((row == level).astype(np.float64))
                names.append(f"{name}_{level}")
            continue
        rows.append(num.astype(np.float64))
        names.append(str(name))
    if not rows:
        raise InputFileError(path, "no usable covariates (all constant)")
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise InputFileError(path, f"duplicate covariate {name!r} once categorical covariates are expanded to "
                                 "indicators ({covariate}_{level}); rename one of them")
        seen.add(name)
    out = pd.DataFrame([r.to_numpy() for r in rows], index=pd.Index(names, name="id"), columns=df.columns)
    return out


def write_covariates(covariates: pd.DataFrame, path: str | os.PathLike[str], *, exact: bool = False) -> None:
    """Write covariates × samples in the tensorQTL layout (``id`` header, tab-separated): values with 6
    significant digits, or with ``exact`` the shortest text that reads back as the same float64 (a lab's own
    covariates published as given)."""
    out = covariates.copy()
    out.index.name = "id"
    out.to_csv(path, sep="\t", float_format=None if exact else "%.6g")


def is_plink_covariates(path: str | os.PathLike[str]) -> bool:
    """Whether the file's header starts with ``FID IID`` and names at least one covariate."""
    head = (first_line(os.fspath(path)) or "").split()
    return len(head) >= 3 and head[0].upper() == "FID" and head[1].upper() == "IID"


def read_plink_covariates(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A FUSION / PLINK covariate file as float64 covariates × samples (columns: the IIDs, file order).

    Raises:
        InputFileError: missing or malformed file, a sample listed twice, a missing or non-numeric value
            (with its line).
    """
    path = os.fspath(path)
    require_file(path, "covariate file")
    head = (first_line(path) or "").split()
    try:
        frame = pd.read_csv(path, sep=r"\s+", dtype={head[0]: str, head[1]: str}, na_values=["NA", "-9"],
                            keep_default_na=False, compression="infer")
    except (pd.errors.ParserError, ValueError) as e:
        raise InputFileError(path, f"malformed covariate table ({str(e).splitlines()[0]})") from None
    ids = frame.iloc[:, 1].astype(str)
    dup = ids.duplicated()
    if dup.any():
        raise InputFileError(path, f"sample {ids[dup].iat[0]!r} listed twice", line=int(dup.to_numpy().argmax()) + 2)
    values = frame.iloc[:, 2:].apply(pd.to_numeric, errors="coerce")
    bad = values.isna().to_numpy()
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise InputFileError(path, f"covariate {values.columns[c]!r} of sample {ids.iat[r]!r} is missing or "
                                   "not a number", line=int(r) + 2)
    values.index = ids.to_numpy()
    out = values.T.astype(np.float64)
    out.index = pd.Index([str(c) for c in out.index], name="id")
    return out


def read_covariates_of(path: str | os.PathLike[str], samples: Sequence[str]) -> pd.DataFrame:
    """Covariates × samples of a file in any accepted layout, restricted to those of ``samples`` the file has
    (in file order): for tools that use the samples shared by every input."""
    wanted = set(samples)
    if is_plink_covariates(path):
        cov = read_plink_covariates(path)
    else:
        cov = read_covariates(path)
        if not set(cov.columns) & wanted and set(cov.index) & wanted:  # samples × covariates
            cov = read_covariates(path, samples=[s for s in cov.index if s in wanted])
    return cov.loc[:, [s for s in cov.columns if s in wanted]]
