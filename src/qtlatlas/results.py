"""The result files of one tissue × modality, in the tensorQTL / RatGTEx formats.

This is the contract between the pipeline (which writes them into its work directory) and the release
builder (which reads them), and it is also how an existing atlas moves in: the same files named in
``atlas.yaml`` under ``results:`` are imported without running the engine.

Work-directory layout written by ``qtlatlas run`` (``WORK/{release}/{tissue}/{modality}/``)::

    phenotypes.bed.gz (+ .tbi)      normalised phenotypes (the mapped matrix)
    covariates.txt                  covariates used (tensorQTL layout)
    covariates.json                 with the lab's covariates: which were computed and why some PCs were not
    median.tsv.gz                   phenotype_id, median of the unnormalised values
    cis_qtl.txt.gz                  permutation pass with qval, pval_nominal_threshold
    cis_independent_qtl.txt.gz      conditionally independent signals (rank)
    groups.txt                      phenotype_id<TAB>group (gene) of grouped modalities
    nominal/cis_qtl_pairs.{chrom}.parquet   nominal pass, one per chromosome
    cis_qtl.signif_pairs.parquet    significant pairs
    trans_qtl_pairs.parquet         trans pairs (modalities listed in mapping.trans_modalities)
    aFC.txt.gz                      log2 aFC of top and independent QTLs (when a counts BED is given)
    susie_credible_sets.parquet     SuSiE credible sets of the significant phenotypes (one row per member)
    susie_pip.parquet               SuSiE PIP and per-effect log Bayes factors of every fine-mapped variant
    summary.json                    counts and timings

Cross-modality results live in ``WORK/{release}/{tissue}/cross_modality/`` with the same names.

TWAS results (``WORK/{release}/twas/``, written when ``atlas.yaml`` lists ``twas.traits``)::

    panels/{tissue}.{modality}/     weights panel of one tissue × modality (panel id ``{tissue}.{modality}``):
        twas_weights.parquet        one row per phenotype × SNP (:mod:`qtlatlas.twas.fusion_io` panel format)
        twas_profile.parquet        one row per fitted phenotype: h², CV R² and p-value per model
        summary.json                phenotypes fitted and skipped (with reasons)
    assoc/{trait}.parquet           association of every model of every panel with the trait: FUSION's
                                    ``.dat`` columns + tissue, modality, phenotype_id, gene_id, skip_reason
    post/{trait}/                   loci with joint/conditional tests (FUSION post_process):
        loci.parquet                one row per analysed locus (numbered 1.. per trait in genome order)
        locus_models.parquet        the models of each locus: joint flag, joint/conditional z
        locus_gwas.parquet          per locus SNP: marginal and conditional GWAS z
        omnibus.parquet             omnibus test per gene with several models
        summary.json                models tested, Bonferroni threshold, loci
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from pathlib import Path

CROSS_MODALITY = "cross_modality"

FILE_NAMES = {
    "phenotypes": "phenotypes.bed.gz",
    "covariates": "covariates.txt",
    "design": "covariates.json",
    "median": "median.tsv.gz",
    "cis": "cis_qtl.txt.gz",
    "independent": "cis_independent_qtl.txt.gz",
    "signif_pairs": "cis_qtl.signif_pairs.parquet",
    "trans": "trans_qtl_pairs.parquet",
    "afc": "aFC.txt.gz",
    "susie_credible_sets": "susie_credible_sets.parquet",
    "susie_pip": "susie_pip.parquet",
    "summary": "summary.json",
    "groups": "groups.txt",
}
NOMINAL_PATTERN = "cis_qtl_pairs.*.parquet"


@dataclass
class ResultFiles:
    """Paths of the results of one tissue × modality; absent optional results are None.

    ``nominal`` lists the nominal-pass files (per-chromosome Parquet, text, or a per-gene ZIP archive;
    possibly empty); ``design`` is what the prepare task decided about the lab's covariates
    (``covariates.json``). ``shared`` names the fields whose file holds every tissue (a release's multi-tissue
    ``results``): only its rows whose ``tissue_column`` equals :attr:`tissue` belong here. ``median_matrix``
    is a genes × tissues table of median expression (its column :attr:`tissue`).
    """

    tissue: str
    modality: str
    cis: Path | None
    phenotypes: Path | None = None
    covariates: Path | None = None
    median: Path | None = None
    independent: Path | None = None
    signif_pairs: Path | None = None
    trans: Path | None = None
    afc: Path | None = None
    susie_credible_sets: Path | None = None
    susie_pip: Path | None = None
    summary: Path | None = None
    groups: Path | None = None
    design: Path | None = None
    nominal: list[Path] = field(default_factory=list)
    shared: frozenset[str] = frozenset()
    tissue_column: str = "tissue"
    median_matrix: Path | None = None

    @classmethod
    def from_directory(cls, directory: str | os.PathLike[str], tissue: str, modality: str) -> ResultFiles:
        """The results found in a work directory laid out as in the module docstring."""
        d = Path(directory)

        def opt(key: str) -> Path | None:
            p = d / FILE_NAMES[key]
            return p if p.exists() else None

        nominal = sorted(Path(p) for p in glob.glob(str(d / "nominal" / NOMINAL_PATTERN)))
        return cls(tissue=tissue, modality=modality, cis=d / FILE_NAMES["cis"], phenotypes=opt("phenotypes"),
                   covariates=opt("covariates"), median=opt("median"), independent=opt("independent"),
                   signif_pairs=opt("signif_pairs"), trans=opt("trans"), afc=opt("afc"), summary=opt("summary"),
                   groups=opt("groups"), design=opt("design"), nominal=nominal,
                   susie_credible_sets=opt("susie_credible_sets"), susie_pip=opt("susie_pip"))

    @classmethod
    def from_import(cls, imported, tissue: str, modality: str, shared=None) -> ResultFiles:
        """The results named in an ``atlas.yaml`` ``results:`` section (:class:`qtlatlas.config.ImportedResults`,
        or None) completed by the release's multi-tissue tables of the modality (``shared``,
        :class:`qtlatlas.config.MultiTissueResults`, or None); a per-tissue file wins. ``*`` in nominal paths is
        expanded."""
        nominal: list[Path] = []
        for p in (imported.nominal if imported is not None else []):
            nominal += sorted(Path(x) for x in glob.glob(str(p))) if "*" in str(p) else [Path(p)]
        own = {k: getattr(imported, k, None) if imported is not None else None
               for k in ("cis", "phenotypes", "covariates", "median", "independent", "signif_pairs", "trans", "afc")}
        from_shared = set()
        if shared is not None:
            for k in ("cis", "independent", "signif_pairs"):
                if own[k] is None and getattr(shared, k) is not None:
                    own[k] = getattr(shared, k)
                    from_shared.add(k)
        return cls(tissue=tissue, modality=modality, nominal=nominal, shared=frozenset(from_shared),
                   tissue_column=shared.tissue_column if shared is not None else "tissue",
                   median_matrix=shared.median if shared is not None and own["median"] is None else None, **own)


TWAS_DIR = "twas"
TWAS_PANELS = "panels"
TWAS_ASSOC = "assoc"
TWAS_POST = "post"
#: Files of a post-processing directory ``post/{trait}/``.
TWAS_POST_FILES = {
    "loci": "loci.parquet",
    "locus_models": "locus_models.parquet",
    "locus_gwas": "locus_gwas.parquet",
    "omnibus": "omnibus.parquet",
    "summary": "summary.json",
}
#: Counts file of a weights panel directory.
TWAS_PANEL_SUMMARY = "summary.json"


def twas_panel_id(tissue: str, modality: str) -> str:
    """The id of the weights panel of a tissue × modality: ``{tissue}.{modality}``."""
    return f"{tissue}.{modality}"


def twas_selection(release, settings) -> list[tuple[str, str]]:
    """(tissue, modality) pairs of ``release`` (:class:`qtlatlas.config.Release`) that get a TWAS weights
    panel under ``settings`` (:class:`qtlatlas.config.TwasSettings`): those in ``settings.tissues`` and
    ``settings.modalities`` (all when None) that are mapped (a phenotype BED) or whose imported results name
    their normalised phenotypes."""
    out = []
    for tissue, modality, inp in release.inputs():
        if settings.tissues is not None and tissue not in settings.tissues:
            continue
        if settings.modalities is not None and modality not in settings.modalities:
            continue
        if inp.bed is not None or (inp.results is not None and inp.results.phenotypes is not None):
            out.append((tissue, modality))
    return out


def twas_directory(work: str | os.PathLike[str], release: str) -> Path:
    """``WORK/{release}/twas``."""
    return Path(work) / release / TWAS_DIR


def twas_panel_directory(work: str | os.PathLike[str], release: str, tissue: str, modality: str) -> Path:
    """``WORK/{release}/twas/panels/{tissue}.{modality}``."""
    return twas_directory(work, release) / TWAS_PANELS / twas_panel_id(tissue, modality)


def twas_assoc_file(work: str | os.PathLike[str], release: str, trait: str) -> Path:
    """``WORK/{release}/twas/assoc/{trait}.parquet``."""
    return twas_directory(work, release) / TWAS_ASSOC / f"{trait}.parquet"


def twas_post_directory(work: str | os.PathLike[str], release: str, trait: str) -> Path:
    """``WORK/{release}/twas/post/{trait}``."""
    return twas_directory(work, release) / TWAS_POST / trait


@dataclass
class TwasResultFiles:
    """The TWAS results of a release found in ``WORK/{release}/twas`` (complete entries only).

    ``panels``: panel id -> panel directory (holding both Parquet tables); ``associations``: trait ->
    association table; ``post``: trait -> post-processing directory (holding every file of
    :data:`TWAS_POST_FILES`).
    """

    directory: Path
    panels: dict[str, Path] = field(default_factory=dict)
    associations: dict[str, Path] = field(default_factory=dict)
    post: dict[str, Path] = field(default_factory=dict)

    @classmethod
    def from_directory(cls, directory: str | os.PathLike[str]) -> TwasResultFiles:
        d = Path(directory)
        out = cls(d)
        for p in sorted((d / TWAS_PANELS).glob("*")) if (d / TWAS_PANELS).is_dir() else []:
            if (p / "twas_weights.parquet").is_file() and (p / "twas_profile.parquet").is_file():
                out.panels[p.name] = p
        for p in sorted((d / TWAS_ASSOC).glob("*.parquet")) if (d / TWAS_ASSOC).is_dir() else []:
            out.associations[p.name[: -len(".parquet")]] = p
        for p in sorted((d / TWAS_POST).glob("*")) if (d / TWAS_POST).is_dir() else []:
            if all((p / f).is_file() for f in TWAS_POST_FILES.values()):
                out.post[p.name] = p
        return out

    @property
    def empty(self) -> bool:
        return not (self.panels or self.associations or self.post)


def work_directory(work: str | os.PathLike[str], release: str, tissue: str, modality: str) -> Path:
    """``WORK/{release}/{tissue}/{modality}``."""
    return Path(work) / release / tissue / modality
