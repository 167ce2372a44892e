"""cis-QTL mapping: nominal pass and permutation pass (tensorQTL / FastQTL definitions).

Inputs are plain arrays for one or more chromosomes (see :class:`CisProblem`). Genotypes and the
phenotype are residualised on the covariates; correlations are converted to t statistics with
``dof = n − 2 − k``. In the permutation pass each permuted phenotype is residualised again (as tensorQTL
and FastQTL do), which we obtain without forming the residuals: for unit residual genotypes ĝ (orthogonal
to the covariates) ``corr(ĝ, res(πy)) = ĝ·πy_c / ‖res(πy_c)‖`` and ``‖res(πy_c)‖² = ‖y_c‖² − ‖Qᵀπy_c‖²``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from .beta import beta_approximation
from .genotype_stats import allele_summaries, impute_mean
from .residualize import Residualizer, center_normalize
from .stats import nlog10p_from_t, pval_from_r2, slope_and_se, tstat_from_r

#: Columns of the permutation-pass table, in tensorQTL's order.
PERMUTATION_COLUMNS = [
    "phenotype_id", "num_var", "beta_shape1", "beta_shape2", "true_df", "pval_true_df", "variant_id",
    "start_distance", "end_distance", "ma_samples", "ma_count", "af", "pval_nominal", "slope", "slope_se",
    "pval_perm", "pval_beta",
]
#: Columns of the nominal-pass table (tensorQTL ``cis_qtl_pairs`` Parquet files), with ``nlog10p``: −log10 of
#: ``pval_nominal`` computed from the t statistic, finite where the p-value underflows float64 (tensorQTL's
#: ``--logp`` value, in a column of its own).
NOMINAL_COLUMNS = ["phenotype_id", "variant_id", "start_distance", "af", "ma_samples", "ma_count",
                   "pval_nominal", "slope", "slope_se", "nlog10p"]

_PERM_CHUNK = 2048  # permutations per GEMM block: keeps the (variants × block) result in cache


@dataclass
class CisProblem:
    """The arrays of a cis mapping problem; samples are the columns of every matrix, in the same order.

    Attributes:
        genotypes: (m, n) ALT dosages, float, NaN for missing (mean-imputed here).
        variant_ids: (m,) variant ids.
        variant_chrom: (m,) chromosome keys (see :func:`qtlatlas.io.chromosomes.chrom_key`).
        variant_pos: (m,) 1-based positions.
        phenotypes: (p, n) phenotype values (normalised), no NaN.
        phenotype_ids: (p,) ids.
        phenotype_chrom: (p,) chromosome keys.
        phenotype_start: (p,) 1-based start of the phenotype (TSS for TSS-anchored BEDs: BED start + 1).
        phenotype_end: (p,) 1-based end (BED end; equals start for TSS-anchored BEDs).
        covariates: (n, k) covariates or None.
    """

    genotypes: np.ndarray
    variant_ids: np.ndarray
    variant_chrom: np.ndarray
    variant_pos: np.ndarray
    phenotypes: np.ndarray
    phenotype_ids: np.ndarray
    phenotype_chrom: np.ndarray
    phenotype_start: np.ndarray
    phenotype_end: np.ndarray
    covariates: np.ndarray | None = None


class PreparedCis:
    """Residualised, normalised genotypes and phenotypes and each phenotype's cis window.

    Attributes:
        G: (m, n) float64 unit-norm residual genotypes (zero rows for constant variants).
        G32: float32 copy of ``G`` for the permutation GEMMs.
        g_norm: (m,) norms of the centred residual genotypes (0 for constant variants).
        Y: (p, n) float64 unit-norm residual phenotypes; ``y_norm`` (p,) their norms.
        Yc: (p, n) centred (not residualised) phenotypes, used for permutations; ``yc_norm2`` (p,).
        lo, hi: (p,) window of each phenotype as a half-open range of variant indices.
    """

    def __init__(self, problem: CisProblem, window: int, maf_threshold: float = 0.0, min_mac: int = 0):
        order = np.lexsort((problem.variant_pos, problem.variant_chrom))
        G = impute_mean(np.asarray(problem.genotypes)[order].astype(np.float64, copy=False))
        summaries = allele_summaries(G)
        maf = np.minimum(summaries["af"], 1 - summaries["af"])
        keep = maf >= maf_threshold if maf_threshold > 0 else np.ones(len(maf), dtype=bool)
        if min_mac > 0:  # minor-allele copies among these samples (tensorQTL's ma_count)
            keep &= summaries["ma_count"] >= min_mac
        order, G = order[keep], G[keep]
        self.summaries = {k: v[keep] for k, v in summaries.items()}
        self.variant_ids = np.asarray(problem.variant_ids)[order]
        self.variant_chrom = np.asarray(problem.variant_chrom)[order]
        self.variant_pos = np.asarray(problem.variant_pos, dtype=np.int64)[order]
        n = G.shape[1]
        self.n_samples = n
        self.residualizer = Residualizer(problem.covariates, n_samples=n)
        self.dof = self.residualizer.dof
        constant = G.max(axis=1) == G.min(axis=1)
        self.dosages32 = G.astype(np.float32)  # imputed dosages, for dosage covariates (independent pass)
        self.row_class = _duplicate_classes(self.dosages32)
        self.G, self.g_norm = _residualize_normalize_inplace(self.residualizer, G, constant)
        self.G32 = self.G.astype(np.float32)
        self.covariates = None if problem.covariates is None else np.asarray(problem.covariates, dtype=np.float64)
        P = np.asarray(problem.phenotypes, dtype=np.float64)
        self.Y, self.y_norm = center_normalize(self.residualizer.transform(P))
        self.Yc = P - P.mean(axis=1, keepdims=True)
        self.yc_norm2 = np.einsum("ij,ij->i", self.Yc, self.Yc)
        self.Qt32 = np.ascontiguousarray(self.residualizer.Q.T, dtype=np.float32)
        self.phenotype_ids = np.asarray(problem.phenotype_ids)
        self.start = np.asarray(problem.phenotype_start, dtype=np.int64)
        self.end = np.asarray(problem.phenotype_end, dtype=np.int64)
        self.lo, self.hi = _cis_windows(self.variant_chrom, self.variant_pos, np.asarray(problem.phenotype_chrom),
                                        self.start, self.end, window)

    def distinct_rows(self, i: int) -> np.ndarray:
        """Variant indices of phenotype ``i``'s window without duplicated genotypes (up to allele flip) and
        without monomorphic ones: duplicates have the same |correlation| with any phenotype and monomorphic
        variants none, so the window's maximum is unchanged."""
        lo, hi = self.lo[i], self.hi[i]
        _, first = np.unique(self.row_class[lo:hi], return_index=True)
        rows = lo + np.sort(first)
        return rows[self.g_norm[rows] > 0]

    @property
    def num_var(self) -> np.ndarray:
        """Variants in each phenotype's window, monomorphic ones included (as the nominal pass reports them)."""
        return self.hi - self.lo

    @cached_property
    def num_polymorphic(self) -> np.ndarray:
        """Polymorphic variants in each window: tensorQTL's ``num_var`` of the permutation table."""
        cum = np.concatenate([[0], np.cumsum(self.g_norm > 0)])
        return cum[self.hi] - cum[self.lo]

    def nominal_r(self, i: int) -> np.ndarray:
        """Correlations (float64) of phenotype ``i`` with each variant of its window."""
        return self.G[self.lo[i]:self.hi[i]] @ self.Y[i]


def _duplicate_classes(G: np.ndarray) -> np.ndarray:
    """Class label (m,) shared by variants whose dosage rows (m, n) are identical or mirror images (2 − g)."""
    # orient each row canonically: the orientation whose first value differing from its mirror is smaller
    diff = G != 1.0  # g and 2 − g differ exactly where g ≠ 1
    first = np.where(diff.any(axis=1), diff.argmax(axis=1), 0)
    rows = np.arange(len(G))
    flip = G[rows, first] > 1.0
    canonical = G.copy()
    canonical[flip] = 2.0 - canonical[flip]
    _, labels = np.unique(canonical, axis=0, return_inverse=True)
    return labels.ravel()


def _residualize_normalize_inplace(res: Residualizer, G: np.ndarray, constant: np.ndarray,
                                   block: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """Residualise and unit-normalise the rows of float64 ``G`` (m, n) in place, in blocks of rows to bound
    temporaries; constant rows become zero with norm 0. Returns ``(G, norms)``."""
    norms = np.zeros(len(G))
    for s in range(0, len(G), block):
        part = res.transform(G[s:s + block])
        part -= part.mean(axis=1, keepdims=True)
        nrm = np.sqrt(np.einsum("ij,ij->i", part, part))
        dead = constant[s:s + block] | (nrm == 0)
        nrm[dead] = 0.0
        part /= np.where(dead, 1.0, nrm)[:, None]
        part[dead] = 0.0
        G[s:s + block] = part
        norms[s:s + block] = nrm
    return G, norms


def _cis_windows(v_chrom: np.ndarray, v_pos: np.ndarray, p_chrom: np.ndarray, start: np.ndarray, end: np.ndarray,
                 window: int) -> tuple[np.ndarray, np.ndarray]:
    """Half-open variant index ranges with ``start − window ≤ pos ≤ end + window`` on the same chromosome.
    Variants must be sorted by (chrom, pos)."""
    lo = np.zeros(len(p_chrom), dtype=np.int64)
    hi = np.zeros(len(p_chrom), dtype=np.int64)
    for chrom in np.unique(p_chrom):
        vi = np.flatnonzero(v_chrom == chrom)
        pi = np.flatnonzero(p_chrom == chrom)
        if vi.size == 0:
            continue
        pos = v_pos[vi]
        lo[pi] = vi[0] + np.searchsorted(pos, start[pi] - window, side="left")
        hi[pi] = vi[0] + np.searchsorted(pos, end[pi] + window, side="right")
    return lo, hi


# --------------------------------------------------------------------------------------------------
# nominal pass
# --------------------------------------------------------------------------------------------------


def nominal_pass(prep: PreparedCis, phenotypes: np.ndarray | None = None) -> pd.DataFrame:
    """Every variant–phenotype pair in cis, with tensorQTL's ``cis_qtl_pairs`` columns.

    Constant (monomorphic) variants are reported with NaN ``pval_nominal``, ``slope``, ``slope_se`` and
    ``nlog10p``.
    """
    idx = np.arange(len(prep.phenotype_ids)) if phenotypes is None else np.asarray(phenotypes)
    parts = []
    for i in idx:
        lo, hi = prep.lo[i], prep.hi[i]
        if hi <= lo:
            continue
        r = prep.nominal_r(i)
        g_norm = prep.g_norm[lo:hi]
        pval = pval_from_r2(r * r, prep.dof)
        slope, se = slope_and_se(r, prep.y_norm[i], g_norm, prep.dof)
        pval = np.where(g_norm > 0, pval, np.nan)
        nlog10p = np.where(g_norm > 0, nlog10p_from_t(tstat_from_r(r, prep.dof), prep.dof), np.nan)
        parts.append(pd.DataFrame({
            "phenotype_id": np.repeat(prep.phenotype_ids[i], hi - lo),
            "variant_id": prep.variant_ids[lo:hi],
            "start_distance": (prep.variant_pos[lo:hi] - prep.start[i]).astype(np.int32),
            "af": prep.summaries["af"][lo:hi].astype(np.float32),
            "ma_samples": prep.summaries["ma_samples"][lo:hi],
            "ma_count": prep.summaries["ma_count"][lo:hi],
            "pval_nominal": pval,
            "slope": slope.astype(np.float32),
            "slope_se": se.astype(np.float32),
            "nlog10p": nlog10p,
        }))
    if not parts:
        return pd.DataFrame({c: [] for c in NOMINAL_COLUMNS})
    return pd.concat(parts, ignore_index=True)


# --------------------------------------------------------------------------------------------------
# permutation pass
# --------------------------------------------------------------------------------------------------


class PermutationSet:
    """Sample permutations shared by every phenotype (as tensorQTL does).

    ``chunks`` are contiguous (n_samples, c) intp blocks of at most ``_PERM_CHUNK`` permutations; column j
    of the concatenated blocks is the j-th permutation.
    """

    def __init__(self, n_samples: int, n_permutations: int, seed: int | None):
        rng = np.random.default_rng(seed)
        ix = np.tile(np.arange(n_samples, dtype=np.intp), (n_permutations, 1))
        ix = rng.permuted(ix, axis=1).T
        self.n_permutations = n_permutations
        self.chunks = [np.ascontiguousarray(ix[:, c0:c0 + _PERM_CHUNK]) for c0 in range(0, n_permutations, _PERM_CHUNK)]

    def chunk(self, j: int) -> PermutationSet:
        """A view holding only the ``j``-th block of permutations."""
        view = object.__new__(PermutationSet)
        view.chunks = [self.chunks[j]]
        view.n_permutations = self.chunks[j].shape[1]
        return view


class Workspace:
    """Per-thread buffers of the permutation kernel: stacked [Qᵀ; genotype rows], permuted phenotypes and
    the GEMM output, reused across phenotypes to avoid reallocation. Sized for at most ``max_rows``
    genotype rows and ``max_k`` covariate directions."""

    def __init__(self, n_samples: int, max_rows: int, max_k: int):
        self.stack = np.empty((max_k + max_rows, n_samples), dtype=np.float32)
        self.yp = np.empty((n_samples, _PERM_CHUNK), dtype=np.float32)
        self.out = np.empty((max_k + max_rows, _PERM_CHUNK), dtype=np.float32)


def max_r2_kernel(G_rows: np.ndarray, Qt: np.ndarray, yc: np.ndarray, perms: PermutationSet,
                  ws: Workspace | None = None) -> np.ndarray:
    """Maximum over genotype rows of the squared correlation with each permuted, re-residualised phenotype.

    Args:
        G_rows: (m, n) unit-norm residual genotypes (orthogonal to [1, covariates]); float32 or float64.
        Qt: (k, n) orthonormal basis of the centred covariates, transposed.
        yc: (n,) centred phenotype (before residualisation).
        perms: the permutations.
        ws: buffers (allocated when None).
    Returns:
        (n_permutations,) float64 maxima of r², where ``r = ĝ·πy_c / ‖res(πy_c)‖``.
    """
    m, k = G_rows.shape[0], Qt.shape[0]
    ws = ws or Workspace(len(yc), m, k)
    ws.stack[:k] = Qt
    if not np.shares_memory(G_rows, ws.stack):  # callers may have written the rows in place already
        ws.stack[k:k + m] = G_rows
    A = ws.stack[:k + m]
    yc32 = yc.astype(np.float32)
    yc_norm2 = float(np.dot(yc, yc))
    out = np.empty(perms.n_permutations, dtype=np.float64)
    c0 = 0
    for chunk in perms.chunks:
        c = chunk.shape[1]
        Yp = ws.yp[:, :c]
        np.take(yc32, chunk, out=Yp)                     # (n, c) permuted centred phenotypes
        R = np.matmul(A, Yp, out=ws.out[:k + m, :c])     # rows 0..k-1: Qᵀπy_c; then ĝ·πy_c
        corr = R[k:]
        max_abs = np.maximum(corr.max(axis=0), -corr.min(axis=0)).astype(np.float64)
        denom = yc_norm2 - np.einsum("ij,ij->j", R[:k], R[:k], dtype=np.float64) if k else yc_norm2
        out[c0:c0 + c] = max_abs * max_abs / denom
        c0 += c
    return np.minimum(out, 1.0)


def max_r2_permutations(prep: PreparedCis, i: int, perms: PermutationSet, ws: Workspace | None = None) -> np.ndarray:
    """:func:`max_r2_kernel` for phenotype ``i`` of ``prep`` over its window's distinct rows: (n_permutations,)."""
    rows = prep.distinct_rows(i)
    if ws is None:
        ws = Workspace(prep.n_samples, len(rows), prep.Qt32.shape[0])
    k = prep.Qt32.shape[0]
    in_place = ws.stack[k:k + len(rows)]
    np.take(prep.G32, rows, axis=0, out=in_place)
    return max_r2_kernel(in_place, prep.Qt32, prep.Yc[i], perms, ws)


@dataclass(frozen=True)
class AdaptivePermutations:
    """FastQTL-style adaptive permutations: permutations run in blocks of 2,048, and a phenotype stops once
    at least ``min_permutations`` have run and ``stop_hits`` of them reached its observed statistic (its
    empirical p-value is then clearly large); strong phenotypes run all permutations."""

    min_permutations: int = 2048
    stop_hits: int = 100


def _top_variant(prep: PreparedCis, i: int, rng: np.random.Generator | None) -> tuple[int, float]:
    r = prep.nominal_r(i)
    r2 = r * r
    if rng is not None:
        best = np.flatnonzero(r2 == r2.max())
        j = int(best[rng.integers(best.size)]) if best.size > 1 else int(best[0])
    else:
        j = int(np.argmax(r2))
    return prep.lo[i] + j, float(r[j])


def _row(prep: PreparedCis, i: int, variant: int, r: float, r2_perm: np.ndarray, dof: float | None = None,
         y_norm: float | None = None, g_norm: float | None = None) -> dict:
    """One output row for phenotype ``i`` and its top ``variant`` (absolute index); ``dof``, ``y_norm`` and
    ``g_norm`` default to the prepared problem's (they differ when extra covariates were used)."""
    dof = prep.dof if dof is None else dof
    y_norm = prep.y_norm[i] if y_norm is None else y_norm
    g_norm = prep.g_norm[variant] if g_norm is None else g_norm
    fit = beta_approximation(r2_perm, r * r, dof)
    slope, se = slope_and_se(np.array(r), y_norm, g_norm, dof)
    return {
        "phenotype_id": prep.phenotype_ids[i], "num_var": int(prep.num_polymorphic[i]),
        "beta_shape1": fit.beta_shape1, "beta_shape2": fit.beta_shape2, "true_df": fit.true_df,
        "pval_true_df": fit.pval_true_df, "variant_id": prep.variant_ids[variant],
        "start_distance": int(prep.variant_pos[variant] - prep.start[i]),
        "end_distance": int(prep.variant_pos[variant] - prep.end[i]),
        "ma_samples": int(prep.summaries["ma_samples"][variant]), "ma_count": int(prep.summaries["ma_count"][variant]),
        "af": float(prep.summaries["af"][variant]), "pval_nominal": float(pval_from_r2(r * r, dof)),
        "slope": float(slope), "slope_se": float(se), "pval_perm": fit.pval_perm, "pval_beta": fit.pval_beta,
    }


def permutation_pass(
    prep: PreparedCis,
    n_permutations: int = 10_000,
    seed: int | None = None,
    groups: np.ndarray | None = None,
    random_tiebreak: bool = False,
    threads: int | None = None,
    progress: Callable[[int], None] | None = None,
    adaptive: AdaptivePermutations | None = None,
) -> pd.DataFrame:
    """Empirical and Beta-approximated p-values of the top variant of each phenotype (or group).

    Args:
        prep: prepared problem.
        n_permutations: number of permutations (shared by all phenotypes).
        seed: random seed of the permutations (and of the tie-break).
        groups: optional (p,) group ids; then one row per group — its best phenotype, with the maximum over
            the group's phenotypes of each permutation's statistic — plus ``group_id`` and ``group_size``.
        random_tiebreak: choose uniformly among variants tied for the top statistic (else the first).
        threads: worker threads (default: all cores); each runs single-threaded BLAS.
        progress: called with the number of phenotypes finished since the last call.
        adaptive: stop early for clearly null phenotypes (see :class:`AdaptivePermutations`); off by default.
    Returns:
        A table with :data:`PERMUTATION_COLUMNS` (plus ``group_id``, ``group_size`` when grouped), in the
        order of the phenotypes (or of the groups' first appearance). Phenotypes without cis variants are left out.
    """
    threads = threads or os.cpu_count() or 1
    perms = PermutationSet(prep.n_samples, n_permutations, seed)
    units = units_of(prep, groups)
    max_rows = int(prep.num_var.max(initial=0))
    local = threading.local()

    def run(unit: np.ndarray) -> dict | None:
        rng = np.random.default_rng([seed or 0, int(unit[0])]) if random_tiebreak else None
        if not hasattr(local, "ws"):
            local.ws = Workspace(prep.n_samples, max_rows, prep.Qt32.shape[0])
        tops = [(i, *_top_variant(prep, i, rng)) for i in unit]
        i, variant, r = max(tops, key=lambda t: t[2] * t[2])
        blocks = []
        for j in range(len(perms.chunks)):
            block = perms if adaptive is None else perms.chunk(j)
            stat = None
            for member in unit:
                perm = max_r2_permutations(prep, member, block, local.ws)
                stat = perm if stat is None else np.maximum(stat, perm)
            blocks.append(stat)
            if adaptive is None:
                break
            done = sum(len(b) for b in blocks)
            hits = sum(int(np.sum(b >= r * r)) for b in blocks)
            if done >= adaptive.min_permutations and hits >= adaptive.stop_hits:
                break
        r2_perm = np.concatenate(blocks)
        row = _row(prep, i, variant, r, r2_perm)
        if groups is not None:
            row["group_id"] = groups[unit[0]]
            row["group_size"] = len(unit)
        if progress is not None:
            progress(len(unit))
        return row

    with threadpool_limits(limits=1, user_api="blas"):
        if threads == 1:
            rows = [run(u) for u in units]
        else:
            with ThreadPoolExecutor(max_workers=threads) as pool:
                rows = list(pool.map(run, units))
    columns = PERMUTATION_COLUMNS + (["group_id", "group_size"] if groups is not None else [])
    return pd.DataFrame([r for r in rows if r is not None], columns=columns)


def units_of(prep: PreparedCis, groups: np.ndarray | None) -> list[np.ndarray]:
    """Phenotype index sets mapped together: single phenotypes, or the members of each group (with cis
    variants), in order of first appearance."""
    has_cis = prep.num_var > 0
    if groups is None:
        return [np.array([i]) for i in np.flatnonzero(has_cis)]
    groups = np.asarray(groups)
    codes = pd.factorize(pd.Series(groups))[0]
    units: dict[int, list[int]] = {}
    for i, c in enumerate(codes):
        if has_cis[i]:
            units.setdefault(int(c), []).append(i)
    return [np.array(v) for v in units.values()]
