"""trans-QTL scan: every variant–phenotype pair with p below a threshold, cis pairs excluded.

Genotypes arrive in chunks (any iterable of :class:`GenotypeChunk`), so memory is bounded by one chunk
and its correlation block (``chunk × phenotypes`` float32, itself processed in blocks of at most
``_MAX_BLOCK`` cells), plus the hits: the p threshold is converted once to an |r| threshold, and only
pairs passing it are kept, as compact arrays (no per-hit Python objects).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

from .genotype_stats import impute_mean
from .residualize import Residualizer, center_normalize
from .stats import pval_from_r2, slope_and_se

TRANS_COLUMNS = ["variant_id", "phenotype_id", "pval", "b", "b_se", "r2", "af"]
_MAX_BLOCK = 1 << 24  # correlation cells per GEMM block (64 MB of float32)


@dataclass
class GenotypeChunk:
    """Dosages (m, n; NaN = missing) with variant ids, chromosome keys and positions, each (m,)."""

    dosages: np.ndarray
    variant_ids: np.ndarray
    chrom: np.ndarray
    pos: np.ndarray


def r2_threshold(pval_threshold: float, dof: float) -> float:
    """Smallest r² whose two-sided p-value (``dof`` degrees of freedom) is below ``pval_threshold``."""
    return float(1.0 - special.betaincinv(0.5 * dof, 0.5, pval_threshold))


def trans_scan(
    chunks: Iterable[GenotypeChunk],
    phenotypes: np.ndarray,
    phenotype_ids: np.ndarray,
    phenotype_chrom: np.ndarray,
    phenotype_tss: np.ndarray,
    covariates: np.ndarray | None = None,
    pval_threshold: float = 1e-5,
    cis_window: int = 5_000_000,
    progress: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """All pairs with ``pval < pval_threshold`` except those within ``cis_window`` bp of the phenotype's TSS
    on the same chromosome.

    Args:
        chunks: genotype chunks, samples in the same order as ``phenotypes``' columns.
        phenotypes: (p, n) normalised phenotypes; ``phenotype_ids``, ``phenotype_chrom`` (chromosome keys)
            and ``phenotype_tss`` are (p,).
        covariates: (n, k) or None.
        progress: called with the number of variants of each finished chunk.
    Returns:
        :data:`TRANS_COLUMNS`: ``b`` and ``b_se`` are the slope and its standard error, ``af`` the ALT frequency.
    """
    n = phenotypes.shape[1]
    res = Residualizer(covariates, n_samples=n)
    Y, y_norm = center_normalize(res.transform(np.asarray(phenotypes, dtype=np.float64)))
    Y32 = Y.astype(np.float32)
    r_min = np.sqrt(r2_threshold(pval_threshold, res.dof))
    p_chrom = np.asarray(phenotype_chrom)
    p_tss = np.asarray(phenotype_tss, dtype=np.int64)
    found: list[dict[str, np.ndarray]] = []
    for chunk in chunks:
        G = impute_mean(np.asarray(chunk.dosages, dtype=np.float64))
        af = G.mean(axis=1) / 2
        constant = G.max(axis=1) == G.min(axis=1)
        Gn, g_norm = center_normalize(res.transform(G))
        Gn[constant], g_norm[constant] = 0.0, 0.0
        Gn32 = Gn.astype(np.float32)
        step = max(1, _MAX_BLOCK // max(1, Y32.shape[0]))
        for v0 in range(0, len(G), step):
            R = Gn32[v0:v0 + step] @ Y32.T                   # (block, p)
            vi, pi = np.nonzero(np.abs(R) >= r_min * (1 - 1e-6))
            if vi.size == 0:
                continue
            vi = vi + v0
            r = np.einsum("ij,ij->i", Gn[vi], Y[pi])          # exact float64 correlations of candidates
            keep = (pval_from_r2(r * r, res.dof) < pval_threshold)
            keep &= ~((np.asarray(chunk.chrom)[vi] == p_chrom[pi]) & (np.abs(np.asarray(chunk.pos)[vi] - p_tss[pi]) <= cis_window))
            vi, pi, r = vi[keep], pi[keep], r[keep]
            b, b_se = slope_and_se(r, y_norm[pi], g_norm[vi], res.dof)
            found.append({"variant_id": np.asarray(chunk.variant_ids)[vi], "phenotype_id": np.asarray(phenotype_ids)[pi],
                          "pval": pval_from_r2(r * r, res.dof), "b": b.astype(np.float32), "b_se": b_se.astype(np.float32),
                          "r2": (r * r).astype(np.float32), "af": af[vi].astype(np.float32)})
        if progress is not None:
            progress(len(G))
    if not found:
        return pd.DataFrame({c: [] for c in TRANS_COLUMNS})
    return pd.DataFrame({c: np.concatenate([f[c] for f in found]) for c in TRANS_COLUMNS})
