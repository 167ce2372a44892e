"""Storey q-values, as R's ``qvalue`` package computes them.

``pi0`` (π̂₀, the proportion of true nulls) is estimated either with one fixed λ
(``mean(p >= λ) / (1 − λ)``, the λ = 0.85 setting GTEx, Pantry and RatGTEx use) or, when ``lambda_`` is
None, with R qvalue's default: π̂₀(λ) on the grid λ = 0.05, 0.10, …, 0.95 smoothed by a cubic smoothing
spline with 3 degrees of freedom and read at the largest λ. q-values are
``π̂₀ · min_{j ≥ i} (p_(j) · m / j)`` capped at 1.
"""

from __future__ import annotations

import numpy as np

from .smoothing_spline import smooth_spline_df

DEFAULT_LAMBDA = 0.85


def _check_p(p: np.ndarray) -> np.ndarray:
    p = np.asarray(p, dtype=np.float64)
    if p.ndim != 1 or p.size == 0:
        raise ValueError("p-values must be a non-empty 1-D array")
    if not np.all(np.isfinite(p)) or p.min() < 0 or p.max() > 1:
        raise ValueError("p-values must be finite and within [0, 1]")
    return p


def pi0_estimate(p: np.ndarray, lambda_: float | None = DEFAULT_LAMBDA) -> float:
    """π̂₀ of p-values ``p`` (shape (m,)) with a fixed ``lambda_``, or R qvalue's smoother when None."""
    p = _check_p(p)
    if lambda_ is not None:
        if not 0 <= lambda_ < 1:
            raise ValueError("lambda must be in [0, 1)")
        if p.max() < lambda_:
            raise ValueError(f"the largest p-value is below lambda = {lambda_}; π̂₀ cannot be estimated")
        return float(min(np.mean(p >= lambda_) / (1 - lambda_), 1.0))
    grid = 0.05 + np.arange(19) * 0.05  # R: seq(0.05, 0.95, 0.05)
    if p.max() < grid[-1]:
        raise ValueError("the largest p-value is below 0.95; use a fixed lambda")
    pi0_grid = np.array([np.mean(p >= lam) / (1 - lam) for lam in grid])
    smoothed = smooth_spline_df(grid, pi0_grid, df=3).predict(grid)
    return float(min(smoothed[-1], 1.0))


def qvalues(p: np.ndarray, lambda_: float | None = DEFAULT_LAMBDA, pi0: float | None = None) -> tuple[np.ndarray, float]:
    """q-values of ``p`` (shape (m,)) and the π̂₀ used. NaN p-values are passed through as NaN."""
    p = np.asarray(p, dtype=np.float64)
    ok = ~np.isnan(p)
    q = np.full(p.shape, np.nan)
    pv = _check_p(p[ok])
    if pi0 is not None and not 0 < pi0 <= 1:
        raise ValueError("pi0 must be in (0, 1]")
    if pi0 is None:
        pi0 = pi0_estimate(pv, lambda_)
    m = pv.size
    order = np.argsort(-pv, kind="stable")  # decreasing p, as R's order(p, decreasing = TRUE)
    ranks = np.arange(m, 0, -1, dtype=np.float64)
    q_sorted = pi0 * np.minimum(1.0, np.minimum.accumulate(pv[order] * m / ranks))
    out = np.empty(m)
    out[order] = q_sorted
    q[ok] = out
    return q, float(pi0)
