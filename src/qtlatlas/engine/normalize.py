"""Phenotype preparation (the Pantry / GTEx rules).

For a matrix of unnormalised phenotypes X (p phenotypes × n samples), :func:`prepare_phenotypes`:

1. drops phenotypes with ≥ 50% missing values;
2. imputes the remaining missing values by k-nearest-neighbour averaging (k = 10), samples being the
   observations: the distance between two samples is the NaN-aware Euclidean distance over the phenotypes
   both observe (scaled up for the missing coordinates, as scikit-learn's ``nan_euclidean_distances``);
   a missing value of phenotype j in sample i is the mean of phenotype j over the k nearest samples that
   observe it;
3. drops phenotypes with more than 50% zeros, and constant phenotypes;
4. makes the samples comparable, by one of :data:`NORMALIZATIONS`:

   * ``quantile`` (the default, Pantry's and GTEx's eQTL rule for every modality): each sample's values are
     replaced by the mean sorted profile, ties within a sample sharing the median of their quantiles, as
     GTEx's ``normalize_quantiles``. A phenotype that keeps nearly the same rank among the phenotypes of every
     sample (the most expressed genes, or every gene when a tissue has only ~100) gets nearly the same value
     in every sample: its normalised values are tied.
   * ``tmm`` (expression; tensorQTL's ``eqtl_prepare_expression`` default and GTEx v8's): each sample's
     values are divided by its TMM scale factor (:func:`tmm_factors`, edgeR's trimmed mean of M-values, from
     the read counts when given, else from the values themselves). Ranks within a phenotype keep every
     distinct value, whatever the number of phenotypes.
   * ``rank``: nothing (values already comparable between samples, e.g. ratios).

5. applies the rank-based inverse-normal transform per phenotype: Φ⁻¹(rank / (n + 1)), ties averaged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special, stats

#: How :func:`prepare_phenotypes` makes the samples comparable before the inverse-normal transform.
NORMALIZATIONS = ("quantile", "tmm", "rank")
MAX_MISSING_FRACTION = 0.5
#: edgeR ``calcNormFactors(method="TMM")`` defaults: share of M-values and of A-values trimmed at each end.
TMM_LOG_RATIO_TRIM = 0.3
TMM_SUM_TRIM = 0.05
MAX_ZERO_FRACTION = 0.5
KNN_NEIGHBOURS = 10


@dataclass
class PreparedPhenotypes:
    """Normalised phenotypes and what was dropped.

    Attributes:
        values: (p_kept, n) normalised values, no NaN.
        kept: (p,) boolean mask of the input phenotypes that were kept.
        dropped_missing / dropped_zeros / dropped_constant: counts of phenotypes dropped by each rule.
        imputed: number of values imputed.
    """

    values: np.ndarray
    kept: np.ndarray
    dropped_missing: int
    dropped_zeros: int
    dropped_constant: int
    imputed: int


def inverse_normal_transform(X: np.ndarray) -> np.ndarray:
    """Rank-based inverse-normal transform of each row of ``X`` (p, n): Φ⁻¹(rank / (n + 1)), ties averaged."""
    X = np.atleast_2d(np.asarray(X, dtype=np.float64))
    ranks = stats.rankdata(X, axis=1, method="average")
    return special.ndtri(ranks / (X.shape[1] + 1))


def quantile_normalize(X: np.ndarray) -> np.ndarray:
    """Quantile-normalise the columns (samples) of ``X`` (p, n) to their mean sorted profile; values tied
    within a column receive the median of the quantiles of their ranks."""
    X = np.asarray(X, dtype=np.float64)
    order = np.argsort(X, axis=0, kind="stable")
    sorted_x = np.take_along_axis(X, order, axis=0)
    profile = sorted_x.mean(axis=1)
    out = np.empty_like(X)
    for j in range(X.shape[1]):
        col = sorted_x[:, j]
        values = profile.copy()
        # runs of ties in the sorted column share the median of their quantiles
        starts = np.flatnonzero(np.concatenate([[True], col[1:] != col[:-1]]))
        ends = np.concatenate([starts[1:], [len(col)]])
        for s, e in zip(starts[ends - starts > 1], ends[ends - starts > 1], strict=True):
            values[s:e] = np.median(profile[s:e])
        out[order[:, j], j] = values
    return out


def tmm_factors(counts: np.ndarray) -> np.ndarray:
    """TMM scale factors of the samples (edgeR's ``calcNormFactors(method="TMM")`` with its defaults).

    Args:
        counts: (p, n) non-negative read counts (or other abundances) of p features in n samples; NaN counts
            as 0.

    Returns:
        (n,) factors whose geometric mean is 1. A sample's normalised abundance is its value divided by its
        factor (edgeR divides by library size × factor; TPM and CPM already divide by the library size).

    The reference sample is the one whose upper quartile of counts / library size is closest to the mean
    upper quartile. For each sample against it, over the features counted in both: M = log2 ratio of the
    proportions, A = mean log2 proportion; features in the outer 30% of M or 5% of A (ranks, ties averaged)
    are trimmed, and the factor is 2 ^ (mean of the remaining M weighted by the inverse of their asymptotic
    variances).
    """
    x = np.nan_to_num(np.asarray(counts, dtype=np.float64), nan=0.0)
    if x.ndim != 2 or (x < 0).any():
        raise ValueError("counts must be a (features, samples) matrix of non-negative values")
    lib = x.sum(axis=0)
    if x.shape[1] == 0 or (lib <= 0).any():
        raise ValueError("every sample needs a positive total count for TMM")
    x = x[(x > 0).any(axis=1)]  # features counted in no sample say nothing (edgeR drops them too)
    upper = np.quantile(x / lib, 0.75, axis=0)
    ref = int(np.argmin(np.abs(upper - upper.mean())))
    factors = np.array([_tmm_log2_factor(x[:, j], lib[j], x[:, ref], lib[ref]) for j in range(x.shape[1])])
    factors = np.exp2(factors)
    return factors / np.exp(np.mean(np.log(factors)))


def _tmm_log2_factor(obs: np.ndarray, n_obs: float, ref: np.ndarray, n_ref: float) -> float:
    """log2 TMM factor of one sample (``obs``, library size ``n_obs``) against the reference (:func:`tmm_factors`)."""
    both = (obs > 0) & (ref > 0)
    o, r = obs[both] / n_obs, ref[both] / n_ref
    m = np.log2(o / r)
    a = (np.log2(o) + np.log2(r)) / 2
    var = (n_obs - obs[both]) / n_obs / obs[both] + (n_ref - ref[both]) / n_ref / ref[both]
    n = m.size
    if n == 0 or np.abs(m).max() < 1e-6:
        return 0.0
    lo_m, hi_m = np.floor(n * TMM_LOG_RATIO_TRIM) + 1, n + 1 - (np.floor(n * TMM_LOG_RATIO_TRIM) + 1)
    lo_a, hi_a = np.floor(n * TMM_SUM_TRIM) + 1, n + 1 - (np.floor(n * TMM_SUM_TRIM) + 1)
    rank_m, rank_a = stats.rankdata(m), stats.rankdata(a)
    keep = (rank_m >= lo_m) & (rank_m <= hi_m) & (rank_a >= lo_a) & (rank_a <= hi_a)
    if not keep.any():
        return 0.0
    return float(np.sum(m[keep] / var[keep]) / np.sum(1.0 / var[keep]))


def nan_euclidean_distances(X: np.ndarray) -> np.ndarray:
    """Pairwise distances between the rows of ``X`` (n, f) ignoring NaN coordinates, scaled by
    sqrt(f / f_common) (scikit-learn's convention); NaN where two rows share no observed coordinate."""
    obs = ~np.isnan(X)
    Z = np.where(obs, X, 0.0)
    mask = obs.astype(np.float64)
    sq = Z * Z
    # sum over common coordinates of (x_i - x_j)^2 = Σ x_i² o_j + Σ x_j² o_i − 2 Σ x_i x_j
    d2 = sq @ mask.T + mask @ sq.T - 2 * Z @ Z.T
    common = mask @ mask.T
    with np.errstate(divide="ignore", invalid="ignore"):
        d2 = np.maximum(d2, 0) * (X.shape[1] / common)
    d2[common == 0] = np.nan
    return np.sqrt(d2)


def knn_impute(X: np.ndarray, k: int = KNN_NEIGHBOURS) -> np.ndarray:
    """Impute NaN of ``X`` (p phenotypes, n samples) by averaging each phenotype over the ``k`` nearest
    samples that observe it; a phenotype observed in no neighbour falls back to its mean."""
    X = np.array(X, dtype=np.float64, copy=True)
    missing = np.isnan(X)
    if not missing.any():
        return X
    D = nan_euclidean_distances(X.T)  # samples × samples
    np.fill_diagonal(D, np.inf)
    D = np.where(np.isnan(D), np.inf, D)
    for i in np.flatnonzero(missing.any(axis=0)):
        order = np.argsort(D[i], kind="stable")
        for j in np.flatnonzero(missing[:, i]):
            donors = order[~missing[j, order] & np.isfinite(D[i, order])][:k]
            X[j, i] = X[j, donors].mean() if donors.size else np.nanmean(X[j])
    return X


def prepare_phenotypes(X: np.ndarray, k: int = KNN_NEIGHBOURS, method: str = "quantile",
                       factors: np.ndarray | None = None) -> PreparedPhenotypes:
    """Apply the Pantry rules (module docstring) to ``X`` (p, n). Returns the normalised kept rows.

    ``method`` is one of :data:`NORMALIZATIONS`; for ``tmm``, ``factors`` (n,) are the samples' TMM factors
    (e.g. :func:`tmm_factors` of the read counts), by default computed from the kept, imputed values of ``X``.
    """
    if method not in NORMALIZATIONS:
        raise ValueError(f"unknown normalisation {method!r}: one of {', '.join(NORMALIZATIONS)}")
    X = np.asarray(X, dtype=np.float64)
    n = X.shape[1]
    frac_missing = np.isnan(X).mean(axis=1)
    keep_missing = frac_missing < MAX_MISSING_FRACTION
    Xk = X[keep_missing]
    n_imputed = int(np.isnan(Xk).sum())
    Xk = knn_impute(Xk, k)
    zeros = (Xk == 0).mean(axis=1) > MAX_ZERO_FRACTION
    constant = ~zeros & (Xk.max(axis=1) == Xk.min(axis=1))
    keep_rest = ~zeros & ~constant
    kept = np.zeros(X.shape[0], dtype=bool)
    kept[np.flatnonzero(keep_missing)[keep_rest]] = True
    values = Xk[keep_rest]
    if values.shape[0] and n > 1:
        if method == "quantile":
            values = quantile_normalize(values)
        elif method == "tmm":
            scale = tmm_factors(values) if factors is None else np.asarray(factors, dtype=np.float64)
            if scale.shape != (n,) or not (scale > 0).all():
                raise ValueError(f"TMM factors must be {n} positive numbers, one per sample")
            values = values / scale
        values = inverse_normal_transform(values)
    return PreparedPhenotypes(values=values, kept=kept, dropped_missing=int((~keep_missing).sum()),
                              dropped_zeros=int(zeros.sum()), dropped_constant=int(constant.sum()), imputed=n_imputed)


def median_per_phenotype(X: np.ndarray) -> np.ndarray:
    """Median of each row of ``X`` (p, n) ignoring NaN (e.g. the median TPM of each gene in a tissue)."""
    return np.nanmedian(np.asarray(X, dtype=np.float64), axis=1)
