"""Colocalisation by approximate Bayes factors (coloc's ``coloc.abf``), as FUSION's association test runs it.

The numerics live in :mod:`qtlatlas.engine.coloc`; this module adds FUSION's call.

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

from ..engine.coloc import (
    PRIOR_P1,
    PRIOR_P2,
    PRIOR_P12,
    PRIOR_SD_QUANT,
    coloc_abf,
    combine_abf,
    log_abf,
)

__all__ = ["PRIOR_P1", "PRIOR_P2", "PRIOR_P12", "PRIOR_SD_QUANT", "coloc_abf", "combine_abf", "fusion_coloc",
           "log_abf"]


def fusion_coloc(eqtl_z: np.ndarray, gwas_z: np.ndarray, n_eqtl: int, n_gwas: int) -> np.ndarray:
    """FUSION's coloc call: PP0..PP4 rounded to 3 decimals from marginal eQTL and GWAS z-scores, ``(5,)``."""
    eqtl_z = np.asarray(eqtl_z, dtype=np.float64)
    gwas_z = np.asarray(gwas_z, dtype=np.float64)
    pp = coloc_abf(eqtl_z / math.sqrt(n_eqtl), np.full(len(eqtl_z), 1.0 / n_eqtl),
                   gwas_z / math.sqrt(n_gwas), np.full(len(gwas_z), 1.0 / n_gwas))
    return np.round(pp, 3)
