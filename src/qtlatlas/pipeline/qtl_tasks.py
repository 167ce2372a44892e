"""The QTL steps of a release as pipeline task functions.

Each function is called by the runner as ``f(outputs=..., threads=..., version=..., **params)``: it reads
the files named in ``params`` and writes each output to the path ``outputs[name]`` (a temporary path the
runner moves into place); ``version`` (the qtlatlas version, part of every fingerprint) is not used. Outputs are deterministic (seeded, no timestamps), so every executor produces
byte-identical files. File formats are those of :mod:`qtlatlas.results`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..engine.genotype_stats import impute_mean
from ..engine.normalize import median_per_phenotype, prepare_phenotypes
from ..engine.pca import COMMON_MAF, ld_prune, pca_covariates
from ..io.covariates import read_covariates, write_covariates
from ..io.genotype_set import open_genotype_files
from ..io.groups import gene_of, read_groups
from ..io.normalised import read_normalised_bed
from ..io.phenotypes import PhenotypeTable, read_bed_samples, read_phenotype_bed, write_phenotype_bed
from ..io.text import write_tsv_gz
from ..mapping.crossmodal import concatenate_modalities
from ..mapping.inputs import load_mapping_inputs
from ..mapping.run import (
    MapOptions,
    afc_table,
    cis_table,
    independent_table,
    nominal_tables,
    read_cis_output,
    significant_pairs_of,
    trans_table,
    write_parquet,
)


def _options(mapping: dict, threads: int) -> MapOptions:
    """Engine options from a task's mapping parameters (``adaptive_permutations`` only in the cis task's)."""
    return MapOptions(window=mapping["window"], permutations=mapping["permutations"], seed=mapping["seed"],
                      maf_threshold=mapping["maf_threshold"], fdr=mapping["fdr"], qvalue_lambda=mapping["qvalue_lambda"],
                      threads=threads, trans_pval_threshold=mapping["trans_pval_threshold"],
                      adaptive=bool(mapping.get("adaptive_permutations", False)))


def prune(outputs: dict[str, str], threads: int, genotypes: list[str], version: str = "") -> None:
    """LD-pruned common variants of the release (all genotyped samples): one variant id per line."""
    reader = open_genotype_files(genotypes)
    kept: list[str] = []
    for chrom in reader.chromosomes():
        data = reader.read(chrom, dtype="float32")
        G = impute_mean(data.to_float().astype(np.float64))
        af = G.mean(axis=1) / 2
        common = np.flatnonzero(np.minimum(af, 1 - af) >= COMMON_MAF)
        ids = data.variants["id"].to_numpy()[common]
        kept += list(ids[ld_prune(G[common])])
    Path(outputs["variants"]).write_text("".join(f"{v}\n" for v in kept))


def _pruned_dosages(genotypes: list[str], pruned: str, samples: list[str]) -> np.ndarray:
    reader = open_genotype_files(genotypes)
    wanted = set(Path(pruned).read_text().split())
    blocks = []
    for chrom in reader.chromosomes():
        data = reader.read(chrom, samples=samples, dtype="float32")
        rows = np.flatnonzero(data.variants["id"].isin(wanted).to_numpy())
        blocks.append(impute_mean(data.to_float()[rows].astype(np.float64)))
    return np.vstack(blocks) if blocks else np.zeros((0, len(samples)))


def _write_groups(path: str, phenotype_ids: list[str], groups_file: str | None) -> None:
    mapping = read_groups(groups_file) if groups_file else None
    genes = [mapping.get(p, gene_of(p)) if mapping is not None else gene_of(p) for p in phenotype_ids]
    Path(path).write_text("".join(f"{p}\t{g}\n" for p, g in zip(phenotype_ids, genes, strict=True)))


def prepare(outputs: dict[str, str], threads: int, bed: str, genotypes: list[str], pruned: str,
            extra_covariates: str | None, n_genotype_pcs: int, n_phenotype_pcs: int, grouped: bool,
            groups: str | None, normalised: bool = False, version: str = "") -> None:
    """Normalised phenotypes (genotyped samples), covariates, medians of raw values, and groups.

    With ``normalised`` the BED's values are kept as given (written exactly; a row with a missing value or
    constant across the genotyped samples is refused) and no medians are written (the values are not
    expression levels). Covariates: ``n_genotype_pcs`` genotype PCs and ``n_phenotype_pcs`` phenotype PCs, then
    the user's; the user's alone are written exactly as given, and none at all as a header line only.
    """
    genotyped = set(open_genotype_files(genotypes).samples)
    if normalised:
        samples = [s for s in read_bed_samples(bed) if s in genotyped]
        table = read_normalised_bed(bed, samples)
    else:
        raw = read_phenotype_bed(bed, allow_missing=True)
        samples = [s for s in raw.samples if s in genotyped]
        raw = raw.subset_samples(samples)
        prepared = prepare_phenotypes(raw.values)
        table = PhenotypeTable(prepared.values, raw.positions[prepared.kept].reset_index(drop=True), samples)
        write_tsv_gz(pd.DataFrame({"phenotype_id": raw.phenotype_ids, "median": median_per_phenotype(raw.values)}),
                     outputs["median"])
    write_phenotype_bed(table, outputs["phenotypes"], index=False, exact=normalised)
    G = _pruned_dosages(genotypes, pruned, samples) if n_genotype_pcs else None
    extra = read_covariates(extra_covariates, samples) if extra_covariates else None
    covariates = pca_covariates(samples, G, table.values, n_genotype_pcs, n_phenotype_pcs, extra)
    write_covariates(covariates, outputs["covariates"], exact=extra is not None and len(covariates) == len(extra))
    if grouped:
        _write_groups(outputs["groups"], table.phenotype_ids, groups)


def cis(outputs: dict[str, str], threads: int, phenotypes: str, covariates: str, genotypes: list[str],
        groups: str | None, mapping: dict, version: str = "") -> None:
    """Permutation pass with q-values (``cis_qtl.txt.gz``)."""
    inputs = load_mapping_inputs(genotypes, phenotypes, covariates, groups)
    table, _ = cis_table(inputs, _options(mapping, threads))
    write_tsv_gz(table, outputs["cis"])


def independent(outputs: dict[str, str], threads: int, phenotypes: str, covariates: str, genotypes: list[str],
                groups: str | None, cis: str, mapping: dict, version: str = "") -> None:
    """Conditionally independent signals (``cis_independent_qtl.txt.gz``)."""
    inputs = load_mapping_inputs(genotypes, phenotypes, covariates, groups)
    write_tsv_gz(independent_table(inputs, read_cis_output(cis), _options(mapping, threads)), outputs["independent"])


def nominal(outputs: dict[str, str], threads: int, phenotypes: str, covariates: str, genotypes: list[str],
            groups: str | None, cis: str, mapping: dict, version: str = "") -> None:
    """Nominal pass (one Parquet per chromosome in the ``nominal`` directory) and significant pairs."""
    inputs = load_mapping_inputs(genotypes, phenotypes, covariates, groups)
    options = _options(mapping, threads)
    files = []
    for chrom, table in nominal_tables(inputs, options):
        files.append(os.path.join(outputs["nominal"], f"cis_qtl_pairs.{chrom}.parquet"))
        write_parquet(table, files[-1])
    write_parquet(significant_pairs_of(files, read_cis_output(cis), options.fdr, inputs.groups), outputs["signif_pairs"])


def trans(outputs: dict[str, str], threads: int, phenotypes: str, covariates: str, genotypes: list[str],
          mapping: dict, version: str = "") -> None:
    """trans pairs below the threshold (``trans_qtl_pairs.parquet``)."""
    inputs = load_mapping_inputs(genotypes, phenotypes, covariates)
    write_parquet(trans_table(inputs, _options(mapping, threads)), outputs["trans"])


def afc(outputs: dict[str, str], threads: int, phenotypes: str, covariates: str, genotypes: list[str], counts: str,
        cis: str, independent: str, mapping: dict, version: str = "") -> None:
    """log2 aFC of the significant top QTLs and of the independent signals (``aFC.txt.gz``)."""
    inputs = load_mapping_inputs(genotypes, phenotypes, covariates)
    top = read_cis_output(cis)
    ind = pd.read_csv(independent, sep="\t")
    qtls = [top.loc[top["qval"] <= mapping["fdr"], ["phenotype_id", "variant_id"]], ind[["phenotype_id", "variant_id"]]]
    pairs = pd.concat(qtls, ignore_index=True).drop_duplicates().reset_index(drop=True)
    write_tsv_gz(afc_table(inputs, pairs, counts, _options(mapping, threads)), outputs["afc"])


def summary(outputs: dict[str, str], threads: int, tissue: str, modality: str, phenotypes: str, cis: str,
            independent: str, fdr: float, version: str = "") -> None:
    """Counts of the tissue × modality (``summary.json``): samples, phenotypes tested, significant
    phenotypes or groups, independent signals."""
    table = read_cis_output(cis)
    ind = pd.read_csv(independent, sep="\t")
    record = {"tissue": tissue, "modality": modality, "samples": len(read_bed_samples(phenotypes)), "tested": int(len(table)),
              "significant": int((table["qval"] <= fdr).sum()), "independent": int(len(ind))}
    Path(outputs["summary"]).write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")


def crossmodal_prepare(outputs: dict[str, str], threads: int, modalities: dict[str, dict[str, str | None]],
                       genotypes: list[str], pruned: str, n_genotype_pcs: int, n_phenotype_pcs: int, version: str = "") -> None:
    """All modalities of a tissue concatenated (``modality:phenotype_id``), grouped by gene, with covariates
    from genotype PCs and PCs of the concatenated normalised phenotypes."""
    tables = {m: read_phenotype_bed(p["phenotypes"]) for m, p in modalities.items()}
    groups = {m: read_groups(p["groups"]) for m, p in modalities.items() if p.get("groups")}
    table, gene = concatenate_modalities(tables, groups)
    write_phenotype_bed(table, outputs["phenotypes"], index=False)
    Path(outputs["groups"]).write_text("".join(f"{p}\t{g}\n" for p, g in gene.items()))
    G = _pruned_dosages(genotypes, pruned, table.samples) if n_genotype_pcs else None
    write_covariates(pca_covariates(table.samples, G, table.values, n_genotype_pcs, n_phenotype_pcs), outputs["covariates"])
