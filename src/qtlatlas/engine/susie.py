"""SuSiE fine-mapping of individual-level data: the IBSS algorithm of Wang et al. (2020), as susieR fits it.

Model: ``y = X b + e``, ``e ~ N(0, σ² I)``, ``b = Σ_l b_l`` where each of the L single effects ``b_l`` has
exactly one non-zero coordinate, chosen with prior probability 1/p, of prior ``N(0, V_l)``. X and y are the
genotypes (n, p) and phenotype (n,) *already residualised on the covariates* by the caller
(:func:`residualize`); as susieR with ``intercept = TRUE, standardize = TRUE`` the columns of X are centred and
scaled to unit variance (n − 1 denominator) and y is centred, so ``V_l`` and the posterior effects ``mu`` are
per standard deviation of genotype.

Defaults are susieR 0.12.35's: L = 10; ``V_l`` starts at 0.2·var(y) and is re-estimated in every single-effect
regression by maximising its log-likelihood over ``log V ∈ [−30, 15]`` with Brent's method (susieR's
``estimate_prior_method = "optim"``; :mod:`.brent` follows the same search, so the same local optimum is found
where there are several), kept at its old value when that is better and set to 0 when V = 0 is at least as
good; σ² starts at var(y) and is re-estimated after each sweep (floor var(y)/10⁴); the sweeps stop when the
ELBO rises by less than 10⁻³, at most 100 sweeps.

Vectorised over variants and over phenotypes: :func:`fit_susie_windows` fits B phenotypes whose cis windows
are column ranges of one genotype matrix together (:mod:`.susie_ibss`): each single-effect regression of every
phenotype running is array operations over all their variants, matrix products shared by phenotypes with
overlapping windows, and one vectorised search of their prior variances. Credible sets: :mod:`.susie_sets`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .residualize import Residualizer
from .susie_ibss import LockstepIbss

#: susieR's ``prior_tol``: single effects whose prior variance is at most this are left out of PIPs, credible
#: sets and posterior summaries.
PRIOR_TOL = 1e-9
#: Variants (summed over phenotypes) fitted in one lockstep: bounds the memory, about 35·L bytes per variant.
LOCKSTEP_VARIANTS = 500_000


@dataclass
class SusieFit:
    """One SuSiE fit of p variants with L single effects. Per-effect arrays are (L, p); effect sizes are per
    standard deviation of the (residualised) genotype, in phenotype units.

    Attributes:
        alpha: (L, p) posterior probability that variant j is the effect's variant (each row sums to 1).
        mu: (L, p) posterior mean of the effect given it is variant j.
        mu2: (L, p) posterior second moment of the effect given it is variant j.
        lbf_variable: (L, p) natural-log Bayes factor of variant j in the last single-effect regression.
        lbf: (L,) natural-log Bayes factor of each single-effect model (``lbf_model``).
        prior_variance: (L,) estimated prior variance V of each effect (0: the effect is dropped).
        kl: (L,) KL divergence of each effect's posterior from its prior (ELBO term).
        sigma2: residual variance σ² (phenotype units²).
        elbo: (niter,) evidence lower bound after each sweep.
        niter: sweeps run; converged: whether the ELBO change fell below the tolerance.
        column_scale: (p,) standard deviation (n − 1 denominator) of each column of the X fitted, to turn
            effects back into phenotype units per allele of that X.
    """

    alpha: np.ndarray
    mu: np.ndarray
    mu2: np.ndarray
    lbf_variable: np.ndarray
    lbf: np.ndarray
    prior_variance: np.ndarray
    kl: np.ndarray
    sigma2: float
    elbo: np.ndarray
    niter: int
    converged: bool
    column_scale: np.ndarray

    @property
    def effects_kept(self) -> np.ndarray:
        """(L,) bool: effects with prior variance above :data:`PRIOR_TOL` (susieR's ``V > prior_tol``)."""
        return self.prior_variance > PRIOR_TOL

    @property
    def pip(self) -> np.ndarray:
        """(p,) posterior inclusion probabilities ``1 − Π_l (1 − alpha_lj)`` over the kept effects."""
        kept = self.alpha[self.effects_kept]
        if kept.shape[0] == 0:
            return np.zeros(self.alpha.shape[1])
        return 1.0 - np.prod(1.0 - kept, axis=0)

    @property
    def posterior_mean(self) -> np.ndarray:
        """(p,) posterior mean of each variant's effect, phenotype units per unit (allele) of X's column."""
        kept = self.effects_kept
        return (self.alpha[kept] * self.mu[kept]).sum(axis=0) / self.column_scale

    @property
    def posterior_sd(self) -> np.ndarray:
        """(p,) posterior standard deviation of each variant's effect, same units as :attr:`posterior_mean`."""
        kept = self.effects_kept
        a, m, m2 = self.alpha[kept], self.mu[kept], self.mu2[kept]
        return np.sqrt(np.maximum((a * m2 - (a * m) ** 2).sum(axis=0), 0.0)) / self.column_scale


def residualize(genotypes: np.ndarray, phenotypes: np.ndarray, covariates: np.ndarray | None
                ) -> tuple[np.ndarray, np.ndarray]:
    """Genotypes (n, p) and phenotypes (n,) or (n, B) with [1, covariates (n, k)] regressed out by least
    squares (the inputs SuSiE expects). Returns float64 arrays of the input shapes."""
    G = np.asarray(genotypes, dtype=np.float64)
    P = np.asarray(phenotypes, dtype=np.float64)
    res = Residualizer(covariates, n_samples=G.shape[0])
    return res.transform(G.T).T, res.transform(P.T).T


def susie(X: np.ndarray, y: np.ndarray, L: int = 10, scaled_prior_variance: float = 0.2,
          estimate_prior_variance: bool = True, estimate_residual_variance: bool = True,
          max_iter: int = 100, tol: float = 1e-3) -> SusieFit:
    """SuSiE fit of one phenotype ``y`` (n,) on the variants ``X`` (n, p), both residualised on the covariates.

    Raises:
        ValueError: shapes that do not match, non-finite values, a constant column of X or a constant y,
            fewer than 2 samples, L < 1.
    """
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 1:
        raise ValueError(f"y must be a vector (n,), not an array of shape {y.shape}")
    X = np.asarray(X)
    p = X.shape[1] if X.ndim == 2 else 0
    return fit_susie_windows(X, y[None, :], np.array([0]), np.array([p]), L=L,
                             scaled_prior_variance=scaled_prior_variance,
                             estimate_prior_variance=estimate_prior_variance,
                             estimate_residual_variance=estimate_residual_variance, max_iter=max_iter, tol=tol)[0]


def fit_susie_windows(X: np.ndarray, Y: np.ndarray, starts: np.ndarray, stops: np.ndarray, L: int = 10,
                      scaled_prior_variance: float = 0.2, estimate_prior_variance: bool = True,
                      estimate_residual_variance: bool = True, max_iter: int = 100, tol: float = 1e-3
                      ) -> list[SusieFit]:
    """SuSiE fits of B phenotypes, each on its own window of columns of one genotype matrix.

    Args:
        X: (n, m) genotypes residualised on the covariates (e.g. every variant of a region).
        Y: (B, n) phenotypes residualised on the same covariates.
        starts, stops: (B,) phenotype b is fitted on the columns ``starts[b]:stops[b]`` of X.
        L: single effects (a window of fewer than L variants gets one effect per variant, as susieR).
        Other arguments: as susieR's :func:`susie`.

    Returns:
        B fits; fit b has p = ``stops[b] − starts[b]`` variants, in window order.

    Raises:
        ValueError: as :func:`susie`, for any phenotype or any column inside a window.
    """
    X, Y, starts, stops = _checked(X, Y, starts, stops, L)
    centre = X.mean(axis=0)
    scale = X.std(axis=0, ddof=1)
    used = np.zeros(X.shape[1], dtype=bool)
    for s, e in zip(starts, stops, strict=True):
        used[s:e] = True
    if np.any(used & ~(scale > 0)):
        bad = np.flatnonzero(used & ~(scale > 0))
        raise ValueError(f"{bad.size} column(s) of X are constant (e.g. column {bad[0]}); drop them first")
    Xs = (X - centre) / np.where(scale > 0, scale, 1.0)
    fits: list[SusieFit | None] = [None] * len(starts)
    effects = np.minimum(L, stops - starts)
    for n_effects in np.unique(effects):
        same = np.flatnonzero(effects == n_effects)
        same = same[np.lexsort((stops[same], starts[same]))]
        for rows in _chunks(same, stops[same] - starts[same], LOCKSTEP_VARIANTS // int(n_effects) * 10):
            state = LockstepIbss(Xs, Y[rows], starts[rows], stops[rows], int(n_effects), scaled_prior_variance)
            state.run(estimate_prior_variance, estimate_residual_variance, max_iter, tol)
            for k, row in enumerate(rows):
                fits[row] = _fit_of(state, k, scale[starts[row]:stops[row]])
    return fits  # type: ignore[return-value]


def _checked(X, Y, starts, stops, L):
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"X must be a matrix (n, p), not an array of shape {X.shape}")
    if Y.ndim != 2 or Y.shape[1] != X.shape[0]:
        raise ValueError(f"phenotypes of shape {Y.shape} do not match X with {X.shape[0]} samples (rows)")
    if X.shape[0] < 2:
        raise ValueError("SuSiE needs at least 2 samples")
    if L < 1:
        raise ValueError(f"L must be at least 1, not {L}")
    starts = np.asarray(starts, dtype=np.int64)
    stops = np.asarray(stops, dtype=np.int64)
    if starts.shape != (Y.shape[0],) or stops.shape != starts.shape:
        raise ValueError("one window (start, stop) per phenotype is needed")
    if np.any(starts < 0) or np.any(stops > X.shape[1]) or np.any(stops <= starts):
        raise ValueError(f"every window must hold at least one of the {X.shape[1]} columns of X")
    if not np.all(np.isfinite(X)) or not np.all(np.isfinite(Y)):
        raise ValueError("X and y must be finite (no NaN or infinite values)")
    if np.any(Y.max(axis=1) == Y.min(axis=1)):
        raise ValueError("a phenotype is constant: nothing to fine-map")
    return X, Y, starts, stops


def _chunks(rows: np.ndarray, sizes: np.ndarray, budget: int) -> list[np.ndarray]:
    """``rows`` cut into consecutive runs whose ``sizes`` add up to at most ``budget`` (or one row)."""
    out, begin, total = [], 0, 0
    for k, size in enumerate(sizes):
        if k > begin and total + size > budget:
            out.append(rows[begin:k])
            begin, total = k, 0
        total += size
    out.append(rows[begin:])
    return out


def _fit_of(state: LockstepIbss, k: int, column_scale: np.ndarray) -> SusieFit:
    """Row ``k`` of a finished lockstep as a :class:`SusieFit`."""
    at = slice(state.layout.starts[k], state.layout.starts[k] + state.layout.counts[k])
    return SusieFit(alpha=state.alpha[:, at].copy(), mu=state.mu[:, at].copy(), mu2=state.mu2[:, at].copy(),
                    lbf_variable=state.lbf_variable[:, at].copy(), lbf=state.lbf[k].copy(),
                    prior_variance=state.V[k].copy(), kl=state.kl[k].copy(), sigma2=float(state.sigma2[k]),
                    elbo=np.array(state.elbo[k]), niter=int(state.niter[k]), converged=bool(state.converged[k]),
                    column_scale=np.asarray(column_scale, dtype=np.float64).copy())
