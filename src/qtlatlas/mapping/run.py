"""``qtlatlas map MODE …``: standalone mapping with tensorQTL's modes, file names and columns.

Outputs (``PREFIX`` as given):

* ``cis`` → ``PREFIX.cis_qtl.txt.gz`` (one row per phenotype or group, with ``qval`` and
  ``pval_nominal_threshold``);
* ``cis_nominal`` → ``PREFIX.cis_qtl_pairs.{chrom}.parquet`` (one file per chromosome); with
  ``--cis-output`` also ``PREFIX.cis_qtl.signif_pairs.parquet``;
* ``cis_independent`` (needs ``--cis-output``) → ``PREFIX.cis_independent_qtl.txt.gz``;
* ``trans`` → ``PREFIX.trans_qtl_pairs.parquet``;
* ``afc`` (needs ``--cis-output`` and ``--counts``) → ``PREFIX.aFC.txt.gz``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..engine.afc import allelic_fold_change
from ..engine.cis import (
    PERMUTATION_COLUMNS,
    AdaptivePermutations,
    PreparedCis,
    nominal_pass,
    permutation_pass,
)
from ..engine.genotype_stats import allele_summaries, impute_mean
from ..engine.independent import independent_pass
from ..engine.significance import SignificanceSummary, add_qvalues, significant_pairs
from ..engine.trans import GenotypeChunk, trans_scan
from ..errors import InputFileError, QtlAtlasError
from ..io.chromosomes import chrom_key
from ..io.phenotypes import read_phenotype_bed
from ..io.sample_labels import relabel as relabel_table
from ..io.text import write_tsv_gz
from .inputs import MappingInputs
from .modes import MODES as MODES  # re-exported: the modes live where the command line can read them cheaply


@dataclass
class MapOptions:
    """Options of a mapping run (tensorQTL defaults)."""

    window: int = 1_000_000
    permutations: int = 10_000
    seed: int | None = None
    maf_threshold: float = 0.0
    #: least minor-allele copies among the samples for a variant to be tested (cis, trans); 0: none (tensorQTL)
    min_mac: int = 0
    fdr: float = 0.05
    qvalue_lambda: float | None = 0.85
    threads: int | None = None
    random_tiebreak: bool = False
    trans_pval_threshold: float = 1e-5
    trans_cis_window: int = 5_000_000
    trans_chunk: int = 10_000
    afc_bootstrap: int = 100
    adaptive: bool = False


Progress = Callable[[str, int, int], Callable[[int], None]]
"""``progress(description, total, unit)`` returns a callback advancing the bar by its argument."""


def _no_progress(_description: str, _total: int, _unit: int = 1) -> Callable[[int], None]:
    return lambda _n: None


def write_parquet(table: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    tmp = Path(f"{path}.part")
    table.to_parquet(tmp, index=False)
    os.replace(tmp, path)


def _prepared(inputs: MappingInputs, chrom: str, options: MapOptions) -> PreparedCis:
    return PreparedCis(inputs.cis_problem(chrom), options.window, options.maf_threshold, options.min_mac)


def run_cis(inputs: MappingInputs, prefix: str, options: MapOptions, progress: Progress = _no_progress
            ) -> tuple[pd.DataFrame, SignificanceSummary]:
    """Permutation pass over every chromosome, q-values, written to ``PREFIX.cis_qtl.txt.gz``."""
    table, summary = cis_table(inputs, options, progress)
    write_tsv_gz(table, f"{prefix}.cis_qtl.txt.gz")
    return table, summary


def cis_table(inputs: MappingInputs, options: MapOptions, progress: Progress = _no_progress
              ) -> tuple[pd.DataFrame, SignificanceSummary]:
    """Permutation pass over every chromosome with q-values and nominal thresholds."""
    tables = []
    n_units = inputs.phenotypes.values.shape[0]
    advance = progress("cis permutations", n_units, 1)
    for chrom in inputs.chromosomes():
        prep = _prepared(inputs, chrom, options)
        groups = inputs.group_ids(prep.phenotype_ids)
        tables.append(permutation_pass(prep, options.permutations, options.seed, groups=groups,
                                       random_tiebreak=options.random_tiebreak, threads=options.threads,
                                       progress=advance, adaptive=AdaptivePermutations() if options.adaptive else None))
    # a chromosome without a testable phenotype gives an empty table of object columns: left out of the
    # concatenation, which would otherwise turn every column into objects
    table = pd.concat([t for t in tables if len(t)] or tables[:1], ignore_index=True)
    return add_qvalues(table, options.fdr, options.qvalue_lambda)


def run_cis_nominal(inputs: MappingInputs, prefix: str, options: MapOptions, progress: Progress = _no_progress,
                    cis_output: str | None = None) -> list[str]:
    """Nominal pass, one Parquet per chromosome; with ``cis_output`` (a permutation table with q-values) also
    the significant pairs, ``PREFIX.cis_qtl.signif_pairs.parquet``. Returns the paths written."""
    cis = read_cis_output(cis_output) if cis_output else None
    paths = []
    for chrom, table in nominal_tables(inputs, options, progress):
        paths.append(f"{prefix}.cis_qtl_pairs.{chrom}.parquet")
        write_parquet(table, paths[-1])
    if cis is not None:
        paths.append(f"{prefix}.cis_qtl.signif_pairs.parquet")
        write_parquet(significant_pairs_of(paths[:-1], cis, options.fdr, inputs.groups), paths[-1])
    return paths


def nominal_tables(inputs: MappingInputs, options: MapOptions, progress: Progress = _no_progress):
    """Yield ``(chromosome, nominal-pass table)`` chromosome by chromosome, leaving out chromosomes without any
    pair (no genotypes there, or no variant in cis of their phenotypes: :mod:`.untestable`)."""
    chroms = inputs.chromosomes()
    advance = progress("cis nominal", len(chroms), 1)
    for chrom in chroms:
        table = nominal_pass(_prepared(inputs, chrom, options))
        if len(table):
            yield chrom, table
        advance(1)


def significant_pairs_of(nominal_files: list[str], cis: pd.DataFrame, fdr: float, groups: pd.Series | None) -> pd.DataFrame:
    """Significant pairs from per-chromosome nominal Parquet files, read one at a time."""
    parts = [significant_pairs(pd.read_parquet(p), cis, fdr, groups) for p in nominal_files]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def read_cis_output(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A permutation-pass table written by qtlatlas or tensorQTL (needs ``phenotype_id``, ``variant_id``,
    ``pval_beta`` and ``qval``)."""
    try:
        table = pd.read_csv(path, sep="\t")
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, EOFError) as e:
        raise InputFileError(path, f"cannot read the cis output ({e})") from None
    missing = [c for c in ("phenotype_id", "variant_id", "pval_beta", "qval") if c not in table]
    if missing:
        raise InputFileError(path, f"not a cis output with q-values: missing column(s) {', '.join(missing)}", line=1)
    return table


def run_cis_independent(inputs: MappingInputs, prefix: str, cis_output: str, options: MapOptions,
                        progress: Progress = _no_progress) -> pd.DataFrame:
    """Forward–backward conditional pass on the phenotypes significant in ``cis_output``."""
    table = independent_table(inputs, read_cis_output(cis_output), options, progress)
    write_tsv_gz(table, f"{prefix}.cis_independent_qtl.txt.gz")
    return table


def independent_table(inputs: MappingInputs, cis: pd.DataFrame, options: MapOptions,
                      progress: Progress = _no_progress) -> pd.DataFrame:
    """Conditionally independent signals of the phenotypes (groups) significant in the permutation table ``cis``."""
    tables = []
    n_signif = int((cis["qval"] <= options.fdr).sum())
    bar = cis.loc[cis["qval"] <= options.fdr, "pval_beta"].max()  # genome-wide, not per chromosome
    advance = progress("independent signals", n_signif, 1)
    for chrom in inputs.chromosomes():
        prep = _prepared(inputs, chrom, options)
        part = cis[cis["phenotype_id"].isin(set(prep.phenotype_ids))]
        if not (part["qval"] <= options.fdr).any():
            continue
        groups = inputs.group_ids(prep.phenotype_ids)
        tables.append(independent_pass(prep, part, options.fdr, options.permutations, options.seed, groups=groups,
                                       threads=options.threads, progress=advance, significance_bar=bar))
    if not tables:
        columns = PERMUTATION_COLUMNS + (["group_id", "group_size"] if inputs.groups is not None else []) + ["rank"]
        return pd.DataFrame(columns=columns)
    return pd.concat(tables, ignore_index=True)


def run_trans(inputs: MappingInputs, prefix: str, options: MapOptions, progress: Progress = _no_progress) -> pd.DataFrame:
    """trans scan of all genotypes against all phenotypes, written to ``PREFIX.trans_qtl_pairs.parquet``."""
    table = trans_table(inputs, options, progress)
    write_parquet(table, f"{prefix}.trans_qtl_pairs.parquet")
    return table


def _testable(dosages: np.ndarray, options: MapOptions) -> np.ndarray | None:
    """Which variants (rows of ``dosages``) pass ``options.maf_threshold`` and ``options.min_mac`` among the samples,
    as :class:`~qtlatlas.engine.cis.PreparedCis` decides; None when neither filter is set."""
    if options.maf_threshold <= 0 and options.min_mac <= 0:
        return None
    stats = allele_summaries(impute_mean(np.asarray(dosages)))
    maf = np.minimum(stats["af"], 1 - stats["af"])
    return (maf >= options.maf_threshold) & (stats["ma_count"] >= options.min_mac)


def trans_table(inputs: MappingInputs, options: MapOptions, progress: Progress = _no_progress) -> pd.DataFrame:
    """All trans pairs below ``options.trans_pval_threshold`` (cis pairs excluded)."""
    pos = inputs.phenotypes.positions
    reader = inputs.genotypes
    advance = progress("trans scan (variants)", len(reader.variants), options.trans_chunk)

    def chunks():
        for chrom in reader.chromosomes():
            data = reader.read(chrom, samples=inputs.samples, dtype="float32")
            key = chrom_key(chrom)
            for v0 in range(0, data.n_variants, options.trans_chunk):
                s = slice(v0, v0 + options.trans_chunk)
                dosages = data.to_float()[s]
                ids, pos = data.variants["id"].to_numpy()[s], data.variants["pos"].to_numpy()[s]
                keep = _testable(dosages, options)
                if keep is not None:
                    dosages, ids, pos = dosages[keep], ids[keep], pos[keep]
                yield GenotypeChunk(dosages, ids, np.full(len(ids), key, dtype=object), pos)

    table = trans_scan(chunks(), inputs.phenotypes.values, np.asarray(inputs.phenotypes.phenotype_ids, dtype=object),
                       np.array([chrom_key(c) for c in pos["chrom"]], dtype=object), pos["end"].to_numpy(),
                       inputs.covariates, options.trans_pval_threshold, options.trans_cis_window, progress=advance)
    return table


def run_afc(inputs: MappingInputs, prefix: str, cis_output: str, counts_bed: str, options: MapOptions,
            progress: Progress = _no_progress) -> pd.DataFrame:
    """log2 aFC with bootstrap intervals for each QTL of ``cis_output`` (top or independent table: its
    significant rows, or all rows of an independent table), from the log2(count + 1) BED ``counts_bed``."""
    qtls = pd.read_csv(cis_output, sep="\t")
    for col in ("phenotype_id", "variant_id"):
        if col not in qtls:
            raise InputFileError(cis_output, f"missing column {col}", line=1)
    if "qval" in qtls and "rank" not in qtls:
        qtls = qtls[qtls["qval"] <= options.fdr]
    table = afc_table(inputs, qtls, counts_bed, options, progress)
    write_tsv_gz(table, f"{prefix}.aFC.txt.gz")
    return table


def afc_table(inputs: MappingInputs, qtls: pd.DataFrame, counts_bed: str, options: MapOptions,
              progress: Progress = _no_progress, relabel: Mapping[str, str] | None = None) -> pd.DataFrame:
    """log2 aFC (bootstrap 95% interval) of each (phenotype_id, variant_id[, rank]) row of ``qtls``; ``relabel``
    names the counts BED's sample-id columns by individual (:mod:`qtlatlas.io.sample_labels`)."""
    counts = relabel_table(read_phenotype_bed(counts_bed, allow_missing=True), relabel or {}, counts_bed)
    missing = [s for s in inputs.samples if s not in set(counts.samples)]
    if missing:
        raise QtlAtlasError(f"{counts_bed}: {len(missing)} mapped sample(s) are absent, e.g. {', '.join(missing[:3])}")
    counts = counts.subset_samples(inputs.samples)
    count_row = {p: i for i, p in enumerate(counts.phenotype_ids)}
    variants = inputs.genotypes.variants
    where = dict(zip(variants["id"], zip(variants["chrom"], variants["pos"], strict=True), strict=True))
    rows = []
    advance = progress("allelic fold change", len(qtls), 1)
    for k, q in enumerate(qtls.itertuples(index=False)):
        result = {"phenotype_id": q.phenotype_id, "variant_id": q.variant_id}
        if hasattr(q, "rank"):
            result["rank"] = q.rank
        if q.phenotype_id in count_row and q.variant_id in where:
            chrom, pos = where[q.variant_id]
            g = inputs.genotypes.read(f"{chrom}:{pos}-{pos}", samples=inputs.samples, dtype="float32")
            dosage = g.to_float()[list(g.variants["id"]).index(q.variant_id)]
            afc = allelic_fold_change(counts.values[count_row[q.phenotype_id]], dosage, inputs.covariates,
                                      options.afc_bootstrap, seed=(options.seed or 0) + k)
            result.update(log2_aFC=afc.log2_aFC, log2_aFC_lower=afc.log2_aFC_lower, log2_aFC_upper=afc.log2_aFC_upper)
        else:
            result.update(log2_aFC=np.nan, log2_aFC_lower=np.nan, log2_aFC_upper=np.nan)
        rows.append(result)
        advance(1)
    return pd.DataFrame(rows, columns=["phenotype_id", "variant_id", *(["rank"] if "rank" in qtls else []),
                                       "log2_aFC", "log2_aFC_lower", "log2_aFC_upper"])
