"""IBSS (iterative Bayesian stepwise selection) sweeps of many SuSiE fits in lockstep.

B phenotypes are fitted side by side, each on a window of columns of one standardised genotype matrix: the
k-th single-effect regression of every phenotype still running is done together, so the per-variant work is
array operations on (B, p_max) blocks and the prior-variance searches run as one vectorised Brent search.
Phenotypes whose windows overlap share the genotype products: rows are sorted by window and cut into groups
spanning a limited stretch of columns, and each group's ``X'R`` and ``X·b`` is one matrix product.

Each phenotype follows exactly the sequence of susieR 0.12.35's ``susie()`` (``update_each_effect``, ELBO,
residual variance); a phenotype leaves the lockstep when its ELBO has converged.
"""

from __future__ import annotations

import numpy as np

from .susie_prior import SingleEffectLikelihood, optimal_prior_variance

#: Rows of a column group: the union of their windows is at most this many times the widest of them.
GROUP_SPAN = 1.5
GROUP_ROWS = 64


class LockstepIbss:
    """IBSS state of B phenotypes on the standardised genotypes ``Xs`` (n, m) (columns mean 0, variance 1).

    Args:
        Xs: (n, m) standardised genotypes.
        Y: (B, n) phenotypes (centred here).
        starts, stops: (B,) window of each phenotype, columns ``starts[b]:stops[b]`` of ``Xs``, with rows
            sorted by ``starts``.
        L: single effects (at most the smallest window).
        scaled_prior_variance: initial prior variance of each effect, as a fraction of var(y).

    Per-phenotype arrays are padded to the widest window p_max: (L, B, p_max) for ``alpha``, ``mu``, ``mu2`` and
    ``lbf_variable``; ``inside`` (B, p_max) tells the real slots.
    """

    def __init__(self, Xs: np.ndarray, Y: np.ndarray, starts: np.ndarray, stops: np.ndarray, L: int,
                 scaled_prior_variance: float):
        n = Xs.shape[0]
        B = Y.shape[0]
        self.Xs, self.n, self.L = Xs, n, L
        self.d = float(n - 1)  # ‖x_j‖² of a standardised column
        widths = stops - starts
        self.p = widths.astype(np.float64)
        p_max = int(widths.max())
        slot = np.arange(p_max)
        self.inside = slot[None, :] < widths[:, None]
        self.groups = column_groups(starts, stops)
        # column of each slot relative to its group's first column; padding → the group width (a zero column)
        self.group_cols = np.empty((B, p_max), dtype=np.int64)
        for r0, r1, c0, c1 in self.groups:
            rel = starts[r0:r1, None] - c0 + slot[None, :]
            self.group_cols[r0:r1] = np.where(self.inside[r0:r1], rel, c1 - c0)
        self.Yc = Y - Y.mean(axis=1, keepdims=True)
        var_y = np.einsum("ij,ij->i", self.Yc, self.Yc) / (n - 1)
        self.sigma2 = var_y.copy()
        self.sigma2_floor = var_y / 1e4
        self.V = np.tile((scaled_prior_variance * var_y)[:, None], (1, L))
        self.alpha = np.repeat(np.where(self.inside, 1.0 / self.p[:, None], 0.0)[None], L, axis=0)
        self.mu = np.zeros((L, B, p_max))
        self.mu2 = np.zeros((L, B, p_max))
        self.lbf_variable = np.full((L, B, p_max), np.nan)
        self.lbf = np.full((B, L), np.nan)
        self.kl = np.full((B, L), np.nan)
        self.Xb = np.zeros((L, B, n))  # fitted values of each effect, Xs·(alpha·mu)
        self.Xr = np.zeros((B, n))  # their sum
        self.elbo: list[list[float]] = [[] for _ in range(B)]
        self.niter = np.zeros(B, dtype=np.int64)
        self.converged = np.zeros(B, dtype=bool)

    def run(self, estimate_prior_variance: bool = True, estimate_residual_variance: bool = True,
            max_iter: int = 100, tol: float = 1e-3) -> None:
        """Sweep until every phenotype's ELBO rises by less than ``tol`` (or ``max_iter`` sweeps)."""
        last = np.full(len(self.Yc), -np.inf)
        running = np.arange(len(self.Yc))
        xtr = self._xt(self.Yc - self.Xr + self.Xb[0], running)
        for _ in range(max_iter):
            if running.size == 0:
                break
            for effect in range(self.L):
                xtr = self._update_effect(effect, running, xtr, estimate_prior_variance)
            er2 = self._expected_rss(running)
            s2 = self.sigma2[running]
            elbo = -0.5 * self.n * np.log(2 * np.pi * s2) - er2 / (2 * s2) - self.kl[running].sum(axis=1)
            for k, row in enumerate(running):
                self.elbo[row].append(float(elbo[k]))
            self.niter[running] += 1
            done = elbo - last[running] < tol
            self.converged[running[done]] = True
            last[running] = elbo
            running, er2, xtr = running[~done], er2[~done], xtr[~done]
            if estimate_residual_variance:
                self.sigma2[running] = np.maximum(self.sigma2_floor[running], er2 / self.n)

    def _expected_rss(self, rows: np.ndarray) -> np.ndarray:
        """(k,) E‖y − Xb‖² under the variational posterior, for the phenotypes ``rows``."""
        resid = self.Yc[rows] - self.Xr[rows]
        xb = self.Xb[:, rows]
        second = np.einsum("lbj,lbj->b", self.alpha[:, rows], self.mu2[:, rows])
        return np.einsum("ij,ij->i", resid, resid) - np.einsum("lbi,lbi->b", xb, xb) + self.d * second

    def _update_effect(self, effect: int, rows: np.ndarray, xtr: np.ndarray, estimate_prior_variance: bool
                       ) -> np.ndarray:
        """Single-effect regression of ``effect`` for ``rows``, given ``xtr`` (k, p_max), X' times their
        residuals without ``effect``. Returns the same for the next effect (the first after the last)."""
        inside = self.inside[rows]
        sigma2 = self.sigma2[rows]
        s2 = sigma2 / self.d  # sampling variance of the marginal effect estimates
        z2 = xtr * xtr / (self.d * sigma2)[:, None]
        V = self.V[rows, effect]
        if estimate_prior_variance:
            V = optimal_prior_variance(SingleEffectLikelihood(z2, inside, self.p[rows], s2), V)
        tau = V / (V + s2)
        lbf = 0.5 * tau[:, None] * z2 - 0.5 * np.log1p(V / s2)[:, None]
        lbf[~inside] = -np.inf
        top = lbf.max(axis=1)
        weights = np.exp(lbf - top[:, None])
        total = weights.sum(axis=1)
        alpha = weights / total[:, None]
        lbf_model = top + np.log(total / self.p[rows])
        post_var = V * sigma2 / (sigma2 + V * self.d)
        mu = (post_var / sigma2)[:, None] * xtr
        mu2 = post_var[:, None] + mu * mu
        b = alpha * mu
        self.kl[rows, effect] = (-lbf_model + np.einsum("ij,ij->i", xtr, b) / sigma2
                                 - self.d * np.einsum("ij,ij->i", alpha, mu2) / (2 * sigma2))
        self.V[rows, effect] = V
        self.alpha[effect, rows] = alpha
        self.mu[effect, rows] = mu
        self.mu2[effect, rows] = mu2
        lbf[~inside] = np.nan
        self.lbf_variable[effect, rows] = lbf
        self.lbf[rows, effect] = lbf_model
        return self._refit(effect, b, rows)

    def _group_slices(self, rows: np.ndarray):
        """(positions in ``rows``, column range) of each group that has rows in ``rows`` (sorted)."""
        for r0, r1, c0, c1 in self.groups:
            a, b = np.searchsorted(rows, (r0, r1))
            if b > a:
                yield slice(a, b), c0, c1

    def _xt(self, R: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """(k, p_max) ``X'r`` of each row's residual ``R`` (k, n) over its window (0 in the padding)."""
        out = np.empty((len(rows), self.inside.shape[1]))
        for part, c0, c1 in self._group_slices(rows):
            out[part] = self._gather(R[part] @ self.Xs[:, c0:c1], rows[part])
        return out

    def _gather(self, products: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Each row's window slots (k, p_max) out of products (k, group width) over its group's columns."""
        padded = np.zeros((products.shape[0], products.shape[1] + 1))
        padded[:, :-1] = products
        return np.take_along_axis(padded, self.group_cols[rows], axis=1)

    def _refit(self, effect: int, b: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Store ``Xs·b`` (the new fitted values of ``effect``, b (k, p_max)) and return X' times the residuals
        without the next effect. Group by group, so that both products read the group's genotypes while they
        are in cache."""
        next_effect = (effect + 1) % self.L
        out = np.empty((len(rows), self.inside.shape[1]))
        for part, c0, c1 in self._group_slices(rows):
            sub = rows[part]
            X = self.Xs[:, c0:c1]
            coef = np.zeros((len(sub), c1 - c0 + 1))
            np.put_along_axis(coef, self.group_cols[sub], b[part], axis=1)
            xb = coef[:, :-1] @ X.T
            self.Xr[sub] += xb - self.Xb[effect, sub]
            self.Xb[effect, sub] = xb
            R_next = self.Yc[sub] - self.Xr[sub] + self.Xb[next_effect, sub]
            out[part] = self._gather(R_next @ X, sub)
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
