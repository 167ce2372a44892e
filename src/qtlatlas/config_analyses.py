"""Settings of the analyses that follow mapping: SuSiE fine-mapping and colocalisation with GWAS."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from .config_base import ConfigModel as _Model


class FinemappingSettings(_Model):
    """SuSiE fine-mapping (susieR's defaults) of every phenotype, or every phenotype of a group, with
    q ≤ ``mapping.fdr``, per mapped tissue × modality, on the release genotypes with genotypes and phenotypes
    residualised on the mapping covariates."""

    enabled: bool = Field(True, description="fine-map the significant phenotypes of every mapped tissue × modality")
    L: int = Field(10, ge=1, le=50, description="maximum number of single effects per phenotype")
    scaled_prior_variance: float = Field(0.2, gt=0, description="prior variance of an effect, in units of var(y)")
    coverage: float = Field(0.95, gt=0, lt=1, description="credible-set coverage")
    min_abs_corr: float = Field(0.5, ge=0, le=1, description="purity: smallest |r| between members of a set")


class ColocSettings(_Model):
    """Colocalisation of every GWAS trait (``twas.traits``) with every phenotype of every tissue × modality
    whose tested variants overlap one of the trait's loci: coloc.abf (Giambartolomei et al. 2014)."""

    enabled: bool = Field(True, description="colocalise every trait of twas.traits when the release has all pairs")
    p_threshold: float = Field(5e-8, gt=0, le=1, description="GWAS lead variants are below this p-value")
    lead_distance: int = Field(1_000_000, ge=0, description="lead variants at least this far apart, bp")
    window: int = Field(500_000, gt=0, description="a locus is its lead ± this, bp")
    p1: float = Field(1e-4, gt=0, lt=1, description="prior probability that a variant is causal for the GWAS")
    p2: float = Field(1e-4, gt=0, lt=1, description="prior probability that a variant is causal for the QTL")
    p12: float = Field(1e-5, gt=0, lt=1, description="prior probability that a variant is causal for both")
    ld: Literal["release", "reference"] = Field(
        "release", description="LD of coloc.susie's GWAS fine-mapping: the release's genotypes (right when the GWAS "
        "was run on the atlas's individuals, or a cohort of their ancestry) or twas.ld_reference (a panel of the "
        "GWAS cohort's ancestry)")
    susie: bool = Field(True, description="also coloc.susie: the GWAS fine-mapped with SuSiE on summary statistics "
                        "(LD from the release genotypes) against each fine-mapped phenotype's credible sets "
                        "(p12 at most coloc.susie's 5e-6)")

    @model_validator(mode="after")
    def _priors(self) -> ColocSettings:
        if self.p12 > min(self.p1, self.p2):
            raise ValueError(f"p12 ({self.p12:g}) may not exceed p1 ({self.p1:g}) or p2 ({self.p2:g})")
        return self


#: Genes expressed by one sex in mammals, matched to gene names case-insensitively (human, mouse and rat
#: spellings alike): XIST in females; Y-chromosome genes in males.
DEFAULT_FEMALE_MARKERS = ("XIST",)
DEFAULT_MALE_MARKERS = ("RPS4Y1", "DDX3Y", "KDM5D", "UTY", "EIF1AY", "USP9Y", "ZFY", "EIF2S3Y")


class SexMarkers(_Model):
    """Gene names (or ids) whose expression tells a sample's sex, matched case-insensitively."""

    female: list[str] = Field(default_factory=lambda: list(DEFAULT_FEMALE_MARKERS),
                              description="genes expressed in females only (XIST)")
    male: list[str] = Field(default_factory=lambda: list(DEFAULT_MALE_MARKERS),
                            description="genes expressed in males only (Y-chromosome genes)")


class SampleQcSettings(_Model):
    """Sample quality control before publishing (``qtlatlas validate --qc`` and the pipeline's ``sample_qc``
    task): the declared sex of each individual against the expression of sex marker genes, and each
    sample's identity against the genotypes through the strongest cis-QTLs of its tissue."""

    enabled: bool = Field(True, description="run sample QC in the pipeline, after the cis pass of every mapped "
                          "tissue × modality (without an individuals table the sex check infers sexes only)")
    sex_markers: SexMarkers = Field(default_factory=SexMarkers)
    identity_qtls: int = Field(1000, ge=10, description="strongest cis-QTL leads (one per phenotype, every "
                               "modality of the tissue) used to match each sample to an individual")
