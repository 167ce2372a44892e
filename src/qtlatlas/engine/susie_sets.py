"""Credible sets of a SuSiE fit, as susieR's ``susie_get_cs(fit, X = X)`` defines them.

For each single effect l kept (prior variance > :data:`~.susie.PRIOR_TOL`): its level-``coverage`` credible
set is the fewest variants, taken in decreasing ``alpha[l]`` (ties: lower column first), whose ``alpha``
reaches ``coverage`` — susieR's ``sum(cumsum(sort(alpha, decreasing = TRUE)) < coverage) + 1`` variants. A set
identical to one of an earlier effect is dropped. Its purity is the minimum, mean and median absolute
correlation between the genotypes of its members (1 for a single variant); sets whose minimum is below
``min_abs_corr`` are dropped, and the rest are ordered by purity, purest first.

susieR computes the purity of a set of more than 100 variants on a random sample of 100 of them; here every
pair is used, so the result does not depend on a random seed (the minimum over all pairs can only be lower).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .susie import SusieFit


@dataclass
class CredibleSet:
    """One credible set of a SuSiE fit.

    Attributes:
        effect: 0-based index of its single effect (susieR names it ``L{effect + 1}``).
        variants: column indices of its members (into the X fitted), ascending.
        coverage: the summed ``alpha`` of its members (≥ the coverage asked for).
        log10bf: log10 Bayes factor of its single-effect model (susieR's ``lbf`` / ln 10).
        min_abs_corr, mean_abs_corr, median_abs_corr: |r| between the genotypes of its members, over all pairs.
    """

    effect: int
    variants: np.ndarray
    coverage: float
    log10bf: float
    min_abs_corr: float
    mean_abs_corr: float
    median_abs_corr: float

    @property
    def name(self) -> str:
        """susieR's name of the set, ``L<effect number>``."""
        return f"L{self.effect + 1}"

    @property
    def min_r2(self) -> float:
        """``min_abs_corr²``: the smallest r² between two members (the eQTL Catalogue's ``cs_min_r2``)."""
        return self.min_abs_corr ** 2

    @property
    def avg_r2(self) -> float:
        """``mean_abs_corr²`` (the eQTL Catalogue's ``cs_avg_r2``, the square of the mean |r|)."""
        return self.mean_abs_corr ** 2


def credible_sets(fit: SusieFit, X: np.ndarray, coverage: float = 0.95, min_abs_corr: float = 0.5
                  ) -> list[CredibleSet]:
    """The credible sets of ``fit``, purest first.

    Args:
        fit: a SuSiE fit of p variants.
        X: (n, p) the genotypes fitted (any centring or scaling of them: only correlations are used).
        coverage: the credible level, in (0, 1].
        min_abs_corr: the least |r| two members of a set may have (purity threshold), in [0, 1].

    Raises:
        ValueError: ``X`` does not have p columns, or a level out of range.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != fit.alpha.shape[1]:
        raise ValueError(f"X must have the fit's {fit.alpha.shape[1]} variants as columns, not shape {X.shape}")
    if not 0 < coverage <= 1:
        raise ValueError(f"coverage must be in (0, 1], not {coverage}")
    if not 0 <= min_abs_corr <= 1:
        raise ValueError(f"min_abs_corr must be in [0, 1], not {min_abs_corr}")

    def purity_of(members: np.ndarray) -> tuple[float, float, float] | None:
        if _surely_impure(X[:, members[:_FIRST_CHECKED]], min_abs_corr):
            return None
        return purity(X[:, members])

    return collect_sets(fit, fit.effects_kept, coverage, min_abs_corr, purity_of)


def collect_sets(fit: SusieFit, kept: np.ndarray, coverage: float, min_abs_corr: float,
                 purity_of: Callable[[np.ndarray], tuple[float, float, float] | None]) -> list[CredibleSet]:
    """susieR's ``susie_get_cs`` rules over the effects of ``fit``: per effect kept (``kept``, (L,) bool) the
    fewest largest-``alpha`` variants reaching ``coverage``, a set equal to an earlier effect's dropped, then
    those whose purity (``purity_of(members)``: min, mean and median |r| over pairs of members, or None when
    surely below ``min_abs_corr``) has min |r| ≥ ``min_abs_corr``; purest first."""
    found: list[CredibleSet] = []
    seen: list[np.ndarray] = []
    for effect in range(fit.alpha.shape[0]):
        members = _members(fit.alpha[effect], coverage)
        duplicate = any(np.array_equal(members, other) for other in seen)
        seen.append(members)
        if duplicate or not kept[effect]:
            continue
        measured = purity_of(members)
        if measured is None or measured[0] < min_abs_corr:
            continue
        low, mean, median = measured
        found.append(CredibleSet(effect=effect, variants=members, coverage=float(fit.alpha[effect, members].sum()),
                                 log10bf=float(fit.lbf[effect] / np.log(10.0)), min_abs_corr=low,
                                 mean_abs_corr=mean, median_abs_corr=median))
    order = sorted(range(len(found)), key=lambda k: -found[k].min_abs_corr)  # stable, as R's order()
    return [found[k] for k in order]


def _members(alpha: np.ndarray, coverage: float) -> np.ndarray:
    """Columns (ascending) of the smallest set of largest ``alpha`` (p,) whose sum reaches ``coverage``."""
    order = np.argsort(-alpha, kind="stable")
    size = min(int(np.sum(np.cumsum(alpha[order]) < coverage)) + 1, len(alpha))
    return np.sort(order[:size])


_FIRST_CHECKED = 64


def _surely_impure(genotypes: np.ndarray, min_abs_corr: float) -> bool:
    """Whether a member of ``genotypes`` (n, k: the first members of a set) correlates with the first one by
    less than ``min_abs_corr``: a cheap test that settles most large, impure sets before the O(n·k²) purity."""
    if genotypes.shape[1] < 3:
        return False
    centred = genotypes - genotypes.mean(axis=0)
    norms = np.sqrt(np.einsum("ij,ij->j", centred, centred))
    first = centred[:, 0] / norms[0] if norms[0] > 0 else np.zeros(len(centred))
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.abs(first @ centred) / norms
    return bool(np.any(np.nan_to_num(r, nan=0.0) < min_abs_corr))


def purity(genotypes: np.ndarray) -> tuple[float, float, float]:
    """Minimum, mean and median |r| over the pairs of columns of ``genotypes`` (n, k); (1, 1, 1) for k = 1.
    A constant column has r = 0 with every other."""
    k = genotypes.shape[1]
    if k == 1:
        return 1.0, 1.0, 1.0
    centred = genotypes - genotypes.mean(axis=0)
    norms = np.sqrt(np.einsum("ij,ij->j", centred, centred))
    unit = centred / np.where(norms > 0, norms, 1.0)
    corr = np.abs(unit.T @ unit)[np.triu_indices(k, 1)]
    corr = np.minimum(corr, 1.0)
    return float(corr.min()), float(corr.mean()), float(np.median(corr))
