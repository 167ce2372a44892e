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
import pyarrow as pa

from ..config import Atlas, PhenotypeInput, Release
from ..errors import QtlAtlasError
from ..io.genotypes import GenotypeReader, open_genotypes
from ..io.groups import read_groups
from ..io.gtf import read_gtf
from ..io.phenotypes import read_bed_samples, read_phenotype_bed
from ..io.text import gzip_text_writer, write_tsv_gz
from ..results import CROSS_MODALITY, ResultFiles, TwasResultFiles
from . import layout
from .batched import sidecar_path
from .downloads import bed_download, copy_file, genotypes_download, median_tpm_download, samples_download
from .manifest import write_manifest
from .metadata import atlas_metadata, release_metadata, write_json
from .studies import publish_studies
from .tables import (
    QTL_ROW_GROUP_SIZE,
    ExpressionIndexWriter,
    GeneIndex,
    GeneResolver,
    SignifPairsWriter,
    VariantIndex,
    download_qtls,
    exons_table,
    genes_table,
    genotypes_table,
    iter_result_batches,
    qtl_table,
    read_result_table,
    signif_rows,
    sorted_qtls,
    transcripts_table,
    values_table,
    write_gene_model_index,
    write_gene_status_index,
    write_table,
    write_variant_index,
)
from .twas_tables import infer_twas_results, publish_twas

_GENOTYPE_WINDOW = 5_000_000
_SCRATCH = ".scratch"


def _already_published(site: Path, release_id: str) -> QtlAtlasError:
    return QtlAtlasError(
        f"release {release_id} is already published in {layout.release_dir(site, release_id)}; releases are "
        "immutable: record a correction with `qtlatlas errata` or build a new release"
    )


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_builds(site: str | os.PathLike[str], release_id: str) -> list[Path]:
    """Delete ``SITE/releases/.<id>.building-*`` directories left by builds that are no longer running."""
    removed = []
    prefix = layout.building_prefix(release_id)
    root = layout.releases_dir(site)
    if not root.is_dir():
        return removed
    for p in root.iterdir():
        if not p.name.startswith(prefix):
            continue
        pid_text = p.name[len(prefix):].split("-", 1)[0]
        if pid_text.isdigit() and _pid_alive(int(pid_text)):
            continue
        shutil.rmtree(p, ignore_errors=True)
        removed.append(p)
    return removed


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
        raise _already_published(site, release.id)
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
            raise _already_published(site, release.id)
        try:
            os.rename(tmp, final)
        except OSError:
            raise _already_published(site, release.id) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    step("atlas.json")
    write_json(atlas_metadata(atlas), layout.atlas_json(site), atomic=True)
    return final


def _bed_index(path: str | os.PathLike[str]) -> pd.DataFrame:
    """``phenotype_id`` -> ``chrom, tss`` of a phenotype BED, read from its first four columns only."""
    df = pd.read_csv(path, sep="\t", usecols=[0, 2, 3], header=0, dtype={0: str, 3: str}, compression="infer")
    df.columns = ["chrom", "tss", "phenotype_id"]
    return df.drop_duplicates("phenotype_id").set_index("phenotype_id")


class _ReleaseBuilder:
    def __init__(self, atlas: Atlas, release: Release, out: Path, results: Mapping[tuple[str, str], ResultFiles],
                 step: Callable[[str], None]):
        self.atlas, self.release, self.out, self.results, self.step = atlas, release, out, results, step
        self.fdr = atlas.mapping.fdr
        self.inputs: dict[tuple[str, str], PhenotypeInput] = {(t, m): inp for t, m, inp in release.inputs()}
        self.descriptions: dict[str, tuple[str, str]] = {}
        self.top: list[pd.DataFrame] = []
        self.indep: list[pd.DataFrame] = []
        self.status: list[pd.DataFrame] = []
        self.tissue_modality: list[dict] = []
        self.samples: dict[str, dict[str, list[str]]] = {}  # tissue -> modality -> samples
        self.expressed: dict[tuple[str, str], set[str]] = {}
        self.medians: list[pd.DataFrame] = []
        self.trans_frames: list[pd.DataFrame] = []
        self.scratch = out / _SCRATCH
        self.twas: TwasResultFiles | None = None

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

    def _order(self) -> list[tuple[str, str]]:
        keys = list(self.inputs)
        extra = [k for k in self.results if k not in self.inputs]
        extra.sort(key=lambda k: ([t for t, _ in keys].index(k[0]) if k[0] in [t for t, _ in keys] else 1 << 30,
                                  k[1] != CROSS_MODALITY, k))
        return keys + extra

    def _groups(self, tissue: str) -> dict[str, pd.Series]:
        return {m: read_groups(inp.groups) for (t, m), inp in self.inputs.items() if t == tissue and inp.groups}

    # -- steps ------------------------------------------------------------------------------------

    def run(self) -> None:
        self.step("annotation")
        ann = read_gtf(self.release.annotation)
        self.genes = GeneIndex(ann.genes)
        write_table(genes_table(ann.genes), self._table(layout.table_path("genes"), "genes of the release annotation"))
        for kind, table in (("transcripts", transcripts_table(ann.transcripts)), ("exons", exons_table(ann.exons))):
            write_table(table, self._table(layout.table_path(kind), f"{kind} of the release annotation"))
            index = f"{kind}_index"
            write_gene_model_index(table, kind, self._table(
                layout.table_path(index), f"{kind} keyed by gene id (Arrow IPC batches for gene look-ups)"))
            self._note(str(sidecar_path(layout.table_path(index))), f"key range of each batch of {index}", "index")
        del ann

        self.step("variants")
        self.readers: list[GenotypeReader] = [open_genotypes(p) for p in self.release.genotypes]
        self.variants = VariantIndex(pd.concat([r.variants for r in self.readers], ignore_index=True))

        self.signif = SignifPairsWriter(self.out / layout.table_path("signif_pairs"), self.scratch,
                                        by_position=self.out / layout.table_path("associations_by_position"),
                                        by_gene=self.out / layout.table_path("associations_by_gene"))
        self._note(layout.table_path("signif_pairs"), "significant cis variant–phenotype pairs", "table")
        by_pos = layout.table_path("associations_by_position")
        self._note(by_pos, "top, independent and significant cis associations sorted by variant position "
                   "(Arrow IPC batches for region and variant look-ups)", "table")
        self._note(str(sidecar_path(by_pos)), "position range of each batch of associations_by_position", "index")
        by_gene = layout.table_path("associations_by_gene")
        self._note(by_gene, "top, independent and significant cis associations in runs of one gene and source "
                   "(Arrow IPC batches for gene look-ups)", "table")
        self._note(str(sidecar_path(by_gene)), "rows of each gene and source in associations_by_gene", "index")
        self.expression_index: ExpressionIndexWriter | None = None
        for tissue, modality in self._order():
            self.step(f"{tissue} × {modality}")
            self._tissue_modality(tissue, modality, self.results[(tissue, modality)], self.inputs.get((tissue, modality)))
        if self.expression_index is not None:
            self.expression_index.close()
            self._note(str(sidecar_path(layout.table_path("expression_index"))),
                       "key range of each batch of expression_index, and the sample ids of each tissue", "index")

        self.step("significant pairs")
        self.signif.finish({"top": sorted_qtls(self.top) if self.top else None,
                            "independent": sorted_qtls(self.indep) if self.indep else None})
        self.step("QTL tables")
        self._qtl_tables()
        self.step("TWAS")
        publish_twas(self.atlas, self.release, self.twas, self.out, self._note)
        self.step("tissues and samples")
        self._tissue_tables()
        self.step("genotypes")
        self._genotypes()
        self.step("release.json")
        self._release_json()
        shutil.rmtree(self.scratch, ignore_errors=True)
        self.step("manifest")
        write_manifest(self.out, self.descriptions)

    def _tissue_modality(self, tissue: str, modality: str, rf: ResultFiles, inp: PhenotypeInput | None) -> None:
        resolver = GeneResolver(self._groups(tissue), modality)
        label = f"{tissue} {modality}"
        raw_bed = inp.bed if inp is not None else None
        fallback = None
        samples: list[str] = []

        # phenotype BEDs: portal values table and downloads
        if rf.phenotypes is not None:
            table = read_phenotype_bed(rf.phenotypes, allow_missing=True)
            write_table(values_table(table.phenotype_ids, table.values, table.samples),
                        self._table(layout.phenotype_table_path(tissue, modality),
                                    f"normalised phenotypes of {label}, one column per sample"))
            fallback = pd.DataFrame({"chrom": table.positions["chrom"].to_numpy(), "tss": table.tss},
                                    index=pd.Index(table.phenotype_ids))
            samples = list(table.samples)
            expressed_ids = table.phenotype_ids
            del table
            self._bed(rf.phenotypes, "phenotypes", f"normalised phenotypes of {label} (BED)", tissue=tissue,
                      modality=modality, norm="norm")
        if raw_bed is not None:
            idx = _bed_index(raw_bed)
            expressed_ids = list(idx.index)
            if fallback is None:
                fallback = idx
            samples = samples or read_bed_samples(raw_bed)
            self._bed(raw_bed, "phenotypes", f"unnormalised phenotypes of {label} (BED)", tissue=tissue,
                      modality=modality, norm="raw")
            if modality == "expression":
                self._expression(tissue, raw_bed, rf, resolver)
        elif rf.phenotypes is None:
            expressed_ids = []
        if modality != CROSS_MODALITY and samples:
            self.samples.setdefault(tissue, {})[modality] = samples

        # cis tables
        cis = read_result_table(rf.cis)
        afc = read_result_table(rf.afc) if rf.afc is not None else None
        top = qtl_table(cis, tissue, modality, resolver, self.genes, self.variants, afc=afc, fallback=fallback)
        self.variants.mark(top["variant_id"], top["af"])
        self.top.append(top)
        write_tsv_gz(download_qtls(top, cis), self._download(
            "top_assoc", f"top cis-QTL per phenotype of {label}", tissue=tissue, modality=modality))
        indep = None
        if rf.independent is not None:
            raw_indep = read_result_table(rf.independent)
            indep = qtl_table(raw_indep, tissue, modality, resolver, self.genes, self.variants, afc=afc, cis=cis,
                              fallback=fallback)
            self.variants.mark(indep["variant_id"], indep["af"])
            self.indep.append(indep)
            write_tsv_gz(download_qtls(indep, raw_indep), self._download(
                "indep_assoc", f"conditionally independent cis-QTLs of {label}", tissue=tissue, modality=modality))
        if afc is not None:
            write_tsv_gz(afc, self._download("aFC", f"allelic fold change (log2) of the cis-QTLs of {label}",
                                             tissue=tissue, modality=modality))
        covariates = rf.covariates or (inp.covariates if inp is not None else None)
        if covariates is not None:
            copy_file(covariates, self._download("covariates", f"covariates used to map {label}",
                                                 tissue=tissue, modality=modality))

        # status per gene
        tested = set(top["gene_id"].dropna())
        egenes = set(top.loc[top["qval"] <= self.fdr, "gene_id"].dropna())
        expressed = set(resolver.genes(pd.Series(expressed_ids, dtype=object)).dropna()) if len(expressed_ids) else set()
        self.expressed[(tissue, modality)] = expressed
        if indep is not None:
            n_indep = indep.groupby("gene_id").size()
        else:
            n_indep = pd.Series(1, index=sorted(egenes), dtype=np.int64)
        all_genes = sorted(expressed | tested)
        self.status.append(pd.DataFrame({
            "gene_id": all_genes, "tissue": tissue, "modality": modality,
            "expressed": [g in expressed for g in all_genes], "tested": [g in tested for g in all_genes],
            "has_qtl": [g in egenes for g in all_genes],
            "n_independent": pd.Series(all_genes, dtype=object).map(n_indep).fillna(0).astype(np.int32).to_numpy(),
        }))
        self.tissue_modality.append({"tissue": tissue, "modality": modality, "n_samples": len(samples),
                                     "n_tested": len(cis), "n_egenes": len(egenes),
                                     "n_independent": int(len(indep)) if indep is not None else int(len(egenes))})

        # significant pairs, streamed
        self._signif(tissue, modality, rf, cis, resolver, fallback, label)

        # trans
        if rf.trans is not None:
            trans = read_result_table(rf.trans)
            write_tsv_gz(trans, self._download("trans_pairs", f"trans-QTL pairs of {label}", tissue=tissue,
                                               modality=modality))
            trans.insert(0, "modality", modality)
            trans.insert(0, "tissue", tissue)
            self.trans_frames.append(trans)

    def _signif(self, tissue: str, modality: str, rf: ResultFiles, cis: pd.DataFrame, resolver: GeneResolver,
                fallback: pd.DataFrame | None, label: str) -> None:
        if rf.signif_pairs is not None:
            sources, thresholds, by_group = [rf.signif_pairs], None, False
        elif rf.nominal:
            sig = cis[pd.to_numeric(cis["qval"], errors="coerce") <= self.fdr]
            by_group = "group_id" in cis
            key = sig["group_id"] if by_group else sig["phenotype_id"]
            thresholds = pd.Series(pd.to_numeric(sig["pval_nominal_threshold"]).to_numpy(np.float64),
                                   index=key.astype(object).to_numpy())
            thresholds = thresholds[~thresholds.index.duplicated()]
            sources = list(rf.nominal)
        else:
            return
        dest = self._download("signif_pairs", f"significant cis variant–phenotype pairs of {label}",
                              tissue=tissue, modality=modality)
        dest.parent.mkdir(parents=True, exist_ok=True)
        header = True
        with gzip_text_writer(dest) as fh:
            for src in sources:
                for batch in iter_result_batches(src):
                    rows = signif_rows(batch, tissue, modality, resolver, self.genes, self.variants, thresholds,
                                       by_group, fallback)
                    if rows.empty:
                        continue
                    self.variants.mark(rows["variant_id"], rows["af"])
                    self.signif.add(rows)
                    rows.drop(columns=["tissue", "modality", "_tss", "_gchrom"]).to_csv(
                        fh, sep="\t", index=False, header=header, float_format="%.6g", na_rep="NA")
                    header = False
            if header:  # no significant pair: header only
                fh.write("\t".join(["phenotype_id", "gene_id", "variant_id", "chrom", "pos", "tss_distance", "af",
                                    "pval_nominal", "slope", "slope_se", "pval_nominal_threshold"]) + "\n")

    def _expression(self, tissue: str, raw_bed: Path, rf: ResultFiles, resolver: GeneResolver) -> None:
        table = read_phenotype_bed(raw_bed, allow_missing=True)
        values = values_table(table.phenotype_ids, table.values, table.samples)
        write_table(values, self._table(layout.expression_table_path(tissue),
                                        f"expression (unnormalised, TPM) of {tissue}, one column per sample"))
        if self.expression_index is None:
            self.expression_index = ExpressionIndexWriter(self._table(
                layout.table_path("expression_index"),
                "expression of every tissue keyed by gene (Arrow IPC batches for gene look-ups)"))
        self.expression_index.add(tissue, values)
        if rf.median is not None:
            med = read_result_table(rf.median)
            pids, values = med["phenotype_id"].astype(object), pd.to_numeric(med["median"], errors="coerce")
        else:
            with np.errstate(all="ignore"):
                import warnings

                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    values = pd.Series(np.nanmedian(table.values, axis=1))
            pids = pd.Series(table.phenotype_ids, dtype=object)
        self.medians.append(pd.DataFrame({"tissue": tissue, "gene_id": resolver.genes(pids).to_numpy(),
                                          "median": np.asarray(values, dtype=np.float64)}))

    def _qtl_tables(self) -> None:
        write_table(sorted_qtls(self.top), self._table(layout.table_path("top_qtls"),
                                                      "top cis-QTL per phenotype/group, every tissue × modality"),
                    row_group_size=QTL_ROW_GROUP_SIZE)
        write_table(sorted_qtls(self.indep), self._table(layout.table_path("independent_qtls"),
                                                        "conditionally independent cis-QTLs, every tissue × modality"),
                    row_group_size=QTL_ROW_GROUP_SIZE)
        status = pd.concat(self.status, ignore_index=True) if self.status else pd.DataFrame(
            columns=["gene_id", "tissue", "modality", "expressed", "tested", "has_qtl", "n_independent"])
        status = status.sort_values(["gene_id", "tissue", "modality"], kind="stable").reset_index(drop=True)
        write_table(status, self._table(layout.table_path("gene_status"),
                                        "expressed / tested / has a QTL, per gene, tissue and modality"))
        write_gene_status_index(status, self._table(layout.table_path("gene_status_index"),
                                                    "gene_status keyed by gene id (Arrow IPC batches for gene look-ups)"))
        self._note(str(sidecar_path(layout.table_path("gene_status_index"))),
                   "key range of each batch of gene_status_index", "index")
        tm = pd.DataFrame(self.tissue_modality, columns=["tissue", "modality", "n_samples", "n_tested", "n_egenes",
                                                         "n_independent"])
        write_table(tm, self._table(layout.table_path("tissue_modality"), "counts per tissue × modality"))
        if self.trans_frames:
            trans = pd.concat(self.trans_frames, ignore_index=True)
            write_table(trans, self._table(layout.table_path("trans_pairs"), "trans-QTL pairs, every tissue × modality"))
        if self.medians:
            med = pd.concat(self.medians, ignore_index=True).drop_duplicates(["tissue", "gene_id"])
            med = med.sort_values(["gene_id", "tissue"], kind="stable").reset_index(drop=True)
            write_table(med, self._table(layout.table_path("medians"), "median expression (TPM) per gene and tissue"))
            median_tpm_download(med, self._download("median_tpm", "median expression (TPM), genes × tissues"))

    def _tissue_tables(self) -> None:
        rows, sample_rows = [], []
        tissues = list(dict.fromkeys(t for t, _ in self._order()))
        for t in tissues:
            info = self.atlas.tissue(t)
            by_mod = self.samples.get(t, {})
            union = list(dict.fromkeys(s for ss in by_mod.values() for s in ss))
            if (t, "expression") in self.expressed:
                n_expr = len(self.expressed[(t, "expression")])
            else:
                n_expr = len(set().union(*[g for (tt, m), g in self.expressed.items() if tt == t and m != CROSS_MODALITY]))
            rows.append({"tissue_id": t, "name": info.name, "colour": info.colour, "ontology_id": info.ontology_id,
                         "n_samples": len(union), "n_expressed_genes": n_expr})
            for s in union:
                sample_rows.append({"sample_id": s, "tissue": t,
                                    "modalities": [m for m, ss in by_mod.items() if s in set(ss)]})
            if union:
                samples_download(union, self._download("samples", f"sample ids of {info.name}", tissue=t))
        write_table(pd.DataFrame(rows, columns=["tissue_id", "name", "colour", "ontology_id", "n_samples",
                                                "n_expressed_genes"]),
                    self._table(layout.table_path("tissues"), "tissues of the release"))
        schema = pa.schema([("sample_id", pa.string()), ("tissue", pa.string()), ("modalities", pa.list_(pa.string()))])
        samples = pa.Table.from_pylist(sample_rows, schema=schema)
        write_table(samples, self._table(layout.table_path("samples"), "samples per tissue and their modalities"))

    def _genotypes(self) -> None:
        used = self.variants.used_table()
        write_table(used, self._table(layout.table_path("variants"), "variants of every QTL table (rsID / position lookups)"))
        write_variant_index(used, self._table(layout.table_path("variant_index"),
                                              "variants sorted by lower-cased id (Arrow IPC batches for id look-ups)"))
        self._note(str(sidecar_path(layout.table_path("variant_index"))), "key range of each batch of variant_index",
                   "index")
        needed = set()
        for frame in self.top + self.indep:
            needed.update(frame["variant_id"].dropna())
        samples = list(self.readers[0].samples)
        ids, blocks = [], []
        taken: set[str] = set()
        for reader in self.readers:
            v = reader.variants
            sel = v[v["id"].isin(needed)]
            for chrom, part in sel.groupby("chrom", sort=False):
                pos = np.sort(part["pos"].to_numpy(np.int64))
                start = 0
                while start < len(pos):
                    end = int(np.searchsorted(pos, pos[start] + _GENOTYPE_WINDOW, side="right"))
                    g = reader.read(f"{chrom}:{pos[start]}-{pos[end - 1]}", samples=samples)
                    vid = g.variants["id"].to_numpy(object)
                    keep = np.array([x in needed and x not in taken for x in vid], dtype=bool)
                    keep_idx = np.nonzero(keep)[0]
                    # a variant id listed twice in the region: keep its first row only
                    first = pd.Index(vid[keep_idx]).duplicated(keep="first")
                    keep_idx = keep_idx[~first]
                    ids.extend(vid[keep_idx])
                    taken.update(vid[keep_idx])
                    blocks.append(g.dosages[keep_idx])
                    start = end
        dosages = np.concatenate(blocks) if blocks else np.zeros((0, len(samples)), dtype=np.int8)
        write_table(genotypes_table(np.asarray(ids, dtype=object), dosages, samples),
                    self._table(layout.table_path("genotypes"),
                                "genotypes (ALT dosage, −9 missing) of the top and independent QTL variants"))
        genotypes_download(self.release.genotypes, self._download("genotypes", "genotypes of the release (VCF)"))
        tbi = layout.download_path("genotypes", self.release.id, self.release.genome) + ".tbi"
        self._note(tbi, "tabix index of the genotypes VCF", "index")

    def _release_json(self) -> None:
        pairs = self._order()
        counts = {"n_genes_tested": int(len(set().union(*[set(f["gene_id"].dropna()) for f in self.top]))) if self.top else 0,
                  "n_signif_pairs": int(self.signif.n_rows),
                  "tissue_modality": self.tissue_modality}
        write_json(release_metadata(self.atlas, self.release, pairs, counts),
                   self._note(layout.RELEASE_JSON, "release metadata: genome, annotation, parameters, software",
                              "metadata"))

