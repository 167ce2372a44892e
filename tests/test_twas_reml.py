"""REML cis heritability (qtlatlas.twas.reml): exact maximum of the REML likelihood, behaviour on
simulations (unbiasedness, null p-values), fixed h², and GEMMA's ridge (BLUP) built on it."""

import numpy as np
import pytest

from qtlatlas.twas.models import gemma_blup
from qtlatlas.twas.reml import RemlProblem, grm, hsq_set, reml_h2


def _genotypes(rng, n, m):
    freq = rng.uniform(0.05, 0.5, m)
    G = rng.binomial(2, freq, size=(n, m)).astype(float)
    Z = (G - G.mean(0)) / G.std(0, ddof=1)
    return G, Z


def _phenotype(rng, Z, h2, covariates=None):
    n, m = Z.shape
    g = Z @ rng.normal(0.0, np.sqrt(h2 / m), m)
    y = g + rng.normal(0.0, np.sqrt(1.0 - h2), n)
    if covariates is not None:
        y = y + covariates @ rng.normal(0.0, 1.0, covariates.shape[1])
    return y


def _brute_force(problem: RemlProblem) -> float:
    """Grid maximisation of the same likelihood: 1e-4 steps over [0, 1), then 1e-9 steps around the best."""
    coarse = np.linspace(0.0, 1.0 - 1e-9, 10_001)
    best = coarse[np.argmax(problem.loglik_grid(coarse))]
    fine = np.linspace(max(best - 2e-4, 0.0), min(best + 2e-4, 1.0 - 1e-9), 400_001)
    return float(fine[np.argmax(problem.loglik_grid(fine))])


@pytest.mark.parametrize("h2", [0.0, 0.25, 0.6])
def test_reml_equals_brute_force_grid(h2):
    rng = np.random.default_rng(int(h2 * 100) + 7)
    _, Z = _genotypes(rng, 250, 300)
    C = rng.normal(size=(250, 3))
    y = _phenotype(rng, Z, h2, C)
    problem = RemlProblem(y, Z, covariates=C)
    fit = problem.fit()
    assert abs(fit.h2 - _brute_force(problem)) <= 1e-6
    assert fit.loglik >= problem.loglik_grid(np.linspace(0, 1 - 1e-9, 2001)).max() - 1e-9
    # kernel given as K instead of its factor: the same likelihood
    assert abs(reml_h2(y, K=grm(Z), covariates=C).h2 - fit.h2) <= 1e-6


def test_reml_likelihood_is_gaussian_reml():
    """ℓ(h²) equals the REML log-likelihood written directly (σ² profiled out, covariates projected)."""
    rng = np.random.default_rng(3)
    _, Z = _genotypes(rng, 60, 40)
    C = rng.normal(size=(60, 2))
    y = _phenotype(rng, Z, 0.4, C)
    problem = RemlProblem(y, Z, covariates=C)
    X = np.column_stack([np.ones(60), C])
    K = grm(Z)
    for h in (0.0, 0.3, 0.8):
        H = h * K + (1 - h) * np.eye(60)
        Hi = np.linalg.inv(H)
        A = X.T @ Hi @ X
        P = Hi - Hi @ X @ np.linalg.solve(A, X.T @ Hi)
        N = 60 - X.shape[1]
        s2 = y @ P @ y / N
        ll = -0.5 * (N * np.log(2 * np.pi * s2) + np.linalg.slogdet(H)[1] + np.linalg.slogdet(A)[1] + N)
        ll += 0.5 * np.linalg.slogdet(X.T @ X)[1]  # the constant the projection leaves out
        assert problem.loglik(h) == pytest.approx(ll, abs=1e-8)


def test_reml_roughly_unbiased_with_calibrated_se():
    rng = np.random.default_rng(11)
    _, Z = _genotypes(rng, 300, 200)
    fits = [reml_h2(_phenotype(rng, Z, 0.4), Z) for _ in range(40)]
    est = np.array([f.h2 for f in fits])
    assert abs(est.mean() - 0.4) < 0.05
    se = np.array([f.se for f in fits])
    assert 0.6 < np.median(se) / est.std(ddof=1) < 1.6


def test_reml_null_pvalues_follow_the_boundary_mixture():
    rng = np.random.default_rng(5)
    _, Z = _genotypes(rng, 150, 100)
    p = np.array([reml_h2(rng.normal(size=150), Z).pval for _ in range(120)])
    assert ((p >= 0) & (p <= 0.5)).all()  # ½ χ²₁ tail: at most 0.5 (LRT = 0 gives exactly 0.5)
    assert np.mean(p == 0.5) > 0.3  # about half of the estimates sit on the boundary h² = 0
    assert np.mean(p <= 0.05) < 0.12
    assert 0.1 < np.mean(p <= 0.25) < 0.45


def test_strong_signal_is_detected():
    rng = np.random.default_rng(2)
    _, Z = _genotypes(rng, 300, 150)
    fit = reml_h2(_phenotype(rng, Z, 0.7), Z)
    assert fit.h2 > 0.5 and fit.pval < 1e-10 and fit.lrt > 40
    assert fit.sigma_g2 == pytest.approx(fit.h2 * fit.sigma2)


def test_hsq_set_and_bad_inputs():
    fixed = hsq_set(0.1, n=10)
    assert fixed.h2 == 0.1 and fixed.fixed and np.isnan(fixed.se) and np.isnan(fixed.pval)
    with pytest.raises(ValueError, match="h2 must be in"):
        hsq_set(1.5)
    with pytest.raises(ValueError, match="exactly one"):
        RemlProblem(np.zeros(5))
    with pytest.raises(ValueError, match="missing"):
        RemlProblem(np.array([1.0, np.nan, 2.0, 3.0]), np.ones((4, 2)))
    with pytest.raises(ValueError, match="more samples"):
        RemlProblem(np.arange(3.0), np.eye(3), covariates=np.arange(3.0)[:, None])


def test_gemma_blup_is_ridge_with_the_reml_variance_ratio():
    """GEMMA -bslmm 2: α = ridge regression of y on centred dosages with penalty p/λ, λ the REML ratio on
    K = X_c X_cᵀ/p (intercept only); checked against the closed form and a grid search of λ."""
    rng = np.random.default_rng(8)
    G, Z = _genotypes(rng, 120, 90)
    y = _phenotype(rng, Z, 0.5)
    alpha, lam = gemma_blup(G, y)
    Xc = G - G.mean(0)
    p = G.shape[1]
    ridge = np.linalg.solve(Xc.T @ Xc + (p / lam) * np.eye(p), Xc.T @ (y - y.mean()))
    np.testing.assert_allclose(alpha, ridge, rtol=1e-8, atol=1e-12)
    problem = RemlProblem(y, Xc)
    grid = np.linspace(0.0, 1 - 1e-9, 200_001)
    h = grid[np.argmax(problem.loglik_grid(grid))]
    assert lam == pytest.approx(h / (1 - h), rel=1e-4)
