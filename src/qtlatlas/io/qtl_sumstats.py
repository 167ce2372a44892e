"""Nominal QTL summary statistics (every tested variant × phenotype pair) for colocalisation.

Layouts, recognised by their columns (Parquet or tab-separated text, plain or gzipped):

* **tensorQTL** ``cis_qtl_pairs`` (and GTEx ``allpairs``, which name the phenotype ``gene_id`` and give
  ``maf``): ``phenotype_id, variant_id, af, pval_nominal, slope, slope_se`` [``ma_samples, ma_count``]
  [``chrom, pos, ref, alt`` as in qtlatlas's downloads]. Without position columns the variant id is parsed
  as ``CHROM_POS_REF_ALT`` (``chr1_13550_G_A_b38``, ``1:13550:G:A``); ids that are not (rsIDs) are matched
  by id.
* **eQTL Catalogue**: ``molecular_trait_id, variant, chromosome, position, ref, alt, beta, se, maf,
  pvalue, an`` [``rsid``, ``ac``]. Its files repeat a variant once per rsID; the repeats are dropped.

The table (:data:`QTL_COLUMNS`): ``phenotype_id, variant_id, chrom, pos, ref, alt, rsid, beta, se, p, maf,
n``, ``beta`` the effect of one ALT allele, ``maf`` the minor allele frequency, ``n`` the sample size of the
row where the file gives it (the eQTL Catalogue's ``an / 2``), else NaN. Rows with a missing or
non-positive standard error are dropped and counted.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import InputFileError, require_file
from .gwas import numeric
from .gwas_text import read_text_table

QTL_COLUMNS = ["phenotype_id", "variant_id", "chrom", "pos", "ref", "alt", "rsid", "beta", "se", "p", "maf", "n"]
_VARIANT_ID = re.compile(r"^(?:chr)?([0-9A-Za-z]+)[_:](\d+)[_:]([A-Za-z*]+)[_:/]([A-Za-z*]+)(?:_b3[78])?$")
_TENSORQTL = {"id": ("phenotype_id", "gene_id"), "beta": "slope", "se": "slope_se", "p": "pval_nominal"}
_CATALOGUE = {"id": ("molecular_trait_id",), "beta": "beta", "se": "se", "p": "pvalue"}
_ID_COLUMNS = ("molecular_trait_id", "phenotype_id", "gene_id")


@dataclass
class QtlSumstats:
    """Nominal QTL statistics of one file.

    Attributes:
        table: :data:`QTL_COLUMNS`, one row per phenotype × variant.
        path: the file read.
        layout: ``"tensorqtl"`` or ``"eqtl_catalogue"``.
        has_positions: every row has a chromosome and position (given or parsed from the variant id).
        n_inferred: the sample size implied by ``ma_count / (2 · maf)`` (tensorQTL files), else None.
        n_problem: why the file's own sample size column cannot be trusted (None when it can or is absent).
        dropped: rows dropped, by reason.
    """

    table: pd.DataFrame
    path: str
    layout: str
    has_positions: bool
    n_inferred: float | None = None
    n_problem: str | None = None
    dropped: dict[str, int] = field(default_factory=dict)

    @property
    def phenotypes(self) -> list[str]:
        return list(pd.unique(self.table["phenotype_id"]))


def read_qtl_sumstats(path: str | os.PathLike[str], phenotypes: list[str] | None = None) -> QtlSumstats:
    """Read a nominal QTL file, keeping ``phenotypes`` only when given.

    Raises:
        InputFileError: missing file, unknown layout, malformed values (line named for text files), none of
            ``phenotypes`` in the file.
    """
    path = os.fspath(path)
    require_file(path, "QTL summary statistics")
    frame, lines = _read_frame(path, phenotypes)
    cols = set(frame.columns)
    if "molecular_trait_id" in cols:
        layout, names = "eqtl_catalogue", _CATALOGUE
    elif cols & {"phenotype_id", "gene_id"} and {"slope", "slope_se"} <= cols:
        layout, names = "tensorqtl", _TENSORQTL
    else:
        raise InputFileError(path, "is neither tensorQTL nominal pairs (phenotype_id variant_id af pval_nominal "
                                   "slope slope_se) nor eQTL Catalogue statistics (molecular_trait_id variant "
                                   "chromosome position ref alt beta se maf pvalue an)", line=1)
    id_col = next(c for c in names["id"] if c in cols)
    variant_col = "variant" if layout == "eqtl_catalogue" else "variant_id"
    missing = [c for c in (variant_col, names["beta"], names["se"]) if c not in cols]
    if missing:
        raise InputFileError(path, f"missing column(s) {', '.join(missing)}", line=1)
    if phenotypes is not None:
        keep = frame[id_col].isin(phenotypes).to_numpy()
        frame, lines = frame.loc[keep].reset_index(drop=True), lines[keep]
        if frame.empty:
            raise InputFileError(path, f"has none of the phenotypes {', '.join(phenotypes[:5])}")
    out = pd.DataFrame({"phenotype_id": frame[id_col].astype(str), "variant_id": frame[variant_col].astype(str)})
    out["beta"] = numeric(path, frame[names["beta"]], lines, names["beta"])
    out["se"] = numeric(path, frame[names["se"]], lines, names["se"])
    out["p"] = numeric(path, frame[names["p"]], lines, names["p"]) if names["p"] in cols else np.nan
    out["maf"] = _maf(path, frame, lines)
    out["rsid"] = frame["rsid"].fillna("").astype(str) if "rsid" in cols else ""
    _positions(path, frame, lines, out, layout)
    n_problem = None
    if layout == "eqtl_catalogue" and "an" in cols:
        an = numeric(path, frame["an"], lines, "an")
        out["n"] = an / 2.0
        if "ac" in cols:
            ac = numeric(path, frame["ac"], lines, "ac")
            over = ac > an
            if over.any():
                i = int(np.argmax(over))
                n_problem = (f"its allele count ac exceeds the allele number an (line {lines[i]}: ac = {ac[i]:g}, "
                             f"an = {an[i]:g}), so an / 2 is not the sample size")
    else:
        out["n"] = np.nan
    n_inferred = _n_from_minor_counts(frame, out["maf"].to_numpy(), lines) if layout == "tensorqtl" else None
    out, dropped = _clean(out)
    return QtlSumstats(table=out[QTL_COLUMNS], path=path, layout=layout,
                       has_positions=bool((out["pos"] > 0).all()) and len(out) > 0, n_inferred=n_inferred,
                       n_problem=n_problem, dropped=dropped)


def _read_frame(path: str, phenotypes: list[str] | None) -> tuple[pd.DataFrame, np.ndarray]:
    """The file's columns (lower-cased names; strings for text files, typed for Parquet) and each row's file
    line (0 for Parquet), only the rows of ``phenotypes`` when given (read in chunks, or filtered by Parquet)."""
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic != b"PAR1":
        keep = None if phenotypes is None else (_ID_COLUMNS, set(phenotypes))
        return read_text_table(path, "\t", keep=keep)
    import pyarrow.parquet as pq

    try:
        names = pq.read_schema(path).names
        id_col = next((n for want in _ID_COLUMNS for n in names if n.lower() == want), None)
        filters = [(id_col, "in", list(phenotypes))] if phenotypes is not None and id_col else None
        table = pq.read_table(path, filters=filters)
    except Exception as e:  # pyarrow raises several types for a damaged file
        raise InputFileError(path, f"cannot read Parquet ({e})") from None
    frame = table.to_pandas()
    frame.columns = [str(c).lower() for c in frame.columns]
    return frame, np.zeros(len(frame), dtype=np.int64)


def _maf(path: str, frame: pd.DataFrame, lines: np.ndarray) -> np.ndarray:
    if "maf" in frame:
        f = numeric(path, frame["maf"], lines, "maf")
    elif "af" in frame:
        f = numeric(path, frame["af"], lines, "af")
    else:
        return np.full(len(frame), np.nan)
    bad = (f < 0) | (f > 1)
    if bad.any():
        i = int(np.argmax(bad))
        raise InputFileError(path, "the allele frequency must be between 0 and 1", line=int(lines[i]) or None)
    return np.minimum(f, 1.0 - f)


def _positions(path: str, frame: pd.DataFrame, lines: np.ndarray, out: pd.DataFrame, layout: str) -> None:
    """Fill ``chrom, pos, ref, alt`` from position columns or, failing those, from the variant ids."""
    given = {"eqtl_catalogue": ("chromosome", "position", "ref", "alt"), "tensorqtl": ("chrom", "pos", "ref", "alt")}
    cols = given[layout]
    if all(c in frame for c in cols):
        out["chrom"] = frame[cols[0]].fillna("").astype(str)
        pos = numeric(path, frame[cols[1]], lines, cols[1])
        out["pos"] = np.where(np.isfinite(pos), pos, 0).astype(np.int64)
        out["ref"] = frame[cols[2]].fillna("").astype(str).str.upper()
        out["alt"] = frame[cols[3]].fillna("").astype(str).str.upper()
        return
    codes, ids = pd.factorize(out["variant_id"])  # a variant recurs once per phenotype: parse each id once
    parts = pd.Series(ids, dtype=object).str.extract(_VARIANT_ID)
    ok = parts[0].notna()
    out["chrom"] = parts[0].where(ok, "").to_numpy(dtype=object)[codes]
    out["pos"] = pd.to_numeric(parts[1], errors="coerce").fillna(0).astype(np.int64).to_numpy()[codes]
    out["ref"] = parts[2].where(ok, "").str.upper().to_numpy(dtype=object)[codes]
    out["alt"] = parts[3].where(ok, "").str.upper().to_numpy(dtype=object)[codes]


def _n_from_minor_counts(frame: pd.DataFrame, maf: np.ndarray, lines: np.ndarray) -> float | None:
    """Sample size implied by tensorQTL's minor-allele count: the median of ``ma_count / (2 · maf)`` over
    variants with MAF ≥ 0.05 (where the count's rounding matters least); None without ``ma_count``."""
    if "ma_count" not in frame:
        return None
    count = pd.to_numeric(frame["ma_count"], errors="coerce").to_numpy(dtype=np.float64)
    ok = np.isfinite(count) & (maf >= 0.05)
    if not ok.any():
        return None
    return float(np.round(np.median(count[ok] / (2.0 * maf[ok]))))


def _clean(out: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """Drop rows without a usable effect and repeated rows of one phenotype × variant."""
    se = out["se"].to_numpy()
    usable = np.isfinite(out["beta"].to_numpy()) & np.isfinite(se) & (se > 0)
    dropped = {"no effect or standard error": int((~usable).sum())}
    out = out.loc[usable]
    key = ["phenotype_id", "chrom", "pos", "ref", "alt"] if (out["pos"] > 0).all() else ["phenotype_id", "variant_id"]
    repeated = out.duplicated(key)
    dropped["repeated phenotype × variant (e.g. one row per rsID)"] = int(repeated.sum())
    out = out.loc[~repeated].reset_index(drop=True)
    return out, {k: v for k, v in dropped.items() if v}
