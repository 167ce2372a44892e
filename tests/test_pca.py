import numpy as np
import pytest
from conftest import G1000

from qtlatlas.engine.pca import ld_prune, pca_covariates, principal_components
from qtlatlas.engine.residualize import Residualizer
from qtlatlas.io.genotypes import read_genotypes


@pytest.mark.shared
def test_ld_prune_leaves_no_correlated_pair_within_a_window(shared):
    g = read_genotypes(G1000 / "g1000_eur_hm3_chr22.bed").dosages[:3000].astype(float)
    kept = ld_prune(g, window=200, step=100, r2_threshold=0.1)
    assert 300 < kept.size < 2500
    Z = g[kept] - g[kept].mean(axis=1, keepdims=True)
    Z /= np.linalg.norm(Z, axis=1, keepdims=True)
    R2 = (Z @ Z.T) ** 2
    for start in range(0, 3000, 100):
        in_window = np.flatnonzero((kept >= start) & (kept < start + 200))
        block = R2[np.ix_(in_window, in_window)]
        np.fill_diagonal(block, 0)
        assert block.max(initial=0) <= 0.1 + 1e-12


def test_ld_prune_removes_lower_maf_of_a_pair():
    rng = np.random.default_rng(0)
    common = rng.binomial(2, 0.4, 200).astype(float)
    rarer = common.copy()
    rarer[rarer == 1] = 0  # correlated with `common`, lower frequency
    other = rng.binomial(2, 0.3, 200).astype(float)
    assert list(ld_prune(np.vstack([rarer, common, other]))) == [1, 2]


def test_principal_components_orthogonal_and_ordered():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 40)) + np.outer(rng.normal(size=300), np.linspace(-2, 2, 40))
    pcs = principal_components(X, 5)
    assert pcs.shape == (5, 40)
    gram = pcs @ pcs.T
    np.testing.assert_allclose(gram - np.diag(np.diag(gram)), 0, atol=1e-8)
    assert np.all(np.diff(np.diag(gram)) <= 0)
    assert abs(np.corrcoef(pcs[0], np.linspace(-2, 2, 40))[0, 1]) > 0.95


def test_pca_covariates_layout_and_cap():
    rng = np.random.default_rng(2)
    samples = [f"s{i}" for i in range(12)]
    cov = pca_covariates(samples, genotypes=rng.binomial(2, 0.3, (50, 12)).astype(float),
                         phenotypes=rng.normal(size=(80, 12)), n_genotype_pcs=5, n_phenotype_pcs=20)
    assert list(cov.columns) == samples
    # n − 3 = 9: one residual degree of freedom left for the regression of a phenotype on a variant
    assert list(cov.index) == [f"gPC{i}" for i in range(1, 6)] + [f"pPC{i}" for i in range(1, 5)]
    assert Residualizer(cov.to_numpy().T).dof == 1


def test_principal_components_stop_at_the_numerical_rank():
    rng = np.random.default_rng(3)
    x = rng.normal(size=30)
    pair = np.vstack([x, 1.0 - x])  # two phenotypes that sum to the same value in every sample: one PC
    pcs = principal_components(pair, 5)
    assert pcs.shape == (1, 30)
    assert abs(np.corrcoef(pcs[0], x)[0, 1]) > 1 - 1e-12
