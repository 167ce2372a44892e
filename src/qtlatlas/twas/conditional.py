"""Joint and conditional statistics of TWAS models (FUSION ``post_process``): forward stepwise selection of
the models that jointly explain a locus, their joint estimates and the other models conditioned on them.

With ``k`` models, ``z`` their marginal TWAS z-scores and ``C`` their ``(k, k)`` prediction correlations
(low values already zeroed), a candidate ``t`` conditioned on the selected set ``S`` has effect
``b = z_t − C_tS D⁻¹ z_S`` and variance ``v = 1 − C_tS D⁻¹ C_St`` with ``D = C_SS + ridge·I``
(``ridge`` = 0 is FUSION).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .assoc import twas_pvalue


def _inverse(c: np.ndarray, ridge: float) -> np.ndarray:
    return np.linalg.inv(c + ridge * np.eye(len(c))) if ridge else np.linalg.inv(c)


def conditional_z(z: np.ndarray, corr: np.ndarray, selected: np.ndarray, targets: np.ndarray,
                  ridge: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Conditional effect ``b`` and variance ``v`` of models ``targets`` given models ``selected``.

    ``b = z_t − C_tS D⁻¹ z_S``, ``v = 1 − diag(C_tS D⁻¹ C_St)``, ``D = C_SS + ridge·I``. Returns ``(b, v)``,
    each ``(len(targets),)``.
    """
    dinv = _inverse(corr[np.ix_(selected, selected)], ridge)
    lt = corr[np.ix_(targets, selected)]
    b = z[targets] - lt @ (dinv @ z[selected])
    v = 1.0 - np.einsum("ij,ij->i", lt @ dinv, lt)
    return b, v


@dataclass
class Selection:
    """Outcome of a forward stepwise selection over ``k`` models.

    Attributes:
        joint: ``(k,)`` bool, model in the final joint model.
        dropped: ``(k,)`` bool, model removed as unstable.
        steps: ``(model index, conditional z when added)`` in order of addition.
        unstable: lists of models dropped after each step (possibly empty).
    """

    joint: np.ndarray
    dropped: np.ndarray
    steps: list[tuple[int, float]] = field(default_factory=list)
    unstable: list[list[int]] = field(default_factory=list)


def stepwise_select(z: np.ndarray, corr: np.ndarray, candidates: np.ndarray, zthresh: float, max_r2: float,
                    max_cz_increase: float | None, ridge: float = 0.0, recompute_all: bool = True) -> Selection:
    """Forward stepwise selection of models among ``candidates`` (see the module docstring).

    Args:
        z: ``(k,)`` marginal TWAS z-scores.
        corr: ``(k, k)`` model correlations (low values already zeroed).
        candidates: ``(k,)`` bool, models that may enter.
        max_cz_increase: drop models whose conditional Z² exceeds the marginal Z² by more than its square
            (None: no stability check).
        recompute_all: re-evaluate every candidate not selected nor dropped at each step (FUSION's
            chromosome-wide pass); False re-evaluates only candidates whose conditional z is still non-zero
            (FUSION's per-locus pass).
    """
    k = len(z)
    cond = np.where(candidates, z, 0.0).astype(np.float64)
    joint = np.zeros(k, dtype=bool)
    dropped = np.zeros(k, dtype=bool)
    out = Selection(joint, dropped)
    t2 = zthresh * zthresh
    while np.any(cond * cond > t2):
        best = int(np.argmax(cond * cond))
        out.steps.append((best, float(cond[best])))
        joint[best] = True
        if recompute_all:
            active = candidates & ~joint & ~dropped
        else:
            active = (cond != 0) & ~joint
        cond[joint | dropped] = 0.0
        targets = np.flatnonzero(active)
        new = np.zeros(len(targets))
        if len(targets):
            sel = np.flatnonzero(joint)
            r2 = corr[np.ix_(targets, sel)] ** 2
            blocked = np.max(r2, axis=1) > max_r2
            b, v = conditional_z(z, corr, sel, targets, ridge)
            with np.errstate(invalid="ignore", divide="ignore"):
                new = np.where(blocked | ~(v >= 0), 0.0, b / np.sqrt(np.where(v >= 0, v, 1.0)))
        cond[targets] = new
        gone: list[int] = []
        if max_cz_increase is not None:
            unstable = cond * cond > z * z + max_cz_increase**2
            gone = [int(i) for i in np.flatnonzero(unstable)]
            dropped |= unstable
            cond[unstable] = 0.0
        out.unstable.append(gone)
    joint &= ~dropped
    return out


def joint_estimates(z: np.ndarray, corr: np.ndarray, joint: np.ndarray, ridge: float = 0.0) -> dict[str, np.ndarray]:
    """Joint estimates of the selected models and conditional estimates of the others.

    Returns arrays ``joint_beta, joint_se, joint_z, joint_p`` over ``joint`` models and ``cond_beta, cond_se,
    cond_z, cond_p`` over the others (NA where the conditional variance is negative).
    """
    sel = np.flatnonzero(joint)
    rest = np.flatnonzero(~joint)
    dinv = _inverse(corr[np.ix_(sel, sel)], ridge)
    jb = dinv @ z[sel]
    jse = np.sqrt(np.diag(dinv))
    cb, cv = conditional_z(z, corr, sel, rest, ridge)
    cse = np.sqrt(np.where(cv >= 0, cv, np.nan))
    with np.errstate(invalid="ignore", divide="ignore"):
        cz = cb / cse
    return {"joint_beta": jb, "joint_se": jse, "joint_z": jb / jse, "joint_p": twas_pvalue(jb / jse),
            "cond_beta": cb, "cond_se": cse, "cond_z": cz, "cond_p": twas_pvalue(cz)}
