"""FUSION's K-fold cross-validation of the prediction models.

FUSION (``FUSION.compute_weights.R``) permutes the samples once (``set.seed(1); sample(N)``), cuts the
permuted order into K contiguous folds (R's ``cut(seq(1, N), breaks = K)``: sizes differ by at most one),
and for each fold fits every model on the other samples and predicts the held-out ones:

* the phenotype is the one standardised over all samples; the training part is standardised again
  (``scale(cv.train[, 3])``) for top1 and enet; PLINK (lasso) standardises it itself; GEMMA (blup) gets the
  all-sample standardised values of the training samples, only centred;
* genotypes are **not** re-standardised: top1 and enet are fitted on, and every model predicts from, the
  genotypes standardised over all samples; PLINK re-standardises the raw training genotypes itself and
  GEMMA centres them (so lasso and blup take raw dosages, see :mod:`.models`);
* the held-out prediction is ``Z_test @ w`` without intercept (NA weights count as 0);
* lasso uses the all-sample h² (estimated or ``--hsq_set``) in every fold; blup estimates its own
  variance ratio per fold (GEMMA's REML);
* top1 predicts with the single SNP of largest ``(Zᵀy)²`` and weight ``Zᵀy/(n − 1)``;
* FUSION quirk, reproduced on request (``plink_flip``): PLINK re-assigns A1 to each training fold's
  minor allele, so lasso/blup effects of SNPs near 50% frequency can enter with the wrong sign
  (:func:`plink_fold_flip`). By default the effects are applied with their correct sign.

Performance per model: ``lm(pheno ~ pred)`` over all samples, the **adjusted R²** and the p-value of the
slope (t-test, n − 2 df); NaN when the predictions are constant.

Here the permutation is ``numpy.random.default_rng(seed).permutation(n)`` unless FUSION's own split is
given (``order``); enet's inner fold ids likewise (``inner_foldid``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from . import models as M

__all__ = ["CvResult", "CvSplit", "SeededFoldid", "cut_folds", "cross_validate", "cv_performance", "default_inner_foldid"]

MODELS = ("top1", "lasso", "enet", "blup")

InnerFoldid = Callable[[int, np.ndarray], np.ndarray]
"""``inner_foldid(outer_fold, train_samples) -> fold ids``: enet's inner CV fold ids (values 1..5) for the
training rows ``train_samples`` (sample indices, in training-matrix order); ``outer_fold`` is 1..K, or 0 for
the fit on all samples."""


def cut_folds(n: int, k: int) -> np.ndarray:
    """Fold (1..k) of positions 1..n like R ``cut(seq(1, n), breaks = k, labels = FALSE)`` (n,)."""
    if k < 2 or k > n:
        raise ValueError(f"cross-validation needs 2 ≤ K ≤ n folds (K = {k}, n = {n})")
    pos = np.arange(1, n + 1, dtype=np.float64)
    by = (n - 1.0) / k
    inner = 1.0 + by * np.arange(1, k)  # right-closed intervals: pos in (b_{j-1}, b_j]
    return 1 + np.searchsorted(inner, pos, side="left")


@dataclass(frozen=True)
class CvSplit:
    """A K-fold split: ``order`` (n,) is the sample permutation, ``folds`` (n,) the fold (1..K) of each
    position of ``order``."""

    order: np.ndarray
    folds: np.ndarray

    @classmethod
    def fusion(cls, n: int, k: int = 5, *, seed: int | None = 1, order: Sequence[int] | None = None) -> CvSplit:
        """FUSION's split of n samples: ``order`` (0-based sample indices) if given, else a seeded NumPy
        permutation; contiguous folds of the permuted order."""
        if order is None:
            perm = np.random.default_rng(seed).permutation(n)
        else:
            perm = np.asarray(order, dtype=np.int64)
            if perm.shape != (n,) or not np.array_equal(np.sort(perm), np.arange(n)):
                raise ValueError(f"order must be a permutation of 0..{n - 1}")
        return cls(perm, cut_folds(n, k))

    @property
    def k(self) -> int:
        return int(self.folds.max())

    def test(self, i: int) -> np.ndarray:
        return self.order[self.folds == i]

    def train(self, i: int) -> np.ndarray:
        return self.order[self.folds != i]


class SeededFoldid:
    """Inner fold ids like ``cv.glmnet``'s ``sample(rep(seq(nfolds), length = n))``, drawn from a NumPy
    generator seeded by ``(seed, outer fold)`` (picklable, so it travels to worker processes)."""

    def __init__(self, seed: int | None = 1, nfolds: int = 5):
        self.seed = seed
        self.nfolds = nfolds

    def __call__(self, outer: int, train: np.ndarray) -> np.ndarray:
        rng = np.random.default_rng(None if self.seed is None else [self.seed, outer])
        return rng.permutation(np.resize(np.arange(1, self.nfolds + 1), train.shape[0]))


def default_inner_foldid(seed: int | None = 1, nfolds: int = 5) -> InnerFoldid:
    """The default enet inner fold ids (:class:`SeededFoldid`)."""
    return SeededFoldid(seed, nfolds)


def cv_performance(y: np.ndarray, pred: np.ndarray) -> tuple[float, float]:
    """Adjusted R² and slope p-value of ``lm(y ~ pred)``; (NaN, NaN) when ``pred`` is constant or not finite."""
    y = np.asarray(y, dtype=np.float64)
    pred = np.asarray(pred, dtype=np.float64)
    n = y.shape[0]
    if n < 3 or not np.isfinite(pred).all():
        return float("nan"), float("nan")
    pc = pred - pred.mean()
    sxx = float(pc @ pc)
    if sxx <= 0.0 or np.std(pred) == 0.0:
        return float("nan"), float("nan")
    yc = y - y.mean()
    syy = float(yc @ yc)
    beta = float(pc @ yc) / sxx
    rss = max(syy - beta * float(pc @ yc), 0.0)
    r2 = 1.0 - rss / syy if syy > 0 else float("nan")
    adj = 1.0 - (1.0 - r2) * (n - 1) / (n - 2)
    se = np.sqrt(rss / (n - 2) / sxx)
    if se == 0.0:
        return adj, 0.0
    t = beta / se
    pval = float(2.0 * stats.t.sf(abs(t), n - 2))
    return float(adj), pval


@dataclass
class CvResult:
    """Cross-validated predictions and performance.

    Attributes:
        predictions: model -> (n,) held-out predictions, in sample order.
        r2: model -> adjusted R²; pval: model -> slope p-value (NaN when the predictions are constant).
    """

    predictions: dict[str, np.ndarray] = field(default_factory=dict)
    r2: dict[str, float] = field(default_factory=dict)
    pval: dict[str, float] = field(default_factory=dict)


def _scale(v: np.ndarray) -> np.ndarray:
    sd = v.std(ddof=1)
    return (v - v.mean()) / sd if sd > 0 else v - v.mean()


def plink_fold_flip(G: np.ndarray, train: np.ndarray) -> np.ndarray:
    """SNPs (bool, m) whose lasso/blup effects FUSION applies with the wrong sign in fold ``train``.

    FUSION writes a PLINK file set per training fold; PLINK 1.9 makes A1 the allele with frequency ≤ ½ in
    the samples it keeps, while the genotypes FUSION predicts from keep A1 = the minor allele over all
    samples. PLINK (lasso) and GEMMA (blup) report effects for the fold's A1 and FUSION reads them by SNP
    name, so a SNP whose all-sample minor allele has frequency > ½ in the fold enters with the sign flipped.
    """
    af_all = np.nanmean(G, axis=0) / 2.0
    af_train = np.nanmean(G[train], axis=0) / 2.0
    a1_freq_train = np.where(af_all <= 0.5, af_train, 1.0 - af_train)
    return a1_freq_train > 0.5


def fold_weights(models: Sequence[str], Z: np.ndarray, G: np.ndarray, y: np.ndarray, train: np.ndarray, *,
                 h2: float, outer: int, inner_foldid: InnerFoldid, lasso_seed: int | None,
                 plink_flip: bool = False) -> dict[str, np.ndarray]:
    """Weights (m,) of each model fitted on the ``train`` samples as FUSION does inside cross-validation.

    Args:
        Z: all-sample standardised genotypes (n × m); G: raw dosages (n × m, NaN = missing);
        y: all-sample standardised phenotype (n,); train: training sample indices in FUSION's order.
        plink_flip: reproduce FUSION's sign error on lasso/blup effects (:func:`plink_fold_flip`).
    """
    yt = y[train]
    ys = _scale(yt)
    flip = plink_fold_flip(G, train) if plink_flip and ("lasso" in models or "blup" in models) else None
    out: dict[str, np.ndarray] = {}
    for name in models:
        if name == "top1":
            w = M.fit_top1_cv(Z[train], ys)
        elif name == "enet":
            w = M.fit_enet(Z[train], ys, inner_foldid(outer, train))
        elif name == "lasso":
            w = M.fit_lasso(G[train], ys, h2, seed=lasso_seed)
        elif name == "blup":
            w = M.fit_blup(G[train], yt)
        else:
            raise ValueError(f"unknown model {name!r}; choose from {', '.join(MODELS)}")
        if flip is not None and name in ("lasso", "blup"):
            w = np.where(flip, -w, w)
        out[name] = w
    return out


def cross_validate(models: Sequence[str], Z: np.ndarray, G: np.ndarray, y: np.ndarray, split: CvSplit, *,
                   h2: float, inner_foldid: InnerFoldid | None = None, lasso_seed: int | None = 0,
                   plink_flip: bool = False) -> CvResult:
    """FUSION's K-fold cross-validation of ``models`` (see the module docstring).

    Args:
        Z: all-sample standardised genotypes (n × m); G: raw dosages (n × m);
        y: all-sample standardised phenotype (n,); split: the folds; h2: heritability for lasso.
    """
    inner = inner_foldid or default_inner_foldid()
    n = y.shape[0]
    preds = {name: np.zeros(n) for name in models}
    for i in range(1, split.k + 1):
        train, test = split.train(i), split.test(i)
        weights = fold_weights(models, Z, G, y, train, h2=h2, outer=i, inner_foldid=inner,
                               lasso_seed=lasso_seed, plink_flip=plink_flip)
        for name, w in weights.items():
            preds[name][test] = Z[test] @ np.nan_to_num(w, nan=0.0)
    res = CvResult(predictions=preds)
    for name in models:
        res.r2[name], res.pval[name] = cv_performance(y, preds[name])
    return res
