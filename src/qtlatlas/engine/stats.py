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


#: Below this p-value, :func:`nlog10p_from_t` leaves ``betainc`` for its series (well above float64's
#: smallest normal number, 2.2e-308, where ``betainc`` loses digits and then returns 0).
_SERIES_BELOW_P = 1e-250


def nlog10p_from_t(t: np.ndarray | float, dof: float) -> np.ndarray:
    """−log10 of the two-sided p-value of t statistics ``t`` (any shape) with ``dof`` degrees of freedom,
    finite and exact where the p-value itself underflows float64 (|t| ≳ 40 at 100 degrees of freedom, ≳ 110
    at 400).

    With ``x = dof / (dof + t²)``, ``a = dof/2``: ``p = I_x(a, 1/2)``; where p is below
    :data:`_SERIES_BELOW_P` its logarithm is taken term by term,
    ``log p = a·log x + ½·log(1 − x) − log a − log B(a, ½) + log ₂F₁(a + ½, 1; a + 1; x)``
    (the hypergeometric series converges there: x < 1). NaN t gives NaN; t = ±inf gives inf.
    """
    t = np.asarray(t, dtype=np.float64)
    a = 0.5 * float(dof)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        x = float(dof) / (float(dof) + t * t)
        p = special.betainc(a, 0.5, x)
        out = 0.0 - np.log10(p)  # 0.0 - : +0 rather than -0 at p = 1
        tiny = p < _SERIES_BELOW_P
        if np.any(tiny):
            xt = x[tiny] if x.ndim else x
            log_p = (a * np.log(xt) + 0.5 * np.log1p(-xt) - np.log(a) - special.betaln(a, 0.5)
                     + np.log(special.hyp2f1(a + 0.5, 1.0, a + 1.0, xt)))
            if out.ndim:
                out[tiny] = -log_p / np.log(10.0)
            else:
                out = np.asarray(-log_p / np.log(10.0))
    return out


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
