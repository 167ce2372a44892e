"""cis heritability by REML with one variance component (the GCTA ``--reml`` model), exact and fast.

Model, for ``n`` samples::

    y = C b + g + e,    g ~ N(0, sg2 K),    e ~ N(0, se2 I)

``C`` (n × k) holds the fixed covariates (an intercept is always included), ``K`` (n × n) is a kernel.
For cis heritability ``K = Z Zᵀ / m`` with ``Z`` the genotypes of the ``m`` window SNPs, each mean-imputed
and standardised to mean 0 and sample SD 1 (divisor n − 1, as FUSION and PLINK scale genotypes). GCTA's
GRM divides by 2p(1 − p) instead of the sample variance; under Hardy–Weinberg the two agree to O(1/n).

Method: the covariates are projected out with an orthonormal basis ``Q`` (n × (n − k)) of the complement
of span(C); REML is then plain maximum likelihood of ``Qᵀy`` with covariance ``σ²(h² QᵀKQ + (1 − h²) I)``.
One eigendecomposition of ``QᵀKQ`` (through a thin SVD of ``QᵀZ`` when a factor ``Z`` is given) makes the
profile likelihood (σ² maximised out) an O(n) function of h² alone:

    ℓ(h²) = −½ [ (n − k) log(q(h²) / (n − k)) + Σᵢ log dᵢ + (n − k)(1 + log 2π) ],
    dᵢ = h² sᵢ + 1 − h²,   q(h²) = Σᵢ ỹᵢ² / dᵢ,

with ``sᵢ`` the eigenvalues and ``ỹ`` the rotated phenotype. It is maximised over h² ∈ [0, 1] by a grid of
201 points followed by Brent's bounded method in the best grid cell (tolerance 1e-10 on h²), so the
estimate is the global maximum of the exact REML likelihood (not an iterative AI-REML approximation).

Reported alongside h²:

* ``se``: delta-method SE of h² = sg2 / (sg2 + se2) from the inverse **average information** matrix of
  (sg2, se2) at the estimate, ``AI_ab = ½ yᵀP V_a P V_b P y`` (GCTA's AI-REML information);
* ``pval``: GCTA's ``--reml-lrt`` test, LRT = 2(ℓ(ĥ²) − ℓ(0)), p = ½ P(χ²₁ > LRT) (boundary mixture).

:func:`hsq_set` builds a result with a fixed h² (FUSION ``--hsq_set``: no estimation, SE and p are NaN).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

__all__ = ["RemlProblem", "RemlResult", "grm", "hsq_set", "reml_h2"]

_GRID = 201
_XATOL = 1e-10
_EIG_ZERO = 1e-10  # relative: eigenvalues below this × the largest are exact zeros


@dataclass(frozen=True)
class RemlResult:
    """Heritability estimate of one phenotype.

    Attributes:
        h2: sg2 / (sg2 + se2), in [0, 1].
        se: standard error of ``h2`` (average information, delta method); NaN for a fixed h².
        pval: LRT p-value against h² = 0 (½ χ²₁ tail); NaN for a fixed h².
        lrt: 2(ℓ(h2) − ℓ(0)), ≥ 0; NaN for a fixed h².
        loglik: REML log-likelihood at ``h2`` (constants included, up to ½ log|CᵀC|).
        loglik_null: REML log-likelihood at h² = 0.
        sigma2: total variance sg2 + se2 at the estimate, in phenotype units².
        n: samples; ``k``: fixed-effect columns (intercept included).
        fixed: True when h² was set, not estimated.
    """

    h2: float
    se: float
    pval: float
    lrt: float
    loglik: float
    loglik_null: float
    sigma2: float
    n: int
    k: int
    fixed: bool = False

    @property
    def sigma_g2(self) -> float:
        return self.h2 * self.sigma2

    @property
    def sigma_e2(self) -> float:
        return (1.0 - self.h2) * self.sigma2


def hsq_set(h2: float, n: int = 0) -> RemlResult:
    """A result carrying a fixed h² (FUSION ``--hsq_set``): no estimation, ``se``/``pval``/``lrt`` NaN."""
    if not 0.0 <= h2 <= 1.0 or not np.isfinite(h2):
        raise ValueError(f"hsq_set: h2 must be in [0, 1], got {h2}")
    nan = float("nan")
    return RemlResult(float(h2), nan, nan, nan, nan, nan, nan, int(n), 0, fixed=True)


def grm(Z: np.ndarray) -> np.ndarray:
    """Kernel ``Z Zᵀ / m`` (n × n) of a standardised genotype matrix ``Z`` (n × m)."""
    Z = np.asarray(Z, dtype=np.float64)
    return Z @ Z.T / Z.shape[1]


def _complement_basis(C: np.ndarray) -> np.ndarray:
    """Orthonormal basis (n × (n − rank C)) of the orthogonal complement of span(C)."""
    n = C.shape[0]
    q, r = np.linalg.qr(C, mode="complete")
    diag = np.abs(np.diag(r)) if r.size else np.zeros(0)
    rank = int((diag > 1e-10 * max(diag.max(initial=0.0), 1.0)).sum())
    if rank < C.shape[1]:  # collinear covariates: fall back to an SVD-based rank
        u, s, _ = np.linalg.svd(C, full_matrices=True)
        rank = int((s > 1e-10 * s.max()).sum())
        return u[:, rank:]
    return q[:, rank:n]


class RemlProblem:
    """The REML likelihood of one phenotype, ready to evaluate and maximise.

    Args:
        y: phenotype, shape (n,).
        Z: kernel factor, shape (n, m); the kernel is ``Z Zᵀ / m`` (give this or ``K``).
        K: kernel, shape (n, n), symmetric positive semi-definite.
        covariates: fixed effects, shape (n, c) or None; an intercept column is added.
        intercept: add the intercept column (default True).
    """

    def __init__(self, y: np.ndarray, Z: np.ndarray | None = None, *, K: np.ndarray | None = None,
                 covariates: np.ndarray | None = None, intercept: bool = True):
        y = np.asarray(y, dtype=np.float64).ravel()
        n = y.shape[0]
        if (Z is None) == (K is None):
            raise ValueError("give exactly one of Z (kernel factor) or K (kernel)")
        if not np.isfinite(y).all():
            raise ValueError("phenotype has missing or infinite values")
        cols = [np.ones((n, 1))] if intercept else []
        if covariates is not None:
            cov = np.asarray(covariates, dtype=np.float64).reshape(n, -1)
            cols.append(cov)
        C = np.hstack(cols) if cols else np.zeros((n, 0))
        Q = _complement_basis(C) if C.shape[1] else np.eye(n)
        self.n = n
        self.k = n - Q.shape[1]
        self.dof = Q.shape[1]
        if self.dof < 2:
            raise ValueError(f"REML needs more samples than fixed effects (n = {n}, k = {self.k})")
        qy = Q.T @ y
        if Z is not None:
            Z = np.asarray(Z, dtype=np.float64)
            m = Z.shape[1]
            u, sv, _ = np.linalg.svd(Q.T @ Z, full_matrices=False)
            s = sv**2 / m
        else:
            Ks = Q.T @ np.asarray(K, dtype=np.float64) @ Q
            s, u = np.linalg.eigh((Ks + Ks.T) / 2)
        s = np.where(s > _EIG_ZERO * max(s.max(initial=0.0), 1e-300), s, 0.0)
        pos = s > 0
        self.s = s[pos]
        self.yt2 = (u[:, pos].T @ qy) ** 2
        # energy and count of the rotated phenotype in the kernel's null space (eigenvalue 0)
        self.rest = max(float(qy @ qy - self.yt2.sum()), 0.0)
        self.n_zero = self.dof - int(pos.sum())

    @classmethod
    def from_spectrum(cls, s: np.ndarray, yt2: np.ndarray, *, rest: float, n_zero: int, n: int,
                      k: int) -> RemlProblem:
        """A problem from a precomputed projected spectrum: positive eigenvalues ``s`` of the projected
        kernel, squared rotated phenotype ``yt2`` on them, the phenotype energy ``rest`` on the ``n_zero``
        null directions, ``n`` samples and ``k`` fixed effects."""
        self = cls.__new__(cls)
        self.n, self.k, self.dof = int(n), int(k), int(n) - int(k)
        if self.dof < 2:
            raise ValueError(f"REML needs more samples than fixed effects (n = {n}, k = {k})")
        self.s = np.asarray(s, dtype=np.float64)
        self.yt2 = np.asarray(yt2, dtype=np.float64)
        self.rest = float(rest)
        self.n_zero = int(n_zero)
        return self

    def _d(self, h2):
        return h2 * self.s + (1.0 - h2)

    def quad(self, h2: float) -> float:
        """q(h²) = ỹᵀ D⁻¹ ỹ (σ² · (n − k) at the profile maximum)."""
        q = float((self.yt2 / self._d(h2)).sum())
        if self.n_zero:
            q += self.rest / (1.0 - h2) if h2 < 1.0 else (np.inf if self.rest > 0 else 0.0)
        return q

    def loglik(self, h2: float | np.ndarray) -> float | np.ndarray:
        """Profile REML log-likelihood at h² (scalar or array, values in [0, 1])."""
        h = np.asarray(h2, dtype=np.float64)
        if h.ndim:
            return np.array([self.loglik(float(v)) for v in h.ravel()]).reshape(h.shape)
        h = float(h)
        if self.n_zero and h >= 1.0:
            return -np.inf
        d = self._d(h)
        if (d <= 0).any():
            return -np.inf
        logdet = float(np.log(d).sum()) + (self.n_zero * np.log1p(-h) if self.n_zero else 0.0)
        q = self.quad(h)
        if not np.isfinite(q) or q <= 0:
            return -np.inf
        N = self.dof
        return -0.5 * (N * np.log(q / N) + logdet + N * (1.0 + np.log(2 * np.pi)))

    def loglik_grid(self, h2: np.ndarray) -> np.ndarray:
        """Vectorised :meth:`loglik` over a 1-D grid of h² in [0, 1) (for brute-force checks)."""
        h = np.asarray(h2, dtype=np.float64)[:, None]
        d = h * self.s[None, :] + (1.0 - h)
        q = (self.yt2[None, :] / d).sum(axis=1)
        logdet = np.log(d).sum(axis=1)
        if self.n_zero:
            q = q + self.rest / (1.0 - h[:, 0])
            logdet = logdet + self.n_zero * np.log1p(-h[:, 0])
        N = self.dof
        return -0.5 * (N * np.log(q / N) + logdet + N * (1.0 + np.log(2 * np.pi)))

    def maximise(self) -> float:
        """The h² in [0, 1] maximising :meth:`loglik` (grid of 201 points, then Brent in the best cell)."""
        top = 1.0 - 1e-12 if self.n_zero else 1.0
        grid = np.linspace(0.0, top, _GRID)
        values = self.loglik_grid(grid)
        values = np.where(np.isfinite(values), values, -np.inf)
        i = int(np.argmax(values))
        lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, _GRID - 1)]
        best_h, best_l = float(grid[i]), float(values[i])
        if hi > lo:
            res = optimize.minimize_scalar(lambda t: -self.loglik(t), bounds=(lo, hi), method="bounded",
                                           options={"xatol": _XATOL, "maxiter": 500})
            if np.isfinite(res.fun) and -res.fun >= best_l:
                best_h, best_l = float(res.x), float(-res.fun)
        for edge in (lo, hi):  # Brent never evaluates the bounds themselves
            le = self.loglik(edge)
            if le > best_l:
                best_h, best_l = float(edge), float(le)
        return best_h

    def average_information(self, sigma_g2: float, sigma_e2: float) -> np.ndarray:
        """AI matrix (2 × 2) of (sg2, se2): ``½ Σ tₐ t_b ỹ² / v³`` in the kernel's eigenbasis."""
        v = sigma_g2 * self.s + sigma_e2
        w = self.yt2 / v**3
        ai = 0.5 * np.array([[np.sum(self.s * self.s * w), np.sum(self.s * w)],
                             [np.sum(self.s * w), np.sum(w)]])
        if self.n_zero:
            ai[1, 1] += 0.5 * self.rest / sigma_e2**3
        return ai

    def fit(self) -> RemlResult:
        """Maximise the likelihood; h², SE, LRT p-value."""
        h = self.maximise()
        ll = float(self.loglik(h))
        ll0 = float(self.loglik(0.0))
        sigma2 = self.quad(h) / self.dof
        sg, se_ = h * sigma2, (1.0 - h) * sigma2
        se = _h2_se(self.average_information(sg, se_), sg, se_)
        lrt = max(2.0 * (ll - ll0), 0.0)
        pval = 0.5 * float(stats.chi2.sf(lrt, 1)) if lrt > 0 else 0.5
        return RemlResult(h, se, pval, lrt, ll, ll0, sigma2, self.n, self.k)


def _h2_se(ai: np.ndarray, sg: float, se_: float) -> float:
    vp = sg + se_
    if not np.isfinite(ai).all() or vp <= 0:
        return float("nan")
    try:
        cov = np.linalg.inv(ai)
    except np.linalg.LinAlgError:
        return float("nan")
    grad = np.array([se_ / vp**2, -sg / vp**2])
    var = float(grad @ cov @ grad)
    return float(np.sqrt(var)) if var >= 0 else float("nan")


def reml_h2(y: np.ndarray, Z: np.ndarray | None = None, *, K: np.ndarray | None = None,
            covariates: np.ndarray | None = None) -> RemlResult:
    """REML h² of phenotype ``y`` (n,) with kernel ``Z Zᵀ/m`` (``Z`` n × m) or ``K`` (n × n) and optional
    fixed ``covariates`` (n × c; an intercept is always added). See the module docstring."""
    return RemlProblem(y, Z, K=K, covariates=covariates).fit()
