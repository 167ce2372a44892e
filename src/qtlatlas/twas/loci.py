"""Loci of a TWAS post-processing (FUSION ``post_process``): which models are analysed, the Bonferroni
threshold, and the loci their weight SNPs define.

Loci
    Reference SNPs carrying a weight SNP of any analysed model (every SNP of the model's weight file, zero
    weights included, as FUSION marks them) are grouped into runs of consecutive reference SNPs; each run is
    padded by ``window`` bp on both sides (FUSION's ``--locus_win``, default 100 kb, so runs less than 200 kb
    apart merge) and overlapping padded runs are merged (a run starting exactly at the previous end starts a
    new locus). A model belongs to a locus when its ``P0..P1`` interval overlaps the locus.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import ndtri


def define_loci(positions: np.ndarray, weight_rows: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Loci from runs of consecutive reference SNPs carrying weights (reference order), padded and merged.

    Args:
        positions: ``(n_ref,)`` bp positions of the reference SNPs.
        weight_rows: ``(n_ref,)`` bool, SNP carries a weight.
        window: padding on each side, bp.

    Returns:
        ``(starts, ends, n_runs)``: padded bounds of the merged loci (a locus spans ``start < pos < end``)
        and the number of runs before merging.
    """
    flags = np.concatenate([[False], weight_rows, [False]]).astype(np.int8)
    edges = np.diff(flags)
    run_starts = np.flatnonzero(edges == 1)
    run_ends = np.flatnonzero(edges == -1) - 1
    starts = positions[run_starts] - window
    ends = positions[run_ends] + window
    out_s: list[int] = []
    out_e: list[int] = []
    for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
        if out_s and s < out_e[-1]:
            out_e[-1] = max(out_e[-1], e)
        else:
            out_s.append(s)
            out_e.append(e)
    return np.array(out_s, dtype=np.int64), np.array(out_e, dtype=np.int64), len(run_starts)




def bonferroni_z(n_tests: int, alpha: float = 0.05) -> float:
    """Two-sided Bonferroni z threshold ``Φ⁻¹(1 − α / (2 n))``."""
    return float(-ndtri(alpha / n_tests / 2))




def select_rows(numbers: pd.DataFrame, chrom: str | None, minp_input: float) -> tuple[np.ndarray, int, int]:
    """Rows to analyse: chromosome ``chrom`` (all when None), non-NA ``TWAS.P < minp_input``.

    Returns ``(rows, n_tests, n_na)``: n_tests counts non-NA ``TWAS.P`` over the whole table.
    """
    from ..io.chromosomes import chrom_key

    p = numbers["TWAS.P"].to_numpy(dtype=np.float64)
    tested = ~np.isnan(p)
    keep = tested & (p < minp_input)
    if chrom is not None:
        key = chrom_key(chrom)
        keep &= numbers["CHR"].astype(str).map(chrom_key).to_numpy() == key
    return np.flatnonzero(keep), int(tested.sum()), int((~tested).sum())
