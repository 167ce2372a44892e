"""The result files of one tissue × modality, in the tensorQTL / RatGTEx formats.

This is the contract between the pipeline (which writes them into its work directory) and the release
builder (which reads them), and it is also how an existing atlas moves in: the same files named in
``atlas.yaml`` under ``results:`` are imported without running the engine.

Work-directory layout written by ``qtlatlas run`` (``WORK/{release}/{tissue}/{modality}/``)::

    phenotypes.bed.gz (+ .tbi)      normalised phenotypes (the mapped matrix)
    covariates.txt                  covariates used (tensorQTL layout)
    median.tsv.gz                   phenotype_id, median of the unnormalised values
    cis_qtl.txt.gz                  permutation pass with qval, pval_nominal_threshold
    cis_independent_qtl.txt.gz      conditionally independent signals (rank)
    groups.txt                      phenotype_id<TAB>group (gene) of grouped modalities
    nominal/cis_qtl_pairs.{chrom}.parquet   nominal pass, one per chromosome
    cis_qtl.signif_pairs.parquet    significant pairs
    trans_qtl_pairs.parquet         trans pairs (modalities listed in mapping.trans_modalities)
    aFC.txt.gz                      log2 aFC of top and independent QTLs (when a counts BED is given)
    summary.json                    counts and timings

Cross-modality results live in ``WORK/{release}/{tissue}/cross_modality/`` with the same names.
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
    "median": "median.tsv.gz",
    "cis": "cis_qtl.txt.gz",
    "independent": "cis_independent_qtl.txt.gz",
    "signif_pairs": "cis_qtl.signif_pairs.parquet",
    "trans": "trans_qtl_pairs.parquet",
    "afc": "aFC.txt.gz",
    "summary": "summary.json",
    "groups": "groups.txt",
}
NOMINAL_PATTERN = "cis_qtl_pairs.*.parquet"


@dataclass
class ResultFiles:
    """Paths of the results of one tissue × modality; absent optional results are None.

    ``nominal`` lists the per-chromosome nominal-pass Parquet files (possibly empty).
    """

    tissue: str
    modality: str
    cis: Path
    phenotypes: Path | None = None
    covariates: Path | None = None
    median: Path | None = None
    independent: Path | None = None
    signif_pairs: Path | None = None
    trans: Path | None = None
    afc: Path | None = None
    summary: Path | None = None
    groups: Path | None = None
    nominal: list[Path] = field(default_factory=list)

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
                   groups=opt("groups"), nominal=nominal)


    @classmethod
    def from_import(cls, imported, tissue: str, modality: str) -> ResultFiles:
        """The results named in an ``atlas.yaml`` ``results:`` section (:class:`qtlatlas.config.ImportedResults`);
        ``*`` in nominal paths is expanded."""
        nominal: list[Path] = []
        for p in imported.nominal:
            nominal += sorted(Path(x) for x in glob.glob(str(p))) if "*" in str(p) else [Path(p)]
        return cls(tissue=tissue, modality=modality, cis=imported.cis, phenotypes=imported.phenotypes,
                   covariates=imported.covariates, median=imported.median, independent=imported.independent,
                   signif_pairs=imported.signif_pairs, trans=imported.trans, afc=imported.afc, nominal=nominal)


def work_directory(work: str | os.PathLike[str], release: str, tissue: str, modality: str) -> Path:
    """``WORK/{release}/{tissue}/{modality}``."""
    return Path(work) / release / tissue / modality
