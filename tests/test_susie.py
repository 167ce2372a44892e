"""SuSiE fine-mapping: the engine on simulated data, and ``qtlatlas map cis_susie`` against susieR 0.12.35 on the
360 GEUVADIS chr22 eGenes (../shared/reference/susie/, made by make_susie_ref.py there)."""

import numpy as np
import pandas as pd
import pytest
from conftest import GEUVADIS22, SHARED
from scipy import stats
from scipy.optimize import minimize_scalar

from qtlatlas.cli import main
from qtlatlas.engine.brent import R_OPTIM_TOL, brent_minimize
from qtlatlas.engine.ragged import RaggedRows
from qtlatlas.engine.susie import fit_susie_windows, residualize, susie
from qtlatlas.engine.susie_prior import single_effect_loglik
from qtlatlas.engine.susie_sets import credible_sets, purity

SUSIE_REF = SHARED / "reference" / "susie"


# --------------------------------------------------------------------------------------------------------
# simulated genotypes: blocks of variants in strong LD, blocks independent of each other
# --------------------------------------------------------------------------------------------------------


def _genotypes(rng, n=400, blocks=8, per_block=25, flip=0.04):
    """(n, blocks·per_block) dosages: within a block, each variant copies the block's haplotypes with a
    fraction ``flip`` of alleles redrawn (r² ≈ 0.85–0.95 inside a block, ≈ 0 between blocks)."""
    columns = []
    for _ in range(blocks):
        freq = rng.uniform(0.2, 0.5)
        haps = rng.random((n, 2)) < freq
        for _ in range(per_block):
            redraw = rng.random((n, 2)) < flip
            h = np.where(redraw, rng.random((n, 2)) < freq, haps)
            columns.append(h.sum(axis=1).astype(np.float64))
    return np.column_stack(columns)


def _phenotype(rng, X, effects):
    y = rng.standard_normal(X.shape[0])
    for j, beta in effects.items():
        y += beta * (X[:, j] - X[:, j].mean())
    return y


@pytest.fixture(scope="module")
def X_sim():
    return _genotypes(np.random.default_rng(20))


@pytest.fixture
def simulated(X_sim, request):
    """The genotypes and a random generator of the test's own (results do not depend on the test order)."""
    return X_sim, np.random.default_rng(sum(map(ord, request.node.name)))


def test_one_planted_variant_gives_one_set_holding_it(simulated):
    X, rng = simulated
    y = _phenotype(rng, X, {60: 0.5})
    fit = susie(X, y)
    sets = credible_sets(fit, X)
    assert len(sets) == 1
    assert 60 in sets[0].variants
    assert set(sets[0].variants) <= set(range(50, 75))  # only its own LD block
    assert fit.pip[60] > 0.1 and fit.pip[np.r_[0:50, 75:200]].max() < 0.05
    assert fit.converged and np.all(np.diff(fit.elbo) > -1e-6)  # the ELBO never falls
    assert sets[0].coverage >= 0.95 and sets[0].min_abs_corr >= 0.5
    assert sets[0].min_r2 == pytest.approx(sets[0].min_abs_corr ** 2)


def test_two_independent_variants_give_two_sets(simulated):
    X, rng = simulated
    y = _phenotype(rng, X, {10: 0.45, 160: -0.45})
    fit = susie(X, y)
    sets = credible_sets(fit, X)
    assert len(sets) == 2
    held = sorted(int(s.variants[np.argmax(fit.alpha[s.effect, s.variants])]) // 25 for s in sets)
    assert held == [0, 6]  # one set in each planted block
    assert all(10 in s.variants or 160 in s.variants for s in sets)
    # the sign of the effects: posterior means of the two blocks as planted
    assert fit.posterior_mean[0:25].sum() > 0 > fit.posterior_mean[150:175].sum()


def test_no_signal_gives_no_set(simulated):
    X, rng = simulated
    y = rng.standard_normal(X.shape[0])
    fit = susie(X, y)
    assert credible_sets(fit, X) == []
    assert fit.pip.max() < 0.2


def test_windows_fitted_together_equal_fits_one_by_one(simulated):
    X, rng = simulated
    Y = np.stack([_phenotype(rng, X, {j: 0.4}) for j in (5, 40, 90, 130, 180, 199)])
    starts = np.array([0, 0, 60, 100, 120, 150])
    stops = np.array([60, 100, 140, 200, 200, 200])
    together = fit_susie_windows(X, Y, starts, stops)
    for k in range(len(Y)):
        alone = susie(X[:, starts[k]:stops[k]], Y[k])
        assert together[k].niter == alone.niter
        np.testing.assert_allclose(together[k].alpha, alone.alpha, atol=1e-10)
        np.testing.assert_allclose(together[k].lbf_variable, alone.lbf_variable, atol=1e-8)
        np.testing.assert_allclose(together[k].prior_variance, alone.prior_variance, rtol=1e-6, atol=1e-12)


def test_window_smaller_than_L_gets_one_effect_per_variant(simulated):
    X, rng = simulated
    y = _phenotype(rng, X, {3: 0.5})
    fits = fit_susie_windows(X, np.stack([y, y]), np.array([0, 0]), np.array([4, 50]))
    assert fits[0].alpha.shape == (4, 4) and fits[1].alpha.shape == (10, 50)
    assert [set(s.variants) for s in credible_sets(fits[0], X[:, :4])] == [{0, 1, 2, 3}]


def test_residualize_removes_covariates(simulated):
    X, rng = simulated
    C = rng.standard_normal((X.shape[0], 3))
    y = C @ np.array([1.0, -2.0, 0.5]) + rng.standard_normal(X.shape[0])
    Xr, yr = residualize(X, y, C)
    design = np.column_stack([np.ones(X.shape[0]), C])
    assert np.abs(design.T @ yr).max() < 1e-8 and np.abs(design.T @ Xr).max() < 1e-7


@pytest.mark.parametrize("change, message", [
    (lambda X, y: (X[:, :0], y), "at least one"),
    (lambda X, y: (X, y[:-1]), "do not match"),
    (lambda X, y: (np.where(np.arange(X.shape[1]) == 3, np.nan, X), y), "finite"),
    (lambda X, y: (np.column_stack([X[:, :5], np.ones(len(X))]), y), "constant"),
    (lambda X, y: (X, np.zeros_like(y)), "constant"),
    (lambda X, y: (X[:, 0], y), "matrix"),
])
def test_bad_input_is_refused(simulated, change, message):
    X, rng = simulated
    X, y = change(X[:, :20], rng.standard_normal(X.shape[0]))
    with pytest.raises(ValueError, match=message):
        susie(X, y)


def test_bad_L_and_windows_are_refused(simulated):
    X, rng = simulated
    y = rng.standard_normal(X.shape[0])
    with pytest.raises(ValueError, match="L must"):
        susie(X[:, :10], y, L=0)
    with pytest.raises(ValueError, match="window"):
        fit_susie_windows(X, y[None], np.array([5]), np.array([5]))
    with pytest.raises(ValueError, match="variants as columns"):
        credible_sets(susie(X[:, :10], y), X[:, :9])


# --------------------------------------------------------------------------------------------------------
# the pieces
# --------------------------------------------------------------------------------------------------------


def test_single_effect_loglik_is_the_log_mean_bayes_factor():
    rng = np.random.default_rng(3)
    betahat = rng.normal(0, 0.1, 30)
    s2 = 0.004
    for V in (0.0, 1e-6, 0.01, 3.0):
        lbf = stats.norm.logpdf(betahat, 0, np.sqrt(V + s2)) - stats.norm.logpdf(betahat, 0, np.sqrt(s2))
        expected = np.log(np.mean(np.exp(lbf)))
        z2 = betahat ** 2 / s2
        got = single_effect_loglik(np.array([V]), z2, RaggedRows(np.array([30])), np.array([s2]))[0]
        assert got == pytest.approx(expected, abs=1e-12)


def test_brent_follows_the_same_search_as_fmin():
    # scipy's bounded minimiser is the same Forsythe–Malcolm–Moler fmin: same local minimum, same point
    functions = [lambda x: (x - 1) ** 2 + np.sin(3 * x), lambda x: np.cos(x) * x, lambda x: np.abs(x - 3.3),
                 lambda x: -np.log1p(np.exp(-(x - 2) ** 2)) + 0.01 * x, lambda x: np.exp(-x) + x / 5]
    together = brent_minimize(lambda x, rows: np.array([functions[r](v) for v, r in zip(x, rows, strict=True)]),
                              -30.0, 15.0, size=len(functions))
    for f, ours in zip(functions, together, strict=True):
        ref = minimize_scalar(f, bounds=(-30, 15), method="bounded", options={"xatol": R_OPTIM_TOL}).x
        assert ours == pytest.approx(ref, abs=1e-7)


def test_purity_is_the_absolute_correlation_over_pairs(simulated):
    X, _ = simulated
    cols = X[:, [0, 1, 30, 31, 32]]
    r = np.abs(np.corrcoef(cols.T))[np.triu_indices(5, 1)]
    assert purity(cols) == pytest.approx((r.min(), r.mean(), np.median(r)))
    assert purity(cols[:, :1]) == (1.0, 1.0, 1.0)


# --------------------------------------------------------------------------------------------------------
# against susieR 0.12.35 on GEUVADIS chr22
# --------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def geuvadis_fine_mapping(shared, tmp_path_factory):
    """``qtlatlas map cis_susie`` on the reference's inputs: the eGenes (q ≤ 0.05) of tensorQTL's cis output,
    ±1 Mb of the TSS, genotypes and phenotypes residualised on [1, covariates]."""
    prefix = tmp_path_factory.mktemp("susie") / "g22"
    code = main(["map", "cis_susie", str(GEUVADIS22 / "genotypes"), str(GEUVADIS22 / "phenotypes.int.bed.gz"),
                 str(prefix), "--covariates", str(GEUVADIS22 / "covariates.txt"), "--window", "1000000",
                 "--cis-output", str(GEUVADIS22 / "tensorqtl" / "g22.cis_qtl.txt.gz"), "--threads", "1"])
    assert code == 0
    return (pd.read_parquet(f"{prefix}.susie_credible_sets.parquet"), pd.read_parquet(f"{prefix}.susie_pip.parquet"))


@pytest.mark.shared
def test_pips_and_lbfs_match_susier(geuvadis_fine_mapping):
    _, pips = geuvadis_fine_mapping
    ref = pd.read_csv(SUSIE_REF / "geuvadis22.susie.pip.tsv.gz", sep="\t")
    assert ref["phenotype_id"].nunique() == 360
    # the same variants fitted for the same phenotypes
    assert len(pips) == len(ref)
    merged = ref.merge(pips, on=["phenotype_id", "variant_id"], suffixes=("_ref", ""), validate="one_to_one")
    assert len(merged) == len(ref)
    assert (merged["pip"] - merged["pip_ref"]).abs().max() <= 0.01
    for k in range(1, 11):
        assert np.allclose(merged[f"lbf_{k}"], merged[f"lbf_{k}_ref"], atol=1e-3, rtol=1e-4)


@pytest.mark.shared
def test_credible_sets_match_susier(geuvadis_fine_mapping):
    sets, _ = geuvadis_fine_mapping
    ref = pd.read_csv(SUSIE_REF / "geuvadis22.susie.cs.tsv.gz", sep="\t")
    fits = pd.read_csv(SUSIE_REF / "geuvadis22.susie.fits.tsv", sep="\t")
    ours_n = sets.groupby("phenotype_id")["cs_id"].nunique().reindex(fits["phenotype_id"], fill_value=0)
    same_count = (ours_n.to_numpy() == fits["n_cs"].to_numpy()).mean()
    assert same_count >= 0.99
    ours = {(p, frozenset(g["variant_id"])) for (p, _), g in sets.groupby(["phenotype_id", "cs_index"])}
    theirs = [(p, frozenset(g["variant_id"])) for (p, _), g in ref.groupby(["phenotype_id", "cs_id"])]
    assert len(theirs) == fits["n_cs"].sum()
    assert np.mean([s in ours for s in theirs]) >= 0.99
    # the numbers that describe a set, where susieR's set of the same effect has the same members
    both = ref.merge(sets, left_on=["phenotype_id", "cs_id", "variant_id"],
                     right_on=["phenotype_id", "cs_index", "variant_id"], suffixes=("_ref", ""))
    assert len(both) >= 0.99 * len(ref)
    np.testing.assert_allclose(both["cs_log10bf"], both["cs_log10bf_ref"], rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(both["cs_min_abs_corr"], both["cs_min_abs_corr_ref"], atol=1e-6)
    np.testing.assert_allclose(both["cs_mean_abs_corr"], both["cs_mean_abs_corr_ref"], atol=1e-6)
    np.testing.assert_allclose(both["cs_min_r2"], both["cs_min_abs_corr_ref"] ** 2, atol=1e-6)
    np.testing.assert_allclose(both["cs_avg_r2"], both["cs_mean_abs_corr_ref"] ** 2, atol=1e-6)
    assert (sets.groupby("cs_id")["cs_size"].first() == sets.groupby("cs_id").size()).all()


@pytest.mark.shared
def test_z_is_the_nominal_t_statistic(geuvadis_fine_mapping):
    sets, _ = geuvadis_fine_mapping
    nominal = pd.read_parquet(GEUVADIS22 / "tensorqtl" / "g22.cis_qtl_pairs.chr22.parquet",
                              columns=["phenotype_id", "variant_id", "slope", "slope_se"])
    both = sets.merge(nominal, on=["phenotype_id", "variant_id"])
    assert len(both) == len(sets)
    np.testing.assert_allclose(both["z"], both["slope"] / both["slope_se"], rtol=1e-3, atol=1e-3)


@pytest.mark.shared
def test_iterations_elbo_and_residual_variance_match_susier(shared):
    """The engine's own entry point, one phenotype at a time, on the first eGenes: susieR's sweeps exactly."""
    from qtlatlas.engine.cis import PreparedCis
    from qtlatlas.mapping.inputs import load_mapping_inputs

    fits = pd.read_csv(SUSIE_REF / "geuvadis22.susie.fits.tsv", sep="\t").head(12)
    inputs = load_mapping_inputs(GEUVADIS22 / "genotypes.bed", GEUVADIS22 / "phenotypes.int.bed.gz",
                                 GEUVADIS22 / "covariates.txt")
    prep = PreparedCis(inputs.cis_problem("chr22"), window=1_000_000)
    row = {p: i for i, p in enumerate(prep.phenotype_ids)}
    for ref in fits.itertuples():
        i = row[ref.phenotype_id]
        window = np.arange(prep.lo[i], prep.hi[i])
        window = window[prep.g_norm[window] > 0]
        assert len(window) == ref.n_variants
        fit = susie((prep.G[window] * prep.g_norm[window, None]).T, prep.Y[i] * prep.y_norm[i])
        assert fit.converged and fit.niter == ref.niter
        assert fit.elbo[-1] == pytest.approx(ref.elbo, abs=1e-6)
        assert fit.sigma2 == pytest.approx(ref.sigma2, rel=1e-8)
