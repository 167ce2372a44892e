"""SuSiE from summary statistics against susieR 0.12.35's ``susie_rss`` (run live through Rscript) and against
individual-level SuSiE on GEUVADIS chr22 eGenes, and coloc.bf_bf / coloc.susie of two traits' single effects."""

import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
from conftest import GEUVADIS22, SHARED

from qtlatlas.engine.coloc import combine_abf
from qtlatlas.engine.coloc_susie import coloc_bf_bf, coloc_susie, effects_with_sets
from qtlatlas.engine.susie import susie
from qtlatlas.engine.susie_rss import credible_sets_rss, susie_rss, susie_suff_stat

SUSIE_REF = SHARED / "reference" / "susie"
N_GENES = 12

R_SCRIPT = r"""
suppressMessages(library(susieR))
args <- commandArgs(TRUE)
dir <- args[1]
for (g in seq_len(as.integer(args[2]))) {
  f <- file.path(dir, g)
  meta <- scan(paste0(f, ".meta"), quiet = TRUE)
  p <- meta[1]
  z <- readBin(paste0(f, ".z"), "double", p)
  R <- matrix(readBin(paste0(f, ".R"), "double", p * p), p, p)
  fit <- suppressWarnings(suppressMessages(susie_rss(z, R, n = meta[2], n_purity = p)))
  writeBin(c(as.vector(fit$alpha), fit$pip, as.vector(fit$lbf_variable), fit$V, fit$niter), paste0(f, ".out"))
  cs <- fit$sets$cs
  idx <- fit$sets$cs_index
  lines <- if (is.null(cs)) character(0) else
    vapply(seq_along(cs), function(k) paste(idx[k] - 1, paste(cs[[k]] - 1, collapse = ","), sep = "\t"), "")
  writeLines(lines, paste0(f, ".cs"))
}
"""


def _marginal_z(G: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(p,) t-statistics of the simple regressions of y on each row of G (p, n), residual df n − 2 (rows of G
    centred, as residualised genotypes are)."""
    n = G.shape[1]
    yc = y - y.mean()
    r = (G @ yc) / np.linalg.norm(G, axis=1) / np.linalg.norm(yc)
    return r * np.sqrt((n - 2) / (1 - r * r))


@pytest.fixture(scope="module")
def egenes():
    """The first eGenes of the susie reference: residualised, unit-norm genotypes G (p, n) of their ±1 Mb
    windows, residualised phenotype y (n,), z-scores and the in-sample correlation R = G·G'."""
    from qtlatlas.engine.cis import PreparedCis
    from qtlatlas.mapping.inputs import load_mapping_inputs

    fits = pd.read_csv(SUSIE_REF / "geuvadis22.susie.fits.tsv", sep="\t").head(N_GENES)
    inputs = load_mapping_inputs(GEUVADIS22 / "genotypes.bed", GEUVADIS22 / "phenotypes.int.bed.gz",
                                 GEUVADIS22 / "covariates.txt")
    prep = PreparedCis(inputs.cis_problem("chr22"), window=1_000_000)
    row = {p: i for i, p in enumerate(prep.phenotype_ids)}
    out = []
    for pid in fits["phenotype_id"]:
        i = row[pid]
        window = np.arange(prep.lo[i], prep.hi[i])
        window = window[prep.g_norm[window] > 0]
        G = np.asarray(prep.G[window], dtype=np.float64)
        R = G @ G.T
        R = (R + R.T) / 2
        out.append({"id": pid, "G": G, "y": prep.Y[i], "z": _marginal_z(G, prep.Y[i]), "R": R})
    return out


@pytest.fixture(scope="module")
def ours(egenes):
    return [susie_rss(g["z"], g["R"], n=g["G"].shape[1]) for g in egenes]


@pytest.fixture(scope="module")
def susier(egenes, tmp_path_factory):
    """susieR::susie_rss(z, R, n = n) of each eGene: alpha, pip, lbf_variable, V, niter and the credible sets
    {effect: members} (0-based), purity over every pair (n_purity = p)."""
    if shutil.which("Rscript") is None:
        pytest.fail("Rscript (with susieR 0.12.35) is needed for the comparison with susie_rss")
    work = tmp_path_factory.mktemp("susie_rss")
    for k, g in enumerate(egenes, start=1):
        p, n = g["G"].shape
        (work / f"{k}.meta").write_text(f"{p} {n}\n")
        g["z"].astype("<f8").tofile(work / f"{k}.z")
        np.asfortranarray(g["R"]).T.astype("<f8").tofile(work / f"{k}.R")  # column-major, as R reads it
    script = work / "run.R"
    script.write_text(R_SCRIPT)
    subprocess.run(["Rscript", str(script), str(work), str(len(egenes))], check=True, capture_output=True,
                   timeout=300)
    out = []
    for k, g in enumerate(egenes, start=1):
        p = g["G"].shape[0]
        L = min(10, p)
        flat = np.fromfile(work / f"{k}.out", dtype="<f8")
        assert flat.size == 2 * L * p + p + L + 1
        sets = {}
        for line in (work / f"{k}.cs").read_text().splitlines():
            effect, members = line.split("\t")
            sets[int(effect)] = sorted(int(m) for m in members.split(","))
        out.append({"alpha": flat[:L * p].reshape(p, L).T, "pip": flat[L * p:L * p + p],
                    "lbf_variable": flat[L * p + p:2 * L * p + p].reshape(p, L).T,
                    "V": flat[2 * L * p + p:2 * L * p + p + L], "niter": int(flat[-1]), "sets": sets})
    return out


# --------------------------------------------------------------------------------------------------------
# susie_rss against susieR and against individual-level SuSiE
# --------------------------------------------------------------------------------------------------------


@pytest.mark.shared
def test_susie_rss_matches_susier(egenes, ours, susier):
    worst_pip = 0.0
    for g, fit, ref in zip(egenes, ours, susier, strict=True):
        assert fit.converged and fit.niter == ref["niter"], g["id"]
        worst_pip = max(worst_pip, float(np.abs(fit.pip - ref["pip"]).max()))
        np.testing.assert_allclose(fit.alpha, ref["alpha"], atol=1e-6)
        np.testing.assert_allclose(fit.prior_variance, ref["V"], rtol=1e-5, atol=1e-9)
        kept = ref["V"] > 1e-9  # lbf of a dropped effect is 0 at every variant on both sides
        np.testing.assert_allclose(fit.lbf_variable[kept], ref["lbf_variable"][kept], rtol=1e-6, atol=1e-5)
        sets = {s.effect: s.variants.tolist() for s in credible_sets_rss(fit, g["R"])}
        assert sets == ref["sets"], g["id"]
    assert worst_pip <= 1e-6
    assert sum(len(r["sets"]) for r in susier) >= N_GENES  # the eGenes do have credible sets to compare


@pytest.mark.shared
def test_susie_rss_with_in_sample_ld_is_individual_level_susie(egenes, ours):
    """With z and R from the same residualised data and n, susie_rss's statistics are those of susie(X, y) on
    standardised X and y: the same fits when both estimate σ² (susieR's documented equivalence) or both hold it
    at var(y). susie_rss's default (σ² held) against susie's default (σ² estimated) can differ a lot."""
    fixed_d, estimated_d, default_d = [], [], []
    for g, fit in zip(egenes, ours, strict=True):
        X, y = g["G"].T, g["y"]
        estimated_rss = susie_rss(g["z"], g["R"], n=X.shape[0], estimate_residual_variance=True)
        estimated = susie(X, y)
        estimated_d.append(np.abs(estimated_rss.pip - estimated.pip).max())
        assert estimated_rss.sigma2 * np.var(y, ddof=1) == pytest.approx(estimated.sigma2, rel=1e-4)
        fixed_d.append(np.abs(fit.pip - susie(X, y, estimate_residual_variance=False).pip).max())
        default_d.append(np.abs(fit.pip - estimated.pip).max())
    # measured on these 12 eGenes: estimated σ² max 3.6e-5; held σ² median 1e-9, max 6.3e-3 (genes with
    # near-flat prior-variance likelihoods, where rounding picks the optimum); defaults median 0.09, max 0.985
    # (a strong eQTL whose σ² is far below var(y))
    assert max(estimated_d) < 1e-4
    assert max(fixed_d) < 0.01 and np.median(fixed_d) < 1e-6
    assert np.median(default_d) < 0.15


def test_susie_rss_without_n_and_sufficient_statistics(egenes):
    g = egenes[0]
    p, n = g["G"].shape
    # without n: X'X = R, X'y = z, n = 2, prior variance 50; it still finds the eGene's signal
    no_n = susie_rss(g["z"], g["R"])
    assert no_n.converged and no_n.sigma2 == 1.0
    top = int(np.argmax(np.abs(g["z"])))
    assert no_n.pip[top] > 0.1 or no_n.pip[np.abs(g["R"][top]) > 0.9].sum() > 0.5
    # the n form is susie_suff_stat of the standardised X'X, X'y, y'y
    Xs = g["G"].T * np.sqrt(n - 1)
    ys = (g["y"] - g["y"].mean()) / g["y"].std(ddof=1)
    ss = susie_suff_stat(Xs.T @ Xs, Xs.T @ ys, yty=float(ys @ ys), n=n, estimate_residual_variance=False)
    np.testing.assert_allclose(ss.pip, susie_rss(g["z"], g["R"], n=n).pip, atol=1e-6)


@pytest.mark.parametrize("change, message", [
    (lambda z, R: (z[:-1], R), "must be"),
    (lambda z, R: (z, R + np.triu(np.ones_like(R), 1) * 0.1), "symmetric"),
    (lambda z, R: (np.where(np.arange(len(z)) == 2, np.inf, z), R), "infinite"),
    (lambda z, R: (z, np.where(np.eye(len(z)) > 0, 0.0, R)), "non-positive"),
])
def test_susie_rss_refuses_bad_input(change, message):
    rng = np.random.default_rng(1)
    G = rng.standard_normal((30, 200))
    R = np.corrcoef(G)
    z, R = change(rng.standard_normal(30), R)
    with pytest.raises(ValueError, match=message):
        susie_rss(z, R, n=200)
    with pytest.raises(ValueError, match="n must"):
        susie_rss(np.zeros(30), np.eye(30), n=1)


def test_prior_check_stops_a_fit_whose_prior_variance_is_too_large(monkeypatch):
    # susieR stops when V > 100·max|z|²; with the factor lowered, an ordinary signal trips it
    import qtlatlas.engine.susie_rss as module

    R = np.array([[1.0, 0.3], [0.3, 1.0]])
    z = np.array([8.0, 2.0])
    assert susie_rss(z, R).prior_variance[0] == pytest.approx(63.0, rel=0.05)  # V ≈ z² − 1 < 100·64
    monkeypatch.setattr(module, "CHECK_PRIOR_FACTOR", 0.5)
    with pytest.raises(ValueError, match="unreasonably large"):
        susie_rss(z, R)
    assert susie_rss(z, R, check_prior=False).converged


# --------------------------------------------------------------------------------------------------------
# coloc.bf_bf and coloc.susie
# --------------------------------------------------------------------------------------------------------


def test_bf_bf_is_combine_abf_of_every_pair():
    rng = np.random.default_rng(7)
    lbf1 = rng.normal(0, 3, (4, 250))
    lbf2 = rng.normal(0, 3, (3, 250))
    lbf2[1, 17] = 40.0  # a strong effect
    lbf1[2, 17] = 35.0  # the same variant in trait 1: H4 for that pair
    out = coloc_bf_bf(lbf1, lbf2, p1=1e-4, p2=2e-4, p12=5e-6)
    assert out.pp.shape == (12, 5) and np.allclose(out.pp.sum(axis=1), 1.0)
    assert list(zip(out.idx1, out.idx2, strict=True)) == [(i, j) for j in range(3) for i in range(4)]
    for k in range(12):
        i, j = out.idx1[k], out.idx2[k]
        np.testing.assert_allclose(out.pp[k], combine_abf(lbf1[i], lbf2[j], 1e-4, 2e-4, 5e-6), rtol=1e-12,
                                   atol=1e-300)
        assert out.hit1[k] == np.argmax(lbf1[i]) and out.hit2[k] == np.argmax(lbf2[j])
        assert out.snp_pp_h4[k].sum() == pytest.approx(1.0)
    both = np.flatnonzero((out.idx1 == 2) & (out.idx2 == 1))[0]
    assert out.pp[both, 4] > 0.99 and out.nsnps[both] == 250
    # one effect each, as vectors
    single = coloc_bf_bf(lbf1[0], lbf2[0])
    np.testing.assert_allclose(single.pp[0], combine_abf(lbf1[0], lbf2[0], 1e-4, 1e-4, 5e-6), rtol=1e-12)
    with pytest.raises(ValueError, match="same variants"):
        coloc_bf_bf(lbf1, lbf2[:, :-1])
    with pytest.raises(ValueError, match="p12"):
        coloc_bf_bf(lbf1, lbf2, p12=0.0)


def _two_traits(g, rng, causal1, causal2, effect=0.45):
    """Two phenotypes on one eGene's genotypes: unit-variance genotype effects plus N(0, 1) noise."""
    G = g["G"]
    n = G.shape[1]
    traits = []
    for j in (causal1, causal2):
        y = effect * G[j] * np.sqrt(n - 1) + rng.standard_normal(n)
        fit = susie_rss(_marginal_z(G, y), g["R"], n=n)
        traits.append((fit, credible_sets_rss(fit, g["R"])))
    return traits


def _set_holding(sets, variant):
    return next(s.effect for s in sets if variant in s.variants)


def test_coloc_susie_shared_and_distinct_causal_variants(egenes):
    rng = np.random.default_rng(11)
    g = egenes[2]
    R2 = g["R"] ** 2
    j = int(np.argmax(np.abs(g["z"])))
    far = np.flatnonzero(R2[j] < 0.01)  # low LD with the first causal variant
    k = int(far[np.argmax(np.abs(g["z"][far]) < 1.0)])
    (f1, s1), (f2, s2) = _two_traits(g, rng, j, j)
    out = coloc_susie(f1.lbf_variable, s1, f2.lbf_variable, s2)
    pair = np.flatnonzero((out.idx1 == _set_holding(s1, j)) & (out.idx2 == _set_holding(s2, j)))[0]
    assert out.pp[pair, 4] > 0.8
    assert set(out.idx1) == set(effects_with_sets(s1)) and set(out.idx2) == set(effects_with_sets(s2))

    (f1, s1), (f2, s2) = _two_traits(g, rng, j, k)
    out = coloc_susie(f1.lbf_variable, s1, f2.lbf_variable, s2)
    pair = np.flatnonzero((out.idx1 == _set_holding(s1, j)) & (out.idx2 == _set_holding(s2, k)))[0]
    assert out.pp[pair, 3] > 0.8
    assert coloc_susie(f1.lbf_variable, [], f2.lbf_variable, s2) is None
