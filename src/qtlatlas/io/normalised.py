"""Phenotype BEDs declared normalised (``normalised: true`` in ``atlas.yaml``): their values are mapped as
given, so every row must be complete and must vary across the samples that are mapped."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from ..errors import InputFileError
from .phenotypes import PhenotypeTable, read_phenotype_bed


def check_normalised(table: PhenotypeTable, path: str | os.PathLike[str]) -> None:
    """Refuse a row of ``table`` (as read from ``path``, all rows in file order) that has a missing value or is
    constant across ``table.samples``.

    Raises:
        InputFileError: naming the line and phenotype of the first such row, and counting the others.
    """
    values = table.values
    missing = np.isnan(values).any(axis=1)
    constant = np.zeros(len(values), dtype=bool)
    if values.shape[1]:
        complete = values[~missing]
        constant[~missing] = complete.max(axis=1) == complete.min(axis=1)
    bad = np.flatnonzero(missing | constant)
    if not len(bad):
        return
    i = int(bad[0])
    pid = table.phenotype_ids[i]
    if missing[i]:
        j = int(np.flatnonzero(np.isnan(values[i]))[0])
        problem = f"phenotype {pid!r} has a missing value (sample {table.samples[j]!r})"
    else:
        problem = f"phenotype {pid!r} is constant ({values[i, 0]:g}) across the {values.shape[1]} mapped samples"
    others = f" ({len(bad) - 1} other row(s) are incomplete or constant)" if len(bad) > 1 else ""
    raise InputFileError(os.fspath(path), f"{problem}{others}; a BED declared normalised is mapped as given, so "
                         "every row must be complete and vary (remove the row, or leave out 'normalised: true' to "
                         "have it normalised)", line=i + 2)


def read_normalised_bed(path: str | os.PathLike[str], samples: Sequence[str] | None = None) -> PhenotypeTable:
    """A BED declared normalised, restricted to ``samples`` (in this order; default: all), checked by
    :func:`check_normalised`."""
    table = read_phenotype_bed(path, allow_missing=True)
    if samples is not None:
        table = table.subset_samples(list(samples))
    check_normalised(table, path)
    return table
