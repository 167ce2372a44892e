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
    with_values: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Local minimisers of ``size`` scalar functions, each on its interval ``[lower, upper]``.

    Args:
        fun: ``fun(x, which)`` returns the values (k,) of problems ``which`` (k,) int at points ``x`` (k,).
        lower, upper: interval bounds, scalars or (size,) arrays with ``lower < upper``.
        size: number of problems.
        tol: absolute tolerance on the minimiser (as R's ``optimize(tol = …)``).
        max_iter: safety cap on iterations (the search needs about 50 at most on [−30, 15] with the
            default ``tol``).

    Returns:
        (size,) the point where each search stopped; with ``with_values`` also (size,) the function there.
    """
    a = np.broadcast_to(np.asarray(lower, dtype=np.float64), (size,))
    b = np.broadcast_to(np.asarray(upper, dtype=np.float64), (size,))
    x0 = a + _GOLDEN * (b - a)
    f0 = np.asarray(fun(x0.copy(), np.arange(size)), dtype=np.float64)
    # the state of the problems still running, one row per quantity (compacted when some finish)
    S = np.stack([a, b, x0, x0, x0, f0, f0, f0, np.zeros(size), np.zeros(size)])
    A, B_, X, W, V, FX, FW, FV, D, E = range(10)
    result, at = x0.copy(), f0.copy()
    running = np.arange(size)
    tol3 = tol / 3.0
    for _ in range(max_iter):
        a, b, x = S[A], S[B_], S[X]
        xm = 0.5 * (a + b)
        tol1 = _SQRT_EPS * np.abs(x) + tol3
        t2 = 2.0 * tol1
        done = np.abs(x - xm) <= t2 - 0.5 * (b - a)
        if done.any():
            result[running[done]] = x[done]
            at[running[done]] = S[FX][done]
            keep = ~done
            running, S, xm, tol1, t2 = running[keep], S[:, keep], xm[keep], tol1[keep], t2[keep]
            if running.size == 0:
                break
            a, b, x = S[A], S[B_], S[X]
        w, v, fx, fw, fv, d, e = S[W], S[V], S[FX], S[FW], S[FV], S[D], S[E]
        # a parabola through (v, fv), (w, fw), (x, fx) where the step before last was large enough
        fit = np.abs(e) > tol1
        r = (x - w) * (fx - fv)
        q = (x - v) * (fx - fw)
        p = (x - v) * q - (x - w) * r
        q = 2.0 * (q - r)
        p = np.where(q > 0.0, -p, p) * fit
        q = np.abs(q) * fit
        r = e * fit
        e = np.where(fit, d, e)
        golden = (np.abs(p) >= np.abs(0.5 * q * r)) | (p <= q * (a - x)) | (p >= q * (b - x))
        with np.errstate(divide="ignore", invalid="ignore"):
            d = p / q
        u = x + d
        d = np.where((u - a < t2) | (b - u < t2), np.where(x >= xm, -tol1, tol1), d)
        step = np.where(x < xm, b - x, a - x)
        e = np.where(golden, step, e)
        d = np.where(golden, _GOLDEN * step, d)
        # never evaluate closer than tol1 to x
        u = np.where(np.abs(d) >= tol1, x + d, np.where(d > 0.0, x + tol1, x - tol1))
        fu = np.asarray(fun(u, running), dtype=np.float64)
        S[D], S[E] = d, e
        _update(S, u, fu)
    else:
        result[running], at[running] = S[X], S[FX]
    return (result, at) if with_values else result


def _update(S: np.ndarray, u: np.ndarray, fu: np.ndarray) -> None:
    """Brent's bookkeeping after evaluating ``fu = f(u)``, on the state rows a, b, x, w, v, fx, fw, fv of ``S``
    (in place)."""
    a, b, x, w, v, fx, fw, fv = S[:8]
    better = fu <= fx
    left = u < x
    # better: the old x becomes a bracket end and u the new best; else u becomes a bracket end
    S[0] = np.where(better != left, np.where(better, x, u), a)
    S[1] = np.where(better == left, np.where(better, x, u), b)
    # not better: u replaces w (second best) or v (third best) where it beats them
    to_w = ~better & ((fu <= fw) | (w == x))
    to_v = ~better & ~to_w & ((fu <= fv) | (v == x) | (v == w))
    shift = better | to_w
    new_v = np.where(shift, w, np.where(to_v, u, v))
    new_fv = np.where(shift, fw, np.where(to_v, fu, fv))
    new_w = np.where(better, x, np.where(to_w, u, w))
    new_fw = np.where(better, fx, np.where(to_w, fu, fw))
    S[2] = np.where(better, u, x)
    S[5] = np.where(better, fu, fx)
    S[3], S[4], S[6], S[7] = new_w, new_v, new_fw, new_fv
