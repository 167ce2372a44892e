"""TWAS weights (qtlatlas.twas: models, crossval, weights; qtlatlas twas weights) against FUSION's
compute_weights run on GEUVADIS chr22 (../shared/reference/fusion/, see its README).

With FUSION's exact phenotype (``pheno_effective_fam6``), its CV split and cv.glmnet's inner fold ids, top1
and enet weights and CV R² are reproduced to rounding, blup to GEMMA's printed precision (its λ is
computed to ~1e-5 and its effects printed with 7 digits), lasso (PLINK draws λ_min at random) within
0.002 of FUSION's CV R². Fitting one gene takes about 1–2 s here, so the reference checks use a spread
subset of 10 of the 60 genes (about every 6th by signal strength, two of them with ≥ 500 SNPs, where
glmnet switches to its "naive" algorithm); the benchmark fits all 60.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import pytest
from conftest import G1000, SHARED
from scipy import stats

from qtlatlas.commands.twas_weights import add_weights_command
from qtlatlas.errors import InputFileError, QtlAtlasError
from qtlatlas.io.genotypes import open_genotypes
from qtlatlas.twas import models as M
from qtlatlas.twas.crossval import CvSplit, cross_validate, cut_folds, cv_performance, plink_fold_flip
from qtlatlas.twas.fusion_io import read_parquet_panel
from qtlatlas.twas.weights import (
    PROFILE_COLUMNS,
    WEIGHT_COLUMNS,
    WeightsOptions,
    fit_weights,
    prepare_phenotype,
)

FUSION = SHARED / "reference" / "fusion"
BFILE = G1000 / "g1000_eur_hm3_chr22"
SUBSET = [0, 6, 12, 18, 24, 30, 36, 42, 49, 54]  # spread over signal strength; 49 and 54 have > 500 SNPs


# ----------------------------------------------------------------------------------------------------------
# FUSION's inputs and aids
# ----------------------------------------------------------------------------------------------------------


class Fusion:
    """The reference run's inputs: phenotypes, genes, CV order and cv.glmnet inner fold ids."""

    def __init__(self):
        inp = FUSION / "inputs"
        self.pheno = pd.read_csv(inp / "pheno_effective_fam6.tsv", sep="\t")
        self.genes = pd.read_csv(inp / "genes_selected.tsv", sep="\t")
        folds = pd.read_csv(inp / "cv_outer_folds_seed1_N358.tsv", sep="\t").sort_values("CV_ORDER")
        self.folds = folds
        self.order = folds["FAM_ROW"].to_numpy() - 1
        inner = pd.read_csv(inp / "cv_glmnet_inner_foldid_seed1_N358.tsv", sep="\t")
        self.inner = {k: g.sort_values("TRAIN_ORDER") for k, g in inner.groupby("OUTER_FOLD")}
        self.cv = pd.read_csv(FUSION / "weights_tsv" / "cv_performance.tsv", sep="\t")
        self.cv_seeded = pd.read_csv(FUSION / "weights_plinkseed1_tsv" / "cv_performance.tsv", sep="\t")
        self.reader = open_genotypes(BFILE)

    def inner_foldid(self, outer: int, train: np.ndarray) -> np.ndarray:
        rows = self.inner[outer]
        assert np.array_equal(rows["FAM_ROW"].to_numpy() - 1, train)  # same training rows, same order
        return rows["INNER_FOLD"].to_numpy()

    def window(self, gene: str):
        """Genotypes (358 × m, ALT counted) of the gene's TSS ± 500 kb at MAF ≥ 1%, and the variant table."""
        tss = int(self.genes.set_index("ID").at[gene, "TSS"])
        data = self.reader.read(f"22:{tss - 500_000}-{tss + 500_000}", samples=list(self.pheno["IID"]),
                                dtype="float32")
        G = data.to_float().astype(np.float64).T
        af = np.nanmean(G, axis=0) / 2
        keep = np.minimum(af, 1 - af) >= 0.01
        return G[:, keep], data.variants[keep].reset_index(drop=True)

    def weights(self, gene: str, seeded: bool = False) -> pd.DataFrame:
        folder = "weights_plinkseed1_tsv" if seeded else "weights_tsv"
        return pd.read_csv(FUSION / folder / f"GEUV.{gene}.wgt.tsv", sep="\t")

    def rsq(self, gene: str, model: str, seeded: bool = False) -> float:
        table = self.cv_seeded if seeded else self.cv
        return float(table[(table["WGT"] == f"GEUV.{gene}") & (table["MODEL"] == model)]["RSQ"].iat[0])


@pytest.fixture(scope="module")
def fusion(shared):
    return Fusion()


@pytest.fixture(scope="module")
def fitted(fusion):
    """Our fit of the reference subset with FUSION's aids: gene -> (result, sign of ours vs FUSION's A1)."""
    from threadpoolctl import threadpool_limits

    options = WeightsOptions(hsq_set=0.1, cv_order=fusion.order, inner_foldid=fusion.inner_foldid,
                             plink_flip=True)
    out = {}
    with threadpool_limits(1):
        for gene in fusion.genes["ID"].iloc[SUBSET]:
            G, variants = fusion.window(gene)
            ref = fusion.weights(gene)
            assert np.array_equal(variants["id"].to_numpy(), ref["SNP"].to_numpy())
            sign = np.where(variants["alt"].to_numpy() == ref["A1"].to_numpy(), 1.0, -1.0)
            out[gene] = (fit_weights(G, fusion.pheno[gene].to_numpy(), None, options), sign)
    return out


def _rel(ours: np.ndarray, ref: np.ndarray) -> float:
    return float(np.max(np.abs(ours - ref)) / np.max(np.abs(ref)))


# ----------------------------------------------------------------------------------------------------------
# Against the reference
# ----------------------------------------------------------------------------------------------------------


def test_cv_split_is_fusions(fusion):
    assert np.array_equal(cut_folds(358, 5), fusion.folds["FOLD"].to_numpy())
    split = CvSplit.fusion(358, 5, order=fusion.order)
    assert [split.test(i).size for i in range(1, 6)] == [72, 71, 72, 71, 72]
    for i in range(1, 6):
        assert np.array_equal(np.sort(np.concatenate([split.train(i), split.test(i)])), np.arange(358))
        assert np.array_equal(split.train(i), fusion.inner[i]["FAM_ROW"].to_numpy() - 1)


def test_top1_weights_and_cv_exact(fusion, fitted):
    for gene, (res, sign) in fitted.items():
        assert res.snps.size == len(fusion.weights(gene))
        assert _rel(res.weight("top1") * sign, fusion.weights(gene)["top1"].to_numpy()) <= 1e-6
        assert res.cv_r2["top1"] == pytest.approx(fusion.rsq(gene, "top1"), rel=1e-6)


def test_enet_weights_and_cv_exact(fusion, fitted):
    """glmnet's coordinate descent, λ path and cv.glmnet (own λ per fold, interpolated predictions)."""
    for gene, (res, sign) in fitted.items():
        ref = fusion.weights(gene)["enet"].to_numpy()
        assert np.array_equal(res.weight("enet") != 0, ref != 0), gene
        assert _rel(res.weight("enet") * sign, ref) <= 1e-9, gene
        assert res.cv_r2["enet"] == pytest.approx(fusion.rsq(gene, "enet"), abs=1e-9), gene


def test_blup_weights_and_cv_to_gemma_precision(fusion, fitted):
    for gene, (res, sign) in fitted.items():
        assert _rel(res.weight("blup") * sign, fusion.weights(gene)["blup"].to_numpy()) <= 2e-5, gene
        assert res.cv_r2["blup"] == pytest.approx(fusion.rsq(gene, "blup"), abs=1e-6), gene


def test_lasso_close_to_plink(fusion, fitted):
    for gene, (res, sign) in fitted.items():
        ref = fusion.weights(gene, seeded=True)["lasso"].to_numpy()
        assert _rel(res.weight("lasso") * sign, ref) <= 0.05, gene
        big = np.abs(ref) > 1e-3 * np.abs(ref).max()
        assert np.array_equal(np.abs(res.weight("lasso")) > 1e-3 * np.abs(ref).max(), big), gene
        assert abs(res.cv_r2["lasso"] - fusion.rsq(gene, "lasso")) <= 0.02, gene
        assert abs(res.cv_r2["lasso"] - fusion.rsq(gene, "lasso", seeded=True)) <= 0.02, gene


def test_same_best_model(fusion, fitted):
    same = [res.best_model == fusion.cv[fusion.cv["WGT"] == f"GEUV.{gene}"].set_index("MODEL")["RSQ"].idxmax()
            for gene, (res, _) in fitted.items()]
    assert np.mean(same) >= 0.9


def test_blup_cv_with_correct_signs_stays_close(fusion):
    """Without reproducing FUSION's allele-flip quirk (the default), blup CV R² moves by < 0.02."""
    split = CvSplit.fusion(358, 5, order=fusion.order)
    for gene in fusion.genes["ID"].iloc[[1, 25, 50]]:
        G, _ = fusion.window(gene)
        Z, _, _ = M.standardize(G)
        y = prepare_phenotype(fusion.pheno[gene].to_numpy(), None)
        cv = cross_validate(["blup"], Z, G, y, split, h2=0.1)
        assert abs(cv.r2["blup"] - fusion.rsq(gene, "blup")) <= 0.02


# ----------------------------------------------------------------------------------------------------------
# Engine units
# ----------------------------------------------------------------------------------------------------------


def _sim(seed, n=120, m=60, h2=0.5):
    rng = np.random.default_rng(seed)
    G = rng.binomial(2, rng.uniform(0.05, 0.5, m), size=(n, m)).astype(float)
    G[:, 1::7] = G[:, 0::7][:, : G[:, 1::7].shape[1]]  # exact duplicates, as in LD blocks
    Z, _, _ = M.standardize(G)
    y = Z[:, :5] @ rng.normal(0, 1, 5) * np.sqrt(h2 / 5) + rng.normal(0, np.sqrt(1 - h2), n)
    return G, Z, (y - y.mean()) / y.std(ddof=1)


@pytest.mark.parametrize("mode", ["covariance", "naive"])
def test_glmnet_pass_solver_equals_coordinatewise_updates(mode):
    """One triangular solve per pass gives glmnet's coordinate-by-coordinate arithmetic (up to rounding)."""
    _, Z, y = _sim(1)
    fast = M.glmnet(Z, y, alpha=0.5, mode=mode)
    slow = M.glmnet(Z, y, alpha=0.5, mode=mode, sequential=True)
    assert fast.lambdas.shape == slow.lambdas.shape and fast.npasses == slow.npasses
    np.testing.assert_allclose(fast.beta, slow.beta, rtol=0, atol=1e-10)
    user = M.glmnet(Z[:90], y[:90], lambdas=fast.lambdas[:40], mode=mode)
    user_slow = M.glmnet(Z[:90], y[:90], lambdas=fast.lambdas[:40], mode=mode, sequential=True)
    np.testing.assert_allclose(user.beta, user_slow.beta, rtol=0, atol=1e-10)


def test_glmnet_solutions_satisfy_kkt():
    _, Z, y = _sim(2)
    path = M.glmnet(Z, y, alpha=0.5)
    n = Z.shape[0]
    Xc = (Z - Z.mean(0)) / np.sqrt(n)
    ys = np.sqrt(np.mean((y - y.mean()) ** 2))
    for j in (10, 40, 70):
        a = path.beta[:, j] / ys
        lam = path.lambdas[j] / ys
        grad = Xc.T @ ((y - y.mean()) / (np.sqrt(n) * ys) - Xc @ a) - lam * 0.5 * a
        nz = a != 0
        assert np.allclose(grad[nz], 0.5 * lam * np.sign(a[nz]), atol=2e-3)
        assert (np.abs(grad[~nz]) <= 0.5 * lam + 1e-9).all()


def test_lambda_interp_like_glmnet():
    lam = np.array([1.0, 0.5, 0.25, 0.125])
    assert M._lambda_interp(lam, 0.5) == (1, 1, 1.0)
    left, right, frac = M._lambda_interp(lam, 0.375)
    assert (left, right) == (1, 2) and frac == pytest.approx(0.5)
    assert M._lambda_interp(lam, 2.0)[2] == 1.0 and M._lambda_interp(lam, 2.0)[0] == 0  # clamped
    assert M._lambda_interp(lam, 0.01)[:2] == (3, 3)


def test_cv_glmnet_early_stop_keeps_lambda_min():
    _, Z, y = _sim(3, n=150, m=80)
    foldid = np.resize(np.arange(1, 6), 150)
    full = M.cv_glmnet(Z, y, foldid, stop_rise=None)
    early = M.cv_glmnet(Z, y, foldid)
    assert early.index_min == full.index_min and early.n_evaluated <= full.n_evaluated
    np.testing.assert_array_equal(early.coef, full.coef)
    np.testing.assert_allclose(early.cvm, full.cvm[: early.n_evaluated])


def test_cv_performance_is_lm_adjusted_r2():
    rng = np.random.default_rng(4)
    pred = rng.normal(size=80)
    y = 0.5 * pred + rng.normal(size=80)
    fit = stats.linregress(pred, y)
    r2, p = cv_performance(y, pred)
    assert r2 == pytest.approx(1 - (1 - fit.rvalue**2) * 79 / 78, rel=1e-12)
    assert p == pytest.approx(fit.pvalue, rel=1e-9)
    assert all(np.isnan(cv_performance(y, np.ones(80))))


def test_plink_lasso_behaviour():
    G, Z, y = _sim(5, n=200, m=50, h2=0.6)
    a = M.plink_lasso(G, y, 0.5, seed=3)
    assert np.array_equal(a, M.plink_lasso(G, y, 0.5, seed=3))  # seeded: reproducible
    assert 0 < np.count_nonzero(a) < 50
    assert M.plink_lasso(G, np.ones(200), 0.5) is None  # constant phenotype: PLINK writes nothing
    assert np.isnan(M.fit_lasso(G, np.ones(200), 0.5)).all()
    flipped = M.plink_lasso(2 - G, y, 0.5, seed=3)
    np.testing.assert_allclose(flipped, -a, atol=1e-12)  # effects of the other allele


def test_plink_fold_flip_marks_alleles_crossing_half():
    G = np.array([[0, 2], [0, 2], [1, 0], [2, 0]], dtype=float)  # column 2: ALT frequency 0.5 overall
    flip = plink_fold_flip(G, np.array([0, 1, 2]))
    assert flip.tolist() == [False, True]


def test_fit_weights_preprocessing():
    rng = np.random.default_rng(6)
    G, _, _ = _sim(6, n=100, m=30)
    G[:, 3] = 1.0  # monomorphic: dropped
    G[5, 7] = np.nan  # missing call: mean-imputed
    C = rng.normal(size=(100, 2))
    y = G[:, 0] + C @ [3.0, -2.0] + rng.normal(size=100)
    res = fit_weights(G, y, C, WeightsOptions(hsq_set=0.2, crossval=0, models=("top1", "blup")))
    assert 3 not in res.snps and res.snps.size == 29 and res.models == ("top1", "blup")
    yp = prepare_phenotype(y, C)
    assert abs(yp @ C[:, 0]) < 1e-8 and yp.std(ddof=1) == pytest.approx(1.0)
    Z, _, _ = M.standardize(G)
    np.testing.assert_allclose(res.weight("top1"), Z[:, res.snps].T @ yp / np.sqrt(99), atol=1e-12)
    assert np.isnan(res.cv_r2["top1"]) and res.best_model is None


def test_fit_weights_heritability_filter():
    rng = np.random.default_rng(7)
    G, Z, _ = _sim(7, n=150, m=40)
    res = fit_weights(G, rng.normal(size=150), None, WeightsOptions(hsq_p=0.01))
    assert res.skipped and "heritability" in res.skipped and res.weights.size == 0
    strong = fit_weights(G, Z[:, 0] * 2 + rng.normal(size=150) * 0.5, None, WeightsOptions(crossval=3))
    assert strong.skipped is None and strong.hsq_pval < 0.01 and strong.weights.shape == (40, 4)
    assert set(strong.cv_r2) == {"top1", "lasso", "enet", "blup"} and strong.best_model is not None
    with pytest.raises(ValueError, match="unknown model"):
        WeightsOptions(models=("top1", "bslmm"))
    with pytest.raises(ValueError, match="missing"):
        fit_weights(G, np.full(150, np.nan), None)


# ----------------------------------------------------------------------------------------------------------
# Command line
# ----------------------------------------------------------------------------------------------------------


def _run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    add_weights_command(parser.add_subparsers())
    args = parser.parse_args(["weights", *argv])
    return args.func(args)


def test_cli_end_to_end(fusion, tmp_path):
    """A FUSION-style run: rank-normalised expression, FUSION's covariate file, --hsq_set, MAF ≥ 1%."""
    raw = pd.read_csv(FUSION / "inputs" / "pheno_rn.tsv", sep="\t")
    genes = fusion.genes.iloc[[3, 33]].sort_values("TSS")
    rows = [["22", g.TSS - 1, g.TSS, g.ID, *raw[g.ID].to_numpy()] for g in genes.itertuples()]
    bed = tmp_path / "expr.bed"
    pd.DataFrame(rows, columns=["#chr", "start", "end", "phenotype_id", *raw["IID"]]).to_csv(bed, sep="\t", index=False)
    out = tmp_path / "panel"
    assert _run_cli(["--bfile", str(BFILE), "--phenotypes", str(bed), "--covariates",
                     str(FUSION / "inputs" / "covar.txt"), "--hsq_set", "0.1", "--maf", "0.01",
                     "--models", "top1,enet", "--crossval", "3", "--out", str(out), "--panel", "GEUV"]) == 0
    weights = pd.read_parquet(out / "twas_weights.parquet")
    profile = pd.read_parquet(out / "twas_profile.parquet")
    assert tuple(weights.columns) == WEIGHT_COLUMNS and tuple(profile.columns) == PROFILE_COLUMNS
    assert profile["phenotype_id"].tolist() == genes["ID"].tolist() and (profile["n"] == 358).all()
    assert weights["lasso"].isna().all() and weights["blup"].isna().all() and weights["enet"].notna().all()
    for gene in genes["ID"]:
        ours = weights[weights["phenotype_id"] == gene]
        ref = fusion.weights(gene)
        assert ours["variant_id"].tolist() == ref["SNP"].tolist()
        sign = np.where(ours["a1"].to_numpy() == ref["A1"].to_numpy(), 1.0, -1.0)
        # FUSION's phenotype went through PLINK's 6-digit .fam: agreement to ~1e-6
        assert _rel(ours["top1"].to_numpy() * sign, ref["top1"].to_numpy()) <= 1e-5
        row = profile[profile["phenotype_id"] == gene].iloc[0]
        assert row["p0"] == ref["BP"].min() and row["p1"] == ref["BP"].max() and row["n_snps"] == len(ref)
    models = read_parquet_panel(out)  # the layout `qtlatlas twas assoc` reads
    assert [m.phenotype_id for m in models] == genes["ID"].tolist()


def test_cli_errors(fusion, tmp_path):
    bed = tmp_path / "one.bed"
    raw = pd.read_csv(FUSION / "inputs" / "pheno_rn.tsv", sep="\t")
    g = fusion.genes.iloc[0]
    pd.DataFrame([["22", g.TSS - 1, g.TSS, g.ID, *raw[g.ID].to_numpy()]],
                 columns=["#chr", "start", "end", "phenotype_id", *raw["IID"]]).to_csv(bed, sep="\t", index=False)
    base = ["--bfile", str(BFILE), "--phenotypes", str(bed), "--out", str(tmp_path / "o")]
    with pytest.raises(QtlAtlasError, match="--models: unknown model"):
        _run_cli([*base, "--models", "top1,bslmm"])
    with pytest.raises(QtlAtlasError, match="--hsq-set"):
        _run_cli([*base, "--hsq_set", "2"])
    bad = tmp_path / "covar.txt"
    bad.write_text("FID IID pc1\nHG00096 HG00096 0.1\nHG00097 HG00097 abc\n")
    with pytest.raises(InputFileError, match="not a number") as err:
        _run_cli([*base, "--covariates", str(bad)])
    assert err.value.line == 3


def test_fit_panel_streams_windows_and_parallel_workers_agree(tmp_path):
    from qtlatlas.twas.phenotype_stats import NO_SNP, StatsRecorder, read_panel_stats
    from qtlatlas.twas.weights import PanelWriter, PhenotypeWindow, fit_panel

    windows = []
    for i in range(4):
        G, Z, y = _sim(20 + i, n=90, m=25)
        variants = pd.DataFrame({"chrom": "7", "pos": np.arange(25) * 100 + 1000 * i, "id": [f"s{i}_{j}" for j in range(25)],
                                 "ref": "A", "alt": "G"})
        if i == 2:
            y = np.zeros(90)  # constant: skipped, not an error
        windows.append(PhenotypeWindow(f"g{i}__tx", f"g{i}", "7", 1000 * i, G, variants, y, None))
    windows.append(PhenotypeWindow("g9", "g9", "7", 9, np.zeros((90, 0)), windows[0].variants.iloc[:0], y, None))
    options = WeightsOptions(hsq_set=0.3, crossval=3)
    tables, stats = [], []
    for workers in (1, 2):
        recorder = StatsRecorder("P")
        with PanelWriter(tmp_path / f"w{workers}") as writer:
            summary = fit_panel("P", iter(windows), writer, options, total=5, workers=workers, record=recorder.record)
        recorder.write(tmp_path / f"w{workers}")
        assert summary.fitted == 3 and sum(summary.skipped.values()) == 2
        tables.append((pd.read_parquet(writer.weights_path), pd.read_parquet(writer.profile_path)))
        stats.append(read_panel_stats(tmp_path / f"w{workers}"))
    (w1, p1), (w2, p2) = tables
    # every window is recorded, in input order, fitted or skipped, with why it was skipped
    pd.testing.assert_frame_equal(stats[0], stats[1])
    s = stats[0]
    assert s["phenotype_id"].tolist() == [w.phenotype_id for w in windows]
    assert s["skipped_reason"].tolist()[:2] == ["", ""] and s["skipped_reason"].iat[3] == ""
    assert "constant" in s["skipped_reason"].iat[2] and s["skipped_reason"].iat[4] == NO_SNP
    assert (s["hsq"].iloc[[0, 1, 3]] == 0.3).all() and s["hsq"].iloc[[2, 4]].isna().all()
    assert s["n_snps_window"].tolist() == [25, 25, 25, 25, 0]
    assert read_panel_stats(tmp_path) is None  # a panel computed before the statistics were recorded
    assert p1["phenotype_id"].tolist() == ["g0__tx", "g1__tx", "g3__tx"] and p1["gene_id"].tolist() == ["g0", "g1", "g3"]
    pd.testing.assert_frame_equal(w1, w2)
    pd.testing.assert_frame_equal(p1, p2)
    assert len(w1) == 75 and (p1["n_snps"] == 25).all()
