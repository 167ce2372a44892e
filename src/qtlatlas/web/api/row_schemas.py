"""The fields of the rows of every list endpoint, described once, and the OpenAPI responses built from them.

:data:`FIELDS` gives each known column its JSON type and its meaning (with units); the column lists of the
endpoints come from the modules that define the tables and queries (imported, not copied), so that /api/docs
shows, per endpoint, a row model (``QtlRow``, ``NominalPairRow``, …) with the fields a row has. Every field is
optional and nullable and further fields are allowed: a release with extra columns still conforms.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from ...release.manifest import MANIFEST_COLUMNS
from ...release.tables import QTL_COLUMNS
from ...release.twas_tables import ASSOCIATION_COLUMNS, PANEL_COLUMNS, TRAIT_COLUMNS
from ...store.all_pairs import PAIR_COLUMNS
from ...store.associations import DERIVED_COLUMNS, LOW_MAC
from ...store.coloc import COLOC_SUSIE_COLUMNS
from ...store.finemapping import CREDIBLE_SETS_COLUMNS, PIP_COLUMNS
from ...store.genes import GENE_FIELDS
from ...store.ld import LD_COLUMNS
from ...store.predictions import STATS_COLUMNS as PHENOTYPE_STATS_COLUMNS
from ...store.qtl_coloc import QTL_COLOC_COLUMNS
from ...store.samples import INDIVIDUAL_COLUMNS, INDIVIDUAL_DERIVED, SAMPLE_COLUMNS, SAMPLE_QC_COLUMNS
from ...store.trans import HOTSPOT_COLUMNS as TRANS_HOTSPOT_COLUMNS
from ...store.trans import TRANS_COLUMNS
from ...store.twas import GENE_MODEL_FIELDS
from ...store.variants import VARIANT_FIELDS
from ..responses import ErrorResponse, Meta

#: A field: its JSON type and its description.
Spec = tuple[type, str]

_P = "{}: posterior probability of {} (coloc.abf)"
_MATCH = "how the row matched the query: `exact`, `prefix` or `position`"

#: Every known row field, by name: (type, description). Endpoints where a name means something else override it
#: (see :data:`_OVERRIDES`).
FIELDS: dict[str, Spec] = {
    # where
    "tissue": (str, "tissue id"),
    "modality": (str, "RNA modality id (expression, splicing, …)"),
    "phenotype_id": (str, "molecular phenotype id (a gene, a transcript, an intron cluster, …)"),
    "gene_id": (str, "gene id (Ensembl)"),
    "gene_name": (str, "gene symbol (null when the gene has none)"),
    "gene_type": (str, "gene biotype from the annotation (protein_coding, lncRNA, …)"),
    "variant_id": (str, "variant id (an rsID, or chr_pos_ref_alt)"),
    "chrom": (str, "chromosome"),
    "pos": (int, "variant position, 1-based, bp"),
    "ref": (str, "reference allele"),
    "alt": (str, "alternative (effect) allele"),
    "start": (int, "start, 1-based, bp"),
    "end": (int, "end, 1-based inclusive, bp"),
    "strand": (str, "strand, + or -"),
    "tss": (int, "transcription start site, 1-based, bp"),
    "description": (str, "description"),
    "match": (str, _MATCH),
    "source": (str, "table the row comes from: `top`, `independent`, `significant` or `nominal`"),
    # allele frequency and counts
    "af": (float, "ALT allele frequency among the samples of the row's tissue × modality"),
    "maf": (float, "minor-allele frequency among the samples of the row's tissue × modality"),
    "mac": (int, "minor-allele count (copies) among the samples of the row's tissue × modality"),
    "low_mac": (bool, f"true when `mac` is below {LOW_MAC} copies (an association carried by a handful of "
                      f"individuals)"),
    "ma_samples": (int, "samples carrying the minor allele"),
    "ma_count": (int, "minor-allele count (copies)"),
    "tss_distance": (int, "distance of the variant from the phenotype's TSS, bp"),
    "start_distance": (int, "variant position minus the phenotype's start, bp"),
    # association statistics (tensorQTL)
    "pval_nominal": (float, "nominal p-value of the variant–phenotype association"),
    "nlog10p": (float, "−log10 of the nominal p-value (finite where the p-value underflows)"),
    "slope": (float, "effect of each ALT allele on the normalised phenotype (regression slope)"),
    "slope_se": (float, "standard error of `slope`"),
    "pval_beta": (float, "permutation p-value from the fitted beta distribution (tensorQTL)"),
    "pval_perm": (float, "empirical permutation p-value"),
    "qval": (float, "q-value (Storey) of `pval_beta` over the tissue × modality's phenotypes"),
    "pval_nominal_threshold": (float, "the phenotype's nominal p-value threshold of significance at the release's "
                                      "FDR"),
    "rank": (float, "rank of the conditionally independent signal of the phenotype (1 = strongest)"),
    "log2_aFC": (float, "log2 allelic fold change (ALT over REF expression)"),
    "log2_aFC_lower": (float, "lower bound of the 95 % confidence interval of `log2_aFC`"),
    "log2_aFC_upper": (float, "upper bound of the 95 % confidence interval of `log2_aFC`"),
    "num_var": (float, "number of variants tested in the phenotype's cis window"),
    "true_df": (float, "effective degrees of freedom of the beta approximation"),
    "beta_shape1": (float, "first shape parameter of the fitted beta distribution"),
    "beta_shape2": (float, "second shape parameter of the fitted beta distribution"),
    "group_id": (str, "phenotype group id (modalities whose phenotypes are grouped by gene); null when ungrouped"),
    "group_size": (float, "number of phenotypes in the group"),
    # fine-mapping (SuSiE)
    "cs_id": (str, "credible set id (phenotype_L<n>); null when the variant is in none"),
    "cs_index": (str, "single effect of the credible set (L1, L2, …)"),
    "cs_size": (int, "number of variants in the credible set"),
    "pip": (float, "posterior inclusion probability (over all single effects)"),
    "cs_log10bf": (float, "log10 Bayes factor of the credible set's single effect"),
    "cs_min_r2": (float, "smallest r² between two variants of the credible set"),
    "cs_avg_r2": (float, "mean r² between the variants of the credible set"),
    "posterior_mean": (float, "posterior mean of the variant's effect"),
    "posterior_sd": (float, "posterior standard deviation of the variant's effect"),
    "z": (float, "marginal z (t) statistic of the variant"),
    # colocalisation
    "trait": (str, "GWAS trait id"),
    "locus": (int, "locus number (1-based, genome order)"),
    "lead_variant_id": (str, "the GWAS locus's lead variant"),
    "locus_start": (int, "start of the locus window, 1-based, bp"),
    "locus_end": (int, "end of the locus window, 1-based inclusive, bp"),
    "nsnps": (int, "number of variants both datasets have in the window"),
    "hit1": (str, "variant with the largest Bayes factor in the first dataset (GWAS, or the first phenotype)"),
    "hit2": (str, "variant with the largest Bayes factor in the second dataset (the QTL)"),
    "idx1": (str, "coloc.susie: single effect of the first dataset's credible set (L1, …)"),
    "idx2": (str, "coloc.susie: single effect of the phenotype's credible set (L1, …)"),
    "PP.H0.abf": (float, _P.format("H0", "no association")),
    "PP.H1.abf": (float, _P.format("H1", "an association with the first dataset only")),
    "PP.H2.abf": (float, _P.format("H2", "an association with the second dataset only")),
    "PP.H3.abf": (float, _P.format("H3", "two distinct causal variants")),
    "PP.H4.abf": (float, _P.format("H4", "one shared causal variant")),
    "tissue1": (str, "tissue of the first phenotype"),
    "modality1": (str, "modality of the first phenotype"),
    "phenotype_id1": (str, "first phenotype"),
    "tissue2": (str, "tissue of the second phenotype"),
    "modality2": (str, "modality of the second phenotype"),
    "phenotype_id2": (str, "second phenotype"),
    # LD
    "r": (float, "correlation of ALT dosages with the queried variant (PLINK --r)"),
    "r2": (float, "r² with the queried variant (PLINK --r2)"),
    # expression
    "sample_id": (str, "sample id"),
    "check": (str, "sample QC check: `sex` (declared sex against the sex marker genes, per individual) or "
                   "`identity` (a sample's RNA against every individual's genotypes at the strongest cis-QTLs)"),
    "declared": (str, "sample QC: the declared sex (sex) or the declared individual (identity)"),
    "observed": (str, "sample QC: the sex the marker genes say (empty when not called), or the individual whose "
                      "genotypes the RNA matches best"),
    "score": (float, "sample QC: sex score (mean standardised female markers minus male markers; positive: female) "
                     "or the declared individual's match z-score among all individuals (identity)"),
    "best_z": (float, "sample QC identity: the best-matching individual's z-score among all individuals"),
    "n_used": (int, "sample QC: samples of the individual (sex) or phenotypes measured in the sample (identity)"),
    "flag": (bool, "sample QC: needs a look (mislabelled sex, or RNA of another individual)"),
    "message": (str, "sample QC: why, in words (empty when nothing to say)"),
    # samples and individuals
    "individual_id": (str, "individual (genotype) id of a sample"),
    "accession": (str, "archive accession of the sample (SRR/SRS/ERR…); empty when not given"),
    "fastq": (str, "FASTQ file names of the sample, separated by ';'; empty when not given"),
    "batch": (str, "sequencing or processing batch; empty when not given"),
    "sex": (str, "female, male, or empty when unknown"),
    "n_tissues": (int, "tissues with a sample of the individual"),
    "tpm": (float, "expression level of the sample, in `unit` (named tpm whatever the unit)"),
    "median": (float, "median expression over the tissue's samples, in `unit`"),
    "unit": (str, "unit of the expression values (TPM unless the release declares another)"),
    # TWAS
    "panel": (str, "weights panel: TISSUE.MODALITY"),
    "p0": (int, "start of the model's phenotype, bp"),
    "p1": (int, "end of the model's phenotype, bp"),
    "hsq": (float, "cis-heritability estimate of the phenotype"),
    "hsq_se": (float, "standard error of `hsq`"),
    "hsq_pval": (float, "p-value of the heritability"),
    "n": (int, "number of samples"),
    "n_snps": (int, "number of variants in the model's window"),
    "best_gwas_id": (str, "the most significant GWAS variant of the locus"),
    "best_gwas_z": (float, "GWAS z of `best_gwas_id`"),
    "eqtl_id": (str, "best eQTL variant of the model"),
    "eqtl_r2": (float, "cross-validated R² of the best eQTL"),
    "eqtl_z": (float, "eQTL z of `eqtl_id`"),
    "eqtl_gwas_z": (float, "GWAS z of `eqtl_id`"),
    "nsnp": (int, "number of model variants found in the GWAS"),
    "nwgt": (int, "number of variants with a non-zero weight"),
    "model": (str, "prediction model used (top1, lasso, enet, blup)"),
    "model_cv_r2": (float, "cross-validated R² of the model"),
    "model_cv_pval": (float, "cross-validated p-value of the model"),
    "twas_z": (float, "TWAS z statistic"),
    "twas_p": (float, "TWAS p-value"),
    "coloc_pp0": (float, "FUSION coloc posterior probability of H0 (no association)"),
    "coloc_pp1": (float, "FUSION coloc posterior probability of H1 (GWAS only)"),
    "coloc_pp2": (float, "FUSION coloc posterior probability of H2 (expression only)"),
    "coloc_pp3": (float, "FUSION coloc posterior probability of H3 (two causal variants)"),
    "coloc_pp4": (float, "FUSION coloc posterior probability of H4 (one shared causal variant)"),
    "perm_pval": (float, "permutation p-value of the TWAS (null when not run)"),
    "perm_n": (int, "number of permutations"),
    "perm_anl_pval": (float, "analytic permutation p-value"),
    "skip_reason": (str, "why the model was not tested (null when it was)"),
    "heritable": (bool, "true when `hsq_pval` is at most the weights' heritability filter (twas.hsq_p)"),
    "cv_r2": (float, "cross-validated R² of the phenotype's best model (null when not fitted)"),
    "cv_pval": (float, "cross-validation p-value of the phenotype's best model (null when not fitted)"),
    "n_snps_in_model": (int, "variants of non-zero weight in the best model (top1: 1; 0 when not fitted)"),
    "skipped_reason": (str, "why no weights were fitted for the phenotype (empty when fitted)"),
    "significant": (bool, "true when `twas_p` passes the trait's Bonferroni threshold"),
    "weak_model": (bool, "true when the model's cross-validated R² is below 0.01 (weakly predicted)"),
    "joint": (bool, "true when the model is kept in its locus's joint model"),
    "joint_z": (float, "z of the model in the locus's joint model"),
    "joint_p": (float, "p-value of the model in the locus's joint model"),
    "cond_z": (float, "z conditional on the locus's joint models"),
    "cond_p": (float, "p-value conditional on the locus's joint models"),
    "cond_r2": (float, "r² of the conditioning (explained variance)"),
    "cond_status": (str, "conditioning status (explained or unstable rows have no conditional z/p)"),
    "top_snp_cor": (float, "correlation of the predicted phenotype with the locus's top GWAS variant"),
    "top1_r2": (float, "cross-validated R² of the top1 model"),
    "top1_pval": (float, "cross-validated p-value of the top1 model"),
    "lasso_r2": (float, "cross-validated R² of the lasso model"),
    "lasso_pval": (float, "cross-validated p-value of the lasso model"),
    "enet_r2": (float, "cross-validated R² of the elastic-net model"),
    "enet_pval": (float, "cross-validated p-value of the elastic-net model"),
    "blup_r2": (float, "cross-validated R² of the BLUP model"),
    "blup_pval": (float, "cross-validated p-value of the BLUP model"),
    "best_model": (str, "model with the best cross-validated R²"),
    "n_models": (int, "number of models"),
    "n_tested": (int, "models with a TWAS p-value, every panel and chromosome (the Bonferroni denominator)"),
    "n_significant": (int, "number of significant models"),
    "n_genes": (int, "number of genes"),
    "n_loci": (int, "number of loci"),
    "n_joint_genes": (int, "number of genes of the joint models"),
    "n_joint_models": (int, "number of joint models"),
    "bonferroni_p": (float, "Bonferroni p-value threshold of the trait: 0.05 / `n_tested`"),
    "zthresh": (float, "|z| threshold matching `bonferroni_p`: Φ⁻¹(1 − 0.05 / (2 × `n_tested`))"),
    "project": (str, "project the trait belongs to"),
    "tags": (list, "tags of the trait (comma-separated in TSV/CSV)"),
    "sumstats": (str, "summary statistics file of the trait"),
    "n_phenotypes": (int, "phenotypes considered (before the heritability filter)"),
    "n_weights": (int, "number of weights"),
    "n_samples": (int, "number of samples"),
    "mean_hsq": (float, "mean cis-heritability of the panel's models"),
    "window": (int, "weight variants lie within this distance of the TSS, bp"),
    "crossval": (int, "number of cross-validation folds"),
    "hsq_p": (float, "heritability p-value filter of the panel's models"),
    "chrom_locus": (int, "locus number within its chromosome"),
    "best_twas_p": (float, "smallest TWAS p-value of the locus"),
    "best_snp_p": (float, "smallest GWAS p-value of the locus"),
    "cond_snp_p": (float, "GWAS p-value of the lead variant conditioned on the joint models (null when explained)"),
    "var_exp": (float, "share of the lead variant's GWAS χ² explained by the joint models (1 when they explain it)"),
    "lead_snp": (str, "lead GWAS variant of the locus"),
    "lead_cond_status": (str, "conditioning status of the lead variant"),
    "best_cond_snp": (str, "most significant variant after conditioning"),
    "best_cond_p": (float, "smallest GWAS p-value of the locus's variants conditioned on the joint models"),
    "n_explained": (int, "variants whose signal the joint models explain"),
    "n_unstable": (int, "variants whose conditioning is unstable"),
    "gene_ids": (str, "genes of the locus's significant models (comma-separated ids)"),
    "joint_gene_ids": (str, "genes of the joint models (comma-separated ids)"),
    "gene_names": (str, "symbols of `gene_ids`"),
    "joint_gene_names": (str, "symbols of `joint_gene_ids`"),
    "pval": (float, "p-value of `r`: two-sided t-test on n − 2 degrees of freedom (models taken as independent)"),
    "n_shared_genes": (int, "significant genes the two traits share"),
    # releases, tissues, modalities, studies, downloads
    "id": (str, "id"),
    "name": (str, "display name"),
    "genome": (str, "genome assembly"),
    "date": (str, "release date (ISO 8601)"),
    "notes": (str, "release notes"),
    "annotation": (dict, "gene annotation of the release"),
    "tissues": (list, "tissues of the release"),
    "modalities": (list, "modalities"),
    "counts": (dict, "counts (genes tested, QTLs, …)"),
    "built_at": (str, "when the release was built (ISO 8601)"),
    "format_version": (int, "release format version"),
    "latest": (bool, "true for the latest release"),
    "errata": (list, "errata of the release (date, text)"),
    "tissue_id": (str, "tissue id"),
    "colour": (str, "display colour (#rrggbb)"),
    "ontology_id": (str, "ontology term (UBERON)"),
    "n_expressed_genes": (int, "number of genes expressed in the tissue"),
    "site": (str, "tissue site"),
    "abbreviation": (str, "short name"),
    "grouped": (bool, "true when the modality's phenotypes are grouped by gene"),
    "title": (str, "title"),
    "citation": (str, "how to cite the item (atlas.yaml's citation; empty when not given)"),
    "data_use": (str, "terms of use of the item's data (atlas.yaml's data_use; empty when not given)"),
    "url": (str, "URL"),
    "doi": (str, "DOI"),
    "files": (list, "files of the study"),
    "path": (str, "path of the file, relative to the site"),
    "bytes": (int, "file size, bytes"),
    "sha256": (str, "SHA-256 of the file"),
    "kind": (str, "kind of file"),
    "b": (float, "trans effect of each ALT allele on the normalised target phenotype (tensorQTL map_trans)"),
    "b_se": (float, "standard error of b"),
    "cis_genes": (str, "symbols (comma-separated) of the genes of which the variant is a significant cis pair in the "
                       "same tissue, any modality: candidate mediators of the trans effect"),
    "lead_variant": (str, "variant of the locus's most significant trans pair"),
    "n_variants": (int, "variants of the locus with a trans pair"),
    "n_targets": (int, "distinct target genes of the locus's trans pairs"),
    "targets": (str, "target gene symbols (comma-separated), the first 10, most significant first"),
}

#: Fields whose meaning on an endpoint differs from :data:`FIELDS`: endpoint → field → description.
_OVERRIDES: dict[str, dict[str, str | Spec]] = {
    "TwasPhenotypeStats": {"model": "best model of the phenotype (largest CV R²; empty when not fitted)",
                           "hsq": "cis-heritability (REML), proportion of variance; null when not estimated"},
    "Release": {"id": "release id", "tissues": "the release's tissues (objects: id, name, colour, modalities, …)",
                "modalities": "the release's modalities (objects: id, name, grouped, description)",
                "counts": "the release's counts (genes tested, significant pairs, per tissue × modality, …)"},
    "Tissue": {"name": "tissue name", "modalities": "modalities measured in the tissue",
               "counts": "counts per modality (samples, phenotypes tested, eGenes, independent QTLs, …)"},
    "Modality": {"id": "modality id", "name": "modality name"},
    "Study": {"id": "study id", "description": "what the study is", "path": "the study's folder"},
    "Download": {"description": "what the file holds"},
    "Gene": {"start": "gene start, 1-based, bp", "end": "gene end, 1-based inclusive, bp",
             "description": "gene description from the annotation"},
    "TwasTrait": {"id": "trait id", "name": "trait name", "n": "GWAS sample size", "description": "what the trait is"},
    "TwasLocus": {"trait": "trait id", "start": "locus start, bp", "end": "locus end, bp",
                  "p0": "FUSION P0 of the locus (start of its models' span), bp",
                  "p1": "FUSION P1 of the locus (end of its models' span), bp"},
    "TwasCorrelation": {"trait": "the other trait's id", "name": "the other trait's name",
                        "n_models": "models tested for both traits (same weights)",
                        "r": "Pearson correlation of the TWAS z of the two traits over the shared models"},
    "TwasModel": {"n": "number of samples of the model"},
    "TwasPanel": {"n_samples": "number of samples of the panel", "n_models": "phenotypes with weights "
                                                                             "(heritable)"},
    "Trans": {"pval": "nominal p-value of the trans pair", "r2": "r² of variant and target phenotype",
              "af": "ALT allele frequency among the tissue's samples"},
    "TransHotspot": {"start": "position of the locus's first variant with a trans pair, bp",
                     "end": "position of its last, bp", "pval": "p-value of the lead variant's most significant pair"},
    "Sample": {"tissue": "tissue of the sample",
               "sample_id": "RNA sample id (may differ from the individual id; the phenotype BED column when no "
                            "sample table was published)"},
    "Individual": {"tissues": (str, "tissues with a sample of the individual, comma-separated, atlas order")},
    "SampleQc": {"tissue": "identity: the tissue of the sample; sex: the tissues of the individual's samples, "
                           "comma-separated",
                 "sample_id": "RNA sample id (identity rows; empty on sex rows, which are per individual)"},
    "Coloc": {"locus": "GWAS locus number (the trait's lead variant ± the window, 1-based, genome order)"},
}

#: Columns of the list endpoints the modules above do not list.
_QTL_ROW = [*QTL_COLUMNS[:4], "gene_name", *QTL_COLUMNS[4:10], *DERIVED_COLUMNS[1:], *QTL_COLUMNS[10:]]
_SIGNIF_ROW = ["tissue", "modality", "phenotype_id", "gene_id", "gene_name", "variant_id", "chrom", "pos",
               "tss_distance", "af", *DERIVED_COLUMNS[1:], "pval_nominal", "slope", "slope_se", "pval_nominal_threshold"]
_ASSOCIATION_ROW = list(dict.fromkeys(["source", *_QTL_ROW, *PAIR_COLUMNS]))
_RELEASE_ROW = ["id", "genome", "date", "notes", "annotation", "tissues", "modalities", "counts", "built_at",
                "format_version", "latest", "errata", "citation", "data_use"]
_TISSUE_ROW = ["tissue_id", "name", "colour", "ontology_id", "n_samples", "n_expressed_genes", "site", "abbreviation",
               "modalities", "counts", "citation", "data_use"]
_MODALITY_ROW = ["id", "name", "grouped", "description"]
_STUDY_ROW = ["id", "title", "citation", "data_use", "url", "doi", "genome", "description", "files", "path"]
_MEDIAN_ROW = ["tissue", "gene_id", "gene_name", "median", "unit"]
_SAMPLE_ROW = ["tissue", "sample_id", "tpm", "unit"]
_TWAS_LOCUS_ROW = ["trait", "locus", "chrom", "chrom_locus", "start", "end", "p0", "p1", "n_models", "n_genes",
                   "n_joint_models", "n_joint_genes", "best_twas_p", "best_snp_p", "cond_snp_p", "var_exp", "lead_snp",
                   "lead_cond_status", "best_cond_snp", "best_cond_p", "n_explained", "n_unstable", "gene_ids",
                   "joint_gene_ids", "gene_names", "joint_gene_names"]
_TWAS_CORRELATION_ROW = ["trait", "name", "n_models", "r", "pval", "n_shared_genes"]
_TWAS_MODEL_ROW = [*GENE_MODEL_FIELDS[:4], "gene_id", "gene_name", *GENE_MODEL_FIELDS[4:]]


def _python_name(column: str) -> str:
    """A Python identifier for ``column`` (``PP.H4.abf`` → ``PP_H4_abf``); the JSON name stays the alias."""
    name = "".join(c if c.isalnum() or c == "_" else "_" for c in column)
    return name if name.isidentifier() and not name.startswith("_") else f"f_{name.lstrip('_')}"


def _spec(column: str, overrides: Mapping[str, str | Spec]) -> Spec:
    kind, description = FIELDS.get(column, (Any, ""))
    override = overrides.get(column, description)
    return override if isinstance(override, tuple) else (kind, override)


def _model(name: str, columns: Iterable[str], wrap, overrides: Mapping[str, str | Spec], doc: str) -> type[BaseModel]:
    fields = {}
    for column in columns:
        kind, description = _spec(column, overrides)
        fields[_python_name(column)] = (wrap(kind) | None, Field(default=None, alias=column,
                                                                 description=description))
    return create_model(name, __config__=ConfigDict(extra="allow", populate_by_name=True), __doc__=doc, **fields)


def row_model(name: str, columns: Iterable[str], overrides: Mapping[str, str | Spec] | None = None) -> type[BaseModel]:
    """``{name}Row``: one optional, nullable field per column (described by :data:`FIELDS`), extra fields allowed."""
    return _model(f"{name}Row", columns, lambda kind: kind, overrides or _OVERRIDES.get(name, {}),
                  "A row of the list (a release may add columns).")


def list_model(name: str, columns: Iterable[str], columns_layout: bool = False) -> type[BaseModel]:
    """``{name}List``: ``{data: [{name}Row], meta}``; with ``columns_layout`` ``data`` may instead be
    ``{name}Columns`` (one array per column) with ``constant`` (``{name}Constant``: one value per column)."""
    columns = list(dict.fromkeys(columns))
    overrides = _OVERRIDES.get(name, {})
    row = row_model(name, columns, overrides)
    fields: dict[str, Any] = {}
    if columns_layout:
        arrays = _model(f"{name}Columns", columns, lambda kind: list[kind | None], overrides,
                        "layout=columns: one array per column whose value varies over the page.")
        constant = _model(f"{name}Constant", columns, lambda kind: kind, overrides,
                          "layout=columns: the value of each column that is the same on every row of the page.")
        fields["data"] = (list[row] | arrays, Field(description="rows (one object each), or with layout=columns "
                                                                "one array per varying column"))
        fields["constant"] = (constant | None, Field(default=None, description="layout=columns: the columns of "
                                                                               "one value"))
    else:
        fields["data"] = (list[row], Field(description="rows, one object each"))
    fields["meta"] = (Meta, ...)
    return create_model(f"{name}List", __doc__=f"A page of {name} rows and its meta.", **fields)


def list_responses(name: str, columns: Iterable[str], columns_layout: bool = False) -> dict:
    """``responses=`` of a list endpoint: its :func:`list_model` for JSON, TSV/CSV as strings, the errors."""
    return {200: {"model": list_model(name, columns, columns_layout),
                  "description": "rows (JSON envelope, or TSV/CSV with format=)",
                  "content": {"text/tab-separated-values": {"schema": {"type": "string"}},
                              "text/csv": {"schema": {"type": "string"}}}},
            400: {"model": ErrorResponse, "description": "invalid parameter"},
            404: {"model": ErrorResponse, "description": "unknown release or item"},
            422: {"model": ErrorResponse, "description": "parameter of the wrong type or out of range"}}


#: ``responses=`` of each list endpoint.
RELEASES = list_responses("Release", _RELEASE_ROW)
TISSUES = list_responses("Tissue", _TISSUE_ROW)
MODALITIES = list_responses("Modality", _MODALITY_ROW)
STUDIES = list_responses("Study", _STUDY_ROW)
DOWNLOADS = list_responses("Download", MANIFEST_COLUMNS)
GENE_SEARCH = list_responses("Gene", [*GENE_FIELDS, "match"])
VARIANT_SEARCH = list_responses("Variant", [*VARIANT_FIELDS, "match"])
MEDIAN_EXPRESSION = list_responses("MedianExpression", _MEDIAN_ROW)
SAMPLE_EXPRESSION = list_responses("SampleExpression", _SAMPLE_ROW)
QTLS = list_responses("Qtl", _QTL_ROW)
SIGNIFICANT_PAIRS = list_responses("SignificantPair", _SIGNIF_ROW)
NOMINAL_PAIRS = list_responses("NominalPair", PAIR_COLUMNS, columns_layout=True)
VARIANT_ASSOCIATIONS = list_responses("VariantAssociation", _ASSOCIATION_ROW)
COLOC = list_responses("Coloc", COLOC_SUSIE_COLUMNS)
QTL_COLOC = list_responses("QtlColoc", QTL_COLOC_COLUMNS)
LD = list_responses("Ld", LD_COLUMNS, columns_layout=True)
CREDIBLE_SETS = list_responses("CredibleSetMember", CREDIBLE_SETS_COLUMNS)
PIPS = list_responses("Pip", PIP_COLUMNS)
TWAS_TRAITS = list_responses("TwasTrait", TRAIT_COLUMNS)
TWAS_ASSOCIATIONS = list_responses("TwasAssociation", ASSOCIATION_COLUMNS)
TWAS_LOCI = list_responses("TwasLocus", _TWAS_LOCUS_ROW)
TWAS_CORRELATIONS = list_responses("TwasCorrelation", _TWAS_CORRELATION_ROW)
TWAS_PANELS = list_responses("TwasPanel", PANEL_COLUMNS)
TWAS_MODELS = list_responses("TwasModel", _TWAS_MODEL_ROW)
TWAS_PHENOTYPE_STATS = list_responses("TwasPhenotypeStats", PHENOTYPE_STATS_COLUMNS)
TRANS = list_responses("Trans", TRANS_COLUMNS)
TRANS_HOTSPOTS = list_responses("TransHotspot", TRANS_HOTSPOT_COLUMNS)
SAMPLES = list_responses("Sample", SAMPLE_COLUMNS)
INDIVIDUALS = list_responses("Individual", [*INDIVIDUAL_COLUMNS, *INDIVIDUAL_DERIVED])
SAMPLE_QC = list_responses("SampleQc", SAMPLE_QC_COLUMNS)
