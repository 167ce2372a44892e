"""The covariate matrix of one tissue × modality, as ``qtlatlas run``'s prepare task builds it and ``qtlatlas
validate`` checks it before anything runs.

The matrix is the computed PCs — ``gPC1…`` of the genotypes (LD-pruned common variants), ``pPC1…`` of the
normalised phenotypes — followed by the lab's covariates (:func:`qtlatlas.engine.pca.pca_covariates`).
How many PCs of each kind: the entry's ``genotype_pcs`` / ``phenotype_pcs``, else ``mapping``'s. When a count
was not set explicitly in atlas.yaml (neither on the entry nor under ``mapping:``) and the lab's covariates
already hold PCs of that kind, none of that kind is computed (:attr:`CovariateDesign.lab_pcs` says why):

* by name (:func:`pc_kind`): genotype PCs are named ``PC1``, ``gPC1``, ``genoPC1``, ``genotype_PC1`` (any
  name ending in ``PC`` + a number whose prefix is empty, ``g`` or contains ``geno``); phenotype PCs and
  factors ``ePC1``, ``pPC1``, ``expression_PC1`` (any other prefix), ``PEER1``, ``InferredCov1``;
* by correlation: a lab covariate of more than two distinct values (not an indicator such as sex or batch)
  whose Pearson correlation with the first computed PC of that kind is at least :data:`LAB_PC_R` in
  absolute value.

An explicit count is honoured: the PCs are computed (renamed ``computed_gPC1…`` when the lab already uses
those names, a warning), and a computed PC that correlates at |r| ≥ :data:`LAB_PC_R` with a lab covariate is
reported as a warning (the same axis twice). :func:`check_covariate_matrix` gives what makes a matrix unusable.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..engine.pca import max_covariates, pca_covariates
from ..engine.residualize import dependent_columns

GENOTYPE, PHENOTYPE = "genotype", "phenotype"
KINDS = (GENOTYPE, PHENOTYPE)
#: |Pearson r| between a lab covariate and the first computed PC of a kind from which the lab's covariates are
#: taken to hold PCs of that kind.
LAB_PC_R = 0.9
#: Computed PC names of each kind (before any ``computed_`` prefix).
PC_PREFIX = {GENOTYPE: "gPC", PHENOTYPE: "pPC"}

_FACTOR = re.compile(r"(?:peer(?:_?factor)?|inferred_?cov(?:ariate)?|hidden_?factor)[_.\-]?\d+")
_PC = re.compile(r"(.*?)[_.\-]?pc[_.\-]?\d+")


def pc_kind(name: str) -> str | None:
    """:data:`GENOTYPE` or :data:`PHENOTYPE` when a covariate's name says it is a PC of that kind, else None."""
    n = str(name).lower()
    while n.startswith("computed_"):
        n = n.removeprefix("computed_")
    if _FACTOR.fullmatch(n):
        return PHENOTYPE
    m = _PC.fullmatch(n)
    if not m:
        return None
    return GENOTYPE if m[1] in ("", "g") or "geno" in m[1] else PHENOTYPE


def name_runs(names: list[str]) -> str:
    """Covariate names in a few words: runs of numbered names shortened (``gPC1–3, ePC1–50``); ``none``."""
    if not names:
        return "none"
    runs: list[list] = []  # [prefix, first number, last number] or [name, None, None]
    for name in names:
        m = re.fullmatch(r"(.*?)(\d+)", name)
        if m and runs and runs[-1][1] is not None and runs[-1][0] == m[1] and int(m[2]) == runs[-1][2] + 1:
            runs[-1][2] = int(m[2])
        else:
            runs.append([m[1], int(m[2]), int(m[2])] if m else [name, None, None])
    return ", ".join(f"{p}{a}–{b}" if a is not None and b > a else f"{p}{a}" if a is not None else p
                     for p, a, b in runs)


@dataclass(frozen=True)
class PcRequest:
    """PCs asked for one tissue × modality: counts of each kind, and whether atlas.yaml set each explicitly."""

    genotype: int
    phenotype: int
    genotype_explicit: bool = True
    phenotype_explicit: bool = True

    @classmethod
    def of(cls, entry, mapping) -> PcRequest:
        """The request of an atlas.yaml entry (:class:`~qtlatlas.config.PhenotypeInput`) under ``mapping``
        (:class:`~qtlatlas.config.MappingSettings`): a count is explicit when the entry or ``mapping:`` sets it."""
        g, p = entry.pcs(mapping)
        return cls(g, p, entry.genotype_pcs is not None or "genotype_pcs" in mapping.model_fields_set,
                   entry.phenotype_pcs is not None or "phenotype_pcs" in mapping.model_fields_set)

    def count(self, kind: str) -> int:
        return self.genotype if kind == GENOTYPE else self.phenotype

    def explicit(self, kind: str) -> bool:
        return self.genotype_explicit if kind == GENOTYPE else self.phenotype_explicit

    def defaults(self) -> list[str]:
        """The kinds left to the default (computed unless the lab's covariates hold them)."""
        return [k for k in KINDS if not self.explicit(k)]


@dataclass
class CovariateDesign:
    """The covariate matrix of a tissue × modality and how it came about.

    Attributes:
        frame: covariates × samples (float64), computed PCs first, then the lab's.
        lab: names of the lab's covariates in ``frame``.
        computed: names of the computed PCs in ``frame``.
        lab_pcs: kind -> why none of that kind was computed: ``{"covariates": [the lab's covariates taken for
            such PCs], "by": "name" | "correlation", "r": |r| with the first computed PC of the kind (by
            correlation only)}``.
        notes: what was decided, for people (validate, the run log).
        warnings: what is probably a mistake (computed PCs duplicating lab ones).
    """

    frame: pd.DataFrame
    lab: list[str] = field(default_factory=list)
    computed: list[str] = field(default_factory=list)
    lab_pcs: dict[str, dict] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        """What the prepare task records beside the covariates file (``covariates.json``)."""
        return {"covariates": [str(c) for c in self.frame.index], "lab": self.lab, "computed": self.computed,
                "lab_pcs": self.lab_pcs, "notes": self.notes, "warnings": self.warnings}


def design_covariates(samples: list[str], lab: pd.DataFrame | None, request: PcRequest,
                      genotypes: Callable[[], np.ndarray], phenotypes: Callable[[], np.ndarray]) -> CovariateDesign:
    """The covariates of a tissue × modality mapped on ``samples`` (see the module docstring).

    Args:
        samples: the n mapped samples, in the order of the matrix.
        lab: the lab's covariates × samples (every one of ``samples``), or None.
        request: the PCs asked for.
        genotypes: returns the pruned dosages (m, n) of ``samples``; called only when genotype PCs are computed.
        phenotypes: returns the normalised phenotypes (p, n); called only when phenotype PCs are computed.
    """
    lab = None if lab is None else lab.loc[:, list(samples)]
    counts = {k: request.count(k) for k in KINDS}
    design = CovariateDesign(frame=pd.DataFrame())
    if lab is not None:
        named = {k: [str(c) for c in lab.index if pc_kind(c) == k] for k in KINDS}
        for kind in request.defaults():
            if counts[kind] and named[kind]:
                design.lab_pcs[kind] = {"covariates": named[kind], "by": "name"}
                counts[kind] = 0
    data: dict[str, np.ndarray] = {}

    def build() -> pd.DataFrame:
        """The matrix for ``counts``, reading each kind's data once and only when PCs of it fit."""
        room = max(max_covariates(len(samples)) - (0 if lab is None else len(lab)), 0)
        n_g = min(counts[GENOTYPE], room)
        n_p = min(counts[PHENOTYPE], room - n_g)
        for kind, n, read in ((GENOTYPE, n_g, genotypes), (PHENOTYPE, n_p, phenotypes)):
            if n and kind not in data:
                data[kind] = read()
        return pca_covariates(samples, data[GENOTYPE] if n_g else None, data[PHENOTYPE] if n_p else None,
                              n_g, n_p, lab)

    frame = build()
    n_lab = 0 if lab is None else len(lab)
    if lab is not None:
        changed = False
        for kind in request.defaults():
            first = _computed_of(frame, n_lab, kind)[:1]
            if not first:
                continue
            name, r = _closest(frame.loc[first[0]].to_numpy(), lab)
            if name is not None and abs(r) >= LAB_PC_R:
                design.lab_pcs[kind] = {"covariates": [name], "by": "correlation", "r": round(abs(r), 4)}
                counts[kind] = 0
                changed = True
        if changed:
            frame = build()
    design.frame = frame
    design.computed = [str(c) for c in frame.index[:len(frame) - n_lab]]
    design.lab = [] if lab is None else [str(c) for c in lab.index]
    _explain(design, request, counts, len(samples), lab)
    return design


def _computed_of(frame: pd.DataFrame, n_lab: int, kind: str) -> list[str]:
    """Names of the computed PCs of ``kind`` in ``frame`` (whose last ``n_lab`` rows are the lab's)."""
    computed = [str(c) for c in frame.index[:len(frame) - n_lab]]
    return [c for c in computed if re.fullmatch(rf"(?:computed_)*{PC_PREFIX[kind]}\d+", c)]


def _closest(x: np.ndarray, lab: pd.DataFrame) -> tuple[str | None, float]:
    """The lab covariate of more than two distinct values most correlated with ``x`` (n,), and its Pearson r."""
    values = lab.to_numpy(np.float64)
    usable = np.array([len(np.unique(row)) > 2 for row in values], dtype=bool)
    if not usable.any():
        return None, 0.0
    L = values[usable] - values[usable].mean(axis=1, keepdims=True)
    xc = x - x.mean()
    denom = np.linalg.norm(L, axis=1) * np.linalg.norm(xc)
    r = np.divide(L @ xc, denom, out=np.zeros(len(L)), where=denom > 0)
    best = int(np.argmax(np.abs(r)))
    return str(lab.index[np.flatnonzero(usable)[best]]), float(r[best])


def _explain(design: CovariateDesign, request: PcRequest, counts: dict[str, int], n: int, lab: pd.DataFrame | None) -> None:
    """Fill ``design.notes`` and ``design.warnings``."""
    skipped = [f"{kind} PCs ({name_runs(found['covariates'])}, "
               + ("by name)" if found["by"] == "name" else f"|r| = {found['r']:.2f} with the first computed {kind} PC)")
               for kind, found in design.lab_pcs.items()]
    if skipped:
        design.notes.append(f"the lab's covariates already hold {' and '.join(skipped)}: no {' or '.join(design.lab_pcs)} "
                            "PC is computed (set genotype_pcs / phenotype_pcs in atlas.yaml to compute them anyway)")
    n_lab = len(design.lab)
    for kind in KINDS:
        made = len(_computed_of(design.frame, n_lab, kind))
        if counts[kind] and made < counts[kind]:
            design.notes.append(f"{made} of the {counts[kind]} {kind} PCs asked for are computed: {n} samples leave "
                                f"room for {max_covariates(n)} covariates ({n_lab} of them the lab's), or the data "
                                "have lower rank")
    if lab is None or not design.computed:
        return
    if any(c.startswith("computed_") for c in design.computed):
        explicit = " and ".join(f"{kind}_pcs: {request.count(kind)}" for kind in KINDS
                                if request.explicit(kind) and counts[kind])
        why, fix = (f"as {explicit} is set, ", " (set it to 0 to map with the lab's alone)") if explicit else ("", "")
        design.warnings.append(f"the lab's covariates already use names of computed PCs, which usually means they "
                               f"hold the PCs to use; {why}the computed ones are added, named "
                               f"{name_runs(design.computed)}{fix}")
    for name in design.computed:
        other, r = _closest(design.frame.loc[name].to_numpy(), lab)
        if other is not None and abs(r) >= LAB_PC_R:
            kind = GENOTYPE if _computed_of(design.frame.loc[[name]], 0, GENOTYPE) else PHENOTYPE
            design.warnings.append(
                f"the computed {name} and the lab's {other} correlate (|r| = {abs(r):.2f}): the same axis twice, as "
                f"{kind}_pcs: {request.count(kind)} is set explicitly; if the lab's covariates already hold the "
                f"{kind} PCs to use, set {kind}_pcs: 0 or leave it unset")
            break


def check_covariate_matrix(frame: pd.DataFrame) -> list[str]:
    """What makes covariates × samples ``frame`` unusable for mapping: duplicate names, a constant covariate
    (collinear with the intercept), more than ``n − 3`` covariates for n samples (no residual degree of
    freedom), a covariate that is a linear combination of the intercept and the covariates before it (the
    engine's criterion, :func:`~qtlatlas.engine.residualize.dependent_columns`). Empty when usable."""
    problems = []
    names = [str(c) for c in frame.index]
    dup = sorted({c for c in names if names.count(c) > 1})
    if dup:
        problems.append(f"duplicate covariate name(s) {', '.join(dup)}")
    k, n = frame.shape
    values = frame.to_numpy(np.float64)
    constant = [names[i] for i in range(k) if k and values[i].max() == values[i].min()]
    if constant:
        problems.append(f"covariate(s) {_few(constant)} constant across the {n} mapped samples (collinear with the "
                        "intercept)")
    if k > max_covariates(n):
        problems.append(f"{k} covariates for {n} mapped samples leave no residual degree of freedom "
                        f"(n − 2 − covariates = {n - 2 - k}); at most {max(max_covariates(n), 0)}")
    elif k and not constant:
        dependent = [names[i] for i in dependent_columns(values.T)]
        if dependent:
            problems.append(f"covariate(s) {_few(dependent)} are linear combinations of the covariates listed "
                            "before them (and the intercept): the matrix is not of full rank")
    return problems


def _few(names: list[str], n: int = 5) -> str:
    return ", ".join(f"'{c}'" for c in names[:n]) + (f" … (+{len(names) - n})" if len(names) > n else "")
