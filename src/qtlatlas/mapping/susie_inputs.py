"""The arrays SuSiE fine-mapping needs for the phenotypes of one chromosome.

The same definitions as the other cis modes (:class:`qtlatlas.engine.cis.PreparedCis`): missing genotype calls
mean-imputed, genotypes and phenotypes residualised on [1, covariates] by the centred QR projection, windows
``start − window ≤ pos ≤ end + window``, the MAF filter on the imputed dosages; then variants that are
constant after residualisation (monomorphic in these samples) are left out, as susieR refuses them. Only the
variants inside a window of a phenotype to fine-map are residualised.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..engine.genotype_stats import allele_summaries, impute_mean
from ..engine.residualize import Residualizer
from .inputs import MappingInputs

_BLOCK = 4096  # variants residualised at a time (bounds the float64 temporaries)


@dataclass
class SusieChromosome:
    """Residualised arrays of one chromosome's phenotypes to fine-map, samples in the order of the inputs.

    Attributes:
        phenotype_ids: (k,) the phenotypes, in BED order.
        phenotypes: (k, n) residualised phenotype values.
        variant_ids: (m,) the variants kept (polymorphic, in a window), sorted by position.
        dosages: (m, n) their residualised ALT dosages.
        norms: (m,) L2 norms of the rows of ``dosages`` (all > 0).
        starts, stops: (k,) phenotype i's window is variants ``starts[i]:stops[i]`` (empty: none).
        dof: residual degrees of freedom of a marginal regression, n − 2 − rank(covariates).
    """

    phenotype_ids: np.ndarray
    phenotypes: np.ndarray
    variant_ids: np.ndarray
    dosages: np.ndarray
    norms: np.ndarray
    starts: np.ndarray
    stops: np.ndarray
    dof: int

    def marginal_t(self, i: int, variants: np.ndarray) -> np.ndarray:
        """t statistics of phenotype ``i`` on ``variants`` (indices), as the nominal pass computes them."""
        from ..engine.stats import tstat_from_r

        y = self.phenotypes[i]
        r = (self.dosages[variants] @ y) / (self.norms[variants] * np.sqrt(y @ y))
        return tstat_from_r(r, self.dof)


def prepare_chromosome(inputs: MappingInputs, chrom: str, phenotype_ids: list[str], window: int,
                       maf_threshold: float = 0.0, min_mac: int = 0) -> SusieChromosome:
    """The :class:`SusieChromosome` of ``phenotype_ids`` (all on ``chrom``, BED spelling)."""
    problem = inputs.cis_problem(chrom)
    wanted = set(phenotype_ids)
    rows = np.array([k for k, p in enumerate(problem.phenotype_ids) if p in wanted], dtype=np.int64)
    order = np.argsort(problem.variant_pos, kind="stable")
    pos = np.asarray(problem.variant_pos, dtype=np.int64)[order]
    lo = np.searchsorted(pos, problem.phenotype_start[rows] - window, side="left")
    hi = np.searchsorted(pos, problem.phenotype_end[rows] + window, side="right")
    inside = np.zeros(len(pos) + 1, dtype=np.int64)
    np.add.at(inside, lo, 1)
    np.add.at(inside, hi, -1)
    candidates = order[np.cumsum(inside)[:-1] > 0]  # variants in some window, by position
    residualizer = Residualizer(problem.covariates, n_samples=problem.phenotypes.shape[1])
    dosages = np.empty((len(candidates), residualizer.n))
    kept = np.zeros(len(candidates), dtype=bool)
    for s in range(0, len(candidates), _BLOCK):
        G = impute_mean(np.asarray(problem.genotypes[candidates[s:s + _BLOCK]], dtype=np.float64))
        keep = G.max(axis=1) > G.min(axis=1)
        if maf_threshold > 0:
            af = G.mean(axis=1) / 2
            keep &= np.minimum(af, 1 - af) >= maf_threshold
        if min_mac > 0:  # minor-allele copies, as the cis pass counts them
            keep &= allele_summaries(G)["ma_count"] >= min_mac
        dosages[s:s + len(G)] = residualizer.transform(G)
        kept[s:s + len(G)] = keep
    norms = np.sqrt(np.einsum("ij,ij->i", dosages, dosages))
    kept &= norms > 1e-8 * np.sqrt(residualizer.n - 1)  # constant once the covariates are out
    chosen = candidates[kept]
    chosen_pos = np.asarray(problem.variant_pos, dtype=np.int64)[chosen]
    starts = np.searchsorted(chosen_pos, problem.phenotype_start[rows] - window, side="left")
    stops = np.searchsorted(chosen_pos, problem.phenotype_end[rows] + window, side="right")
    return SusieChromosome(
        phenotype_ids=np.asarray(problem.phenotype_ids, dtype=object)[rows],
        phenotypes=residualizer.transform(np.asarray(problem.phenotypes, dtype=np.float64)[rows]),
        variant_ids=np.asarray(problem.variant_ids)[chosen], dosages=dosages[kept], norms=norms[kept],
        starts=starts, stops=stops, dof=residualizer.dof)
