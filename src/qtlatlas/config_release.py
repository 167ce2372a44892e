"""The per-release part of the ``atlas.yaml`` model (:mod:`qtlatlas.config`): a release — genome, annotation,
genotypes — and the inputs of each of its tissue × modality entries (a phenotype BED to map, results to
import, or both), with their per-entry settings (``normalised``, ``normalization``, PC counts, ``unit``)."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator, model_validator

from .config_base import VISIBILITY_HELP, Visibility
from .config_base import ConfigModel as _Model
from .config_base import check_id as _check_id

if TYPE_CHECKING:
    from .config import MappingSettings

#: The unit of unnormalised expression values when atlas.yaml declares none.
DEFAULT_UNIT = "TPM"




class ImportedResults(_Model):
    """Existing tensorQTL / RatGTEx / GTEx-format results of one tissue × modality, imported by ``qtlatlas build``
    instead of running the engine (see :mod:`qtlatlas.results`). ``nominal`` entries may contain ``*``. ``cis``
    may be left out when the release's multi-tissue ``results`` give it."""

    cis: Path | None = Field(None, description="permutation pass with q-values (cis_qtl.txt.gz, GTEx egenes)")
    independent: Path | None = None
    nominal: list[Path] = Field(
        default_factory=list,
        description="nominal pass: Parquet or text files (tensorQTL cis_qtl_pairs, GTEx allpairs), or a per-gene "
        "ZIP archive of p-values (RatGTEx cis_pvals)")
    signif_pairs: Path | None = Field(None, description="significant pairs (tensorQTL signif_pairs, GTEx "
                                      "signif_variant_gene_pairs), text, Parquet or a per-gene ZIP archive")
    trans: Path | None = None
    afc: Path | None = None
    phenotypes: Path | None = Field(default=None, description="the normalised phenotype BED that was mapped")
    covariates: Path | None = None
    median: Path | None = None

    @field_validator("nominal", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, (str, os.PathLike)) else v


class PhenotypeInput(_Model):
    """The inputs of one tissue × modality: the phenotype BED to map, or results to import, or both.

    ``normalised: true`` maps the BED's values as given (already normalised by the lab: no Pantry
    normalisation) and publishes them as the normalised phenotypes. ``genotype_pcs`` / ``phenotype_pcs``
    override the atlas-wide ``mapping`` defaults for this entry; both 0 maps with the lab's ``covariates``
    only (:meth:`pcs`).
    """

    bed: Path | None = Field(default=None, description="phenotype BED (tensorQTL or QTLtools layout): unnormalised "
                             "values, or with normalised: true the values to map as given")
    normalised: bool = Field(False, description="the BED is already normalised: mapped and published as given (no "
                             "normalisation; a row with a missing value or constant across the mapped samples is "
                             "refused)")
    normalization: Literal["quantile", "tmm", "rank"] = Field(
        "quantile", description="how the samples are made comparable before each phenotype's inverse-normal "
        "transform: quantile (Pantry, GTEx eQTL: quantile-normalised samples), tmm (expression: TMM scale factors "
        "of the read counts in 'counts', else of the values; tensorQTL's and GTEx v8's) or rank (nothing)")
    groups: Path | None = Field(default=None, description="phenotype_id<TAB>group_id, for grouped modalities")
    covariates: Path | None = Field(default=None, description="covariates × samples, tensorQTL layout")
    genotype_pcs: int | None = Field(None, ge=0, description="genotype PCs computed and added to the covariates "
                                     "(default: mapping.genotype_pcs)")
    phenotype_pcs: int | None = Field(None, ge=0, description="phenotype PCs computed and added to the covariates "
                                      "(default: mapping.phenotype_pcs)")
    counts: Path | None = Field(default=None, description="log2(count + 1) BED for allelic fold change")
    unit: str | None = Field(None, min_length=1, max_length=24,
                             description="unit of the BED's unnormalised values (expression: TPM, RPKM, FPKM, CPM, "
                             "…), which the portal's labels, API rows and downloads name; default: TPM")
    results: ImportedResults | None = Field(default=None, description="existing results to import")

    @field_validator("unit")
    @classmethod
    def _unit(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"[^\x00-\x1f<>&\"]+", v):
            raise ValueError(f"unit {v!r} may not contain control characters or < > & \"")
        return v

    @model_validator(mode="after")
    def _bed_or_results(self) -> PhenotypeInput:
        if self.bed is None and self.results is None:
            raise ValueError("give the phenotype BED ('bed') or existing results to import ('results')")
        if self.bed is None and self.normalised:
            raise ValueError("'normalised' describes the phenotype BED to map: give 'bed' (imported results name "
                             "their normalised phenotypes in 'results.phenotypes')")
        if self.normalised and "normalization" in self.model_fields_set:
            raise ValueError("'normalization' says how qtlatlas normalises the BED; a BED declared normalised: true "
                             "is mapped as given")
        if self.normalised and self.unit is not None:
            raise ValueError("'unit' names the unit of unnormalised values; a BED declared normalised: true has none "
                             "(its values are published as normalised phenotypes)")
        return self

    def pcs(self, mapping: MappingSettings) -> tuple[int, int]:
        """(genotype PCs, phenotype PCs) computed for this entry: its own counts, else ``mapping``'s."""
        return (mapping.genotype_pcs if self.genotype_pcs is None else self.genotype_pcs,
                mapping.phenotype_pcs if self.phenotype_pcs is None else self.phenotype_pcs)


class GeneTables(_Model):
    """A gene annotation given as tables in the RatGTEx layout instead of a GTF (see :mod:`qtlatlas.io.ratgtex`)."""

    genes: Path = Field(description="gene table: geneId, chromosome, start, end, strand[, tss, description, "
                        "hasEqtl, expr_/testedEqtl_/eqtl_{tissue}] (RatGTEx gene.{v}.tsv)")
    exons: Path | None = Field(None, description="exon table: geneId, transcriptId, exonId, exonNumber, "
                               "chromosome, start, end, strand[, featureType] (RatGTEx exon.{v}.tsv)")


class MultiTissueResults(_Model):
    """Result tables of every tissue of one modality in one file each, rows of a tissue selected by their
    ``tissue`` column (RatGTEx's ``top_assoc.{v}_{genome}.tsv``, ``eqtls_indep…``, ``xqtls_indep…``,
    ``all_gene_esnps.{v}.zip``). A gene-level table may name its genes ``gene_id`` instead of ``phenotype_id``."""

    cis: Path | None = Field(None, description="top association per phenotype/gene of every tissue")
    independent: Path | None = Field(None, description="conditionally independent QTLs of every tissue")
    signif_pairs: Path | None = Field(None, description="significant pairs of every tissue: text, Parquet, or a "
                                      "per-gene ZIP archive (variantId, pValue, nes, …, tissueSiteDetailId)")
    median: Path | None = Field(None, description="median TPM, genes (rows) × tissues (columns): GTEx "
                                "median_tpm / RatGTEx medianGeneExpression layout")
    tissue_column: str = Field("tissue", description="column naming the tissue of a row")


class Release(_Model):
    """One release of the atlas: genome build, annotation, genotypes and phenotypes per tissue × modality."""

    id: str
    genome: str = Field(description="genome build name, e.g. GRCh38, rn7")
    annotation: GeneTables | Path = Field(description="gene annotation: a GTF (plain or gzipped), or gene and "
                                          "exon tables ({genes: …, exons: …})")
    date: dt.date | None = None
    notes: str = ""
    dataset_id: str | None = Field(None, description="the data set's id where it was first published (RatGTEx's "
                                   "datasetId, e.g. ratgtex_v4); default: the release id")
    genotypes: list[Path] = Field(description="VCF/BCF files or PLINK prefixes (one, or one per chromosome)")
    results: dict[str, MultiTissueResults] = Field(
        default_factory=dict,
        description="modality id (or cross_modality) -> result tables of every tissue, imported by build")
    tissues: dict[str, dict[str, PhenotypeInput]] = Field(
        description="tissue id -> modality id -> inputs"
    )
    samples: Path | None = Field(None, description="sample table (TSV): one row per RNA sample, columns sample_id, "
                                 "individual_id, tissue[, accession, fastq, batch, …] (see qtlatlas.io.sample_metadata)")
    individuals: Path | None = Field(None, description="individual table (TSV): one row per individual, columns "
                                     "individual_id[, sex, batch, …] (see qtlatlas.io.sample_metadata)")
    visibility: Visibility = Field("public", description=VISIBILITY_HELP)
    citation: str = Field("", description="how to cite the release: shown wherever it appears")
    data_use: str = Field("", description="terms of use of the release's data: shown wherever it appears")

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        return _check_id(v, "release")

    @field_validator("genotypes", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, (str, os.PathLike)) else v

    @field_validator("genotypes")
    @classmethod
    def _non_empty(cls, v: list[Path]) -> list[Path]:
        if not v:
            raise ValueError("at least one genotype file is required")
        return v

    @field_validator("tissues")
    @classmethod
    def _tissues_non_empty(cls, v: dict[str, dict[str, PhenotypeInput]]) -> dict[str, dict[str, PhenotypeInput]]:
        if not v:
            raise ValueError("a release needs at least one tissue with phenotypes")
        for tissue, modalities in v.items():
            if not modalities:
                raise ValueError(f"tissue {tissue!r} lists no modality")
        return v

    def inputs(self) -> list[tuple[str, str, PhenotypeInput]]:
        """All (tissue, modality, inputs) triples of the release, in file order."""
        return [(t, m, inp) for t, mods in self.tissues.items() for m, inp in mods.items()]

    def unit(self, modality: str) -> str | None:
        """The unit of the unnormalised values of ``modality`` in this release: the one its entries declare
        (``unit:``; :class:`Atlas` checks they agree), else :data:`DEFAULT_UNIT` for expression and None for
        the other modalities (the portal shows their normalised values only)."""
        for mods in self.tissues.values():
            inp = mods.get(modality)
            if inp is not None and inp.unit is not None:
                return inp.unit
        return DEFAULT_UNIT if modality == "expression" else None

    def imported(self, tissue: str, modality: str) -> bool:
        """True when the results of ``tissue`` × ``modality`` are imported (named in its ``results`` or in the
        release's multi-tissue ``results``) rather than mapped by ``qtlatlas run``."""
        inp = self.tissues.get(tissue, {}).get(modality)
        return (inp is not None and inp.results is not None) or modality in self.results
