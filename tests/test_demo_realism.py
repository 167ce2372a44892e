"""The default demo looks like an atlas: LD decays over 0.1–1 Mb, expression is mostly shared across
tissues, planted effects keep their direction across tissues (bar a few planted on purpose), and
expression values are not tied.

Measured on the demo ``qtlatlas demo`` generates (default sizes and seed), without running the pipeline.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from qtlatlas.commands.demo import DEMO_CONFIG
from qtlatlas.config import load_atlas
from qtlatlas.demo import DEMO_SIZES, DemoTruth, generate_demo
from qtlatlas.demo.realism import direction_concordance, distinct_fraction, ld_decay, tissue_correlations
from qtlatlas.engine.normalize import MAX_ZERO_FRACTION, prepare_phenotypes
from qtlatlas.io.genotypes import read_genotypes
from qtlatlas.io.phenotypes import read_phenotype_bed
from qtlatlas.mapping.prepare import normalised_table

#: GTEx's expression filter: TPM >= 0.1 in at least 20% of the samples.
EXPRESSED_TPM, EXPRESSED_SHARE = 0.1, 0.2


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, DemoTruth]:
    out = tmp_path_factory.mktemp("realism")
    return out, generate_demo(out, DEMO_CONFIG)


@pytest.fixture(scope="module")
def release(demo):
    return load_atlas(demo[0] / "atlas.yaml").release("v2")


@pytest.fixture(scope="module")
def tpm(release) -> dict[str, pd.DataFrame]:
    """Tissue -> TPM of every gene (genes × samples)."""
    return {tissue: pd.read_csv(mods["expression"].bed, sep="\t", index_col=3).iloc[:, 3:]
            for tissue, mods in release.tissues.items()}


@pytest.fixture(scope="module")
def expression(tpm) -> dict[str, pd.DataFrame]:
    """Tissue -> TPM of its expressed genes."""
    return {t: df[(df >= EXPRESSED_TPM).mean(axis=1) >= EXPRESSED_SHARE] for t, df in tpm.items()}


def test_ld_decays_over_a_tenth_to_one_megabase(release):
    geno = read_genotypes(release.genotypes[0], dtype="float32")
    dosage = geno.mean_impute().T  # (n, V)
    chrom = geno.variants["chrom"].to_numpy()
    bounds = {c: (int(np.argmax(chrom == c)), int(len(chrom) - np.argmax(chrom[::-1] == c))) for c in np.unique(chrom)}
    ld = ld_decay(dosage, geno.variants["pos"].to_numpy(), bounds).set_index("lo_bp")
    print("\n" + ld.to_string(float_format=lambda x: f"{x:.4f}"))
    floor = 1.0 / dosage.shape[0]  # mean r² of unlinked variants
    assert ld.loc[0, "mean_r2"] > 0.7  # neighbours within 10 kb: strong LD
    assert 0.1 < ld.loc[50_000, "mean_r2"] < 0.5  # 50–100 kb: still substantial
    assert ld.loc[100_000, "mean_r2"] > 5 * floor  # 100–250 kb: decaying, above the floor
    assert ld.loc[500_000, "mean_r2"] < 4 * floor  # 0.5–1 Mb: nearly gone
    assert ld.loc[2_000_000, "mean_r2"] < 1.5 * floor  # beyond 2 Mb: the floor of n genotypes
    assert ld.loc[1_000_000:, "share_r2_above_0.8"].max() < 1e-4  # no long-range tight LD
    assert (np.diff(ld["mean_r2"].to_numpy()) < 0).all()


def test_median_tpm_is_mostly_shared_across_tissues(tpm, expression):
    medians = pd.DataFrame({t: df.median(axis=1) for t, df in tpm.items()})
    on_tpm, on_log = tissue_correlations(medians), tissue_correlations(medians, log=True)
    print("\n" + on_tpm.to_string() + "\n" + on_log.to_string())
    assert on_tpm["r"].median() >= 0.8 and on_tpm["r"].min() >= 0.7
    assert on_log["r"].median() >= 0.8 and on_log["r"].min() >= 0.7
    # a few tissue-specific genes: expressed in one tissue only
    n_tissues = pd.DataFrame({t: medians.index.isin(df.index) for t, df in expression.items()}).sum(axis=1)
    assert 0 < (n_tissues == 1).sum() <= 0.1 * len(medians)
    # tissue shifts: the levels of a gene expressed everywhere differ between tissues, mostly within 2x
    everywhere = np.log2(medians[(n_tissues == medians.shape[1]).to_numpy()])
    spread = everywhere.max(axis=1) - everywhere.min(axis=1)
    assert 0.3 < spread.median() < 1.0


def test_expression_values_are_not_tied(tpm):
    """Every gene the pipeline maps (at most half of its values zero) has distinct TPMs in at least 90% of the
    samples: lowly expressed genes still have reads in nearly every sample, genes that are off have none in
    most (and are not mapped)."""
    for tissue, df in tpm.items():
        mapped = df[(df == 0).mean(axis=1) <= MAX_ZERO_FRACTION]
        assert len(mapped) >= 100, tissue
        frac = distinct_fraction(mapped.to_numpy(dtype=float))
        assert frac.min() >= 0.9, (tissue, mapped.index[np.argmin(frac)], frac.min())


@pytest.mark.parametrize("modality", ["expression", "isoforms", "splicing", "alt_TSS", "alt_polyA", "stability"])
def test_normalised_phenotypes_are_not_tied(release, modality):
    """Normalised as the demo's atlas.yaml says (TMM from the read counts for expression, ranks for the
    others), every phenotype keeps distinct values in at least 90% of the samples."""
    for tissue, mods in release.tissues.items():
        inp = mods[modality]
        raw = read_phenotype_bed(inp.bed, allow_missing=True)
        table, _ = normalised_table(raw, inp.normalization, inp.counts)
        frac = distinct_fraction(table.values)
        assert frac.min() >= 0.9, (tissue, table.phenotype_ids[int(np.argmin(frac))], frac.min())


def test_quantile_normalisation_of_few_genes_ties_the_most_expressed(tpm):
    """Why the demo declares TMM: quantile normalisation across its ~100 genes per tissue leaves genes with
    few distinct values (the issue's "striped violins")."""
    frac = [distinct_fraction(prepare_phenotypes(df.to_numpy(dtype=float)).values).min() for df in tpm.values()]
    assert min(frac) < 0.5


def test_effects_keep_their_direction_across_tissues(demo):
    _, truth = demo
    cv = truth.causal_variants
    cv = cv[cv["release"] == "v2"]
    dc = direction_concordance(cv)
    assert len(dc) >= 100
    assert dc["concordant"].mean() >= 0.9
    assert dc.loc[dc["modality"] == "expression", "concordant"].mean() >= 0.9
    # every effect that changes direction was planted so (and recorded in the truth), and there are a few
    opposite = cv[cv["opposite"]].groupby(["modality", "phenotype_id", "variant_id"]).size()
    discordant = dc[~dc["concordant"]].set_index(["modality", "phenotype_id", "variant_id"]).index
    assert 0 < len(discordant) and set(discordant) <= set(opposite.index)


def test_large_size_maps_over_a_thousand_genes_per_tissue(tmp_path):
    """``qtlatlas demo --size large``: at least 1,000 genes per tissue with reads in most samples (genotypes
    thinned here: expression does not depend on them)."""
    config = dataclasses.replace(DEMO_CONFIG, **DEMO_SIZES["large"], n_variants_per_chrom=300, n_traits=0)
    generate_demo(tmp_path, config)
    release = load_atlas(tmp_path / "atlas.yaml").release("v2")
    for tissue, mods in release.tissues.items():
        tpm = pd.read_csv(mods["expression"].bed, sep="\t").iloc[:, 4:]
        assert ((tpm == 0).mean(axis=1) <= MAX_ZERO_FRACTION).sum() >= 1000, tissue
