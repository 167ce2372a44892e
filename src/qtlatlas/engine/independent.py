"""Conditionally independent cis-QTLs by forward–backward stepwise regression (tensorQTL's
``map_independent``).

For each phenotype (or group) with q ≤ FDR in the permutation pass, with the significance bar
``p_bar = max pval_beta of the significant phenotypes``:

* forward: starting from the permutation pass's top variant, add the current top variant's dosage to
  the covariates and rerun the permutation test; continue while the new top variant's ``pval_beta`` ≤ p_bar;
* backward: for each forward variant k, use as covariates the base covariates plus every other forward
  variant; rerun; keep the top variant (with ``rank = k``) when ``pval_beta`` ≤ p_bar and it was not already
  kept. In grouped mode every member is re-tested at each step and the group's best member is compared.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from .cis import PERMUTATION_COLUMNS, PermutationSet, PreparedCis, Workspace, _row, max_r2_kernel, units_of
from .residualize import Residualizer

#: Safety cap on forward steps per phenotype.
MAX_SIGNALS = 20
#: A residual genotype whose norm falls below this fraction of its centred norm is collinear with the
#: covariates (e.g. the added variant itself, or one in perfect LD with it) and is left out.
_COLLINEAR = 1e-6


class _Conditional:
    """The window of phenotype ``i`` residualised on the base covariates plus extra dosage covariates."""

    def __init__(self, prep: PreparedCis, i: int, extra_variants: list[int]):
        n = prep.n_samples
        lo, hi = prep.lo[i], prep.hi[i]
        D = prep.dosages32[extra_variants].astype(np.float64).T if extra_variants else np.zeros((n, 0))
        C = D if prep.covariates is None else np.hstack([prep.covariates, D])
        self.res = Residualizer(C if C.shape[1] else None, n_samples=n)
        self.dof = self.res.dof
        Gw = prep.dosages32[lo:hi].astype(np.float64)
        centred_norm = np.linalg.norm(Gw - Gw.mean(axis=1, keepdims=True), axis=1)
        Gr = self.res.transform(Gw)
        norms = np.linalg.norm(Gr, axis=1)
        dead = (norms <= _COLLINEAR * centred_norm) | (prep.g_norm[lo:hi] == 0)
        Gr[dead] = 0.0
        safe = np.where(dead, 1.0, norms)
        self.G = Gr / safe[:, None]
        self.g_norm = np.where(dead, 0.0, norms)
        yr = self.res.transform(prep.Yc[i])
        self.y_norm = float(np.linalg.norm(yr))
        self.y = yr / self.y_norm
        self.lo = lo
        self.Qt32 = np.ascontiguousarray(self.res.Q.T, dtype=np.float32)
        local_rows = prep.distinct_rows(i) - lo
        self.rows = local_rows[~dead[local_rows]]

    def test(self, prep: PreparedCis, i: int, perms: PermutationSet, ws: Workspace) -> tuple[int, float, np.ndarray]:
        """Top variant (absolute index), its correlation, and the permutation maxima (P,)."""
        r = self.G @ self.y
        j = int(np.argmax(r * r))
        r2_perm = max_r2_kernel(self.G[self.rows].astype(np.float32), self.Qt32, prep.Yc[i], perms, ws)
        return self.lo + j, float(r[j]), r2_perm


def _test_unit(prep: PreparedCis, unit: np.ndarray, extra: list[int], perms: PermutationSet, ws: Workspace) -> dict:
    """Conditional permutation test of a phenotype or group given extra dosage covariates: the output row
    of its best member (group maximum of each permutation statistic)."""
    best = None
    r2_perm = None
    for i in unit:
        cond = _Conditional(prep, i, extra)
        variant, r, perm = cond.test(prep, i, perms, ws)
        r2_perm = perm if r2_perm is None else np.maximum(r2_perm, perm)
        if best is None or r * r > best[0]:
            best = (r * r, i, variant, r, cond)
    _, i, variant, r, cond = best
    return _row(prep, i, variant, r, r2_perm, dof=cond.dof, y_norm=cond.y_norm, g_norm=cond.g_norm[variant - cond.lo])


def independent_pass(
    prep: PreparedCis,
    permutation_table: pd.DataFrame,
    fdr: float = 0.05,
    n_permutations: int = 10_000,
    seed: int | None = None,
    groups: np.ndarray | None = None,
    threads: int | None = None,
    progress: Callable[[int], None] | None = None,
    significance_bar: float | None = None,
) -> pd.DataFrame:
    """Conditionally independent QTLs of the significant phenotypes (or groups) of ``permutation_table``
    (a permutation-pass table of ``prep``'s phenotypes with a ``qval`` column).

    ``significance_bar`` is p_bar; by default the largest ``pval_beta`` of the table's significant rows. When
    a genome is mapped chromosome by chromosome, pass the genome-wide value.

    Returns the permutation-table columns plus ``rank`` (and ``group_id``, ``group_size`` when grouped),
    one row per independent signal, ordered by phenotype then rank.
    """
    if "qval" not in permutation_table:
        raise ValueError("the permutation table needs q-values (run add_qvalues first)")
    signif = permutation_table[permutation_table["qval"] <= fdr]
    columns = PERMUTATION_COLUMNS + (["group_id", "group_size"] if groups is not None else []) + ["rank"]
    if signif.empty:
        return pd.DataFrame(columns=columns)
    p_bar = float(signif["pval_beta"].max()) if significance_bar is None else float(significance_bar)
    perms = PermutationSet(prep.n_samples, n_permutations, seed)
    variant_index = {v: j for j, v in enumerate(prep.variant_ids)}
    significant_ids = set(signif["phenotype_id"])
    units = [u for u in units_of(prep, groups) if any(prep.phenotype_ids[i] in significant_ids for i in u)]
    first_rows = signif.set_index("phenotype_id")
    max_rows = int(prep.num_var.max(initial=0))
    max_k = (0 if prep.covariates is None else prep.covariates.shape[1]) + MAX_SIGNALS
    local = threading.local()

    def run(unit: np.ndarray) -> list[dict]:
        if not hasattr(local, "ws"):
            local.ws = Workspace(prep.n_samples, max_rows, max_k)
        lead = next(prep.phenotype_ids[i] for i in unit if prep.phenotype_ids[i] in significant_ids)
        first = first_rows.loc[lead].to_dict()
        first["phenotype_id"] = lead
        forward = [first]
        chosen = [variant_index[first["variant_id"]]]
        while len(forward) < MAX_SIGNALS:
            row = _test_unit(prep, unit, chosen, perms, local.ws)
            if not row["pval_beta"] <= p_bar:
                break
            forward.append(row)
            chosen.append(variant_index[row["variant_id"]])
        if len(forward) == 1:
            kept = [dict(forward[0], rank=1)]
        else:
            kept, seen = [], set()
            for k, v in enumerate(chosen, start=1):
                row = _test_unit(prep, unit, [c for c in chosen if c != v], perms, local.ws)
                if row["pval_beta"] <= p_bar and row["variant_id"] not in seen:
                    kept.append(dict(row, rank=k))
                    seen.add(row["variant_id"])
        if groups is not None:
            for row in kept:
                row["group_id"], row["group_size"] = groups[unit[0]], len(unit)
        if progress is not None:
            progress(1)
        return kept

    with threadpool_limits(limits=1, user_api="blas"):
        workers = threads or os.cpu_count() or 1
        if workers == 1:
            results = [run(u) for u in units]
        else:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                results = list(pool.map(run, units))
    rows = [row for unit_rows in results for row in unit_rows]
    return pd.DataFrame(rows, columns=columns)
