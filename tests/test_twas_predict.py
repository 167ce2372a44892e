"""``qtlatlas twas predict``: predicted phenotypes equal plink2 --score, allele flips, missing genotypes, errors."""

from __future__ import annotations

import math
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from qtlatlas.cli import build_parser
from qtlatlas.errors import ConfigError, InputFileError
from qtlatlas.twas.fusion_io import MODEL_NAMES, TwasModel, write_parquet_panel
from qtlatlas.twas.predict_match import best_model, chosen_weights

PLINK2 = shutil.which("plink2")
_CODE = {2: 0b00, -9: 0b01, 1: 0b10, 0: 0b11}  # PLINK 1 two-bit codes of A1 counts
NON_AMBIGUOUS = [("A", "C"), ("A", "G"), ("C", "T"), ("G", "T"), ("C", "A"), ("T", "G")]


def write_bfile(prefix: Path, calls: np.ndarray, bim: pd.DataFrame, samples: list[str] | None = None) -> Path:
    """``calls`` (variants × samples) A1 counts, -9 missing; ``bim``: chrom, id, pos, a1, a2."""
    n_var, n = calls.shape
    codes = np.vectorize(_CODE.get)(calls).astype(np.uint8)
    pad = (-n) % 4  # padding bits must be 0: plink2 counts 01 there as missing calls
    codes = np.pad(codes, ((0, 0), (0, pad)), constant_values=0).reshape(n_var, -1, 4)
    packed = (codes[..., 0] | codes[..., 1] << 2 | codes[..., 2] << 4 | codes[..., 3] << 6).astype(np.uint8)
    prefix.with_suffix(".bed").write_bytes(b"\x6c\x1b\x01" + packed.tobytes())
    prefix.with_suffix(".bim").write_text("".join(
        f"{r.chrom}\t{r.id}\t0\t{r.pos}\t{r.a1}\t{r.a2}\n" for r in bim.itertuples()))
    samples = samples or [f"i{j}" for j in range(n)]
    prefix.with_suffix(".fam").write_text("".join(f"f{j} {s} 0 0 0 -9\n" for j, s in enumerate(samples)))
    return prefix


def model(pid: str, snps: pd.DataFrame, weights: np.ndarray, r2: list[float], chrom: str = "1") -> TwasModel:
    return TwasModel(panel="Tis.expression", phenotype_id=pid, gene_id=pid, chrom=chrom,
                     p0=int(snps["pos"].min()), p1=int(snps["pos"].max()), n=100,
                     snps=snps.reset_index(drop=True), weights=weights, models=MODEL_NAMES,
                     cv_r2=np.array([r2]), cv_pval=np.array([[0.01] * len(MODEL_NAMES)]), hsq=0.2)


def snp_table(bim: pd.DataFrame, rows, swap: np.ndarray | None = None, chrom: str | None = None) -> pd.DataFrame:
    b = bim.iloc[list(rows)]
    a1, a2 = b["a1"].to_numpy(), b["a2"].to_numpy()
    if swap is not None:
        a1, a2 = np.where(swap, a2, a1), np.where(swap, a1, a2)
    return pd.DataFrame({"chrom": chrom or b["chrom"].astype(str).to_numpy(), "snp": b["id"].to_numpy(), "cm": 0.0,
                         "pos": b["pos"].to_numpy(), "a1": a1, "a2": a2})


def main(argv: list[str]) -> int:
    """The command, its errors raised (``qtlatlas.cli.main`` prints them and returns 2)."""
    args = build_parser().parse_args(argv)
    return args.func(args)


def predict(tmp: Path, weights: Path, geno: Path, *extra: str) -> pd.DataFrame:
    out = tmp / "out"
    assert main(["twas", "predict", "--weights", str(weights), "--genotypes", str(geno), "--out", str(out),
                 *extra]) == 0
    files = sorted(out.glob("*.predicted.*.gz"))
    assert len(files) == 1
    return pd.read_csv(files[0], sep="\t", index_col=0)


# ----------------------------------------------------------------------------------------------------------
# A simulated cohort and panel, against plink2 --score
# ----------------------------------------------------------------------------------------------------------


def simulate(tmp: Path, exact: bool):
    """A cohort (PLINK 1, two chromosomes, missing calls) and a 24-phenotype Parquet panel whose SNPs count
    the .bim's A1 or its A2 (flipped) at random. ``exact``: 51 individuals with one missing call per SNP and
    weights on a grid of 1/4, so that every score has at most 6 significant digits, which is what plink2
    prints; else 57 individuals, 5% missing calls and arbitrary weights."""
    rng = np.random.default_rng(7 if exact else 8)
    n, m = (51, 240) if exact else (57, 240)
    chrom = np.repeat(["1", "2"], m // 2)
    pairs = [NON_AMBIGUOUS[k] for k in rng.integers(0, len(NON_AMBIGUOUS), m)]
    bim = pd.DataFrame({"chrom": chrom, "id": [f"rs{k}" for k in range(m)], "pos": 1000 + 500 * np.arange(m),
                        "a1": [p[0] for p in pairs], "a2": [p[1] for p in pairs]})
    freq = rng.uniform(0.05, 0.6, m)
    calls = rng.binomial(2, freq[:, None], (m, n)).astype(np.int8)
    if exact:
        calls[np.arange(m), rng.integers(0, n, m)] = -9
    else:
        calls[rng.random((m, n)) < 0.05] = -9
    prefix = write_bfile(tmp / "cohort", calls, bim)
    swap = rng.random(m) < 0.5  # the weights count the .bim's A2 at these SNPs: flipped
    models = []
    for k in range(24):
        c = k % 2
        start = int(rng.integers(c * m // 2, (c + 1) * m // 2 - 40))
        rows = np.arange(start, start + int(rng.integers(5, 40)))
        if exact:
            w = rng.choice([-1, -0.75, -0.5, -0.25, 0.25, 0.5, 0.75, 1], (len(rows), 4))
        else:
            w = rng.normal(0, 0.2, (len(rows), 4))
        w[:, 1:3][rng.random((len(rows), 2)) < 0.4] = 0.0  # lasso/enet-like zeros
        models.append(model(f"g{k}", snp_table(bim, rows, swap[rows]), w, list(rng.uniform(0, 0.5, 4)),
                            chrom=str(chrom[start])))
    panel = write_parquet_panel(models, tmp / "panel")
    return tmp, prefix, panel, models, bim, swap, calls


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    return simulate(tmp_path_factory.mktemp("predict"), exact=False)


def plink2_scores(tmp: Path, prefix: Path, models: list[TwasModel], bim: pd.DataFrame, swap: np.ndarray):
    """plink2 --score … cols=scoresums with one score column per phenotype (each its best model's weights)."""
    ids = bim["id"].to_numpy()
    table = pd.DataFrame({"SNP": ids, "A1": np.where(swap, bim["a2"], bim["a1"])})
    for mdl in models:
        j = int(np.argmax(mdl.cv_r2[0]))
        w = mdl.weights[:, j].copy()
        if MODEL_NAMES[j] == "top1":
            keep = np.zeros(len(w), bool)
            keep[np.argmax(np.abs(w))] = True
            w[~keep] = 0
        col = np.zeros(len(ids))
        col[pd.Index(ids).get_indexer(mdl.snps["snp"])] = w
        table[mdl.phenotype_id] = col
    score = tmp / "score.tsv"
    table.to_csv(score, sep="\t", index=False, float_format="%.17g")
    out = tmp / "plink2"
    subprocess.run([PLINK2, "--bfile", str(prefix), "--score", str(score), "1", "2", "header-read",
                    "cols=scoresums", "--score-col-nums", f"3-{2 + len(models)}", "--out", str(out),
                    "--threads", "1"], check=True, capture_output=True)
    res = pd.read_csv(f"{out}.sscore", sep="\t")
    res = res.set_index(res.columns[[c.lstrip("#") == "IID" for c in res.columns].index(True)])
    return res[[f"{m.phenotype_id}_SUM" for m in models]].rename(columns=lambda c: c[:-4])


@pytest.mark.skipif(PLINK2 is None, reason="plink2 is not installed (apt-get install plink2)")
@pytest.mark.parametrize("exact", [True, False], ids=["exact", "any-weights"])
def test_predictions_equal_plink2_score(tmp_path, exact):
    """Equal to 1e-6 where plink2's printed scores are exact (at most 6 significant digits); else to the
    precision plink2 prints (6 significant digits: half a unit of the 6th is 5e-6 relative)."""
    tmp, prefix, panel, models, bim, swap, _ = simulate(tmp_path, exact)
    ours = predict(tmp, panel, prefix)
    theirs = plink2_scores(tmp, prefix, models, bim, swap)
    assert list(ours.index) == list(theirs.index)
    assert list(ours.columns) == list(theirs.columns)
    np.testing.assert_allclose(ours.to_numpy(), theirs.to_numpy(), rtol=1e-6 if exact else 5e-6, atol=1e-12)
    if exact:
        assert (ours.abs().to_numpy() > 1).mean() > 0.5  # scores with digits before and after the point


def test_blocks_layout_and_vcf_give_the_same_predictions(simulated, tmp_path):
    tmp, prefix, panel, models, bim, swap, calls = simulated
    ours = predict(tmp_path / "a", panel, prefix)
    small = predict(tmp_path / "b", panel, prefix, "--block", "3")
    pd.testing.assert_frame_equal(ours, small, rtol=1e-12)
    bed = predict(tmp_path / "c", panel, prefix, "--layout", "bed").reset_index()
    assert list(bed.columns[:4]) == ["#chr", "start", "end", "phenotype_id"]
    ordered = sorted(models, key=lambda m: (m.chrom, m.p0, m.phenotype_id))
    assert list(bed["phenotype_id"]) == [m.phenotype_id for m in ordered]
    assert list(bed["start"]) == [m.p0 - 1 for m in ordered]
    values = bed.set_index("phenotype_id").iloc[:, 3:].T
    np.testing.assert_allclose(values.loc[ours.index, ours.columns], ours, rtol=1e-12)
    # the same cohort as a VCF (ALT = the .bim's A1)
    gts = {2: "1/1", 1: "0/1", 0: "0/0", -9: "./."}  # ALT = A1
    samples = list(ours.index)
    lines = ["##fileformat=VCFv4.2", "##contig=<ID=1>", "##contig=<ID=2>",
             '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
             "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", *samples])]
    for r, row in zip(bim.itertuples(), calls, strict=True):
        lines.append("\t".join([r.chrom, str(r.pos), r.id, r.a2, r.a1, ".", "PASS", ".", "GT",
                                *(gts[int(x)] for x in row)]))
    vcf = tmp_path / "cohort.vcf"
    vcf.write_text("\n".join(lines) + "\n")
    per_chrom = []  # one VCF per chromosome, given as two --genotypes
    for c in ("1", "2"):
        path = tmp_path / f"chr{c}.vcf"
        path.write_text("\n".join([*lines[:5], *(x for x in lines[5:] if x.split("\t", 1)[0] == c)]) + "\n")
        per_chrom.append(path)
    split = predict(tmp_path / "s", panel, per_chrom[0], "--genotypes", str(per_chrom[1]))
    np.testing.assert_allclose(split.to_numpy(), ours.to_numpy(), rtol=1e-12)
    from_vcf = predict(tmp_path / "d", panel, vcf, "--block", "7")
    np.testing.assert_allclose(from_vcf.to_numpy(), ours.to_numpy(), rtol=1e-12)
    import pysam  # bgzipped and indexed: blocks are read by region through the index

    gz = tmp_path / "cohort.vcf.gz"
    pysam.tabix_compress(str(vcf), str(gz), force=True)
    pysam.tabix_index(str(gz), preset="vcf", force=True)
    from_gz = predict(tmp_path / "e", panel, gz, "--block", "5")
    np.testing.assert_allclose(from_gz.to_numpy(), ours.to_numpy(), rtol=1e-12)


def test_summary_counts_and_best_model(simulated, tmp_path):
    tmp, prefix, panel, models, *_ = simulated
    predict(tmp_path, panel, prefix)
    summary = pd.read_csv(tmp_path / "out" / "Tis.expression.models.tsv", sep="\t")
    assert list(summary["model"]) == [MODEL_NAMES[int(np.argmax(m.cv_r2[0]))] for m in models]
    assert (summary["n_used"] == summary["n_weights"]).all()
    assert summary["predicted"].all()
    assert summary["n_flipped"].sum() > 0


# ----------------------------------------------------------------------------------------------------------
# Allele flips, strand, ambiguous SNPs, missing genotypes, standardised scores
# ----------------------------------------------------------------------------------------------------------


def _flip_case(tmp: Path):
    bim = pd.DataFrame({"chrom": "1", "id": ["s1", "s2", "s3", "s4", "s5"], "pos": [100, 200, 300, 400, 500],
                        "a1": ["A", "A", "C", "A", "A"], "a2": ["G", "G", "T", "T", "G"]})
    calls = np.array([[-9, 0, 1, 2, 2],   # s1: missing for i0 → mean of the others (1.25)
                      [0, 1, 2, 2, 1],   # s2
                      [2, 1, 0, 1, 0],   # s3
                      [1, 1, 0, 2, 0],   # s4 (A/T: ambiguous)
                      [0, 2, 1, 1, 1]], dtype=np.int8)  # s5
    prefix = write_bfile(tmp / "c", calls, bim)
    snps = pd.DataFrame({"chrom": "1", "snp": bim["id"], "cm": 0.0, "pos": bim["pos"],
                         "a1": ["A", "G", "G", "A", "A"],   # s2 swapped; s3 other strand (G/A = comp of C/T)
                         "a2": ["G", "A", "A", "T", "C"]})  # s5: A/C against A/G, agree in no way
    w = np.zeros((5, 4))
    w[:, 2] = [0.5, -0.3, 0.2, 0.7, 1.1]  # enet
    mdl = model("g", snps, w, [0.1, 0.2, 0.4, 0.3])
    panel = write_parquet_panel([mdl], tmp / "panel")
    x = np.where(calls == -9, np.nan, calls).astype(float)
    x[0, 0] = np.nanmean(x[0])
    return prefix, panel, x


def test_allele_flips_strand_ambiguous_and_missing(tmp_path):
    prefix, panel, x = _flip_case(tmp_path)
    got = predict(tmp_path, panel, prefix)["g"].to_numpy()
    expected = 0.5 * x[0] - 0.3 * (2 - x[1]) + 0.2 * x[2]  # s4 ambiguous and s5 mismatched left out
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    summary = pd.read_csv(tmp_path / "out" / "Tis.expression.models.tsv", sep="\t").iloc[0]
    assert (summary["model"], summary["n_weights"], summary["n_used"], summary["n_flipped"], summary["n_strand"],
            summary["n_ambiguous"], summary["n_mismatch"]) == ("enet", 5, 3, 1, 1, 1, 1)
    kept = predict(tmp_path / "k", panel, prefix, "--keep-ambiguous")["g"].to_numpy()
    np.testing.assert_allclose(kept, expected + 0.7 * x[3], rtol=1e-12)


def test_indels_match_as_written(tmp_path):
    bim = pd.DataFrame({"chrom": "1", "id": ["d1", "d2", "d3"], "pos": [100, 200, 300],
                        "a1": ["AT", "C", "A"], "a2": ["A", "CTT", "G"]})
    calls = np.array([[0, 1, 2, 1], [2, 2, 1, 0], [1, 0, 0, 2]], dtype=np.int8)
    prefix = write_bfile(tmp_path / "c", calls, bim)
    snps = pd.DataFrame({"chrom": "1", "snp": bim["id"], "cm": 0.0, "pos": bim["pos"],
                         "a1": ["A", "C", "A"], "a2": ["AT", "CTT", "C"]})  # d1 swapped, d3 mismatched
    w = np.zeros((3, 4))
    w[:, 1] = [0.4, 0.6, 9.0]
    panel = write_parquet_panel([model("g", snps, w, [0.1, 0.5, 0.2, 0.3])], tmp_path / "panel")
    got = predict(tmp_path, panel, prefix)["g"].to_numpy()
    np.testing.assert_allclose(got, 0.4 * (2 - calls[0]) + 0.6 * calls[1], rtol=1e-12)
    summary = pd.read_csv(tmp_path / "out" / "Tis.expression.models.tsv", sep="\t").iloc[0]
    assert (summary["n_used"], summary["n_flipped"], summary["n_mismatch"], summary["n_ambiguous"]) == (2, 1, 1, 0)


def test_standardised_scores(tmp_path):
    prefix, panel, x = _flip_case(tmp_path)
    got = predict(tmp_path, panel, prefix, "--scale", "standardised")["g"].to_numpy()
    z = (x - x.mean(axis=1, keepdims=True)) / x.std(axis=1, ddof=1, keepdims=True)
    np.testing.assert_allclose(got, 0.5 * z[0] + 0.3 * z[1] + 0.2 * z[2], rtol=1e-12)  # z(2 − d) = −z(d)


def test_forced_model_and_top1_keeps_its_largest_weight(tmp_path):
    prefix, panel, x = _flip_case(tmp_path)
    w = pd.read_parquet(panel / "twas_weights.parquet")
    w["top1"] = [0.1, -2.0, 0.3, 0.0, 0.0]
    w.to_parquet(panel / "twas_weights.parquet")
    got = predict(tmp_path, panel, prefix, "--model", "top1")["g"].to_numpy()
    np.testing.assert_allclose(got, -2.0 * (2 - x[1]), rtol=1e-12)


def test_best_model_is_the_largest_cv_r2():
    snps = pd.DataFrame({"chrom": "1", "snp": ["a"], "cm": 0.0, "pos": [1], "a1": ["A"], "a2": ["G"]})
    m = model("g", snps, np.ones((1, 4)), [0.1, math.nan, 0.3, 0.3])
    assert MODEL_NAMES[best_model(m)] == "enet"  # first of the tie
    m = model("g", snps, np.ones((1, 4)), [math.nan] * 4)
    assert chosen_weights(m)[2].startswith("no CV R²")


def test_position_matching_across_chromosome_spellings(tmp_path):
    prefix, panel, x = _flip_case(tmp_path)
    w = pd.read_parquet(panel / "twas_weights.parquet")
    w["variant_id"] = "chr1_" + w["pos"].astype(str)
    w["chrom"] = "chr1"
    w.to_parquet(panel / "twas_weights.parquet")
    got = predict(tmp_path, panel, prefix, "--match-by", "position")["g"].to_numpy()
    np.testing.assert_allclose(got, 0.5 * x[0] - 0.3 * (2 - x[1]) + 0.2 * x[2], rtol=1e-12)


# ----------------------------------------------------------------------------------------------------------
# Release weights
# ----------------------------------------------------------------------------------------------------------


def test_release_weights_by_tissue(simulated, tmp_path):
    tmp, prefix, panel, *_ = simulated
    tables = tmp_path / "site" / "releases" / "v1" / "tables"
    tables.mkdir(parents=True)
    prof = pd.read_parquet(panel / "twas_profile.parquet")
    wt = pd.read_parquet(panel / "twas_weights.parquet")
    other = prof.assign(panel="Liver.expression")
    models = pd.concat([prof.assign(tissue="Tis", modality="expression"),
                        other.assign(tissue="Liver", modality="expression")], ignore_index=True)
    models.to_parquet(tables / "twas_models.parquet")
    pd.concat([wt, wt.assign(panel="Liver.expression")], ignore_index=True).to_parquet(tables / "twas_weights.parquet")
    out = tmp_path / "out"
    assert main(["twas", "predict", "--site", str(tmp_path / "site"), "--release", "v1", "--tissue", "Tis",
                 "--genotypes", str(prefix), "--out", str(out)]) == 0
    assert [p.name for p in sorted(out.glob("*.gz"))] == ["Tis.expression.predicted.tsv.gz"]
    from_release = pd.read_csv(out / "Tis.expression.predicted.tsv.gz", sep="\t", index_col=0)
    pd.testing.assert_frame_equal(from_release, predict(tmp_path / "p", panel, prefix))
    with pytest.raises(ConfigError, match="Brain not among the tissues"):
        main(["twas", "predict", "--site", str(tmp_path / "site"), "--release", "v1", "--tissue", "Brain",
              "--genotypes", str(prefix), "--out", str(out)])


# ----------------------------------------------------------------------------------------------------------
# Errors
# ----------------------------------------------------------------------------------------------------------


def test_no_overlapping_snps_names_the_cohort(tmp_path):
    prefix, panel, _ = _flip_case(tmp_path)
    w = pd.read_parquet(panel / "twas_weights.parquet")
    w["variant_id"] = "other" + w["variant_id"]
    w.to_parquet(panel / "twas_weights.parquet")
    with pytest.raises(InputFileError, match=r"c\.bed: none of the 5 weighted SNPs .* by id \(try --match-by "
                                             r"position\)"):
        predict(tmp_path, panel, prefix)


def test_chromosome_naming_mismatch(tmp_path):
    prefix, panel, _ = _flip_case(tmp_path)
    w = pd.read_parquet(panel / "twas_weights.parquet")
    w["chrom"] = "NC_000001"
    w.to_parquet(panel / "twas_weights.parquet")
    with pytest.raises(InputFileError, match="shares no chromosome with the weights.*NC_000001.*wrong genome"):
        predict(tmp_path, panel, prefix)


def test_genome_build_mismatch(tmp_path):
    prefix, panel, _ = _flip_case(tmp_path)
    w = pd.read_parquet(panel / "twas_weights.parquet")
    w["pos"] = w["pos"] + 12345
    w.to_parquet(panel / "twas_weights.parquet")
    with pytest.raises(InputFileError, match="5 of the 5 SNPs .* other positions .* another genome build"):
        predict(tmp_path, panel, prefix)


def test_duplicated_individuals(tmp_path):
    prefix, panel, _ = _flip_case(tmp_path)
    fam = prefix.with_suffix(".fam")
    fam.write_text(fam.read_text().replace(" i1 ", " i0 "))
    with pytest.raises(InputFileError, match=r"c\.fam: duplicate sample id\(s\): i0"):
        predict(tmp_path, panel, prefix)


def test_weights_arguments(tmp_path):
    prefix, panel, _ = _flip_case(tmp_path)
    with pytest.raises(ConfigError, match="give the weights"):
        main(["twas", "predict", "--genotypes", str(prefix), "--out", str(tmp_path / "o")])
    with pytest.raises(InputFileError, match="is a directory without twas_weights.parquet"):
        main(["twas", "predict", "--weights", str(tmp_path), "--genotypes", str(prefix), "--out", str(tmp_path / "o")])
    with pytest.raises(InputFileError, match="no release 'v9'"):
        main(["twas", "predict", "--site", str(tmp_path), "--release", "v9", "--genotypes", str(prefix),
              "--out", str(tmp_path / "o")])


# ----------------------------------------------------------------------------------------------------------
# FUSION's reference weights (GEUVADIS chr22) on 1000 Genomes EUR
# ----------------------------------------------------------------------------------------------------------


@pytest.mark.skipif(PLINK2 is None, reason="plink2 is not installed (apt-get install plink2)")
def test_fusion_weights_on_1000_genomes_equal_plink2(shared, tmp_path):
    """The 60 FUSION GEUVADIS models (.pos + .wgt.RDat) predicted for the 503 1000 Genomes EUR individuals
    equal plink2 --score on each model's best weights (plink2 prints 6 significant digits)."""
    from conftest import G1000

    from qtlatlas.twas.fusion_io import read_fusion_panel
    from qtlatlas.twas.predict_match import chosen_weights

    fusion = shared / "reference" / "fusion" / "weights"
    prefix = G1000 / "g1000_eur_hm3_chr22"
    ours = predict(tmp_path, fusion / "GEUV.pos", prefix)
    bim = pd.read_csv(f"{prefix}.bim", sep="\t", header=None, usecols=[1, 4, 5], names=["snp", "b1", "b2"])
    rows, names = {}, []
    for m in read_fusion_panel(fusion / "GEUV.pos", fusion):
        j, take, reason = chosen_weights(m)
        if reason:
            continue
        s = m.snps.iloc[take].assign(w=m.weights[take, j]).merge(bim, on="snp")
        complementary = {("A", "T"), ("T", "A"), ("C", "G"), ("G", "C")}
        s = s[[(a, b) not in complementary for a, b in zip(s["a1"], s["a2"], strict=True)]]
        for r in s.itertuples():
            rows.setdefault((r.snp, r.a1), {})[m.phenotype_id] = r.w
        names.append(m.phenotype_id)
    assert len(names) >= 50
    table = pd.DataFrame.from_dict(rows, orient="index")[names].fillna(0.0)
    table.index = pd.MultiIndex.from_tuples(table.index, names=["SNP", "A1"])
    score = tmp_path / "score.tsv"
    table.reset_index().to_csv(score, sep="\t", index=False, float_format="%.17g")
    out = tmp_path / "plink2"
    subprocess.run([PLINK2, "--bfile", str(prefix), "--score", str(score), "1", "2", "header-read", "cols=scoresums",
                    "--score-col-nums", f"3-{2 + len(names)}", "--out", str(out), "--threads", "1"],
                   check=True, capture_output=True)
    theirs = pd.read_csv(f"{out}.sscore", sep="\t")
    theirs = theirs.set_index(theirs.columns[[c.lstrip("#") == "IID" for c in theirs.columns].index(True)])
    theirs = theirs[[f"{n}_SUM" for n in names]].rename(columns=lambda c: c[:-4])
    assert list(ours.columns) == names
    np.testing.assert_allclose(ours.loc[theirs.index].to_numpy(), theirs.to_numpy(), rtol=5e-6, atol=1e-9)
