"""The one rule by which qtlatlas matches chromosome names.

A chromosome is identified by its name with any leading ``chr`` removed, case-insensitively, so
``chr22``, ``Chr22`` and ``22`` are the same chromosome; the mitochondrion is ``MT`` whether written
``M``, ``MT``, ``chrM`` or ``chrMT``. Files keep their own spelling: tables read from a file report the
chromosome as that file writes it, and lookups (regions, joins between genotypes and phenotypes)
compare :func:`chrom_key` values. Output files follow the spelling of the phenotype BED.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

_MITO = {"M", "MT"}


def chrom_key(name: str) -> str:
    """Canonical key of a chromosome name: ``'chr22' -> '22'``, ``'chrM' -> 'MT'``, ``'chrX' -> 'X'``."""
    s = str(name).strip()
    if s[:3].lower() == "chr":
        s = s[3:]
    up = s.upper()
    if up in _MITO:
        return "MT"
    if up in {"X", "Y"}:
        return up
    return s


def chrom_sort_key(name: str) -> tuple[int, int | str]:
    """Sort key ordering chromosomes 1..22, X, Y, MT, then others alphabetically."""
    k = chrom_key(name)
    if k.isdigit():
        return (0, int(k))
    order = {"X": 1, "Y": 2, "MT": 3}
    if k in order:
        return (1, order[k])
    return (2, k)


@dataclass(frozen=True)
class Region:
    """A closed, 1-based genomic interval ``chrom:start-end`` (``end=None`` means to the chromosome end)."""

    chrom: str
    start: int = 1
    end: int | None = None

    @property
    def key(self) -> str:
        return chrom_key(self.chrom)

    def contains(self, chrom: str, pos: int) -> bool:
        return chrom_key(chrom) == self.key and pos >= self.start and (self.end is None or pos <= self.end)

    def __str__(self) -> str:
        if self.start <= 1 and self.end is None:
            return self.chrom
        return f"{self.chrom}:{self.start}-{self.end if self.end is not None else ''}".rstrip("-")


_REGION = re.compile(r"^\s*([A-Za-z0-9_.]+)(?::([\d,]+)?(?:-([\d,]+))?)?\s*$")


def parse_region(text: str | Region) -> Region:
    """Parse ``chr22``, ``22:100-200`` or ``chr22:1,000,000-2,000,000`` into a :class:`Region`.

    Raises ``ValueError`` with a readable message when the text is not a region.
    """
    if isinstance(text, Region):
        return text
    m = _REGION.match(str(text))
    if not m:
        raise ValueError(f"not a genomic region: {text!r} (expected CHROM, CHROM:START-END)")
    chrom, start, end = m.group(1), m.group(2), m.group(3)
    s = int(start.replace(",", "")) if start else 1
    e = int(end.replace(",", "")) if end else None
    if start and not end and ":" in str(text) and "-" not in str(text):
        e = s  # a single position
    if s < 1 or (e is not None and e < s):
        raise ValueError(f"invalid region {text!r}: start must be >= 1 and end >= start")
    return Region(chrom, s, e)


def region_mask(chroms, positions, region: str | Region) -> np.ndarray:
    """Boolean mask, shape (n,), of the (chrom, 1-based position) pairs that lie in ``region``."""
    reg = parse_region(region)
    codes, names = pd.factorize(np.asarray(chroms, dtype=object))
    hits = np.flatnonzero(np.array([chrom_key(c) == reg.key for c in names], dtype=bool))
    positions = np.asarray(positions, dtype=np.int64)
    mask = np.isin(codes, hits) & (positions >= reg.start)
    if reg.end is not None:
        mask &= positions <= reg.end
    return mask
