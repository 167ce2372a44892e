"""TWAS weight panels in and out: FUSION panels (``.pos`` + ``.wgt.RDat``) and our Parquet panels.

Both readers return the same in-memory objects, one :class:`TwasModel` per phenotype (all of its
predictive models: top1, lasso, enet, blup, …).

FUSION panel
    ``.pos``: whitespace-separated table with a header, columns ``[PANEL] WGT ID CHR P0 P1 [N]``; ``WGT`` is
    the path of the phenotype's ``.wgt.RDat`` relative to ``--weights_dir``.
    ``.wgt.RDat``: an R save file holding ``wgt.matrix`` (SNPs × models, row names = SNP ids, column names =
    model names), ``snps`` (a .bim-like data.frame ``CHR SNP CM BP A1 A2``, rows matching ``wgt.matrix``),
    ``cv.performance`` (rows ``rsq`` and ``pval`` × models), ``hsq`` (h², optionally followed by its SE),
    ``hsq.pv`` and ``N.tot``. It is read with the ``rdata`` package.

Parquet panel (a directory holding two tables)
    ``twas_weights.parquet``: long format, one row per (phenotype, SNP): ``panel, phenotype_id, gene_id,
    variant_id, chrom, pos, a1, a2, top1, lasso, enet, blup`` (a weight column may be null for a model that
    was not fitted).
    ``twas_profile.parquet``: one row per phenotype: ``panel, phenotype_id, gene_id, chrom, p0, p1, n,
    n_snps, hsq, hsq_se, hsq_pval, top1_r2, top1_pval, lasso_r2, lasso_pval, enet_r2, enet_pval, blup_r2,
    blup_pval, best_model``.

Weights are per standardised genotype; A1 is the counted (effect) allele of every weight.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputFileError, require_file

MODEL_NAMES = ("top1", "lasso", "enet", "blup")
"""The predictive models of a Parquet panel, in column order."""

WEIGHTS_FILE = "twas_weights.parquet"
PROFILE_FILE = "twas_profile.parquet"

WEIGHT_COLUMNS = ("panel", "phenotype_id", "gene_id", "variant_id", "chrom", "pos", "a1", "a2", *MODEL_NAMES)
PROFILE_COLUMNS = (
    "panel", "phenotype_id", "gene_id", "chrom", "p0", "p1", "n", "n_snps", "hsq", "hsq_se", "hsq_pval",
    *(f"{m}_{s}" for m in MODEL_NAMES for s in ("r2", "pval")), "best_model",
)
SNP_COLUMNS = ("chrom", "snp", "cm", "pos", "a1", "a2")
"""Columns of :attr:`TwasModel.snps` (a .bim-like table: A1 is the allele the weights count)."""


@dataclass
class TwasModel:
    """All predictive models of one phenotype in one panel.

    Attributes:
        panel: panel name (tissue × modality), or None when a FUSION ``.pos`` has no PANEL column.
        phenotype_id: the phenotype (FUSION ``ID``).
        gene_id: the gene the phenotype belongs to (equal to ``phenotype_id`` for FUSION panels).
        chrom: chromosome as written in the panel.
        p0, p1: phenotype coordinates (FUSION ``P0``/``P1``, 1-based bp).
        n: training sample size (FUSION ``N``; used by coloc), or None.
        snps: ``(n_snps,)`` rows, columns :data:`SNP_COLUMNS`.
        weights: ``(n_snps, n_models)`` float64 weights per standardised genotype (missing → 0).
        models: ``n_models`` model names, one per column of ``weights``.
        cv_r2: ``(n_r2_rows, n_models)`` cross-validation R² (FUSION ``cv.performance`` rows named ``rsq``).
        cv_pval: ``(n_pval_rows, n_models)`` cross-validation p-values (rows named ``pval``).
        hsq, hsq_se, hsq_pval: cis-heritability, its standard error and p-value (NaN when unknown).
        source: where the model came from (the FUSION ``FILE`` column of the association output).
    """

    panel: str | None
    phenotype_id: str
    gene_id: str
    chrom: str
    p0: int
    p1: int
    n: int | None
    snps: pd.DataFrame
    weights: np.ndarray
    models: tuple[str, ...]
    cv_r2: np.ndarray
    cv_pval: np.ndarray
    hsq: float = math.nan
    hsq_se: float = math.nan
    hsq_pval: float = math.nan
    source: str = ""

    @property
    def n_snps(self) -> int:
        return int(self.weights.shape[0])


# ----------------------------------------------------------------------------------------------------------
# FUSION .pos
# ----------------------------------------------------------------------------------------------------------

POS_REQUIRED = ("WGT", "ID", "CHR", "P0", "P1")


def read_pos(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a FUSION ``.pos`` file: columns ``[PANEL] WGT ID CHR P0 P1 [N]`` (strings; P0/P1 int64, N float).

    Raises:
        InputFileError: missing file, missing columns, non-integer P0/P1, empty table.
    """
    path = os.fspath(path)
    require_file(path, "weights list (.pos)")
    try:
        table = pd.read_csv(path, sep=r"\s+", dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise InputFileError(path, f"not a readable .pos table ({str(e).strip().splitlines()[-1]})") from None
    missing = [c for c in POS_REQUIRED if c not in table.columns]
    if missing:
        raise InputFileError(path, f"missing column(s) {', '.join(missing)}; a .pos file has a header "
                                   "[PANEL] WGT ID CHR P0 P1 [N]", line=1)
    if table.empty:
        raise InputFileError(path, "lists no weight files")
    for col in ("P0", "P1"):
        values = pd.to_numeric(table[col], errors="coerce")
        bad = values.isna() | (values != values.round())
        if bad.any():
            i = int(bad.to_numpy().argmax())
            raise InputFileError(path, f"column {col}: {table[col].iat[i]!r} is not an integer position", line=i + 2)
        table[col] = values.astype(np.int64)
    if "N" in table.columns:
        n = pd.to_numeric(table["N"].replace({"NA": None}), errors="coerce")
        bad = n.isna() & ~table["N"].isin(["NA", ""])
        if bad.any():
            i = int(bad.to_numpy().argmax())
            raise InputFileError(path, f"column N: {table['N'].iat[i]!r} is not a sample size", line=i + 2)
        table["N"] = n
    return table


def write_pos(models: Iterable[TwasModel], path: str | os.PathLike[str],
              wgt_pattern: str = "{panel}/{panel}.{phenotype_id}.wgt.RDat") -> Path:
    """Write a FUSION ``.pos`` listing ``models`` (``PANEL WGT ID CHR P0 P1 N``), one row per phenotype.

    ``WGT`` is built from ``wgt_pattern`` (fields ``panel``, ``phenotype_id``, ``gene_id``), FUSION's naming of
    weight files relative to ``--weights_dir``. Returns the path written.
    """
    rows = []
    for m in models:
        panel = m.panel if m.panel is not None else "NA"
        rows.append({"PANEL": panel, "WGT": wgt_pattern.format(panel=panel, phenotype_id=m.phenotype_id,
                                                                gene_id=m.gene_id),
                     "ID": m.phenotype_id, "CHR": m.chrom, "P0": int(m.p0), "P1": int(m.p1),
                     "N": "NA" if m.n is None else int(m.n)})
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows, columns=["PANEL", "WGT", "ID", "CHR", "P0", "P1", "N"]).to_csv(path, sep="\t", index=False)
    return path


# ----------------------------------------------------------------------------------------------------------
# FUSION .wgt.RDat
# ----------------------------------------------------------------------------------------------------------


@dataclass
class _Matrix:
    """An R matrix: ``(rows, cols)`` values with optional row and column names."""

    values: np.ndarray
    rows: list[str] | None
    cols: list[str] | None


class _Unsupported(Exception):
    """An R object the direct walker does not handle (the generic rdata conversion is used instead)."""


def _r_objects(path: str) -> dict:
    """The objects of an R save file: matrices as :class:`_Matrix`, data.frames as DataFrames, vectors as
    float arrays (NA → NaN) or lists of strings. InputFileError when it is not an R save file."""
    import rdata

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # rdata warns about file extensions it does not know
            parsed = rdata.parser.parse_file(path)
    except Exception as e:  # rdata raises a variety of errors on foreign or truncated files
        raise InputFileError(path, f"not a readable R save file (.RDat): {type(e).__name__}: {e}") from None
    try:
        return {name: _simplify(value) for name, value in _pairlist(parsed.object)}
    except _Unsupported:
        pass
    try:
        converted = dict(rdata.conversion.convert(parsed))
    except Exception as e:
        raise InputFileError(path, f"cannot convert the R objects: {type(e).__name__}: {e}") from None
    return {name: _from_rdata(value) for name, value in converted.items()}


def _rtype(obj):
    from rdata.parser import RObjectType

    while obj.info.type == RObjectType.REF:
        obj = obj.referenced_object
    return obj, obj.info.type, RObjectType


def _symbol(tag) -> str:
    tag, kind, T = _rtype(tag)
    if kind == T.SYM:
        tag, kind, T = _rtype(tag.value)
    if kind != T.CHAR:
        raise _Unsupported
    return tag.value.decode("utf-8", "replace")


def _pairlist(obj):
    """``(tag, RObject)`` items of an R pairlist."""
    _, _, T = _rtype(obj)
    while obj is not None:
        obj, kind, _ = _rtype(obj)
        if kind == T.NILVALUE:
            return
        if kind != T.LIST:
            raise _Unsupported
        yield _symbol(obj.tag), obj.value[0]
        obj = obj.value[1] if len(obj.value) > 1 else None


_INT_NA = np.iinfo(np.int32).min


@dataclass
class _RValue:
    value: object
    attrs: dict


def _walk(obj) -> _RValue | None:
    """Direct conversion of a parsed R object (numeric, logical, character vectors and lists)."""
    obj, kind, T = _rtype(obj)
    if kind == T.NILVALUE:
        return None
    if kind in (T.REAL, T.INT, T.LGL):
        raw = np.ma.asarray(obj.value)
        value = np.ma.filled(raw.astype(np.float64), np.nan).ravel()
        if kind == T.INT:
            value[np.ma.getdata(raw).ravel() == _INT_NA] = np.nan
    elif kind == T.STR:
        value = [None if c.value is None else c.value.decode("utf-8", "replace") for c in obj.value]
    elif kind == T.VEC:
        value = [_walk(x) for x in obj.value]
    else:
        raise _Unsupported
    attrs = {} if obj.attributes is None else {k: _walk(v) for k, v in _pairlist(obj.attributes)}
    return _RValue(value, attrs)


def _strings(v: _RValue | None) -> list[str] | None:
    if v is None:
        return None
    if isinstance(v.value, list) and all(x is None or isinstance(x, str) for x in v.value):
        return ["NA" if x is None else x for x in v.value]
    raise _Unsupported


def _simplify(obj):
    """A parsed R object as a _Matrix, DataFrame, float array or list of strings."""
    v = _walk(obj)
    if v is None:
        return None
    cls = _strings(v.attrs.get("class")) or []
    if "data.frame" in cls:
        names = _strings(v.attrs.get("names")) or [f"V{i + 1}" for i in range(len(v.value))]
        return pd.DataFrame({n: _column(c) for n, c in zip(names, v.value, strict=True)})
    if "dim" in v.attrs and isinstance(v.value, np.ndarray):
        dims = [int(d) for d in v.attrs["dim"].value]
        if len(dims) != 2:
            raise _Unsupported
        rows = cols = None
        dimnames = v.attrs.get("dimnames")
        if dimnames is not None:
            rows, cols = (_strings(x) for x in dimnames.value)
        return _Matrix(v.value.reshape(dims, order="F"), rows, cols)
    if isinstance(v.value, np.ndarray):
        return v.value
    return _strings(v)


def _column(v: _RValue) -> np.ndarray:
    levels = _strings(v.attrs.get("levels"))
    if levels is not None:  # factor: 1-based codes
        codes = v.value
        return np.array(["NA" if np.isnan(c) else levels[int(c) - 1] for c in codes], dtype=object)
    if isinstance(v.value, np.ndarray):
        return v.value
    return np.array(_strings(v), dtype=object)


def _from_rdata(value):
    """An object converted by rdata's generic converter, in the representation of :func:`_simplify`."""
    if isinstance(value, pd.DataFrame):
        return value
    dims = getattr(value, "dims", None)
    if dims is not None and len(dims) == 2:
        coords = value.coords
        rows = [str(x) for x in coords[dims[0]].values] if dims[0] in coords else None
        cols = [str(x) for x in coords[dims[1]].values] if dims[1] in coords else None
        return _Matrix(np.asarray(value.values), rows, cols)
    arr = np.ma.asarray(value)
    if arr.dtype.kind in "fiub":
        return np.ma.filled(arr.astype(np.float64), np.nan).ravel()
    return [str(x) for x in np.asarray(value).ravel()]


def _matrix(obj, path: str, name: str) -> tuple[np.ndarray, list[str] | None, list[str] | None]:
    """``(values, row names, column names)`` of an R matrix (a numeric vector is one column)."""
    if isinstance(obj, _Matrix):
        return obj.values, obj.rows, obj.cols
    if isinstance(obj, np.ndarray) and obj.ndim == 1:
        return obj[:, None], None, None
    raise InputFileError(path, f"{name} is not a numeric matrix")


def _text(column: pd.Series) -> np.ndarray:
    """A data.frame column as strings (whole numbers without a decimal point: chromosome 22, not 22.0)."""
    if pd.api.types.is_numeric_dtype(column):
        values = column.to_numpy(dtype=np.float64)
        if np.all(np.isfinite(values) & (values == np.round(values))):
            return values.astype(np.int64).astype(str).astype(object)
    return column.astype(str).to_numpy(dtype=object)


def _scalar(obj, default: float = math.nan, index: int = 0) -> float:
    """Element ``index`` of an R numeric vector as float; NA → NaN."""
    if not isinstance(obj, np.ndarray) or obj.size <= index:
        return default
    return float(obj.ravel()[index])


def read_wgt_rdat(path: str | os.PathLike[str], *, panel: str | None = None, phenotype_id: str | None = None,
                  chrom: str | None = None, p0: int = 0, p1: int = 0, n: int | None = None,
                  source: str | None = None) -> TwasModel:
    """Read one FUSION ``.wgt.RDat`` into a :class:`TwasModel`.

    The ``.pos`` fields (``panel``, ``phenotype_id``, ``chrom``, ``p0``, ``p1``, ``n``) are passed in; when
    ``n`` is None the file's ``N.tot`` is used. ``source`` is the FUSION ``FILE`` value (default: ``path``).

    Raises:
        InputFileError: not an R save file, or ``wgt.matrix``/``snps``/``cv.performance`` missing or
            inconsistent.
    """
    path = os.fspath(path)
    require_file(path, "weight file (.wgt.RDat)")
    objs = _r_objects(path)
    for name in ("wgt.matrix", "snps", "cv.performance"):
        if name not in objs:
            raise InputFileError(path, f"no object {name!r} in the R save file (found: {', '.join(objs) or 'none'})")
    weights, _, models = _matrix(objs["wgt.matrix"], path, "wgt.matrix")
    try:
        weights = np.asarray(weights, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputFileError(path, "wgt.matrix is not numeric") from None
    weights = np.where(np.isfinite(weights), weights, 0.0)
    snps = objs["snps"]
    if not isinstance(snps, pd.DataFrame) or snps.shape[1] < 6:
        raise InputFileError(path, "snps is not a 6-column data.frame (CHR SNP CM BP A1 A2)")
    if len(snps) != weights.shape[0]:
        raise InputFileError(path, f"snps has {len(snps)} rows but wgt.matrix has {weights.shape[0]}")
    cv, cv_rows, cv_cols = _matrix(objs["cv.performance"], path, "cv.performance")
    if models is None:
        models = cv_cols
    if models is None:
        raise InputFileError(path, "wgt.matrix has no model names (column names)")
    if cv.shape[1] != len(models):
        raise InputFileError(path, f"cv.performance has {cv.shape[1]} columns but wgt.matrix has {len(models)} models")
    cv = np.asarray(cv, dtype=np.float64)
    rows = cv_rows or ["rsq", "pval"][: cv.shape[0]]
    r2_rows = [i for i, r in enumerate(rows) if "rsq" in r]
    pval_rows = [i for i, r in enumerate(rows) if "pval" in r]
    table = pd.DataFrame({
        "chrom": _text(snps.iloc[:, 0]),
        "snp": _text(snps.iloc[:, 1]),
        "cm": pd.to_numeric(snps.iloc[:, 2], errors="coerce").to_numpy(dtype=np.float64),
        "pos": pd.to_numeric(snps.iloc[:, 3], errors="coerce").fillna(-1).to_numpy(dtype=np.int64),
        "a1": snps.iloc[:, 4].astype(str).str.upper().to_numpy(),
        "a2": snps.iloc[:, 5].astype(str).str.upper().to_numpy(),
    })
    hsq = objs.get("hsq")
    n_tot = _scalar(objs.get("N.tot"))
    pid = phenotype_id if phenotype_id is not None else Path(path).name.removesuffix(".wgt.RDat")
    return TwasModel(
        panel=panel, phenotype_id=pid, gene_id=pid,
        chrom=str(chrom) if chrom is not None else (str(table["chrom"].iat[0]) if len(table) else ""),
        p0=int(p0), p1=int(p1), n=n if n is not None else (None if math.isnan(n_tot) else int(n_tot)),
        snps=table, weights=weights, models=tuple(models),
        cv_r2=cv[r2_rows] if r2_rows else np.full((1, len(models)), np.nan),
        cv_pval=cv[pval_rows] if pval_rows else np.full((1, len(models)), np.nan),
        hsq=_scalar(hsq), hsq_se=_scalar(hsq, index=1), hsq_pval=_scalar(objs.get("hsq.pv")),
        source=source if source is not None else path,
    )


def read_fusion_panel(pos: str | os.PathLike[str], weights_dir: str | os.PathLike[str] | None = None,
                      chrom: str | None = None) -> list[TwasModel]:
    """Read every model listed in a FUSION ``.pos`` (only chromosome ``chrom`` when given), in file order.

    ``WGT`` paths are relative to ``weights_dir`` (default: the ``.pos`` file's directory); each model's
    ``source`` is ``{weights_dir}/{WGT}``, FUSION's ``FILE`` column.
    """
    table = read_pos(pos)
    if chrom is not None:
        from ..io.chromosomes import chrom_key

        table = table[table["CHR"].astype(str).map(chrom_key) == chrom_key(chrom)]
    base = os.fspath(weights_dir) if weights_dir is not None else os.path.dirname(os.fspath(pos)) or "."
    models = []
    for row in table.itertuples(index=False):
        rec = row._asdict()
        file = f"{base}/{rec['WGT']}"
        n = rec.get("N")
        panel = rec.get("PANEL")
        models.append(read_wgt_rdat(
            file, panel=None if panel in (None, "NA", "") else str(panel), phenotype_id=str(rec["ID"]),
            chrom=str(rec["CHR"]), p0=rec["P0"], p1=rec["P1"],
            n=None if n is None or (isinstance(n, float) and math.isnan(n)) else int(n), source=file))
    return models


# ----------------------------------------------------------------------------------------------------------
# Parquet panel
# ----------------------------------------------------------------------------------------------------------


def is_parquet_panel(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` is a directory holding ``twas_weights.parquet`` and ``twas_profile.parquet``."""
    p = Path(path)
    return p.is_dir() and (p / WEIGHTS_FILE).is_file() and (p / PROFILE_FILE).is_file()


def _read_parquet(path: Path, required: Sequence[str], what: str) -> pd.DataFrame:
    import pyarrow.lib
    import pyarrow.parquet as pq

    require_file(path, what)
    try:
        schema = pq.read_schema(path)
    except (pyarrow.lib.ArrowException, OSError) as e:
        raise InputFileError(path, f"not a readable Parquet file: {e}") from None
    missing = [c for c in required if c not in schema.names]
    if missing:
        raise InputFileError(path, f"{what} lacks column(s) {', '.join(missing)}")
    try:
        return pq.read_table(path, columns=list(required)).to_pandas()
    except (pyarrow.lib.ArrowException, OSError) as e:
        raise InputFileError(path, f"cannot read {what}: {e}") from None


def read_parquet_panel(directory: str | os.PathLike[str], chrom: str | None = None,
                       panels: Sequence[str] | None = None) -> list[TwasModel]:
    """Read a Parquet panel directory into one :class:`TwasModel` per profile row (chromosome ``chrom`` and
    ``panels`` only, when given), in profile order.

    A model is kept for a phenotype when its CV p-value or any of its weights is non-null; null weights of
    kept models are 0. Each model's ``source`` is the weights table's path (the association ``FILE``).

    Raises:
        InputFileError: missing tables or columns, a profile row without weights, weights without a profile
            row, non-numeric positions.
    """
    directory = Path(directory)
    wpath, ppath = directory / WEIGHTS_FILE, directory / PROFILE_FILE
    profile = _read_parquet(ppath, PROFILE_COLUMNS[:-1], "TWAS profile table")
    weights = _read_parquet(wpath, WEIGHT_COLUMNS, "TWAS weights table")
    if chrom is not None:
        from ..io.chromosomes import chrom_key

        profile = profile[profile["chrom"].astype(str).map(chrom_key) == chrom_key(chrom)]
    if panels is not None:
        profile = profile[profile["panel"].isin(list(panels))]
    if chrom is not None or panels is not None:
        wanted = pd.MultiIndex.from_arrays([profile["panel"].astype(str), profile["phenotype_id"].astype(str)])
        have = pd.MultiIndex.from_arrays([weights["panel"].astype(str), weights["phenotype_id"].astype(str)])
        weights = weights[have.isin(wanted)]
    return models_from_tables(profile, weights, ppath, wpath)


def models_from_tables(profile: pd.DataFrame, weights: pd.DataFrame, ppath: str | os.PathLike[str],
                       wpath: str | os.PathLike[str]) -> list[TwasModel]:
    """One :class:`TwasModel` per row of a profile table (:data:`PROFILE_COLUMNS`), its weights taken from a
    weights table (:data:`WEIGHT_COLUMNS`); ``ppath``/``wpath`` name the tables in errors (see
    :func:`read_parquet_panel`, which this serves, as does the reading of a release's ``twas_models`` and
    ``twas_weights`` tables)."""
    profile = profile.copy()
    weights = weights.copy()
    for col in ("panel", "phenotype_id", "gene_id", "chrom"):
        profile[col] = profile[col].astype(str)
    for col in ("panel", "phenotype_id", "variant_id", "chrom", "a1", "a2"):
        weights[col] = weights[col].astype(str)
    key = ["panel", "phenotype_id"]
    dup = profile.duplicated(key)
    if dup.any():
        i = int(dup.to_numpy().argmax())
        raise InputFileError(ppath, f"phenotype {profile['phenotype_id'].iat[i]!r} of panel "
                                    f"{profile['panel'].iat[i]!r} appears more than once")
    if weights["pos"].isna().any():
        raise InputFileError(wpath, "column pos has null values")
    weights = weights.reset_index(drop=True)
    groups = weights.groupby(key, sort=False).indices
    orphans = set(groups) - set(zip(profile["panel"], profile["phenotype_id"], strict=True))
    if orphans:
        panel, pid = sorted(orphans)[0]
        raise InputFileError(wpath, f"{len(orphans)} phenotype(s) have weights but no profile row, e.g. "
                                    f"{pid!r} of panel {panel!r}")
    wmat = weights[list(MODEL_NAMES)].to_numpy(dtype=np.float64, na_value=np.nan)
    snp_table = pd.DataFrame({"chrom": weights["chrom"], "snp": weights["variant_id"], "cm": 0.0,
                              "pos": weights["pos"].astype(np.int64), "a1": weights["a1"].str.upper(),
                              "a2": weights["a2"].str.upper()})
    models = []
    for rec in profile.to_dict("records"):
        rows = groups.get((rec["panel"], rec["phenotype_id"]))
        if rows is None:
            raise InputFileError(wpath, f"no weights for phenotype {rec['phenotype_id']!r} of panel "
                                        f"{rec['panel']!r} (listed in {PROFILE_FILE})")
        w = wmat[rows]
        r2 = np.array([rec[f"{m}_r2"] for m in MODEL_NAMES], dtype=np.float64)
        pv = np.array([rec[f"{m}_pval"] for m in MODEL_NAMES], dtype=np.float64)
        present = ~np.isnan(pv) | ~np.isnan(w).all(axis=0)
        names = tuple(m for m, k in zip(MODEL_NAMES, present, strict=True) if k)
        n = rec["n"]
        models.append(TwasModel(
            panel=rec["panel"], phenotype_id=rec["phenotype_id"], gene_id=rec["gene_id"], chrom=rec["chrom"],
            p0=int(rec["p0"]), p1=int(rec["p1"]),
            n=None if pd.isna(n) else int(n),
            snps=snp_table.iloc[rows].reset_index(drop=True),
            weights=np.nan_to_num(w[:, present], nan=0.0), models=names,
            cv_r2=r2[present][None, :], cv_pval=pv[present][None, :],
            hsq=_float(rec["hsq"]), hsq_se=_float(rec["hsq_se"]), hsq_pval=_float(rec["hsq_pval"]),
            source=str(wpath)))
    return models


def _float(x) -> float:
    return math.nan if x is None or pd.isna(x) else float(x)


def write_parquet_panel(models: Sequence[TwasModel], directory: str | os.PathLike[str],
                        panel: str | None = None) -> Path:
    """Write ``models`` as a Parquet panel (``twas_weights.parquet`` + ``twas_profile.parquet``).

    Used to convert a FUSION panel once into the faster format. Models missing from a phenotype get null
    weights and CV statistics. ``panel`` names models whose ``panel`` is None. Returns the directory.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    wparts, prows = [], []
    for m in models:
        name = m.panel if m.panel is not None else (panel or "NA")
        cols = {k: i for i, k in enumerate(m.models)}
        part = pd.DataFrame({"panel": name, "phenotype_id": m.phenotype_id, "gene_id": m.gene_id,
                             "variant_id": m.snps["snp"].to_numpy(), "chrom": str(m.chrom),
                             "pos": m.snps["pos"].to_numpy(dtype=np.int64),
                             "a1": m.snps["a1"].to_numpy(), "a2": m.snps["a2"].to_numpy()})
        row = {"panel": name, "phenotype_id": m.phenotype_id, "gene_id": m.gene_id, "chrom": str(m.chrom),
               "p0": int(m.p0), "p1": int(m.p1), "n": m.n, "n_snps": m.n_snps, "hsq": m.hsq, "hsq_se": m.hsq_se,
               "hsq_pval": m.hsq_pval}
        best, best_p = None, math.inf
        for k in MODEL_NAMES:
            j = cols.get(k)
            part[k] = m.weights[:, j] if j is not None else np.nan
            row[f"{k}_r2"] = float(m.cv_r2[0, j]) if j is not None else math.nan
            row[f"{k}_pval"] = float(np.nanmin(m.cv_pval[:, j])) if j is not None else math.nan
            if j is not None and row[f"{k}_pval"] < best_p:
                best, best_p = k, row[f"{k}_pval"]
        row["best_model"] = best
        wparts.append(part)
        prows.append(row)
    weights = pd.concat(wparts, ignore_index=True) if wparts else pd.DataFrame(columns=list(WEIGHT_COLUMNS))
    profile = pd.DataFrame(prows, columns=list(PROFILE_COLUMNS))
    profile["n"] = profile["n"].astype("Int64")
    weights.to_parquet(directory / WEIGHTS_FILE, index=False)
    profile.to_parquet(directory / PROFILE_FILE, index=False)
    return directory


# ----------------------------------------------------------------------------------------------------------
# R number formatting (FUSION writes some columns with format(x, digits = d))
# ----------------------------------------------------------------------------------------------------------


def format_r(x: float, digits: int = 2) -> str:
    """``x`` as R's ``format(x, digits = digits)`` prints one number: at most ``digits`` significant digits,
    trailing zeros dropped, fixed notation unless scientific is narrower (R's default ``scipen = 0``).

    >>> format_r(0.346), format_r(5.8e-35), format_r(0.094), format_r(1e-4)
    ('0.35', '5.8e-35', '0.094', '1e-04')
    """
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "NA"
    if math.isinf(x):
        return "Inf" if x > 0 else "-Inf"
    if x == 0:
        return "0"
    sci = f"{x:.{digits - 1}e}"
    mantissa, exp = sci.split("e")
    mantissa = mantissa.rstrip("0").rstrip(".") if "." in mantissa else mantissa
    kpower = int(exp)
    nsig = len(mantissa.lstrip("-").replace(".", ""))
    rgt = max(0, nsig - kpower - 1)
    fixed = f"{x:.{rgt}f}"
    exp_digits = f"{abs(kpower):02d}"
    scientific = f"{mantissa}e{'-' if kpower < 0 else '+'}{exp_digits}"
    return fixed if len(fixed) <= len(scientific) else scientific


# ----------------------------------------------------------------------------------------------------------
# FUSION association output (.dat)
# ----------------------------------------------------------------------------------------------------------

DAT_NUMERIC = ("P0", "P1", "HSQ", "BEST.GWAS.Z", "EQTL.R2", "EQTL.Z", "EQTL.GWAS.Z", "NSNP", "NWGT", "TWAS.Z",
               "TWAS.P", "COLOC.PP0", "COLOC.PP1", "COLOC.PP2", "COLOC.PP3", "COLOC.PP4", "PERM.PV", "PERM.N",
               "PERM.ANL_PV")


def _cell(x) -> str:
    if x is None or x is pd.NA:
        return "NA"
    if isinstance(x, float | np.floating):
        if math.isnan(x):
            return "NA"
        return repr(float(x))
    return str(x)


def write_dat(table: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write an association table as a FUSION ``.dat`` (tab-separated, header, NA for missing values).

    Numbers are written at full precision (shortest round-trip representation), not rounded to 3 digits.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["\t".join(table.columns)]
    for values in table.itertuples(index=False, name=None):
        lines.append("\t".join(_cell(v) for v in values))
    path.write_text("\n".join(lines) + "\n")
    return path


def read_dat(path: str | os.PathLike[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read a FUSION association output (``.dat``; FUSION's own or ours, rounded or full precision).

    Returns ``(text, numbers)``: the cells as written (stripped strings, for pass-through) and a table with
    the numeric columns (:data:`DAT_NUMERIC` present in the file) parsed, NA → NaN.

    Raises:
        InputFileError: missing file, no ``FILE``/``ID``/``CHR``/``P0``/``P1``/``TWAS.Z``/``TWAS.P`` column,
            non-numeric values.
    """
    path = os.fspath(path)
    require_file(path, "TWAS association output (.dat)")
    try:
        text = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise InputFileError(path, f"not a readable tab-separated .dat ({str(e).strip().splitlines()[-1]})") from None
    text.columns = [c.strip() for c in text.columns]
    needed = ("FILE", "ID", "CHR", "P0", "P1", "MODEL", "TWAS.Z", "TWAS.P")
    missing = [c for c in needed if c not in text.columns]
    if missing:
        raise InputFileError(path, f"missing column(s) {', '.join(missing)}: not a TWAS association output", line=1)
    text = text.apply(lambda s: s.str.strip())
    numbers = text.copy()
    for col in DAT_NUMERIC:
        if col not in text:
            continue
        values = pd.to_numeric(text[col].replace({"NA": None, "": None}), errors="coerce")
        bad = values.isna() & ~text[col].isin(["NA", ""])
        if bad.any():
            i = int(bad.to_numpy().argmax())
            raise InputFileError(path, f"column {col}: {text[col].iat[i]!r} is not a number", line=i + 2)
        numbers[col] = values.astype(np.float64)
    return text, numbers


def _resolve_weight_file(file: str, weights_dir: str | None, base_dirs: Sequence[str]) -> str | None:
    """Where FUSION ``FILE`` value ``file`` is: as written, else under ``weights_dir`` (then ``base_dirs``)
    with leading path components dropped one by one. None when not found."""
    if os.path.isfile(file):
        return file
    parts = Path(file).parts
    for root in ([weights_dir] if weights_dir else []) + list(base_dirs):
        for k in range(len(parts)):
            candidate = os.path.join(root, *parts[k:])
            if os.path.isfile(candidate):
                return candidate
    return None


def models_for_dat(table: pd.DataFrame, weights_dir: str | os.PathLike[str] | None = None,
                   dat_path: str | os.PathLike[str] | None = None) -> list[TwasModel]:
    """The weight model of every row of an association table (columns ``PANEL FILE ID CHR P0 P1``; the
    table's index is its row number in the file, as :func:`read_dat` gives it, so that a subset of its rows
    still names the right line).

    ``FILE`` names a FUSION ``.wgt.RDat`` or a Parquet weights table (``…/twas_weights.parquet``, where the row
    is found by ``PANEL`` and ``ID``). A ``FILE`` that does not exist as written (FUSION writes it relative
    to the directory it ran in) is looked up under ``weights_dir`` and beside ``dat_path``, dropping leading
    path components until it is found. Each file is read once.

    Raises:
        InputFileError: a weight file that cannot be found (naming the ``.dat`` line) or read.
    """
    where = os.fspath(dat_path) if dat_path is not None else "association table"
    bases = []
    if dat_path is not None:
        d = Path(dat_path).resolve().parent
        bases = [str(d), str(d.parent)]
    wdir = os.fspath(weights_dir) if weights_dir is not None else None
    rdat: dict[str, TwasModel] = {}
    parquet: dict[str, dict[tuple[str, str], TwasModel]] = {}
    out = []
    for index, row in zip(table.index, table.to_dict("records"), strict=True):
        line = int(index) + 2  # after the header
        file = str(row["FILE"])
        path = _resolve_weight_file(file, wdir, bases)
        if path is None:
            raise InputFileError(where, f"weight file {file!r} not found (give its directory with --weights_dir)",
                                 line=line if dat_path is not None else None)
        panel = None if str(row.get("PANEL", "NA")) in ("NA", "", "nan") else str(row["PANEL"])
        if path.endswith(".parquet"):
            if path not in parquet:
                parquet[path] = {(m.panel, m.phenotype_id): m for m in read_parquet_panel(Path(path).parent)}
            model = parquet[path].get((panel, str(row["ID"])))
            if model is None:
                raise InputFileError(where, f"phenotype {row['ID']!r} of panel {panel!r} is not in {path}",
                                     line=line if dat_path is not None else None)
        else:
            if path not in rdat:
                rdat[path] = read_wgt_rdat(path, panel=panel, phenotype_id=str(row["ID"]), chrom=str(row["CHR"]),
                                           p0=int(float(row["P0"])), p1=int(float(row["P1"])), source=file)
            model = rdat[path]
        out.append(model)
    return out
