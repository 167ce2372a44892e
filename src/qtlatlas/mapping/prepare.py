"""``qtlatlas prepare``: from an unnormalised phenotype BED and genotypes to mapping-ready inputs.

Writes ``PREFIX.bed.gz`` (+ ``.tbi``; normalised by the Pantry rules, samples = those genotyped),
``PREFIX.covariates.txt`` (genotype PCs of LD-pruned common variants, phenotype PCs, then any user
covariates; tensorQTL layout) and ``PREFIX.median.tsv.gz`` (median of the unnormalised values of each
phenotype, e.g. median TPM).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..engine.genotype_stats import impute_mean
from ..engine.normalize import PreparedPhenotypes, median_per_phenotype, prepare_phenotypes
from ..engine.pca import COMMON_MAF, DEFAULT_GENOTYPE_PCS, DEFAULT_PHENOTYPE_PCS, ld_prune, pca_covariates
from ..errors import SampleMismatchError
from ..io.covariates import read_covariates, write_covariates
from ..io.genotypes import GenotypeReader, open_genotypes
from ..io.phenotypes import PhenotypeTable, read_phenotype_bed, write_phenotype_bed
from ..io.text import write_tsv_gz


@dataclass
class PrepareReport:
    n_input: int
    n_kept: int
    n_samples: int
    preparation: PreparedPhenotypes
    n_pruned_variants: int
    covariate_names: list[str]


def pruned_genotypes(reader: GenotypeReader, samples: list[str], on_chrom: Callable[[str], None] | None = None) -> np.ndarray:
    """Dosages (v, n) of common (MAF ≥ 0.05) variants kept by LD pruning, chromosome by chromosome."""
    kept = []
    for chrom in reader.chromosomes():
        if on_chrom:
            on_chrom(chrom)
        G = impute_mean(reader.read(chrom, samples=samples, dtype="float32").to_float().astype(np.float64))
        af = G.mean(axis=1) / 2
        common = np.minimum(af, 1 - af) >= COMMON_MAF
        G = G[common]
        kept.append(G[ld_prune(G)])
    return np.vstack(kept) if kept else np.zeros((0, len(samples)))


def prepare_inputs(
    phenotypes: str | os.PathLike[str],
    genotypes: str | os.PathLike[str],
    prefix: str,
    n_genotype_pcs: int = DEFAULT_GENOTYPE_PCS,
    n_phenotype_pcs: int = DEFAULT_PHENOTYPE_PCS,
    extra_covariates: str | os.PathLike[str] | None = None,
    on_step: Callable[[str], None] | None = None,
) -> PrepareReport:
    """Normalise ``phenotypes``, compute covariates, write the three outputs (see module docstring)."""
    step = on_step or (lambda _m: None)
    step("reading phenotypes")
    raw = read_phenotype_bed(phenotypes, allow_missing=True)
    reader = open_genotypes(genotypes)
    genotyped = set(reader.samples)
    samples = [s for s in raw.samples if s in genotyped]
    if not samples:
        raise SampleMismatchError(f"{phenotypes}: none of its samples is in {genotypes}")
    raw = raw.subset_samples(samples)
    step("normalising phenotypes")
    prepared = prepare_phenotypes(raw.values)
    table = PhenotypeTable(prepared.values, raw.positions[prepared.kept].reset_index(drop=True), samples)
    G = pruned_genotypes(reader, samples, lambda c: step(f"pruning genotypes on {c}")) if n_genotype_pcs else None
    extra = read_covariates(extra_covariates, samples) if extra_covariates else None
    step("computing principal components")
    covariates = pca_covariates(samples, G, table.values if n_phenotype_pcs else None, n_genotype_pcs, n_phenotype_pcs, extra)
    write_phenotype_bed(table, f"{prefix}.bed.gz")
    write_covariates(covariates, f"{prefix}.covariates.txt")
    medians = pd.DataFrame({"phenotype_id": raw.phenotype_ids, "median": median_per_phenotype(raw.values)})
    write_tsv_gz(medians, f"{prefix}.median.tsv.gz")
    return PrepareReport(n_input=len(raw.phenotype_ids), n_kept=int(prepared.kept.sum()), n_samples=len(samples),
                         preparation=prepared, n_pruned_variants=0 if G is None else len(G),
                         covariate_names=list(covariates.index))
