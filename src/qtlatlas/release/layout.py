"""Names of everything in a site and in a release directory, generated here and nowhere else.

Site layout (``SITE/``)::

    atlas.json                      the atlas: name, description, contact, data access, tissues, modalities
    releases/<release>/             one immutable release directory per release (see below)
    releases/.<release>.building-*  a release being built (renamed to releases/<release> when complete)
    errata/<release>.tsv            corrections to a published release (date, text), outside the release
    studies/<study>/                immutable study files + study.json + MANIFEST.tsv

Release directory (``SITE/releases/<release>/``)::

    release.json                    release metadata (genome, annotation, parameters, versions)
    twas.json                       TWAS methods metadata (releases with TWAS)
    MANIFEST.tsv                    path, bytes, sha256, description, kind of every other file
    tables/*.parquet, tables/*.arrow   query tables and look-up files for the portal
    tables/phenotypes/<tissue>.<modality>.parquet, tables/expression/<tissue>.parquet
    tables/all_pairs/<tissue>.<modality>.{pairs,runs,variants}.parquet
    tables/all_pairs/by_variant.arrow (+ .batches.parquet)   the same pairs by variant, every tissue × modality
                                    every tested cis pair (when the nominal pass is available; see
                                    :mod:`qtlatlas.release.all_pairs`)
    tables/nominal/<tissue>.<modality>.arrow   the same, in releases built before the all-pairs store
    tables/genotype_matrix.bed      the genotypes of every variant as PLINK 1 .bed rows, in the order of
                                    variants_by_position, columns the samples of genotype_matrix.samples.txt
                                    (LD look-ups; see qtlatlas.release.genotype_matrix)
    downloads/*                     files offered for download, named as below

Download file names follow the RatGTEx v4 pattern::

    {kind}[.{trait}][.{tissue}][.{modality}][.{norm}].{release}[_{genome}].{ext}

The ``_{genome}`` suffix is added only to files with genomic coordinates (or variant ids that are tied to
a genome build). Kinds:

============== ========================= ====== ===================================================
kind           parts                     genome content
============== ========================= ====== ===================================================
phenotypes     tissue, modality, norm    yes    phenotype BED (``norm``: normalised, ``raw``: input
                                                values; expression ``raw``: the release's expression
                                                unit, TPM unless atlas.yaml says otherwise), bgzipped +
                                                ``.tbi``
log2_counts    tissue, modality          yes    log2(read count + 1) BED of the entry's ``counts``
                                                (phenotypes × samples), bgzipped + ``.tbi``
top_assoc      [tissue], modality        yes    top cis-QTL per phenotype/group (tensorQTL columns +
                                                gene_id, chrom, pos, ref, alt, tss_distance, log2_aFC);
                                                without a tissue: every tissue in one table, a leading
                                                ``tissue`` column then the per-tissue columns
indep_assoc    [tissue], modality        yes    conditionally independent cis-QTLs (adds ``rank``); without
                                                a tissue: every tissue, as top_assoc (modality
                                                ``cross_modality``: the cross-modality xQTLs)
signif_pairs   tissue, modality          yes    all significant variant–phenotype pairs
nominal        tissue, modality          yes    every tested cis pair (tensorQTL ``cis_qtl_pairs`` columns +
                                                gene, symbol, position, alleles, nlog10p), bgzipped + ``.tbi``
trans_pairs    tissue, modality          yes    trans-QTL pairs below the reporting threshold
aFC            tissue, modality          yes    allelic fold change of top / independent QTLs
covariates     tissue, modality          no     covariates used in mapping (tensorQTL layout)
samples        tissue                    no     sample ids of a tissue, one per line
sample_table   —                         no     every RNA sample (sample_id, individual_id, tissue, accession,
                                                fastq, batch, free columns); file name ``samples.{release}.tsv``
individuals    —                         no     every individual (individual_id, sex, batch, free columns,
                                                n_tissues, tissues)
fastq          tissue                    no     FASTQ files of a tissue's samples (fastq, sample_id,
                                                individual_id), one row per file (RatGTEx's FASTQ lists)
median_tpm     —                         no     median expression (TPM) per gene (rows) and tissue
genotypes      —                         yes    genotypes, bgzipped VCF + ``.tbi``
twas_assoc     trait                     yes    TWAS associations of a trait, FUSION ``.dat``
twas_pos       tissue, modality          yes    FUSION ``.pos`` of a weights panel
twas_weights   tissue, modality          yes    FUSION weights of a panel: ``{panel}/{panel}.{phenotype}.wgt.RDat``
                                                files in a tar.gz (the ``.pos`` WGT paths)
phenotype_stats tissue, modality         no     REML h² (SE, p) of every tested phenotype of a TWAS panel, heritable
                                                flag, best model, CV R² and p, SNPs in the model, skip reason
predictions    tissue, modality          no     genetically predicted phenotypes: header ``individual`` + phenotype
                                                ids, one line per individual of the prediction cohort (best TWAS
                                                model, standardised scale; see qtlatlas.release.predictions)
credible_sets  tissue, modality          yes    SuSiE credible sets, one row per member (the eQTL Catalogue's
                                                columns)
lbf_variable   tissue, modality          yes    SuSiE log Bayes factors of each single effect, per variant
coloc          trait                     yes    coloc.abf of the trait's loci with every overlapping phenotype
coloc_susie    trait                     yes    coloc.susie of the trait's loci with every fine-mapped phenotype
qtl_coloc      —                         yes    QTL–QTL coloc.abf: every two significant phenotypes of a gene in
                                                two tissues or two modalities, one release-wide file (the
                                                columns of ``tables/qtl_coloc.parquet``; hits are variant ids)
sample_qc      —                         no     sample quality control: the sex check of every individual and the
                                                genotype identity check of every sample (:mod:`qtlatlas.qc`)
============== ========================= ====== ===================================================

The first part of a name is the kind, except for kinds of :data:`DOWNLOAD_NAMES` (``sample_table`` is named
``samples``, with its own extension, beside the per-tissue ``samples`` id lists).

Examples: ``phenotypes.Adipose.expression.norm.v1_demo1.bed.gz``, ``samples.Adipose.v1.txt``, ``samples.v1.tsv``,
``log2_counts.Adipose.expression.v1_demo1.bed.gz``, ``indep_assoc.expression.v1_demo1.tsv.gz`` (every tissue).
"""

from __future__ import annotations

from pathlib import Path

# ------------------------------------------------------------------------------------------------
# Site
# ------------------------------------------------------------------------------------------------

ATLAS_JSON = "atlas.json"
RELEASES_DIR = "releases"
ERRATA_DIR = "errata"
STUDIES_DIR = "studies"
BUILDING_MARK = ".building-"

RELEASE_JSON = "release.json"
#: TWAS methods metadata of a release with TWAS (:func:`qtlatlas.release.twas_tables.methods_metadata`).
TWAS_JSON = "twas.json"
MANIFEST = "MANIFEST.tsv"
#: The checksums of the files of items private when the release was built (tissues, TWAS traits), with the
#: ``scope`` that opens each (see :mod:`qtlatlas.release.manifest`).
PRIVATE_MANIFEST = "MANIFEST.private.tsv"
STUDY_JSON = "study.json"
TABLES_DIR = "tables"
DOWNLOADS_DIR = "downloads"


def releases_dir(site: str | Path) -> Path:
    return Path(site) / RELEASES_DIR


def release_dir(site: str | Path, release_id: str) -> Path:
    """``SITE/releases/<release>``."""
    return releases_dir(site) / release_id


def building_prefix(release_id: str) -> str:
    """Prefix of the temporary directories in which ``release_id`` is built (inside ``SITE/releases``)."""
    return f".{release_id}{BUILDING_MARK}"


def errata_file(site: str | Path, release_id: str) -> Path:
    return Path(site) / ERRATA_DIR / f"{release_id}.tsv"


def study_dir(site: str | Path, study_id: str) -> Path:
    return Path(site) / STUDIES_DIR / study_id


def atlas_json(site: str | Path) -> Path:
    return Path(site) / ATLAS_JSON


# ------------------------------------------------------------------------------------------------
# Query tables (paths relative to the release directory)
# ------------------------------------------------------------------------------------------------

TABLES = {
    "variant_index": "variant_index.arrow",
    "genes": "genes.parquet",
    "transcripts": "transcripts.parquet",
    "exons": "exons.parquet",
    "transcripts_index": "transcripts_index.arrow",
    "exons_index": "exons_index.arrow",
    "gene_status": "gene_status.parquet",
    "gene_status_index": "gene_status_index.arrow",
    "tissues": "tissues.parquet",
    "tissue_modality": "tissue_modality.parquet",
    "top_qtls": "top_qtls.parquet",
    "independent_qtls": "independent_qtls.parquet",
    "signif_pairs": "signif_pairs.parquet",
    "associations_by_position": "associations_by_position.arrow",
    "associations_by_gene": "associations_by_gene.arrow",
    "trans_pairs": "trans_pairs.parquet",
    "variants": "variants.parquet",
    "variants_by_position": "variants_by_position.arrow",
    "genotype_matrix": "genotype_matrix.bed",
    "medians": "medians.parquet",
    "expression_index": "expression_index.arrow",
    "phenotype_index": "phenotype_index.arrow",
    "samples": "samples.parquet",
    # sample and individual metadata (present when atlas.yaml gives them; see qtlatlas.release.sample_tables)
    "sample_metadata": "sample_metadata.parquet",
    "individuals": "individuals.parquet",
    # TWAS (present when the release has TWAS results; see qtlatlas.release.twas_tables)
    "twas_panels": "twas_panels.parquet",
    "twas_models": "twas_models.parquet",
    "twas_weights": "twas_weights.parquet",
    "twas_traits": "twas_traits.parquet",
    "twas_associations": "twas_associations.parquet",
    "twas_loci": "twas_loci.parquet",
    "twas_locus_gwas": "twas_locus_gwas.parquet",
    "twas_omnibus": "twas_omnibus.parquet",
    "twas_phenotype_stats": "twas_phenotype_stats.parquet",
    # fine-mapping and colocalisation (present when the release has them)
    "credible_sets": "credible_sets.parquet",
    "lbf_variable": "lbf_variable.parquet",
    "coloc": "coloc.parquet",
    "coloc_susie": "coloc_susie.parquet",
    # QTL–QTL colocalisation of the significant phenotypes of each gene (qtlatlas.release.qtl_coloc)
    "qtl_coloc": "qtl_coloc.parquet",
    # sample quality control report (qtlatlas.release.sample_qc)
    "sample_qc": "sample_qc.parquet",
}


#: The id index of releases built before :data:`TABLES` named ``variant_index.arrow`` (ids and positions only).
LEGACY_VARIANT_INDEX = f"{TABLES_DIR}/variant_index.parquet"


#: The TWAS tables of :data:`TABLES` (a release has them only when its atlas lists traits).
TWAS_TABLES = tuple(name for name in TABLES if name.startswith("twas_"))


def table_path(name: str) -> str:
    """``tables/<name>.parquet`` for a table of :data:`TABLES`."""
    return f"{TABLES_DIR}/{TABLES[name]}"


def phenotype_table_path(tissue: str, modality: str) -> str:
    return f"{TABLES_DIR}/phenotypes/{tissue}.{modality}.parquet"


def expression_table_path(tissue: str) -> str:
    return f"{TABLES_DIR}/expression/{tissue}.parquet"


def nominal_table_path(tissue: str, modality: str) -> str:
    """The nominal look-up file of a tissue × modality in releases built before the all-pairs store."""
    return f"{TABLES_DIR}/nominal/{tissue}.{modality}.arrow"


#: The files of the all-pairs store of a tissue × modality (:mod:`qtlatlas.release.all_pairs`).
ALL_PAIRS_PARTS = ("pairs", "runs", "variants")


def all_pairs_path(tissue: str, modality: str, part: str) -> str:
    """``tables/all_pairs/<tissue>.<modality>.<part>.parquet``, ``part`` one of :data:`ALL_PAIRS_PARTS`."""
    if part not in ALL_PAIRS_PARTS:
        raise ValueError(f"unknown all-pairs part {part!r}; parts: {', '.join(ALL_PAIRS_PARTS)}")
    return f"{TABLES_DIR}/all_pairs/{tissue}.{modality}.{part}.parquet"


#: Every tested pair of the release sorted by variant (:mod:`qtlatlas.release.all_pairs_by_variant`): the
#: one-read PheWAS of a variant; its sidecar is ``by_variant.batches.parquet``.
ALL_PAIRS_BY_VARIANT = f"{TABLES_DIR}/all_pairs/by_variant.arrow"


# ------------------------------------------------------------------------------------------------
# Downloads
# ------------------------------------------------------------------------------------------------

#: kind -> (file extension, has genomic coordinates)
DOWNLOAD_KINDS: dict[str, tuple[str, bool]] = {
    "phenotypes": ("bed.gz", True),
    "log2_counts": ("bed.gz", True),
    "top_assoc": ("tsv.gz", True),
    "indep_assoc": ("tsv.gz", True),
    "signif_pairs": ("tsv.gz", True),
    "nominal": ("tsv.gz", True),
    "trans_pairs": ("tsv.gz", True),
    "aFC": ("tsv.gz", True),
    "covariates": ("txt", False),
    "samples": ("txt", False),
    "sample_table": ("tsv", False),
    "individuals": ("tsv", False),
    "fastq": ("tsv", False),
    "median_tpm": ("tsv.gz", False),
    "genotypes": ("vcf.gz", True),
    "twas_assoc": ("dat", True),
    "twas_pos": ("pos", True),
    "twas_weights": ("tar.gz", True),
    "phenotype_stats": ("tsv.gz", False),
    "predictions": ("tsv.gz", False),
    "credible_sets": ("tsv.gz", True),
    "lbf_variable": ("tsv.gz", True),
    "coloc": ("tsv.gz", True),
    "coloc_susie": ("tsv.gz", True),
    "qtl_coloc": ("tsv.gz", True),
    "sample_qc": ("tsv", False),
}

#: kind -> the first part of its file names, for kinds not named by themselves.
DOWNLOAD_NAMES: dict[str, str] = {"sample_table": "samples"}

NORMS = ("norm", "raw")


def download_name(kind: str, release: str, genome: str, *, tissue: str | None = None,
                  modality: str | None = None, norm: str | None = None, trait: str | None = None) -> str:
    """The file name of a download: ``{kind}[.{trait}][.{tissue}][.{modality}][.{norm}].{release}[_{genome}].{ext}``
    (``{kind}`` spelt as :data:`DOWNLOAD_NAMES` says where it names it)."""
    if kind not in DOWNLOAD_KINDS:
        raise ValueError(f"unknown download kind {kind!r}; kinds: {', '.join(DOWNLOAD_KINDS)}")
    if norm is not None and norm not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}, not {norm!r}")
    ext, genomic = DOWNLOAD_KINDS[kind]
    parts = [DOWNLOAD_NAMES.get(kind, kind)] + [p for p in (trait, tissue, modality, norm) if p is not None]
    for p in parts:
        if "." in p or "/" in p:
            raise ValueError(f"file name part {p!r} may not contain '.' or '/'")
    version = f"{release}_{genome}" if genomic else release
    return ".".join([*parts, version, ext])


def download_path(kind: str, release: str, genome: str, **parts: str | None) -> str:
    """``downloads/<name>`` (relative to the release directory); see :func:`download_name`."""
    return f"{DOWNLOADS_DIR}/{download_name(kind, release, genome, **parts)}"
