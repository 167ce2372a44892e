"""Several genotype files of one release (for example one VCF per chromosome) read as one.

Every file must list the same samples in the same order. Reads of a chromosome or region go only to
the files that hold that chromosome.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import InputFileError
from .chromosomes import chrom_key, parse_region
from .genotypes import GenotypeData, GenotypeReader, open_genotypes


class GenotypeSet:
    """A :class:`GenotypeReader`-like view of several genotype files (same samples)."""

    format = "set"

    def __init__(self, readers: Sequence[GenotypeReader]):
        self.readers = list(readers)
        self.path = ", ".join(r.path for r in self.readers)
        self.samples = list(self.readers[0].samples)
        for r in self.readers[1:]:
            if list(r.samples) != self.samples:
                raise InputFileError(r.path, f"samples differ from {self.readers[0].path} (every genotype file of a "
                                             "release must list the same samples in the same order)")
        self.multiallelic = self.readers[0].multiallelic

    @property
    def variants(self) -> pd.DataFrame:
        return pd.concat([r.variants for r in self.readers], ignore_index=True)

    @property
    def multiallelic_records(self) -> int:
        return sum(r.multiallelic_records for r in self.readers)

    def chromosomes(self) -> list[str]:
        return list(dict.fromkeys(c for r in self.readers for c in r.chromosomes()))

    def read(self, region=None, *, samples: Sequence[str] | None = None, dtype: str = "int8") -> GenotypeData:
        key = None if region is None else chrom_key(parse_region(region).chrom)
        parts = [r.read(region, samples=samples, dtype=dtype) for r in self.readers
                 if key is None or key in {chrom_key(c) for c in r.chromosomes()}]
        if not parts:
            return self.readers[0].read(region, samples=samples, dtype=dtype)
        if len(parts) == 1:
            return parts[0]
        return GenotypeData(np.vstack([p.dosages for p in parts]), pd.concat([p.variants for p in parts], ignore_index=True),
                            parts[0].samples, sum(p.n_missing for p in parts), sum(p.multiallelic_records for p in parts))


def open_genotype_files(paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> GenotypeReader | GenotypeSet:
    """Open one genotype file (or PLINK prefix), or several as a :class:`GenotypeSet`."""
    if isinstance(paths, (str, os.PathLike)):
        return open_genotypes(paths)
    paths = list(paths)
    if len(paths) == 1:
        return open_genotypes(paths[0])
    return GenotypeSet([open_genotypes(p) for p in paths])
