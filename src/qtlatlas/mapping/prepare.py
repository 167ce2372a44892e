"""``qtlatlas prepare``: from an unnormalised phenotype BED and genotypes to mapping-ready inputs.

Writes ``PREFIX.bed.gz`` (+ ``.tbi``; normalised by the Pantry rules — quantile, TMM or rank, see
:mod:`qtlatlas.engine.normalize` — samples = those genotyped),
``PREFIX.covariates.txt`` (genotype PCs of LD-pruned common variants, phenotype PCs, then any user
covariates; tensorQTL layout: :mod:`.covariate_design`) and ``PREFIX.median.tsv.gz`` (median of the
unnormalised values of each phenotype, e.g. median TPM).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..engine.genotype_stats import impute_mean
from ..engine.normalize import PreparedPhenotypes, median_per_phenotype, prepare_phenotypes, tmm_factors
from ..engine.pca import COMMON_MAF, DEFAULT_GENOTYPE_PCS, DEFAULT_PHENOTYPE_PCS, ld_prune
from ..errors import QtlAtlasError, SampleMismatchError
from ..io.covariates import read_covariates, write_covariates
from ..io.genotype_set import GenotypeSet
from ..io.genotypes import GenotypeReader, open_genotypes
from ..io.phenotypes import PhenotypeTable, read_phenotype_bed, write_phenotype_bed
from ..io.sample_labels import relabel as relabel_table
from ..io.text import write_tsv_gz
from .covariate_design import CovariateDesign, PcRequest, check_covariate_matrix, design_covariates


@dataclass
class PrepareReport:
    n_input: int
    n_kept: int
    n_samples: int
    preparation: PreparedPhenotypes
    covariate_names: list[str]
    design: CovariateDesign


def count_tmm_factors(counts: str | os.PathLike[str], samples: list[str],
                      relabel: Mapping[str, str] | None = None) -> np.ndarray:
    """(n,) TMM factors of ``samples`` from a log2(count + 1) BED (atlas.yaml's ``counts``), in that order;
    ``relabel`` renames the BED's sample-id columns to individuals first (:mod:`qtlatlas.io.sample_labels`).

    Raises:
        SampleMismatchError: the BED has no counts for some of ``samples`` (named).
    """
    table = relabel_table(read_phenotype_bed(counts, allow_missing=True), relabel or {}, str(counts))
    counted = set(table.samples)
    missing = [s for s in samples if s not in counted]
    if missing:
        raise SampleMismatchError(f"{counts}: no read counts for {len(missing)} of the {len(samples)} mapped samples "
                                  f"({', '.join(missing[:3])}{', …' if len(missing) > 3 else ''}); TMM needs them all")
    return tmm_factors(np.exp2(table.subset_samples(samples).values) - 1.0)


def normalised_table(raw: PhenotypeTable, method: str = "quantile", counts: str | os.PathLike[str] | None = None,
                     relabel: Mapping[str, str] | None = None) -> tuple[PhenotypeTable, PreparedPhenotypes]:
    """``raw`` (unnormalised, missing values allowed) normalised by the Pantry rules
    (:func:`~qtlatlas.engine.normalize.prepare_phenotypes` with ``method``; for ``tmm`` the factors come from
    the ``counts`` BED when given, else from the values): the kept phenotypes × the same samples, and the
    preparation's report."""
    factors = count_tmm_factors(counts, raw.samples, relabel) if method == "tmm" and counts is not None else None
    prepared = prepare_phenotypes(raw.values, method=method, factors=factors)
    return PhenotypeTable(prepared.values, raw.positions[prepared.kept].reset_index(drop=True), raw.samples), prepared


def pruned_variant_ids(reader: GenotypeReader | GenotypeSet) -> list[str]:
    """Ids of the common (MAF ≥ 0.05) variants kept by LD pruning over every sample of ``reader``, chromosome
    by chromosome: the variants whose dosages give a release's genotype PCs."""
    kept: list[str] = []
    for chrom in reader.chromosomes():
        data = reader.read(chrom, dtype="float32")
        G = impute_mean(data.to_float().astype(np.float64))
        af = G.mean(axis=1) / 2
        common = np.flatnonzero(np.minimum(af, 1 - af) >= COMMON_MAF)
        ids = data.variants["id"].to_numpy()[common]
        kept += list(ids[ld_prune(G[common])])
    return kept


def pruned_dosages(reader: GenotypeReader | GenotypeSet, variant_ids: list[str], samples: list[str]) -> np.ndarray:
    """Mean-imputed dosages (m, n) float64 of the variants ``variant_ids`` (:func:`pruned_variant_ids`) for
    ``samples``, in genome order."""
    wanted = set(variant_ids)
    blocks = []
    for chrom in reader.chromosomes():
        data = reader.read(chrom, samples=samples, dtype="float32")
        rows = np.flatnonzero(data.variants["id"].isin(wanted).to_numpy())
        blocks.append(impute_mean(data.to_float()[rows].astype(np.float64)))
    return np.vstack(blocks) if blocks else np.zeros((0, len(samples)))


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
    n_genotype_pcs: int | None = None,
    n_phenotype_pcs: int | None = None,
    extra_covariates: str | os.PathLike[str] | None = None,
    on_step: Callable[[str], None] | None = None,
    normalization: str = "quantile",
    counts: str | os.PathLike[str] | None = None,
) -> PrepareReport:
    """Normalise ``phenotypes``, compute covariates, write the three outputs (see module docstring).

    A PC count left None is :data:`DEFAULT_GENOTYPE_PCS` / :data:`DEFAULT_PHENOTYPE_PCS`, unless
    ``extra_covariates`` already hold PCs of that kind (:mod:`.covariate_design`): then none is computed.

    Raises:
        QtlAtlasError: the covariates cannot be used (:func:`~.covariate_design.check_covariate_matrix`).
    """
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
    table, prepared = normalised_table(raw, normalization, counts)
    extra = read_covariates(extra_covariates, samples) if extra_covariates else None
    request = PcRequest(DEFAULT_GENOTYPE_PCS if n_genotype_pcs is None else n_genotype_pcs,
                        DEFAULT_PHENOTYPE_PCS if n_phenotype_pcs is None else n_phenotype_pcs,
                        n_genotype_pcs is not None, n_phenotype_pcs is not None)
    step("computing principal components")
    design = design_covariates(samples, extra, request,
                               lambda: pruned_genotypes(reader, samples, lambda c: step(f"pruning genotypes on {c}")),
                               lambda: table.values)
    problems = check_covariate_matrix(design.frame)
    if problems:
        raise QtlAtlasError(f"covariates of {phenotypes}{f' ({extra_covariates})' if extra_covariates else ''}: "
                            + "; ".join(problems))
    covariates = design.frame
    write_phenotype_bed(table, f"{prefix}.bed.gz")
    write_covariates(covariates, f"{prefix}.covariates.txt")
    medians = pd.DataFrame({"phenotype_id": raw.phenotype_ids, "median": median_per_phenotype(raw.values)})
    write_tsv_gz(medians, f"{prefix}.median.tsv.gz")
    return PrepareReport(n_input=len(raw.phenotype_ids), n_kept=int(prepared.kept.sum()), n_samples=len(samples),
                         preparation=prepared, covariate_names=list(covariates.index), design=design)
