"""Covariates from principal components: genotype PCs from LD-pruned common variants and phenotype PCs.

LD pruning follows PLINK's ``--indep-pairwise WINDOW STEP R2`` procedure: windows of ``WINDOW`` variants
advancing by ``STEP``; within a window, while a pair of remaining variants has r² > ``R2``, the variant of
the pair with the lower minor-allele frequency is removed (the later one on a tie).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

DEFAULT_GENOTYPE_PCS = 5
DEFAULT_PHENOTYPE_PCS = 20
PRUNE_WINDOW, PRUNE_STEP, PRUNE_R2 = 200, 100, 0.1
COMMON_MAF = 0.05
#: Residual degrees of freedom a covariate matrix must leave: ``n − 2 − covariates ≥ 1`` (the intercept and the
#: variant take the other 2), or no phenotype can be tested.
RESIDUAL_DOF = 1


def max_covariates(n_samples: int) -> int:
    """The most covariates ``n_samples`` samples can be adjusted for: ``n − 2 − RESIDUAL_DOF``."""
    return n_samples - 2 - RESIDUAL_DOF


def _standardize_rows(X: np.ndarray) -> np.ndarray:
    Xc = X - X.mean(axis=1, keepdims=True)
    sd = Xc.std(axis=1, keepdims=True)
    return np.divide(Xc, sd, out=np.zeros_like(Xc), where=sd > 0)


def ld_prune(dosages: np.ndarray, window: int = PRUNE_WINDOW, step: int = PRUNE_STEP, r2_threshold: float = PRUNE_R2) -> np.ndarray:
    """Indices of the variants kept by pairwise LD pruning of ``dosages`` (m variants × n samples, no NaN,
    sorted by position on one chromosome)."""
    m = dosages.shape[0]
    if m == 0:
        return np.zeros(0, dtype=np.int64)
    Z = _standardize_rows(np.asarray(dosages, dtype=np.float64))
    n = Z.shape[1]
    af = dosages.mean(axis=1) / 2
    maf = np.minimum(af, 1 - af)
    removed = np.zeros(m, dtype=bool)
    removed[Z.std(axis=1) == 0] = True
    start = 0
    while start < m:
        idx = np.arange(start, min(start + window, m))
        idx = idx[~removed[idx]]
        if idx.size > 1:
            R2 = (Z[idx] @ Z[idx].T / n) ** 2
            np.fill_diagonal(R2, 0.0)
            alive = np.ones(idx.size, dtype=bool)
            while True:
                masked = np.where(alive[:, None] & alive[None, :], R2, 0.0)
                i, j = np.unravel_index(np.argmax(masked), masked.shape)
                if masked[i, j] <= r2_threshold:
                    break
                first, second = (i, j) if i < j else (j, i)
                drop = first if maf[idx[first]] < maf[idx[second]] else second
                alive[drop] = False
            removed[idx[~alive]] = True
        if start + window >= m:
            break
        start += step
    return np.flatnonzero(~removed)


def principal_components(X: np.ndarray, n_components: int) -> np.ndarray:
    """Top ``n_components`` sample PCs of ``X`` (features × n samples, standardized per feature):
    (k, n) scores, signs fixed so that each PC's largest-|loading| sample is positive. ``k`` is at most the
    numerical rank of the standardized data: a component whose singular value is below
    ``max(s₁, 1) · 1e-10 · n`` (the tolerance by which the regression drops a dependent covariate,
    :class:`~qtlatlas.engine.residualize.Residualizer`) is rounding noise, not a PC. Two quantile-normalised
    phenotypes, for instance, sum to the same value in every sample and have one PC, not two."""
    Z = _standardize_rows(np.asarray(X, dtype=np.float64))
    Z = Z[np.any(Z != 0, axis=1)]
    k = int(min(n_components, Z.shape[0], Z.shape[1] - 1))
    if k <= 0:
        return np.zeros((0, X.shape[1]))
    # PCs of samples: eigenvectors of the n × n Gram matrix (cheap when features ≫ samples)
    _, s, vt = np.linalg.svd(Z, full_matrices=False)
    k = int(np.sum(s[:k] > max(s[0], 1.0) * 1e-10 * Z.shape[1]))
    scores = vt[:k] * s[:k, None]
    signs = np.sign(scores[np.arange(k), np.abs(scores).argmax(axis=1)])
    return scores * signs[:, None]


def pca_covariates(
    samples: list[str],
    genotypes: np.ndarray | None = None,
    phenotypes: np.ndarray | None = None,
    n_genotype_pcs: int = DEFAULT_GENOTYPE_PCS,
    n_phenotype_pcs: int = DEFAULT_PHENOTYPE_PCS,
    extra: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Covariates × samples in the tensorQTL layout: ``gPC1..`` from ``genotypes`` (pruned common variants,
    m × n, no NaN), ``pPC1..`` from normalised ``phenotypes`` (p × n), then any ``extra`` covariates
    (covariates × samples, user-supplied). The total is capped at n − 3 (:data:`RESIDUAL_DOF` residual degree
    of freedom left for the regression of a phenotype on a variant; phenotype PCs are reduced first), and fewer
    PCs are returned when the data have lower rank. When ``extra`` already names a covariate like
    a computed PC (a lab's own ``gPC1``), every computed PC is named ``computed_gPC1``, … instead
    (:func:`computed_names`), so the names stay unique.
    """
    n = len(samples)
    n_extra = 0 if extra is None else extra.shape[0]
    budget = max(max_covariates(n) - n_extra, 0)
    n_g = min(n_genotype_pcs, budget) if genotypes is not None else 0
    n_p = min(n_phenotype_pcs, budget - n_g) if phenotypes is not None else 0
    blocks, names = [], []
    if n_g:
        g = principal_components(genotypes, n_g)
        blocks.append(g)
        names += [f"gPC{i + 1}" for i in range(len(g))]
    if n_p:
        p = principal_components(phenotypes, n_p)
        blocks.append(p)
        names += [f"pPC{i + 1}" for i in range(len(p))]
    if extra is not None:
        names = computed_names(names, set(extra.index))
    frame = pd.DataFrame(np.vstack(blocks) if blocks else np.zeros((0, n)), index=pd.Index(names, name="id"),
                         columns=samples)
    if extra is not None:
        frame = pd.concat([frame, extra.loc[:, samples]])
    return frame


def computed_names(names: list[str], taken: set[str]) -> list[str]:
    """The names of computed PCs: ``names`` as they are when none is in ``taken`` (the user's covariate names),
    else all of them prefixed with ``computed_`` (again until none is taken)."""
    while taken.intersection(names):
        names = [f"computed_{name}" for name in names]
    return names
