"""Colocalisation of two traits' SuSiE single effects (coloc 5's ``coloc.bf_bf`` and ``coloc.susie``).

Implemented from coloc's documented definition (Wallace 2021): each trait's fine-mapping gives, per single
effect, a vector of natural-log Bayes factors over the variants (SuSiE's ``lbf_variable`` row), and each
pair (effect i of trait 1, effect j of trait 2) is colocalised by coloc.abf's combination of those two
vectors over the variants both traits share — :func:`.coloc.combine_abf` with priors ``p1``, ``p2``, ``p12``
(coloc.bf_bf's defaults 1e-4, 1e-4, 5e-6) — giving the five posteriors PP.H0..PP.H4 per pair.

Here both traits' Bayes factors are over the same p variants (align them first), so coloc's trimming of pairs
whose posterior mass lies mostly outside the shared variants (``trim_by_posterior``) never applies. As
``coloc.susie``, only effects that form credible sets take part (:func:`coloc_susie`), in the order of the
credible sets, and each pair is labelled by its two effects' indices (``idx1``, ``idx2``, 0-based here; coloc
counts from 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

from .coloc import PRIOR_P1, PRIOR_P2, check_priors
from .susie_sets import CredibleSet

#: coloc.bf_bf's (and so coloc.susie's) default prior that a variant is causal for both traits.
PRIOR_P12_SUSIE = 5e-6


@dataclass
class BfBfResult:
    """The pairs of single effects of two traits and their colocalisation posteriors; K pairs, trait 1's
    effect varying fastest (coloc's ``expand.grid(i, j)`` order).

    Attributes:
        pp: (K, 5) PP.H0..PP.H4 of each pair (rows sum to 1).
        idx1, idx2: (K,) the pair's effect of trait 1 and of trait 2 (row index into the lbf matrices given
            to :func:`coloc_bf_bf`; the SuSiE effect index with :func:`coloc_susie`), 0-based.
        hit1, hit2: (K,) the variant (column index) of the largest log Bayes factor of each effect.
        nsnps: (K,) variants shared by the two traits.
        snp_pp_h4: (K, p) per-variant posterior that it is the shared causal variant, given H4.
    """

    pp: np.ndarray
    idx1: np.ndarray
    idx2: np.ndarray
    hit1: np.ndarray
    hit2: np.ndarray
    nsnps: np.ndarray
    snp_pp_h4: np.ndarray


def coloc_bf_bf(lbf1: np.ndarray, lbf2: np.ndarray, p1: float = PRIOR_P1, p2: float = PRIOR_P2,
                p12: float = PRIOR_P12_SUSIE) -> BfBfResult:
    """coloc.bf_bf of every pair of rows of two lbf matrices over the same p variants.

    Args:
        lbf1: (L1, p) natural-log Bayes factors of trait 1's single effects (a vector (p,) is one effect).
        lbf2: (L2, p) the same for trait 2, columns the same variants.
        p1, p2, p12: prior probabilities that a variant is causal for trait 1 only, trait 2 only, both.

    Returns:
        A :class:`BfBfResult` of L1·L2 pairs, each ``pp`` row equal to ``combine_abf(lbf1[i], lbf2[j], p1,
        p2, p12)``.

    Raises:
        ValueError: matrices with different numbers of columns, non-finite values, priors out of (0, 1).
    """
    l1 = np.atleast_2d(np.asarray(lbf1, dtype=np.float64))
    l2 = np.atleast_2d(np.asarray(lbf2, dtype=np.float64))
    if l1.ndim != 2 or l2.ndim != 2 or l1.shape[1] != l2.shape[1]:
        raise ValueError(f"lbf matrices of shapes {l1.shape} and {l2.shape} are not over the same variants")
    if not (np.all(np.isfinite(l1)) and np.all(np.isfinite(l2))):
        raise ValueError("log Bayes factors must be finite")
    problem = check_priors(p1, p2, p12)
    if problem:
        raise ValueError(problem)
    n1, n2, p = l1.shape[0], l2.shape[0], l1.shape[1]
    j, i = np.divmod(np.arange(n1 * n2), n1)  # trait 1's effect varies fastest
    s1 = logsumexp(l1, axis=1)[i]
    s2 = logsumexp(l2, axis=1)[j]
    joint = l1[i] + l2[j]  # (K, p)
    s12 = logsumexp(joint, axis=1)
    h = np.column_stack([np.zeros(len(i)), np.log(p1) + s1, np.log(p2) + s2,
                         np.log(p1) + np.log(p2) + _log_diff(s1 + s2, s12), np.log(p12) + s12])
    pp = np.exp(h - logsumexp(h, axis=1, keepdims=True))
    return BfBfResult(pp=pp, idx1=i, idx2=j, hit1=np.argmax(l1, axis=1)[i], hit2=np.argmax(l2, axis=1)[j],
                      nsnps=np.full(len(i), p), snp_pp_h4=np.exp(joint - s12[:, None]))


def _log_diff(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``log(exp(x) − exp(y))`` elementwise, as :func:`.coloc._log_diff` (−inf where ``y ≥ x``)."""
    m = np.maximum(x, y)
    with np.errstate(invalid="ignore", divide="ignore"):
        d = np.exp(x - m) - np.exp(y - m)
        return np.where(d > 0, m + np.log(np.where(d > 0, d, 1.0)), -np.inf)


def effects_with_sets(sets: list[CredibleSet]) -> np.ndarray:
    """The single effects (0-based) that form the credible sets ``sets``, in their order (coloc.susie's
    ``cs_index``)."""
    return np.array([s.effect for s in sets], dtype=np.int64)


def coloc_susie(lbf1: np.ndarray, sets1: list[CredibleSet], lbf2: np.ndarray, sets2: list[CredibleSet],
                p1: float = PRIOR_P1, p2: float = PRIOR_P2, p12: float = PRIOR_P12_SUSIE) -> BfBfResult | None:
    """coloc.susie of two SuSiE fits over the same p variants: :func:`coloc_bf_bf` of the effects that form
    credible sets.

    Args:
        lbf1, lbf2: (L1, p), (L2, p) the fits' ``lbf_variable`` (natural log).
        sets1, sets2: their credible sets (:func:`.susie_sets.credible_sets` or
            :func:`.susie_rss.credible_sets_rss`).

    Returns:
        The pairs, ``idx1``/``idx2`` being effect indices of the fits; None when either trait has no credible
        set (coloc returns ``nsnps = NA`` then).
    """
    e1, e2 = effects_with_sets(sets1), effects_with_sets(sets2)
    if len(e1) == 0 or len(e2) == 0:
        return None
    lbf1, lbf2 = np.asarray(lbf1, dtype=np.float64), np.asarray(lbf2, dtype=np.float64)
    out = coloc_bf_bf(lbf1[e1], lbf2[e2], p1, p2, p12)
    out.idx1, out.idx2 = e1[out.idx1], e2[out.idx2]
    return out
