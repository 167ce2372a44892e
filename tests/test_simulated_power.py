"""Power and false-discovery rate of the cis engine on the simulator's planted signals (the default demo on
six chromosomes, v1): phenotype preparation → PC covariates → permutations → q-values, per tissue × modality,
compared with the truth. The table is printed (pytest -s) and the pooled FDR must be near the nominal 5%.

Measured (seed 11): pooled FDR 0.044; power 0.46–0.78 overall and 0.99–1.00 for planted R² ≥ 0.1 on
expression and stability; isoforms (grouped) 0.32 overall, 0.50–0.62 for R² ≥ 0.1."""

import numpy as np
import pandas as pd
import pytest

from qtlatlas.demo import DemoConfig, generate_demo
from qtlatlas.engine.cis import CisProblem, PreparedCis, permutation_pass
from qtlatlas.engine.normalize import prepare_phenotypes
from qtlatlas.engine.pca import ld_prune, pca_covariates
from qtlatlas.engine.significance import add_qvalues
from qtlatlas.io.chromosomes import chrom_key
from qtlatlas.io.genotypes import read_genotypes
from qtlatlas.io.groups import read_groups
from qtlatlas.io.phenotypes import read_phenotype_bed

FDR = 0.05
#: The default demo on six chromosomes (360 genes): with the default's 120 genes a grouped modality has only
#: ~70 phenotypes per tissue, and its 8 phenotype PCs soak up the isoform ratios of single genes (their own
#: QTL signal with them), so isoform power swung between 0.1 and 0.6 from seed to seed.
CONFIG = DemoConfig(seed=11, n_chromosomes=6)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("power")
    truth = generate_demo(root, CONFIG)
    return root, truth.causal_variants


def _map(root, tissue, modality):
    rel = root / "releases" / "v1"
    raw = read_phenotype_bed(rel / "phenotypes" / f"{tissue}.{modality}.bed.gz", allow_missing=True)
    geno = read_genotypes(rel / "genotypes.vcf.gz", samples=raw.samples, dtype="float32")
    prepared = prepare_phenotypes(raw.values)
    pos = raw.positions[prepared.kept].reset_index(drop=True)
    G = geno.mean_impute().astype(float)
    af = G.mean(axis=1) / 2
    common = np.flatnonzero(np.minimum(af, 1 - af) >= 0.05)
    pruned = np.concatenate([common[geno.variants["chrom"].to_numpy()[common] == c][
        ld_prune(G[common[geno.variants["chrom"].to_numpy()[common] == c]])] for c in geno.variants["chrom"].unique()])
    cov = pca_covariates(raw.samples, G[pruned], prepared.values, 3, 8)
    problem = CisProblem(genotypes=G, variant_ids=geno.variants["id"].to_numpy(),
                         variant_chrom=np.array([chrom_key(c) for c in geno.variants["chrom"]]),
                         variant_pos=geno.variants["pos"].to_numpy(), phenotypes=prepared.values,
                         phenotype_ids=pos["phenotype_id"].to_numpy(),
                         phenotype_chrom=np.array([chrom_key(c) for c in pos["chrom"]]),
                         phenotype_start=pos["start"].to_numpy() + 1, phenotype_end=pos["end"].to_numpy(),
                         covariates=cov.to_numpy().T)
    prep = PreparedCis(problem, window=1_000_000)
    groups = None
    if modality == "isoforms":
        groups = read_groups(rel / "phenotypes" / f"{tissue}.{modality}.groups.txt").reindex(prep.phenotype_ids).to_numpy()
    table, _ = add_qvalues(permutation_pass(prep, 1000, seed=1, groups=groups), FDR)
    gene = table["group_id"] if groups is not None else table["phenotype_id"].str.split("__").str[0]
    return set(gene[table["qval"] <= FDR]), set(gene)


def test_power_and_fdr_on_planted_signals(demo):
    root, causal = demo
    rows = []
    for tissue in ("Adipose", "Brain"):
        for modality in ("expression", "stability", "isoforms"):
            called, tested = _map(root, tissue, modality)
            truth = causal[(causal["release"] == "v1") & (causal["tissue"] == tissue) & (causal["modality"] == modality)]
            true_genes = set(truth["gene_id"]) & tested
            strong = set(truth.loc[truth["r2"] >= 0.1, "gene_id"]) & tested
            rows.append({"tissue": tissue, "modality": modality, "tested": len(tested), "causal": len(true_genes),
                         "called": len(called), "false": len(called - true_genes),
                         "power": len(called & true_genes) / max(len(true_genes), 1),
                         "power_r2>=0.1": len(called & strong) / max(len(strong), 1)})
    report = pd.DataFrame(rows)
    print("\n" + report.to_string(index=False, float_format=lambda x: f"{x:.2f}"))
    pooled_fdr = report["false"].sum() / report["called"].sum()
    print(f"pooled FDR {pooled_fdr:.3f} (nominal {FDR}), pooled power {report['power'].mean():.2f}")
    assert pooled_fdr <= 0.1
    gene_level = report["modality"] != "isoforms"
    assert (report.loc[gene_level, "power_r2>=0.1"] >= 0.8).all()
    # isoform ratios carry count noise that attenuates the planted R², and grouped mapping pays for testing
    # every isoform of a gene: power is lower, but planted genes must still be found
    assert (report.loc[~gene_level, "power_r2>=0.1"] >= 0.3).all()
    assert report["called"].sum() >= 100
