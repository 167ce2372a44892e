"""SuSiE fine-mapping from summary statistics: susieR 0.12.35's ``susie_rss`` and ``susie_suff_stat``.

:func:`susie_rss` takes z-scores ``z`` (p,) of the marginal association of a trait with each of p variants and
the correlation ``R`` (p, p) between the variants, and fits the same model as :func:`.susie.susie` through the
sufficient statistics ``X'X``, ``X'y`` and ``y'y`` they imply. Two of susieR's forms are supported:

* **with the sample size n** (recommended; susieR's ``susie_rss(z, R, n = n)``): the z-scores are first
  adjusted for the variance each explains, ``z̃ = z·√((n − 1)/(z² + n − 2))``, then ``X'X = (n − 1)·R``,
  ``X'y = √(n − 1)·z̃``, ``y'y = n − 1`` — the statistics of a standardised X and y (var(y) = 1), so the prior
  variance starts at ``scaled_prior_variance`` (0.2) and effects are in standard deviations of y per standard
  deviation of genotype. With in-sample R and z from the same residualised data this is the individual-level
  fit with σ² held at var(y) (susieR documents the PIPs as close to ``susie(X, y)``'s);
* **without n** (susieR's ``susie_rss(z, R)``, "n is large and effects small"): ``X'X = R``, ``X'y = z``,
  ``y'y = 1``, n = 2 (so var(y) = 1) and unstandardised X, with the prior variance starting at
  ``prior_variance`` (susieR's default 50).

The ``bhat, shat, var_y`` form (effects on the original scale) and ``z_ld_weight`` are not supported. As
``susie_rss``, the residual variance is held at 1 (``estimate_residual_variance = False``) unless asked; the
prior variance of each effect is re-estimated in every single-effect regression (Brent's search of its
log-likelihood over log V ∈ [−30, 15], :mod:`.brent`, as in :mod:`.susie_prior`), the sweeps stop when the
ELBO rises by less than ``tol``, and susieR's ``check_prior`` refuses a fit whose prior variance exceeds
100·max|z|² (a sign that z and R do not agree).

Each sweep costs one matrix-vector product with ``X'X`` per single effect not dropped (V > 0; ``X'X·b_l`` is
kept per effect, so removing an effect from the fitted values costs nothing); everything else is O(p) array
operations, no loop over variants. Credible sets (:func:`credible_sets_rss`) measure purity on R, as susieR's ``susie_get_cs(fit,
Xcorr = cov2cor(XtX))``.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from .brent import brent_minimize
from .susie import PRIOR_TOL, SusieFit
from .susie_prior import LOG_V_BOUNDS
from .susie_sets import CredibleSet, collect_sets

#: susieR's ``check_prior``: a prior variance above this many times max|z|² stops the fit.
CHECK_PRIOR_FACTOR = 100.0


def susie_rss(z: np.ndarray, R: np.ndarray, n: int | None = None, L: int = 10,
              scaled_prior_variance: float = 0.2, prior_variance: float = 50.0,
              estimate_residual_variance: bool = False, estimate_prior_variance: bool = True,
              check_prior: bool = True, max_iter: int = 100, tol: float = 1e-3) -> SusieFit:
    """SuSiE fit of p variants from their z-scores and correlation matrix (susieR's ``susie_rss``).

    Args:
        z: (p,) z-scores (effect / standard error) of the marginal regressions; NaN is read as 0 (as susieR).
        R: (p, p) symmetric correlation matrix of the variants' genotypes (unit diagonal; with ``n`` a matrix
            of positive diagonal is standardised to one, as susieR does).
        n: sample size of the z-scores (> 1), or None for susieR's form without n.
        L: single effects (at most p).
        scaled_prior_variance: initial prior variance of each effect as a fraction of var(y), used with ``n``.
        prior_variance: initial prior variance of each effect without ``n`` (susieR's ``prior_variance``).
        Other arguments: as susieR's ``susie_suff_stat``.

    Returns:
        A :class:`~.susie.SusieFit`: ``alpha``, ``mu``, ``mu2``, ``lbf_variable`` (natural log) are (L, p);
        effects per standard deviation of genotype (``column_scale`` all ones), in standard deviations of y
        (with ``n``) or z units (without); ``sigma2`` the residual variance (1 unless estimated).

    Raises:
        ValueError: shapes that do not match, a non-finite or non-symmetric R, a non-positive diagonal, n ≤ 1,
            L < 1, or (``check_prior``) an estimated prior variance above 100·max|z|².
    """
    z = np.array(z, dtype=np.float64)
    R = np.asarray(R, dtype=np.float64)
    if z.ndim != 1:
        raise ValueError(f"z must be a vector (p,), not an array of shape {z.shape}")
    p = z.shape[0]
    if R.shape != (p, p):
        raise ValueError(f"R must be ({p}, {p}) for {p} z-scores, not {R.shape}")
    if np.any(np.isinf(z)):
        raise ValueError("z must not hold infinite values")
    z[np.isnan(z)] = 0.0
    if n is None:
        return susie_suff_stat(R, z, yty=1.0, n=2.0, L=L, scaled_prior_variance=prior_variance,
                               standardize=False, estimate_residual_variance=estimate_residual_variance,
                               estimate_prior_variance=estimate_prior_variance, check_prior=check_prior,
                               max_iter=max_iter, tol=tol)
    if not n > 1:
        raise ValueError(f"n must be greater than 1, not {n}")
    z_adj = np.sqrt((n - 1.0) / (z * z + n - 2.0)) * z
    return susie_suff_stat((n - 1.0) * R, np.sqrt(n - 1.0) * z_adj, yty=n - 1.0, n=float(n), L=L,
                           scaled_prior_variance=scaled_prior_variance, standardize=True,
                           estimate_residual_variance=estimate_residual_variance,
                           estimate_prior_variance=estimate_prior_variance, check_prior=check_prior,
                           max_iter=max_iter, tol=tol)


def susie_suff_stat(XtX: np.ndarray, Xty: np.ndarray, yty: float, n: float, L: int = 10,
                    scaled_prior_variance: float = 0.2, standardize: bool = True,
                    estimate_residual_variance: bool = True, estimate_prior_variance: bool = True,
                    check_prior: bool = False, max_iter: int = 100, tol: float = 1e-3) -> SusieFit:
    """SuSiE fit from sufficient statistics (susieR's ``susie_suff_stat`` without null weight, prior weights,
    initialisation or refinement).

    Args:
        XtX: (p, p) ``X'X`` of the centred genotypes (symmetric, finite, positive diagonal).
        Xty: (p,) ``X'y`` of them and the centred phenotype.
        yty: ``y'y``; n: sample size (var(y) = yty / (n − 1) sets the initial σ² and prior variances).
        standardize: scale X to unit variance first (``X'X`` diagonal n − 1); the fit's ``column_scale`` holds
            the scale factors √(diag(X'X)/(n − 1)) (ones without standardisation).

    Returns:
        A :class:`~.susie.SusieFit` (arrays (L, p); see :func:`susie_rss`).
    """
    XtX = np.asarray(XtX, dtype=np.float64)
    Xty = np.asarray(Xty, dtype=np.float64)
    p = Xty.shape[0] if Xty.ndim == 1 else -1
    if Xty.ndim != 1 or XtX.shape != (p, p) or p < 1:
        raise ValueError(f"XtX {XtX.shape} and Xty {Xty.shape} must be (p, p) and (p,) with p ≥ 1")
    if not (np.all(np.isfinite(XtX)) and np.all(np.isfinite(Xty))):
        raise ValueError("the correlation matrix and z-scores must be finite")
    if not np.allclose(XtX, XtX.T, rtol=1e-10, atol=1e-10 * float(np.abs(XtX).max(initial=1.0))):
        raise ValueError("the correlation matrix must be symmetric")
    if not n > 1:
        raise ValueError(f"n must be greater than 1, not {n}")
    if L < 1:
        raise ValueError(f"L must be at least 1, not {L}")
    diag = np.diag(XtX).copy()
    if np.any(diag <= 0):
        bad = np.flatnonzero(diag <= 0)
        raise ValueError(f"{bad.size} variant(s) have a non-positive variance on the diagonal (e.g. {bad[0]})")
    if standardize:
        csd = np.sqrt(diag / (n - 1.0))
        XtX = XtX / csd[:, None] / csd[None, :]
        Xty = Xty / csd
    else:
        csd = np.ones(p)
    d = np.diag(XtX).copy()
    var_y = yty / (n - 1.0)
    L = min(L, p)
    fit = _Ibss(XtX, Xty, d, L, sigma2=var_y, V=scaled_prior_variance * var_y)
    z_max = float(np.abs(Xty / d / np.sqrt(var_y / d)).max())
    elbo: list[float] = []
    converged = False
    for _ in range(max_iter):
        fit.sweep(estimate_prior_variance)
        if check_prior and np.any(fit.V > CHECK_PRIOR_FACTOR * z_max ** 2):
            raise ValueError("the estimated prior variance is unreasonably large: the z-scores and the "
                             "correlation matrix probably do not agree")
        er2 = fit.expected_rss(yty)
        value = -0.5 * n * np.log(2 * np.pi * fit.sigma2) - er2 / (2 * fit.sigma2) - fit.kl.sum()
        if not np.isfinite(value):
            raise ValueError("the ELBO became infinite: check the inputs")
        last = elbo[-1] if elbo else -np.inf
        elbo.append(float(value))
        if value - last < tol:
            converged = True
            break
        if estimate_residual_variance:
            if er2 < 0:
                raise ValueError("estimating the residual variance failed: the estimate is negative")
            fit.sigma2 = er2 / n
    return SusieFit(alpha=fit.alpha, mu=fit.mu, mu2=fit.mu2, lbf_variable=fit.lbf_variable, lbf=fit.lbf,
                    prior_variance=fit.V, kl=fit.kl, sigma2=float(fit.sigma2), elbo=np.array(elbo),
                    niter=len(elbo), converged=converged, column_scale=csd)


class _Ibss:
    """IBSS state of one sufficient-statistics fit: ``XtXb[l] = X'X·(alpha_l·mu_l)`` and their sum ``XtXr``."""

    def __init__(self, XtX, Xty, d, L, sigma2, V):
        p = len(Xty)
        self.XtX, self.Xty, self.d, self.L = XtX, Xty, d, L
        self.sigma2 = float(sigma2)
        self.V = np.full(L, float(V))
        self.alpha = np.full((L, p), 1.0 / p)
        self.mu = np.zeros((L, p))
        self.mu2 = np.zeros((L, p))
        self.lbf_variable = np.full((L, p), np.nan)
        self.lbf = np.full(L, np.nan)
        self.kl = np.full(L, np.nan)
        self.XtXb = np.zeros((L, p))
        self.XtXr = np.zeros(p)
        self.log_p = np.log(p)

    def sweep(self, estimate_prior_variance: bool) -> None:
        """One pass of single-effect regressions over the L effects (susieR's ``update_each_effect_ss``)."""
        d, sigma2 = self.d, self.sigma2
        shat2 = sigma2 / d
        for k in range(self.L):
            rest = self.XtXr - self.XtXb[k]
            xtr = self.Xty - rest
            z2 = xtr * xtr / (d * sigma2)  # (betahat / shat)²
            V = self.V[k]
            if estimate_prior_variance:
                V = _optimal_prior_variance(z2, shat2, V, self.log_p)
            lbf = _lbf(V, z2, shat2)
            top = lbf.max()
            w = np.exp(lbf - top)
            total = w.sum()
            alpha = w / total
            lbf_model = top + np.log(total) - self.log_p
            post_var = V * sigma2 / (sigma2 + V * d)
            mu = post_var / sigma2 * xtr
            mu2 = post_var + mu * mu
            b = alpha * mu
            self.kl[k] = -lbf_model - 0.5 / sigma2 * (-2.0 * np.dot(b, xtr) + np.dot(d, alpha * mu2))
            self.V[k], self.alpha[k], self.mu[k], self.mu2[k] = V, alpha, mu, mu2
            self.lbf_variable[k], self.lbf[k] = lbf, lbf_model
            if V == 0.0:  # b = 0 exactly
                self.XtXb[k] = 0.0
            else:
                self.XtXb[k] = self.XtX @ b
            self.XtXr = rest + self.XtXb[k]

    def expected_rss(self, yty: float) -> float:
        """E‖y − Xb‖² under the variational posterior (susieR's ``get_ER2_ss``)."""
        B = self.alpha * self.mu
        betabar = B.sum(axis=0)
        return float(yty - 2.0 * np.dot(betabar, self.Xty) + np.dot(betabar, self.XtXr)
                     - np.einsum("lj,lj->", B, self.XtXb) + np.dot(self.d, (self.alpha * self.mu2).sum(axis=0)))


def _lbf(V: float, z2: np.ndarray, shat2: np.ndarray) -> np.ndarray:
    """(p,) natural-log Bayes factors ``log N(β̂; 0, V + s²) − log N(β̂; 0, s²)`` from ``z2 = β̂²/s²``."""
    return 0.5 * (z2 * (V / (V + shat2)) - np.log1p(V / shat2))


def _loglik(V: float, z2: np.ndarray, shat2: np.ndarray, log_p: float) -> float:
    """ℓ(V) = log Σ_j BF_j(V)/p of one single effect (0 at V = 0)."""
    if V <= 0.0:
        return 0.0
    return float(logsumexp(_lbf(V, z2, shat2)) - log_p)


def _optimal_prior_variance(z2: np.ndarray, shat2: np.ndarray, V_old: float, log_p: float) -> float:
    """susieR's ``optimize_prior_variance("optim")``: Brent's maximum of ℓ over log V ∈ [−30, 15], the old V
    where that is better, 0 where ℓ(V) ≤ ℓ(0) = 0 (as :func:`.susie_prior.optimal_prior_variance`)."""
    old = _loglik(V_old, z2, shat2, log_p)
    log_v, neg = brent_minimize(lambda x, rows: np.array([-_loglik(float(np.exp(x[0])), z2, shat2, log_p)]),
                                *LOG_V_BOUNDS, size=1, with_values=True)
    V, best = float(np.exp(log_v[0])), -float(neg[0])
    if best < old:
        V, best = V_old, old
    return 0.0 if best <= 0.0 else V


def credible_sets_rss(fit: SusieFit, R: np.ndarray, coverage: float = 0.95, min_abs_corr: float = 0.5
                      ) -> list[CredibleSet]:
    """The credible sets of a :func:`susie_rss` fit, purity measured on the correlation matrix ``R`` (p, p).

    The rules of :func:`.susie_sets.credible_sets` (susieR's ``susie_get_cs(fit, Xcorr = R)``): per kept
    effect the fewest largest-``alpha`` variants reaching ``coverage``, duplicates of an earlier effect's set
    dropped, purity = min/mean/median |R| over the pairs of members (every pair: susieR samples 100 members of a
    larger set), sets with min |R| < ``min_abs_corr`` dropped, purest first. R is first made a correlation
    matrix (``cov2cor``), so ``(n − 1)·R`` or a covariance matrix gives the same sets.
    """
    R = np.asarray(R, dtype=np.float64)
    p = fit.alpha.shape[1]
    if R.shape != (p, p):
        raise ValueError(f"R must be ({p}, {p}) for the fit's {p} variants, not {R.shape}")
    if not 0 < coverage <= 1:
        raise ValueError(f"coverage must be in (0, 1], not {coverage}")
    if not 0 <= min_abs_corr <= 1:
        raise ValueError(f"min_abs_corr must be in [0, 1], not {min_abs_corr}")
    scale = np.sqrt(np.diag(R))
    return collect_sets(fit, fit.prior_variance > PRIOR_TOL, coverage, min_abs_corr,
                        lambda members: _purity(R, scale, members))


def _purity(R: np.ndarray, scale: np.ndarray, members: np.ndarray) -> tuple[float, float, float]:
    """Minimum, mean and median |r| over the pairs of ``members``; (1, 1, 1) for a single member."""
    k = len(members)
    if k == 1:
        return 1.0, 1.0, 1.0
    sub = R[np.ix_(members, members)] / scale[members, None] / scale[None, members]
    corr = np.minimum(np.abs(sub[np.triu_indices(k, 1)]), 1.0)
    return float(corr.min()), float(corr.mean()), float(np.median(corr))
