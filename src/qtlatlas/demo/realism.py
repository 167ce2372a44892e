"""Measures of how much a generated demo looks like a real atlas: LD decay with distance, how much the
expression levels of two tissues agree, how many distinct values each phenotype keeps after normalisation,
and whether planted effects keep their direction across tissues.

Pure functions of arrays and truth tables, used by the tests and to report the figures quoted in the
docstrings of :class:`~qtlatlas.demo.settings.DemoConfig` and :mod:`.phenotypes`.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd

#: Distance bins (bp) of :func:`ld_decay`: [edge_k, edge_k+1).
LD_BINS: tuple[int, ...] = (0, 10_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_000_000, 5_000_000)
_R2_STEPS = 1000  # resolution of the r² histogram behind the median


def ld_decay(dosage: np.ndarray, pos: np.ndarray, bounds: dict[str, tuple[int, int]],
             bins: tuple[int, ...] = LD_BINS, min_maf: float = 0.05, chunk: int = 512) -> pd.DataFrame:
    """Mean and median r² between pairs of common variants of the same chromosome, by distance.

    Args:
        dosage: (n individuals, V variants) ALT allele counts, no missing values.
        pos: (V,) positions (bp), ascending within each chromosome.
        bounds: chromosome -> (first, last + 1) variant index.
        bins: ascending distance edges (bp); pairs at distance d fall in [edge_k, edge_k+1), farther
            pairs are not counted.
        min_maf: variants with a lower minor allele frequency are left out.
        chunk: variants per block (memory is about chunk × variants within ``bins[-1]``).

    Returns:
        One row per bin: ``lo_bp, hi_bp, n_pairs, mean_r2, median_r2`` (to 0.001), ``share_r2_above_0.8``;
        r² is the squared Pearson correlation of dosages (biased up by about 1/n: unlinked variants give
        ≈ 1/n on average).
    """
    edges = np.asarray(bins, dtype=np.int64)
    n_bins = len(edges) - 1
    sums = np.zeros(n_bins)
    hist = np.zeros(n_bins * _R2_STEPS, dtype=np.int64)  # r² histogram of each distance bin, for the median
    n = dosage.shape[0]
    for lo, hi in bounds.values():
        x = dosage[:, lo:hi].astype(np.float64)
        af = x.mean(axis=0) / 2
        keep = np.minimum(af, 1 - af) >= min_maf
        x, p = x[:, keep], np.asarray(pos[lo:hi])[keep]
        x = (x - x.mean(axis=0)) / x.std(axis=0)
        for a in range(0, len(p), chunk):
            b = min(a + chunk, len(p))
            end = int(np.searchsorted(p, p[b - 1] + edges[-1], side="left"))
            r2 = ((x[:, a:b].T @ x[:, a:end]) / n) ** 2  # (b - a, end - a)
            d = p[a:end][None, :] - p[a:b][:, None]
            upper = np.arange(a, end)[None, :] > np.arange(a, b)[:, None]
            which = np.searchsorted(edges, d, side="right") - 1
            ok = upper & (which >= 0) & (which < len(edges) - 1)
            k, v = which[ok], r2[ok]
            sums += np.bincount(k, weights=v, minlength=n_bins)
            step = np.minimum((v * _R2_STEPS).astype(np.int64), _R2_STEPS - 1)
            hist += np.bincount(k * _R2_STEPS + step, minlength=len(hist))
    hist = hist.reshape(n_bins, _R2_STEPS)
    counts = hist.sum(axis=1)
    cum = np.cumsum(hist, axis=1)
    medians = np.where(counts > 0, (np.argmax(cum >= counts[:, None] / 2, axis=1) + 0.5) / _R2_STEPS, np.nan)
    high = hist[:, int(0.8 * _R2_STEPS):].sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return pd.DataFrame({"lo_bp": edges[:-1], "hi_bp": edges[1:], "n_pairs": counts,
                             "mean_r2": sums / counts, "median_r2": medians, "share_r2_above_0.8": high / counts})


def tissue_correlations(medians: pd.DataFrame, log: bool = False) -> pd.DataFrame:
    """Pearson r of the genes' median TPM between every two tissues.

    Args:
        medians: genes × tissues median TPM (NaN where a tissue does not measure the gene).
        log: correlate log2(TPM + 1) instead of TPM.

    Returns:
        ``tissue_a, tissue_b, n_genes, r`` for every pair of columns, over the genes both measure.
    """
    rows = []
    for a, b in combinations(medians.columns, 2):
        both = medians[[a, b]].dropna()
        x, y = both[a].to_numpy(dtype=float), both[b].to_numpy(dtype=float)
        if log:
            x, y = np.log2(x + 1), np.log2(y + 1)
        rows.append((a, b, len(both), float(np.corrcoef(x, y)[0, 1]) if len(both) > 2 else np.nan))
    return pd.DataFrame(rows, columns=["tissue_a", "tissue_b", "n_genes", "r"])


def distinct_fraction(values: np.ndarray) -> np.ndarray:
    """(p,) number of distinct values of each row of ``values`` (p phenotypes, n samples) divided by n;
    NaN counts as one value."""
    v = np.sort(np.asarray(values, dtype=np.float64), axis=1)
    n = v.shape[1]
    if n == 0:
        return np.zeros(v.shape[0])
    same = (v[:, 1:] == v[:, :-1]) | (np.isnan(v[:, 1:]) & np.isnan(v[:, :-1]))
    return (n - same.sum(axis=1)) / n


def direction_concordance(causal: pd.DataFrame) -> pd.DataFrame:
    """Direction of each planted effect across the tissues where it acts.

    Args:
        causal: truth rows (:class:`~qtlatlas.demo.settings.DemoTruth` ``causal_variants``) of one release.

    Returns:
        One row per modality × phenotype × variant active in two or more tissues: ``modality,
        phenotype_id, variant_id, n_tissues, n_positive, n_negative, concordant`` (every tissue the same
        sign).
    """
    signs = causal.assign(positive=causal["beta"] > 0, negative=causal["beta"] < 0)
    out = (signs.groupby(["modality", "phenotype_id", "variant_id"], sort=True)
           .agg(n_tissues=("tissue", "nunique"), n_positive=("positive", "sum"), n_negative=("negative", "sum"))
           .reset_index())
    out = out[out["n_tissues"] >= 2].reset_index(drop=True)
    out["concordant"] = (out["n_positive"] == 0) | (out["n_negative"] == 0)
    return out
