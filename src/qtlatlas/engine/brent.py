"""Brent's bounded minimisation (golden section + parabolic interpolation), many problems at once.

The algorithm is the classic one of Brent (1973), in the form of Forsythe, Malcolm & Moler's ``fmin`` that
R's ``optimize()`` (and so ``optim(method = "Brent")``) runs: the first point is the golden-section point
``lower + c·(upper − lower)`` with ``c = (3 − √5)/2``, and the search stops when the bracket around the best
point is within ``2·(√ε·|x| + tol/3)``. Following the same sequence of points as R matters when the function
has several local minima or flat stretches: the answer is then the local minimum R's search falls into.

Every problem keeps its own bracket and history; one iteration evaluates the function once for each problem
still running, so the caller computes the B function values of an iteration with array operations.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

_GOLDEN = 0.5 * (3.0 - np.sqrt(5.0))
_SQRT_EPS = float(np.sqrt(np.finfo(np.float64).eps))
#: R's default tolerance of ``optim(method = "Brent")``: ``reltol = sqrt(.Machine$double.eps)``.
R_OPTIM_TOL = _SQRT_EPS


def brent_minimize(
    fun: Callable[[np.ndarray, np.ndarray], np.ndarray],
    lower: np.ndarray | float,
    upper: np.ndarray | float,
    size: int,
    tol: float = R_OPTIM_TOL,
    max_iter: int = 500,
) -> np.ndarray:
    """Local minimisers of ``size`` scalar functions, each on its interval ``[lower, upper]``.

    Args:
        fun: ``fun(x, which)`` returns the values (k,) of problems ``which`` (k,) int at points ``x`` (k,).
        lower, upper: interval bounds, scalars or (size,) arrays with ``lower < upper``.
        size: number of problems.
        tol: absolute tolerance on the minimiser (as R's ``optimize(tol = …)``).
        max_iter: safety cap on iterations (the search needs about 50 at most on [−30, 15] with the
            default ``tol``).

    Returns:
        (size,) the point where each search stopped.
    """
    a = np.broadcast_to(np.asarray(lower, dtype=np.float64), (size,)).copy()
    b = np.broadcast_to(np.asarray(upper, dtype=np.float64), (size,)).copy()
    x = a + _GOLDEN * (b - a)
    w, v = x.copy(), x.copy()
    fx = np.asarray(fun(x.copy(), np.arange(size)), dtype=np.float64).copy()
    fw, fv = fx.copy(), fx.copy()
    d = np.zeros(size)
    e = np.zeros(size)
    tol3 = tol / 3.0
    running = np.arange(size)
    for _ in range(max_iter):
        i = running
        xm = 0.5 * (a[i] + b[i])
        tol1 = _SQRT_EPS * np.abs(x[i]) + tol3
        t2 = 2.0 * tol1
        done = np.abs(x[i] - xm) <= t2 - 0.5 * (b[i] - a[i])
        if done.any():
            keep = ~done
            running, i, xm, tol1, t2 = running[keep], i[keep], xm[keep], tol1[keep], t2[keep]
        if running.size == 0:
            break
        xi, ai, bi, di, ei = x[i], a[i], b[i], d[i], e[i]
        # a parabola through (v, fv), (w, fw), (x, fx) where the step before last was large enough
        fit = np.abs(ei) > tol1
        r = (xi - w[i]) * (fx[i] - fv[i])
        q = (xi - v[i]) * (fx[i] - fw[i])
        p = (xi - v[i]) * q - (xi - w[i]) * r
        q = 2.0 * (q - r)
        p = np.where(q > 0.0, -p, p)
        q = np.abs(q)
        p = np.where(fit, p, 0.0)
        q = np.where(fit, q, 0.0)
        r = np.where(fit, ei, 0.0)
        ei = np.where(fit, di, ei)
        golden = (np.abs(p) >= np.abs(0.5 * q * r)) | (p <= q * (ai - xi)) | (p >= q * (bi - xi))
        with np.errstate(divide="ignore", invalid="ignore"):
            para_d = p / q
        para_u = xi + para_d
        near_edge = (para_u - ai < t2) | (bi - para_u < t2)
        para_d = np.where(near_edge, np.where(xi >= xm, -tol1, tol1), para_d)
        gold_e = np.where(xi < xm, bi - xi, ai - xi)
        ei = np.where(golden, gold_e, ei)
        di = np.where(golden, _GOLDEN * gold_e, para_d)
        # never evaluate closer than tol1 to x
        u = np.where(np.abs(di) >= tol1, xi + di, np.where(di > 0.0, xi + tol1, xi - tol1))
        fu = np.asarray(fun(u, i), dtype=np.float64)
        d[i], e[i] = di, ei
        _update(i, u, fu, a, b, x, w, v, fx, fw, fv)
    return x


def _update(i: np.ndarray, u: np.ndarray, fu: np.ndarray, a: np.ndarray, b: np.ndarray, x: np.ndarray,
            w: np.ndarray, v: np.ndarray, fx: np.ndarray, fw: np.ndarray, fv: np.ndarray) -> None:
    """Brent's bookkeeping after evaluating ``fu = f(u)`` for problems ``i`` (in place)."""
    xi, wi, vi, fxi, fwi, fvi = x[i], w[i], v[i], fx[i], fw[i], fv[i]
    better = fu <= fxi
    left = u < xi
    # better: the old x becomes a bracket end and u the new best
    a[i] = np.where(better, np.where(left, a[i], xi), np.where(left, u, a[i]))
    b[i] = np.where(better, np.where(left, xi, b[i]), np.where(left, b[i], u))
    # not better: u replaces w (second best) or v (third best) where it beats them
    to_w = ~better & ((fu <= fwi) | (wi == xi))
    to_v = ~better & ~to_w & ((fu <= fvi) | (vi == xi) | (vi == wi))
    v[i] = np.where(better | to_w, wi, np.where(to_v, u, vi))
    fv[i] = np.where(better | to_w, fwi, np.where(to_v, fu, fvi))
    w[i] = np.where(better, xi, np.where(to_w, u, wi))
    fw[i] = np.where(better, fxi, np.where(to_w, fu, fwi))
    x[i] = np.where(better, u, xi)
    fx[i] = np.where(better, fu, fxi)
