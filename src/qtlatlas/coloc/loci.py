"""GWAS loci: lead variants below a p-value threshold, chosen greedily by smallest p and kept a minimum
distance apart, and the window around each. Arrays in, arrays out.

A GWAS row's strength is its −log10 p (:func:`gwas_nlog10p`): the file's p-value where it gives one, else
the two-sided p of its z-score computed in log space (finite for any z). Leads (:func:`lead_rows`) are
taken in order of decreasing −log10 p; a row is a lead unless an earlier lead on its chromosome lies within
``distance`` bp (``|pos − pos_lead| < distance``). This is the "distance clumping" of GWAS catalogues (the
eQTL Catalogue and MAGE take ±500 kb or ±1 Mb around such leads), without LD.
"""

from __future__ import annotations

import bisect
import math

import numpy as np
from scipy.special import log_ndtr, ndtri_exp

_LN10 = math.log(10.0)
_LN2 = math.log(2.0)


def gwas_nlog10p(p: np.ndarray, z: np.ndarray) -> np.ndarray:
    """−log10 p per row ``(m,)``: ``−log10(p)`` where ``p`` is finite (``+inf`` where it is 0), else
    ``−log10(2 Φ(−|z|))``; NaN where neither is known."""
    p = np.asarray(p, dtype=np.float64)
    z = np.asarray(z, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        from_p = -np.log10(p)
    from_z = -(_LN2 + log_ndtr(-np.abs(z))) / _LN10
    return np.where(np.isfinite(p) & (p >= 0), from_p, from_z)


def z_of_nlog10p(nlog10p: np.ndarray) -> np.ndarray:
    """``|z|`` of a two-sided p given as −log10 p ``(m,)`` — coloc's ``qnorm(p / 2, lower.tail = FALSE)``,
    computed in log space so that it stays exact where p underflows float64. NaN for a negative or missing
    −log10 p; ``+inf`` for ``+inf``."""
    x = np.asarray(nlog10p, dtype=np.float64)
    ok = np.isfinite(x) & (x >= 0)
    out = np.full(x.shape, np.nan)
    out[ok] = np.maximum(-ndtri_exp(-x[ok] * _LN10 - _LN2), 0.0)
    out[x == np.inf] = np.inf
    return out


def lead_rows(chrom_rank: np.ndarray, pos: np.ndarray, nlog10p: np.ndarray, p_threshold: float,
              distance: int) -> np.ndarray:
    """Rows of the lead variants, in genome order (``chrom_rank``, then ``pos``).

    Args:
        chrom_rank: ``(m,)`` integer rank of each row's chromosome (genome order).
        pos: ``(m,)`` positions, bp.
        nlog10p: ``(m,)`` −log10 p (:func:`gwas_nlog10p`); NaN rows are never leads.
        p_threshold: leads have p below this.
        distance: leads on one chromosome are at least this far apart, bp.
    """
    chrom_rank = np.asarray(chrom_rank, dtype=np.int64)
    pos = np.asarray(pos, dtype=np.int64)
    strength = np.asarray(nlog10p, dtype=np.float64)
    cut = -math.log10(p_threshold)
    candidates = np.flatnonzero(np.nan_to_num(strength, nan=-np.inf) > cut)
    # strongest first; ties by genome order, so that the choice does not depend on the file's row order
    order = candidates[np.lexsort((pos[candidates], chrom_rank[candidates], -strength[candidates]))]
    taken: dict[int, list[int]] = {}
    leads = []
    for row in order.tolist():
        c, x = int(chrom_rank[row]), int(pos[row])
        near = taken.setdefault(c, [])
        i = bisect.bisect_left(near, x)
        if (i < len(near) and near[i] - x < distance) or (i > 0 and x - near[i - 1] < distance):
            continue
        near.insert(i, x)
        leads.append(row)
    leads_arr = np.array(leads, dtype=np.int64)
    return leads_arr[np.lexsort((pos[leads_arr], chrom_rank[leads_arr]))]
