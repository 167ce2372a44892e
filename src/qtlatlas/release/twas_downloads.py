"""TWAS download files in FUSION's formats: the ``.dat`` of a trait, the ``.pos`` of a weights panel, and the
panel's ``.wgt.RDat`` files (one per phenotype) in a tar.gz.

A panel's archive holds ``{panel}/{panel}.{phenotype_id}.wgt.RDat``, the paths its ``.pos`` lists in ``WGT``:
unpack it and run FUSION (or ``qtlatlas twas assoc``) with ``--weights PANEL.pos --weights_dir DIR``. Each
RDat holds FUSION's objects: ``wgt.matrix`` (SNPs × models, row names SNP ids), ``snps`` (``.bim`` columns
V1..V6: chromosome, SNP, cM, position, A1 = counted allele, A2), ``cv.performance`` (rows ``rsq``, ``pval``),
``hsq`` (h², SE), ``hsq.pv`` and ``N.tot``. Files are byte-reproducible (no timestamps in gzip or tar).
"""

from __future__ import annotations

import gzip
import io
import math
import os
import tarfile
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from ..twas.fusion_io import MODEL_NAMES, write_dat

#: The ``.pos`` WGT path of a phenotype (relative to the unpacked archive).
WGT_PATTERN = "{panel}/{panel}.{phenotype_id}.wgt.RDat"


def wgt_path(panel: str, phenotype_id: str) -> str:
    """``{panel}/{panel}.{phenotype_id}.wgt.RDat`` (characters that cannot be in a file name become ``_``)."""
    safe = "".join(c if c.isalnum() or c in "._-:" else "_" for c in phenotype_id).replace(":", "_")
    return WGT_PATTERN.format(panel=panel, phenotype_id=safe)


# ----------------------------------------------------------------------------------------------------------
# .dat and .pos
# ----------------------------------------------------------------------------------------------------------


def write_trait_dat(assoc: pd.DataFrame, path: str | os.PathLike[str], dat_columns: list[str]) -> Path:
    """FUSION ``.dat`` of a trait from its association table (work format); ``FILE`` is rewritten to the
    phenotype's weight file in the panel archive (:func:`wgt_path`)."""
    table = assoc[dat_columns].copy()
    table["FILE"] = [wgt_path(p, i) for p, i in zip(assoc["PANEL"].astype(str), assoc["ID"].astype(str), strict=True)]
    return write_dat(table, path)


def write_pos(profile: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """FUSION ``.pos`` (``PANEL WGT ID CHR P0 P1 N``, tab-separated) of a panel's profile rows."""
    table = pd.DataFrame({
        "PANEL": profile["panel"].astype(str).to_numpy(),
        "WGT": [wgt_path(p, i) for p, i in zip(profile["panel"].astype(str), profile["phenotype_id"].astype(str),
                                                strict=True)],
        "ID": profile["phenotype_id"].astype(str).to_numpy(), "CHR": profile["chrom"].astype(str).to_numpy(),
        "P0": profile["p0"].astype(np.int64).to_numpy(), "P1": profile["p1"].astype(np.int64).to_numpy(),
        "N": ["NA" if pd.isna(n) else str(int(n)) for n in profile["n"]],
    })
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, sep="\t", index=False)
    return path


# ----------------------------------------------------------------------------------------------------------
# .wgt.RDat
# ----------------------------------------------------------------------------------------------------------


class _RMatrix:
    """A numeric R matrix with row and column names."""

    def __init__(self, values: np.ndarray, rows: list[str], cols: list[str]):
        self.values, self.rows, self.cols = values, rows, cols


def _matrix_constructor(m: _RMatrix, converter):
    from rdata.conversion.to_r import RObjectType, build_r_object

    attributes = converter.convert_to_r_attributes({
        "dim": np.array(m.values.shape, dtype=np.int32),
        "dimnames": [np.array(m.rows, dtype=object), np.array(m.cols, dtype=object)],
    })
    return build_r_object(RObjectType.REAL, value=np.ravel(np.asarray(m.values, dtype=np.float64), order="F"),
                          attributes=attributes)


def _na(x) -> float:
    return math.nan if x is None or pd.isna(x) else float(x)


def rdat_bytes(weights: pd.DataFrame, profile: dict) -> bytes:
    """The gzip-compressed ``.wgt.RDat`` of one phenotype: ``weights`` are its rows of the weights table
    (panel format), ``profile`` its profile row. Models whose weights are all null are left out."""
    import rdata
    from rdata.conversion.to_r import DEFAULT_CLASS_MAP

    models = [m for m in MODEL_NAMES if m in weights and weights[m].notna().any()]
    snp_ids = weights["variant_id"].astype(str).tolist()
    snps = pd.DataFrame({
        "V1": weights["chrom"].astype(str).to_numpy(dtype=object), "V2": np.array(snp_ids, dtype=object),
        "V3": np.zeros(len(weights)), "V4": weights["pos"].to_numpy(np.int32),
        "V5": weights["a1"].astype(str).to_numpy(dtype=object), "V6": weights["a2"].astype(str).to_numpy(dtype=object),
    }, index=pd.RangeIndex(1, len(weights) + 1))
    for col in ("V1", "V2", "V5", "V6"):  # R character vectors (pandas may infer a string dtype rdata lacks)
        snps[col] = snps[col].astype(object)
    wgt = weights[models].to_numpy(dtype=np.float64, na_value=np.nan) if models else np.zeros((len(weights), 0))
    cv = np.array([[_na(profile.get(f"{m}_r2")) for m in models], [_na(profile.get(f"{m}_pval")) for m in models]])
    n = profile.get("n")
    data = {"wgt.matrix": _RMatrix(np.nan_to_num(wgt, nan=0.0), snp_ids, models), "snps": snps,
            "cv.performance": _RMatrix(cv.reshape(2, len(models)), ["rsq", "pval"], models),
            "hsq": np.array([_na(profile.get("hsq")), _na(profile.get("hsq_se"))]),
            "hsq.pv": np.array([_na(profile.get("hsq_pval"))]),
            "N.tot": np.array([0 if n is None or pd.isna(n) else int(n)], dtype=np.int32)}
    constructors = {**DEFAULT_CLASS_MAP, _RMatrix: _matrix_constructor}
    with tempfile.TemporaryDirectory(prefix="qtlatlas-rdat-") as tmp:
        raw = Path(tmp) / "x.RDat"
        rdata.write_rda(raw, data, compression=None, constructor_dict=constructors)
        return gzip.compress(raw.read_bytes(), mtime=0)


def write_weights_archive(weights: pd.DataFrame, profile: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """tar.gz of every phenotype's ``.wgt.RDat`` (:func:`wgt_path` names), in profile order; reproducible."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    groups = weights.groupby("phenotype_id", sort=False).indices if len(weights) else {}
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for rec in profile.to_dict("records"):
            rows = groups.get(rec["phenotype_id"], [])
            content = rdat_bytes(weights.iloc[rows], rec)
            info = tarfile.TarInfo(wgt_path(str(rec["panel"]), str(rec["phenotype_id"])))
            info.size, info.mtime, info.mode, info.uid, info.gid = len(content), 0, 0o644, 0, 0
            tar.addfile(info, io.BytesIO(content))
    return path
