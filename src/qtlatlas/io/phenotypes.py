"""Phenotype BED files (tensorQTL 4-column and QTLtools 6-column layouts, plain or gzipped).

tensorQTL layout::

    #chr  start  end  phenotype_id  SAMPLE1  SAMPLE2 ...

QTLtools layout (a group/gene column and ``strand`` after the phenotype id; recognised by the 6th
header field being ``strand``)::

    #chr  start  end  pid  gid  strand  SAMPLE1 ...

Fields are tab-separated; files whose header has no tab are split on whitespace (older QTLtools files).

``start``/``end`` are 0-based half-open, as in any BED: a TSS-anchored phenotype has
``start = TSS - 1`` and ``end = TSS``. Rows must be sorted by position within a chromosome and each
chromosome must form one contiguous block (the order ``bgzip``/``tabix`` need).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import InputFileError, require_file
from .chromosomes import Region, chrom_key, region_mask
from .text import first_line, separator_of, split_fields

#: Strings read as missing values in phenotype matrices.
NA_STRINGS = ["NA", "NaN", "nan", "na", "N/A", ".", ""]

#: Names of the 5th column of a QTLtools BED that carry the gene (group) of the phenotype.
_GENE_COLUMN_NAMES = {"gid", "gene_id", "group", "group_id"}


@dataclass
class PhenotypeTable:
    """Phenotype values and positions.

    Attributes:
        values: float64 array, shape (n_phenotypes, n_samples); NaN marks a missing value.
        positions: one row per phenotype with columns ``chrom`` (file spelling), ``start``, ``end``
            (BED coordinates, int64), ``phenotype_id``, and, from QTLtools files, ``gene_id`` and ``strand``.
        samples: the sample ids of the columns of ``values``.
    """

    values: np.ndarray
    positions: pd.DataFrame
    samples: list[str]

    @property
    def phenotype_ids(self) -> list[str]:
        return self.positions["phenotype_id"].tolist()

    @property
    def tss(self) -> np.ndarray:
        """1-based TSS (BED ``end``) of each phenotype, int64, shape (n_phenotypes,)."""
        return self.positions["end"].to_numpy(np.int64)

    def to_frame(self) -> pd.DataFrame:
        """Values as a DataFrame indexed by phenotype id, columns = samples."""
        return pd.DataFrame(self.values, index=pd.Index(self.phenotype_ids, name="phenotype_id"), columns=self.samples)

    def subset_samples(self, samples: list[str]) -> PhenotypeTable:
        """A copy restricted to (and ordered as) ``samples``, which must all be present."""
        index = {s: i for i, s in enumerate(self.samples)}
        cols = np.array([index[s] for s in samples], dtype=np.intp)
        return PhenotypeTable(self.values[:, cols], self.positions.copy(), list(samples))


def _read_header(path: str) -> list[str]:
    line = first_line(path)
    if not line:
        raise InputFileError(path, "file is empty", line=1)
    if not line.startswith("#"):
        raise InputFileError(
            path, "the first line must be a header starting with '#chr' (tensorQTL or QTLtools BED layout)", line=1
        )
    return split_fields(line)


def _layout(path: str, header: list[str]) -> int:
    """Number of leading annotation columns (4 for tensorQTL, 6 for QTLtools)."""
    if len(header) >= 7 and header[5].lower() == "strand":
        return 6
    if len(header) < 5:
        raise InputFileError(path, f"header has {len(header)} columns; expected '#chr start end phenotype_id' and at least one sample", line=1)
    return 4


def _check_unique(path: str, names: list[str], what: str, line_of) -> None:
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        if name in seen:
            raise InputFileError(
                path, f"duplicate {what} {name!r} (also at {line_of(seen[name])})", line=line_of(i) if what != "sample id" else 1
            )
        seen[name] = i


def read_phenotype_bed(
    path: str | os.PathLike[str],
    *,
    allow_missing: bool = False,
    region: str | Region | None = None,
) -> PhenotypeTable:
    """Read a phenotype BED into a :class:`PhenotypeTable`.

    Args:
        path: BED file, plain or gzipped/bgzipped.
        allow_missing: accept missing values (``NA``, ``NaN``, empty) as NaN. Unnormalised inputs may
            have them (they are imputed or dropped by phenotype preparation); normalised inputs to mapping
            must not, so by default a missing value is an error naming its line and sample.
        region: keep only phenotypes whose TSS (BED ``end``) lies in this region.

    Raises:
        InputFileError: missing file, bad header, wrong column count, non-numeric values, missing values
            when not allowed, duplicate phenotype or sample ids, unsorted rows.
    """
    path = os.fspath(path)
    require_file(path, "phenotype BED")
    header = _read_header(path)
    n_annot = _layout(path, header)
    samples = header[n_annot:]
    _check_unique(path, samples, "sample id", lambda i: f"column {i + n_annot + 1}")
    if any(s == "" for s in samples):
        raise InputFileError(path, "empty sample id in header", line=1)

    sep = separator_of(first_line(path))
    try:
        raw = pd.read_csv(
            path, sep=sep, header=None, skiprows=1, dtype={i: str for i in range(n_annot)},
            na_values=NA_STRINGS, keep_default_na=False, engine="c", compression="infer",
        )
    except pd.errors.ParserError as e:
        raise InputFileError(path, f"malformed table: {_parser_message(e)}") from None
    except pd.errors.EmptyDataError:
        raise InputFileError(path, "no phenotype rows after the header") from None
    except (OSError, EOFError, UnicodeDecodeError) as e:
        raise InputFileError(path, f"cannot read file ({e})") from None
    if raw.shape[0] == 0:
        raise InputFileError(path, "no phenotype rows after the header")
    if raw.shape[1] != len(header):
        raise InputFileError(path, f"rows have {raw.shape[1]} columns but the header has {len(header)}", line=2)

    def line_of(i: int) -> int:
        return i + 2  # header is line 1

    positions = _parse_positions(path, raw, n_annot, line_of, gene_column=header[4].lower() if n_annot == 6 else "")
    values = _parse_values(path, raw.iloc[:, n_annot:], samples, allow_missing, line_of)
    _check_unique(path, positions["phenotype_id"].tolist(), "phenotype id", line_of)
    _check_sorted(path, positions, line_of)

    if region is not None:
        keep = region_mask(positions["chrom"], positions["end"], region)
        positions = positions[keep].reset_index(drop=True)
        values = values[keep]
    return PhenotypeTable(values=values, positions=positions, samples=samples)


def _parser_message(e: Exception) -> str:
    msg = str(e).strip()
    # pandas: "Error tokenizing data. C error: Expected 5 fields in line 4, saw 6"
    return msg.split("C error: ")[-1]


def _parse_positions(path: str, raw: pd.DataFrame, n_annot: int, line_of, gene_column: str) -> pd.DataFrame:
    chrom = raw.iloc[:, 0].astype(str)
    out = {"chrom": chrom.to_numpy()}
    for j, name in ((1, "start"), (2, "end")):
        col = pd.to_numeric(raw.iloc[:, j], errors="coerce")
        bad = col.isna() | (col != np.floor(col))
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputFileError(path, f"column {j + 1} ({name}) is not an integer: {raw.iloc[i, j]!r}", line=line_of(i))
        out[name] = col.to_numpy(np.int64)
    if (out["start"] < 0).any() or (out["end"] < out["start"]).any():
        i = int(np.flatnonzero((out["start"] < 0) | (out["end"] < out["start"]))[0])
        raise InputFileError(path, f"invalid interval start={out['start'][i]} end={out['end'][i]}", line=line_of(i))
    pid = raw.iloc[:, 3]
    if pid.isna().any() or (pid.astype(str).str.len() == 0).any():
        i = int(np.flatnonzero((pid.isna() | (pid.astype(str).str.len() == 0)).to_numpy())[0])
        raise InputFileError(path, "empty phenotype id", line=line_of(i))
    out["phenotype_id"] = pid.astype(str).to_numpy()
    if n_annot == 6:
        if gene_column in _GENE_COLUMN_NAMES:
            out["gene_id"] = raw.iloc[:, 4].astype(str).to_numpy()
        out["strand"] = raw.iloc[:, 5].astype(str).to_numpy()
    return pd.DataFrame(out)


def _parse_values(path: str, block: pd.DataFrame, samples: list[str], allow_missing: bool, line_of) -> np.ndarray:
    """Convert the sample columns to float64, naming the first non-numeric or missing cell."""
    numeric = block.apply(pd.to_numeric, errors="coerce") if any(
        not pd.api.types.is_numeric_dtype(t) for t in block.dtypes
    ) else block
    values = numeric.to_numpy(dtype=np.float64, na_value=np.nan)
    nan = np.isnan(values)
    if nan.any():
        original_na = block.isna().to_numpy()
        non_numeric = nan & ~original_na
        if non_numeric.any():
            i, j = np.argwhere(non_numeric)[0]
            raise InputFileError(
                path, f"non-numeric value {block.iat[i, j]!r} for sample {samples[j]!r}", line=line_of(int(i))
            )
        if not allow_missing:
            i, j = np.argwhere(nan)[0]
            raise InputFileError(
                path,
                f"missing value (NA/NaN) for sample {samples[j]!r}; normalised phenotypes must be complete "
                f"({int(nan.sum())} missing values in total)",
                line=line_of(int(i)),
            )
    if np.isinf(values).any():
        i, j = np.argwhere(np.isinf(values))[0]
        raise InputFileError(path, f"infinite value for sample {samples[j]!r}", line=line_of(int(i)))
    return values


def _check_sorted(path: str, positions: pd.DataFrame, line_of) -> None:
    """Rows sorted by start within a chromosome, each chromosome one contiguous block."""
    keys = [chrom_key(c) for c in positions["chrom"]]
    starts = positions["start"].to_numpy()
    seen_blocks: dict[str, int] = {}
    for i in range(len(keys)):
        if i and keys[i] == keys[i - 1]:
            if starts[i] < starts[i - 1]:
                raise InputFileError(
                    path,
                    f"rows are not sorted: start {starts[i]} comes after {starts[i - 1]} on {positions['chrom'].iat[i]} "
                    "(sort with: sort -k1,1 -k2,2n, keeping the header first)",
                    line=line_of(i),
                )
            continue
        if keys[i] in seen_blocks:
            raise InputFileError(
                path,
                f"rows are not sorted: chromosome {positions['chrom'].iat[i]} appears again after other chromosomes "
                f"(first block at line {line_of(seen_blocks[keys[i]])})",
                line=line_of(i),
            )
        seen_blocks[keys[i]] = i


def read_bed_samples(path: str | os.PathLike[str]) -> list[str]:
    """Sample ids of a phenotype BED, read from its header only (cheap for large files)."""
    path = os.fspath(path)
    require_file(path, "phenotype BED")
    header = _read_header(path)
    return header[_layout(path, header):]


def write_phenotype_bed(table: PhenotypeTable, path: str | os.PathLike[str], *, index: bool = True,
                        exact: bool = False) -> None:
    """Write ``table`` as a tensorQTL-layout BED; ``.gz`` paths are bgzipped and (with ``index``) tabix-indexed.

    Rows are written in the table's order, which must be sorted (as :func:`read_phenotype_bed` requires).
    Values use up to 7 significant digits, or with ``exact`` the shortest text that reads back as the same
    float64 (values mapped as a lab gave them); NaN is written as ``NA``. The file is written atomically.
    """
    import pysam

    path = os.fspath(path)
    pos = table.positions
    header = ["#chr", "start", "end", "phenotype_id", *table.samples]
    body = pd.DataFrame(table.values, columns=table.samples)
    body.insert(0, "phenotype_id", pos["phenotype_id"].to_numpy())
    body.insert(0, "end", pos["end"].to_numpy())
    body.insert(0, "start", pos["start"].to_numpy())
    body.insert(0, "#chr", pos["chrom"].to_numpy())
    tmp_plain = f"{path}.part.txt"
    body.to_csv(tmp_plain, sep="\t", index=False, header=header, float_format=None if exact else "%.7g", na_rep="NA")
    if path.endswith(".gz"):
        tmp = f"{path}.part"
        pysam.tabix_compress(tmp_plain, tmp, force=True)
        os.remove(tmp_plain)
        os.replace(tmp, path)
        if index:
            pysam.tabix_index(path, seq_col=0, start_col=1, end_col=2, meta_char="#", zerobased=True, force=True)
    else:
        os.replace(tmp_plain, path)
