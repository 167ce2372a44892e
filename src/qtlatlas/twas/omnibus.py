"""Omnibus test across the models of one gene (several panels, modalities or model types).

Under the null the TWAS z-scores of ``k`` models of a gene are jointly normal with correlation ``Σ``, the
correlation of the models' predicted expression in the LD reference (``Σ_ij = w_iᵀR_ijw_j /
√(w_iᵀR_iiw_i · w_jᵀR_jjw_j)``, computed from the standardised reference genotypes). The omnibus statistic is

    χ² = zᵀ Σ⁺ z,     df = rank(Σ)

where ``Σ⁺`` is the pseudo-inverse over the principal components kept by the **eigenvalue rule**: with
``Σ = V Λ Vᵀ``, keep the components with ``λ > 1 − √max_r2`` (0.051 for the default ``max_r2 = 0.9``), i.e.
``χ² = Σ_kept (v_jᵀz)² / λ_j`` and ``df`` = number kept. ``1 − √max_r2`` is the smallest eigenvalue of two
models correlated at ``r² = max_r2``, the level at which FUSION's omnibus prunes one model of a pair as
redundant; the rule generalises that pruning to any number of models without choosing which model to drop,
and keeps the test from dividing by near-zero eigenvalues (models that are near-copies of one another).
Models whose prediction has zero variance in the reference are left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import chdtrc
from threadpoolctl import threadpool_limits

from .align import AlignedGwas
from .fusion_io import TwasModel
from .ld import LdReference
from .postprocess import predict

OMNIBUS_COLUMNS = ("GENE", "NUM.MODELS", "MIN.TWAS.P", "RANK", "CHISQ", "OMNIBUS.P")


def eigen_threshold(max_r2: float = 0.9) -> float:
    """Smallest eigenvalue kept: ``1 − √max_r2``."""
    return 1.0 - float(np.sqrt(max_r2))


@dataclass
class OmnibusResult:
    """χ² statistic, degrees of freedom (rank kept) and p-value of one omnibus test."""

    chisq: float
    df: int
    pvalue: float


def omnibus_test(z: np.ndarray, corr: np.ndarray, max_r2: float = 0.9) -> OmnibusResult:
    """Omnibus χ² of z-scores ``z`` ``(k,)`` with correlation ``corr`` ``(k, k)`` (see the module docstring)."""
    z = np.asarray(z, dtype=np.float64)
    lam, vec = np.linalg.eigh(np.asarray(corr, dtype=np.float64))
    keep = lam > eigen_threshold(max_r2)
    proj = vec[:, keep].T @ z
    stat = float(np.sum(proj * proj / lam[keep]))
    df = int(keep.sum())
    return OmnibusResult(stat, df, float(chdtrc(df, stat)) if df else float("nan"))


def omnibus_by_gene(numbers: pd.DataFrame, models: Sequence[TwasModel | None], gwas: AlignedGwas,
                    ld: LdReference, max_r2: float = 0.9) -> pd.DataFrame:
    """Omnibus test for every gene with at least two tested models among the rows of ``numbers``.

    Rows are grouped by the model's ``gene_id`` (a FUSION panel's gene is its ``ID``); rows whose model is
    None or whose ``TWAS.Z`` is NA are ignored. Predictions use the weights as the association test used
    them (``top1``: the top SNP only). Returns one row per gene, columns :data:`OMNIBUS_COLUMNS`, in order of
    first appearance.
    """
    with threadpool_limits(limits=1, user_api="blas"):
        return _omnibus_by_gene(numbers, models, gwas, ld, max_r2)


def _omnibus_by_gene(numbers: pd.DataFrame, models: Sequence[TwasModel | None], gwas: AlignedGwas,
                     ld: LdReference, max_r2: float) -> pd.DataFrame:
    z_all = numbers["TWAS.Z"].to_numpy(dtype=np.float64)
    p_all = numbers["TWAS.P"].to_numpy(dtype=np.float64)
    groups: dict[str, list[int]] = {}
    for i, m in enumerate(models):
        if m is not None and not np.isnan(z_all[i]):
            groups.setdefault(m.gene_id, []).append(i)
    out = []
    for gene, rows in groups.items():
        if len(rows) < 2:
            continue
        preds = predict([models[i] for i in rows], numbers["MODEL"].iloc[rows].astype(str).tolist(), gwas, ld,
                        top1_single=True)
        ok = preds.values.std(axis=0) > 0
        idx = np.flatnonzero(ok)
        if len(idx) < 2:
            continue
        corr = preds.correlation()[np.ix_(idx, idx)]
        res = omnibus_test(z_all[np.array(rows)[idx]], corr, max_r2)
        out.append({"GENE": gene, "NUM.MODELS": len(idx), "MIN.TWAS.P": float(np.min(p_all[np.array(rows)[idx]])),
                    "RANK": res.df, "CHISQ": res.chisq, "OMNIBUS.P": res.pvalue})
    return pd.DataFrame(out, columns=list(OMNIBUS_COLUMNS))
