"""The ``atlas.yaml`` model: the single source of truth for tissues, modalities, releases and studies.
A release and the inputs of its tissues × modalities are modelled in :mod:`.config_release` (re-exported
here), the base model and identifier rule in :mod:`.config_base`.

Load with :func:`load_atlas`. Relative paths in the file are resolved against the directory of the YAML
file. Every error names the YAML path at fault (``releases[0].tissues.BLA.expression.bed``) and, where it
can be found, the line of the YAML file, e.g.::

    atlas.yaml:14: releases[0].tissues.BLA: unknown tissue 'BLA'; tissues defined: ACC, IL

A minimal file::

    atlas: {name: My atlas}
    tissues:
      - {id: BLA, name: Basolateral amygdala, colour: "#1f77b4"}
    releases:
      - id: v1
        genome: rn7
        annotation: genes.gtf.gz
        genotypes: genotypes.vcf.gz
        tissues:
          BLA:
            expression: {bed: BLA.expression.bed.gz}
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from .config_analyses import ColocSettings as ColocSettings
from .config_analyses import FinemappingSettings as FinemappingSettings
from .config_analyses import SampleQcSettings as SampleQcSettings
from .config_base import ID_PATTERN as ID_PATTERN  # re-exported: part of the config API
from .config_base import VISIBILITY_HELP, ConfigModel, Visibility, check_id
from .config_links import LinkOuts
from .config_release import DEFAULT_UNIT as DEFAULT_UNIT  # the per-release model, re-exported
from .config_release import GeneTables as GeneTables
from .config_release import ImportedResults as ImportedResults
from .config_release import MultiTissueResults as MultiTissueResults
from .config_release import PhenotypeInput as PhenotypeInput
from .config_release import Release
from .config_yaml import LocatedError, config_error, resolve_paths
from .config_yaml import format_location as format_location  # re-exported: part of the config API
from .errors import ConfigError

#: The modality id of cross-modality results (every modality of a tissue mapped together).
CROSS_MODALITY = "cross_modality"

_COLOUR = re.compile(r"^#[0-9A-Fa-f]{6}$")
_Model, _check_id = ConfigModel, check_id


# --------------------------------------------------------------------------------------------------
# Atlas description and data access
# --------------------------------------------------------------------------------------------------


class AtlasInfo(_Model):
    """Name and description shown on every page."""

    name: str
    description: str = ""
    contact: str | None = None
    logo: Path | None = None
    website: str | None = None


class Link(_Model):
    """One link of the data-access page (an accession, an archive, a repository)."""

    label: str
    url: str | None = None
    accession: str | None = None
    doi: str | None = None
    description: str = ""


class DataAccess(_Model):
    """How to obtain the data behind the atlas, as atlases publish it."""

    raw_reads: list[Link] = Field(default_factory=list, description="e.g. SRA BioProject accessions")
    archives: list[Link] = Field(default_factory=list, description="processed-data archives with DOIs")
    variant_calls: list[Link] = Field(default_factory=list, description="the source of the genotypes")
    code: list[Link] = Field(default_factory=list, description="code repositories")
    citation: str = ""
    data_use: str = ""


# --------------------------------------------------------------------------------------------------
# Tissues and modalities
# --------------------------------------------------------------------------------------------------


class Tissue(_Model):
    """A tissue (or cell type) of the atlas."""

    id: str
    name: str
    colour: str = "#7f7f7f"
    ontology_id: str | None = None
    description: str = ""
    site: str = Field("", description="the broader tissue site (RatGTEx/GTEx tissueSite, e.g. Brain)")
    abbreviation: str = Field("", description="short label (RatGTEx/GTEx tissueSiteDetailAbbr)")
    visibility: Visibility = Field("public", description=VISIBILITY_HELP)
    citation: str = Field("", description="how to cite the tissue: shown wherever it appears")
    data_use: str = Field("", description="terms of use of the tissue's data: shown wherever it appears")

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        return _check_id(v, "tissue")

    @field_validator("colour")
    @classmethod
    def _colour(cls, v: str) -> str:
        if not _COLOUR.match(v):
            raise ValueError(f"colour {v!r} must be a hex colour like '#1f77b4'")
        return v.lower()


class Modality(_Model):
    """An RNA phenotype modality. ``grouped`` modalities have several phenotypes per gene."""

    id: str
    name: str
    grouped: bool = False
    description: str = ""

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        return _check_id(v, "modality")


#: The six Pantry modalities, available without being declared.
DEFAULT_MODALITIES: tuple[Modality, ...] = (
    Modality(id="expression", name="Expression", grouped=False,
             description="Gene expression: the abundance of each gene's transcripts"),
    Modality(id="isoforms", name="Isoform ratio", grouped=True,
             description="Relative abundance of each transcript isoform of a gene"),
    Modality(id="splicing", name="Intron excision", grouped=True,
             description="Intron excision ratio within splicing clusters"),
    Modality(id="alt_TSS", name="Alternative TSS", grouped=True,
             description="Relative usage of alternative transcription start sites"),
    Modality(id="alt_polyA", name="Alternative polyA", grouped=True,
             description="Relative usage of alternative polyadenylation sites"),
    Modality(id="stability", name="RNA stability", grouped=False,
             description="Exonic to intronic read ratio, a proxy for mRNA stability"),
)


# --------------------------------------------------------------------------------------------------
# Studies and TWAS traits
# --------------------------------------------------------------------------------------------------


class StudyFile(_Model):
    path: Path
    description: str = ""


class Study(_Model):
    """An immutable set of files tied to a publication, shown on a study page."""

    id: str
    title: str
    citation: str = ""
    url: str | None = None
    doi: str | None = None
    genome: str | None = None
    description: str = ""
    files: list[StudyFile] = Field(default_factory=list)
    visibility: Visibility = Field("public", description=VISIBILITY_HELP)
    data_use: str = Field("", description="terms of use of the study's data: shown wherever it appears")

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        return _check_id(v, "study")


class Trait(_Model):
    """A complex trait with GWAS summary statistics, for the TWAS hub."""

    id: str
    name: str
    n: int = Field(gt=0, description="GWAS sample size")
    sumstats: Path = Field(description="summary statistics: SNP A1 A2 Z (plus BETA/SE when present)")
    tags: list[str] = Field(default_factory=list)
    project: str = ""
    genome: str | None = None
    description: str = ""
    visibility: Visibility = Field("public", description=VISIBILITY_HELP)
    citation: str = Field("", description="how to cite the GWAS: shown wherever the trait appears")
    data_use: str = Field("", description="terms of use of the GWAS: shown wherever the trait appears")

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        return _check_id(v, "trait")


TWAS_MODELS = ("top1", "lasso", "enet", "blup")


class TwasSettings(_Model):
    """TWAS of every release: expression weights per tissue × modality (FUSION compute_weights), association
    with each trait's GWAS (FUSION assoc_test) and loci with joint/conditional tests (FUSION post_process).
    Runs as part of ``qtlatlas run`` when traits are listed."""

    traits: list[Trait] = Field(default_factory=list)
    ld_reference: list[Path] = Field(
        default_factory=list,
        description="PLINK prefixes (one, or one per chromosome) of the LD reference panel for association; "
        "empty: the release's own genotypes")
    modalities: list[str] | None = Field(None, description="modalities to fit weights for (default: all)")
    tissues: list[str] | None = Field(None, description="tissues to fit weights for (default: all)")
    window: int = Field(500_000, gt=0, description="weight SNPs within this distance of the TSS, bp")
    models: list[str] = Field(default_factory=lambda: list(TWAS_MODELS))
    crossval: int = Field(5, ge=2, le=20, description="cross-validation folds")
    hsq_p: float = Field(0.01, gt=0, le=1, description="keep phenotypes whose cis-heritability p-value is below")
    coloc_p: float | None = Field(0.05, gt=0, le=1, description="colocalisation (PP0–PP4) for models with TWAS p "
                                  "below this (None: never)")
    perm: int = Field(0, ge=0, description="permutations per model for the permutation test (0: none)")
    locus_window: int = Field(100_000, ge=0, description="padding of weight-SNP spans when forming loci, bp")
    seed: int = 1
    predict_genotypes: list[Path] = Field(
        default_factory=list,
        description="VCF/BCF files or PLINK prefixes (one, or one per chromosome) of the cohort whose phenotypes "
        "each release predicts from its TWAS weights (the predictions downloads); empty: the release's own "
        "genotypes")

    @field_validator("ld_reference", "predict_genotypes", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, (str, os.PathLike)) else v

    @field_validator("models")
    @classmethod
    def _models(cls, v: list[str]) -> list[str]:
        unknown = [m for m in v if m not in TWAS_MODELS]
        if unknown or not v:
            raise ValueError(f"unknown model(s) {', '.join(unknown) or '(none given)'}; choose from {', '.join(TWAS_MODELS)}")
        return list(dict.fromkeys(v))


class MappingSettings(_Model):
    """Parameters of cis/trans mapping shared by every tissue × modality (tensorQTL / Pantry defaults)."""

    window: int = Field(1_000_000, gt=0, description="cis window around the TSS, bp")
    permutations: int = Field(10_000, ge=100)
    seed: int = 12345
    maf_threshold: float = Field(
        0.01, ge=0, lt=0.5,
        description="least minor-allele frequency of a variant, within the samples of each tissue × modality, for it "
        "to be tested (cis, trans, fine-mapping). Default 0.01, as GTEx v8 and the eQTL Catalogue; 0 tests every "
        "polymorphic variant (tensorQTL's default, which `qtlatlas map` keeps)")
    min_mac: int = Field(
        10, ge=0,
        description="least minor-allele count (copies of the minor allele among the samples of each tissue × "
        "modality) of a variant for it to be tested; applied with maf_threshold. Default 10: below about ten "
        "copies a regression slope rests on a handful of individuals, so one outlying sample can make a lead "
        "(a doubleton topping the effect sizes); GTEx v8 likewise requires the minor allele in at least 10 "
        "samples. At the sizes of many labs' cohorts (80–400 individuals) it, not the MAF, is the binding "
        "filter (10 copies of 240 alleles is MAF 0.042). 0: no count filter")
    fdr: float = Field(0.05, gt=0, lt=1)
    qvalue_lambda: float = Field(0.85, ge=0, lt=1)
    genotype_pcs: int = Field(5, ge=0, description="genotype PCs (LD-pruned common variants) added to the covariates "
                              "of every tissue × modality that does not set its own; 0: none")
    phenotype_pcs: int = Field(20, ge=0, description="phenotype PCs added to the covariates of every tissue × "
                               "modality that does not set its own; 0: none")
    trans_modalities: list[str] = Field(default_factory=lambda: ["expression"])
    trans_pval_threshold: float = Field(1e-5, gt=0, le=1)
    adaptive_permutations: bool = Field(
        True,
        description="FastQTL-style adaptive permutations in the cis permutation pass (qtlatlas map cis "
        "--adaptive): permutations run in blocks of 2,048 and a phenotype (or group) stops once 100 of them "
        "reach its observed statistic, so clearly null ones cost 2,048 instead of `permutations`. Trade-off: "
        "pval_perm, pval_beta and the Beta shapes of stopped phenotypes rest on fewer permutations (they "
        "differ from a full run's, e.g. tensorQTL's) and calls within a few percent of the FDR threshold may "
        "flip, as with another seed. On a simulated tissue at RatGTEx density (benchmarks/bench_pipeline.py: "
        "2,000 expression phenotypes, 10,000 permutations) the cis pass took 1.56x less CPU and called the same "
        "897 eGenes (r of -log10 pval_beta 0.9996 near the threshold), where another seed changed 1 call; "
        "false: every phenotype runs all permutations")


# --------------------------------------------------------------------------------------------------
# The atlas
# --------------------------------------------------------------------------------------------------


class Atlas(_Model):
    """The whole atlas configuration (see the module docstring for an example)."""

    atlas: AtlasInfo
    data_access: DataAccess = Field(default_factory=DataAccess)
    tissues: list[Tissue]
    modalities: list[Modality] = Field(default_factory=list, description="added to or overriding the defaults")
    releases: list[Release]
    studies: list[Study] = Field(default_factory=list)
    twas: TwasSettings = Field(default_factory=TwasSettings)
    mapping: MappingSettings = Field(default_factory=MappingSettings)
    finemapping: FinemappingSettings = Field(default_factory=FinemappingSettings)
    coloc: ColocSettings = Field(default_factory=ColocSettings)
    qc: SampleQcSettings = Field(default_factory=SampleQcSettings, description="sample quality control")
    links: LinkOuts = Field(default_factory=LinkOuts, description="external link-outs of genes, variants and "
                            "accessions (see qtlatlas.config_links)")

    @model_validator(mode="after")
    def _cross_references(self) -> Atlas:
        _unique([t.id for t in self.tissues], "tissues", "tissue")
        _unique([m.id for m in self.modalities], "modalities", "modality")
        _unique([r.id for r in self.releases], "releases", "release")
        _unique([s.id for s in self.studies], "studies", "study")
        _unique([t.id for t in self.twas.traits], "twas.traits", "trait")
        if self.coloc.ld == "reference" and not self.twas.ld_reference:
            raise LocatedError(("coloc", "ld"), "coloc.ld is 'reference' but twas.ld_reference names no LD panel")
        tissues = {t.id for t in self.tissues}
        modalities = {m.id for m in self.all_modalities}
        for i, release in enumerate(self.releases):
            for tissue, mods in release.tissues.items():
                if tissue not in tissues:
                    raise LocatedError(
                        ("releases", i, "tissues", tissue),
                        f"unknown tissue {tissue!r}; tissues defined: {', '.join(sorted(tissues))}",
                    )
                for modality, inp in mods.items():
                    if modality not in modalities:
                        raise LocatedError(
                            ("releases", i, "tissues", tissue, modality),
                            f"unknown modality {modality!r}; modalities defined: {', '.join(sorted(modalities))}",
                        )
                    if inp.unit is not None and inp.unit != release.unit(modality):
                        first = next(t for t, m in release.tissues.items() if modality in m and m[modality].unit)
                        raise LocatedError(
                            ("releases", i, "tissues", tissue, modality, "unit"),
                            f"unit {inp.unit!r} differs from {release.unit(modality)!r} of tissue {first}: the "
                            f"{modality} values of a release are shown side by side, in one unit")
                    shared = release.results.get(modality)
                    if inp.results is not None and inp.results.cis is None and inp.results.independent is None and (
                            shared is None or (shared.cis is None and shared.independent is None)):
                        raise LocatedError(
                            ("releases", i, "tissues", tissue, modality, "results", "cis"),
                            "required key is missing (the top-association table; it may instead be given for "
                            f"every tissue in releases[{i}].results.{modality}.cis)")
            for modality, shared in release.results.items():
                if modality not in modalities and modality != CROSS_MODALITY:
                    raise LocatedError(("releases", i, "results", modality),
                                        f"unknown modality {modality!r}; modalities defined: "
                                        f"{', '.join(sorted(modalities | {CROSS_MODALITY}))}")
                if all(getattr(shared, k) is None for k in ("cis", "independent", "signif_pairs", "median")):
                    raise LocatedError(("releases", i, "results", modality),
                                        "name at least one table (cis, independent, signif_pairs, median)")
        for j, m in enumerate(self.mapping.trans_modalities):
            if m not in modalities:
                raise LocatedError(("mapping", "trans_modalities", j), f"unknown modality {m!r}")
        for j, m in enumerate(self.twas.modalities or []):
            if m not in modalities:
                raise LocatedError(("twas", "modalities", j), f"unknown modality {m!r}")
        for j, t in enumerate(self.twas.tissues or []):
            if t not in tissues:
                raise LocatedError(("twas", "tissues", j), f"unknown tissue {t!r}")
        return self

    @property
    def all_modalities(self) -> list[Modality]:
        """Built-in modalities (possibly overridden) followed by user-defined ones."""
        user = {m.id: m for m in self.modalities}
        merged = [user.pop(m.id, m) for m in DEFAULT_MODALITIES]
        return merged + list(user.values())

    def modality(self, modality_id: str) -> Modality:
        for m in self.all_modalities:
            if m.id == modality_id:
                return m
        raise KeyError(modality_id)

    def tissue(self, tissue_id: str) -> Tissue:
        for t in self.tissues:
            if t.id == tissue_id:
                return t
        raise KeyError(tissue_id)

    def release(self, release_id: str | None = None) -> Release:
        """The release with this id, or the last one listed when ``release_id`` is None."""
        if release_id is None:
            return self.releases[-1]
        for r in self.releases:
            if r.id == release_id:
                return r
        known = ", ".join(r.id for r in self.releases)
        raise ConfigError("releases", f"no release {release_id!r}; releases defined: {known}")


def _unique(ids: list[str], location: str, what: str) -> None:
    seen: set[str] = set()
    for i, x in enumerate(ids):
        if x in seen:
            raise LocatedError(tuple(location.split(".")) + (i, "id"), f"duplicate {what} id {x!r}")
        seen.add(x)


# --------------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------------


def parse_atlas(text: str, *, source: str = "atlas.yaml", base_dir: Path | None = None) -> Atlas:
    """Parse and validate atlas YAML text; relative paths are resolved against ``base_dir``."""
    try:
        data = yaml.safe_load(text)
        root = yaml.compose(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        problem = getattr(e, "problem", None) or str(e)
        raise ConfigError("", f"malformed YAML ({problem})", source=where) from None
    if not isinstance(data, dict):
        raise ConfigError("", "the file must be a YAML mapping with keys atlas, tissues, releases", source=source)
    try:
        atlas = Atlas.model_validate(data)
    except ValidationError as e:
        raise config_error(e, root, source) from None
    return resolve_paths(atlas, base_dir) if base_dir is not None else atlas


def load_atlas(path: str | os.PathLike[str]) -> Atlas:
    """Read and validate ``atlas.yaml``; relative paths inside are resolved against its directory."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError("", "configuration file not found", source=str(p))
    try:
        text = p.read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError("", f"cannot read configuration ({e})", source=str(p)) from None
    return parse_atlas(text, source=str(p), base_dir=p.resolve().parent)
