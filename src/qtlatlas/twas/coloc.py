"""Colocalisation by approximate Bayes factors (coloc's ``coloc.abf``), as FUSION's association test runs it.

Per SNP and trait, Wakefield's approximate Bayes factor with prior effect SD ``0.15 · sdY`` (quantitative
traits, ``sdY = 1``)::

    r     = W / (W + V),   W = 0.15²,  V = varbeta
    lABF  = ½ (log(1 − r) + r z²),     z = beta / √varbeta

then the five hypotheses with priors ``p1 = p2 = 1e-4`` (a SNP is causal for one trait) and ``p12 = 1e-5``
(for both)::

    H0: 0    H1: log p1 + LSE(l1)    H2: log p2 + LSE(l2)
    H3: log p1 + log p2 + log(exp(LSE(l1) + LSE(l2)) − exp(LSE(l1 + l2)))
    H4: log p12 + LSE(l1 + l2)
    PPk = exp(Hk − LSE(H0..H4))

(LSE = log-sum-exp over SNPs.)

FUSION (``--coloc_P``, ``--GWASN``) runs it for models with TWAS p below ``coloc_P`` with the eQTL marginal
z-scores of the ``top1`` model (``beta = z / √N``, ``varbeta = 1 / N``, N the panel's sample size) and the
GWAS z-scores at the same SNPs (``beta = z / √GWASN``, ``varbeta = 1 / GWASN``), and rounds the posteriors
to 3 decimals.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import logsumexp

PRIOR_P1 = 1e-4
PRIOR_P2 = 1e-4
PRIOR_P12 = 1e-5
PRIOR_SD_QUANT = 0.15


def log_abf(beta: np.ndarray, varbeta: np.ndarray, sdy: float = 1.0, prior_sd: float = PRIOR_SD_QUANT) -> np.ndarray:
    """Per-SNP log approximate Bayes factor of a quantitative trait, ``(m,)``."""
    beta = np.asarray(beta, dtype=np.float64)
    v = np.asarray(varbeta, dtype=np.float64)
    w = (prior_sd * sdy) ** 2
    r = w / (w + v)
    z = beta / np.sqrt(v)
    return 0.5 * (np.log1p(-r) + r * z * z)


def _log_diff(x: float, y: float) -> float:
    """``log(exp(x) − exp(y))`` computed stably."""
    m = max(x, y)
    d = math.exp(x - m) - math.exp(y - m)
    return m + math.log(d) if d > 0 else -math.inf


def combine_abf(l1: np.ndarray, l2: np.ndarray, p1: float = PRIOR_P1, p2: float = PRIOR_P2,
                p12: float = PRIOR_P12) -> np.ndarray:
    """Posterior probabilities ``(5,)`` of H0..H4 from per-SNP log Bayes factors of two traits."""
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
              p2: float = PRIOR_P2, p12: float = PRIOR_P12) -> np.ndarray:
    """coloc.abf for two quantitative traits measured at the same ``m`` SNPs: PP.H0..PP.H4, ``(5,)``."""
    return combine_abf(log_abf(beta1, varbeta1, sdy1), log_abf(beta2, varbeta2, sdy2), p1, p2, p12)


def fusion_coloc(eqtl_z: np.ndarray, gwas_z: np.ndarray, n_eqtl: int, n_gwas: int) -> np.ndarray:
    """FUSION's coloc call: PP0..PP4 rounded to 3 decimals from marginal eQTL and GWAS z-scores, ``(5,)``."""
    eqtl_z = np.asarray(eqtl_z, dtype=np.float64)
    gwas_z = np.asarray(gwas_z, dtype=np.float64)
    pp = coloc_abf(eqtl_z / math.sqrt(n_eqtl), np.full(len(eqtl_z), 1.0 / n_eqtl),
                   gwas_z / math.sqrt(n_gwas), np.full(len(gwas_z), 1.0 / n_gwas))
    return np.round(pp, 3)
