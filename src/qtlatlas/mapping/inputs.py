"""Loading and aligning the inputs of a mapping run into the engine's arrays.

Samples used are those of the phenotype BED that are genotyped, in BED order; every one of them must be
in the covariates when covariates are given. Genotypes are read one chromosome at a time.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..engine.cis import CisProblem
from ..errors import SampleMismatchError
from ..io.chromosomes import chrom_key, chrom_sort_key
from ..io.covariates import read_covariates
from ..io.genotype_set import open_genotype_files
from ..io.genotypes import GenotypeReader
from ..io.groups import check_groups_cover, read_groups
from ..io.phenotypes import PhenotypeTable, read_phenotype_bed


@dataclass
class MappingInputs:
    """Phenotypes, covariates and a genotype reader aligned on the same samples.

    Attributes:
        phenotypes: phenotype table restricted to (and ordered as) ``samples``.
        covariates: (n_samples, k) float64, or None.
        covariate_names: the k covariate ids.
        genotypes: reader of the genotype file.
        samples: sample ids, in the order of every matrix.
        groups: phenotype id -> group id, or None.
    """

    phenotypes: PhenotypeTable
    covariates: np.ndarray | None
    covariate_names: list[str]
    genotypes: GenotypeReader
    samples: list[str]
    groups: pd.Series | None = None
    missing_calls: int = 0  # missing genotype calls seen so far (mean-imputed by the engine)

    def chromosomes(self) -> list[str]:
        """Chromosomes (phenotype BED spelling) that have phenotypes, in genome order."""
        return sorted(pd.unique(self.phenotypes.positions["chrom"]), key=chrom_sort_key)

    def cis_problem(self, chrom: str) -> CisProblem:
        """The engine's arrays for the phenotypes of one chromosome and the genotypes of that chromosome."""
        pos = self.phenotypes.positions
        rows = np.flatnonzero(pos["chrom"].to_numpy() == chrom)
        geno = self.genotypes.read(chrom_key(chrom), samples=self.samples, dtype="float32")
        self.missing_calls += geno.n_missing
        key = chrom_key(chrom)
        return CisProblem(
            genotypes=geno.to_float(),
            variant_ids=geno.variants["id"].to_numpy(),
            variant_chrom=np.full(len(geno.variants), key, dtype=object),
            variant_pos=geno.variants["pos"].to_numpy(np.int64),
            phenotypes=self.phenotypes.values[rows],
            phenotype_ids=np.asarray(self.phenotypes.phenotype_ids, dtype=object)[rows],
            phenotype_chrom=np.full(len(rows), key, dtype=object),
            phenotype_start=pos["start"].to_numpy(np.int64)[rows] + 1,
            phenotype_end=pos["end"].to_numpy(np.int64)[rows],
            covariates=self.covariates,
        )

    def group_ids(self, phenotype_ids: np.ndarray) -> np.ndarray | None:
        if self.groups is None:
            return None
        return self.groups.reindex(phenotype_ids).to_numpy()


def load_mapping_inputs(
    genotypes: str | os.PathLike[str] | list[str | os.PathLike[str]],
    phenotypes: str | os.PathLike[str],
    covariates: str | os.PathLike[str] | None = None,
    groups: str | os.PathLike[str] | None = None,
) -> MappingInputs:
    """Read phenotypes (normalised, complete), covariates (a file of no covariate row: none) and groups, open
    the genotypes, align samples.

    Raises:
        InputFileError: a malformed file.
        SampleMismatchError: no phenotype sample is genotyped, or covariates lack used samples.
    """
    table = read_phenotype_bed(phenotypes)
    reader = open_genotype_files(genotypes)
    genotyped = set(reader.samples)
    samples = [s for s in table.samples if s in genotyped]
    if not samples:
        raise SampleMismatchError(
            f"{phenotypes}: none of its {len(table.samples)} samples is in {genotypes} "
            f"(first phenotype samples: {', '.join(table.samples[:3])}; first genotyped: {', '.join(reader.samples[:3])})"
        )
    if len(samples) < len(table.samples):
        table = table.subset_samples(samples)
    cov, names = None, []
    if covariates is not None:
        frame = read_covariates(covariates, samples, allow_empty=True)
        if len(frame):  # a header line only: mapped without covariates
            cov, names = frame.to_numpy().T.copy(), list(frame.index)
    group_series = None
    if groups is not None:
        group_series = read_groups(groups)
        check_groups_cover(group_series, table.phenotype_ids, groups_path=str(groups), bed_path=str(phenotypes))
    return MappingInputs(phenotypes=table, covariates=cov, covariate_names=names, genotypes=reader, samples=samples,
                         groups=group_series)
