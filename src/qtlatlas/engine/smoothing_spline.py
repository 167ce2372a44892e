"""Cubic smoothing spline with the smoothing parameter chosen to match a target degrees of freedom,
reproducing R's ``smooth.spline(x, y, df=...)`` (all distinct x as knots when there are fewer than 50).

Used for R qvalue's default π̂₀ estimator. R scales the penalty by ``r = tr(XᵀWX) / tr(Σ)`` (sums over
the interior diagonal) and searches ``spar`` in [-1.5, 1.5], with ``λ = r · 256^(3·spar − 1)``, by Brent's
golden-section/parabolic minimisation of ``3 + (df_target − df(spar))²`` with tolerance 1e-4; we follow
the same search. Like R, the returned fit is the one of the *last* ``spar`` the search evaluated (R's
Fortran keeps the coefficients of its final evaluation), not of the best point, so that the fitted
values agree with R's to rounding error rather than to the search tolerance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.interpolate import BSpline

_GOLD = 0.381966011250105151795413165634  # (3 - sqrt(5)) / 2
_SPAR_LOW, _SPAR_HIGH, _SPAR_TOL, _SPAR_EPS, _MAXIT = -1.5, 1.5, 1e-4, 2e-8, 500


@dataclass
class SplineFit:
    """A fitted smoothing spline: ``coef`` (n_basis,) on ``knots`` over x scaled to [0, 1]."""

    knots: np.ndarray
    coef: np.ndarray
    x_min: float
    x_range: float
    df: float
    spar: float

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Spline values at ``x`` (inside the data range), shape of ``x``."""
        xs = (np.asarray(x, dtype=np.float64) - self.x_min) / self.x_range
        return BSpline(self.knots, self.coef, 3, extrapolate=True)(xs)


def _basis(knots: np.ndarray, x: np.ndarray, nu: int = 0) -> np.ndarray:
    """B-spline basis (or its ``nu``-th derivative) at ``x``: shape (len(x), n_basis)."""
    n_basis = len(knots) - 4
    out = np.empty((len(x), n_basis))
    eye = np.eye(n_basis)
    for j in range(n_basis):
        spline = BSpline(knots, eye[j], 3, extrapolate=True)
        out[:, j] = spline(x, nu=nu)
    return out


def _penalty(knots: np.ndarray) -> np.ndarray:
    """Σ_jk = ∫ B_j''(t) B_k''(t) dt over the knot span (exact: 2-point Gauss–Legendre per interval)."""
    inner = np.unique(knots)
    lo, hi = inner[:-1], inner[1:]
    half, mid = (hi - lo) / 2, (hi + lo) / 2
    g = 1 / np.sqrt(3)
    pts = np.concatenate([mid - half * g, mid + half * g])
    wts = np.concatenate([half, half])
    d2 = _basis(knots, pts, nu=2)
    return d2.T @ (d2 * wts[:, None])


def smooth_spline_df(x: np.ndarray, y: np.ndarray, df: float) -> SplineFit:
    """Fit ``y ~ s(x)`` with ``df`` equivalent degrees of freedom (x distinct, unit weights).

    Args:
        x: (n,) distinct abscissae.
        y: (n,) values.
        df: target trace of the smoother matrix, 1 < df <= n.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    order = np.argsort(x)
    x, y = x[order], y[order]
    x_min, x_range = x[0], x[-1] - x[0]
    xs = (x - x_min) / x_range
    knots = np.concatenate([[xs[0]] * 3, xs, [xs[-1]] * 3])
    X = _basis(knots, xs)
    XtX = X.T @ X
    Xty = X.T @ y
    sigma = _penalty(knots)
    nb = XtX.shape[0]
    ratio = np.trace(XtX[2 : nb - 3, 2 : nb - 3]) / np.trace(sigma[2 : nb - 3, 2 : nb - 3])

    def fit(spar: float) -> tuple[float, np.ndarray]:
        lam = ratio * 256.0 ** (3.0 * spar - 1.0)
        A = XtX + lam * sigma
        coef = np.linalg.solve(A, Xty)
        lev = np.einsum("ij,ji->i", X, np.linalg.solve(A, X.T))
        crit = 3.0 + (df - lev.sum()) ** 2
        return crit, coef

    evaluated: list[float] = []

    def criterion(spar: float) -> float:
        evaluated.append(spar)
        return fit(spar)[0]

    _brent_minimise(criterion, _SPAR_LOW, _SPAR_HIGH, _SPAR_TOL, _SPAR_EPS, _MAXIT)
    spar = evaluated[-1]
    crit, coef = fit(spar)
    return SplineFit(knots=knots, coef=coef, x_min=x_min, x_range=x_range, df=df - np.sqrt(max(crit - 3, 0)), spar=spar)


def _brent_minimise(f, a: float, b: float, tol: float, eps: float, maxit: int) -> float:
    """Brent's minimisation (golden section + parabolic steps) as in Forsythe, Malcolm & Moler's FMIN,
    with R ``smooth.spline``'s tolerances; returns the abscissa of the best point."""
    v = w = x = a + _GOLD * (b - a)
    d = e = 0.0
    fx = fv = fw = f(x)
    it = 0
    while True:
        xm = 0.5 * (a + b)
        tol1 = eps * abs(x) + tol / 3.0
        tol2 = 2.0 * tol1
        it += 1
        if abs(x - xm) <= tol2 - 0.5 * (b - a) or it > maxit:
            return x
        golden = True
        if abs(e) > tol1:
            r = (x - w) * (fx - fv)
            q = (x - v) * (fx - fw)
            p = (x - v) * q - (x - w) * r
            q = 2.0 * (q - r)
            if q > 0:
                p = -p
            q = abs(q)
            r, e = e, d
            if not (abs(p) >= abs(0.5 * q * r) or q == 0.0 or p <= q * (a - x) or p >= q * (b - x)):
                d = p / q
                u = x + d
                if u - a < tol2 or b - u < tol2:
                    d = tol1 if xm - x >= 0 else -tol1
                golden = False
        if golden:
            e = (a - x) if x >= xm else (b - x)
            d = _GOLD * e
        u = x + (d if abs(d) >= tol1 else (tol1 if d >= 0 else -tol1))
        fu = f(u)
        if not np.isfinite(fu):
            fu = 2.0 * 1e100
        if fu <= fx:
            if u >= x:
                a = x
            else:
                b = x
            v, fv, w, fw, x, fx = w, fw, x, fx, u, fu
        else:
            if u < x:
                a = u
            else:
                b = u
            if fu <= fw or w == x:
                v, fv, w, fw = w, fw, u, fu
            elif fu <= fv or v == x or v == w:
                v, fv = u, fu
