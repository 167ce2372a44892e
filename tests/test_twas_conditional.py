"""The joint/conditional analysis and its guard (qtlatlas.twas.conditional): the statistics against their
formulas and a Monte Carlo of their null variance, and a planted locus (tests/twas_sim.py) with two correlated
causal genes, a null SNP in strong LD with both, null genes and a masked SNP, on which FUSION's analysis
manufactures signal and the guarded one does not."""

from __future__ import annotations

import math

import numpy as np
import pytest
from twas_sim import Gene, simulate_locus

from qtlatlas.twas.assoc import twas_pvalue
from qtlatlas.twas.conditional import Guard, JointModel, conditional_z, joint_estimates
from qtlatlas.twas.postprocess import PostOptions, post_process

#: The documented margin (docs/twas.md): the guard lets conditioning raise a SNP's or a model's χ² by at most
#: 1.96², so its −log10 p by at most −log10(0.05).
MARGIN = -math.log10(0.05) + 1e-9


def mlog10(p) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return -np.log10(np.asarray(p, dtype=np.float64))


# ------------------------------------------------------------------------------------------------------------
# The statistics
# ------------------------------------------------------------------------------------------------------------


def random_problem(seed: int, k: int = 3, t: int = 40, n: int = 400):
    """Correlations of ``k`` predictions and ``t`` SNPs from one genotype-like matrix, and marginal z."""
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((n, 6))
    x = base @ rng.standard_normal((6, k + t)) + rng.standard_normal((n, k + t)) * 0.8
    x = (x - x.mean(0)) / x.std(0, ddof=1)
    r = x.T @ x / (n - 1)
    z = rng.standard_normal(k + t) * 3
    return r[:k, :k], r[k:, :k], z[:k], z[k:]


def test_without_guard_the_statistic_is_fusions():
    c, cross, zs, zt = random_problem(1)
    res = JointModel(c, zs, Guard.fusion()).condition(zt, cross)
    cinv = np.linalg.inv(c)
    b = zt - cross @ cinv @ zs
    v = 1 - np.einsum("ij,jk,ik->i", cross, cinv, cross)
    np.testing.assert_allclose(res.b, b, atol=1e-12)
    np.testing.assert_allclose(res.var, v, atol=1e-12)
    np.testing.assert_allclose(res.z, b / np.sqrt(v), atol=1e-10)
    np.testing.assert_allclose(res.r2, 1 - v, atol=1e-10)  # without ridge, R² = ℓᵀC⁻¹ℓ = 1 − v
    assert (res.status == "tested").all()
    # FUSION's max_r2 rule: b = 0, z = 0 for SNPs with r² > 0.9 to a joint model
    cross2 = cross.copy()
    cross2[0, 0] = 0.97
    res = JointModel(c, zs, Guard.fusion()).condition(zt, cross2, max_r2=0.9)
    assert res.z[0] == 0 and res.status[0] == "collinear"
    # the models' version is the same formula
    corr = np.block([[c, cross.T], [cross, np.eye(len(zt))]])
    b2, v2 = conditional_z(np.r_[zs, zt], corr, np.arange(3), np.arange(3, 3 + len(zt)))
    np.testing.assert_allclose(b2, b, atol=1e-12)
    np.testing.assert_allclose(v2, v, atol=1e-12)


def test_ridge_variance_is_the_null_variance_of_the_conditional_effect():
    """With ridge, v = 1 − 2ℓᵀD⁻¹ℓ + ℓᵀD⁻¹CD⁻¹ℓ: the variance of b when (z_S, z_t) ~ N(0, Σ) (Monte Carlo)."""
    c, cross, zs, zt = random_problem(2, k=3, t=5)
    sigma = np.block([[c, cross.T], [cross, np.ones((5, 5)) * 0 + np.eye(5)]])
    sigma[3:, 3:] = np.corrcoef(np.random.default_rng(0).standard_normal((5, 50)))  # any SNP-SNP block
    sigma[3:, 3:] = np.eye(5) * 0.5 + 0.5 * sigma[3:, 3:]
    fit = JointModel(c, zs, Guard(ridge=0.5, eigen_floor=None, max_explained=None, ld_error=False, max_increase=None))
    draws = np.random.default_rng(3).multivariate_normal(np.zeros(8), sigma, size=200_000)
    b = draws[:, 3:] - draws[:, :3] @ fit.dinv.T @ cross.T
    res = fit.condition(np.zeros(5), cross)
    np.testing.assert_allclose(b.var(axis=0), res.var, rtol=0.02)
    # the joint SE with ridge: √diag(D⁻¹CD⁻¹), the SD of β = D⁻¹ z_S
    beta = draws[:, :3] @ fit.dinv.T
    np.testing.assert_allclose(beta.std(axis=0), fit.joint_se, rtol=0.02)


def test_collinear_joint_models_are_regularised():
    """Two near-copies of one prediction (r = 0.995): FUSION's joint effects are a large difference of the two;
    the eigenvalue floor keeps them near half the shared signal each."""
    c = np.array([[1.0, 0.995], [0.995, 1.0]])
    z = np.array([8.0, 7.0])
    fusion = JointModel(c, z, Guard.fusion())
    guarded = JointModel(c, z, Guard())
    assert abs(fusion.beta[0] - fusion.beta[1]) > 150
    assert guarded.ridge == pytest.approx(0.1 - 0.005)
    assert np.all(np.abs(guarded.beta) < 10) and np.all(np.isfinite(guarded.joint_se))
    # the variance explained of a SNP is its projection on the predictions' span, ridge or not
    snp = np.array([[0.9, 0.9]])
    assert guarded.explained(snp)[0] == pytest.approx(2 * 0.81 / 1.995, rel=1e-9)


def test_guard_statuses_explained_unstable_and_ld_error():
    c, cross, zs, zt = random_problem(4)
    guard = Guard()
    fit = JointModel(c, zs, guard, n_ref=400)
    res = fit.condition(zt, cross)
    plain = JointModel(c, zs, Guard(max_explained=None, max_increase=None, ld_error=False), n_ref=400).condition(zt, cross)
    # the LD-reference term: Σ β² (1 − ℓ²)² / n_ref added to the variance
    extra = ((1 - cross**2) ** 2 * fit.beta**2).sum(axis=1) / 400
    np.testing.assert_allclose(res.var, plain.var + extra, rtol=1e-12)
    assert (res.status[res.r2 > 0.8] == "explained").all() and np.isnan(res.z[res.r2 > 0.8]).all()
    raised = (res.status == "unstable")
    z_ld = res.b / np.sqrt(res.var)
    np.testing.assert_array_equal(raised, (res.r2 <= 0.8) & (z_ld**2 > zt**2 + 1.96**2))
    assert raised.any() and np.isnan(res.z[raised]).all()
    tested = res.status == "tested"
    assert tested.any() and np.all(res.z[tested] ** 2 <= zt[tested] ** 2 + 1.96**2)


def test_variance_explained_is_a_share_even_where_the_correlations_are_inconsistent():
    """Two joint models of correlation 0.2 and a target correlated 0.8 with each: no correlation matrix of three
    variables has these entries (ℓᵀC⁻¹ℓ = 1.07), as happens when LD-reference correlations are thresholded; the
    share explained is capped at 1, and a consistent target keeps its exact share."""
    c = np.array([[1.0, 0.2], [0.2, 1.0]])
    fit = JointModel(c, np.array([5.0, 4.0]), Guard())
    cross = np.array([[0.8, 0.8], [0.5, 0.1]])
    assert cross[0] @ np.linalg.solve(c, cross[0]) > 1.05
    r2 = fit.explained(cross)
    assert r2[0] == 1.0
    assert r2[1] == pytest.approx(cross[1] @ np.linalg.solve(c, cross[1]), rel=1e-12)
    assert fit.condition(np.array([6.0, 2.0]), cross).status[0] == "explained"


def test_joint_estimates_report_statuses_for_the_models_left_out():
    c, cross, zs, zt = random_problem(5, k=2, t=6)
    corr = np.block([[c, cross.T], [cross, np.eye(6)]])
    z = np.r_[zs, zt]
    joint = np.r_[[True, True], np.zeros(6, dtype=bool)]
    fusion = joint_estimates(z, corr, joint)
    guarded = joint_estimates(z, corr, joint, guard=Guard(), n_ref=400)
    assert "cond_status" in guarded and len(guarded["cond_status"]) == 6
    ok = guarded["cond_status"] == "tested"
    assert np.isnan(guarded["cond_p"][~ok]).all()
    np.testing.assert_allclose(fusion["joint_z"], np.linalg.solve(c, zs) / np.sqrt(np.diag(np.linalg.inv(c))))


# ------------------------------------------------------------------------------------------------------------
# A planted locus
# ------------------------------------------------------------------------------------------------------------

A, B = 110, 118  # causal eQTLs of the two causal genes
GENES = [Gene("A", A, 0.10, "top1"), Gene("B", B, 0.10, "blup"), Gene("C", 30, 0.0, "blup"),
         Gene("D", 210, 0.0, "top1")]
SEEDS = (0, 1, 2, 3)


def planted(seed: int, masked: bool):
    """The locus of ``seed``; its null SNP in strong LD with both eQTLs (the SNP between them that the two
    explain best, reference R² ≥ 0.5) and, when ``masked``, a SNP near A's eQTL whose own effect cancels its
    marginal association."""
    first = simulate_locus(GENES, seed, rho=0.985)
    r = first.r_ref
    pair = r[np.ix_([A, B], [A, B])]
    joint_r2 = {j: float(r[j, [A, B]] @ np.linalg.solve(pair, r[j, [A, B]])) for j in range(A + 1, B)}
    null = max(joint_r2, key=joint_r2.get)
    assert joint_r2[null] >= 0.5
    if not masked:
        return first, null, None
    k = next(j for j in range(A - 20, A - 2) if 0.5 < abs(r[j, A]) < 0.85 and abs(r[j, B]) < 0.5)
    return simulate_locus(GENES, seed, rho=0.985, masked={k: -0.1 * (r[k, A] + r[k, B])}), null, k


def gains(sim, result):
    """Per SNP and per model of the (single) locus: how much conditioning raised −log10 p."""
    (locus,) = result.loci
    snps = locus.snps
    snp_gain = mlog10(snps["GWAS_cond.P"]) - mlog10(snps["GWAS.P"])
    marginal = sim.numbers["TWAS.P"].to_numpy()[result.rows[locus.models]]
    est = locus.estimates
    cond_gain = mlog10(est["cond_p"]) - mlog10(marginal)
    joint_gain = mlog10(est["joint_p"]) - mlog10(marginal)
    return locus, snp_gain, np.fmax(cond_gain, joint_gain)


@pytest.fixture(scope="module")
def runs():
    """Per seed: the locus, its null SNP, and FUSION's and the guarded analyses of it."""
    out = {}
    for seed in SEEDS:
        sim, null, _ = planted(seed, masked=False)
        fusion = post_process(sim.numbers, sim.models, sim.gwas, sim.ld, PostOptions.fusion(zthresh=4), chrom="1")
        guarded = post_process(sim.numbers, sim.models, sim.gwas, sim.ld,
                               PostOptions(zthresh=4, locus_stability=True), chrom="1")
        out[seed] = (sim, null, fusion, guarded)
    return out


@pytest.mark.parametrize("seed", SEEDS)
def test_guarded_conditioning_does_not_manufacture_signal(runs, seed):
    sim, null, fusion, guarded = runs[seed]
    locus, snp_gain, model_gain = gains(sim, guarded)
    assert np.nanmax(snp_gain) <= MARGIN and np.nanmax(model_gain) <= MARGIN, (seed, np.nanmax(snp_gain))
    # the joint model holds causal genes only and explains most of the lead SNP's signal
    ids = sim.numbers["ID"].to_numpy()[guarded.rows[locus.models]]
    assert set(ids[locus.joint]) <= {"A", "B"} and locus.joint.any()
    rep = locus.report
    assert rep["LEAD.STATUS"] == "explained" or rep["COND.SNP.P"] > 1e3 * rep["BEST.SNP.P"]
    # the null SNP in strong LD with both genes loses most of its (borrowed) signal
    row = int(np.flatnonzero(locus.snps["SNP"] == f"rs{null + 1}")[0])
    assert locus.snps["COND.STATUS"].iat[row] != "tested" or (
        mlog10(locus.snps["GWAS_cond.P"].iat[row]) < 0.5 * mlog10(locus.snps["GWAS.P"].iat[row]))
    # FUSION's analysis of the same locus (the whole top1 column as predictor, no guard) is what the guard
    # prevents: null SNPs gain beyond the margin
    _, fusion_gain, _ = gains(sim, fusion)
    assert np.nanmax(fusion_gain) > MARGIN, seed


def test_fusions_analysis_of_the_planted_loci_manufactures_strong_signal(runs):
    """Over the seeds, FUSION's conditioning raises SNPs of marginal p > 0.05 to p < 1e-3 and lets null genes
    into the joint model; the guarded analysis does neither."""
    made, null_genes = [], []
    for sim, _, fusion, guarded in runs.values():
        for result, out in ((fusion, made), (guarded, None)):
            locus = result.loci[0]
            snps = locus.snps
            n = int(((snps["GWAS.P"] > 0.05) & (snps["GWAS_cond.P"] < 1e-3)).sum())
            joint = set(sim.numbers["ID"].to_numpy()[result.rows[locus.models]][locus.joint])
            if out is None:
                assert n == 0 and not joint & {"C", "D"}
            else:
                out.append(n)
                null_genes.append(bool(joint & {"C", "D"}))
    assert sum(n > 0 for n in made) >= 2 and any(null_genes), (made, null_genes)


def test_a_masked_snp_is_flagged_not_hidden():
    """A SNP whose own effect cancels its marginal association (planted): FUSION's conditioning reveals it;
    the guard cannot tell it from a misfit with summary statistics and reports it as unstable, not as
    explained or as a null conditional p."""
    sim, _, k = planted(1, masked=True)
    snps_of = {}
    for name, options in (("fusion", PostOptions.fusion(zthresh=4)), ("guard", PostOptions(zthresh=4, locus_stability=True))):
        (locus,) = post_process(sim.numbers, sim.models, sim.gwas, sim.ld, options, chrom="1").loci
        snps_of[name] = locus.snps.set_index("SNP")
    marginal = snps_of["fusion"].loc[f"rs{k + 1}", "GWAS.Z"]
    assert abs(marginal) < 2 and abs(snps_of["fusion"].loc[f"rs{k + 1}", "GWAS_cond.Z"]) > 3.5
    assert snps_of["guard"].loc[f"rs{k + 1}", "COND.STATUS"] == "unstable"
    assert twas_pvalue(marginal) > 0.05
