"""Colocalisation by approximate Bayes factors (coloc's ``coloc.abf``; Giambartolomei et al. 2014).

Arrays in, arrays out; no file handling. Per variant and trait, Wakefield's approximate Bayes factor of an
association against none, with a normal prior on the effect of standard deviation ``prior_sd · sdY``
(0.15 for a quantitative trait, 0.2 for the log odds ratio of a case-control trait)::

    W = (prior_sd · sdY)²,   V = varbeta,   r = W / (W + V),   z = beta / √V
    lABF = ½ (log(1 − r) + r z²)

then the posterior of the five hypotheses over the ``m`` variants both traits share, with priors ``p1``, ``p2``
(a variant is causal for trait 1, for trait 2) and ``p12`` (for both)::

    H0: 0      H1: log p1 + LSE(l1)      H2: log p2 + LSE(l2)
    H3: log p1 + log p2 + log(exp(LSE(l1) + LSE(l2)) − exp(LSE(l1 + l2)))
    H4: log p12 + LSE(l1 + l2)
    PP.Hk = exp(Hk − LSE(H0..H4))

(LSE = log-sum-exp over variants.) When a quantitative trait's ``sdY`` is unknown it is estimated as coloc
does, from ``Var(betâ) ≈ sdY² / (2 N f (1 − f))``: the no-intercept least-squares slope of ``2 N f (1 − f)``
on ``1 / varbeta`` is ``sdY²`` (:func:`estimate_sdy`). A trait known only by z-scores, N and allele
frequencies gets ``varbeta = 1 / (2 N f (1 − f))`` on the standardised scale (``sdY = 1``), as coloc's
p-value route does (:func:`standardised_varbeta`).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import logsumexp

PRIOR_P1 = 1e-4
PRIOR_P2 = 1e-4
PRIOR_P12 = 1e-5
PRIOR_SD_QUANT = 0.15
PRIOR_SD_CC = 0.2
#: Names of the five posteriors, as coloc writes them.
PP_COLUMNS = ("PP.H0.abf", "PP.H1.abf", "PP.H2.abf", "PP.H3.abf", "PP.H4.abf")


def log_abf(beta, varbeta, sdy: float = 1.0, prior_sd: float = PRIOR_SD_QUANT) -> np.ndarray:
    """Per-variant log approximate Bayes factor, ``(m,)``, from effects and their sampling variances ``(m,)``.

    ``sdy`` is the trait's standard deviation in the units of ``beta`` (1 for a standardised trait or a
    case-control trait); ``prior_sd`` is 0.15 (quantitative) or 0.2 (case-control).
    """
    beta = np.asarray(beta, dtype=np.float64)
    v = np.asarray(varbeta, dtype=np.float64)
    w = (prior_sd * sdy) ** 2
    r = w / (w + v)
    z = beta / np.sqrt(v)
    return 0.5 * (np.log1p(-r) + r * z * z)


def estimate_sdy(varbeta, maf, n) -> float:
    """coloc's estimate of a quantitative trait's standard deviation, a float (NaN when not estimable).

    ``varbeta``, ``maf`` ``(m,)``; ``n`` a scalar or ``(m,)`` sample sizes. The no-intercept least-squares
    slope ``c`` of ``2 n f (1 − f)`` on ``1 / varbeta`` over the variants where all are finite and ``f`` is
    in (0, 1) (coloc refuses other frequencies) is ``sdY²``; NaN when no variant qualifies or ``c ≤ 0``
    (coloc stops there: "estimated sdY is negative").
    """
    v = np.asarray(varbeta, dtype=np.float64)
    f = np.asarray(maf, dtype=np.float64)
    n = np.broadcast_to(np.asarray(n, dtype=np.float64), v.shape)
    with np.errstate(divide="ignore"):
        x = 1.0 / v
    y = 2.0 * n * f * (1.0 - f)
    ok = np.isfinite(x) & np.isfinite(y) & (f > 0) & (f < 1)
    if not ok.any():
        return math.nan
    c = float(np.dot(x[ok], y[ok]) / np.dot(x[ok], x[ok]))
    return math.sqrt(c) if c > 0 else math.nan


def standardised_varbeta(maf, n, case_fraction: float | None = None) -> np.ndarray:
    """Sampling variance of the effect of an allele of frequency ``maf`` on a standardised trait, ``(m,)``:
    ``1 / (2 n f (1 − f))``, divided further by ``s (1 − s)`` for a case-control trait with case fraction ``s``
    (coloc's ``Var.data`` and ``Var.data.cc``). NaN where ``f`` is 0, 1 or missing."""
    f = np.asarray(maf, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        denom = 2.0 * n * f * (1.0 - f)
        if case_fraction is not None:
            denom = denom * case_fraction * (1.0 - case_fraction)
        out = 1.0 / denom
    return np.where(np.isfinite(out) & (out > 0), out, np.nan)


def _log_diff(x: float, y: float) -> float:
    """``log(exp(x) − exp(y))`` computed stably (−inf when ``y ≥ x``)."""
    m = max(x, y)
    if m == -math.inf:
        return -math.inf
    d = math.exp(x - m) - math.exp(y - m)
    return m + math.log(d) if d > 0 else -math.inf


def combine_abf(l1, l2, p1: float = PRIOR_P1, p2: float = PRIOR_P2, p12: float = PRIOR_P12) -> np.ndarray:
    """Posterior probabilities ``(5,)`` of H0..H4 from the per-variant log Bayes factors ``(m,)`` of two traits
    at the same ``m`` variants."""
    l1 = np.asarray(l1, dtype=np.float64)
    l2 = np.asarray(l2, dtype=np.float64)
    s1, s2, s12 = float(logsumexp(l1)), float(logsumexp(l2)), float(logsumexp(l1 + l2))
    h = np.array([
        0.0,
        math.log(p1) + s1,
        math.log(p2) + s2,
        math.log(p1) + math.log(p2) + _log_diff(s1 + s2, s12),
        math.log(p12) + s12,
    ])
    return np.exp(h - logsumexp(h))


def coloc_abf(beta1, varbeta1, beta2, varbeta2, sdy1: float = 1.0, sdy2: float = 1.0, p1: float = PRIOR_P1,
              p2: float = PRIOR_P2, p12: float = PRIOR_P12, prior_sd1: float = PRIOR_SD_QUANT,
              prior_sd2: float = PRIOR_SD_QUANT) -> np.ndarray:
    """coloc.abf for two traits measured at the same ``m`` variants: PP.H0..PP.H4, ``(5,)``."""
    return combine_abf(log_abf(beta1, varbeta1, sdy1, prior_sd1), log_abf(beta2, varbeta2, sdy2, prior_sd2),
                       p1, p2, p12)


def check_priors(p1: float, p2: float, p12: float) -> str | None:
    """A sentence saying what is wrong with the priors, or None when each is in (0, 1)."""
    for name, p in (("p1", p1), ("p2", p2), ("p12", p12)):
        if not (0 < p < 1):
            return f"{name} must be in (0, 1), not {p}"
    return None
