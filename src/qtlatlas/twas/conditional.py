"""Joint and conditional statistics of TWAS models and GWAS SNPs (FUSION ``post_process``), with a guard
against conditioning that manufactures signal.

Notation: ``S`` the ``k`` joint (selected) models, ``z_S`` their marginal TWAS z-scores, ``C`` the ``(k, k)``
correlations of their predicted expression in the LD reference (low values already zeroed), and for a target
``t`` (another model, or a GWAS SNP) ``ℓ`` its ``(k,)`` correlations with the joint models' predictions and
``z_t`` its marginal z. Conditioning ``t`` on ``S`` gives::

    β = D⁻¹ z_S                   joint effects, D = C + λ·I
    f = ℓᵀ β                      the part of z_t the joint models account for
    b = z_t − f                   conditional effect, z_cond = b / √v
    v = 1 − ℓᵀ C⁻¹ ℓ              (λ = 0; FUSION)  — with λ > 0 the exact null variance of b,
        1 − 2 ℓᵀD⁻¹ℓ + ℓᵀD⁻¹ C D⁻¹ℓ
    R² = ℓᵀ C⁺ ℓ                  variance of t explained by the joint models' predictions (C⁺: pseudo-inverse)

FUSION's statistic is the first form with λ = 0. The guard (:class:`Guard`; ``Guard.fusion()`` turns it off)
adds three protections, each documented in docs/twas.md:

``max_explained``
    A target with ``R² > max_explained`` gets no conditional statistic (status ``explained``): at most
    ``1 − max_explained`` of its variance is left to test, the denominator ``√v`` is small and any error in
    ``f`` is divided by it. FUSION only zeroes targets whose *single* r² with a joint model exceeds
    ``max_r2``.
``eigen_floor``
    Ridge where the joint models are collinear: ``λ = max(ridge, eigen_floor − smallest eigenvalue of C)``,
    so ``D``'s eigenvalues are at least ``eigen_floor`` and ``β`` cannot become large differences of
    near-copies; the SE of ``β`` and the variance ``v`` use the exact forms above.
``ld_error``
    ``ℓ`` and ``C`` are estimated in an LD reference of ``n_ref`` individuals, each correlation with
    sampling SD ``≈ (1 − ℓ²) / √n_ref``. ``f`` inherits that error, amplified by ``|β|``, which is large
    exactly where conditioning matters; ``v`` gets its variance added: ``v += Σ_j β_j² (1 − ℓ_j²)² / n_ref``.

Statuses of a conditional statistic: ``tested``; ``explained`` (``R² > max_explained``); ``collinear`` (FUSION:
single r² with a joint model above ``max_r2``, z set to 0); ``unstable`` (``z_cond² > z_t² +
max_increase²``: conditioning raised the target's χ² beyond what its own noise allows, FUSION's rule for
models, applied to every target); ``undefined`` (``v < 0``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .assoc import twas_pvalue

#: Statuses of a conditional statistic (see the module docstring).
STATUSES = ("tested", "explained", "collinear", "unstable", "undefined")


@dataclass(frozen=True)
class Guard:
    """How conditional statistics are protected (module docstring); ``Guard.fusion()`` is FUSION's analysis.

    Attributes:
        max_explained: targets whose variance explained by the joint models exceeds this get no statistic.
        eigen_floor: lift the joint correlation matrix's eigenvalues to at least this (None: never).
        ridge: a constant ridge ``λ`` added to ``C`` whatever its eigenvalues (0: none).
        ld_error: add to ``v`` the variance of ``f`` from the LD reference's sampling error of ``ℓ``.
        max_increase: targets whose conditional χ² exceeds their marginal χ² by more than its square are
            ``unstable`` (None: never).
    """

    max_explained: float | None = 0.8
    eigen_floor: float | None = 0.1
    ridge: float = 0.0
    ld_error: bool = True
    max_increase: float | None = 1.96

    @classmethod
    def fusion(cls, ridge: float = 0.0) -> Guard:
        """No guard: FUSION's statistics (optionally with a constant ridge)."""
        return cls(max_explained=None, eigen_floor=None, ridge=ridge, ld_error=False, max_increase=None)

    @property
    def active(self) -> bool:
        """Whether any protection beyond FUSION's analysis is on."""
        return self != Guard.fusion(self.ridge)


@dataclass
class Conditioned:
    """Targets conditioned on a joint model (all arrays ``(t,)``).

    Attributes:
        b: conditional effect ``z_t − f``.
        fitted: ``f``, the part of ``z_t`` accounted for by the joint models.
        var: variance of ``b`` under the null (LD-reference error included with ``Guard.ld_error``).
        r2: variance of the target explained by the joint models' predictions.
        z: conditional z (NaN where the status is not ``tested``, except ``collinear``: 0, as FUSION).
        status: one of :data:`STATUSES` per target.
    """

    b: np.ndarray
    fitted: np.ndarray
    var: np.ndarray
    r2: np.ndarray
    z: np.ndarray
    status: np.ndarray

    @property
    def p(self) -> np.ndarray:
        """Two-sided p-values of ``z`` (NaN where ``z`` is)."""
        return twas_pvalue(self.z)


def _rowdot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->i", a, b)


class JointModel:
    """The joint model of selected models ``S`` (module docstring).

    Args:
        corr: ``(k, k)`` prediction correlations of the joint models.
        z: ``(k,)`` their marginal TWAS z-scores.
        guard: the regularisation (``ridge``, ``eigen_floor``) and which protections apply (None: FUSION).
        n_ref: individuals of the LD reference (for ``guard.ld_error``; None: that term is left out).
    """

    def __init__(self, corr: np.ndarray, z: np.ndarray, guard: Guard | None = None, n_ref: int | None = None):
        guard = Guard.fusion() if guard is None else guard
        self.corr = np.asarray(corr, dtype=np.float64)
        self.z = np.asarray(z, dtype=np.float64)
        self.guard = guard
        self.n_ref = n_ref if guard.ld_error else None
        k = len(self.z)
        lam = float(guard.ridge)
        eig = np.linalg.eigvalsh(self.corr) if k else np.zeros(0)
        if guard.eigen_floor is not None and k:
            lam = max(lam, float(guard.eigen_floor) - float(eig[0]))
        self.ridge = lam
        self.dinv = np.linalg.inv(self.corr + lam * np.eye(k)) if lam else np.linalg.inv(self.corr)
        self.beta = self.dinv @ self.z
        # pseudo-inverse of C for the variance explained (collinear predictions span fewer dimensions)
        vals, vecs = np.linalg.eigh(self.corr) if k else (np.zeros(0), np.zeros((0, 0)))
        keep = vals > 1e-8 * max(float(vals.max()) if k else 1.0, 1.0)
        self._half = vecs[:, keep] / np.sqrt(vals[keep])

    @property
    def joint_se(self) -> np.ndarray:
        """``(k,)`` SE of ``β``: ``√diag(D⁻¹)`` without ridge (FUSION), ``√diag(D⁻¹ C D⁻¹)`` with it."""
        cov = self.dinv if not self.ridge else self.dinv @ self.corr @ self.dinv
        return np.sqrt(np.diag(cov))

    def explained(self, cross: np.ndarray) -> np.ndarray:
        """``(t,)`` share of each target's variance explained by the joint models, ``min(ℓᵀ C⁺ ℓ, 1)``
        (``cross``: ``(t, k)``). Correlations estimated from an LD reference, with FUSION's small ones zeroed, need
        not form a positive semi-definite matrix with the target, so ``ℓᵀ C⁺ ℓ`` can pass 1 (1.04 on the demo):
        the target is then explained entirely, and a share above 1 would read as an error."""
        proj = cross @ self._half
        return np.minimum(_rowdot(proj, proj), 1.0)

    def condition(self, z: np.ndarray, cross: np.ndarray, max_r2: float | None = None) -> Conditioned:
        """Condition targets with marginal ``z`` ``(t,)`` and correlations ``cross`` ``(t, k)`` with the joint
        models' predictions on them. ``max_r2``: FUSION's rule, targets whose single r² with a joint model
        exceeds it get ``b = 0, var = 1`` (status ``collinear``)."""
        z = np.asarray(z, dtype=np.float64)
        cross = np.asarray(cross, dtype=np.float64).reshape(len(z), len(self.z))
        g = cross @ self.dinv
        fitted = g @ self.z
        b = z - fitted
        if self.ridge:
            var = 1.0 - 2.0 * _rowdot(g, cross) + _rowdot(g @ self.corr, g)
        else:
            var = 1.0 - _rowdot(g, cross)
        guard = self.guard
        if self.n_ref:
            var = var + ((1.0 - cross * cross) ** 2 * self.beta * self.beta).sum(axis=1) / self.n_ref
        r2 = self.explained(cross)
        status = np.full(len(z), "tested", dtype=object)
        out_z = np.full(len(z), np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            ok = var >= 0  # v = 0 gives an infinite z, as in FUSION
            out_z[ok] = b[ok] / np.sqrt(var[ok])
        status[~ok] = "undefined"
        if max_r2 is not None and cross.shape[1]:
            collinear = np.max(cross * cross, axis=1) > max_r2
            b = np.where(collinear, 0.0, b)
            var = np.where(collinear, 1.0, var)
            out_z[collinear] = 0.0
            status[collinear] = "collinear"
        if guard.max_explained is not None:
            hit = r2 > guard.max_explained
            status[hit] = "explained"
            out_z[hit] = np.nan
        if guard.max_increase is not None:
            with np.errstate(invalid="ignore"):
                hit = (status == "tested") & (out_z * out_z > z * z + guard.max_increase**2)
            status[hit] = "unstable"
            out_z[hit] = np.nan
        return Conditioned(b, fitted, var, r2, out_z, status)


def conditional_z(z: np.ndarray, corr: np.ndarray, selected: np.ndarray, targets: np.ndarray,
                  ridge: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """FUSION's conditional effect ``b`` and variance ``v`` of models ``targets`` given models ``selected``.

    ``b = z_t − C_tS D⁻¹ z_S``, ``v = 1 − diag(C_tS D⁻¹ C_St)``, ``D = C_SS + ridge·I``. Returns ``(b, v)``,
    each ``(len(targets),)``.
    """
    fit = JointModel(corr[np.ix_(selected, selected)], z[selected], Guard.fusion(ridge))
    lt = corr[np.ix_(targets, selected)]
    g = lt @ fit.dinv
    return z[targets] - g @ fit.z, 1.0 - _rowdot(g, lt)


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
                    max_cz_increase: float | None, ridge: float = 0.0, recompute_all: bool = True,
                    guard: Guard | None = None, n_ref: int | None = None) -> Selection:
    """Forward stepwise selection of models among ``candidates`` (FUSION's rule).

    Repeatedly add the model with the largest conditional ``Z²`` above ``zthresh²``; after each addition every
    remaining candidate is conditioned on the selected set: a candidate with ``C² > max_r2`` to a selected
    model, a negative conditional variance or (with a guard) a variance explained above
    ``guard.max_explained`` gets 0 and cannot enter.

    Args:
        z: ``(k,)`` marginal TWAS z-scores.
        corr: ``(k, k)`` model correlations (low values already zeroed).
        candidates: ``(k,)`` bool, models that may enter.
        max_cz_increase: drop models whose conditional Z² exceeds the marginal Z² by more than its square
            (None: no stability check).
        ridge: FUSION-style constant ridge (used when ``guard`` is None).
        recompute_all: re-evaluate every candidate not selected nor dropped at each step (FUSION's
            chromosome-wide pass); False re-evaluates only candidates whose conditional z is still non-zero
            (FUSION's per-locus pass).
        guard: condition with this guard (its ``max_increase`` is not used here: ``max_cz_increase`` is).
        n_ref: individuals of the LD reference (``guard.ld_error``).
    """
    guard = Guard.fusion(ridge) if guard is None else guard
    inner = Guard(max_explained=guard.max_explained, eigen_floor=guard.eigen_floor, ridge=guard.ridge,
                  ld_error=guard.ld_error, max_increase=None)
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
            res = JointModel(corr[np.ix_(sel, sel)], z[sel], inner, n_ref).condition(
                z[targets], corr[np.ix_(targets, sel)], max_r2)
            new = np.where(res.status == "tested", res.z, 0.0)
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


def joint_estimates(z: np.ndarray, corr: np.ndarray, joint: np.ndarray, ridge: float = 0.0,
                    guard: Guard | None = None, n_ref: int | None = None) -> dict[str, np.ndarray]:
    """Joint estimates of the selected models and conditional estimates of the others.

    Returns arrays ``joint_beta, joint_se, joint_z, joint_p`` over ``joint`` models and ``cond_beta, cond_se,
    cond_z, cond_p, cond_r2, cond_status`` over the others. Without a guard (FUSION) ``cond_*`` are NA where
    the conditional variance is negative; with one, also where the status is not ``tested``.
    """
    guard = Guard.fusion(ridge) if guard is None else guard
    sel = np.flatnonzero(joint)
    rest = np.flatnonzero(~joint)
    fit = JointModel(corr[np.ix_(sel, sel)], z[sel], guard, n_ref)
    jse = fit.joint_se
    res = fit.condition(z[rest], corr[np.ix_(rest, sel)])
    with np.errstate(invalid="ignore"):
        cse = np.sqrt(np.where(res.var >= 0, res.var, np.nan))
    cz = res.z if guard.active else res.b / cse
    return {"joint_beta": fit.beta, "joint_se": jse, "joint_z": fit.beta / jse, "joint_p": twas_pvalue(fit.beta / jse),
            "cond_beta": res.b, "cond_se": cse, "cond_z": cz, "cond_p": twas_pvalue(cz), "cond_r2": res.r2,
            "cond_status": res.status}
