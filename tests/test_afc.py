import numpy as np
import pytest
from scipy import optimize

from qtlatlas.engine.afc import CAP, allelic_fold_change, covariate_adjusted


def _simulate(a, n=400, seed=0, noise=0.3, covariate_effect=0.0):
    rng = np.random.default_rng(seed)
    g = rng.binomial(2, 0.4, n).astype(float)
    c = rng.normal(size=(n, 2))
    counts = 200 * ((2 - g) + g * 2.0**a) / 2 * np.exp2(rng.normal(0, noise, n) + covariate_effect * c[:, 0])
    return np.log2(counts + 1), g, c


@pytest.mark.parametrize("a", [-2.0, -0.5, 0.0, 0.8, 3.0])
def test_recovers_planted_fold_change(a):
    y, g, _ = _simulate(a)
    res = allelic_fold_change(y, g, n_bootstrap=200, seed=1)
    assert res.log2_aFC == pytest.approx(a, abs=0.12)
    assert res.log2_aFC_lower <= res.log2_aFC <= res.log2_aFC_upper
    assert res.log2_aFC_lower - 0.05 <= a <= res.log2_aFC_upper + 0.05


def test_matches_direct_least_squares():
    y, g, _ = _simulate(1.3, n=150, seed=4, noise=0.6)

    def sse(a):
        f = np.log2((2 - g) + g * 2.0**a)
        beta = np.mean(y - f)
        return np.sum((y - beta - f) ** 2)

    best = optimize.minimize_scalar(sse, bounds=(-CAP, CAP), method="bounded", options={"xatol": 1e-8}).x
    assert allelic_fold_change(y, g, n_bootstrap=0).log2_aFC == pytest.approx(best, abs=2e-3)


def test_covariates_removed_without_losing_the_effect():
    y, g, c = _simulate(1.0, covariate_effect=1.0, seed=2)
    with_cov = allelic_fold_change(y, g, covariates=c, n_bootstrap=0).log2_aFC
    assert with_cov == pytest.approx(1.0, abs=0.12)
    adj = covariate_adjusted(y, g, c)
    assert abs(np.corrcoef(adj, c[:, 0])[0, 1]) < 0.05


def test_capped_and_degenerate():
    y, g, _ = _simulate(12.0, noise=0.05)
    assert allelic_fold_change(y, g, n_bootstrap=0).log2_aFC == pytest.approx(CAP)
    assert np.isnan(allelic_fold_change(np.ones(10), np.zeros(10)).log2_aFC)
