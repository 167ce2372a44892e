"""Conversions between correlations, t statistics and p-values for the regression y ~ g + covariates.

For residual vectors with correlation r and ``dof`` residual degrees of freedom:
``t = r · sqrt(dof / (1 − r²))`` and the two-sided p-value is ``I_{1−r²}(dof/2, 1/2)`` (the regularised
incomplete Beta function, identical to ``2·T_dof(−|t|)`` but without forming t).
"""

from __future__ import annotations

import numpy as np
from scipy import special


def pval_from_r2(r2: np.ndarray | float, dof: float) -> np.ndarray:
    """Two-sided p-value of squared partial correlations ``r2`` (any shape) with ``dof`` degrees of freedom."""
    r2 = np.clip(np.asarray(r2, dtype=np.float64), 0.0, 1.0)
    return special.betainc(0.5 * dof, 0.5, 1.0 - r2)


def tstat_from_r(r: np.ndarray, dof: float) -> np.ndarray:
    """t statistic of correlations ``r`` (any shape)."""
    r = np.asarray(r, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return r * np.sqrt(dof / (1.0 - r * r))


def slope_and_se(r: np.ndarray, y_norm: np.ndarray | float, g_norm: np.ndarray, dof: float) -> tuple[np.ndarray, np.ndarray]:
    """Regression slope of y on g and its standard error from residual correlations.

    Args:
        r: correlations between the residual phenotype and residual genotypes (any shape).
        y_norm: L2 norm of the centred residual phenotype (broadcastable to ``r``).
        g_norm: L2 norms of the centred residual genotypes (broadcastable to ``r``).
        dof: residual degrees of freedom.
    Returns:
        slope (phenotype units per ALT allele) and its standard error, NaN where the genotype is constant.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = r * y_norm / g_norm
        t = tstat_from_r(r, dof)
        se = np.abs(slope / t)
        # r = 0 exactly: t = 0 and slope = 0; the standard error is still defined
        zero = (r == 0) & (g_norm > 0)
        if np.any(zero):
            se = np.where(zero, np.broadcast_to(y_norm / g_norm / np.sqrt(dof), np.shape(se)), se)
    bad = ~(g_norm > 0)
    slope = np.where(bad, np.nan, slope)
    se = np.where(bad, np.nan, se)
    return slope, se
