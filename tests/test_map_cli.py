"""``qtlatlas map`` end to end on a small demo atlas: every mode, grouped mapping, and bad options."""

import numpy as np
import pandas as pd
import pytest

from qtlatlas.cli import main
from qtlatlas.demo import DemoConfig, generate_demo
from qtlatlas.engine.normalize import prepare_phenotypes
from qtlatlas.io.phenotypes import PhenotypeTable, read_phenotype_bed, write_phenotype_bed


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    truth = generate_demo(root, DemoConfig(seed=5, n_individuals=150, n_variants_per_chrom=800, n_genes_per_chrom=25,
                                           n_traits=1, gwas_n=500))
    rel = root / "releases" / "v1"
    out = {}
    for modality in ("expression", "isoforms"):
        raw = read_phenotype_bed(rel / "phenotypes" / f"Adipose.{modality}.bed.gz", allow_missing=True)
        prepared = prepare_phenotypes(raw.values)
        table = PhenotypeTable(prepared.values, raw.positions[prepared.kept].reset_index(drop=True), raw.samples)
        write_phenotype_bed(table, root / f"Adipose.{modality}.norm.bed.gz")
        out[modality] = root / f"Adipose.{modality}.norm.bed.gz"
    return {"root": root, "truth": truth, "genotypes": rel / "genotypes.vcf.gz", **out,
            "groups": rel / "phenotypes" / "Adipose.isoforms.groups.txt",
            "covariates": rel / "covariates" / "Adipose.covariates.txt",
            "counts": rel / "phenotypes" / "Adipose.expression.counts.bed.gz"}


def _map(demo, mode, prefix, *extra):
    return main(["map", mode, str(demo["genotypes"]), str(demo["expression"]), str(prefix),
                 "--covariates", str(demo["covariates"]), "--permutations", "500", "--seed", "1", *extra])


def test_written_bed_reads_back(demo):
    t = read_phenotype_bed(demo["expression"])
    assert t.values.shape[0] > 0 and not np.isnan(t.values).any()
    assert (demo["expression"].parent / (demo["expression"].name + ".tbi")).exists()


def test_cis_then_independent_then_afc(demo, tmp_path):
    prefix = tmp_path / "out" / "adipose"
    assert _map(demo, "cis", prefix) == 0
    cis = pd.read_csv(f"{prefix}.cis_qtl.txt.gz", sep="\t")
    assert {"qval", "pval_nominal_threshold", "pval_beta", "true_df"} <= set(cis.columns)
    assert (cis["qval"] <= 0.05).sum() >= 5
    causal = demo["truth"].causal_variants
    causal = causal[(causal["release"] == "v1") & (causal["tissue"] == "Adipose") & (causal["modality"] == "expression")]
    assert set(cis.loc[cis["qval"] <= 0.05, "phenotype_id"]) & set(causal["phenotype_id"])

    assert _map(demo, "cis_independent", prefix, "--cis-output", f"{prefix}.cis_qtl.txt.gz") == 0
    ind = pd.read_csv(f"{prefix}.cis_independent_qtl.txt.gz", sep="\t")
    assert set(ind["phenotype_id"]) <= set(cis.loc[cis["qval"] <= 0.05, "phenotype_id"])
    assert "rank" in ind

    assert _map(demo, "afc", prefix, "--cis-output", f"{prefix}.cis_qtl.txt.gz", "--counts", str(demo["counts"])) == 0
    afc = pd.read_csv(f"{prefix}.aFC.txt.gz", sep="\t")
    assert len(afc) == (cis["qval"] <= 0.05).sum()
    ok = afc["log2_aFC"].notna()
    assert ok.mean() > 0.9
    assert (afc.loc[ok, "log2_aFC_lower"] <= afc.loc[ok, "log2_aFC"]).all()
    # aFC has the sign of the eQTL slope
    merged = afc.merge(cis, on=["phenotype_id", "variant_id"])
    strong = merged[merged["log2_aFC"].abs() > 0.3]
    assert (np.sign(strong["log2_aFC"]) == np.sign(strong["slope"])).mean() > 0.9


def test_nominal_and_trans(demo, tmp_path):
    prefix = tmp_path / "n"
    assert _map(demo, "cis_nominal", prefix) == 0
    files = sorted(tmp_path.glob("n.cis_qtl_pairs.*.parquet"))
    assert [f.name for f in files] == ["n.cis_qtl_pairs.chr1.parquet", "n.cis_qtl_pairs.chr2.parquet"]
    assert _map(demo, "trans", prefix, "--pval-threshold", "1e-4") == 0
    trans = pd.read_parquet(f"{prefix}.trans_qtl_pairs.parquet")
    assert list(trans.columns) == ["variant_id", "phenotype_id", "pval", "b", "b_se", "r2", "af"]
    assert (trans["pval"] < 1e-4).all()


def test_grouped_mode(demo, tmp_path):
    prefix = tmp_path / "iso"
    code = main(["map", "cis", str(demo["genotypes"]), str(demo["isoforms"]), str(prefix), "--groups", str(demo["groups"]),
                 "--permutations", "300", "--seed", "2", "--threads", "1"])
    assert code == 0
    out = pd.read_csv(f"{prefix}.cis_qtl.txt.gz", sep="\t")
    assert {"group_id", "group_size"} <= set(out.columns)
    assert out["group_id"].is_unique and (out["group_size"] >= 1).all()
    assert all(p.startswith(g + "__") for p, g in zip(out["phenotype_id"], out["group_id"], strict=True))


@pytest.mark.parametrize("extra,message", [
    (["--permutations", "0"], "--permutations: must be a positive integer"),
    (["--qvalue-lambda", "abc"], "--qvalue-lambda: 'abc' is neither"),
    (["--fdr", "2"], "--fdr: must be in (0, 1)"),
])
def test_bad_options(demo, tmp_path, capsys, extra, message):
    assert _map(demo, "cis", tmp_path / "x", *extra) == 2
    assert message in capsys.readouterr().err


def test_mode_needs_cis_output(demo, tmp_path, capsys):
    assert _map(demo, "cis_independent", tmp_path / "x") == 2
    assert "needs --cis-output" in capsys.readouterr().err


def test_unnormalised_input_is_refused(demo, tmp_path, capsys):
    raw = demo["root"] / "releases" / "v1" / "phenotypes" / "Adipose.isoforms.bed.gz"
    assert main(["map", "cis", str(demo["genotypes"]), str(raw), str(tmp_path / "x")]) == 2
    assert "missing value (NA/NaN)" in capsys.readouterr().err


def test_qc_plots(demo, tmp_path):
    prefix = tmp_path / "qc"
    assert _map(demo, "cis", prefix, "--plots") == 0
    for suffix in ("qq.png", "perm_vs_beta.png", "tss_distance.png"):
        data = (tmp_path / f"qc.qc.{suffix}").read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    page = (tmp_path / "qc.qc.html").read_text()
    assert page.count("data:image/png;base64,") == 3
    assert "http://" not in page and "https://" not in page  # self-contained


def test_prepare_then_map(demo, tmp_path):
    raw = demo["root"] / "releases" / "v1" / "phenotypes" / "Brain.isoforms.bed.gz"
    prefix = tmp_path / "brain"
    assert main(["prepare", str(raw), str(demo["genotypes"]), str(prefix), "--genotype-pcs", "3", "--phenotype-pcs", "5"]) == 0
    table = read_phenotype_bed(f"{prefix}.bed.gz")
    assert not np.isnan(table.values).any()
    cov = pd.read_csv(f"{prefix}.covariates.txt", sep="\t", index_col=0)
    assert list(cov.index) == ["gPC1", "gPC2", "gPC3", "pPC1", "pPC2", "pPC3", "pPC4", "pPC5"]
    assert list(cov.columns) == table.samples
    medians = pd.read_csv(f"{prefix}.median.tsv.gz", sep="\t")
    assert len(medians) >= len(table.phenotype_ids)
    code = main(["map", "cis", str(demo["genotypes"]), f"{prefix}.bed.gz", str(prefix), "--covariates",
                 f"{prefix}.covariates.txt", "--groups", str(demo["groups"]).replace("Adipose", "Brain"),
                 "--permutations", "300", "--seed", "1"])
    assert code == 0


def test_nominal_with_significant_pairs(demo, tmp_path):
    prefix = tmp_path / "s"
    assert _map(demo, "cis", prefix) == 0
    assert _map(demo, "cis_nominal", prefix, "--cis-output", f"{prefix}.cis_qtl.txt.gz") == 0
    pairs = pd.read_parquet(f"{prefix}.cis_qtl.signif_pairs.parquet")
    cis = pd.read_csv(f"{prefix}.cis_qtl.txt.gz", sep="\t")
    # as in tensorQTL, a significant phenotype has significant pairs when its lead's nominal p is under its
    # threshold: the threshold is Beta⁻¹ of the genome-wide bar on the scale of the permutations' effective df,
    # the nominal p on the model's df, so a phenotype just past the bar (q ≤ 0.05) can have none
    has_pairs = (cis["qval"] <= 0.05) & (cis["pval_nominal"] < cis["pval_nominal_threshold"])
    assert set(pairs["phenotype_id"]) == set(cis.loc[has_pairs, "phenotype_id"])
    assert set(pairs["phenotype_id"]) <= set(cis.loc[cis["qval"] <= 0.05, "phenotype_id"])
    assert (pairs["pval_nominal"] < pairs["pval_nominal_threshold"]).all()


def test_missing_calls_reported(demo, tmp_path, capsys):
    assert _map(demo, "cis_nominal", tmp_path / "m") == 0
    out = capsys.readouterr().out
    assert "missing genotype call(s) were replaced by the mean dosage" in out  # the demo VCF has ./. calls


def _bed_with_untestable(demo, tmp_path, keep: int):
    """The demo's expression BED whose phenotypes after the first ``keep`` are moved: two far from any variant
    of their chromosome, the rest onto a chromosome without genotypes."""
    table = read_phenotype_bed(demo["expression"])
    positions = table.positions.copy()
    chrom = positions["chrom"].iat[0]
    first = positions.index[positions["chrom"] == chrom][:keep]
    rows = list(first) + list(positions.index[positions["chrom"] == chrom][keep:keep + 2])
    rest = [i for i in positions.index[positions["chrom"] == chrom][keep + 2:keep + 5]]
    positions.loc[rows[keep:], ["start", "end"]] = [[400_000_000 + 10 * k, 400_000_001 + 10 * k] for k in range(2)]
    positions.loc[rest, "chrom"] = "chrUn"
    positions.loc[rest, ["start", "end"]] = [[1000 * (k + 1), 1000 * (k + 1) + 1] for k in range(len(rest))]
    keep_rows = rows + rest
    moved = PhenotypeTable(table.values[keep_rows], positions.loc[keep_rows].reset_index(drop=True), table.samples)
    path = tmp_path / "moved.bed.gz"
    write_phenotype_bed(moved, path)
    ids = moved.phenotype_ids
    return path, ids[keep:keep + 2], ids[keep + 2:]


@pytest.mark.parametrize("mode", ["cis", "cis_nominal"])
def test_untestable_phenotypes_are_counted_and_named(demo, tmp_path, capsys, mode):
    bed, far, elsewhere = _bed_with_untestable(demo, tmp_path, keep=4)
    prefix = tmp_path / "u"
    assert main(["map", mode, str(demo["genotypes"]), str(bed), str(prefix), "--permutations", "200", "--seed", "1"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert (f"warning: {bed}: 5 of 9 phenotype(s) cannot be tested: 3 on chromosome(s) without genotypes (chrUn: "
            f"{', '.join(elsewhere)}); 2 without any variant within 1,000,000 bp of their TSS ({', '.join(far)}); "
            "they are left out of the output") in out
    if mode == "cis":
        tested = pd.read_csv(f"{prefix}.cis_qtl.txt.gz", sep="\t")["phenotype_id"]
    else:
        files = sorted(tmp_path.glob("u.cis_qtl_pairs.*.parquet"))
        assert [f.name for f in files] == [f"u.cis_qtl_pairs.{read_phenotype_bed(bed).positions['chrom'].iat[0]}.parquet"]
        tested = pd.read_parquet(files[0])["phenotype_id"].unique()
    assert len(tested) == 4 and not set(tested) & set(far + elsewhere)


def test_nothing_to_map_is_an_error(demo, tmp_path, capsys):
    bed, _, _ = _bed_with_untestable(demo, tmp_path, keep=0)
    assert main(["map", "cis_nominal", str(demo["genotypes"]), str(bed), str(tmp_path / "n")]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"{bed}: nothing to map: 5 of 5 phenotype(s) cannot be tested" in err and "no output written" in err
    assert not list(tmp_path.glob("n.*"))


def test_prepare_yields_to_the_pcs_in_the_given_covariates(demo, tmp_path, capsys):
    raw = demo["root"] / "releases" / "v1" / "phenotypes" / "Brain.isoforms.bed.gz"
    samples = read_phenotype_bed(raw, allow_missing=True).samples
    rng = np.random.default_rng(11)
    lab = pd.DataFrame(rng.normal(size=(3, len(samples))), index=pd.Index(["PC1", "PC2", "InferredCov1"], name="id"),
                       columns=samples)
    lab.to_csv(tmp_path / "lab.txt", sep="\t")
    prefix = tmp_path / "brain"
    assert main(["prepare", str(raw), str(demo["genotypes"]), str(prefix), "--covariates", str(tmp_path / "lab.txt")]) == 0
    assert list(pd.read_csv(f"{prefix}.covariates.txt", sep="\t", index_col=0).index) == ["PC1", "PC2", "InferredCov1"]
    out = " ".join(capsys.readouterr().out.split())
    assert ("note: the lab's covariates already hold genotype PCs (PC1–2, by name) and phenotype PCs (InferredCov1, "
            "by name): no genotype or phenotype PC is computed") in out
    # a count given on the command line is honoured
    assert main(["prepare", str(raw), str(demo["genotypes"]), str(prefix), "--covariates", str(tmp_path / "lab.txt"),
                 "--phenotype-pcs", "2"]) == 0
    assert list(pd.read_csv(f"{prefix}.covariates.txt", sep="\t", index_col=0).index) == [
        "pPC1", "pPC2", "PC1", "PC2", "InferredCov1"]
