"""Writers of small genotype files for tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from qtlatlas.io.genotypes import MISSING_INT8

#: PLINK 1 two-bit codes of A1-allele counts.
BED_CODE = {2: 0b00, MISSING_INT8: 0b01, 1: 0b10, 0: 0b11}


def write_plink1(prefix: Path, calls: np.ndarray | None = None, chrom: str = "1", n_variants: int = 5,
                 n_samples: int = 6) -> Path:
    """Write ``calls`` (n_variants, n_samples) A1 counts (-9 missing; default: a fixed 0/1/2 pattern of the
    given size) as prefix.bed/.bim/.fam; returns the prefix."""
    if calls is None:
        calls = np.arange(n_variants * n_samples).reshape(n_variants, n_samples) % 3
    n_var, n_samp = calls.shape
    per_variant = (n_samp + 3) // 4
    body = bytearray()
    for row in calls:
        packed = bytearray(per_variant)
        for j, value in enumerate(row):
            packed[j // 4] |= BED_CODE[int(value)] << (2 * (j % 4))
        body += packed
    prefix.with_suffix(".bed").write_bytes(b"\x6c\x1b\x01" + bytes(body))
    prefix.with_suffix(".bim").write_text("".join(f"{chrom}\tv{i}\t0\t{100 * (i + 1)}\tA\tG\n" for i in range(n_var)))
    prefix.with_suffix(".fam").write_text("".join(f"f{j} s{j} 0 0 0 -9\n" for j in range(n_samp)))
    return prefix
