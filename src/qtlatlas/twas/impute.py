"""Imputation of missing GWAS z-scores at weight SNPs from LD, exactly as FUSION's association test.

For a model's SNP set with LD matrix ``R``, observed SNPs ``s`` and missing SNPs ``t`` (ridge ``λ = 0.1``)::

    W      = R_ts (R_ss + λI)⁻¹                 (t × s imputation weights)
    ẑ_t    = W z_s
    r2pred = diag(W R_ss Wᵀ)                     (variance of ẑ_t: its imputation accuracy)
    z_t    = ẑ_t / √r2pred                       (rescaled to unit variance)

(FUSION's ``r2pred`` is ``diag(W R_ss Wᵀ)``, not ``diag(R_ts (R_ss + λI)⁻¹ R_st)``: with the ridge term the two
differ, and the first is the variance of the imputed z under the null.)

Gates (:func:`imputation_failure`), in FUSION's order: no observed z at all → skip; fraction of the SNP set
missing ``> max_impute`` (0.5) → skip; any imputed SNP whose ``r2pred`` is not a positive number → skip; mean
``r2pred`` over the SNPs with a non-zero weight in the selected model (observed SNPs count as 1)
``< min_r2pred`` (0.7) → skip.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

DEFAULT_LAMBDA = 0.1
DEFAULT_MAX_IMPUTE = 0.5
DEFAULT_MIN_R2PRED = 0.7


def impute_z(r: np.ndarray, z: np.ndarray, lam: float = DEFAULT_LAMBDA) -> tuple[np.ndarray, np.ndarray]:
    """Impute the NaN entries of ``z`` ``(m,)`` from the others using LD ``r`` ``(m, m)``.

    Returns ``(z_full, r2pred)``, both ``(m,)``: observed entries unchanged with ``r2pred = 1``; imputed
    entries ``ẑ / √r2pred`` (NaN where ``r2pred`` is not positive). When nothing is observed every imputed
    entry is NaN.
    """
    z = np.asarray(z, dtype=np.float64)
    missing = np.isnan(z)
    out = z.copy()
    r2pred = np.ones(len(z))
    if not missing.any():
        return out, r2pred
    obs = ~missing
    if not obs.any():
        r2pred[:] = np.nan
        return out, r2pred
    r_ss = r[np.ix_(obs, obs)]
    r_st = r[np.ix_(obs, missing)]
    factor = scipy.linalg.cho_factor(r_ss + lam * np.eye(int(obs.sum())), lower=True, check_finite=False)
    x = scipy.linalg.cho_solve(factor, r_st, check_finite=False)  # (s, t) = (R_ss + λI)⁻¹ R_st = Wᵀ
    zhat = x.T @ z[obs]
    r2 = np.einsum("st,st->t", x, r_ss @ x)
    with np.errstate(invalid="ignore", divide="ignore"):
        zt = np.where(r2 > 0, zhat / np.sqrt(np.where(r2 > 0, r2, 1.0)), np.nan)
    r2 = np.where(np.isfinite(r2) & (r2 > 0), r2, np.nan)
    out[missing] = zt
    r2pred[missing] = r2
    return out, r2pred


def imputation_failure(missing: np.ndarray, r2pred: np.ndarray | None, used: np.ndarray,
                       max_impute: float = DEFAULT_MAX_IMPUTE, min_r2pred: float = DEFAULT_MIN_R2PRED) -> str | None:
    """Why a model must be skipped for missing GWAS z-scores, or None when it can be tested.

    Args:
        missing: ``(m,)`` bool, GWAS z missing at the SNP.
        r2pred: ``(m,)`` imputation accuracy (1 where observed), or None when not computed yet (then only the
            first two gates are checked).
        used: ``(m,)`` bool, SNP has a non-zero weight in the selected model.
    """
    n_missing = int(missing.sum())
    if n_missing == 0:
        return None
    if n_missing == len(missing):
        return "had no overlapping GWAS Z-scores"
    if n_missing / len(missing) > max_impute:
        return f"had {n_missing} / {len(missing)} non-overlapping GWAS Z-scores (more than --max_impute {max_impute})"
    if r2pred is None:
        return None
    if np.isnan(r2pred).any():
        return "had missing GWAS Z-scores that could not be imputed"
    mean_r2 = float(np.mean(r2pred[used])) if used.any() else float("nan")
    if mean_r2 < min_r2pred:
        return (f"had mean GWAS Z-score imputation r2 of {mean_r2:.3g} at expression weight SNPs "
                f"(below --min_r2pred {min_r2pred})")
    return None
