"""The four FUSION prediction models (top1, lasso, enet, blup), each reproducing the tool FUSION calls.

Every model returns one weight per SNP of the window, for the counted allele, to be applied to genotypes
standardised over all samples of the phenotype (FUSION's ``scale(genos$bed)``, SD with divisor n − 1):

* **top1** — :func:`fit_top1`: marginal z-scores ``Zᵀy / √(n − 1)`` of every SNP (FUSION stores all of them;
  TWAS association keeps the largest |z|). For cross-validation FUSION predicts with the top SNP only, with
  weight ``Zᵀy / (n − 1)`` (:func:`fit_top1_cv`).
* **lasso** — :func:`fit_lasso`: PLINK 1.9 ``--lasso h2`` (Vattikuti et al.; see :func:`plink_lasso`).
* **enet** — :func:`fit_enet`: R ``cv.glmnet(alpha = 0.5, nfolds = 5, standardize = FALSE)`` at
  ``lambda.min`` (see :func:`glmnet` and :func:`cv_glmnet`).
* **blup** — :func:`fit_blup`: GEMMA ``-bslmm 2``, ridge regression on the raw dosages with the penalty
  from GEMMA's own REML (see :func:`gemma_blup`).

Inputs follow what each tool is given by FUSION: top1 and enet take the standardised matrix ``Z`` (n × m);
lasso and blup take raw dosages ``G`` (n × m, counted-allele dosage, NaN = missing) of the fitting samples,
because PLINK re-standardises them on those samples and GEMMA centres them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.linalg.blas import dtrsv

from .reml import RemlProblem

__all__ = [
    "CvGlmnet",
    "GlmnetPath",
    "cv_glmnet",
    "fit_blup",
    "fit_enet",
    "fit_lasso",
    "fit_top1",
    "fit_top1_cv",
    "gemma_blup",
    "glmnet",
    "plink_lasso",
    "standardize",
]


# ----------------------------------------------------------------------------------------------------------
# Genotype scaling
# ----------------------------------------------------------------------------------------------------------


def standardize(G: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """FUSION's genotype scaling: mean-impute missing calls, centre, divide by the sample SD (n − 1).

    Args:
        G: dosages (n × m), NaN = missing.

    Returns:
        ``(Z, mean, sd)``: ``Z`` (n × m) with monomorphic columns (sd = 0) set to 0, column means and SDs.
    """
    G = np.asarray(G, dtype=np.float64)
    miss = np.isnan(G)
    if miss.any():
        obs = (~miss).sum(axis=0)
        mean = np.divide(np.where(miss, 0.0, G).sum(axis=0), obs, out=np.zeros(G.shape[1]), where=obs > 0)
        G = np.where(miss, mean[None, :], G)
    mean = G.mean(axis=0)
    Z = G - mean[None, :]
    sd = np.sqrt((Z * Z).sum(axis=0) / max(G.shape[0] - 1, 1))
    poly = sd > 0
    Z[:, poly] /= sd[poly][None, :]
    Z[:, ~poly] = 0.0
    return Z, mean, sd


# ----------------------------------------------------------------------------------------------------------
# top1
# ----------------------------------------------------------------------------------------------------------


def fit_top1(Z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Marginal z-scores ``Zᵀy / √(n − 1)`` (m,) of standardised ``Z`` (n × m) and standardised ``y`` (n,)."""
    n = Z.shape[0]
    return Z.T @ y / math.sqrt(n - 1)


def fit_top1_cv(Z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Cross-validation top1: ``Zᵀy / (n − 1)`` kept only at the SNP with the largest square (first on ties)."""
    n = Z.shape[0]
    beta = Z.T @ y / (n - 1)
    out = np.zeros_like(beta)
    if beta.size:
        k = int(np.argmax(beta * beta))
        out[k] = beta[k]
    return out


# ----------------------------------------------------------------------------------------------------------
# enet: glmnet's gaussian path and cv.glmnet
# ----------------------------------------------------------------------------------------------------------
#
# This reproduces R ``glmnet(x, y, alpha, standardize = FALSE, intercept = TRUE)`` (gaussian, unit weights,
# no penalty factors or limits) step for step, so that coefficients agree to rounding:
#
# * scaling: ``x̃ = (x − x̄)/√n``, ``xv_j = Σ x̃²``, ``ỹ = (y − ȳ)/(√n·ys)`` with ``ys = sd_pop(y)``;
#   coefficients are returned as ``ys·a`` with intercept ``ȳ − Σ β x̄``;
# * λ (standardised scale): ``λ₁ = max|x̃ᵀỹ| / max(α, 1e-3) · r``, ``λ_{j+1} = λ_j · r``,
#   ``r = ratio^(1/(nlambda − 1))``, ratio = 0.01 when n < p else 1e-4; the first λ is "infinite" and is
#   reported as ``exp(2 log λ₁ − log λ₂)``; a user sequence is divided by ``ys``;
# * coordinate update ``u = g_k + a_k xv_k``, ``a_k ← S(u, αλ)/(xv_k + (1 − α)λ)``; a pass converges when
#   ``max xv_k Δa_k² < thresh`` (1e-7);
# * "covariance" mode (p < 500): a full pass visits every variable in index order; if it does not converge,
#   passes over the active set (entry order) run until convergence, then a full pass again; once an
#   active-set phase has run, every later λ starts with one;
# * "naive" mode (p ≥ 500): full passes visit only the strong set ``|g_j| > α(2λ − λ_prev)``; after a
#   converged full pass the other variables are checked (``|g_j| > αλ``) and join the strong set;
# * the path stops (from the 5th λ, never for a user sequence) when the explained deviance changes by less
#   than 1e-5 relatively, exceeds 0.999, or more than p + 1 coefficients are non-zero.
#
# Gradients ``g = x̃ᵀr`` are kept for every variable through Gram columns computed when a variable first
# enters (both modes; glmnet's naive mode recomputes them from residuals, which is the same arithmetic up
# to rounding). A pass is executed as one triangular solve: along a pass with no variable entering,
# leaving or changing sign, the Gauss–Seidel updates satisfy ``(xv_l + (1 − α)λ) δ_l + Σ_{i<l} C_li δ_i =
# g_l − (1 − α)λ a_l − σ_l αλ``; the solution is checked coordinate by coordinate, accepted up to the first
# coordinate whose soft-threshold case differs, which is then updated on its own, and the rest of the pass
# is solved again. The arithmetic is glmnet's up to floating-point rounding (≈1e-14 on the coefficients).

THRESH = 1e-7
NLAMBDA = 100
_FDEV = 1e-5
_DEVMAX = 0.999
_EPS_FLMIN = 1e-6
_BIG = 9.9e35
_MNLAM = 5
MAXIT = 100_000


def _lower_solve(T: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Solve ``T x = b`` for lower-triangular ``T`` (C-contiguous) with BLAS trsv (no Python-side checks)."""
    return dtrsv(T.T, b, lower=0, trans=1)


class _Phase:
    """Active-set passes of one elastic-net point (glmnet's inner loop), on the active variables only.

    ``C`` (s × s) is the Gram block of the active variables in entry order, ``a``/``g`` their coefficients
    and gradients (``g + C a`` stays constant while only these variables move). While no coordinate enters,
    leaves or changes sign, a pass solves ``T δ = b − N a`` (``T`` lower-triangular, see the module comment):
    :meth:`linear_block` runs a block of such passes and checks them afterwards; a pass in which some
    coordinate changes case is run by :meth:`exact_pass`, piecewise around the coordinates that change.
    """

    def __init__(self, C: np.ndarray, xv: np.ndarray, a: np.ndarray, g: np.ndarray, ab: float, dem: float):
        self.C = C
        self.lower = np.tril(C, -1)
        self.xv = xv
        self.s = a.shape[0]
        self.ab = ab
        self.dem = dem
        self.block = 4
        self._tris: dict[bytes, np.ndarray] = {}
        self.reset(a, g, ab, dem)

    def reset(self, a: np.ndarray, g: np.ndarray, ab: float, dem: float) -> None:
        """Continue with the same active set: new state; a new λ drops the cached systems."""
        self.a = a
        self.g = g
        self.pending = False
        self.changed = False
        self._key: bytes | None = None
        if ab != self.ab or dem != self.dem:
            self.ab, self.dem = ab, dem
            self._tris.clear()
            self.block = 4

    def _tri(self, nz: np.ndarray) -> np.ndarray:
        """``T`` of a whole pass for the zero/non-zero pattern ``nz`` (cached per pattern)."""
        key = nz.tobytes()
        T = self._tris.get(key)
        if T is None:
            T = self.lower * nz[:, None]
            T.flat[:: self.s + 1] = np.where(nz, self.xv + self.dem, 1.0)
            if len(self._tris) > 32:
                self._tris.clear()
            self._tris[key] = T
        return T

    def _system(self) -> None:
        """``T`` and the invariant right-hand side ``b = nz·(g + C a − σαλ)`` of the current sign pattern."""
        nz = self.a != 0.0
        key = nz.tobytes()
        if key != self._key:
            sigma = np.sign(self.a)
            self._T = self._tri(nz)
            self._base_a = self.a.copy()
            self._g_base = self.g.copy()
            self._b = np.where(nz, self.g + self.C @ self.a - sigma * self.ab, 0.0)
            self._nzf = nz.astype(np.float64)
            self._allnz = bool(nz.all())
            self._nz = nz
            self._sigma = sigma
            self._zero = np.flatnonzero(~nz)
            self._key = key

    def linear_block(self, thr: float, budget: int) -> tuple[int, bool]:
        """Run up to ``self.block`` Gauss–Seidel passes with the current sign pattern (one triangular solve
        each), then check them; returns (passes accepted, converged)."""
        self.pending = False
        self._system()
        T, b, C, dem = self._T, self._b, self.C, self.dem
        K = max(1, min(self.block, budget))
        X = np.empty((K + 1, self.s))
        X[0] = self.a
        if self._allnz:
            for i in range(K):
                X[i + 1] = X[i] + _lower_solve(T, b - C @ X[i] - dem * X[i])
        else:
            nzf = self._nzf
            for i in range(K):
                X[i + 1] = X[i] + _lower_solve(T, nzf * (b - C @ X[i] - dem * X[i]))
        X = X.T
        D = np.diff(X, axis=1)
        dlx = (self.xv[:, None] * D * D).max(axis=0)
        nz = self._nz
        bad = ~(self._sigma[nz][:, None] * X[nz, 1:] > 0.0).all(axis=0)
        if self._zero.size:
            Z = self._zero
            # gradient of each zero coordinate when its turn comes in pass t + 1
            gz = (self._g_base[Z][:, None] - self.C[Z] @ (X[:, :-1] - self._base_a[:, None])
                  - self.lower[Z] @ D)
            bad |= (np.abs(gz) > self.ab).any(axis=0)
        conv = dlx < thr
        first_bad = int(np.argmax(bad)) if bad.any() else K
        first_conv = int(np.argmax(conv)) if conv.any() else K
        if first_conv < first_bad:
            self._accept(X[:, first_conv + 1])
            return first_conv + 1, True
        self._accept(X[:, first_bad])
        if first_bad < K:
            self.pending = True
            self.block = 4
        else:
            self.block = min(self.block * 2, 64)
        return first_bad, False

    def _accept(self, a_new: np.ndarray) -> None:
        self.g = self._g_base - self.C @ (a_new - self._base_a)
        self.a = a_new.copy()

    def exact_pass(self) -> float:
        """One pass solved piecewise (exact for coordinates that enter, leave or change sign); returns dlx."""
        a, g, C, lower, xv, ab, dem = self.a, self.g, self.C, self.lower, self.xv, self.ab, self.dem
        s = self.s
        dlx = 0.0
        start = 0
        self.changed = False
        while start < s:
            aS = a[start:]
            gS = g[start:]
            nzm = aS != 0.0
            sigma = np.sign(aS)
            allnz = bool(nzm.all())
            if start == 0:
                T = self._tri(nzm)
            else:
                low = lower[start:, start:]
                T = low * nzm[:, None] if not allnz else low.copy()
                T.flat[:: s - start + 1] = np.where(nzm, xv[start:] + dem, 1.0)
            if allnz:
                delta = _lower_solve(T, gS - dem * aS - sigma * ab)
                # a non-zero coordinate keeps its case iff its new value keeps its sign
                bad = np.flatnonzero(sigma * (aS + delta) <= 0.0)
            else:
                delta = _lower_solve(T, np.where(nzm, gS - dem * aS - sigma * ab, 0.0))
                ok = sigma * (aS + delta) > 0.0
                zero = np.flatnonzero(~nzm)
                # a zero coordinate stays 0 iff its gradient at its turn is within ±αλ
                ok[zero] = np.abs(gS[zero] - lower[start + zero, start:] @ delta) <= ab
                bad = np.flatnonzero(~ok)
            acc = int(bad[0]) if bad.size else s - start
            if acc:
                d = delta[:acc]
                dlx = max(dlx, float(np.max(xv[start:start + acc] * d * d)))
                a[start:start + acc] += d
                g -= C[:, start:start + acc] @ d
            p = start + acc
            if p >= s:
                break
            ak, xvk, gk = float(a[p]), float(xv[p]), float(g[p])
            uu = gk + ak * xvk
            v = abs(uu) - ab
            new = math.copysign(v, uu) / (xvk + dem) if v > 0.0 else 0.0
            if new != ak:
                dd = new - ak
                a[p] = new
                dlx = max(dlx, xvk * dd * dd)
                g -= C[:, p] * dd
                self.changed = True
            start = p + 1
        return dlx


class _ElnetSolver:
    """Coordinate descent state of one path on glmnet-standardised data."""

    def __init__(self, Xs: np.ndarray, yt: np.ndarray, xv: np.ndarray, ju: np.ndarray, alpha: float,
                 naive: bool, thresh: float, maxit: int, sequential: bool = False):
        self.X = Xs
        self.m = Xs.shape[1]
        self.xv = xv
        self.ju = ju
        self.alpha = alpha
        self.naive = naive
        self.thr = thresh
        self.maxit = maxit
        self.sequential = sequential
        self.g = Xs.T @ yt
        self.g[~ju] = 0.0
        self.a = np.zeros(self.m)
        self.rsq = 0.0
        self.nlp = 0
        self.ia: list[int] = []  # active variables in entry order
        self.slot = np.full(self.m, -1, dtype=np.int64)  # column of each active variable in self.C
        self.C = np.zeros((self.m, min(self.m, 16)))  # Gram columns x̃ᵀx̃_k of active variables
        self.Cabs = np.zeros_like(self.C)  # their absolute values (bounds in full passes)
        self.iz = False
        self.strong = np.zeros(self.m, dtype=bool)
        self.gabs = np.abs(self.g)
        self._phase: _Phase | None = None

    # -- bookkeeping ------------------------------------------------------------------------------------
    def _enter(self, k: int) -> None:
        n_act = len(self.ia)
        if n_act == self.C.shape[1]:
            grown = np.zeros((self.m, min(self.m, 2 * n_act)))
            grown[:, :n_act] = self.C
            self.C = grown
            grown_abs = np.zeros_like(grown)
            grown_abs[:, :n_act] = self.Cabs
            self.Cabs = grown_abs
        col = self.X.T @ self.X[:, k]
        col[~self.ju] = 0.0
        col[k] = self.xv[k]
        self.C[:, n_act] = col
        self.Cabs[:, n_act] = np.abs(col)
        self.slot[k] = n_act
        self.ia.append(k)

    def _check_maxit(self) -> None:
        if self.nlp > self.maxit:
            raise RuntimeError(f"elastic net: no convergence within {self.maxit} coordinate-descent passes")

    def _scalar(self, k: int, ab: float, dem: float) -> float:
        """glmnet's update of coordinate k on the full arrays; returns xv_k Δ² (0 if unchanged)."""
        ak = float(self.a[k])
        xvk = float(self.xv[k])
        gk = float(self.g[k])
        u = gk + ak * xvk
        v = abs(u) - ab
        new = math.copysign(v, u) / (xvk + dem) if v > 0.0 else 0.0
        if new == ak:
            return 0.0
        if self.slot[k] < 0:
            self._enter(k)
        d = new - ak
        self.a[k] = new
        self.rsq += d * (2.0 * gk - d * xvk)
        self.g -= self.C[:, self.slot[k]] * d
        return xvk * d * d

    # -- full pass (every variable, or every strong variable, in index order) ------------------------------
    def _full_pass(self, ab: float, dem: float) -> float:
        self.nlp += 1
        allowed = self.strong if self.naive else self.ju
        if self.sequential:
            return self._full_pass_sequential(ab, dem, allowed)
        dlx = 0.0
        pos = 0
        m = self.m
        while pos < m:
            nz = np.flatnonzero(self.a[pos:])
            nz += pos
            nact = len(self.ia)
            if nz.size:
                slots = self.slot[nz]
                anz = self.a[nz]
                xvn = self.xv[nz]
                sigma = np.sign(anz)
                T = np.tril(self.C[nz[:, None], slots], -1)
                T.flat[:: nz.size + 1] = xvn + dem
                gn = self.g[nz]
                delta = _lower_solve(T, gn - dem * anz - sigma * ab)
                anew = anz + delta
                bad = np.flatnonzero(sigma * anew <= 0.0)  # a coordinate keeps its case iff it keeps its sign
                first_nz = int(nz[bad[0]]) if bad.size else m
                dfull = np.zeros(nact)
                dfull[slots] = delta
            else:
                first_nz = m
            # zero coordinates that may enter before first_nz: bound the drift of their gradient
            zmask = allowed[pos:first_nz] & (self.a[pos:first_nz] == 0.0)
            gseg = np.abs(self.g[pos:first_nz])
            if nz.size:
                gseg = gseg + self.Cabs[pos:first_nz, :nact] @ np.abs(dfull)
            cand = np.flatnonzero(zmask & (gseg > ab))
            first_z = m
            if cand.size:
                zidx = cand + pos
                gz = self.g[zidx]
                if nz.size:
                    before = np.searchsorted(nz, zidx)  # non-zero coordinates visited before each
                    contrib = np.cumsum(self.C[zidx][:, slots] * delta[None, :], axis=1)
                    picked = contrib[np.arange(zidx.size), np.maximum(before - 1, 0)]
                    gz = gz - np.where(before > 0, picked, 0.0)
                enter = np.flatnonzero(np.abs(gz) > ab)
                if enter.size:
                    first_z = int(zidx[enter[0]])
            stop = min(first_nz, first_z)
            if nz.size:
                acc = int(np.searchsorted(nz, stop))  # accepted non-zero coordinates (index < stop)
                if acc:
                    d = delta[:acc]
                    xa = xvn[:acc]
                    gvis = (xa + dem) * anew[:acc] + sigma[:acc] * ab - anz[:acc] * xa  # gradient at its turn
                    self.rsq += float(np.sum(d * (2.0 * gvis - d * xa)))
                    dlx = max(dlx, float(np.max(xa * d * d)))
                    self.a[nz[:acc]] = anz[:acc] + d
                    if acc < nz.size:
                        dfull[slots[acc:]] = 0.0
                    self.g -= self.C[:, :nact] @ dfull
            if stop >= m:
                break
            dlx = max(dlx, self._scalar(stop, ab, dem))
            pos = stop + 1
        return dlx

    def _full_pass_sequential(self, ab: float, dem: float, allowed: np.ndarray) -> float:
        dlx = 0.0
        pos = 0
        while pos < self.m:
            cand = allowed[pos:] & ((self.a[pos:] != 0.0) | (np.abs(self.g[pos:]) > ab))
            hit = np.flatnonzero(cand)
            if hit.size == 0:
                break
            k = pos + int(hit[0])
            dlx = max(dlx, self._scalar(k, ab, dem))
            pos = k + 1
        return dlx

    # -- active-set phase ---------------------------------------------------------------------------------
    def _partial(self, ab: float, dem: float, start_exact: bool = True) -> None:
        self.iz = True
        if self.sequential:
            while True:
                self.nlp += 1
                dlx = 0.0
                for k in list(self.ia):
                    dlx = max(dlx, self._scalar(k, ab, dem))
                if dlx < self.thr:
                    return
                self._check_maxit()
        A = np.array(self.ia, dtype=np.int64)
        s = A.size
        if s == 0:
            self.nlp += 1
            return
        ph = self._phase
        if ph is None or ph.s != s:
            ph = self._phase = _Phase(self.C[A][:, :s], self.xv[A], self.a[A].copy(), self.g[A].copy(), ab, dem)
        else:
            ph.reset(self.a[A].copy(), self.g[A].copy(), ab, dem)
        a0, g0 = ph.a.copy(), ph.g.copy()
        converged = False
        if start_exact:  # the first pass at a new λ is where coordinates usually change case
            self.nlp += 1
            converged = ph.exact_pass() < self.thr
        while not converged:
            self._check_maxit()
            if ph.changed:  # the sign pattern is still moving: another exact pass
                self.nlp += 1
                converged = ph.exact_pass() < self.thr
                continue
            passes, converged = ph.linear_block(self.thr, self.maxit - self.nlp + 1)
            self.nlp += passes
            if converged:
                break
            self._check_maxit()
            if passes == 0 or ph.pending:  # a coordinate changes case: one exact pass
                self.nlp += 1
                converged = ph.exact_pass() < self.thr
        change = ph.a - a0
        self.rsq += float(2.0 * change @ g0 - change @ (ph.C @ change))
        self.a[A] = ph.a
        self.g -= self.C[:, :s] @ change
        self.g[A] = g0 - ph.C @ change

    # -- one λ ----------------------------------------------------------------------------------------------
    def fit_point(self, lam: float, lam_prev: float) -> None:
        ab = lam * self.alpha
        dem = lam * (1.0 - self.alpha)
        if self.naive:
            tlam = self.alpha * (2.0 * lam - lam_prev)
            self.strong |= self.ju & (self.gabs > tlam)
        if self.iz:
            self._partial(ab, dem)
        while True:
            dlx = self._full_pass(ab, dem)
            if dlx < self.thr:
                if not self.naive:
                    return
                other = self.ju & ~self.strong
                self.gabs[other] = np.abs(self.g[other])
                new = other & (self.gabs > ab)
                if not new.any():
                    return
                self.strong |= new
                continue
            self._check_maxit()
            self._partial(ab, dem, start_exact=False)


@dataclass
class GlmnetPath:
    """Solutions along a λ path.

    Attributes:
        lambdas: λ on the scale of ``y`` (nlam,), decreasing.
        beta: coefficients (m, nlam) on the scale of ``X``; zero for constant columns.
        a0: intercepts (nlam,).
        dev_ratio: fraction of deviance explained (nlam,).
        npasses: coordinate-descent passes over the whole path.
    """

    lambdas: np.ndarray
    beta: np.ndarray
    a0: np.ndarray
    dev_ratio: np.ndarray
    npasses: int


class _PathStepper:
    """A glmnet path computed one λ at a time (so that cv.glmnet can stop early)."""

    def __init__(self, X: np.ndarray, y: np.ndarray, *, alpha: float, lambdas: np.ndarray | None,
                 nlambda: int, lambda_min_ratio: float | None, thresh: float, mode: str | None,
                 maxit: int, sequential: bool):
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64).ravel()
        n, m = X.shape
        if n != y.shape[0]:
            raise ValueError(f"X has {n} rows but y has {y.shape[0]} values")
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must be in [0, 1], got {alpha}")
        mode = mode or ("covariance" if m < 500 else "naive")
        if mode not in ("covariance", "naive"):
            raise ValueError(f"mode must be 'covariance' or 'naive', not {mode!r}")
        w = np.full(n, 1.0 / n)
        v = np.sqrt(w)
        ju = (X != X[0:1, :]).any(axis=0) if n else np.zeros(m, dtype=bool)
        if not ju.any():
            raise ValueError("all predictors are constant")
        self.xm = w @ X
        Xs = v[:, None] * (X - self.xm[None, :])
        Xs[:, ~ju] = 0.0
        xv = np.einsum("ij,ij->j", Xs, Xs)
        self.ym = float(w @ y)
        yt = v * (y - self.ym)
        self.ys = math.sqrt(float(yt @ yt))
        if self.ys == 0.0:
            raise ValueError("y is constant")
        self.solver = _ElnetSolver(Xs, yt / self.ys, xv, ju, alpha, mode == "naive", thresh, maxit,
                                   sequential)
        self.alpha = alpha
        self.user = lambdas is not None
        self.m = m
        if self.user:
            self.ulam = np.sort(np.asarray(lambdas, dtype=np.float64))[::-1] / self.ys
            self.nlam = int(self.ulam.shape[0])
            self.alf = 1.0
        else:
            ratio = (0.01 if n < m else 1e-4) if lambda_min_ratio is None else lambda_min_ratio
            if not 0.0 < ratio < 1.0:
                raise ValueError(f"lambda_min_ratio must be in (0, 1), got {ratio}")
            self.nlam = int(nlambda)
            self.alf = max(_EPS_FLMIN, ratio) ** (1.0 / (self.nlam - 1))
        self.lmax = float(np.max(np.abs(self.solver.g[ju]))) / max(alpha, 1e-3)
        self.lam = 0.0
        self.lam_out: list[float] = []
        self.a_out: list[np.ndarray] = []
        self.rsq_out: list[float] = []
        self.done = False

    def scaled_lambda(self, j: int) -> float:
        """λ_j on the standardised scale, computed as the path computes it (user sequence or geometric)."""
        if self.user:
            return float(self.ulam[j])
        if j == 0:
            return _BIG
        lam = self.lmax * self.alf
        for _ in range(j - 1):
            lam *= self.alf
        return lam

    def reported_lambdas(self) -> np.ndarray:
        """The whole λ sequence (y scale) this path reports if it runs to the end, known before fitting."""
        lam = np.array([self.scaled_lambda(j) for j in range(self.nlam)]) * self.ys
        if not self.user and lam.shape[0] > 2:
            lam[0] = math.exp(2 * math.log(lam[1]) - math.log(lam[2]))
        return lam

    def step(self) -> bool:
        """Fit the next λ; returns False once the path has ended (no point fitted)."""
        if self.done:
            return False
        m = len(self.lam_out)
        if m >= self.nlam:
            self.done = True
            return False
        s = self.solver
        lam_prev = self.lam
        if self.user:
            lam = float(self.ulam[m])
        elif m > 1:
            lam = self.lam * self.alf
        elif m == 0:
            lam = _BIG
        else:
            lam_prev = self.lmax
            lam = lam_prev * self.alf
        self.lam = lam
        rsq0 = s.rsq
        s.fit_point(lam, lam_prev)
        self.lam_out.append(lam)
        self.a_out.append(s.a.copy())
        self.rsq_out.append(s.rsq)
        if m + 1 >= min(_MNLAM, self.nlam) and not self.user:
            me = int(np.count_nonzero(s.a))
            change = math.inf if s.rsq == 0 else (s.rsq - rsq0) / s.rsq
            if me > self.m + 1 or change < _FDEV or s.rsq > _DEVMAX:
                self.done = True
        return True

    def lambdas_out(self) -> np.ndarray:
        lam = np.array(self.lam_out) * self.ys
        if not self.user and lam.shape[0] > 2:
            lam[0] = math.exp(2 * math.log(lam[1]) - math.log(lam[2]))
        return lam

    def beta(self, j: int) -> np.ndarray:
        return self.a_out[j] * self.ys

    def a0(self, j: int) -> float:
        return self.ym - float(self.xm @ self.beta(j))

    def result(self) -> GlmnetPath:
        beta = np.column_stack(self.a_out) * self.ys
        a0 = self.ym - self.xm @ beta
        return GlmnetPath(self.lambdas_out(), beta, a0, np.array(self.rsq_out), self.solver.nlp)


def glmnet(X: np.ndarray, y: np.ndarray, *, alpha: float = 0.5, lambdas: np.ndarray | None = None,
           nlambda: int = NLAMBDA, lambda_min_ratio: float | None = None, thresh: float = THRESH,
           mode: str | None = None, maxit: int = MAXIT, sequential: bool = False) -> GlmnetPath:
    """The elastic-net path of ``y`` (n,) on ``X`` (n × m), as ``glmnet(standardize = FALSE)`` computes it.

    Args:
        alpha: mixing (1 = lasso, 0 = ridge).
        lambdas: a user λ sequence (y scale; fitted in decreasing order), or None for glmnet's own path.
        nlambda, lambda_min_ratio: length and ratio of the own path (ratio: 0.01 if n < m else 1e-4).
        mode: "covariance" or "naive" (default: covariance when m < 500, as glmnet).
        sequential: run every coordinate update in Python instead of one triangular solve per pass
            (identical up to rounding; slower; for checks).
    """
    stepper = _PathStepper(X, y, alpha=alpha, lambdas=lambdas, nlambda=nlambda,
                           lambda_min_ratio=lambda_min_ratio, thresh=thresh, mode=mode, maxit=maxit,
                           sequential=sequential)
    while stepper.step():
        pass
    return stepper.result()


@dataclass
class CvGlmnet:
    """``cv.glmnet`` result.

    Attributes:
        lambdas: the full-data λ sequence (y scale) as far as fitted.
        cvm: mean squared CV error per λ (NaN beyond the last λ evaluated).
        index_min: index of ``lambda.min``.
        coef: coefficients (m,) of the full-data fit at ``lambda.min``; ``intercept`` its intercept.
        n_evaluated: number of λ evaluated (all of them unless the search stopped early).
    """

    lambdas: np.ndarray
    cvm: np.ndarray
    index_min: int
    coef: np.ndarray
    intercept: float
    n_evaluated: int

    @property
    def lambda_min(self) -> float:
        return float(self.lambdas[self.index_min])


def _lambda_interp(lam: np.ndarray, s: float) -> tuple[int, int, float]:
    """glmnet's ``lambda.interp``: (left, right, frac) so that the solution at ``s`` is
    ``frac·β[left] + (1 − frac)·β[right]`` on the decreasing path ``lam`` (clamped to its ends)."""
    k = lam.shape[0]
    if k == 1:
        return 0, 0, 1.0
    span = lam[0] - lam[k - 1]
    sfrac = (lam[0] - s) / span
    norm = (lam[0] - lam) / span
    sfrac = min(max(sfrac, norm.min()), norm.max())
    coord = float(np.interp(sfrac, norm, np.arange(1.0, k + 1.0)))
    left, right = math.floor(coord) - 1, math.ceil(coord) - 1
    if left == right or abs(norm[left] - norm[right]) < np.finfo(float).eps:
        return left, right, 1.0
    return left, right, (sfrac - norm[right]) / (norm[left] - norm[right])


def cv_glmnet(X: np.ndarray, y: np.ndarray, foldid: np.ndarray, *, alpha: float = 0.5,
              stop_rise: float | None = 0.01, stop_after: int = 2, sequential: bool = False,
              **kwargs) -> CvGlmnet:
    """``cv.glmnet(X, y, foldid = foldid, alpha = alpha, standardize = FALSE)``, type.measure "mse".

    As glmnet ≥ 4.0 does it: a path on all rows fixes the λ values; each fold fits its own path (its own
    λ sequence) on the other rows and predicts its held-out rows at the full-data λ values by glmnet's
    linear interpolation between path points (``lambda.interp``); the CV error ``cvm_j`` is the mean of the
    per-fold mean squared errors weighted by fold size, and ``lambda.min`` the largest λ with the smallest
    ``cvm``. Paths are fitted λ by λ, side by side.

    Args:
        X: (n × m); y: (n,); foldid: (n,) fold labels (any integers, each fold non-empty).
        stop_rise: stop once ``cvm`` has stayed more than this fraction above its minimum for
            ``stop_after`` consecutive λ: the deep, nearly unpenalised end of the path costs most of the
            coordinate descent and, past such a rise, does not come back to the minimum in practice.
            None fits the whole path as cv.glmnet does.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64).ravel()
    foldid = np.asarray(foldid)
    if foldid.shape[0] != X.shape[0]:
        raise ValueError(f"foldid has {foldid.shape[0]} entries for {X.shape[0]} rows")
    folds = np.unique(foldid)
    if folds.shape[0] < 2:
        raise ValueError("cross-validation needs at least 2 folds")
    conf = dict(alpha=alpha, lambdas=None, nlambda=kwargs.get("nlambda", NLAMBDA),
                lambda_min_ratio=kwargs.get("lambda_min_ratio"), thresh=kwargs.get("thresh", THRESH),
                mode=kwargs.get("mode"), maxit=kwargs.get("maxit", MAXIT), sequential=sequential)
    full = _PathStepper(X, y, **conf)
    lam_full = full.reported_lambdas()
    held = [foldid == f for f in folds]
    sizes = np.array([h.sum() for h in held], dtype=np.float64)
    subs = [_PathStepper(X[~h], y[~h], **conf) for h in held]
    sub_lams = [sub.reported_lambdas() for sub in subs]
    Xh = [X[h] for h in held]
    yh = [y[h] for h in held]
    cvm = np.full(full.nlam, np.nan)
    best = math.inf
    above = 0
    j = 0
    while full.step():
        s = float(lam_full[j])
        fold_mse = np.empty(len(subs))
        for i, sub in enumerate(subs):
            lam_i = sub_lams[i]
            below = np.flatnonzero(lam_i <= s)
            need = int(below[0]) if below.size else lam_i.shape[0] - 1
            while len(sub.lam_out) <= need and sub.step():
                pass
            path_lam = sub.lambdas_out() if sub.done else lam_i
            left, right, frac = _lambda_interp(path_lam, s)
            beta = sub.beta(left) * frac + sub.beta(right) * (1.0 - frac)
            a0 = sub.a0(left) * frac + sub.a0(right) * (1.0 - frac)
            pred = Xh[i] @ beta + a0
            fold_mse[i] = float(np.mean((yh[i] - pred) ** 2))
        cvm[j] = float(sizes @ fold_mse / sizes.sum())
        if cvm[j] < best:
            best = cvm[j]
        above = above + 1 if (stop_rise is not None and cvm[j] > best * (1.0 + stop_rise)) else 0
        j += 1
        if stop_rise is not None and above >= stop_after:
            break
    n_eval = j
    vals = cvm[:n_eval]
    ties = np.flatnonzero(vals <= np.min(vals))
    lam_fit = full.lambdas_out()
    index_min = int(ties[np.argmax(lam_fit[ties])])
    return CvGlmnet(lam_fit, cvm[:n_eval], index_min, full.beta(index_min), full.a0(index_min), n_eval)


def fit_enet(Z: np.ndarray, y: np.ndarray, foldid: np.ndarray, *, alpha: float = 0.5,
             stop_rise: float | None = 0.01, stop_after: int = 2) -> np.ndarray:
    """FUSION's enet weights (m,): ``cv.glmnet`` on the polymorphic columns of ``Z`` (n × m) with fold ids
    ``foldid`` (n,), coefficients at ``lambda.min`` (0 for constant columns; no intercept)."""
    Z = np.asarray(Z, dtype=np.float64)
    keep = Z.std(axis=0) > 0 if Z.shape[0] > 1 else np.zeros(Z.shape[1], dtype=bool)
    out = np.zeros(Z.shape[1])
    if not keep.any():
        return out
    cv = cv_glmnet(Z[:, keep], y, foldid, alpha=alpha, stop_rise=stop_rise, stop_after=stop_after)
    out[keep] = cv.coef
    return out


# ----------------------------------------------------------------------------------------------------------
# lasso: PLINK 1.9 --lasso
# ----------------------------------------------------------------------------------------------------------

_LASSO_NLAMBDA = 100
_LASSO_DELTA = 1e-4
_LASSO_DRAWS = 1000


def _plink_scale(G: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """PLINK's ``--lasso`` scaling: ``(g − mean)/(sd·√n)`` over the non-missing calls (sd with their count
    − 1), missing calls 0; returns the scaled polymorphic columns and the polymorphic mask."""
    G = np.asarray(G, dtype=np.float64)
    n = G.shape[0]
    obs = ~np.isnan(G)
    cnt = obs.sum(axis=0)
    Gz = np.where(obs, G, 0.0)
    mean = np.divide(Gz.sum(axis=0), cnt, out=np.zeros(G.shape[1]), where=cnt > 0)
    dev = np.where(obs, G - mean[None, :], 0.0)
    ss = (dev * dev).sum(axis=0)
    poly = (cnt > 1) & (ss > 1e-12 * np.maximum(cnt, 1))
    scale = np.zeros(G.shape[1])
    scale[poly] = 1.0 / (np.sqrt(ss[poly] / (cnt[poly] - 1)) * math.sqrt(n))
    return dev[:, poly] * scale[poly][None, :], poly


def plink_lasso(G: np.ndarray, y: np.ndarray, h2: float, *, seed: int | None = 0,
                draws: int = _LASSO_DRAWS) -> np.ndarray | None:
    """PLINK 1.9 ``--lasso h2``: effects (m,) per standardised counted-allele dosage, or None when PLINK
    writes no output (constant phenotype, no polymorphic SNP, or min λ ≥ max λ).

    Reproduced step by step (PLINK's ``lasso_bigmem``):

    * genotypes and phenotype scaled to ``(v − mean)/(sd·√n)`` (sd with divisor n − 1; missing calls 0);
    * ``λ_min``: ``draws`` (1,000) standard-normal vectors r, the median over them of ``max_j |x_jᵀ r|``,
      times ``√(1 − h2 + 1/n) / √n``. PLINK draws them from its clock-seeded generator (``--seed`` fixes
      it); here they come from NumPy's generator seeded with ``seed``, so runs are reproducible but not
      bit-identical to PLINK's (λ_min differs by the sampling error of that median, ≈1%);
    * ``λ_max = max_j |x_jᵀy|``, 100 values evenly spaced in log between them;
    * start from the marginal effects ``x_jᵀy``; at each λ, all variables are active again; sweeps in index
      order update ``b_j ← S(b_j + x_jᵀr, λ)`` (soft threshold, no division by ``x_jᵀx_j = (n − 1)/n``) and
      drop variables that reach 0; the λ ends when ``λ Σ|b| + ‖r‖²`` changes by less than 1e-4 (relative)
      between sweeps (from the second sweep on);
    * the effects at the last (smallest) λ are reported.

    Args:
        G: dosages (n × m) of the fitting samples (NaN = missing); y: phenotype (n,); h2: heritability.
    """
    G = np.asarray(G, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64).ravel()
    n, m = G.shape
    if not 0.0 <= h2 <= 1.0 + 1.0 / n:
        raise ValueError(f"lasso: h2 must be in [0, 1], got {h2}")
    ym = float(y.mean())
    yd = y - ym
    ss = float(yd @ yd)
    if n < 2 or ss <= 0.0:
        return None
    yp = yd / (math.sqrt(ss / (n - 1)) * math.sqrt(n))
    X, poly = _plink_scale(G)
    out = np.zeros(m)
    if not poly.any():
        return None
    rng = np.random.default_rng(seed)
    R = rng.standard_normal((draws, n), dtype=np.float32)  # single precision: only a median of maxima
    lam_min = float(np.median(np.abs(R @ X.astype(np.float32)).max(axis=1).astype(np.float64)))
    lam_min *= math.sqrt(1.0 - h2 + 1.0 / n) / math.sqrt(n)
    c = X.T @ yp
    lam_max = float(np.abs(c).max())
    if lam_min >= lam_max:
        return None
    out[poly] = _LassoSweeps(X, yp, c).run(lam_max, lam_min)
    return out


class _LassoSweeps:
    """PLINK's coordinate-descent sweeps, with one triangular solve per sweep (see :func:`plink_lasso`)."""

    def __init__(self, X: np.ndarray, y: np.ndarray, c: np.ndarray):
        self.G = X.T @ X
        self.y = y
        self.c = c
        self.m = X.shape[1]

    def run(self, lam_max: float, lam_min: float) -> np.ndarray:
        loghi, loglo = math.log(lam_max), math.log(lam_min)
        logdelta = (loghi - loglo) / (_LASSO_NLAMBDA - 1.0)
        b = self.c.copy()
        yy = float(self.y @ self.y)
        err_cur = 0.0
        for i in range(_LASSO_NLAMBDA):
            lam = math.exp(loghi - logdelta * i)
            nz = np.flatnonzero(b)
            g = self.c - self.G[:, nz] @ b[nz]  # Xᵀr, r = y − Xb
            active = np.ones(self.m, dtype=bool)
            it = 0
            while True:
                self._sweep(b, g, active, lam)
                nz = np.flatnonzero(b)
                bn = b[nz]
                rss = yy - 2.0 * float(self.c[nz] @ bn) + float(bn @ (self.G[nz[:, None], nz] @ bn))
                err_last, err_cur = err_cur, lam * float(np.abs(bn).sum()) + rss
                if it:
                    if (1.0 - min(err_last, err_cur) / max(err_last, err_cur)) < _LASSO_DELTA or err_cur != err_cur:
                        break
                it += 1
        return b

    def _sweep(self, b: np.ndarray, g: np.ndarray, active: np.ndarray, lam: float) -> None:
        """One sweep over the active variables in index order; updates b, g (= Xᵀr) and active in place."""
        G = self.G
        pos = 0
        m = self.m
        pieces = 0
        while pos < m:
            if pieces >= 3:  # many variables change case in this sweep: go one variable at a time
                self._sweep_sequential(b, g, active, lam, pos)
                return
            pieces += 1
            idx = np.flatnonzero(active[pos:])
            if idx.size == 0:
                return
            idx += pos
            nzm = b[idx] != 0.0
            sigma = np.sign(b[idx])
            nz = idx[nzm]
            # non-zero variables keep their sign: δ_l + Σ_{i<l} G_li δ_i = g_l − σ_l λ (unit lower system)
            if nz.size:
                low = np.tril(G[nz[:, None], nz], -1)
                T = low.copy()
                T.flat[:: nz.size + 1] = 1.0
                delta = _lower_solve(T, g[nz] - sigma[nzm] * lam)
                z = b[nz] + g[nz] - low @ delta  # b + gradient at the variable's turn
                bad = np.flatnonzero(~(sigma[nzm] * z > lam))
                first_nz = int(nz[bad[0]]) if bad.size else m
            else:
                first_nz = m
            # zero variables (first sweep of a λ): enter when |gradient at their turn| > λ
            zidx = idx[~nzm]
            zidx = zidx[zidx < first_nz]
            first_z = m
            if zidx.size:
                gz = g[zidx]
                if nz.size:
                    before = np.searchsorted(nz, zidx)
                    if before.any():
                        contrib = np.cumsum(G[zidx[:, None], nz] * delta[None, :], axis=1)
                        picked = contrib[np.arange(zidx.size), np.maximum(before - 1, 0)]
                        gz = gz - np.where(before > 0, picked, 0.0)
                enter = np.flatnonzero(np.abs(gz) > lam)
                if enter.size:
                    first_z = int(zidx[enter[0]])
                    stay_zero = zidx[: enter[0]]
                else:
                    stay_zero = zidx
                active[stay_zero] = False  # visited, still 0: removed from this λ's active set
            stop = min(first_nz, first_z)
            if nz.size:
                acc = int(np.searchsorted(nz, stop))
                if acc:
                    d = delta[:acc]
                    b[nz[:acc]] += d
                    g -= G[:, nz[:acc]] @ d
            if stop >= m:
                return
            # the variable whose case changes: PLINK's scalar update
            self._scalar_update(b, g, active, lam, stop)
            pos = stop + 1


    def _scalar_update(self, b: np.ndarray, g: np.ndarray, active: np.ndarray, lam: float, j: int) -> None:
        """PLINK's update of variable ``j``: soft-threshold ``b[j] + g[j]`` at λ, drop it from the active set at
        0, and move the gradient by the change."""
        old = float(b[j])
        zz = old + float(g[j])
        new = zz - lam if zz > lam else (zz + lam if zz < -lam else 0.0)
        b[j] = new
        if new == 0.0:
            active[j] = False
        if new != old:
            g -= self.G[:, j] * (new - old)

    def _sweep_sequential(self, b: np.ndarray, g: np.ndarray, active: np.ndarray, lam: float, pos: int) -> None:
        """The rest of a sweep from ``pos``, one variable at a time (PLINK's arithmetic)."""
        m = self.m
        while pos < m:
            seg = active[pos:] & ((b[pos:] != 0.0) | (np.abs(g[pos:]) > lam))
            hit = np.flatnonzero(seg)
            stop = pos + int(hit[0]) if hit.size else m
            # visited variables at 0 with |gradient| ≤ λ stay 0 and leave the active set
            skipped = np.flatnonzero(active[pos:stop]) + pos
            active[skipped] = False
            if stop >= m:
                return
            self._scalar_update(b, g, active, lam, stop)
            pos = stop + 1


def fit_lasso(G: np.ndarray, y: np.ndarray, h2: float, *, seed: int | None = 0) -> np.ndarray:
    """FUSION's lasso weights (m,): PLINK ``--lasso h2`` effects, 0 for SNPs PLINK does not report, all NaN
    when PLINK writes no output (FUSION then stores NA; in cross-validation it predicts 0)."""
    eff = plink_lasso(G, y, h2, seed=seed)
    if eff is None:
        return np.full(np.asarray(G).shape[1], np.nan)
    return eff


# ----------------------------------------------------------------------------------------------------------
# blup: GEMMA -bslmm 2
# ----------------------------------------------------------------------------------------------------------

_GEMMA_LAMBDA = (1e-5, 1e5)


def gemma_blup(G: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """GEMMA ``-bslmm 2`` (ridge regression / GBLUP): SNP effects (m,) per counted-allele dosage and λ.

    GEMMA centres each SNP (missing calls at the mean), builds ``K = X_c X_cᵀ / p``, estimates
    ``λ = σ²_g/σ²_e`` by REML with an intercept (bounded to [1e-5, 1e5]) and reports
    ``α = (λ/p) X_cᵀ (λK + I)⁻¹ (y − ȳ)``, which is ridge regression of ``y`` on ``X_c`` with penalty
    ``p/λ = p(1 − h²)/h²`` (h² the REML heritability on that kernel). Computed from one eigendecomposition
    of the smaller Gram matrix of ``X_c``.

    Args:
        G: dosages (n × m) of the fitting samples (NaN = missing); y: phenotype (n,).
    """
    G = np.asarray(G, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64).ravel()
    n, p = G.shape
    obs = ~np.isnan(G)
    cnt = obs.sum(axis=0)
    mean = np.divide(np.where(obs, G, 0.0).sum(axis=0), cnt, out=np.zeros(p), where=cnt > 0)
    Xc = np.where(obs, G - mean[None, :], 0.0)
    yc = y - y.mean()
    if n <= p:
        e, U = np.linalg.eigh(Xc @ Xc.T)
        XtU = Xc.T @ U
    else:
        e, V = np.linalg.eigh(Xc.T @ Xc)
        sv = np.sqrt(np.clip(e, 0.0, None))
        pos = sv > 0
        U = np.zeros((n, e.size))
        U[:, pos] = Xc @ V[:, pos] / sv[pos][None, :]
        XtU = V * sv[None, :]
    tol = 1e-10 * max(float(e.max(initial=0.0)), 1e-300)
    pos = e > tol
    yt = U[:, pos].T @ yc
    reml = RemlProblem.from_spectrum(e[pos] / p, yt * yt, rest=max(float(yc @ yc - yt @ yt), 0.0),
                                     n_zero=(n - 1) - int(pos.sum()), n=n, k=1)
    h = reml.maximise()
    lam = h / (1.0 - h) if h < 1.0 else _GEMMA_LAMBDA[1]
    lam = min(max(lam, _GEMMA_LAMBDA[0]), _GEMMA_LAMBDA[1])
    alpha = (lam / p) * (XtU[:, pos] @ (yt / (lam * e[pos] / p + 1.0)))
    return alpha, lam


def fit_blup(G: np.ndarray, y: np.ndarray) -> np.ndarray:
    """FUSION's blup weights (m,): GEMMA ``-bslmm 2`` effects of the raw dosages ``G`` (n × m), which FUSION
    applies to standardised genotypes unchanged."""
    return gemma_blup(G, y)[0]
