"""TWAS association of expression models with GWAS summary statistics (FUSION ``assoc_test``).

For each phenotype model (weights ``w`` over its SNPs, GWAS z-scores ``z`` at the same SNPs aligned to the
reference A1, LD ``R`` from the reference)::

    TWAS.Z = wᵀz / √(wᵀRw)          TWAS.P = 2 Φ(−|TWAS.Z|)

The model used is the one with the smallest cross-validation p-value (``force_model`` overrides); a
``top1`` model keeps only its largest |w|. Missing z-scores at weight SNPs are imputed from LD
(:mod:`qtlatlas.twas.impute`). Models are grouped by the reference SNP set they map to, so that each set's
standardised genotypes, LD and imputation are computed once and every model of the group is tested in one
matrix product.

Output: one row per model with FUSION's ``.dat`` columns (:data:`DAT_COLUMNS`), plus ``COLOC.PP0..PP4`` when
``coloc_p`` is set and ``PERM.PV PERM.N PERM.ANL_PV`` when ``perm > 0``. Rows of skipped models keep their
identifiers, ``HSQ``, ``MODEL`` and ``MODELCV.*`` (and ``NSNP`` when SNPs matched) and have NA elsewhere;
the reason is in :attr:`AssocResult.skipped`.

Permutation test (FUSION ``--perm``): for models with ``TWAS.P < perm_minp``, the selected weights are
shuffled across the model's SNPs up to ``perm`` times; the test stops early once more than 10 permuted
``Z²`` exceed the observed one (``PERM.PV = (hits + 1) / (i + 1)``, ``PERM.N = i + 1``, ``PERM.ANL_PV`` NA),
otherwise ``PERM.PV = hits / perm`` and ``PERM.ANL_PV = 2 Φ(−|Z| / sd(permuted Z))``. Models not permuted
have NA in these columns (FUSION writes 0).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.special import ndtr
from threadpoolctl import threadpool_limits

from .align import AlignedGwas, align_panel
from .coloc import fusion_coloc
from .fusion_io import TwasModel, format_r
from .impute import DEFAULT_LAMBDA, DEFAULT_MAX_IMPUTE, DEFAULT_MIN_R2PRED, imputation_failure
from .ld import LdBlock, LdReference

DAT_COLUMNS = (
    "PANEL", "FILE", "ID", "CHR", "P0", "P1", "HSQ", "BEST.GWAS.ID", "BEST.GWAS.Z", "EQTL.ID", "EQTL.R2",
    "EQTL.Z", "EQTL.GWAS.Z", "NSNP", "NWGT", "MODEL", "MODELCV.R2", "MODELCV.PV", "TWAS.Z", "TWAS.P",
)
COLOC_COLUMNS = ("COLOC.PP0", "COLOC.PP1", "COLOC.PP2", "COLOC.PP3", "COLOC.PP4")
PERM_COLUMNS = ("PERM.PV", "PERM.N", "PERM.ANL_PV")
PERM_STOP_HITS = 10


@dataclass(frozen=True)
class AssocOptions:
    """Options of :func:`associate` (FUSION's flags of the same names).

    Attributes:
        force_model: use this model for every phenotype instead of the best by CV p-value.
        max_impute: skip a model when more than this fraction of its SNPs lack a GWAS z-score.
        min_r2pred: skip a model when the mean imputation accuracy at its non-zero-weight SNPs is lower.
        impute_lambda: ridge term of the imputation (FUSION: 0.1).
        perm: maximum permutations per model (0: no permutation test).
        perm_minp: permute only models with TWAS p below this.
        coloc_p: run coloc for models with TWAS p below this (None: off).
        gwas_n: GWAS sample size (required by coloc).
        seed: random seed of the permutations.
    """

    force_model: str | None = None
    max_impute: float = DEFAULT_MAX_IMPUTE
    min_r2pred: float = DEFAULT_MIN_R2PRED
    impute_lambda: float = DEFAULT_LAMBDA
    perm: int = 0
    perm_minp: float = 0.05
    coloc_p: float | None = None
    gwas_n: int | None = None
    seed: int | None = None


@dataclass
class AssocResult:
    """Association of a list of models.

    Attributes:
        table: one row per model, in input order, columns :data:`DAT_COLUMNS` (+ coloc, permutation).
        skipped: ``(row, reason)`` for every model that could not be tested.
        n_imputed: models tested with at least one imputed z-score.
        n_weight_mismatch: matched weight SNPs whose alleles agree with the reference in no way.
    """

    table: pd.DataFrame
    skipped: list[tuple[int, str]] = field(default_factory=list)
    n_imputed: int = 0
    n_weight_mismatch: int = 0


def select_model(model: TwasModel, force_model: str | None = None) -> int | None:
    """Column of the model to test: ``force_model`` when given (None if absent), else the smallest
    cross-validation p-value (NaN counts as +∞; ties → first model, like R's ``which.min``)."""
    if force_model is not None:
        return model.models.index(force_model) if force_model in model.models else None
    if not model.models:
        return None
    pv = np.where(np.isnan(model.cv_pval), np.inf, model.cv_pval).min(axis=0)
    return int(np.argmin(pv))


def twas_statistics(block: LdBlock, weights: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(wᵀz, wᵀRw)`` for every column of ``weights`` ``(m, k)`` given the block's z-scores ``z`` ``(m,)``."""
    return weights.T @ z, block.quadratic(weights)


def twas_pvalue(z: np.ndarray | float) -> np.ndarray:
    """Two-sided normal p-value ``2 Φ(−|z|)``."""
    return 2.0 * ndtr(-np.abs(z))


@dataclass
class _Prepared:
    best: int
    weights: np.ndarray  # (k, n_models) aligned to the reference A1, weight order
    snp_ids: np.ndarray  # (k,) matched SNP ids, weight order
    block_rows: np.ndarray  # (u,) sorted unique reference rows
    position: np.ndarray  # (k,) block column of each matched SNP


def base_row(model: TwasModel, best: int | None) -> dict:
    """The :data:`DAT_COLUMNS` of a model that identify it (and its best model when ``best`` is given); every
    statistic missing."""
    row = dict.fromkeys(DAT_COLUMNS, math.nan)
    row.update({"PANEL": model.panel if model.panel is not None else "NA", "FILE": model.source,
                "ID": model.phenotype_id, "CHR": model.chrom, "P0": int(model.p0), "P1": int(model.p1),
                "HSQ": model.hsq, "BEST.GWAS.ID": None, "EQTL.ID": None, "MODEL": None, "MODELCV.R2": None,
                "MODELCV.PV": None})
    if best is not None:
        row["MODEL"] = model.models[best]
        row["MODELCV.R2"] = ",".join(format_r(float(x), 2) for x in model.cv_r2[:, best])
        row["MODELCV.PV"] = ",".join(format_r(float(x), 2) for x in model.cv_pval[:, best])
    return row


def associate(models: Sequence[TwasModel], gwas: AlignedGwas, ld: LdReference,
              options: AssocOptions = AssocOptions()) -> AssocResult:
    """Test every model against the GWAS (see the module docstring). ``gwas`` must be aligned to ``ld``.

    BLAS runs single-threaded inside: the matrices are small (one SNP set, a few hundred SNPs), where
    multi-threaded BLAS spends more in synchronisation than it gains (and much more on a busy machine).
    """
    with threadpool_limits(limits=1, user_api="blas"):
        return _associate(models, gwas, ld, options)


def _associate(models: Sequence[TwasModel], gwas: AlignedGwas, ld: LdReference, options: AssocOptions) -> AssocResult:
    rows = []
    skipped: list[tuple[int, str]] = []
    prepared: dict[int, _Prepared] = {}
    groups: dict[bytes, list[int]] = {}
    n_mismatch = 0
    alignments = align_panel([m.snps for m in models], gwas)
    for i, (model, aligned) in enumerate(zip(models, alignments, strict=True)):
        best = select_model(model, options.force_model)
        rows.append(base_row(model, best))
        if best is None:
            why = (f"has no model {options.force_model!r} (--force_model)" if options.force_model
                   else "did not have a predictive model")
            skipped.append((i, why))
            continue
        n_mismatch += aligned.n_mismatch
        block_rows, position = np.unique(aligned.rows, return_inverse=True)
        prepared[i] = _Prepared(best, model.weights[aligned.matched] * aligned.sign[:, None],
                                model.snps["snp"].to_numpy()[aligned.matched], block_rows, position)
        groups.setdefault(block_rows.tobytes(), []).append(i)

    rng = np.random.default_rng(options.seed)
    n_imputed = 0
    for members in groups.values():
        n_imputed += _test_group(members, models, prepared, rows, skipped, gwas, ld, options, rng)

    columns = list(DAT_COLUMNS)
    if options.coloc_p is not None:
        columns += COLOC_COLUMNS
    if options.perm > 0:
        columns += PERM_COLUMNS
    table = pd.DataFrame(rows).reindex(columns=columns)
    for col in ("NSNP", "NWGT", "PERM.N"):
        if col in table:
            table[col] = table[col].astype("Int64")
    skipped.sort()
    return AssocResult(table, skipped, n_imputed, n_mismatch)


def _test_group(members: list[int], models: Sequence[TwasModel], prepared: dict[int, _Prepared], rows: list[dict],
                skipped: list[tuple[int, str]], gwas: AlignedGwas, ld: LdReference, options: AssocOptions,
                rng: np.random.Generator) -> int:
    """Test the models sharing one reference SNP set; fills ``rows``/``skipped``; returns models imputed."""
    block_rows = prepared[members[0]].block_rows
    z_block = gwas.z[block_rows]
    missing_block = np.isnan(z_block)
    block = ld.block(block_rows) if len(block_rows) else None
    candidates: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]] = []
    for i in members:
        p, model, row = prepared[i], models[i], rows[i]
        k = len(p.position)
        w = p.weights[:, p.best].copy()
        if k == 0:
            skipped.append((i, "had no overlapping SNPs"))
            continue
        row["NSNP"] = k
        if not (w != 0).any():
            skipped.append((i, f"model {model.models[p.best]} had {k} overlapping SNPs, but none with non-zero "
                               "expression weights"))
            continue
        if model.models[p.best].startswith("top1"):
            top = int(np.argmax(w * w))
            keep = w[top]
            w[:] = 0.0
            w[top] = keep
        missing = missing_block[p.position]
        z_model = z_block[p.position]
        r2pred = None
        if missing.any():
            why = imputation_failure(missing, None, w != 0, options.max_impute, options.min_r2pred)
            if why is None:
                imp = block.imputation(z_block, options.impute_lambda)
                z_model = imp.z[p.position]
                r2pred = imp.r2pred[p.position]
                why = imputation_failure(missing, r2pred, w != 0, options.max_impute, options.min_r2pred)
            if why is not None:
                skipped.append((i, why))
                continue
        candidates.append((i, w, z_model, missing))
    if not candidates:
        return 0
    z_full = block.imputation(z_block, options.impute_lambda).z if missing_block.any() else z_block
    wb = np.zeros((len(block_rows), len(candidates)))
    for j, (i, w, _, _) in enumerate(candidates):
        np.add.at(wb[:, j], prepared[i].position, w)
    num, var = twas_statistics(block, wb, z_full)
    n_imputed = 0
    for j, (i, w, z_model, missing) in enumerate(candidates):
        model, row, p = models[i], rows[i], prepared[i]
        if not var[j] > 0:
            skipped.append((i, "had zero predictive accuracy, try a different model"))
            continue
        z = float(num[j] / math.sqrt(var[j]))
        n_imputed += bool(missing.any())
        top_gwas = int(np.argmax(z_model * z_model))
        row.update({"TWAS.Z": z, "TWAS.P": float(twas_pvalue(z)), "NWGT": int(np.count_nonzero(w)),
                    "BEST.GWAS.ID": str(p.snp_ids[top_gwas]), "BEST.GWAS.Z": float(z_model[top_gwas])})
        eqtl_col = model.models.index("top1") if "top1" in model.models else None
        eqtl_w = None
        if eqtl_col is not None:
            eqtl_w = w if eqtl_col == p.best else p.weights[:, eqtl_col]
            top = int(np.argmax(eqtl_w * eqtl_w))
            row.update({"EQTL.ID": str(p.snp_ids[top]), "EQTL.R2": float(model.cv_r2[0, eqtl_col]),
                        "EQTL.Z": float(eqtl_w[top]), "EQTL.GWAS.Z": float(z_model[top])})
        if options.perm > 0 and row["TWAS.P"] < options.perm_minp:
            row.update(permutation_test(block, wb[:, j], z_full, z, options.perm, rng))
        if (options.coloc_p is not None and row["TWAS.P"] < options.coloc_p and model.n is not None
                and eqtl_w is not None and options.gwas_n):
            pp = fusion_coloc(eqtl_w, z_model, model.n, options.gwas_n)
            row.update(dict(zip(COLOC_COLUMNS, (float(x) for x in pp), strict=True)))
    return n_imputed


def permutation_test(block: LdBlock, weights: np.ndarray, z: np.ndarray, observed: float, max_perm: int,
                     rng: np.random.Generator, batch: int = 256) -> dict:
    """FUSION's adaptive permutation test of one model (weights ``(m,)`` over the block's SNPs).

    Returns ``{"PERM.PV", "PERM.N", "PERM.ANL_PV"}`` (see the module docstring).
    """
    m = len(weights)
    obs2 = observed * observed
    hits = 0
    done = 0
    perm_z: list[np.ndarray] = []
    while done < max_perm:
        b = min(batch, max_perm - done)
        order = np.argsort(rng.random((b, m)), axis=1)
        wp = weights[order].T  # (m, b)
        num, var = twas_statistics(block, wp, z)
        with np.errstate(invalid="ignore", divide="ignore"):
            pz = num / np.sqrt(var)
        exceed = np.cumsum(pz * pz > obs2) + hits
        stop = np.flatnonzero(exceed > PERM_STOP_HITS)
        if len(stop):
            i = done + int(stop[0]) + 1  # permutations run so far
            count = int(exceed[stop[0]])
            return {"PERM.PV": (count + 1) / (i + 1), "PERM.N": i + 1, "PERM.ANL_PV": math.nan}
        hits = int(exceed[-1])
        perm_z.append(pz)
        done += b
        batch = min(batch * 2, 8192)
    allz = np.concatenate(perm_z)
    sd = float(np.nanstd(allz, ddof=1)) if len(allz) > 1 else math.nan
    return {"PERM.PV": hits / max_perm, "PERM.N": max_perm,
            "PERM.ANL_PV": float(twas_pvalue(observed / sd)) if sd > 0 else math.nan}
