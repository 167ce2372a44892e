"""``qtlatlas validate``: what a tissue × modality will be mapped with, checked before anything runs.

* the lab's covariates file (:func:`check_lab_covariates`): it parses, has every mapped sample and leaves
  residual degrees of freedom;
* the final covariate matrix as the pipeline's prepare task builds it (:func:`check_design`, with the
  pipeline's own :func:`~qtlatlas.mapping.covariate_design.design_covariates`, normalisation and pruning):
  unique names, no constant covariate, full rank, fewer covariates than samples − 2; which PCs are computed
  and why some are not (a note);
* which phenotypes can be tested (:func:`check_testable`, :mod:`qtlatlas.mapping.untestable`): chromosomes
  without genotypes named, phenotypes without a cis variant counted.

Every message starts with the YAML path of the entry to fix (``releases[0].tissues.LCL.expression``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import QtlAtlasError
from .io.covariates import read_covariates
from .io.genotype_set import open_genotype_files
from .io.phenotypes import PhenotypeTable
from .io.sample_labels import relabel_frame
from .mapping.covariate_design import (
    GENOTYPE,
    PHENOTYPE,
    PcRequest,
    check_covariate_matrix,
    design_covariates,
    name_runs,
)
from .mapping.prepare import normalised_table, pruned_dosages, pruned_variant_ids
from .mapping.untestable import find_untestable

PREVIEW = 5


def _preview(ids: list[str], n: int = PREVIEW) -> str:
    return ", ".join(ids[:n]) + (f" … (+{len(ids) - n})" if len(ids) > n else "")


@dataclass
class EntryContext:
    """One tissue × modality being validated: ``entry`` its YAML path, ``label`` (``r1 LCL/expression``) for
    people, ``used`` the samples it is mapped on; ``rep`` the release report and ``check`` its
    :class:`~qtlatlas.validate.InputCheck`, both filled in."""

    entry: str
    label: str
    used: list[str]
    rep: object
    check: object

    def error(self, where: str, message: str) -> None:
        self.rep.errors.append(f"{where}: {message}")
        self.check.failed = True


class PrunedGenotypes:
    """The release's pruned variants (:func:`~qtlatlas.mapping.prepare.pruned_variant_ids`, over every genotyped
    sample, as the pipeline's prune task), computed on first use and shared by the entries of a release."""

    def __init__(self, genotypes: list[Path]):
        self.genotypes = [str(g) for g in genotypes]
        self._ids: list[str] | None = None

    def dosages(self, samples: list[str]) -> np.ndarray:
        """Pruned dosages (m, n) of ``samples``."""
        reader = open_genotype_files(self.genotypes)
        if self._ids is None:
            self._ids = pruned_variant_ids(reader)
        return pruned_dosages(reader, self._ids, samples)


def check_lab_covariates(path: Path, ctx: EntryContext, relabel: dict[str, str] | None = None) -> pd.DataFrame | None:
    """The lab's covariates of an entry (``covariates × samples`` of the mapped samples), or None after an
    error: the file parses, has every mapped sample, and leaves residual degrees of freedom on its own.
    ``relabel`` names RNA sample-id columns by individual (:mod:`qtlatlas.io.sample_labels`)."""
    where = f"{ctx.entry}.covariates"
    try:
        cov = relabel_frame(read_covariates(path), relabel or {}, str(path))
    except QtlAtlasError as e:
        ctx.error(where, str(e))
        return None
    ctx.check.n_covariate_samples = cov.shape[1]
    ctx.check.not_in_covariates = [s for s in ctx.used if s not in cov.columns]
    if ctx.check.not_in_covariates:
        ctx.error(where, f"{path}: {len(ctx.check.not_in_covariates)} sample(s) of {ctx.label} are absent from the "
                         f"covariates: {_preview(ctx.check.not_in_covariates)}")
        return None
    n, k = len(ctx.used), len(cov)
    if ctx.used and k > n - 3:
        ctx.error(where, f"{path}: {k} covariates for the {n} mapped samples of {ctx.label} leave no residual degree "
                         f"of freedom (n − 2 − covariates = {n - 2 - k}); give at most {max(n - 3, 0)}")
        return None
    return cov.loc[:, ctx.used]


def check_design(ctx: EntryContext, inp, request: PcRequest, table: PhenotypeTable, lab: pd.DataFrame | None,
                 pruned: PrunedGenotypes, relabel: dict[str, str] | None = None) -> None:
    """The covariate matrix the prepare task will build for the entry (the lab's ``lab``, or None, plus the
    PCs of ``request``), from the BED read as ``table`` (all its samples): problems are errors, what was
    decided a note, computed PCs duplicating lab ones a warning. Without lab covariates the matrix is PCs only
    (orthogonal, never constant, capped at n − 3), so nothing is computed here. ``relabel`` names the counts
    BED's RNA sample-id columns by individual, as ``table``'s are."""
    n = len(ctx.used)
    if lab is None:
        room = max(n - 3, 0)
        g = min(request.genotype, room)
        ctx.check.model = f"{g} + {min(request.phenotype, room - g)} PCs"
        return

    def phenotypes() -> np.ndarray:
        mapped = table.subset_samples(ctx.used)
        return mapped.values if inp.normalised else normalised_table(mapped, inp.normalization, inp.counts,
                                                                      relabel=relabel)[0].values

    design = design_covariates(ctx.used, lab, request, lambda: pruned.dosages(ctx.used), phenotypes)
    kinds = {GENOTYPE: "gPC", PHENOTYPE: "pPC"}
    computed = {k: sum(1 for c in design.computed if c.removeprefix("computed_").startswith(v)) for k, v in kinds.items()}
    ctx.check.model = (f"{len(design.frame)}: {len(design.lab)} lab + {computed[GENOTYPE]} + {computed[PHENOTYPE]} PCs"
                       if design.computed else f"{len(design.frame)} lab")
    where = f"{ctx.entry}.covariates"
    problems = check_covariate_matrix(design.frame)
    if problems:
        ctx.error(where, f"{inp.covariates}: the covariates {ctx.label} would be mapped with "
                         f"({name_runs([str(c) for c in design.frame.index])}): {'; '.join(problems)}")
    for note in design.notes:
        ctx.rep.notes.append(f"{where}: {ctx.label}: {note}")
    for warning in design.warnings:
        ctx.rep.warnings.append(f"{where}: {ctx.label}: {warning}")


def check_testable(ctx: EntryContext, table: PhenotypeTable, variants: pd.DataFrame, window: int, bed: Path,
                   field: str, mapped: bool) -> None:
    """Phenotypes of the entry's BED (``field``: its key, ``bed``) on chromosomes without genotypes (named) and,
    for a mapped entry, without a variant within ``window`` of their TSS (counted): a warning, or an error when
    no phenotype is left to test."""
    found = find_untestable(table.positions, variants, window)
    where = f"{ctx.entry}.{field}"
    if not mapped:  # imported results: only the genotypes' chromosomes matter (genotype plots)
        found.no_cis_variant = []
    ctx.check.n_testable = found.n_testable
    if not found.untestable:
        return
    genotyped = sorted(set(variants["chrom"].astype(str)))
    if not found.n_testable:
        ctx.error(where, f"{bed}: no phenotype can be tested: {found.message()} (genotypes: {_preview(genotyped)})")
    else:
        ctx.rep.warnings.append(f"{where}: {ctx.label}: {found.message()}; they are "
                                f"{'not mapped' if mapped else 'shown without genotypes'}")
