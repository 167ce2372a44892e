"""IBSS (iterative Bayesian stepwise selection) sweeps of many SuSiE fits in lockstep.

B phenotypes are fitted side by side, each on a window of columns of one standardised genotype matrix: the
l-th single-effect regression of every phenotype still running is done together, so the per-variant work is
array operations over all their variants at once (stored end to end, :mod:`.ragged`) and the prior-variance
searches run as one vectorised Brent search. Phenotypes whose windows overlap share the genotype products:
rows are sorted by window and cut into groups spanning a limited stretch of columns, and each group's
``X'R`` and ``X·b`` is one matrix product, both done while the group's genotypes are in cache.

Each phenotype follows exactly the sequence of susieR 0.12.35's ``susie()`` (``update_each_effect``, ELBO,
residual variance); a phenotype leaves the lockstep when its ELBO has converged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .ragged import RaggedRows
from .susie_prior import SingleEffectLikelihood, optimal_prior_variance

#: Rows of a column group: the union of their windows is at most this many times the widest of them.
GROUP_SPAN = 1.5
GROUP_ROWS = 64


@dataclass
class _Group:
    """The rows of one column group among the rows running: ``rows`` (a slice of the running rows), the
    columns ``c0:c1`` of X they use, their values' flat positions ``values`` (a slice), and for each value its
    row in the group ``value_row`` and column ``value_col`` (in ``c0:c1``); ``cell`` is where each value is in
    a (rows, c1 − c0) matrix of the group, as a flat index."""

    rows: slice
    c0: int
    c1: int
    values: slice
    value_row: np.ndarray
    value_col: np.ndarray
    cell: np.ndarray

    def some(self, chosen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For the group's rows ``chosen`` (bool, one per row): the flat positions of their values and where
        those are in a (chosen rows, c1 − c0) matrix (flat index)."""
        if chosen.all():
            return np.arange(self.values.start, self.values.stop), self.cell
        keep = chosen[self.value_row]
        rank = np.cumsum(chosen) - 1
        cell = rank[self.value_row[keep]] * (self.c1 - self.c0) + self.value_col[keep]
        return self.values.start + np.flatnonzero(keep), cell


class _Running:
    """The rows still running and where their values are: ``layout`` of their variants, ``positions`` of
    those values in the full flat arrays (a slice when every row runs), and the column groups."""

    def __init__(self, state: LockstepIbss, rows: np.ndarray):
        self.rows = rows
        self.layout = state.layout.subset(rows)
        every = len(rows) == len(state.layout)
        self.positions = slice(None) if every else state.layout.positions(rows)
        value_col = state.value_col if every else state.value_col[self.positions]
        self.groups = []
        for r0, r1, c0, c1 in state.groups:
            a, b = np.searchsorted(rows, (r0, r1))
            if b == a:
                continue
            v0, v1 = self.layout.starts[a], self.layout.starts[b - 1] + self.layout.counts[b - 1]
            local = self.layout.row_of[v0:v1] - a
            col = value_col[v0:v1] - c0
            self.groups.append(_Group(slice(a, b), c0, c1, slice(v0, v1), local, col, local * (c1 - c0) + col))


class LockstepIbss:
    """IBSS state of B phenotypes on the standardised genotypes ``Xs`` (n, m) (columns mean 0, variance 1).

    Args:
        Xs: (n, m) standardised genotypes.
        Y: (B, n) phenotypes (centred here).
        starts, stops: (B,) window of each phenotype, columns ``starts[b]:stops[b]`` of ``Xs``; rows sorted by
            ``starts``.
        L: single effects (at most the smallest window).
        scaled_prior_variance: initial prior variance of each effect, as a fraction of var(y).

    Per-variant arrays (``alpha``, ``mu``, ``mu2``, ``lbf_variable``) are (L, size): row b's variants are the
    values ``layout.starts[b]`` onwards (:class:`~.ragged.RaggedRows`), in window order.
    """

    def __init__(self, Xs: np.ndarray, Y: np.ndarray, starts: np.ndarray, stops: np.ndarray, L: int,
                 scaled_prior_variance: float):
        n = Xs.shape[0]
        B = Y.shape[0]
        self.Xs, self.n, self.L = Xs, n, L
        self.d = float(n - 1)  # ‖x_j‖² of a standardised column
        self.layout = RaggedRows(stops - starts)
        self.p = self.layout.counts.astype(np.float64)
        # the column of Xs of every value
        self.value_col = self.layout.positions(np.arange(B)) - np.repeat(self.layout.starts - starts, self.layout.counts)
        self.groups = column_groups(starts, stops)
        self.Yc = Y - Y.mean(axis=1, keepdims=True)
        var_y = np.einsum("ij,ij->i", self.Yc, self.Yc) / (n - 1)
        self.sigma2 = var_y.copy()
        self.sigma2_floor = var_y / 1e4
        self.V = np.tile((scaled_prior_variance * var_y)[:, None], (1, L))
        size = self.layout.size
        self.alpha = np.repeat(self.layout.expand(1.0 / self.p)[None], L, axis=0)
        self.mu = np.zeros((L, size))
        self.mu2 = np.zeros((L, size))
        self.lbf_variable = np.full((L, size), np.nan)
        self.lbf = np.full((B, L), np.nan)
        self.kl = np.full((B, L), np.nan)
        self.Xb = np.zeros((L, B, n))  # fitted values of each effect, Xs·(alpha·mu)
        self.Xb_zero = np.ones((B, L), dtype=bool)  # Xb[l, b] is exactly 0 (V = 0: the effect is dropped)
        self.Xr = np.zeros((B, n))  # their sum
        self.elbo: list[list[float]] = [[] for _ in range(B)]
        self.niter = np.zeros(B, dtype=np.int64)
        self.converged = np.zeros(B, dtype=bool)

    def run(self, estimate_prior_variance: bool = True, estimate_residual_variance: bool = True,
            max_iter: int = 100, tol: float = 1e-3) -> None:
        """Sweep until every phenotype's ELBO rises by less than ``tol`` (or ``max_iter`` sweeps)."""
        last = np.full(len(self.Yc), -np.inf)
        running = _Running(self, np.arange(len(self.Yc)))
        xtr = self._xt(running)
        for _ in range(max_iter):
            rows = running.rows
            for effect in range(self.L):
                xtr = self._update_effect(effect, running, xtr, estimate_prior_variance)
            er2 = self._expected_rss(running)
            s2 = self.sigma2[rows]
            elbo = -0.5 * self.n * np.log(2 * np.pi * s2) - er2 / (2 * s2) - self.kl[rows].sum(axis=1)
            for k, row in enumerate(rows):
                self.elbo[row].append(float(elbo[k]))
            self.niter[rows] += 1
            done = elbo - last[rows] < tol
            self.converged[rows[done]] = True
            last[rows] = elbo
            if done.all():
                break
            if done.any():
                xtr = xtr[np.repeat(~done, running.layout.counts)]
                running, er2 = _Running(self, rows[~done]), er2[~done]
            if estimate_residual_variance:
                self.sigma2[running.rows] = np.maximum(self.sigma2_floor[running.rows], er2 / self.n)

    def _expected_rss(self, running: _Running) -> np.ndarray:
        """(k,) E‖y − Xb‖² under the variational posterior, for the running phenotypes."""
        rows = running.rows
        resid = self.Yc[rows] - self.Xr[rows]
        xb = self.Xb[:, rows]
        at = running.positions
        second = running.layout.sum(np.einsum("lj,lj->j", self.alpha[:, at], self.mu2[:, at]))
        return np.einsum("ij,ij->i", resid, resid) - np.einsum("lbi,lbi->b", xb, xb) + self.d * second

    def _update_effect(self, effect: int, running: _Running, xtr: np.ndarray, estimate_prior_variance: bool
                       ) -> np.ndarray:
        """Single-effect regression of ``effect`` for the running rows, given ``xtr`` (their values), X' times
        their residuals without ``effect``. Returns the same for the next effect (the first after the last)."""
        rows, layout, at = running.rows, running.layout, running.positions
        sigma2 = self.sigma2[rows]
        s2 = sigma2 / self.d  # sampling variance of the marginal effect estimates
        z2 = xtr * xtr * layout.expand(1.0 / (self.d * sigma2))
        V = self.V[rows, effect]
        likelihood = SingleEffectLikelihood(z2, layout, s2)
        if estimate_prior_variance:
            V = optimal_prior_variance(likelihood, V)
        half_tau = 0.5 * V / (V + s2)
        shrink = 0.5 * np.log1p(V / s2)
        half_tau_v = layout.expand(half_tau)
        lbf = half_tau_v * z2 - layout.expand(shrink)
        weights = np.exp(half_tau_v * likelihood.shifted)  # BF_j / max_j BF_j
        total = layout.sum(weights)
        alpha = weights / layout.expand(total)
        lbf_model = half_tau * likelihood.z2_top - shrink + np.log(total / layout.counts)
        post_var = V * sigma2 / (sigma2 + V * self.d)
        mu = layout.expand(post_var / sigma2) * xtr
        mu2 = layout.expand(post_var) + mu * mu
        b = alpha * mu
        self.kl[rows, effect] = (-lbf_model + layout.sum(xtr * b) / sigma2
                                 - self.d * layout.sum(alpha * mu2) / (2 * sigma2))
        self.V[rows, effect] = V
        self.alpha[effect, at] = alpha
        self.mu[effect, at] = mu
        self.mu2[effect, at] = mu2
        self.lbf_variable[effect, at] = lbf
        self.lbf[rows, effect] = lbf_model
        return self._refit(effect, b, running, xtr, V == 0.0)

    def _xt(self, running: _Running) -> np.ndarray:
        """X' times each running row's residual without the first effect, over its window (flat)."""
        out = np.empty(running.layout.size)
        rows = running.rows
        for g in running.groups:
            sub = rows[g.rows]
            R = self.Yc[sub] - self.Xr[sub] + self.Xb[0, sub]
            out[g.values] = np.take(R @ self.Xs[:, g.c0:g.c1], g.cell)
        return out

    def _refit(self, effect: int, b: np.ndarray, running: _Running, xtr: np.ndarray, dropped: np.ndarray
               ) -> np.ndarray:
        """Store ``Xs·b`` (the new fitted values of ``effect``; b flat, exactly 0 for the rows ``dropped``) and
        return X' times the residuals without the next effect (``xtr`` is the same without ``effect``).

        Products are skipped where their result is known: a dropped effect fits 0, and when it fitted 0 before
        too and the next effect fits 0, the residuals without the next effect are those without ``effect``.
        Group by group, so that both products read the group's genotypes while they are in cache."""
        next_effect = (effect + 1) % self.L
        rows = running.rows
        was_zero = self.Xb_zero[rows, effect]
        self.Xb_zero[rows, effect] = dropped
        changed = ~(dropped & was_zero)  # rows whose fitted values of `effect` change
        recompute = changed | ~self.Xb_zero[rows, next_effect]
        out = xtr  # X'R of the rows not recomputed: unchanged (xtr is not used after this)
        for g in running.groups:
            sub = rows[g.rows]
            X = self.Xs[:, g.c0:g.c1]
            fit = ~dropped[g.rows]
            if fit.any():
                at, cell = g.some(fit)
                coef = np.zeros((int(fit.sum()), g.c1 - g.c0))
                np.put(coef, cell, b[at])
                xb = coef @ X.T
                fitted = sub[fit]
                self.Xr[fitted] += xb - self.Xb[effect, fitted]
                self.Xb[effect, fitted] = xb
            cleared = sub[dropped[g.rows] & ~was_zero[g.rows]]
            if cleared.size:
                self.Xr[cleared] -= self.Xb[effect, cleared]
                self.Xb[effect, cleared] = 0.0
            again = recompute[g.rows]
            if again.any():
                at, cell = g.some(again)
                redo = sub[again]
                R_next = self.Yc[redo] - self.Xr[redo] + self.Xb[next_effect, redo]
                out[at] = np.take(R_next @ X, cell)
        return out


def column_groups(starts: np.ndarray, stops: np.ndarray, span: float = GROUP_SPAN, max_rows: int = GROUP_ROWS
                  ) -> list[tuple[int, int, int, int]]:
    """Cut rows (sorted by ``starts``) into runs ``(row0, row1, col0, col1)`` whose windows' union
    ``col0:col1`` is at most ``span`` times the widest window of the run, with at most ``max_rows`` rows."""
    groups = []
    r0 = 0
    B = len(starts)
    while r0 < B:
        c0, c1, widest = starts[r0], stops[r0], stops[r0] - starts[r0]
        r1 = r0 + 1
        while r1 < B and r1 - r0 < max_rows:
            new_c1 = max(c1, stops[r1])
            new_widest = max(widest, stops[r1] - starts[r1])
            if new_c1 - c0 > span * new_widest:
                break
            c1, widest = new_c1, new_widest
            r1 += 1
        groups.append((r0, r1, int(c0), int(c1)))
        r0 = r1
    return groups
