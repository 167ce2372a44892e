"""GWAS summary statistics in one in-memory table, whatever the file's format.

Formats (``fmt``; ``"auto"`` recognises each from its first lines):

* ``vcf`` — GWAS-VCF (MRC IEU OpenGWAS, the eQTL Catalogue's coloc input): ``ES:SE:LP:AF[:SS:EZ:NC:ID]``
  FORMAT fields of one sample column (:mod:`.gwas_vcf`);
* ``ssf`` — GWAS-SSF, the GWAS Catalog's standard TSV (``chromosome, base_pair_location, effect_allele,
  other_allele, beta, standard_error, effect_allele_frequency, p_value`` …) (:mod:`.gwas_text`);
* ``mlma`` — GCTA ``--mlma`` output (``Chr SNP bp A1 A2 Freq b se p``; A1 the effect allele, Freq its
  frequency), the Rat TWAS Hub's input;
* ``fusion`` — FUSION ``.sumstats`` (``SNP A1 A2 Z`` and optionally ``N``, ``CHR``, ``BP``, ``BETA``, ``SE``,
  ``P`` and an allele frequency ``FRQ``/``FREQ``/``EAF``/``MAF``) (:mod:`.sumstats`).

The common table (:data:`GWAS_COLUMNS`), one row per variant and effect allele:

=================  ========================================================================================
``chrom``          chromosome as the file spells it ("" when the file has no positions)
``pos``            1-based position (0 when the file has none)
``variant_id``     the file's variant id (rsID, or ``chrom:pos`` style; "" when none)
``other_allele``   non-effect allele (VCF REF), upper case
``effect_allele``  allele the effect refers to (VCF ALT), upper case
``beta``, ``se``   effect of one copy of the effect allele and its standard error (NaN for Z-only files)
``z``              ``beta / se``, or the file's z-score
``af``             frequency of the effect allele in the GWAS (NaN when unknown)
``n``              sample size per variant (NaN when unknown)
``p``              p-value (NaN when unknown; 0 where the file's −log10 p is infinite)
``line``           1-based line of the file the row came from (0 where unknown, e.g. a tabix query)
=================  ========================================================================================

Rows without a usable z (missing effect or standard error) are dropped and counted. Malformed values
raise :class:`~qtlatlas.errors.InputFileError` naming the file and line.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import ConfigError, InputFileError, require_file
from .chromosomes import chrom_key
from .text import open_text, split_fields

GWAS_COLUMNS = ["chrom", "pos", "variant_id", "other_allele", "effect_allele", "beta", "se", "z", "af", "n", "p",
                "line"]
FORMATS = ("vcf", "ssf", "mlma", "fusion")
_FLOAT_COLUMNS = ("beta", "se", "z", "af", "n", "p")
_NAN_SPELLINGS = ("nan", "-nan", "+nan")

#: Regions to read, by chromosome key: a list of closed 1-based intervals.
Regions = Mapping[str, list[tuple[int, int]]]


@dataclass
class GwasSumstats:
    """GWAS summary statistics of one trait.

    Attributes:
        table: the common table (:data:`GWAS_COLUMNS`), in file order.
        path: the file read.
        format: one of :data:`FORMATS`.
        trait: the trait's name (the VCF sample, else the file name without extensions).
        has_positions: the file gives chromosome and position for every row.
        has_beta: the file gives effects and standard errors (False: z-scores only).
        n_source: where ``n`` came from, in words ("" when the file gives no sample size).
        study_type: ``"quant"``, ``"cc"`` or None when the file does not say (GWAS-VCF ``StudyType``).
        case_fraction: cases / (cases + controls) where the file says (GWAS-VCF header), else None.
        dropped: rows dropped, by reason.
    """

    table: pd.DataFrame
    path: str
    format: str
    trait: str
    has_positions: bool
    has_beta: bool
    n_source: str = ""
    study_type: str | None = None
    case_fraction: float | None = None
    dropped: dict[str, int] = field(default_factory=dict)

    @property
    def n_variants(self) -> int:
        return len(self.table)


def detect_format(path: str) -> str:
    """The format of a GWAS file from its first lines: one of :data:`FORMATS`.

    Raises:
        InputFileError: the header matches none of them.
    """
    first = _first_lines(path, 1)
    if not first:
        raise InputFileError(path, "is empty", line=1)
    if first[0].startswith("##fileformat=VCF"):
        return "vcf"
    cols = {c.strip().lower() for c in split_fields(first[0])}
    if {"chromosome", "base_pair_location", "effect_allele", "other_allele"} <= cols:
        return "ssf"
    if {"chr", "snp", "bp", "a1", "a2", "b", "se"} <= cols:
        return "mlma"
    if {"snp", "a1", "a2"} <= cols and ("z" in cols or {"beta", "se"} <= cols):
        return "fusion"
    raise InputFileError(path, "is not a GWAS file this reader knows: expected a GWAS-VCF (##fileformat=VCF), a "
                               "GWAS-SSF header (chromosome base_pair_location effect_allele other_allele …), GCTA "
                               ".mlma (Chr SNP bp A1 A2 Freq b se p) or FUSION .sumstats (SNP A1 A2 Z)", line=1)


def read_gwas(path: str | os.PathLike[str], fmt: str = "auto", sample: str | None = None,
              regions: Regions | None = None) -> GwasSumstats:
    """Read GWAS summary statistics into the common table.

    Args:
        path: the file (plain, gzip or bgzip).
        fmt: ``"auto"`` or one of :data:`FORMATS`.
        sample: GWAS-VCF sample (trait) column to read; needed when the VCF has several.
        regions: read only these intervals (by chromosome key); a bgzipped VCF with a tabix index is
            queried, other files are read and filtered. Files without positions are read whole.

    Raises:
        InputFileError: missing or malformed file (file and line named).
        ConfigError: unknown ``fmt``, or ``sample`` given for a format without samples.
    """
    path = os.fspath(path)
    require_file(path, "GWAS summary statistics")
    if fmt == "auto":
        fmt = detect_format(path)
    if fmt not in FORMATS:
        raise ConfigError("--gwas-format", f"must be auto or one of {', '.join(FORMATS)}, not {fmt!r}")
    if sample is not None and fmt != "vcf":
        raise ConfigError("--gwas-sample", f"names a GWAS-VCF sample column; {path} is {fmt}")
    if fmt == "vcf":
        from .gwas_vcf import read_gwas_vcf

        gwas = read_gwas_vcf(path, sample=sample, regions=regions)
    else:
        from .gwas_text import read_fusion, read_mlma, read_ssf

        reader = {"ssf": read_ssf, "mlma": read_mlma, "fusion": read_fusion}[fmt]
        gwas = reader(path)
        if regions is not None and gwas.has_positions:
            keep = in_regions(gwas.table["chrom"].to_numpy(), gwas.table["pos"].to_numpy(), regions)
            gwas.table = gwas.table.loc[keep].reset_index(drop=True)
    return gwas


def in_regions(chroms: np.ndarray, positions: np.ndarray, regions: Regions) -> np.ndarray:
    """Boolean mask ``(m,)`` of the (chromosome, position) pairs inside any of ``regions``."""
    chroms = np.asarray(chroms, dtype=object)
    positions = np.asarray(positions, dtype=np.int64)
    codes, names = pd.factorize(chroms)
    keep = np.zeros(len(chroms), dtype=bool)
    for code, name in enumerate(names):
        intervals = regions.get(chrom_key(name))
        if not intervals:
            continue
        rows = np.flatnonzero(codes == code)
        pos = positions[rows]
        hit = np.zeros(len(rows), dtype=bool)
        for start, end in intervals:
            hit |= (pos >= start) & (pos <= end)
        keep[rows[hit]] = True
    return keep


def trait_name(path: str) -> str:
    """A file's name without directories and compression/format extensions."""
    name = os.path.basename(path)
    for ext in (".gz", ".bgz", ".bz2", ".tsv", ".txt", ".vcf", ".sumstats", ".mlma", ".ssf", ".csv"):
        if name.lower().endswith(ext):
            name = name[: -len(ext)]
    return name or os.path.basename(path)


def numeric(path: str, values: pd.Series, lines: np.ndarray | None, what: str) -> np.ndarray:
    """``values`` (strings, NaN for missing) as float64; a non-numeric entry raises an error naming its line
    (``nan``/``-nan`` read as missing).

    ``lines`` ``(m,)`` holds the 1-based file line of each value (None or 0 where unknown).
    """
    num = pd.to_numeric(values, errors="coerce")
    bad = num.isna() & values.notna()
    if bad.any():  # C's printf spells a NaN "-nan" or "nan" (FastQTL output): missing, not malformed
        bad &= ~values.astype(str).str.strip().str.lower().isin(_NAN_SPELLINGS)
    if bad.any():
        i = int(np.argmax(bad.to_numpy()))
        line = int(lines[i]) if lines is not None and lines[i] > 0 else None
        raise InputFileError(path, f"{what}: {values.iat[i]!r} is not a number", line=line)
    return num.to_numpy(dtype=np.float64)


def finish_table(path: str, frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """Complete and check a table holding some of :data:`GWAS_COLUMNS`; returns it and the rows dropped.

    Fills absent columns, upper-cases alleles, derives ``z = beta / se`` where the file gives no z, and drops
    rows without a finite z. Errors name the line of the first offending row.

    Raises:
        InputFileError: a standard error ≤ 0, an allele frequency outside [0, 1], a sample size ≤ 0, an empty
            allele.
    """
    out = frame.copy()
    for c in GWAS_COLUMNS:
        if c not in out:
            out[c] = "" if c in ("chrom", "variant_id", "other_allele", "effect_allele") else (
                0 if c in ("pos", "line") else np.nan)
    for c in _FLOAT_COLUMNS:
        out[c] = out[c].astype(np.float64)
    out["pos"] = out["pos"].astype(np.int64)
    out["line"] = out["line"].astype(np.int64)
    for c in ("chrom", "variant_id", "other_allele", "effect_allele"):
        out[c] = out[c].fillna("").astype(str)
    out["other_allele"] = out["other_allele"].str.upper()
    out["effect_allele"] = out["effect_allele"].str.upper()
    lines = out["line"].to_numpy()
    _refuse(path, lines, (out["effect_allele"] == "") | (out["other_allele"] == ""), "an allele is missing")
    _refuse(path, lines, out["se"].to_numpy() <= 0, "the standard error must be positive")
    af = out["af"].to_numpy()
    _refuse(path, lines, (af < 0) | (af > 1), "the allele frequency must be between 0 and 1")
    _refuse(path, lines, out["n"].to_numpy() <= 0, "the sample size must be positive")
    derive = ~np.isfinite(out["z"].to_numpy())
    with np.errstate(divide="ignore", invalid="ignore"):
        out.loc[derive, "z"] = out.loc[derive, "beta"] / out.loc[derive, "se"]
    usable = np.isfinite(out["z"].to_numpy())
    dropped = {"no effect or standard error": int((~usable).sum())}
    out = out.loc[usable, GWAS_COLUMNS].reset_index(drop=True)
    return out, {k: v for k, v in dropped.items() if v}


def compression_of(path: str) -> str | None:
    """``"gzip"`` for a gzip or bgzip file (sniffed, whatever its name), else None: the ``compression`` argument
    of ``pandas.read_csv``."""
    with open(path, "rb") as fh:
        return "gzip" if fh.read(2) == b"\x1f\x8b" else None


def _refuse(path: str, lines: np.ndarray, bad: np.ndarray, problem: str) -> None:
    bad = np.asarray(bad, dtype=bool)
    if bad.any():
        i = int(np.argmax(bad))
        raise InputFileError(path, problem, line=int(lines[i]) if lines[i] > 0 else None)


def _first_lines(path: str, n: int) -> list[str]:
    """The first ``n`` lines not starting with ``##`` except a VCF's first line (which is returned as is)."""
    out: list[str] = []
    try:
        with open_text(path) as fh:
            for i, line in enumerate(fh):
                line = line.rstrip("\n\r")
                if i == 0 or not line.startswith("##"):
                    out.append(line)
                if len(out) >= n:
                    break
    except (OSError, EOFError, UnicodeDecodeError) as e:
        raise InputFileError(path, f"cannot read file ({e})") from None
    return out
