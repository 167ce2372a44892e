"""Which phenotypes of a BED can be mapped in cis: those on a genotyped chromosome with at least one variant
in their cis window. Shared by ``qtlatlas validate`` (before anything runs), ``qtlatlas map`` and the
pipeline's cis task, so that all three count and name the same phenotypes.

The window is the engine's (:func:`qtlatlas.engine.cis._cis_windows`): a variant at 1-based ``pos`` is in
cis of a phenotype with BED ``start`` (0-based) and ``end`` when it is on the same chromosome (compared by
:func:`~qtlatlas.io.chromosomes.chrom_key`) and ``start + 1 − window ≤ pos ≤ end + window``. Variants are
counted whatever their allele frequency (a ``maf_threshold`` may leave a window empty at mapping time).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..io.chromosomes import chrom_key, chrom_sort_key

#: Ids named in a message before "… (+N)".
SHOWN = 5


@dataclass
class Untestable:
    """Phenotypes of a BED that cannot be mapped in cis.

    Attributes:
        n_phenotypes: phenotypes of the BED.
        no_genotypes: BED chromosome spelling -> ids of its phenotypes, for chromosomes without any genotyped
            variant (genome order).
        no_cis_variant: ids of phenotypes on a genotyped chromosome without any variant within the window.
        window: the cis window, bp.
    """

    n_phenotypes: int
    window: int
    no_genotypes: dict[str, list[str]] = field(default_factory=dict)
    no_cis_variant: list[str] = field(default_factory=list)

    @property
    def untestable(self) -> list[str]:
        """Every phenotype that cannot be tested, in BED order of chromosomes then the others."""
        return [p for ids in self.no_genotypes.values() for p in ids] + self.no_cis_variant

    @property
    def n_testable(self) -> int:
        return self.n_phenotypes - len(self.untestable)

    def message(self) -> str:
        """What cannot be tested, in one sentence (empty when every phenotype can be)."""
        parts = []
        if self.no_genotypes:
            n = sum(len(v) for v in self.no_genotypes.values())
            parts.append(f"{n:,} on chromosome(s) without genotypes ({_preview(list(self.no_genotypes))}: "
                         f"{_preview([p for ids in self.no_genotypes.values() for p in ids])})")
        if self.no_cis_variant:
            parts.append(f"{len(self.no_cis_variant):,} without any variant within {self.window:,} bp of their TSS "
                         f"({_preview(self.no_cis_variant)})")
        if not parts:
            return ""
        return (f"{len(self.untestable):,} of {self.n_phenotypes:,} phenotype(s) cannot be tested: "
                + "; ".join(parts))


def _preview(ids: list[str]) -> str:
    return ", ".join(ids[:SHOWN]) + (f" … (+{len(ids) - SHOWN:,})" if len(ids) > SHOWN else "")


def find_untestable(positions: pd.DataFrame, variants: pd.DataFrame, window: int) -> Untestable:
    """Which phenotypes cannot be tested.

    Args:
        positions: one row per phenotype with ``chrom``, ``start`` (0-based BED start), ``end`` and
            ``phenotype_id`` (a :class:`~qtlatlas.io.phenotypes.PhenotypeTable`'s ``positions``).
        variants: one row per variant with ``chrom`` and ``pos`` (1-based), any order (a genotype reader's
            ``variants``).
        window: cis window, bp.
    """
    out = Untestable(n_phenotypes=len(positions), window=int(window))
    v_keys = np.array([chrom_key(c) for c in variants["chrom"]], dtype=object)
    v_pos = variants["pos"].to_numpy(np.int64)
    by_chrom = {k: np.sort(v_pos[v_keys == k]) for k in pd.unique(v_keys)}
    ids = positions["phenotype_id"].astype(str).to_numpy()
    chroms = positions["chrom"].astype(str).to_numpy()
    start = positions["start"].to_numpy(np.int64) + 1
    end = positions["end"].to_numpy(np.int64)
    no_cis = np.zeros(len(positions), dtype=bool)
    for chrom in sorted(pd.unique(chroms), key=chrom_sort_key):
        rows = np.flatnonzero(chroms == chrom)
        pos = by_chrom.get(chrom_key(chrom))
        if pos is None:
            out.no_genotypes[str(chrom)] = ids[rows].tolist()
            continue
        lo = np.searchsorted(pos, start[rows] - window, side="left")
        hi = np.searchsorted(pos, end[rows] + window, side="right")
        no_cis[rows[hi <= lo]] = True
    out.no_cis_variant = ids[no_cis].tolist()
    return out
