"""coloc.abf of one GWAS locus with one QTL phenotype, from arrays over the variants of the locus window.

Trait 1 is the GWAS, trait 2 the QTL phenotype; the formulas are those of :mod:`qtlatlas.engine.coloc` and
the choices those of ``qtlatlas coloc abf`` (:mod:`.abf`, docs/coloc.md):

* **GWAS** (:class:`GwasLocus`), per variant of the window matched to a GWAS row (effects expressed for the
  release variant's ALT allele): with effects and standard errors, ``varbeta = se²`` and, for a quantitative
  trait, ``sdY`` estimated (:func:`~qtlatlas.engine.coloc.estimate_sdy`) over the variants shared with the
  phenotype, with the GWAS's allele frequency where it gives one, else the QTL's MAF; a case-control GWAS
  takes its effects as log odds ratios (prior SD 0.2, no ``sdY``). With z-scores only,
  ``varbeta = 1 / (2 N f (1 − f))`` and ``beta = z √varbeta`` on the standardised scale (``sdY = 1``);
* **QTL** (:func:`qtl_log_abf`), per tested variant of the phenotype in the window: with ``slope`` and
  ``slope_se``, ``varbeta = slope_se²`` and ``sdY`` estimated over those variants from the MAF and the
  tissue's sample count N; with p-values only, coloc's ``pvalues`` route: ``|z| = Φ⁻¹(1 − p / 2)`` (from
  −log10 p, exact where p underflows), ``varbeta = 1 / (2 N f (1 − f))``, ``beta = |z| √varbeta``, ``sdY = 1``;
* the posteriors (:func:`~qtlatlas.engine.coloc.combine_abf`) over the variants where both log Bayes factors
  are finite (``nsnps``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..engine.coloc import (
    PRIOR_SD_CC,
    PRIOR_SD_QUANT,
    combine_abf,
    estimate_sdy,
    log_abf,
    standardised_varbeta,
)
from .loci import z_of_nlog10p


@dataclass
class GwasLocus:
    """The GWAS on the ``m`` variants of a locus window (release variants in position order), NaN where a
    variant matched no GWAS row.

    Attributes:
        matched: ``(m,)`` bool, the variant matched a GWAS row.
        beta, se: ``(m,)`` effect of the ALT allele and its standard error (NaN for a z-only GWAS).
        z: ``(m,)`` z-score of the ALT allele.
        af: ``(m,)`` the GWAS's allele frequency (NaN where it gives none; only ``f (1 − f)`` is used).
        n: ``(m,)`` GWAS sample size.
        z_only: the GWAS gives z-scores only.
        case_control: effects are log odds ratios.
        case_fraction: share of cases of a z-only case-control GWAS.
    """

    matched: np.ndarray
    beta: np.ndarray
    se: np.ndarray
    z: np.ndarray
    af: np.ndarray
    n: np.ndarray
    z_only: bool = False
    case_control: bool = False
    case_fraction: float | None = None

    @property
    def prior_sd(self) -> float:
        return PRIOR_SD_CC if self.case_control else PRIOR_SD_QUANT

    def log_abf(self, v: np.ndarray, qtl_maf: np.ndarray) -> tuple[np.ndarray, float]:
        """Log Bayes factors ``(len(v),)`` at window variants ``v`` (all matched; NaN where not computable) and
        the ``sdY`` used; ``qtl_maf`` ``(len(v),)`` stands in where the GWAS gives no frequency."""
        f = np.where(np.isfinite(self.af[v]), self.af[v], qtl_maf)
        if self.z_only:
            varbeta = standardised_varbeta(f, self.n[v], self.case_fraction if self.case_control else None)
            return log_abf(self.z[v] * np.sqrt(varbeta), varbeta, 1.0, self.prior_sd), 1.0
        varbeta = self.se[v] ** 2
        sdy = 1.0 if self.case_control else estimate_sdy(varbeta, f, self.n[v])
        return log_abf(self.beta[v], varbeta, sdy, self.prior_sd), sdy


def qtl_log_abf(nlog10p: np.ndarray, slope: np.ndarray | None, slope_se: np.ndarray | None, maf: np.ndarray,
                n: float) -> tuple[np.ndarray, float]:
    """Log Bayes factors ``(m,)`` of a QTL phenotype at its ``m`` tested variants of the window, and the
    ``sdY`` used (1 on the p-value route). ``slope``/``slope_se`` None (or NaN) selects the p-value route;
    ``nlog10p`` is −log10 p, ``maf`` ``(m,)`` the minor-allele frequency in the tissue's samples, ``n`` its
    sample count."""
    if slope is not None and slope_se is not None:
        varbeta = np.asarray(slope_se, dtype=np.float64) ** 2
        sdy = estimate_sdy(varbeta, maf, n)
        return log_abf(np.asarray(slope, dtype=np.float64), varbeta, sdy, PRIOR_SD_QUANT), sdy
    varbeta = standardised_varbeta(maf, n)
    z = z_of_nlog10p(nlog10p)
    return log_abf(z * np.sqrt(varbeta), varbeta, 1.0, PRIOR_SD_QUANT), 1.0


@dataclass
class PhenotypeColoc:
    """coloc.abf of a locus with one phenotype: ``nsnps`` variants used, the window index of the variant with
    the largest Bayes factor for the GWAS (``hit1``) and for the QTL (``hit2``), PP.H0..PP.H4 ``(5,)``."""

    nsnps: int
    hit1: int
    hit2: int
    pp: np.ndarray


def coloc_phenotype(gwas: GwasLocus, v: np.ndarray, nlog10p: np.ndarray, slope: np.ndarray | None,
                    slope_se: np.ndarray | None, maf: np.ndarray, n_qtl: float, p1: float, p2: float,
                    p12: float) -> PhenotypeColoc | None:
    """coloc.abf of the GWAS locus with a phenotype tested at window variants ``v`` ``(k,)`` (its statistics
    ``nlog10p``, ``slope``, ``slope_se`` and the variants' ``maf``, each ``(k,)``); None when no variant is
    shared or a trait's ``sdY`` cannot be estimated."""
    v = np.asarray(v, dtype=np.int64)
    l2_all, sdy2 = qtl_log_abf(nlog10p, slope, slope_se, maf, n_qtl)
    shared = np.flatnonzero(gwas.matched[v])
    if not len(shared) or not np.isfinite(sdy2):
        return None
    l1, sdy1 = gwas.log_abf(v[shared], maf[shared])
    if not np.isfinite(sdy1):
        return None
    l2 = l2_all[shared]
    ok = np.isfinite(l1) & np.isfinite(l2)
    if not ok.any():
        return None
    used, l1, l2 = shared[ok], l1[ok], l2[ok]
    pp = combine_abf(l1, l2, p1, p2, p12)
    return PhenotypeColoc(nsnps=len(used), hit1=int(v[used[int(np.argmax(l1))]]),
                          hit2=int(v[used[int(np.argmax(l2))]]), pp=pp)
