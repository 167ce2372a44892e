"""TWAS post-processing against FUSION's post_process outputs (../shared/reference/fusion/post/): loci,
chromosome-wide and per-locus joint/conditional selection, conditional GWAS, report rows; omnibus test;
``twas post`` command."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from conftest import G1000, SHARED
from scipy.stats import norm

from qtlatlas.cli import main
from qtlatlas.io.genotypes import read_genotypes
from qtlatlas.io.sumstats import read_sumstats
from qtlatlas.twas.align import align_gwas
from qtlatlas.twas.assoc import AssocOptions, associate
from qtlatlas.twas.conditional import conditional_z, stepwise_select
from qtlatlas.twas.fusion_io import models_for_dat, read_dat, read_fusion_panel
from qtlatlas.twas.ld import LdReference
from qtlatlas.twas.loci import bonferroni_z, define_loci
from qtlatlas.twas.omnibus import eigen_threshold, omnibus_by_gene, omnibus_test
from qtlatlas.twas.postprocess import PostOptions, post_process

pytestmark = pytest.mark.shared
FUSION = SHARED / "reference" / "fusion"
POST = FUSION / "post"
REF_PREFIX = G1000 / "g1000_eur_hm3_chr"


@pytest.fixture(scope="module")
def ld(shared):
    return LdReference.from_plink(f"{REF_PREFIX}22")


@pytest.fixture(scope="module")
def inputs(shared, ld):
    """Per trait: FUSION's rounded .dat (the input of its post_process runs), models, aligned GWAS."""
    out = {}
    models = None
    for trait in ("trait1", "trait2"):
        text, numbers = read_dat(FUSION / "assoc" / f"{trait}.chr22.dat")
        if models is None:
            models = models_for_dat(text, FUSION / "weights", FUSION / "assoc" / f"{trait}.chr22.dat")
        gwas = align_gwas(read_sumstats(FUSION / "inputs" / f"{trait}.chr22.sumstats"), ld.variants)
        out[trait] = (text, numbers, models, gwas)
    return out


@pytest.fixture(scope="module")
def zthresh2(inputs, ld):
    return {t: post_process(n, m, g, ld, PostOptions.fusion(zthresh=2), chrom="22")
            for t, (_, n, m, g) in inputs.items()}


def tolerance(text: str) -> float:
    """Half a unit in the last digit FUSION printed (``-0.0131`` → 5e-5, ``9.9e-01`` → 5e-3)."""
    mantissa, _, exponent = text.strip().lower().partition("e")
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    return 0.5 * 10.0 ** (int(exponent or 0) - decimals) + 1e-12


def assert_matches_printed(values, texts, what: str) -> None:
    for v, t in zip(values, texts, strict=True):
        if t.strip() == "NA":
            assert v is None or math.isnan(v), what
        else:
            assert abs(float(v) - float(t)) <= tolerance(t), (what, v, t)


def read_report(path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", dtype=str, index_col=False)


@pytest.mark.parametrize("trait", ["trait1", "trait2"])
def test_loci_and_report_rows_match_fusion(trait, zthresh2):
    result = zthresh2[trait]
    log = (POST / f"{trait}.chr22.minp1.zthresh2.log").read_text()
    assert f"{result.n_runs} strictly non-overlapping loci" in log
    assert f"consolidated to {result.n_loci} non-overlapping loci" in log
    ref = read_report(POST / f"{trait}.chr22.minp1.zthresh2.report")
    assert [int(f.rsplit("_", 1)[1]) for f in ref["FILE"]] == [locus.number for locus in result.loci]
    for locus, (_, want) in zip(result.loci, ref.iterrows(), strict=True):
        got = locus.report
        for col in ("P0", "P1", "HIT.GENES", "JOINT.GENES"):
            assert got[col] == int(want[col]), (locus.number, col)
        for col in ("BEST.TWAS.P", "BEST.SNP.P", "COND.SNP.P", "VAR.EXP"):
            assert got[col] == pytest.approx(float(want[col]), rel=5e-3), (locus.number, col)


@pytest.mark.parametrize("trait", ["trait1", "trait2"])
def test_chromosome_wide_joint_tables_match_fusion(trait, zthresh2):
    result = zthresh2[trait]
    inc = pd.read_csv(POST / f"{trait}.chr22.minp1.zthresh2.joint_included.dat", sep="\t", dtype=str)
    dro = pd.read_csv(POST / f"{trait}.chr22.minp1.zthresh2.joint_dropped.dat", sep="\t", dtype=str)
    assert list(result.joint_included["FILE"]) == list(inc["FILE"])
    assert list(result.joint_dropped["FILE"]) == list(dro["FILE"])
    for col in ("JOINT.BETA", "JOINT.BETA.SE", "JOINT.Z", "JOINT.P"):
        assert_matches_printed(result.joint_included[col], inc[col], col)
    for col in ("COND.BETA", "COND.BETA.SE", "COND.Z", "COND.P"):
        assert_matches_printed(result.joint_dropped[col], dro[col], col)


def test_selection_steps_follow_fusion_log(zthresh2, inputs):
    text = inputs["trait1"][0]
    result = zthresh2["trait1"]
    log = (POST / "trait1.chr22.minp1.zthresh2.log").read_text().split("final best")[0]
    added = re.findall(r"(\S+\.wgt\.RDat) added to model with conditional Z-score of (\S+)", log)
    steps = [(text["FILE"].iat[i], z) for i, z in result.global_selection.steps]
    assert [f for f, _ in steps] == [f for f, _ in added]
    for (_, z), (_, want) in zip(steps, added, strict=True):
        assert z == pytest.approx(float(want), abs=tolerance(want) * 1.01)
    unstable = re.findall(r"^(.*) became more significant", log, flags=re.M)
    dropped = ["".join(text["FILE"].iat[i] for i in gone) for gone in result.global_selection.unstable if gone]
    assert dropped == unstable


@pytest.mark.parametrize("trait", ["trait1", "trait2"])
def test_locus_files_match_fusion(trait, zthresh2, inputs):
    text = inputs[trait][0]
    for locus in zthresh2[trait].loci:
        stem = POST / f"{trait}.chr22.minp1.zthresh2.loc_{locus.number}"
        genes = pd.read_csv(f"{stem}.genes", sep="\t", dtype=str)
        assert list(text["ID"].iloc[locus.models]) == list(genes["ID"])
        assert [("TRUE" if j else "FALSE") for j in locus.joint] == list(genes["JOINT"])
        np.testing.assert_allclose(locus.top_snp_cor, genes["TOP.SNP.COR"].astype(float), atol=0.0051)
        cond = pd.read_csv(f"{stem}.cond", sep="\t", dtype=str)
        assert list(locus.snps["SNP"]) == list(cond["SNP"])
        assert (locus.snps["POS"].to_numpy() == cond["POS"].astype(int).to_numpy()).all()
        for col in ("GWAS.Z", "GWAS.P", "GWAS_cond.Z", "GWAS_cond.P"):
            assert_matches_printed(locus.snps[col], cond[col], f"loc_{locus.number} {col}")


def test_default_threshold_is_one_bonferroni_over_all_tests(inputs, ld):
    _, numbers, models, gwas = inputs["trait1"]
    default = post_process(numbers, models, gwas, ld, PostOptions.fusion(), chrom="22")
    assert f"higher than {default.zthresh:.3g}" in (POST / "trait1.chr22.minp1.log").read_text()
    assert default.zthresh == pytest.approx(bonferroni_z(60)) and default.loci == []
    assert default.global_selection is None
    # --minp_input keeps 7 models (FUSION's log: 47 runs, 4 loci) but the denominator stays at 60 models tested;
    # FUSION would divide by the 7 kept (its log prints 2.69)
    strict = post_process(numbers, models, gwas, ld, PostOptions.fusion(minp_input=0.05), chrom="22")
    log = (POST / "trait1.chr22.minp0.05.log").read_text()
    assert len(strict.rows) == 7 and f"{strict.n_runs} strictly" in log and f"to {strict.n_loci} non" in log
    assert strict.zthresh == pytest.approx(bonferroni_z(60))
    assert f"higher than {norm.isf(0.05 / 7 / 2):.3g}" in log


def test_na_rows_are_set_aside(inputs, ld):
    _, numbers, models, gwas = inputs["trait2"]
    holes = numbers.copy()
    holes.loc[[3, 17, 40], ["TWAS.Z", "TWAS.P"]] = np.nan
    result = post_process(holes, models, gwas, ld, PostOptions.fusion(zthresh=2), chrom="22")
    assert result.n_na == 3 and result.n_tests == 57 and len(result.rows) == 57
    assert not {3, 17, 40} & set(result.rows.tolist())


def test_strand_ambiguous_snps_have_na_conditional_z(inputs, ld, zthresh2):
    _, numbers, models, _ = inputs["trait2"]
    ss = read_sumstats(FUSION / "inputs" / "trait2.chr22.sumstats")
    before = zthresh2["trait2"].loci[1].snps
    targets = before["SNP"].iloc[[5, 50, 500]].tolist()
    ss.loc[ss["SNP"].isin(targets), ["A1", "A2"]] = ["C", "G"]
    after = post_process(numbers, models, align_gwas(ss, ld.variants), ld, PostOptions.fusion(zthresh=2), chrom="22")
    snps = next(loc for loc in after.loci if loc.number == zthresh2["trait2"].loci[1].number).snps
    hit = snps["SNP"].isin(targets).to_numpy()
    assert hit.sum() == 3 and snps.loc[hit, "GWAS.Z"].isna().all() and snps.loc[hit, "GWAS_cond.Z"].isna().all()
    np.testing.assert_allclose(snps.loc[~hit, "GWAS.Z"], before.loc[~hit, "GWAS.Z"])


def test_locus_stability_and_top1_options_change_locus_1(inputs, ld, zthresh2):
    _, numbers, models, gwas = inputs["trait1"]
    default = {locus.number: locus.report["JOINT.GENES"] for locus in zthresh2["trait1"].loci}
    stable = post_process(numbers, models, gwas, ld, PostOptions.fusion(zthresh=2, locus_stability=True), chrom="22")
    # ENSG00000100023.13 enters locus 1 with conditional z 2.50 although its marginal z is -0.72
    assert default[1] == 2 and {loc.number: loc.report["JOINT.GENES"] for loc in stable.loci}[1] == 1
    single = post_process(numbers, models, gwas, ld, PostOptions.fusion(zthresh=2, top1_single=True), chrom="22")
    assert [loc.report["COND.SNP.P"] for loc in single.loci] != [loc.report["COND.SNP.P"]
                                                                  for loc in zthresh2["trait1"].loci]


def test_define_loci_pads_and_merges():
    pos = np.array([100_000, 110_000, 120_000, 300_000, 310_000, 700_000, 900_000, 905_000])
    has = np.array([1, 1, 0, 1, 1, 1, 0, 1], dtype=bool)
    starts, ends, runs = define_loci(pos, has, 100_000)
    assert runs == 3  # rows 0-1, rows 3-5 (the SNP at 120 kb carries no weight), row 7
    # runs 190 kb apart merge (200 kb of padding in all); runs 205 kb apart do not
    assert starts.tolist() == [0, 805_000] and ends.tolist() == [800_000, 1_005_000]
    starts, ends, _ = define_loci(pos, has, 10_000)
    assert starts.tolist() == [90_000, 290_000, 895_000]


def test_significant_only_is_fusions_documented_workflow(inputs, ld):
    """FUSION's workflow gives post_process only the significant rows of the .dat: analysing the models above
    the threshold is FUSION's run on those rows. Its minp0.05 run (7 models, TWAS.P < 0.05, i.e. |Z| > 1.96)
    is the reference: the same rows, the same 47 runs and 4 loci, each spanning only its models' windows."""
    _, numbers, models, gwas = inputs["trait1"]
    log = (POST / "trait1.chr22.minp0.05.log").read_text()
    z196 = float(norm.isf(0.025))
    only = post_process(numbers, models, gwas, ld, PostOptions.fusion(zthresh=z196, significant_only=True),
                        chrom="22")
    filtered = post_process(numbers, models, gwas, ld, PostOptions.fusion(minp_input=0.05), chrom="22")
    assert only.rows.tolist() == filtered.rows.tolist() and len(only.rows) == 7
    assert f"{only.n_runs} strictly non-overlapping loci" in log and f"consolidated to {only.n_loci} " in log
    every = post_process(numbers, models, gwas, ld, PostOptions.fusion(zthresh=z196), chrom="22")
    # with every model's windows (the minp1 runs) the loci holding a significant model are 1.9–5.7 Mb wide and
    # hold 6–13 models; from the significant models alone 0.9–2.1 Mb with 1–3 models
    assert every.n_loci == 9 and only.n_loci == 4
    widths = sorted((locus.end - locus.start) / 1e6 for locus in only.loci)
    assert widths == pytest.approx([0.896, 1.185, 1.209, 2.125], abs=1e-3)
    assert sum(widths) < 0.4 * sum((locus.end - locus.start) / 1e6 for locus in every.loci)


def test_guarded_analysis_of_the_reference(inputs, ld, zthresh2):
    """The guard leaves FUSION's loci and their models as they are and bites only where documented: SNPs it
    leaves without a statistic are explained by the joint models (R² > 0.8) or were raised by conditioning
    (trait1: 8, 23, 1 and 2 SNPs of its 4 loci; trait2: 11, 0 and 3), and no SNP's conditional χ² exceeds its
    marginal χ² by more than 1.96²."""
    for trait, (_, numbers, models, gwas) in inputs.items():
        guarded = post_process(numbers, models, gwas, ld, PostOptions(zthresh=2), chrom="22")
        fusion = zthresh2[trait]
        assert [loc.number for loc in guarded.loci] == [loc.number for loc in fusion.loci]
        for g, f in zip(guarded.loci, fusion.loci, strict=True):
            assert (g.start, g.end) == (f.start, f.end) and g.models.tolist() == f.models.tolist()
            status = g.snps["COND.STATUS"].to_numpy()
            assert set(status) <= {"tested", "explained", "unstable"}
            assert (g.snps["COND.R2"].to_numpy()[status == "explained"] > 0.8).all()
            tested = status == "tested"
            gz, mz = g.snps["GWAS_cond.Z"].to_numpy()[tested], g.snps["GWAS.Z"].to_numpy()[tested]
            assert np.all(gz**2 <= mz**2 + 1.96**2 + 1e-9)


def test_stepwise_selection_rules():
    z = np.array([3.0, 2.9, 0.5, 2.5])
    corr = np.array([[1, 0.97, 0.1, 0.0], [0.97, 1, 0.1, 0.0], [0.1, 0.1, 1, 0.0], [0.0, 0.0, 0.0, 1]])
    sel = stepwise_select(z, corr, np.ones(4, dtype=bool), 2.0, max_r2=0.9, max_cz_increase=1.96)
    assert [i for i, _ in sel.steps] == [0, 3] and sel.joint.tolist() == [True, False, False, True]
    b, v = conditional_z(z, corr, np.array([0]), np.array([2]), ridge=0.5)
    assert b[0] == pytest.approx(0.5 - 0.1 * 3.0 / 1.5) and v[0] == pytest.approx(1 - 0.01 / 1.5)
    # a model that becomes much more significant once conditioned is dropped as unstable
    z2 = np.array([3.0, 0.0, 2.9])
    c2 = np.array([[1, 0.0, 0.6], [0.0, 1, 0.0], [0.6, 0.0, 1]])
    z2[1] = -0.2
    c2[0, 1] = c2[1, 0] = 0.8
    sel2 = stepwise_select(z2, c2, np.ones(3, dtype=bool), 2.0, max_r2=0.9, max_cz_increase=1.96)
    assert sel2.dropped[1] and sel2.unstable[0] == [1]


# ------------------------------------------------------------------------------------------------------------
# omnibus
# ------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def four_models(shared, ld):
    """One .dat row per (gene, model) for 8 genes: association forced to each of the 4 models."""
    models = read_fusion_panel(FUSION / "weights" / "GEUV.pos", FUSION / "weights", chrom="22")[:8]
    gwas = align_gwas(read_sumstats(FUSION / "inputs" / "trait1.chr22.sumstats"), ld.variants)
    tables = [associate(models, gwas, ld, AssocOptions(force_model=m)).table for m in ("top1", "lasso", "enet", "blup")]
    table = pd.concat(tables, ignore_index=True)
    return table, models * 4, gwas


def test_omnibus_against_independent_predictions(four_models, ld):
    table, models, gwas = four_models
    result = omnibus_by_gene(table, models, gwas, ld).set_index("GENE")
    assert len(result) == 8 and (result["NUM.MODELS"] == 4).all()
    data = read_genotypes(f"{REF_PREFIX}22", dtype="float32")
    x = data.dosages.astype(np.float64)
    x = (x - x.mean(axis=1, keepdims=True)) / x.std(axis=1, ddof=1, keepdims=True)
    bim = data.variants.set_index("id")
    for gene in result.index:
        rows = np.flatnonzero(table["ID"].to_numpy() == gene)
        preds = []
        for i in rows:
            m, name = models[i], table["MODEL"].iat[i]
            w = m.weights[:, m.models.index(name)]
            r = bim.index.get_indexer(m.snps["snp"])
            w = np.where(m.snps["a1"].to_numpy() == bim["alt"].to_numpy()[r], w, -w)
            if name == "top1":
                w = np.where(np.arange(len(w)) == np.argmax(w**2), w, 0)
            preds.append(w @ x[r])
        corr = np.corrcoef(preds)
        z = table["TWAS.Z"].to_numpy(float)[rows]
        lam, vec = np.linalg.eigh(corr)
        keep = lam > 1 - math.sqrt(0.9)
        assert result.loc[gene, "RANK"] == keep.sum()
        assert result.loc[gene, "CHISQ"] == pytest.approx(float(((vec[:, keep].T @ z) ** 2 / lam[keep]).sum()),
                                                          rel=1e-8)
        if keep.all():
            assert result.loc[gene, "CHISQ"] == pytest.approx(float(z @ np.linalg.solve(corr, z)), rel=1e-8)


def test_omnibus_rank_rule():
    assert eigen_threshold(0.9) == pytest.approx(0.0513, abs=1e-4)
    same = omnibus_test(np.array([2.0, 2.0]), np.ones((2, 2)))
    assert same.df == 1 and same.chisq == pytest.approx(4.0) and same.pvalue == pytest.approx(2 * norm.sf(2.0))
    indep = omnibus_test(np.array([1.0, 2.0, -1.5]), np.eye(3))
    assert indep.df == 3 and indep.chisq == pytest.approx(1 + 4 + 2.25)


# ------------------------------------------------------------------------------------------------------------
# command line
# ------------------------------------------------------------------------------------------------------------


def _post(*args):
    return main(["twas", "post", "--sumstats", str(FUSION / "inputs" / "trait2.chr22.sumstats"),
                 "--ref_ld_chr", str(REF_PREFIX), "--chr", "22", "--weights_dir", str(FUSION / "weights"), *args])


def test_cli_post_writes_fusion_files(tmp_path):
    out = tmp_path / "p" / "trait2"
    assert _post("--input", str(FUSION / "assoc" / "trait2.chr22.dat"), "--out", str(out), "--zthresh", "2",
                 "--report", "--save_loci", "--fusion") == 0
    report = read_report(f"{out}.report")
    ref = read_report(POST / "trait2.chr22.minp1.zthresh2.report")
    assert [f.rsplit(".", 1)[1] for f in report["FILE"]] == [f.rsplit(".", 1)[1] for f in ref["FILE"]]
    assert (report[["P0", "P1", "HIT.GENES", "JOINT.GENES"]].to_numpy() == ref[["P0", "P1", "HIT.GENES",
                                                                                  "JOINT.GENES"]].to_numpy()).all()
    for name in ("joint_included.dat", "joint_dropped.dat", "loc_4.cond", "loc_4.cond.csv", "loc_4.genes"):
        assert (tmp_path / "p" / f"trait2.{name}").is_file(), name
    csv = pd.read_csv(f"{out}.loc_4.cond.csv")
    ref_csv = pd.read_csv(POST / "trait2.chr22.minp1.zthresh2.loc_4.cond.csv")
    np.testing.assert_allclose(csv["GWAS_cond.LOGP"], ref_csv["GWAS_cond.LOGP"], atol=5e-5)


def test_cli_post_is_guarded_unless_asked_for_fusion(tmp_path):
    out = tmp_path / "g" / "trait2"
    assert _post("--input", str(FUSION / "assoc" / "trait2.chr22.dat"), "--out", str(out), "--zthresh", "2",
                 "--save_loci", "--significant_only") == 0
    files = sorted(out.parent.glob("trait2.loc_*.cond"))
    assert len(files) == 3  # the loci of the 4 models with |Z| > 2 (within FUSION's loci 1, 4 and 6)
    cond = pd.concat([pd.read_csv(f, sep="\t") for f in files])
    assert list(cond.columns[-2:]) == ["COND.R2", "COND.STATUS"] and (cond["COND.STATUS"] != "tested").any()
    tested = cond["COND.STATUS"] == "tested"
    assert (cond.loc[tested, "GWAS_cond.Z"] ** 2 <= cond.loc[tested, "GWAS.Z"] ** 2 + 1.96**2 + 1e-9).all()
    assert cond.loc[~tested, "GWAS_cond.Z"].isna().all()
    assert _post("--input", str(FUSION / "assoc" / "trait2.chr22.dat"), "--out", str(out), "--max_explained",
                 "1.5") == 2


def test_cli_post_omnibus(four_models, tmp_path):
    from qtlatlas.twas.fusion_io import write_dat

    table, _, _ = four_models
    dat = write_dat(table, tmp_path / "four.dat")
    out = tmp_path / "o"
    assert main(["twas", "post", "--input", str(dat), "--sumstats", str(FUSION / "inputs" / "trait1.chr22.sumstats"),
                 "--ref_ld_chr", str(REF_PREFIX), "--chr", "22", "--out", str(out), "--omnibus"]) == 0
    omni = pd.read_csv(f"{out}.omnibus.pv", sep="\t")
    assert len(omni) == 8 and omni["OMNIBUS.P"].between(0, 1).all()


def test_cli_post_bad_inputs_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.dat"
    bad.write_text("FILE\tID\tCHR\tP0\tP1\tMODEL\tTWAS.Z\nx\tG\t22\t1\t2\ttop1\t1.0\n")
    assert _post("--input", str(bad), "--out", str(tmp_path / "x")) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "TWAS.P" in err and "Traceback" not in err
    text = (FUSION / "assoc" / "trait2.chr22.dat").read_text().splitlines()
    moved = tmp_path / "moved.dat"
    moved.write_text("\n".join([text[0], text[1].replace("GEUV.ENSG", "GONE.ENSG"), *text[2:]]) + "\n")
    assert _post("--input", str(moved), "--out", str(tmp_path / "x")) == 2
    err = capsys.readouterr().err
    assert f"{moved}:2" in err and "GONE.ENSG" in err
    # with --minp_input only some rows are read: the error still names the line of the file
    header = text[0].split("\t")
    p = [float(r.split("\t")[header.index("TWAS.P")]) if r.split("\t")[header.index("TWAS.P")] != "NA" else 1.0
         for r in text[1:]]
    kept = [i for i, x in enumerate(p) if x < 0.05]
    j = kept[-1]  # the last row kept: others before it are not, so its place among the kept rows differs
    assert kept.index(j) != j
    rows = list(text)
    rows[j + 1] = rows[j + 1].replace("GEUV.ENSG", "GONE.ENSG")
    moved.write_text("\n".join(rows) + "\n")
    assert _post("--input", str(moved), "--out", str(tmp_path / "x"), "--minp_input", "0.05") == 2
    assert f"{moved}:{j + 2}" in capsys.readouterr().err
    assert _post("--input", str(FUSION / "assoc" / "trait2.chr22.dat"), "--out", str(tmp_path / "x"),
                 "--min_r2", "0.95") == 2
    assert "--min_r2" in capsys.readouterr().err
    # a GWAS none of whose SNPs is in the LD reference, and a MODEL its weight file lacks: clear errors
    sumstats = (FUSION / "inputs" / "trait2.chr22.sumstats").read_text().splitlines()
    other = tmp_path / "other.sumstats"
    other.write_text("\n".join([sumstats[0], *("xx" + line for line in sumstats[1:])]) + "\n")
    assert _post("--input", str(FUSION / "assoc" / "trait2.chr22.dat"), "--out", str(tmp_path / "x"),
                 "--sumstats", str(other)) == 2
    err = capsys.readouterr().err
    assert f"{other}: no SNP id matches the LD reference on chromosome 22" in err and "Traceback" not in err
    model = header.index("MODEL")
    first = text[1].split("\t")
    first[model] = "bslmm"
    moved.write_text("\n".join([text[0], "\t".join(first), *text[2:]]) + "\n")
    assert _post("--input", str(moved), "--out", str(tmp_path / "x")) == 2
    err = capsys.readouterr().err
    assert "model 'bslmm'" in err and "is not in this weight file" in err and "Traceback" not in err
