"""Tabular GWAS files into the common table of :mod:`.gwas`: GWAS-SSF, GCTA ``.mlma`` and FUSION ``.sumstats``.

* **GWAS-SSF** (GWAS Catalog summary-statistics format, tab-separated): ``chromosome``,
  ``base_pair_location``, ``effect_allele``, ``other_allele``, ``standard_error`` and ``beta`` (or
  ``odds_ratio`` / ``hazard_ratio``, whose logarithm is taken) are required here; ``effect_allele_frequency``,
  ``p_value`` (or ``neg_log_10_p_value``), ``n``, ``rsid`` and ``variant_id`` are read when present. The
  format numbers chromosomes X, Y and MT as 23, 24 and 25; they are read as X, Y and MT.
* **GCTA .mlma** (whitespace-separated): ``Chr SNP bp A1 A2 Freq b se p``; A1 is the effect allele and
  ``Freq`` its frequency. The file has no sample size.
* **FUSION .sumstats**: read by :func:`qtlatlas.io.sumstats.read_sumstats` (``SNP A1 A2 Z`` with A1 the
  effect allele, optionally ``N``, ``CHR``, ``BP``, ``BETA``, ``SE``, ``P`` and an allele frequency column
  ``FRQ``, ``FREQ``, ``EAF`` or ``MAF``). Without ``BETA`` and ``SE`` the file is z-scores only.

Column names are matched case-insensitively.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import numpy as np
import pandas as pd

from ..errors import InputFileError
from .gwas import GwasSumstats, compression_of, finish_table, numeric, trait_name
from .phenotypes import NA_STRINGS
from .text import first_line, separator_of

_SSF_CHROMS = {"23": "X", "24": "Y", "25": "MT"}
_FREQ_COLUMNS = ("FRQ", "FREQ", "EAF", "MAF")
#: Rows per chunk of a GWAS-SSF or .mlma file (converted to the common table one chunk at a time).
CHUNK_ROWS = 500_000


def read_text_table(path: str, sep: str, keep: tuple[tuple[str, ...], set[str]] | None = None,
                    chunk_rows: int = 500_000) -> tuple[pd.DataFrame, np.ndarray]:
    """A delimited text table as strings (NaN for missing values) with lower-cased column names, and the
    1-based file line of each row ``(m,)``.

    ``keep = (columns, values)`` keeps only the rows whose value in the first of ``columns`` the header has
    (matched case-insensitively) is in ``values``, reading the file in chunks of ``chunk_rows``.

    Raises:
        InputFileError: a row with the wrong number of fields (its line named), an unreadable file.
    """
    options = _options(path, sep)
    try:
        if keep is None:
            frame = pd.read_csv(path, **options)
            lines = np.arange(2, len(frame) + 2, dtype=np.int64)
        else:
            frame, lines = _filtered_chunks(path, options, keep, chunk_rows)
    except (pd.errors.ParserError, OSError, EOFError, UnicodeDecodeError, pd.errors.EmptyDataError) as e:
        raise _read_error(path, e) from None
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    return frame, lines


def iter_text_table(path: str, sep: str, chunk_rows: int = CHUNK_ROWS) -> Iterator[tuple[pd.DataFrame, np.ndarray]]:
    """:func:`read_text_table` a chunk of at most ``chunk_rows`` rows at a time: each chunk (strings, lower-cased
    column names) with the 1-based file line of each row; a file without rows gives one empty chunk.

    Raises:
        InputFileError: as :func:`read_text_table`.
    """
    options = _options(path, sep)
    try:
        offset = 0
        with pd.read_csv(path, chunksize=chunk_rows, **options) as reader:
            for chunk in reader:
                chunk.columns = [str(c).strip().lower() for c in chunk.columns]
                yield chunk, np.arange(offset + 2, offset + 2 + len(chunk), dtype=np.int64)
                offset += len(chunk)
        if offset == 0:
            frame = pd.read_csv(path, nrows=0, **options)
            frame.columns = [str(c).strip().lower() for c in frame.columns]
            yield frame, np.zeros(0, dtype=np.int64)
    except (pd.errors.ParserError, OSError, EOFError, UnicodeDecodeError, pd.errors.EmptyDataError) as e:
        raise _read_error(path, e) from None


def _options(path: str, sep: str) -> dict:
    return dict(sep=sep, dtype=str, na_values=NA_STRINGS, keep_default_na=False, compression=compression_of(path),
                skip_blank_lines=False, engine="c" if sep == "\t" else "python")


def _read_error(path: str, e: Exception) -> InputFileError:
    if isinstance(e, pd.errors.ParserError):
        msg = str(e).split("C error: ")[-1].strip()
        m = re.search(r"line (\d+)", msg)
        return InputFileError(path, f"malformed table: {msg}", line=int(m.group(1)) if m else None)
    return InputFileError(path, f"cannot read table ({e})")


def _chunked(path: str, sep: str, rows: Callable[[pd.DataFrame, np.ndarray], pd.DataFrame]
             ) -> tuple[pd.DataFrame, dict[str, int], set[str]]:
    """The common table of a text file converted a chunk at a time (``rows`` turns a chunk into columns of
    :data:`~.gwas.GWAS_COLUMNS`, checked by :func:`~.gwas.finish_table`): memory holds the finished table and
    one chunk of text, not the whole file as text. Returns the table, the rows dropped and the file's columns."""
    parts, dropped, columns = [], {}, set()
    for frame, lines in iter_text_table(path, sep, CHUNK_ROWS):
        columns = set(frame.columns)
        table, d = finish_table(path, rows(frame, lines))
        parts.append(table)
        for k, v in d.items():
            dropped[k] = dropped.get(k, 0) + v
    return (pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]), dropped, columns


def _filtered_chunks(path: str, options: dict, keep: tuple[tuple[str, ...], set[str]],
                     chunk_rows: int) -> tuple[pd.DataFrame, np.ndarray]:
    columns, values = keep
    pieces, lines, offset, column = [], [], 0, None
    with pd.read_csv(path, chunksize=chunk_rows, **options) as reader:
        for chunk in reader:
            if column is None:
                lowered = {str(c).strip().lower(): c for c in chunk.columns}
                column = next((lowered[c] for c in columns if c in lowered), None)
                if column is None:
                    return chunk.iloc[:0], np.zeros(0, dtype=np.int64)
            hit = chunk[column].isin(values).to_numpy()
            pieces.append(chunk.loc[hit])
            lines.append(offset + 2 + np.flatnonzero(hit))
            offset += len(chunk)
    return pd.concat(pieces, ignore_index=True), np.concatenate(lines).astype(np.int64)


def _require(path: str, frame: pd.DataFrame, columns: tuple[str, ...], layout: str) -> None:
    missing = [c for c in columns if c not in frame]
    if missing:
        raise InputFileError(path, f"missing column(s) {', '.join(missing)} ({layout})", line=1)


def _positions(path: str, values: pd.Series, lines: np.ndarray, what: str) -> np.ndarray:
    """Positions as int64; a missing, non-integer or non-positive one raises an error naming its line."""
    pos = numeric(path, values, lines, what)
    bad = ~np.isfinite(pos) | (pos < 1) | (pos != np.floor(pos))
    if bad.any():
        i = int(np.argmax(bad))
        raise InputFileError(path, f"{what}: {values.iat[i]!r} is not a position (a positive integer)",
                             line=int(lines[i]))
    return pos.astype(np.int64)


def read_ssf(path: str) -> GwasSumstats:
    """A GWAS-SSF file (see the module docstring), converted a chunk of rows at a time."""
    table, dropped, columns = _chunked(path, "\t", lambda frame, lines: _ssf_rows(path, frame, lines))
    return GwasSumstats(table=table, path=path, format="ssf", trait=trait_name(path), has_positions=True,
                        has_beta=True, n_source="the n column" if "n" in columns else "", dropped=dropped)


def _ssf_rows(path: str, frame: pd.DataFrame, lines: np.ndarray) -> pd.DataFrame:
    layout = "GWAS-SSF: chromosome base_pair_location effect_allele other_allele beta standard_error …"
    _require(path, frame, ("chromosome", "base_pair_location", "effect_allele", "other_allele", "standard_error"),
             layout)
    effect = next((c for c in ("beta", "odds_ratio", "hazard_ratio") if c in frame), None)
    if effect is None:
        raise InputFileError(path, "needs a beta, odds_ratio or hazard_ratio column (GWAS-SSF)", line=1)
    beta = numeric(path, frame[effect], lines, effect)
    if effect != "beta":
        with np.errstate(divide="ignore", invalid="ignore"):
            bad = beta <= 0
            if bad.any():
                i = int(np.argmax(bad))
                raise InputFileError(path, f"{effect} must be positive", line=int(lines[i]))
            beta = np.log(beta)
    chrom = frame["chromosome"].fillna("").astype(str).str.strip()
    chrom = chrom.replace(_SSF_CHROMS)
    out = pd.DataFrame({
        "chrom": chrom,
        "pos": _positions(path, frame["base_pair_location"], lines, "base_pair_location"),
        "variant_id": _first_present(frame, ("rsid", "variant_id", "hm_rsid")),
        "other_allele": frame["other_allele"], "effect_allele": frame["effect_allele"],
        "beta": beta, "se": numeric(path, frame["standard_error"], lines, "standard_error"),
        "line": lines,
    })
    if "effect_allele_frequency" in frame:
        out["af"] = numeric(path, frame["effect_allele_frequency"], lines, "effect_allele_frequency")
    if "p_value" in frame:
        out["p"] = numeric(path, frame["p_value"], lines, "p_value")
    elif "neg_log_10_p_value" in frame:
        out["p"] = 10.0 ** -numeric(path, frame["neg_log_10_p_value"], lines, "neg_log_10_p_value")
    if "n" in frame:
        out["n"] = numeric(path, frame["n"], lines, "n")
    _refuse_empty_chrom(path, out)
    return out


def read_mlma(path: str) -> GwasSumstats:
    """A GCTA ``.mlma`` file (see the module docstring), converted a chunk of rows at a time."""
    table, dropped, _ = _chunked(path, separator_of(first_line(path)),
                                 lambda frame, lines: _mlma_rows(path, frame, lines))
    return GwasSumstats(table=table, path=path, format="mlma", trait=trait_name(path), has_positions=True,
                        has_beta=True, dropped=dropped)


def _mlma_rows(path: str, frame: pd.DataFrame, lines: np.ndarray) -> pd.DataFrame:
    _require(path, frame, ("chr", "snp", "bp", "a1", "a2", "b", "se"), "GCTA .mlma: Chr SNP bp A1 A2 Freq b se p")
    out = pd.DataFrame({
        "chrom": frame["chr"].fillna("").astype(str).str.strip(),
        "pos": _positions(path, frame["bp"], lines, "bp"),
        "variant_id": frame["snp"].fillna(""),
        "other_allele": frame["a2"], "effect_allele": frame["a1"],
        "beta": numeric(path, frame["b"], lines, "b"), "se": numeric(path, frame["se"], lines, "se"),
        "line": lines,
    })
    if "freq" in frame:
        out["af"] = numeric(path, frame["freq"], lines, "Freq")
    if "p" in frame:
        out["p"] = numeric(path, frame["p"], lines, "p")
    _refuse_empty_chrom(path, out)
    return out


def read_fusion(path: str) -> GwasSumstats:
    """A FUSION ``.sumstats`` file (see the module docstring)."""
    from .sumstats import read_sumstats

    ss = read_sumstats(path)
    has_beta = {"BETA", "SE"} <= set(ss.columns)
    has_positions = {"CHR", "BP"} <= set(ss.columns)
    out = pd.DataFrame({
        "variant_id": ss["SNP"].astype(str), "other_allele": ss["A2"], "effect_allele": ss["A1"],
        "z": ss["Z"].to_numpy(dtype=np.float64),
    })
    if has_positions:
        bp = ss["BP"].to_numpy(dtype=np.float64)
        bad = ~np.isfinite(bp) | (bp < 1) | (bp != np.floor(bp))
        if bad.any():
            raise InputFileError(path, f"BP of SNP {ss['SNP'].iat[int(np.argmax(bad))]!r} is not a position")
        out["chrom"] = ss["CHR"].map(lambda c: str(int(c)) if float(c).is_integer() else str(c))
        out["pos"] = bp.astype(np.int64)
    if has_beta:
        out["beta"] = ss["BETA"].to_numpy(dtype=np.float64)
        out["se"] = ss["SE"].to_numpy(dtype=np.float64)
    for c in _FREQ_COLUMNS:
        if c in ss:
            out["af"] = ss[c].to_numpy(dtype=np.float64)
            break
    if "N" in ss:
        out["n"] = ss["N"].to_numpy(dtype=np.float64)
    if "P" in ss:
        out["p"] = ss["P"].to_numpy(dtype=np.float64)
    table, dropped = finish_table(path, out)
    if ss.attrs.get("dropped_na"):
        dropped["no z-score"] = int(ss.attrs["dropped_na"])
    return GwasSumstats(table=table, path=path, format="fusion", trait=trait_name(path),
                        has_positions=has_positions, has_beta=has_beta, n_source="the N column" if "N" in ss else "",
                        dropped=dropped)


def _first_present(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.Series:
    for c in columns:
        if c in frame:
            return frame[c].fillna("")
    return pd.Series([""] * len(frame), index=frame.index, dtype=object)


def _refuse_empty_chrom(path: str, out: pd.DataFrame) -> None:
    empty = (out["chrom"] == "").to_numpy()
    if empty.any():
        raise InputFileError(path, "the chromosome is missing", line=int(out["line"].iat[int(np.argmax(empty))]))
