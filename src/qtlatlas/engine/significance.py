"""q-values, the genome-wide Beta p-value threshold and per-phenotype nominal thresholds for a
permutation-pass table (tensorQTL's ``calculate_qvalues``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .beta import genome_wide_threshold, pval_nominal_threshold
from .qvalue import qvalues


@dataclass(frozen=True)
class SignificanceSummary:
    n_tested: int
    pi0: float
    n_significant: int
    pval_threshold: float | None  # p*: Beta p-value threshold at the FDR
    pearson_beta_perm: float       # correlation of pval_beta and pval_perm (a check of the Beta fit)
    pi0_fallback: bool = False     # π̂₀ could not be estimated (no p-value ≥ λ): π̂₀ = 1 was used (BH q-values)


def add_qvalues(table: pd.DataFrame, fdr: float = 0.05, lambda_: float | None = 0.85) -> tuple[pd.DataFrame, SignificanceSummary]:
    """Return a copy of a permutation table with ``qval`` and ``pval_nominal_threshold`` columns.

    ``lambda_`` = None uses R qvalue's default smoother for π̂₀. Phenotypes whose ``pval_beta`` is NaN get
    NaN q-values. ``pval_nominal_threshold`` is NaN for all when no phenotype is significant. When π̂₀ cannot
    be estimated (e.g. a handful of phenotypes, all with p below λ, where R qvalue stops with an error),
    π̂₀ = 1 is used, which gives Benjamini–Hochberg q-values (conservative), and the summary says so.
    """
    out = table.copy()
    pvals = out["pval_beta"].to_numpy(dtype=np.float64)
    fallback = False
    if np.isnan(pvals).all():
        q, pi0 = np.full(len(pvals), np.nan), float("nan")
    else:
        try:
            q, pi0 = qvalues(pvals, lambda_=lambda_)
        except ValueError:
            q, pi0 = qvalues(pvals, pi0=1.0)
            fallback = True
    out["qval"] = q
    p_star = genome_wide_threshold(out["pval_beta"].to_numpy(), q, fdr)
    if p_star is None:
        out["pval_nominal_threshold"] = np.nan
    else:
        out["pval_nominal_threshold"] = pval_nominal_threshold(p_star, out["beta_shape1"].to_numpy(),
                                                               out["beta_shape2"].to_numpy())
    ok = out["pval_beta"].notna() & out["pval_perm"].notna()
    r = float(np.corrcoef(out.loc[ok, "pval_beta"], out.loc[ok, "pval_perm"])[0, 1]) if ok.sum() > 1 else float("nan")
    summary = SignificanceSummary(n_tested=int(ok.sum()), pi0=pi0, n_significant=int((q <= fdr).sum()),
                                  pval_threshold=p_star, pearson_beta_perm=r, pi0_fallback=fallback)
    return out, summary


def significant_pairs(nominal: pd.DataFrame, permutation_table: pd.DataFrame, fdr: float = 0.05,
                      groups: pd.Series | None = None) -> pd.DataFrame:
    """Variant–phenotype pairs with ``pval_nominal < pval_nominal_threshold`` for phenotypes (or groups)
    with q ≤ ``fdr`` (tensorQTL's significant pairs).

    Args:
        nominal: nominal-pass pairs (``phenotype_id``, ``pval_nominal``, …).
        permutation_table: permutation-pass table with ``qval`` and ``pval_nominal_threshold``; grouped tables
            carry ``group_id`` and then ``groups`` (phenotype id → group id) gives each member its group's
            threshold.
    Returns:
        The passing rows of ``nominal`` with ``pval_nominal_threshold`` (and ``qval``) appended.
    """
    signif = permutation_table[permutation_table["qval"] <= fdr]
    if "group_id" in signif and groups is not None:
        by_group = signif.set_index("group_id")[["pval_nominal_threshold", "qval"]]
        keys = groups.reindex(nominal["phenotype_id"]).to_numpy()
        thresholds = by_group.reindex(keys)
    else:
        thresholds = signif.set_index("phenotype_id")[["pval_nominal_threshold", "qval"]].reindex(nominal["phenotype_id"])
    threshold = thresholds["pval_nominal_threshold"].to_numpy()
    keep = np.asarray(nominal["pval_nominal"].to_numpy() < threshold)  # NaN thresholds compare False
    out = nominal.loc[keep].reset_index(drop=True)
    out["pval_nominal_threshold"] = threshold[keep]
    out["qval"] = thresholds["qval"].to_numpy()[keep]
    return out
