"""Build an immutable release directory from the result files of every tissue × modality.

The release is written into ``SITE/releases/.<id>.building-<pid>-<random>`` and renamed to
``SITE/releases/<id>`` only once complete (``MANIFEST.tsv`` is written last inside it), so a build killed
at any moment leaves either no ``SITE/releases/<id>`` or a complete one. A published release is never
rebuilt or modified: corrections go to errata (:mod:`qtlatlas.release.errata`) or to a new release.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import Atlas, PhenotypeInput, Release
from ..errors import QtlAtlasError
from ..io.annotation import read_annotation
from ..io.genotypes import GenotypeReader, open_genotypes
from ..io.groups import read_groups
from ..io.phenotypes import read_bed_samples, read_phenotype_bed
from ..io.sample_labels import relabel, relabel_names, sample_individuals
from ..io.text import write_tsv_gz
from ..results import CROSS_MODALITY, ResultFiles, TwasResultFiles
from . import layout
from .all_pairs import AllPairsFiles, AllPairsWriter
from .all_pairs_by_variant import Store, write_by_variant
from .all_tissue_downloads import AllTissueTables
from .associations import QtlSpool, SignifPairsWriter
from .batched import sidecar_path
from .build_support import bed_index, return_free_memory
from .coloc import publish_coloc
from .downloads import bed_download, copy_file, genotypes_download
from .finemapping import FinemappingTables
from .gene_status import gene_status_rows
from .imported import SharedTables, read_result
from .manifest import write_manifest
from .medians import medians_of
from .metadata import atlas_metadata, mapped_input, release_metadata, write_json
from .pair_streams import SignifTarget, stream_signif
from .predictions import publish_predictions
from .private_files import list_files_scoped, private_at_build
from .qtl_coloc import publish_qtl_coloc
from .sample_qc import infer_qc_report, publish_sample_qc
from .sample_tables import checked_sample_metadata, publish_sample_tables
from .scratch_sql import connect
from .staging import already_published, remove_stale_builds
from .studies import publish_studies
from .summary_tables import write_status_tables, write_tissue_tables
from .tables import (
    GeneIndex,
    GeneResolver,
    download_qtls,
    exons_table,
    genes_table,
    qtl_table,
    read_result_table,
    transcripts_table,
    write_gene_model_index,
    write_table,
)
from .twas_tables import infer_twas_results, publish_twas
from .values import (
    PHENOTYPE_INDEX_SCHEMA,
    ExpressionIndexWriter,
    ValuesIndexWriter,
    phenotype_part,
    values_table,
)
from .variant_store import VariantStore
from .variant_tables import write_variant_tables

_SCRATCH = ".scratch"


def build_release(atlas: Atlas, release_id: str, site: str | os.PathLike[str],
                  results: Mapping[tuple[str, str], ResultFiles],
                  on_step: Callable[[str], None] | None = None, twas: TwasResultFiles | None = None) -> Path:
    """Build release ``release_id`` of ``atlas`` into ``SITE/releases/<id>`` and return that path.

    Args:
        atlas: the atlas configuration.
        release_id: a release defined in ``atlas``.
        site: the site directory (created if needed).
        results: (tissue id, modality id) -> :class:`ResultFiles`; modality may be ``cross_modality``.
            Absent optional result files are skipped (what exists is built).
        on_step: called with a short description at the start of each step (progress display).
        twas: the release's TWAS results; by default those beside the mapping results in the work directory
            (``WORK/{release}/twas``), when the atlas lists traits. None found: the release has no TWAS tables.

    Raises:
        QtlAtlasError: the release is already published, or an input is missing or malformed.
    """
    step = on_step or (lambda _s: None)
    release = atlas.release(release_id)
    site = Path(site)
    final = layout.release_dir(site, release.id)
    if final.exists():
        raise already_published(site, release.id)
    missing = [f"{t} × {m}" for t, m, _ in release.inputs() if (t, m) not in results]
    if missing:
        raise QtlAtlasError(f"release {release.id}: no results for {', '.join(missing)}")
    step("studies")
    publish_studies(atlas, site)
    root = layout.releases_dir(site)
    root.mkdir(parents=True, exist_ok=True)
    remove_stale_builds(site, release.id)
    tmp = root / f"{layout.building_prefix(release.id)}{os.getpid()}-{secrets.token_hex(4)}"
    tmp.mkdir()
    try:
        builder = _ReleaseBuilder(atlas, release, tmp, results, step)
        builder.twas = twas if twas is not None else infer_twas_results(atlas, release, results)
        builder.run()
        step("publish")
        if final.exists():
            raise already_published(site, release.id)
        try:
            os.rename(tmp, final)
        except OSError:
            raise already_published(site, release.id) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    step("atlas.json")
    write_json(atlas_metadata(atlas), layout.atlas_json(site), atomic=True)
    return final


class _ReleaseBuilder:
    def __init__(self, atlas: Atlas, release: Release, out: Path, results: Mapping[tuple[str, str], ResultFiles],
                 step: Callable[[str], None]):
        self.atlas, self.release, self.out, self.results, self.step = atlas, release, out, results, step
        self.fdr, self.unit = atlas.mapping.fdr, release.unit("expression")  # unit: of unnormalised expression
        self.inputs: dict[tuple[str, str], PhenotypeInput] = {(t, m): inp for t, m, inp in release.inputs()}
        self.descriptions: dict[str, tuple[str, str]] = {}
        self.tested_genes: set[str] = set()
        self.status: list[pd.DataFrame] = []
        self.tissue_modality: list[dict] = []
        self.mapped_inputs: list[dict] = []  # how each tissue × modality was mapped (release.json "inputs")
        self.samples: dict[str, dict[str, list[str]]] = {}  # tissue -> modality -> samples
        self.expressed: dict[tuple[str, str], set[str]] = {}
        self.medians: list[pd.DataFrame] = []
        self.trans_frames: list[pd.DataFrame] = []
        self.scratch = out / _SCRATCH
        self.twas: TwasResultFiles | None = None
        self.shared = SharedTables()
        #: significant pairs of multi-tissue sources, streamed once each after every tissue × modality:
        #: (path, tissue column, modality) -> tissue -> target
        self.shared_signif: dict[tuple[str, str, str], dict[str, SignifTarget]] = {}
        self.gene_flags: pd.DataFrame | None = None
        self.n_genes_tested = 0
        self.all_pairs_counts: dict = {}
        self.private = private_at_build(atlas)  # tissues and traits not public today: private manifest
        self.all_tissue = AllTissueTables(private=self.private.tissues)  # per-tissue QTL downloads, per modality

    # -- helpers ----------------------------------------------------------------------------------

    def _note(self, rel: str, description: str, kind: str) -> Path:
        self.descriptions[rel] = (description, kind)
        return self.out / rel

    def _download(self, kind: str, description: str, **parts: str | None) -> Path:
        rel = layout.download_path(kind, self.release.id, self.release.genome, **parts)
        return self._note(rel, description, "download")

    def _bed(self, src: Path, kind: str, description: str, **parts: str | None) -> None:
        dest = self._download(kind, description, **parts)
        bed_download(src, dest)
        self._note(str(dest.relative_to(self.out)) + ".tbi", f"tabix index of {dest.name}", "index")

    def _table(self, rel: str, description: str) -> Path:
        return self._note(rel, description, "table")

    def _index(self, rel: str, description: str) -> None:
        """Record the sidecar of the look-up file ``rel``."""
        self._note(str(sidecar_path(rel)), description, "index")

    def _order(self) -> list[tuple[str, str]]:
        keys = list(self.inputs)
        extra = [k for k in self.results if k not in self.inputs]
        extra.sort(key=lambda k: ([t for t, _ in keys].index(k[0]) if k[0] in [t for t, _ in keys] else 1 << 30,
                                  k[1] != CROSS_MODALITY, k))
        return keys + extra

    def _groups(self, tissue: str) -> dict[str, pd.Series]:
        return {m: read_groups(inp.groups) for (t, m), inp in self.inputs.items() if t == tissue and inp.groups}

    def _relabel(self, tissue: str) -> dict[str, str]:
        """RNA sample id -> individual id of ``tissue`` where they differ (the portal's tables name
        individuals, as the genotypes do; :mod:`qtlatlas.io.sample_labels`)."""
        return sample_individuals(self.release.samples, tissue)

    def _grouped(self, modality: str) -> bool:
        if modality == CROSS_MODALITY:
            return True
        try:
            return self.atlas.modality(modality).grouped
        except KeyError:
            return False

    # -- steps ------------------------------------------------------------------------------------

    def run(self) -> None:
        self.step("sample tables")
        self.sample_metadata = checked_sample_metadata(self.atlas, self.release)  # malformed: fail before the work
        self.step("annotation")
        ann = read_annotation(self.release.annotation)
        self.genes = GeneIndex(ann.genes)
        gene_names = ann.genes[["gene_id", "gene_name"]].copy()
        self.gene_flags = ann.gene_flags
        write_table(genes_table(ann.genes), self._table(layout.table_path("genes"), "genes of the release annotation"))
        for kind, table in (("transcripts", transcripts_table(ann.transcripts)), ("exons", exons_table(ann.exons))):
            write_table(table, self._table(layout.table_path(kind), f"{kind} of the release annotation"))
            index = f"{kind}_index"
            write_gene_model_index(table, kind, self._table(
                layout.table_path(index), f"{kind} keyed by gene id (Arrow IPC batches for gene look-ups)"))
            self._index(layout.table_path(index), f"key range of each batch of {index}")
        del ann

        self.step("variants")
        readers: list[GenotypeReader] = [open_genotypes(p) for p in self.release.genotypes]
        self.variants = VariantStore((chunk for r in readers for chunk in r.iter_variants()), self.scratch,
                                     connect(self.scratch))
        del readers
        self.all_pairs = AllPairsWriter(self.scratch, self.variants, self.genes, gene_names)
        self.finemapping = FinemappingTables(self.variants, gene_names, self._table, self._download)
        del gene_names

        self.qtls = QtlSpool(self.scratch)
        self.signif = SignifPairsWriter(self.out / layout.table_path("signif_pairs"), self.scratch, self.variants,
                                        by_position=self.out / layout.table_path("associations_by_position"),
                                        by_gene=self.out / layout.table_path("associations_by_gene"))
        self._note(layout.table_path("signif_pairs"), "significant cis variant–phenotype pairs", "table")
        by_pos = layout.table_path("associations_by_position")
        self._note(by_pos, "top, independent and significant cis associations sorted by variant position "
                   "(Arrow IPC batches for region and variant look-ups)", "table")
        self._index(by_pos, "position range of each batch of associations_by_position")
        by_gene = layout.table_path("associations_by_gene")
        self._note(by_gene, "top, independent and significant cis associations in runs of one gene and source "
                   "(Arrow IPC batches for gene look-ups)", "table")
        self._index(by_gene, "rows of each gene and source in associations_by_gene")
        self.expression_index: ExpressionIndexWriter | None = None
        self.phenotype_index: ValuesIndexWriter | None = None
        for tissue, modality in self._order():
            self.step(f"{tissue} × {modality}")
            self._tissue_modality(tissue, modality, self.results[(tissue, modality)], self.inputs.get((tissue, modality)))
            return_free_memory()
        self.step("QTL downloads of every tissue")
        self.all_tissue.write(self._download)
        if len(self.all_pairs_counts) > 1:
            self.step("every tested pair by variant")
            self._all_pairs_by_variant()
        if self.expression_index is not None:
            self.expression_index.close()
            self._index(layout.table_path("expression_index"),
                        "key range of each batch of expression_index, and the sample ids of each tissue")
        if self.phenotype_index is not None:
            self.phenotype_index.close()
            self._index(layout.table_path("phenotype_index"),
                        "key range of each batch of phenotype_index, and the sample ids of each tissue × modality")
        self.shared = SharedTables()  # the multi-tissue tables are read: let them go
        for (path, column, modality), targets in self.shared_signif.items():
            self.step(f"significant pairs of every tissue × {modality} ({Path(path).name})")
            stream_signif([path], targets, tissue_column=column, grouped=self._grouped(modality), modality=modality,
                          writer=self.signif, genes=self.genes, variants=self.variants)

        self.step("significant pairs and QTL tables")
        top_path = self._table(layout.table_path("top_qtls"), "top cis-QTL per phenotype/group, every tissue × modality")
        indep_path = self._table(layout.table_path("independent_qtls"),
                                 "conditionally independent cis-QTLs, every tissue × modality")
        self.signif.finish(self.qtls, {"top": top_path, "independent": indep_path})
        self.n_genes_tested = len(self.tested_genes)
        self.step("gene status and counts")
        self._qtl_tables()
        self.step("TWAS")
        if publish_twas(self.atlas, self.release, self.twas, self.out, self._note) is not None:
            self.step("predicted phenotypes")
            publish_predictions(self.atlas, self.release, self.twas, self.out, self._note, self.scratch)
        self.step("fine-mapping")
        self.finemapping_counts = self.finemapping.finish()
        self.step("tissues and samples")
        self._tissue_tables()
        self.step("sample QC report")
        publish_sample_qc(infer_qc_report(self.release, self.results), self.release, self.out,
                                          self._note)
        self.step("variants and genotypes")
        self._genotypes()
        self.coloc_counts = publish_coloc(self.atlas, self.release, self.out, self._note, self.step)
        self.step("QTL–QTL colocalisation")
        self.qtl_coloc = publish_qtl_coloc(self.atlas, self.release, self.out, self._note)
        self.step("release.json")
        self._release_json()
        shutil.rmtree(self.scratch, ignore_errors=True)
        self.step("manifest")
        write_manifest(self.out, self.descriptions, list_files_scoped(self.out, self.private))

    def _tissue_modality(self, tissue: str, modality: str, rf: ResultFiles, inp: PhenotypeInput | None) -> None:
        resolver = GeneResolver(self._groups(tissue), modality)
        grouped = self._grouped(modality)
        label = f"{tissue} {modality}"
        # a BED declared normalised is published once, as the normalised phenotypes that were mapped
        raw_bed = inp.bed if inp is not None and not inp.normalised else None
        fallback = None
        samples: list[str] = []
        normalised_ids: list[str] | None = None

        cis = read_result(rf, "cis", self.shared, grouped)
        raw_indep = read_result(rf, "independent", self.shared, grouped)
        if rf.shared and (cis is None or cis.empty) and (raw_indep is None or raw_indep.empty) and raw_bed is None:
            return  # a multi-tissue table without rows of this tissue (e.g. no cross-modality results)

        # phenotype BEDs: portal values table and downloads
        if rf.phenotypes is not None:
            table = read_phenotype_bed(rf.phenotypes, allow_missing=True)
            values = values_table(table.phenotype_ids, table.values, table.samples)
            write_table(values, self._table(layout.phenotype_table_path(tissue, modality),
                                            f"normalised phenotypes of {label}, one column per sample"))
            if self.phenotype_index is None:
                self.phenotype_index = ValuesIndexWriter(self._table(
                    layout.table_path("phenotype_index"), "normalised phenotypes of every tissue × modality keyed "
                    "by phenotype id (Arrow IPC batches for look-ups)"), PHENOTYPE_INDEX_SCHEMA)
            self.phenotype_index.add(phenotype_part(tissue, modality), values)
            del values
            fallback = pd.DataFrame({"chrom": table.positions["chrom"].to_numpy(), "tss": table.tss},
                                    index=pd.Index(table.phenotype_ids))
            samples = list(table.samples)
            normalised_ids = list(table.phenotype_ids)
            del table
            self._bed(rf.phenotypes, "phenotypes", f"normalised phenotypes of {label} (BED)", tissue=tissue,
                      modality=modality, norm="norm")
        if raw_bed is not None:
            idx = bed_index(raw_bed)
            if fallback is None:
                fallback = idx
            samples = samples or relabel_names(read_bed_samples(raw_bed), self._relabel(tissue), str(raw_bed))
            what = (f"{modality}, {self.unit} (unnormalised), genes × samples" if modality == "expression"
                    else f"unnormalised phenotypes of {modality}, phenotypes × samples")
            self._bed(raw_bed, "phenotypes", f"{what} of {tissue} (BED)", tissue=tissue, modality=modality, norm="raw")
            if modality == "expression":
                self._expression(tissue, raw_bed, rf, resolver)
        if inp is not None and inp.counts is not None:
            self._bed(inp.counts, "log2_counts", f"log2(read count + 1) of {label}, phenotypes × samples (BED)",
                      tissue=tissue, modality=modality)
        if modality != CROSS_MODALITY and samples:
            self.samples.setdefault(tissue, {})[modality] = samples

        # cis tables
        afc = read_result_table(rf.afc) if rf.afc is not None else None
        top = None
        if cis is not None:
            top = qtl_table(cis, tissue, modality, resolver, self.genes, self.variants, afc=afc, fallback=fallback)
            self.variants.mark(top["variant_id"], top["af"])
            self.qtls.add("top", top)
            self.tested_genes.update(top["gene_id"].dropna())
            self.all_tissue.add("top_assoc", tissue, modality, write_tsv_gz(download_qtls(top, cis, self.genes.name),
                                self._download("top_assoc", f"top cis-QTL per phenotype of {label}", tissue=tissue,
                                               modality=modality)))
        indep = None
        if raw_indep is not None:
            indep = qtl_table(raw_indep, tissue, modality, resolver, self.genes, self.variants, afc=afc, cis=cis,
                              fallback=fallback)
            self.variants.mark(indep["variant_id"], indep["af"])
            self.qtls.add("independent", indep)
            self.all_tissue.add("indep_assoc", tissue, modality, write_tsv_gz(
                download_qtls(indep, raw_indep, self.genes.name), self._download(
                    "indep_assoc", f"conditionally independent cis-QTLs of {label}", tissue=tissue, modality=modality)))
        if afc is not None:
            write_tsv_gz(afc, self._download("aFC", f"allelic fold change (log2) of the cis-QTLs of {label}",
                                             tissue=tissue, modality=modality))
        covariates = rf.covariates or (inp.covariates if inp is not None else None)
        if covariates is not None:
            copy_file(covariates, self._download("covariates", f"covariates used to map {label}",
                                                 tissue=tissue, modality=modality))
        self.mapped_inputs.append(mapped_input(tissue, modality, inp, covariates, self.release.imported(tissue, modality)
                                               or (inp is None and bool(rf.shared)), design=rf.design))

        # status per gene
        normalised = (set(resolver.genes(pd.Series(normalised_ids, dtype=object)).dropna())
                      if normalised_ids is not None else None)
        status, expressed, counts = gene_status_rows(tissue, modality, top, indep, self.fdr, normalised,
                                                     self.gene_flags)
        self.expressed[(tissue, modality)] = expressed
        self.status.append(status)
        self.tissue_modality.append({"tissue": tissue, "modality": modality, "n_samples": len(samples), **counts})

        # pairs: significant (streamed now, or with every tissue of a shared source) and the nominal pass
        self._signif(tissue, modality, rf, cis, resolver, fallback, grouped)
        if rf.nominal and modality != CROSS_MODALITY:
            self._all_pairs(tissue, modality, rf, resolver, fallback, grouped)

        self.finemapping.add(tissue, modality, rf, resolver)

        # trans
        if rf.trans is not None:
            trans = read_result_table(rf.trans)
            write_tsv_gz(trans, self._download("trans_pairs", f"trans-QTL pairs of {label}", tissue=tissue,
                                               modality=modality))
            trans.insert(0, "modality", modality)
            trans.insert(0, "tissue", tissue)
            self.trans_frames.append(trans)

    def _all_pairs(self, tissue: str, modality: str, rf: ResultFiles, resolver: GeneResolver,
                   fallback: pd.DataFrame | None, grouped: bool) -> None:
        """Every tested pair of the tissue × modality: the query store and the tabix-indexed download."""
        label = f"{tissue} {modality}"
        parts = {part: self._table(layout.all_pairs_path(tissue, modality, part), description) for part, description in (
            ("pairs", f"every tested cis pair of {label}: variant index and statistics, by phenotype"),
            ("runs", f"the rows of each phenotype in the all-pairs store of {label}"),
            ("variants", f"allele frequency and minor-allele counts of every variant in the samples of {label}"))}
        download = self._download("nominal", f"every tested cis variant–phenotype pair of {label} (nominal pass)",
                                  tissue=tissue, modality=modality)
        self._note(str(download.relative_to(self.out)) + ".tbi", f"tabix index of {download.name}", "index")
        counts = self.all_pairs.write(rf.nominal, AllPairsFiles(parts["pairs"], parts["runs"], parts["variants"],
                                                                download),
                                      modality=modality, grouped=grouped, resolver=resolver, fallback=fallback)
        self.all_pairs_counts[(tissue, modality)] = counts

    def _all_pairs_by_variant(self) -> None:
        """The pairs of every tissue × modality's all-pairs store once more, sorted by variant."""
        rel = layout.ALL_PAIRS_BY_VARIANT
        dest = self._table(rel, "every tested cis pair of every tissue × modality sorted by variant "
                                "(Arrow IPC batches for a variant's PheWAS)")
        self._index(rel, "variant-index range of each batch of the pairs by variant")
        stores = [Store(t, m, *(self.out / layout.all_pairs_path(t, m, part) for part in layout.ALL_PAIRS_PARTS))
                  for t, m in self.all_pairs_counts]
        write_by_variant(stores, dest, self.scratch, self.variants.path)

    def _signif(self, tissue: str, modality: str, rf: ResultFiles, cis: pd.DataFrame | None, resolver: GeneResolver,
                fallback: pd.DataFrame | None, grouped: bool) -> None:
        by_group = cis is not None and "group_id" in cis
        thresholds = None
        if cis is not None and "pval_nominal_threshold" in cis:
            sig = cis[pd.to_numeric(cis["qval"], errors="coerce") <= self.fdr] if "qval" in cis else cis
            key = sig["group_id"] if by_group else sig["phenotype_id"]
            thresholds = pd.Series(pd.to_numeric(sig["pval_nominal_threshold"], errors="coerce").to_numpy(np.float64),
                                   index=key.astype(object).to_numpy())
            thresholds = thresholds[~thresholds.index.duplicated()]
        if rf.signif_pairs is not None:
            sources, filtered = [rf.signif_pairs], False
        elif rf.nominal and thresholds is not None:
            sources, filtered = list(rf.nominal), True
        else:
            return
        dest = self._download("signif_pairs", f"significant cis variant–phenotype pairs of {tissue} {modality}",
                              tissue=tissue, modality=modality)
        target = SignifTarget(tissue, modality, resolver, fallback, thresholds, by_group, filtered, dest)
        if "signif_pairs" in rf.shared:
            self.shared_signif.setdefault((str(rf.signif_pairs), rf.tissue_column, modality), {})[tissue] = target
            return
        stream_signif(sources, {tissue: target}, tissue_column=None, grouped=grouped, modality=modality,
                      writer=self.signif, genes=self.genes, variants=self.variants)

    def _expression(self, tissue: str, raw_bed: Path, rf: ResultFiles, resolver: GeneResolver) -> None:
        table = relabel(read_phenotype_bed(raw_bed, allow_missing=True), self._relabel(tissue), str(raw_bed))
        values = values_table(table.phenotype_ids, table.values, table.samples)
        write_table(values, self._table(layout.expression_table_path(tissue),
                                        f"expression (unnormalised, {self.unit}) of {tissue}, one column per sample"))
        if self.expression_index is None:
            self.expression_index = ExpressionIndexWriter(self._table(
                layout.table_path("expression_index"),
                "expression of every tissue keyed by gene (Arrow IPC batches for gene look-ups)"))
        self.expression_index.add(tissue, values)
        del values
        self.medians.append(medians_of(tissue, table, rf, resolver))

    def _qtl_tables(self) -> None:
        """The status, count, trans and median tables (the QTL tables are written with the pairs)."""
        write_status_tables(self.status, self.tissue_modality, self.trans_frames, self.medians, self.unit,
                            self._table, self._index, self._download)

    def _tissue_tables(self) -> None:
        write_tissue_tables(self.atlas, list(dict.fromkeys(t for t, _ in self._order())), self.samples, self.expressed,
                            self._table, self._download)
        publish_sample_tables(self.sample_metadata, [t.id for t in self.atlas.tissues],
                              {t.id: t.name for t in self.atlas.tissues}, self._table, self._download)

    def _genotypes(self) -> None:
        write_variant_tables(self.variants, self.out, self._table, self._index)
        self.variants.con.close()
        del self.variants
        genotypes_download(self.release.genotypes, self._download("genotypes", "genotypes of the release (VCF)"))
        vcf = layout.download_path("genotypes", self.release.id, self.release.genome)
        self._note(vcf + ".tbi", f"tabix index of {vcf.rsplit('/', 1)[-1]} (genotype look-ups by position)", "index")
        from .genotype_matrix import matrix_sources, samples_path, write_genotype_matrix

        matrix = layout.table_path("genotype_matrix")
        write_genotype_matrix(matrix_sources(self.release.genotypes, self.out / layout.download_path(
            "genotypes", self.release.id, self.release.genome)), self.out / layout.table_path("variants_by_position"),
            self._table(matrix, "genotypes of every variant, rows in the order of variants_by_position (PLINK 1 "
                        ".bed layout: LD look-ups)"))
        self._note(str(samples_path(matrix)), "sample ids of the columns of genotype_matrix", "index")

    def _release_json(self) -> None:
        pairs = [k for k in self._order() if any(r["tissue"] == k[0] and r["modality"] == k[1]
                                                 for r in self.tissue_modality)]
        counts = {"n_genes_tested": self.n_genes_tested,
                  "n_signif_pairs": int(self.signif.n_rows),
                  "tissue_modality": self.tissue_modality,
                  "all_pairs": [{"tissue": t, "modality": m, "n_pairs": c.n_pairs, "n_phenotypes": c.n_phenotypes,
                                 "n_unplaced": c.n_unplaced} for (t, m), c in self.all_pairs_counts.items()],
                  **self.coloc_counts}
        if self.finemapping_counts:
            counts["finemapping"] = self.finemapping_counts
        if self.qtl_coloc is not None:
            counts["qtl_coloc"] = self.qtl_coloc
        info = release_metadata(self.atlas, self.release, pairs, counts, self.mapped_inputs)
        # which items the release-wide files were written without (see qtlatlas.release.private_files)
        info["private_at_build"] = {"tissues": sorted(self.private.tissues), "traits": sorted(self.private.traits)}
        write_json(info,
                   self._note(layout.RELEASE_JSON, "release metadata: genome, annotation, parameters, software",
                              "metadata"))
