"""Regressing covariates out of genotypes and phenotypes (tensorQTL's identity).

With covariates C (n × k) plus an intercept, let Q be an orthonormal basis of the centred covariates.
For a row vector m (length n), its residual is ``m_c − (m_c Q) Qᵀ`` with ``m_c = m − mean(m)``. The
correlation of two residual vectors gives the partial correlation, whose t statistic has
``dof = n − 2 − rank(C)`` degrees of freedom.
"""

from __future__ import annotations

import numpy as np


class Residualizer:
    """Project rows onto the orthogonal complement of [1, C].

    Args:
        covariates: (n_samples, k) array, or None / k = 0 for an intercept only.
    """

    def __init__(self, covariates: np.ndarray | None, n_samples: int | None = None):
        if covariates is None or np.asarray(covariates).size == 0:
            if n_samples is None:
                raise ValueError("n_samples is required when there are no covariates")
            self.n = int(n_samples)
            self.Q = np.zeros((self.n, 0))
        else:
            C = np.asarray(covariates, dtype=np.float64)
            if C.ndim != 2:
                raise ValueError("covariates must be a 2-D array (n_samples, k)")
            if not np.all(np.isfinite(C)):
                raise ValueError("covariates contain NaN or infinite values")
            self.n = C.shape[0]
            Q, keep = _centred_basis(C)
            self.Q = Q[:, keep]
        self.rank = self.Q.shape[1]
        self.dof = self.n - 2 - self.rank
        if self.dof < 1:
            raise ValueError(f"not enough samples ({self.n}) for {self.rank} covariates")

    def transform(self, M: np.ndarray) -> np.ndarray:
        """Residuals of the rows of ``M`` (shape (r, n) or (n,)), same shape and float dtype as ``M``."""
        M = np.asarray(M)
        dtype = M.dtype if np.issubdtype(M.dtype, np.floating) else np.float64
        X = np.asarray(M, dtype=np.float64)
        Xc = X - X.mean(axis=-1, keepdims=True)
        if self.rank:
            Xc = Xc - (Xc @ self.Q) @ self.Q.T
        return Xc.astype(dtype, copy=False)


def _centred_basis(C: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """QR of the centred covariates ``C`` (n, k): ``Q`` (n, k) and which of its columns to keep (k,) bool: column
    j is dropped when what covariate j adds to the intercept and the covariates before it is numerically nil."""
    Cc = C - C.mean(axis=0)
    Q, R = np.linalg.qr(Cc)
    diag = np.abs(np.diag(R))
    return Q, diag > max(diag.max(initial=0.0), 1.0) * 1e-10 * C.shape[0]


def dependent_columns(covariates: np.ndarray) -> np.ndarray:
    """Indices of the columns of ``covariates`` (n_samples, k) that :class:`Residualizer` drops: each is (to
    its tolerance) a linear combination of the intercept and the columns before it. Empty for a full-rank
    matrix."""
    C = np.asarray(covariates, dtype=np.float64)
    if C.size == 0:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(~_centred_basis(C)[1])


def center_normalize(M: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``M`` (r, n) centred and scaled to unit L2 norm, and the norms (r,) of the centred rows.

    Rows with zero variance become all-zero (their norm is 0), so their correlations are 0, not NaN.
    """
    Mc = M - M.mean(axis=-1, keepdims=True)
    norms = np.sqrt(np.einsum("...i,...i->...", Mc, Mc))
    safe = np.where(norms > 0, norms, 1.0)
    return Mc / safe[..., None], norms
