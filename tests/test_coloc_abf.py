"""coloc.abf: the formulas of Giambartolomei et al. (2014) on random inputs, agreement with the eQTL Catalogue's
own coloc results on real data, and ``qtlatlas coloc abf`` end to end."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from conftest import SHARED, write_text

from qtlatlas.cli import main
from qtlatlas.engine.coloc import (
    PP_COLUMNS,
    coloc_abf,
    estimate_sdy,
    log_abf,
    standardised_varbeta,
)

# ------------------------------------------------------------------------------------------------------------
# (a) the formulas, against a straightforward implementation
# ------------------------------------------------------------------------------------------------------------


def _wakefield_abf(beta: np.ndarray, v: np.ndarray, prior_sd: float) -> np.ndarray:
    """Wakefield's approximate Bayes factor as a ratio of normal densities of beta-hat: N(0, V + W) / N(0, V)."""
    w = prior_sd**2

    def density(x, var):
        return np.exp(-x * x / (2 * var)) / np.sqrt(2 * math.pi * var)

    return density(beta, v + w) / density(beta, v)


def _posteriors_by_enumeration(abf1, abf2, p1, p2, p12) -> np.ndarray:
    """Giambartolomei et al.'s posteriors summing over every configuration of at most one causal variant per
    trait: H0 none; H1/H2 one for one trait; H3 one each at different variants; H4 one shared."""
    m = len(abf1)
    h = [1.0, p1 * sum(abf1), p2 * sum(abf2),
         sum(p1 * p2 * abf1[j] * abf2[k] for j, k in itertools.product(range(m), repeat=2) if j != k),
         sum(p12 * abf1[j] * abf2[j] for j in range(m))]
    return np.array(h) / sum(h)


@pytest.mark.parametrize("seed", range(6))
def test_posteriors_equal_the_enumeration_of_configurations(seed):
    rng = np.random.default_rng(seed)
    m = int(rng.integers(2, 12))
    v1, v2 = rng.uniform(1e-4, 0.05, m), rng.uniform(1e-4, 0.05, m)
    z1, z2 = rng.normal(0, 2.5, m), rng.normal(0, 2.5, m)
    sdy1 = rng.uniform(0.5, 2.0)
    p1, p2, p12 = 10.0 ** rng.uniform(-5, -3), 10.0 ** rng.uniform(-5, -3), 10.0 ** rng.uniform(-7, -5)
    b1, b2 = z1 * np.sqrt(v1), z2 * np.sqrt(v2)
    abf1 = _wakefield_abf(b1, v1, 0.15 * sdy1)
    abf2 = _wakefield_abf(b2, v2, 0.2)  # the case-control prior SD
    np.testing.assert_allclose(np.exp(log_abf(b1, v1, sdy1)), abf1, rtol=1e-11)
    expected = _posteriors_by_enumeration(abf1, abf2, p1, p2, p12)
    got = coloc_abf(b1, v1, b2, v2, sdy1=sdy1, p1=p1, p2=p2, p12=p12, prior_sd2=0.2)
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-300)
    assert got.sum() == pytest.approx(1.0, abs=1e-12)


def test_strong_signals_do_not_overflow():
    m = 300
    z1 = np.zeros(m)
    z1[100] = 40.0  # exp(z²/2) overflows float64; the log-sum-exp must not
    pp = coloc_abf(z1 * 0.01, np.full(m, 1e-4), z1 * 0.02, np.full(m, 4e-4))
    assert np.isfinite(pp).all() and pp[4] > 0.99
    other = np.zeros(m)
    other[200] = 40.0
    assert coloc_abf(z1 * 0.01, np.full(m, 1e-4), other * 0.02, np.full(m, 4e-4))[3] > 0.99


def test_sdy_estimate_is_the_no_intercept_regression_of_coloc():
    rng = np.random.default_rng(7)
    m, n, sdy = 500, 800, 1.7
    maf = rng.uniform(0.02, 0.5, m)
    varbeta = sdy**2 / (2 * n * maf * (1 - maf)) * rng.uniform(0.9, 1.1, m)
    x, y = 1 / varbeta, 2 * n * maf * (1 - maf)
    slope = np.linalg.lstsq(x[:, None], y, rcond=None)[0][0]
    assert estimate_sdy(varbeta, maf, n) == pytest.approx(math.sqrt(slope), rel=1e-12)
    assert estimate_sdy(varbeta, maf, n) == pytest.approx(sdy, rel=0.05)
    with_gaps = np.concatenate([varbeta, [np.nan, 0.1]])
    assert estimate_sdy(with_gaps, np.concatenate([maf, [0.3, np.nan]]), n) == estimate_sdy(varbeta, maf, n)
    assert math.isnan(estimate_sdy([np.nan], [0.2], n))


def test_command_defaults_are_the_engine_priors():
    from qtlatlas.commands import coloc as command
    from qtlatlas.engine import coloc as engine

    assert (command.DEFAULT_P1, command.DEFAULT_P2, command.DEFAULT_P12) == (
        engine.PRIOR_P1, engine.PRIOR_P2, engine.PRIOR_P12)


def test_standardised_varbeta():
    f = np.array([0.1, 0.5, 0.0])
    np.testing.assert_allclose(standardised_varbeta(f, 1000)[:2], 1 / (2000 * f[:2] * (1 - f[:2])))
    assert np.isnan(standardised_varbeta(f, 1000)[2])
    np.testing.assert_allclose(standardised_varbeta([0.5], 1000, case_fraction=0.2), [1 / (500 * 0.16)])


# ------------------------------------------------------------------------------------------------------------
# (b) the eQTL Catalogue's own coloc results on real data
# ------------------------------------------------------------------------------------------------------------

FIGURES = SHARED / "data" / "eqtlcatalogue-coloc-examples" / "manuscript" / "figures"
# The eQTL Catalogue's pipeline (colocalisation/bin/run_coloc_batch.R): ±200 kb around the pair's variant,
# p1 = p2 = 1e-4, p12 = 1e-5, dataset 1 the QTL (N = an / 2 of the window's first row), dataset 2 the GWAS-VCF
# (N = TotalControls from its header, MAF from the QTL file), sdY of both estimated by coloc.
EXAMPLES = {
    "HMGCR × LDL-C, FUSION muscle": dict(
        reference=("HMGCR/merged_colocs.tsv", "FUSION.muscle_naive_ge", "ENSG00000113161"),
        gwas="HMGCR/LDLC_HMGCR.vcf.gz", qtl="HMGCR/FUSION_muscle_HMGCR_gene.tsv.gz", extra=[]),
    # In this BLUEPRINT file the ac and an columns are swapped (ac = 334 = 2N on every row); the pipeline
    # took an / 2 of the window's first row, 11 / 2, as N. The reference is reproduced with that N.
    "RBMS1 × lymphocyte count, BLUEPRINT T cells": dict(
        reference=("RBMS1/rbms1_coloc_results.tsv", "BLUEPRINT.T-cell_ge", "ENSG00000153250"),
        gwas="RBMS1/LC_GWAS_subset.GRCh38.sorted.vcf.gz", qtl="RBMS1/BLUEPRINT_PE.T-cell_ge.nominal.sorted.tsv.gz",
        extra=["--n-qtl", "5.5"]),
}


@pytest.mark.shared
@pytest.mark.parametrize("name", list(EXAMPLES))
def test_agrees_with_the_eqtl_catalogue(shared, tmp_path, name):
    ex = EXAMPLES[name]
    ref_file, subset, gene = ex["reference"]
    ref = pd.read_csv(FIGURES / ref_file, sep="\t", dtype=str)  # merged_colocs.tsv repeats its header inside
    ref = ref[(ref["qtl_subset"] == subset) & (ref["molecular_trait_id"] == gene)].iloc[0]
    ref = pd.concat([ref[["variant"]], pd.to_numeric(ref[["nsnps", *PP_COLUMNS]])])
    out = tmp_path / "coloc.tsv"
    assert main(["coloc", "abf", "--gwas", str(FIGURES / ex["gwas"]), "--qtl", str(FIGURES / ex["qtl"]),
                 "--phenotype", gene, "--window", "200000", "--center", ref["variant"], *ex["extra"],
                 "--out", str(out)]) == 0
    got = pd.read_csv(out, sep="\t").iloc[0]
    # our trait 1 is the GWAS, the eQTL Catalogue's dataset 1 the QTL: H1 and H2 trade places
    expected = [ref["PP.H0.abf"], ref["PP.H2.abf"], ref["PP.H1.abf"], ref["PP.H3.abf"], ref["PP.H4.abf"]]
    assert abs(got["PP.H4.abf"] - ref["PP.H4.abf"]) <= 0.01
    np.testing.assert_allclose(got[list(PP_COLUMNS)].to_numpy(dtype=float), expected, atol=0.01)
    # same variant set up to multi-allelic sites (matched allele by allele here, dropped there)
    assert abs(int(got["nsnps"]) - int(ref["nsnps"])) <= 0.01 * ref["nsnps"]


@pytest.mark.shared
def test_blueprint_sample_size_column_is_refused(shared, tmp_path, capsys):
    ex = EXAMPLES["RBMS1 × lymphocyte count, BLUEPRINT T cells"]
    code = main(["coloc", "abf", "--gwas", str(FIGURES / ex["gwas"]), "--qtl", str(FIGURES / ex["qtl"]),
                 "--out", str(tmp_path / "x.tsv")])
    assert code == 2
    assert "ac exceeds the allele number an" in capsys.readouterr().err
    assert not (tmp_path / "x.tsv").exists()


# ------------------------------------------------------------------------------------------------------------
# (d) the command end to end on small written files
# ------------------------------------------------------------------------------------------------------------


def _simulated(tmp_path, rng):
    """A tensorQTL nominal file with two phenotypes (G_shared: causal variant 60, as the GWAS; G_distinct: 140)
    and the GWAS as GWAS-SSF with every third variant's alleles written swapped. Variants independent."""
    m, n_qtl, n_gwas = 200, 400, 20_000
    pos = 1_000_000 + 500 * np.arange(m)
    maf = rng.uniform(0.05, 0.5, m)
    ref, alt = np.array(["A"] * m, dtype=object), np.array(["G"] * m, dtype=object)
    sd_x = np.sqrt(2 * maf * (1 - maf))
    vids = [f"chr7_{p}_{r}_{a}_b38" for p, r, a in zip(pos, ref, alt, strict=True)]

    def stats(causal: int, n: int, sdy: float, effect: float):
        se = sdy / (np.sqrt(n) * sd_x)
        beta = rng.normal(0, se)
        beta[causal] += effect * sdy / sd_x[causal]
        return beta, se

    rows = []
    for pheno, causal in (("G_shared", 60), ("G_distinct", 140)):
        beta, se = stats(causal, n_qtl, 1.0, 0.4)
        for j in range(m):
            rows.append((pheno, vids[j], int(pos[j] - 1_050_000), maf[j], 50, int(round(2 * n_qtl * maf[j])),
                         0.5, beta[j], se[j]))
    qtl = pd.DataFrame(rows, columns=["phenotype_id", "variant_id", "start_distance", "af", "ma_samples", "ma_count",
                                      "pval_nominal", "slope", "slope_se"])
    qtl_path = tmp_path / "tissue.cis_qtl_pairs.parquet"
    qtl.to_parquet(qtl_path)
    beta, se = stats(60, n_gwas, 2.0, 0.1)
    swap = np.arange(m) % 3 == 0
    gwas = pd.DataFrame({
        "chromosome": "7", "base_pair_location": pos,
        "effect_allele": np.where(swap, ref, alt), "other_allele": np.where(swap, alt, ref),
        "beta": np.where(swap, -beta, beta), "standard_error": se,
        "effect_allele_frequency": np.where(swap, 1 - maf, maf), "p_value": 0.5, "n": n_gwas})
    gwas_path = tmp_path / "trait.tsv"
    gwas.to_csv(gwas_path, sep="\t", index=False)
    return qtl_path, gwas_path, dict(beta=beta, se=se, maf=maf, qtl=qtl, n_gwas=n_gwas, n_qtl=n_qtl)


def test_command_end_to_end(tmp_path):
    qtl_path, gwas_path, truth = _simulated(tmp_path, np.random.default_rng(11))
    out = tmp_path / "coloc.tsv"
    assert main(["coloc", "abf", "--gwas", str(gwas_path), "--qtl", str(qtl_path), "--out", str(out)]) == 0
    table = pd.read_csv(out, sep="\t").set_index("phenotype_id")
    assert list(table.columns[:7]) == ["trait", "chrom", "start", "end", "nsnps", "hit1", "hit2"]
    assert table.loc["G_shared", "PP.H4.abf"] > 0.9 and table.loc["G_distinct", "PP.H3.abf"] > 0.9
    assert (table["nsnps"] == 200).all()
    assert table.loc["G_distinct", "hit2"] == "chr7_1070000_A_G_b38"  # variant 140
    assert table.loc["G_distinct", "hit1"] == "chr7_1030000_A_G_b38"  # variant 60
    # the posteriors are coloc.abf of the arrays themselves (swapped alleles change nothing): GWAS N from the
    # n column, QTL N from ma_count / (2 MAF), sdY estimated as coloc does
    q = truth["qtl"][truth["qtl"]["phenotype_id"] == "G_shared"]
    vq = q["slope_se"].to_numpy() ** 2
    sdy_q = estimate_sdy(vq, truth["maf"], truth["n_qtl"])
    sdy_g = estimate_sdy(truth["se"] ** 2, truth["maf"], truth["n_gwas"])
    expected = coloc_abf(truth["beta"], truth["se"] ** 2, q["slope"].to_numpy(), vq, sdy1=sdy_g, sdy2=sdy_q)
    np.testing.assert_allclose(table.loc["G_shared", list(PP_COLUMNS)].to_numpy(dtype=float), expected,
                               rtol=1e-8, atol=1e-12)
    assert table.loc["G_shared", "sdY_gwas"] == pytest.approx(sdy_g, rel=1e-8)


def test_command_priors_window_and_phenotype(tmp_path):
    qtl_path, gwas_path, _ = _simulated(tmp_path, np.random.default_rng(12))
    base = ["coloc", "abf", "--gwas", str(gwas_path), "--qtl", str(qtl_path), "--phenotype", "G_shared"]
    assert main([*base, "--out", str(tmp_path / "a.tsv")]) == 0
    assert main([*base, "--p12", "1e-6", "--out", str(tmp_path / "b.tsv")]) == 0
    assert main([*base, "--window", "10000", "--out", str(tmp_path / "c.tsv")]) == 0
    a, b, c = (pd.read_csv(tmp_path / f"{k}.tsv", sep="\t").iloc[0] for k in "abc")
    # H4 against H3 is the prior of sharing against that of two causal variants: p12 / (p1 p2) times data
    ratio = (b["PP.H4.abf"] / b["PP.H3.abf"]) / (a["PP.H4.abf"] / a["PP.H3.abf"])
    assert ratio == pytest.approx(0.1, rel=1e-6)
    # ±10 kb around the lead (variant 60 at 1,030,000): 41 variants
    assert (c["nsnps"], c["start"], c["end"]) == (41, 1_020_000, 1_040_000)
    assert len(pd.read_csv(tmp_path / "a.tsv", sep="\t")) == 1


def test_the_same_gwas_in_every_format_gives_the_same_posteriors(tmp_path, capsys):
    qtl_path, ssf_path, _ = _simulated(tmp_path, np.random.default_rng(15))
    ssf = pd.read_csv(ssf_path, sep="\t")
    mlma = ssf.rename(columns={"chromosome": "Chr", "base_pair_location": "bp", "effect_allele": "A1",
                               "other_allele": "A2", "effect_allele_frequency": "Freq", "beta": "b",
                               "standard_error": "se", "p_value": "p"})
    mlma.insert(1, "SNP", [f"7:{p}" for p in ssf["base_pair_location"]])
    mlma_path = tmp_path / "trait.mlma"
    mlma[["Chr", "SNP", "bp", "A1", "A2", "Freq", "b", "se", "p"]].to_csv(mlma_path, sep="\t", index=False)
    records = "".join(f"7\t{r.base_pair_location}\t.\t{r.other_allele}\t{r.effect_allele}\t.\tPASS\t.\t"
                      f"ES:SE:AF\t{r.beta!r}:{r.standard_error!r}:{r.effect_allele_frequency!r}\n"
                      for r in ssf.itertuples())
    vcf_path = write_text(tmp_path / "trait.vcf", "##fileformat=VCFv4.2\n##SAMPLE=<ID=trait,TotalControls=20000,"
                                                   "StudyType=Continuous>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\t"
                                                   "FILTER\tINFO\tFORMAT\ttrait\n" + records)
    base = ["coloc", "abf", "--qtl", str(qtl_path)]
    assert main([*base, "--gwas", str(mlma_path), "--out", str(tmp_path / "m.tsv")]) == 2
    err = capsys.readouterr().err
    assert "gives no sample size" in err and "give --n-gwas" in err
    assert main([*base, "--gwas", str(mlma_path), "--n-gwas", "20000", "--out", str(tmp_path / "m.tsv")]) == 0
    assert main([*base, "--gwas", str(ssf_path), "--out", str(tmp_path / "s.tsv")]) == 0
    assert main([*base, "--gwas", str(vcf_path), "--out", str(tmp_path / "v.tsv")]) == 0
    tables = [pd.read_csv(tmp_path / f"{k}.tsv", sep="\t") for k in "msv"]
    for other in tables[1:]:
        np.testing.assert_allclose(other[list(PP_COLUMNS)], tables[0][list(PP_COLUMNS)], rtol=1e-9, atol=1e-15)
        assert other["nsnps"].tolist() == tables[0]["nsnps"].tolist() == [200, 200]


def test_command_z_only_gwas_needs_n_and_uses_the_qtl_frequencies(tmp_path, capsys):
    qtl_path, _, truth = _simulated(tmp_path, np.random.default_rng(13))
    z = truth["beta"] / truth["se"]
    rows = "".join(f"chr7_{1_000_000 + 500 * j}\t7\t{1_000_000 + 500 * j}\tG\tA\t{z[j]:.6f}\n" for j in range(200))
    fusion = write_text(tmp_path / "trait.sumstats", "SNP\tCHR\tBP\tA1\tA2\tZ\n" + rows)
    base = ["coloc", "abf", "--gwas", str(fusion), "--qtl", str(qtl_path), "--phenotype", "G_shared"]
    assert main([*base, "--out", str(tmp_path / "x.tsv")]) == 2
    assert "--n-gwas" in capsys.readouterr().err
    assert main([*base, "--n-gwas", "20000", "--out", str(tmp_path / "z.tsv")]) == 0
    got = pd.read_csv(tmp_path / "z.tsv", sep="\t").iloc[0]
    assert "z-scores only" in capsys.readouterr().out
    maf = truth["maf"]
    vg = 1 / (2 * 20_000 * maf * (1 - maf))
    q = truth["qtl"][truth["qtl"]["phenotype_id"] == "G_shared"]
    vq = q["slope_se"].to_numpy() ** 2
    expected = coloc_abf(np.round(z, 6) * np.sqrt(vg), vg, q["slope"].to_numpy(), vq, sdy1=1.0,
                         sdy2=estimate_sdy(vq, maf, truth["n_qtl"]))
    np.testing.assert_allclose(got[list(PP_COLUMNS)].to_numpy(dtype=float), expected, rtol=1e-8, atol=1e-12)
    assert got["PP.H4.abf"] > 0.9


def test_command_input_errors_are_one_line(tmp_path, capsys):
    qtl_path, gwas_path, _ = _simulated(tmp_path, np.random.default_rng(14))
    lines = gwas_path.read_text().splitlines()
    lines[5] = lines[5].rsplit("\t", 3)[0] + "\tbad\t0.5\t20000"
    bad = write_text(tmp_path / "bad.tsv", "\n".join(lines) + "\n")
    out = str(tmp_path / "o.tsv")
    assert main(["coloc", "abf", "--gwas", str(bad), "--qtl", str(qtl_path), "--out", out]) == 2
    assert f"{bad}:6: effect_allele_frequency: 'bad' is not a number" in capsys.readouterr().err
    assert main(["coloc", "abf", "--gwas", str(gwas_path), "--qtl", str(qtl_path), "--p1", "2", "--out", out]) == 2
    assert "p1 must be in (0, 1)" in capsys.readouterr().err
    assert main(["coloc", "abf", "--gwas", str(gwas_path), "--qtl", str(qtl_path), "--center", "7:1000",
                 "--out", out]) == 2
    assert "--center: needs --window" in capsys.readouterr().err
    assert main(["coloc", "abf", "--gwas", str(gwas_path), "--qtl", str(qtl_path), "--window", "100",
                 "--center", "chr9_5_A_G", "--out", out]) == 2
    assert "has no variant within 100 bp of 9:5" in capsys.readouterr().err
