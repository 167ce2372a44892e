"""The prior variance of a SuSiE single effect: its log-likelihood and susieR's estimate of it.

For one single-effect regression with marginal estimates β̂_j of sampling variance s² (the same for every
variant of a standardised X) and uniform prior weights 1/p, the log-likelihood ratio of prior variance V
against no effect is

    ℓ(V) = log Σ_j (1/p)·BF_j(V),   log BF_j(V) = ½·τ·z_j² − ½·log(1 + V/s²),   τ = V/(V + s²),

with ``z_j² = β̂_j²/s²``; ℓ(0) = 0. susieR (``estimate_prior_method = "optim"``) maximises ℓ(e^t) over
t ∈ [−30, 15] with ``optim(method = "Brent")``, keeps the previous V when that is better, and sets V = 0 when
ℓ(V) ≤ ℓ(0). :func:`optimal_prior_variance` does the same for many single effects at once.
"""

from __future__ import annotations

import numpy as np

from .brent import brent_minimize

LOG_V_BOUNDS = (-30.0, 15.0)
"""susieR's search interval for log V."""


class SingleEffectLikelihood:
    """ℓ(V) of k single effects, from their squared z-scores.

    Args:
        z2: (k, p_max) squared z-scores; slots beyond a row's p variants are ignored.
        inside: (k, p_max) bool, the real slots (the first p of each row).
        p: (k,) number of variants of each row.
        s2: (k,) sampling variance of the marginal effect estimates of each row.

    The rows' real slots are kept end to end in one flat array (no padding), as ``z² − max z²`` of their row.
    """

    #: Rebuild the flat array for a subset of rows once that subset is below this fraction of the rows held.
    REBUILD_BELOW = 0.7

    def __init__(self, z2: np.ndarray, inside: np.ndarray, p: np.ndarray, s2: np.ndarray):
        self.z2_top = np.where(inside, z2, -np.inf).max(axis=1)
        self.shifted = z2 - self.z2_top[:, None]  # ≤ 0 in the real slots
        self.inside = inside
        self.log_p = np.log(p)
        self.s2 = s2
        self._hold(np.arange(len(s2)))

    def _hold(self, rows: np.ndarray) -> None:
        """Keep the flat array of ``rows`` (sorted) for the next evaluations."""
        self._rows = rows
        inside = self.inside[rows]
        counts = inside.sum(axis=1)
        self._flat = self.shifted[rows][inside]
        self._segment = np.repeat(np.arange(len(rows)), counts)
        self._offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
        self._work = np.empty_like(self._flat)

    def __call__(self, V: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """ℓ(V) (k,) of ``rows`` (sorted; all rows when None) at prior variances ``V`` (one per row, ≥ 0)."""
        rows = np.arange(len(self.s2)) if rows is None else rows
        if not (rows is self._rows or np.array_equal(rows, self._rows)):
            if len(rows) < self.REBUILD_BELOW * len(self._rows) or len(rows) == len(self.s2):
                self._hold(rows)
        held = self._rows
        z2_top, log_p, s2 = self.z2_top[rows], self.log_p[rows], self.s2[rows]
        half_tau = 0.5 * V / (V + s2)
        if held is rows or len(held) == len(rows):
            half_tau_held = half_tau
        else:  # evaluate the rows held (a superset of rows); the others' values are not used
            half_tau_held = np.full(len(held), 0.25)
            half_tau_held[np.searchsorted(held, rows)] = half_tau
        with np.errstate(under="ignore"):
            np.multiply(self._flat, half_tau_held[self._segment], out=self._work)
            np.exp(self._work, out=self._work)
        total = np.add.reduceat(self._work, self._offsets)
        if len(held) != len(rows):
            total = total[np.searchsorted(held, rows)]
        with np.errstate(divide="ignore", invalid="ignore"):  # V = 0: value unused
            value = half_tau * z2_top - 0.5 * np.log1p(V / s2) + np.log(total) - log_p
        return np.where(V > 0, value, 0.0)


def single_effect_loglik(V: np.ndarray, z2: np.ndarray, inside: np.ndarray, p: np.ndarray, s2: np.ndarray
                         ) -> np.ndarray:
    """ℓ(V) (k,) of k single effects (see the module docstring; arguments as :class:`SingleEffectLikelihood`)."""
    return SingleEffectLikelihood(z2, inside, p, s2)(np.asarray(V, dtype=np.float64))


def optimal_prior_variance(likelihood: SingleEffectLikelihood, V_old: np.ndarray) -> np.ndarray:
    """susieR's ``optimize_prior_variance(optimize_V = "optim")`` for k single effects: Brent's search of ℓ over
    log V ∈ [−30, 15], the previous ``V_old`` (k,) where it is better, and 0 where ℓ(V) ≤ ℓ(0) = 0."""
    size = len(V_old)

    def negative_loglik(log_v: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return -likelihood(np.exp(log_v), rows)

    V = np.exp(brent_minimize(negative_loglik, *LOG_V_BOUNDS, size=size))
    new = likelihood(V)
    old = likelihood(V_old)
    keep_old = new < old
    V = np.where(keep_old, V_old, V)
    return np.where(np.where(keep_old, old, new) <= 0.0, 0.0, V)
