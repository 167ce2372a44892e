"""``qtlatlas validate``: check that every file of an atlas exists and parses, and reconcile sample ids.

For each release, samples used for a tissue × modality are
``phenotype BED samples ∩ genotyped samples`` (and they must all be present in the covariates file when
one is given, leaving residual degrees of freedom). A BED declared ``normalised`` must have no missing value
and no constant row over those samples. What ``qtlatlas run`` would refuse later is checked here first
(:mod:`.validate_covariates`): the covariate matrix its prepare task builds, and which phenotypes can be
tested. Every problem found is collected, so one run reports all of them, and each names the file (and line)
and the YAML path at fault; ``notes`` say what will be done (e.g. no PCs computed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .config import Atlas, Release
from .errors import InputFileError, QtlAtlasError
from .io.annotation import annotation_files, read_annotation
from .io.genotypes import open_genotypes
from .io.groups import PANTRY_SEPARATOR, check_groups_cover, genes_of, read_groups
from .io.gtf import Annotation
from .io.normalised import check_normalised
from .io.phenotypes import PhenotypeTable, read_phenotype_bed
from .io.sample_labels import relabel, sample_individuals
from .io.sumstats import read_sumstats_header
from .mapping.covariate_design import PcRequest
from .release.sample_tables import release_sample_metadata
from .validate_covariates import (
    EntryContext,
    PrunedGenotypes,
    check_design,
    check_lab_covariates,
    check_testable,
)
from .validate_imported import check_imported

#: Fewer usable samples than this is reported as a warning (mapping has little power below it).
MIN_SAMPLES_WARNING = 20
#: Fraction of phenotypes whose TSS must agree with the annotation; below it the build is suspect.
MIN_TSS_AGREEMENT = 0.5


@dataclass
class InputCheck:
    """Sample reconciliation of one tissue × modality of a release; ``n_testable``: phenotypes that can be
    tested in cis, ``model``: the covariates it will be mapped with, in a few words."""

    tissue: str
    modality: str
    n_phenotypes: int = 0
    n_bed_samples: int = 0
    n_genotyped: int = 0
    n_covariate_samples: int | None = None
    n_used: int = 0
    n_testable: int | None = None
    model: str = ""
    not_genotyped: list[str] = field(default_factory=list)
    not_in_covariates: list[str] = field(default_factory=list)
    failed: bool = False


@dataclass
class ReleaseReport:
    """Everything ``validate`` found for one release."""

    release: str
    genome: str
    n_variants: int = 0
    n_genotyped_samples: int = 0
    inputs: list[InputCheck] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class AtlasReport:
    releases: list[ReleaseReport]
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and all(not r.errors for r in self.releases)

    def all_errors(self) -> list[str]:
        return self.errors + [e for r in self.releases for e in r.errors]


def _preview(ids: list[str], n: int = 5) -> str:
    return ", ".join(ids[:n]) + (f" … (+{len(ids) - n})" if len(ids) > n else "")


def validate_atlas(
    atlas: Atlas,
    releases: list[str] | None = None,
    on_step: Callable[[str], None] | None = None,
) -> AtlasReport:
    """Check the files of ``atlas`` (all releases, or those named) and return a report.

    ``on_step`` is called with a short description before each file is read (for progress display).
    """
    step = on_step or (lambda _msg: None)
    selected = [atlas.release(r) for r in releases] if releases else list(atlas.releases)
    report = AtlasReport(releases=[])
    for index, release in enumerate(atlas.releases):
        if release in selected:
            report.releases.append(_validate_release(atlas, release, index, step))
    _validate_studies(atlas, report, step)
    _validate_traits(atlas, report, step)
    _validate_ld_reference(atlas, report, step)
    return report


def _validate_release(atlas: Atlas, release: Release, index: int, step) -> ReleaseReport:
    rep = ReleaseReport(release=release.id, genome=release.genome)
    where = f"releases[{index}]"
    geno_samples, variants = _check_genotypes(release, rep, where, step)
    pruned = PrunedGenotypes(release.genotypes)
    annotation = _check_annotation(release, rep, step)
    step(f"{release.id} imported result tables")
    imported = check_imported(atlas, release, index, rep)
    for tissue, modality, inp in release.inputs():
        step(f"{release.id} {tissue}/{modality}")
        check = InputCheck(tissue=tissue, modality=modality)
        rep.inputs.append(check)
        if release.imported(tissue, modality):
            n_errors = len(rep.errors)
            n = imported.check_tissue(tissue, modality, inp.results, f"{where}.tissues.{tissue}.{modality}.results")
            check.n_phenotypes = n or 0
            check.failed = len(rep.errors) > n_errors
        bed = inp.bed if inp.bed is not None else inp.results.phenotypes
        if bed is None:
            continue
        try:
            # RNA sample ids named in the release's samples table count as their individuals
            table = relabel(read_phenotype_bed(bed, allow_missing=True), sample_individuals(release.samples, tissue),
                            str(bed))
        except QtlAtlasError as e:
            rep.errors.append(f"{where}.tissues.{tissue}.{modality}.{'bed' if inp.bed else 'results.phenotypes'}: {e}")
            check.failed = True
            continue
        check.n_phenotypes, check.n_bed_samples = len(table.phenotype_ids), len(table.samples)
        used = table.samples if geno_samples is None else [s for s in table.samples if s in geno_samples]
        check.n_genotyped = len(used)
        check.not_genotyped = [s for s in table.samples if geno_samples is not None and s not in geno_samples]
        label = f"{release.id} {tissue}/{modality}"
        entry = f"{where}.tissues.{tissue}.{modality}"
        if geno_samples is not None and not used:
            rep.errors.append(
                f"{entry}.{'bed' if inp.bed else 'results.phenotypes'}: {bed}: none of its {len(table.samples)} samples is genotyped "
                f"(first BED samples: {_preview(table.samples, 3)}; first genotyped: {_preview(sorted(geno_samples), 3)})"
            )
            check.failed = True
        elif check.not_genotyped:
            rep.warnings.append(
                f"{label}: {len(check.not_genotyped)} BED sample(s) not genotyped, left out: {_preview(check.not_genotyped)}"
            )
        if inp.normalised and used:
            try:
                check_normalised(table.subset_samples(used), bed)
            except QtlAtlasError as e:
                rep.errors.append(f"{entry}.bed (normalised: true): {e}")
                check.failed = True
        ctx = EntryContext(entry, label, used, rep, check)
        lab = (check_lab_covariates(inp.covariates, ctx, sample_individuals(release.samples, tissue))
               if inp.covariates is not None else None)
        if inp.bed is not None and used and not check.failed and variants is not None:
            step(f"{release.id} {tissue}/{modality} covariates")
            check_design(ctx, inp, PcRequest.of(inp, atlas.mapping), table, lab, pruned,
                         sample_individuals(release.samples, tissue))
        if variants is not None:
            check_testable(ctx, table, variants, atlas.mapping.window, bed, "bed" if inp.bed else "results.phenotypes",
                           mapped=inp.bed is not None)
        check.n_used = 0 if check.failed else len(used)
        if 0 < check.n_used < MIN_SAMPLES_WARNING:
            rep.warnings.append(f"{label}: only {check.n_used} usable samples; QTL mapping will have little power")
        if atlas.modality(modality).grouped or inp.groups is not None:
            _check_groups(inp, table, atlas.modality(modality).grouped, rep, label)
        if inp.counts is not None:
            _check_counts(inp.counts, table, rep, label, sample_individuals(release.samples, tissue))
        if annotation is not None:
            _check_tss(table, annotation, rep, label, bed, release)
    _check_sample_tables(atlas, release, geno_samples, rep, where, step)
    return rep


def _check_sample_tables(atlas: Atlas, release: Release, genotyped: set[str] | None, rep: ReleaseReport, where: str,
                         step) -> None:
    """The release's ``samples`` / ``individuals`` tables: well-formed, and reconciled by name with the phenotype
    BEDs and the genotypes (:func:`qtlatlas.io.sample_metadata.reconcile`)."""
    if release.samples is None and release.individuals is None:
        return
    step(f"{release.id} sample tables")
    try:
        _meta, found = release_sample_metadata(atlas, release, genotyped)
    except QtlAtlasError as e:
        key = "individuals" if isinstance(e, InputFileError) and e.path == str(release.individuals) else "samples"
        rep.errors.append(f"{where}.{key}: {e}")
        return
    rep.errors.extend(f"{where}.samples: {e}" for e in found.errors)
    rep.warnings.extend(found.warnings)


def _check_genotypes(release: Release, rep: ReleaseReport, where: str, step) -> tuple[set[str] | None, pd.DataFrame | None]:
    """The genotyped samples and the variants (``chrom``, ``pos``) of the release; (None, None) after an error."""
    samples: list[str] | None = None
    positions: list[pd.DataFrame] = []
    for i, path in enumerate(release.genotypes):
        step(f"{release.id} genotypes {Path(path).name}")
        try:
            reader = open_genotypes(path)
            variants = reader.variants  # a VCF is scanned here; malformed records surface now
        except QtlAtlasError as e:
            rep.errors.append(f"{where}.genotypes[{i}]: {e}")
            return None, None
        if samples is None:
            samples = list(reader.samples)
        elif list(reader.samples) != samples:
            rep.errors.append(
                f"{where}.genotypes[{i}]: {path}: samples differ from {release.genotypes[0]} "
                "(every genotype file of a release must list the same samples in the same order)"
            )
        rep.n_variants += len(variants)
        if reader.multiallelic_records:
            rep.warnings.append(f"{path}: {reader.multiallelic_records:,} multi-allelic record(s) skipped "
                                "(split them with bcftools norm -m- to keep them)")
        positions.append(variants[["chrom", "pos"]])
    rep.n_genotyped_samples = len(samples or [])
    return set(samples or []), pd.concat(positions, ignore_index=True)


def _check_annotation(release: Release, rep: ReleaseReport, step) -> Annotation | None:
    files = annotation_files(release.annotation)
    step(f"{release.id} annotation {', '.join(Path(f).name for f in files)}")
    try:
        return read_annotation(release.annotation)
    except QtlAtlasError as e:
        rep.errors.append(f"annotation: {e}")
        return None


def _check_groups(inp, table: PhenotypeTable, grouped: bool, rep: ReleaseReport, label: str) -> None:
    if inp.groups is None:
        no_prefix = [p for p in table.phenotype_ids if PANTRY_SEPARATOR not in p]
        if no_prefix:
            rep.errors.append(
                f"{inp.bed}: {label} is a grouped modality without a group file, and {len(no_prefix)} phenotype "
                f"id(s) have no 'gene__feature' form to group by: {_preview(no_prefix)}"
            )
        else:
            rep.warnings.append(f"{label}: no group file; phenotypes grouped by the gene id before '__'")
        return
    try:
        groups = read_groups(inp.groups)
        check_groups_cover(groups, table.phenotype_ids, groups_path=str(inp.groups), bed_path=str(inp.bed))
    except QtlAtlasError as e:
        rep.errors.append(f"{label} groups: {e}")


def _check_counts(path: Path, table: PhenotypeTable, rep: ReleaseReport, label: str,
                  names: dict[str, str]) -> None:
    try:
        counts = relabel(read_phenotype_bed(path, allow_missing=True), names, str(path))
    except QtlAtlasError as e:
        rep.errors.append(f"{label} counts: {e}")
        return
    missing = [s for s in table.samples if s not in set(counts.samples)]
    if missing:
        rep.errors.append(f"{path}: {len(missing)} sample(s) of the phenotype BED are absent: {_preview(missing)}")


def _check_tss(table: PhenotypeTable, ann: Annotation, rep, label: str, bed: Path, release: Release) -> None:
    """Phenotype positions must agree with the annotation's TSSs, or the genome build is probably wrong."""
    if "gene_id" in table.positions:
        genes = table.positions["gene_id"].astype(str)
    else:
        genes = genes_of(table.positions["phenotype_id"].astype(str))
    tss = ann.genes.drop_duplicates("gene_id").set_index("gene_id")["tss"]
    known = genes.isin(tss.index).to_numpy()
    if known.sum() == 0:
        rep.warnings.append(f"{label}: no phenotype's gene id is in the annotation {release.annotation}")
        return
    expected = tss.reindex(genes[known]).to_numpy()
    agree = float(np.mean(table.positions["end"].to_numpy()[known] == expected))
    if agree < MIN_TSS_AGREEMENT:
        rep.errors.append(
            f"{bed}: only {agree:.0%} of phenotypes have their BED end at the TSS of their gene in "
            f"{release.annotation} (genome {release.genome}); is the BED on another genome build?"
        )


def _validate_studies(atlas: Atlas, report: AtlasReport, step) -> None:
    for i, study in enumerate(atlas.studies):
        for j, f in enumerate(study.files):
            step(f"study {study.id}")
            if not Path(f.path).is_file():
                report.errors.append(f"studies[{i}].files[{j}]: {f.path}: file not found")


def _validate_traits(atlas: Atlas, report: AtlasReport, step) -> None:
    for i, trait in enumerate(atlas.twas.traits):
        step(f"trait {trait.id}")
        try:
            read_sumstats_header(trait.sumstats)
        except QtlAtlasError as e:
            report.errors.append(f"twas.traits[{i}].sumstats: {e}")


def _validate_ld_reference(atlas: Atlas, report: AtlasReport, step) -> None:
    """``twas.ld_reference``: every source opens and has variants, and all list the same samples (the
    association reads them as one panel); otherwise a TWAS run would fail only after fitting its weights."""
    samples: list[str] | None = None
    first = None
    for i, path in enumerate(atlas.twas.ld_reference):
        step(f"LD reference {Path(path).name}")
        where = f"twas.ld_reference[{i}]"
        try:
            reader = open_genotypes(path)
            variants = reader.variants
        except QtlAtlasError as e:
            report.errors.append(f"{where}: {e}")
            continue
        if len(variants) == 0:
            report.errors.append(f"{where}: {path}: no variant")
        if samples is None:
            samples, first = list(reader.samples), path
        elif list(reader.samples) != samples:
            report.errors.append(f"{where}: {path}: samples differ from {first} (the files of an LD reference "
                                 "must list the same samples in the same order)")
    if atlas.twas.ld_reference and not atlas.twas.traits:
        report.warnings.append("twas.ld_reference is set but twas.traits is empty: it is not used")
