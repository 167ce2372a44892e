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
from .ragged import RaggedRows

LOG_V_BOUNDS = (-30.0, 15.0)
"""susieR's search interval for log V."""


class SingleEffectLikelihood:
    """ℓ(V) of k single effects, from their squared z-scores.

    Args:
        z2: (size,) squared z-scores of the k rows' variants, end to end as ``layout`` says.
        layout: the k rows (one per single effect; a row's length is its number of variants p).
        s2: (k,) sampling variance of the marginal effect estimates of each row.
    """

    #: Gather the values of a subset of rows once that subset is below this fraction of the rows held.
    REGATHER_BELOW = 0.7

    def __init__(self, z2: np.ndarray, layout: RaggedRows, s2: np.ndarray):
        self.layout = layout
        self.z2_top = layout.max(z2)
        self.shifted = z2 - layout.expand(self.z2_top)  # ≤ 0
        self.log_p = np.log(layout.counts)
        self.s2 = s2
        self._hold(np.arange(len(s2)), self.shifted, layout)

    def _hold(self, rows: np.ndarray, flat: np.ndarray, layout: RaggedRows) -> None:
        """Evaluate ``rows`` (sorted) from ``flat`` (their shifted z², laid out as ``layout``) from now on."""
        self._rows, self._flat, self._layout = rows, flat, layout
        self._work = np.empty_like(flat)

    def __call__(self, V: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """ℓ(V) (k,) of ``rows`` (sorted; all rows when None) at prior variances ``V`` (one per row, ≥ 0)."""
        if rows is None or len(rows) == len(self.s2):
            rows = np.arange(len(self.s2))
            if len(self._rows) != len(rows):
                self._hold(rows, self.shifted, self.layout)
        elif rows is not self._rows and len(rows) < self.REGATHER_BELOW * len(self._rows):
            self._hold(rows, self.shifted[self.layout.positions(rows)], self.layout.subset(rows))
        held = self._rows
        z2_top, log_p, s2 = self.z2_top[rows], self.log_p[rows], self.s2[rows]
        half_tau = 0.5 * V / (V + s2)
        if len(held) == len(rows):
            half_tau_held = half_tau
        else:  # evaluate the rows held (a superset of rows); the others' values are not used
            where = np.searchsorted(held, rows)
            half_tau_held = np.full(len(held), 0.25)
            half_tau_held[where] = half_tau
        with np.errstate(under="ignore"):
            np.multiply(self._flat, self._layout.expand(half_tau_held), out=self._work)
            np.exp(self._work, out=self._work)
        total = self._layout.sum(self._work)
        if len(held) != len(rows):
            total = total[where]
        with np.errstate(divide="ignore", invalid="ignore"):  # V = 0: value unused
            value = half_tau * z2_top - 0.5 * np.log1p(V / s2) + np.log(total) - log_p
        return np.where(V > 0, value, 0.0)


def single_effect_loglik(V: np.ndarray, z2: np.ndarray, layout: RaggedRows, s2: np.ndarray) -> np.ndarray:
    """ℓ(V) (k,) of k single effects (see the module docstring; arguments as :class:`SingleEffectLikelihood`)."""
    return SingleEffectLikelihood(z2, layout, s2)(np.asarray(V, dtype=np.float64))


def optimal_prior_variance(likelihood: SingleEffectLikelihood, V_old: np.ndarray) -> np.ndarray:
    """susieR's ``optimize_prior_variance(optimize_V = "optim")`` for k single effects: Brent's search of ℓ over
    log V ∈ [−30, 15], the previous ``V_old`` (k,) where it is better, and 0 where ℓ(V) ≤ ℓ(0) = 0."""
    old = likelihood(V_old)
    log_v, neg_at = brent_minimize(lambda log_v, rows: -likelihood(np.exp(log_v), rows), *LOG_V_BOUNDS,
                                   size=len(V_old), with_values=True)
    V, new = np.exp(log_v), -neg_at
    keep_old = new < old
    V = np.where(keep_old, V_old, V)
    return np.where(np.where(keep_old, old, new) <= 0.0, 0.0, V)
