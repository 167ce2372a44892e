"""A large simulated release written directly in the release builder's schemas, for API benchmarks.

Running the pipeline on ≥ 20,000 genes × 10 tissues × 6 modalities is far too slow, so
:func:`make_large_release` writes ``SITE/releases/<id>`` (and ``SITE/atlas.json``) straight from random
numbers, with the same file names, columns, Arrow types, sort orders and row-group boundaries as
:mod:`qtlatlas.release.build` (see :mod:`qtlatlas.release.tables`):

* every query table of :data:`qtlatlas.release.layout.TABLES`, plus ``tables/phenotypes/<tissue>.<modality>``
  and ``tables/expression/<tissue>``;
* ``release.json`` (:func:`qtlatlas.release.metadata.release_metadata`), ``SITE/atlas.json``
  (:func:`~qtlatlas.release.metadata.atlas_metadata`) and a valid ``MANIFEST.tsv``
  (:func:`qtlatlas.release.manifest.write_manifest`, sha256 of every file);
* of the downloads, only the small ones (``samples.*.txt``, ``median_tpm``): the per tissue × modality TSVs,
  BEDs and the VCF are not written (the API serves the query tables).

Model (scale 1): ``n_genes`` genes on chr1..chr22 (in proportion to GRCh38 lengths), a variant every
~500 bp (only the variants that QTL tables reference are in ``variants``), each gene × tissue × modality
expressed (90 %), tested (97 % of expressed) and a QTL (~60 % of all) whose significant pairs are a
contiguous run of variants (mean ``pairs_per_egene``) around a lead variant near one of the gene's 1–3
causal loci, shared across tissues and modalities (so one variant has pairs in many of them).

Everything is generated chromosome by chromosome, a few hundred genes at a time, and written through
:class:`_GroupedWriter`, which cuts row groups exactly where ``pq.write_table(..., row_group_size=65,536)``
on the whole (sorted) table would; significant pairs start a new row group at each chromosome, like
:class:`qtlatlas.release.tables.SignifPairsWriter`. Memory stays bounded (a few hundred MB) at any scale.

``python -m benchmarks.large_release SITE --scale 1`` (``--scale 0.1``: "small", ``1``: "large").
"""

from __future__ import annotations

import argparse
import json
import math
import os
import secrets
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from scipy.special import ndtri

from qtlatlas.config import DEFAULT_MODALITIES, Atlas, AtlasInfo, PhenotypeInput, Release, Tissue
from qtlatlas.engine.ld import pack
from qtlatlas.release import layout
from qtlatlas.release.associations import (
    ASSOCIATION_SCHEMA,
    ASSOCIATION_SOURCES,
    BY_GENE_BATCH_ROWS,
    BY_GENE_COMPRESSION,
    BY_GENE_RUN_ORDER,
    BY_POSITION_ORDER,
    QTL_TABLE_SCHEMA,
    SIGNIF_SCHEMA,
)
from qtlatlas.release.batched import PositionBatchWriter, RunBatchWriter
from qtlatlas.release.downloads import median_tpm_download, samples_download
from qtlatlas.release.genotype_matrix import MAGIC, samples_path
from qtlatlas.release.manifest import write_manifest
from qtlatlas.release.metadata import atlas_metadata, release_metadata, write_json
from qtlatlas.release.tables import (
    QTL_ROW_GROUP_SIZE,
    ROW_GROUP_SIZE,
    write_gene_model_index,
    write_gene_status_index,
    write_variant_index,
)
from qtlatlas.release.values import (
    PHENOTYPE_INDEX_SCHEMA,
    ExpressionIndexWriter,
    ValuesIndexWriter,
    phenotype_part,
)
from qtlatlas.release.variant_tables import POSITION_BATCH_ROWS, VARIANT_SCHEMA

__all__ = ["make_large_release", "SCHEMAS", "release_summary"]

# ------------------------------------------------------------------------------------------------
# Schemas: exactly what the builder writes (pandas ``str`` columns become large_string; object columns
# and explicit schemas string)
# ------------------------------------------------------------------------------------------------

LS, S, I64, F64, F32 = pa.large_string(), pa.string(), pa.int64(), pa.float64(), pa.float32()

QTL_SCHEMA = QTL_TABLE_SCHEMA

SCHEMAS: dict[str, pa.Schema] = {
    "genes": pa.schema([("gene_id", LS), ("gene_name", LS), ("gene_type", LS), ("chrom", LS), ("start", I64),
                        ("end", I64), ("strand", LS), ("tss", I64), ("description", LS)]),
    "transcripts": pa.schema([("transcript_id", LS), ("gene_id", LS), ("transcript_name", LS),
                              ("transcript_type", LS), ("chrom", LS), ("start", I64), ("end", I64), ("strand", LS)]),
    "exons": pa.schema([("gene_id", LS), ("transcript_id", LS), ("exon_number", I64), ("chrom", LS), ("start", I64),
                        ("end", I64), ("strand", LS), ("exon_id", LS), ("feature_type", LS)]),
    "gene_status": pa.schema([("gene_id", LS), ("tissue", LS), ("modality", LS), ("expressed", pa.bool_()),
                              ("tested", pa.bool_()), ("has_qtl", pa.bool_()), ("n_independent", pa.int32())]),
    "tissues": pa.schema([("tissue_id", LS), ("name", LS), ("colour", LS), ("ontology_id", LS), ("n_samples", I64),
                          ("n_expressed_genes", I64), ("site", LS), ("abbreviation", LS)]),
    "tissue_modality": pa.schema([("tissue", LS), ("modality", LS), ("n_samples", I64), ("n_tested", I64),
                                  ("n_egenes", I64), ("n_independent", I64)]),
    "top_qtls": QTL_SCHEMA,
    "independent_qtls": QTL_SCHEMA,
    "signif_pairs": SIGNIF_SCHEMA,
    "trans_pairs": pa.schema([("tissue", LS), ("modality", LS), ("variant_id", LS), ("phenotype_id", LS),
                              ("pval", F64), ("b", F32), ("b_se", F32), ("r2", F32), ("af", F32)]),
    "variants": VARIANT_SCHEMA,
    "medians": pa.schema([("tissue", LS), ("gene_id", LS), ("median", F64)]),
    "samples": pa.schema([("sample_id", S), ("tissue", S), ("modalities", pa.list_(pa.string()))]),
}

#: Table descriptions, as the builder writes them in ``MANIFEST.tsv``.
_DESCRIPTIONS = {
    "genes": "genes of the release annotation",
    "transcripts": "transcripts of the release annotation",
    "exons": "exons of the release annotation",
    "transcripts_index": "transcripts keyed by gene id (Arrow IPC batches for gene look-ups)",
    "exons_index": "exons keyed by gene id (Arrow IPC batches for gene look-ups)",
    "gene_status": "expressed / tested / has a QTL, per gene, tissue and modality",
    "gene_status_index": "gene_status keyed by gene id (Arrow IPC batches for gene look-ups)",
    "tissues": "tissues of the release",
    "tissue_modality": "counts per tissue × modality",
    "top_qtls": "top cis-QTL per phenotype/group, every tissue × modality",
    "independent_qtls": "conditionally independent cis-QTLs, every tissue × modality",
    "signif_pairs": "significant cis variant–phenotype pairs",
    "associations_by_position": "top, independent and significant cis associations sorted by variant position "
                                "(region and variant look-ups)",
    "associations_by_gene": "top, independent and significant cis associations in runs of one gene and source "
                            "(gene look-ups)",
    "trans_pairs": "trans-QTL pairs, every tissue × modality",
    "variants": "every genotyped variant (id, position, alleles)",
    "variants_by_position": "variants by chromosome and position (Arrow IPC batches for position look-ups)",
    "genotype_matrix": "genotypes of every variant, rows in the order of variants_by_position (PLINK 1 .bed layout: "
                       "LD look-ups)",
    "phenotype_index": "normalised phenotypes of every tissue × modality keyed by phenotype id (Arrow IPC batches "
                       "for look-ups)",
    "medians": "median expression (TPM) per gene and tissue",
    "expression_index": "expression of every tissue keyed by gene (Arrow IPC batches for gene look-ups)",
    "samples": "samples per tissue and their modalities",
}

# GRCh38 autosome lengths
_CHROM_LENGTHS = [248_956_422, 242_193_529, 198_295_559, 190_214_555, 181_538_259, 170_805_979, 159_345_973,
                  145_138_636, 138_394_717, 133_797_422, 135_086_622, 133_275_309, 114_364_328, 107_043_718,
                  101_991_189, 90_338_345, 83_257_441, 80_373_285, 58_617_616, 64_444_167, 46_709_983, 50_818_468]
_TISSUES = [("Adipose", "Adipose tissue", "UBERON:0001013"), ("Brain", "Brain hemisphere", "UBERON:0000955"),
            ("Liver", "Liver", "UBERON:0002107"), ("Heart", "Heart", "UBERON:0000948"),
            ("Lung", "Lung", "UBERON:0002048"), ("Muscle", "Skeletal muscle", "UBERON:0001134"),
            ("Kidney", "Kidney", "UBERON:0002113"), ("Spleen", "Spleen", "UBERON:0002106"),
            ("Testis", "Testis", "UBERON:0000473"), ("Pituitary", "Pituitary gland", "UBERON:0000007")]
_COLOURS = ["#e6a817", "#7b61ff", "#b5443b", "#1f77b4", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
            "#17becf", "#bcbd22", "#7f7f7f"]
_GROUPED = {m.id: m.grouped for m in DEFAULT_MODALITIES}
_BASES = np.array(list("ACGT"))
_WINDOW = 1_000_000          # cis window (MappingSettings default)
_FDR = 0.05
_VARIANT_SPACING = 500       # bp between variants, on average
_GENE_CHUNK = 400            # genes generated at a time
_RS_BASE = 100_000_000       # rs numbers have 9 digits: string order == numeric order == genome order
_GENE_DIGITS = 11


class _GroupedWriter:
    """A ParquetWriter whose row groups hold exactly ``row_group_size`` rows, wherever the pieces given to
    :meth:`write` begin and end (as one ``pq.write_table`` of their concatenation); :meth:`end_group`
    closes the current row group early (a new ``write_table`` call in the builder)."""

    def __init__(self, path: Path, schema: pa.Schema, row_group_size: int = ROW_GROUP_SIZE):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path, self.schema, self.size = path, schema, row_group_size
        self.writer = pq.ParquetWriter(path, schema, compression="zstd")
        self.buffer: list[pa.Table] = []
        self.buffered = 0
        self.rows = 0

    def write(self, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        self.buffer.append(table)
        self.buffered += table.num_rows
        self.rows += table.num_rows
        while self.buffered >= self.size:
            self._flush(self.size)

    def _flush(self, n: int) -> None:
        table = pa.concat_tables(self.buffer)
        self.writer.write_table(table.slice(0, n), row_group_size=self.size)
        rest = table.slice(n)
        self.buffer = [rest] if rest.num_rows else []
        self.buffered = rest.num_rows

    def end_group(self) -> None:
        if self.buffered:
            self._flush(self.buffered)

    def close(self) -> int:
        self.end_group()
        if self.rows == 0:  # pq.write_table writes one empty row group
            self.writer.write_table(self.schema.empty_table())
        self.writer.close()
        return self.rows


class _VcfWriter:
    """Writes the simulated genotypes as the builder's download: a bgzipped VCF (GT calls of the ALT allele),
    tabix-indexed on :meth:`close`; records are formatted with numpy a block at a time."""

    _CALLS = np.frombuffer(b"./.\t0/0\t0/1\t1/1\t", dtype=np.uint8).reshape(4, 4)

    def __init__(self, path: Path, samples: list[str]):
        from pysam.libcbgzf import BGZFile

        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._out = BGZFile(str(path), "wb")
        header = ["##fileformat=VCFv4.2", "##source=qtlatlas benchmarks.large_release",
                  *[f"##contig=<ID={_chrom_name(c)},length={_CHROM_LENGTHS[c]}>" for c in range(22)],
                  '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
                  "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", *samples])]
        self._out.write(("\n".join(header) + "\n").encode())

    def write(self, chrom: str, pos: np.ndarray, ids: list[str], ref: np.ndarray, alt: np.ndarray,
              dosages: np.ndarray) -> None:
        """Records of variants (sorted by position), ``dosages`` (variants × samples, int8, −9 missing)."""
        calls = self._CALLS[np.where(dosages < 0, 0, dosages.astype(np.int64) + 1)]
        calls[:, -1, 3] = ord("\n")
        lines = calls.reshape(len(pos), -1)
        out = []
        for k in range(len(pos)):
            out.append(f"{chrom}\t{pos[k]}\t{ids[k]}\t{ref[k]}\t{alt[k]}\t.\tPASS\t.\tGT\t".encode())
            out.append(lines[k].tobytes())
        self._out.write(b"".join(out))

    def close(self) -> None:
        import pysam

        self._out.close()
        pysam.tabix_index(str(self.path), preset="vcf", force=True)


def _write(table: pa.Table, path: Path) -> None:
    w = _GroupedWriter(path, table.schema)
    w.write(table)
    w.close()


def _table(schema: pa.Schema, columns: dict) -> pa.Table:
    arrays = []
    for field in schema:
        v = columns[field.name]
        if isinstance(v, (pa.Array, pa.ChunkedArray)):
            arrays.append(v.cast(field.type) if v.type != field.type else v)
        else:
            arrays.append(pa.array(v, type=field.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def _join(*parts) -> pa.Array:
    """Element-wise string concatenation of Arrow arrays and Python strings."""
    parts = [p if isinstance(p, (pa.Array, pa.ChunkedArray)) else pa.scalar(str(p)) for p in parts]
    return pc.binary_join_element_wise(*parts, "")


def _num(values: np.ndarray, width: int = 0) -> pa.Array:
    """Integers as decimal strings, left-padded with zeros to ``width``."""
    s = pa.array(np.asarray(values, dtype=np.int64)).cast(pa.string())
    return pc.utf8_lpad(s, width=width, padding="0") if width else s


def _repeat(value: str, n: int) -> pa.Array:
    return pc.take(pa.array([value], pa.string()), pa.array(np.zeros(n, dtype=np.int32)))


def _take(array: pa.Array, idx: np.ndarray) -> pa.Array:
    return pc.take(array, pa.array(np.asarray(idx, dtype=np.int64)))


def _starts(counts: np.ndarray) -> np.ndarray:
    """Offset of each run in the concatenation of runs of ``counts`` rows."""
    counts = np.asarray(counts, dtype=np.int64)
    return np.cumsum(counts) - counts


def _neglog10_to_p(lp: np.ndarray) -> np.ndarray:
    return np.power(10.0, -np.minimum(lp, 300.0))


# ------------------------------------------------------------------------------------------------
# The simulated atlas
# ------------------------------------------------------------------------------------------------


@dataclass
class _Genes:
    chrom_idx: np.ndarray  # int, 0..21
    tss: np.ndarray
    start: np.ndarray
    end: np.ndarray
    minus: np.ndarray      # bool
    lncrna: np.ndarray     # bool
    n_tx: np.ndarray       # transcripts per gene
    tx_offset: np.ndarray  # number of transcripts before the gene
    ids: pa.Array          # gene_id strings
    names: pa.Array        # gene_name strings


def _make_genes(rng: np.random.Generator, n_genes: int) -> _Genes:
    lengths = np.asarray(_CHROM_LENGTHS, dtype=np.float64)
    per_chrom = np.floor(n_genes * lengths / lengths.sum()).astype(np.int64)
    per_chrom[np.argsort(-lengths)[: n_genes - per_chrom.sum()]] += 1
    chrom_idx, tss = [], []
    for c, n in enumerate(per_chrom):
        lo, hi = 200_000, _CHROM_LENGTHS[c] - 200_000
        pos = np.sort(rng.integers(lo, hi - n, size=n)) + np.arange(n)  # distinct, sorted
        chrom_idx.append(np.full(n, c, dtype=np.int64))
        tss.append(pos)
    chrom_idx_a, tss_a = np.concatenate(chrom_idx), np.concatenate(tss).astype(np.int64)
    n = len(tss_a)
    minus = rng.random(n) < 0.5
    length = np.clip(np.exp(rng.normal(10.0, 1.0, n)), 1_000, 500_000).astype(np.int64)
    start = np.where(minus, np.maximum(tss_a - length, 1), tss_a)
    end = np.where(minus, tss_a, tss_a + length)
    n_tx = 1 + rng.binomial(3, 0.4, n)
    tx_offset = _starts(n_tx)
    numbers = np.arange(1, n + 1)
    return _Genes(chrom_idx_a, tss_a, start, end, minus, rng.random(n) < 0.15, n_tx, tx_offset,
                  _join("ENSSIMG", _num(numbers, _GENE_DIGITS)), _join("Gene", _num(numbers, 5)))


def _chrom_name(c: int) -> str:
    return f"chr{c + 1}"


class _Simulation:
    def __init__(self, out: Path, release_id: str, n_genes: int, n_tissues: int, n_modalities: int,
                 pairs_per_egene: float, n_samples: int, seed: int):
        if not 1 <= n_modalities <= len(DEFAULT_MODALITIES):
            raise ValueError(f"n_modalities must be 1..{len(DEFAULT_MODALITIES)}")
        self.out, self.release_id = out, release_id
        self.rng = np.random.default_rng(seed)
        #: calls of the variants the VCF does not hold (genotype matrix only), drawn apart from ``rng`` so that
        #: the other tables are the same as without the matrix
        self.genotype_rng = np.random.default_rng([seed, 1])
        self.pairs_per_egene = pairs_per_egene
        self.descriptions: dict[str, tuple[str, str]] = {}
        self.rows: dict[str, int] = {}
        # tissues and modalities: configuration order, and name (sort) order for the tables
        self.tissues = list(_TISSUES[:n_tissues]) + [(f"Tissue{i + 1:02d}", f"Tissue {i + 1}", None)
                                                      for i in range(len(_TISSUES), n_tissues)]
        self.tissue_ids = [t[0] for t in self.tissues]
        self.modalities = [m.id for m in DEFAULT_MODALITIES[:n_modalities]]
        self.t_sorted = sorted(self.tissue_ids)
        self.m_sorted = sorted(self.modalities)
        self.t_arr, self.m_arr = pa.array(self.t_sorted, LS), pa.array(self.m_sorted, LS)
        T, M = len(self.t_sorted), len(self.m_sorted)
        width = max(4, len(str(n_samples)))
        self.samples = [f"IND{i + 1:0{width}d}" for i in range(n_samples)]
        keep = max(1, round(0.9 * n_samples))
        self.tissue_samples = {t: sorted(self.rng.choice(n_samples, size=keep, replace=False).tolist())
                               for t in self.t_sorted}

        rng = self.rng
        self.genes = g = _make_genes(rng, n_genes)
        G = len(g.tss)
        self.G, self.T, self.M = G, T, M
        shape = (G, T, M)
        self.expressed = rng.random(shape) < 0.9
        self.tested = self.expressed & (rng.random(shape) < 0.97)
        propensity = np.clip(0.6 / (0.9 * 0.97) + rng.uniform(-0.25, 0.25, (G, 1, 1)), 0, 1)
        self.has_qtl = self.tested & (rng.random(shape) < propensity)
        self.n_indep = np.where(self.has_qtl, np.minimum(rng.geometric(0.65, shape), 5), 0).astype(np.int32)
        mu = math.log(max(pairs_per_egene, 1.0)) - 0.5
        self.k = np.clip(np.ceil(np.exp(rng.normal(mu, 1.0, shape))), 1, 5_000).astype(np.int64)
        # phenotypes per gene × modality (group size) and the top phenotype of each gene × tissue × modality
        self.group_size = np.ones((G, M), dtype=np.int64)
        for j, m in enumerate(self.m_sorted):
            if m == "isoforms":
                self.group_size[:, j] = g.n_tx
            elif _GROUPED.get(m, False):
                self.group_size[:, j] = 1 + rng.binomial(3, 0.4, G)
        self.top_pheno = (rng.random(shape) * self.group_size[:, None, :]).astype(np.int64) + 1
        self.n_loci = 1 + rng.binomial(2, 0.35, G)
        self.locus_offset = np.clip(rng.laplace(0, 40_000, (G, 3)), -_WINDOW + 1, _WINDOW - 1).astype(np.int64)
        self.median_tpm = np.zeros((G, T))

    # -- helpers --------------------------------------------------------------------------------

    def _note(self, rel: str, description: str, kind: str) -> Path:
        self.descriptions[rel] = (description, kind)
        path = self.out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def _table_path(self, name: str) -> Path:
        return self._note(layout.table_path(name), _DESCRIPTIONS[name], "table")

    def phenotype_ids(self, m: str, genes: np.ndarray, j: np.ndarray) -> pa.Array:
        """Phenotype ids of modality ``m`` (the ``j``-th, 1-based, of each gene's group)."""
        g = self.genes
        gid = _take(g.ids, genes)
        if not _GROUPED.get(m, False):
            return gid
        if m == "isoforms":
            return _join(gid, "__ENSSIMT", _num(g.tx_offset[genes] + j, _GENE_DIGITS))
        if m == "splicing":
            a = g.tss[genes] + 1_000 * j
            chrom = _take(pa.array([_chrom_name(c) for c in range(22)]), g.chrom_idx[genes])
            return _join(gid, "__", chrom, ":", _num(a), ":", _num(a + 400 + 37 * j), ":clu_", _num(genes + 1))
        suffix = {"alt_TSS": "__TSS_", "alt_polyA": "__PAS_"}.get(m, "__P")
        return _join(gid, suffix, _num(j))

    # -- annotation -----------------------------------------------------------------------------

    def genes_table(self) -> None:
        g = self.genes
        chrom = _take(pa.array([_chrom_name(c) for c in range(22)]), g.chrom_idx)
        _write(_table(SCHEMAS["genes"], {
            "gene_id": g.ids, "gene_name": g.names,
            "gene_type": np.where(g.lncrna, "lncRNA", "protein_coding"), "chrom": chrom, "start": g.start,
            "end": g.end, "strand": np.where(g.minus, "-", "+"), "tss": g.tss,
            "description": _repeat("", len(g.tss))}), self._table_path("genes"))
        self.rows["genes"] = len(g.tss)

    def annotation_chunk(self, genes: np.ndarray, chrom: str, tx_w: _GroupedWriter, ex_w: _GroupedWriter) -> None:
        g, rng = self.genes, self.rng
        n_tx = g.n_tx[genes]
        tg = np.repeat(genes, n_tx)                       # gene of each transcript
        first = _starts(n_tx)
        within = np.arange(len(tg)) - np.repeat(first, n_tx)
        span = g.end[tg] - g.start[tg]
        shift = np.where(within == 0, 0, (rng.random(len(tg)) * 0.3 * span).astype(np.int64))
        t_start = g.start[tg] + shift
        t_end = g.end[tg] - np.where(within == 0, 0, (rng.random(len(tg)) * 0.3 * span).astype(np.int64))
        order = np.lexsort((t_start, tg))             # gene, start
        tg, t_start, t_end = tg[order], t_start[order], t_end[order]
        within = np.arange(len(tg)) - np.repeat(first, n_tx)
        tx_num = g.tx_offset[tg] + within + 1
        tx_ids = _join("ENSSIMT", _num(tx_num, _GENE_DIGITS))
        gids = _take(g.ids, tg)
        strand = np.where(g.minus[tg], "-", "+")
        chroms = _repeat(chrom, len(tg))
        ttype = np.where(g.lncrna[tg], "lncRNA", "protein_coding")
        tx_w.write(_table(SCHEMAS["transcripts"], {
            "transcript_id": tx_ids, "gene_id": gids, "transcript_name": _join(_take(g.names, tg), "-2", _num(within + 1, 2)),
            "transcript_type": ttype, "chrom": chroms, "start": t_start, "end": t_end, "strand": strand}))
        n_ex = rng.integers(2, 9, len(tg))
        et = np.repeat(np.arange(len(tg)), n_ex)
        efirst = _starts(n_ex)
        j = np.arange(len(et)) - np.repeat(efirst, n_ex)
        step = np.maximum((t_end - t_start) // n_ex, 1)[et]
        e_start = t_start[et] + j * step
        e_end = e_start + np.minimum(step - 1, 80 + rng.integers(0, 300, len(et)))
        exon_number = np.where(g.minus[tg][et], n_ex[et] - j, j + 1)
        ex_w.write(_table(SCHEMAS["exons"], {
            "gene_id": _take(gids, et), "transcript_id": _take(tx_ids, et), "exon_number": exon_number,
            "chrom": _repeat(chrom, len(et)), "start": e_start, "end": e_end, "strand": _take(pa.array(strand), et),
            "exon_id": pa.nulls(len(et), LS), "feature_type": _repeat("exon", len(et))}))

    # -- QTL tables -------------------------------------------------------------------------------

    def run(self) -> None:
        self.genes_table()
        g, rng = self.genes, self.rng
        writers = {name: _GroupedWriter(self._table_path(name), SCHEMAS[name],
                                        QTL_ROW_GROUP_SIZE if name.endswith("_qtls") else ROW_GROUP_SIZE)
                   for name in ("transcripts", "exons", "gene_status", "top_qtls", "independent_qtls",
                                "signif_pairs", "variants")}
        vcf = _VcfWriter(self._note(layout.download_path("genotypes", self.release_id, self.genome),
                                    "genotypes of the release (VCF)", "download"), self.samples)
        matrix = open(self._table_path("genotype_matrix"), "wb")  # closed after the chromosomes
        matrix.write(MAGIC)
        self.n_tested = np.zeros((self.T, self.M), dtype=np.int64)
        rs_offset = 0
        for c in range(22):
            chrom = _chrom_name(c)
            genes_c = np.nonzero(g.chrom_idx == c)[0]
            # the chromosome's variants: positions, allele frequencies, alleles, rs numbers
            L = _CHROM_LENGTHS[c]
            pos = np.cumsum(rng.geometric(1 / _VARIANT_SPACING, int(L / _VARIANT_SPACING * 1.02)))
            pos = pos[pos < L].astype(np.int64)
            nv = len(pos)
            v = {"pos": pos, "af": np.clip(rng.beta(0.7, 0.7, nv), 0.005, 0.995),
                 "ref": rng.integers(0, 4, nv), "alt_shift": rng.integers(1, 4, nv),
                 "ids": _join("rs", _num(_RS_BASE + rs_offset + np.arange(nv))), "chrom": chrom}
            rs_offset += nv
            used = np.zeros(nv, dtype=bool)
            genotyped = np.zeros(nv, dtype=bool)
            for s in range(0, len(genes_c), _GENE_CHUNK):
                genes = genes_c[s:s + _GENE_CHUNK]
                self.annotation_chunk(genes, chrom, writers["transcripts"], writers["exons"])
                self.qtl_chunk(genes, v, used, genotyped, writers)
            for name in ("signif_pairs", "top_qtls", "independent_qtls"):
                writers[name].end_group()  # the builder writes each chromosome's rows separately
            self.variants_chrom(v, used, writers["variants"])
            self.genotypes_chrom(v, used, genotyped, vcf, matrix)
        for name, w in writers.items():
            self.rows[name] = w.close()
        vcf.close()
        matrix.close()
        samples_path(self._table_path("genotype_matrix")).write_text("".join(f"{s}\n" for s in self.samples))
        self._note(str(samples_path(layout.table_path("genotype_matrix"))),
                   "sample ids of the columns of genotype_matrix", "index")
        self._note(layout.download_path("genotypes", self.release_id, self.genome) + ".tbi",
                   "tabix index of the genotypes VCF (genotype look-ups by position)", "index")
        for kind in ("transcripts", "exons"):
            write_gene_model_index(pq.read_table(self._table_path(kind)), kind, self._table_path(f"{kind}_index"))
        self.associations_by_position()
        status = pq.read_table(self._table_path("gene_status")).sort_by([("gene_id", "ascending"), ("tissue", "ascending"),
                                                                          ("modality", "ascending")])
        write_gene_status_index(status, self._table_path("gene_status_index"))

    def associations_by_position(self) -> None:
        """``associations_by_position`` and ``associations_by_gene``: per chromosome, the significant pairs
        (one run of row groups, see :meth:`run`) with the chromosome's top and independent QTLs, sorted by
        position and in runs of gene × source as :class:`~qtlatlas.release.tables.SignifPairsWriter` does."""
        source = pq.ParquetFile(self._table_path("signif_pairs"))
        out = PositionBatchWriter(self._table_path("associations_by_position"), ASSOCIATION_SCHEMA)
        by_gene = RunBatchWriter(self._table_path("associations_by_gene"), ASSOCIATION_SCHEMA, "gene_id", "source",
                                 batch_rows=BY_GENE_BATCH_ROWS, compression=BY_GENE_COMPRESSION)
        order = [(c, "ascending") for c in BY_POSITION_ORDER]
        gene_order = [(c, "ascending") for c in BY_GENE_RUN_ORDER]
        run: list[pa.Table] = []

        def qtls(name: str, chrom: str, rank: int) -> pa.Table:
            t = pq.read_table(self._table_path(name), filters=[("chrom", "=", chrom)])
            return t.append_column("source", pa.array([ASSOCIATION_SOURCES[rank]] * t.num_rows, pa.string())) \
                    .append_column("_source_rank", pa.array(np.full(t.num_rows, rank, dtype=np.int64)))

        def flush(chrom: str | None) -> None:
            if chrom is None:
                return
            pairs = pa.concat_tables(run) if run else SIGNIF_SCHEMA.empty_table()
            pairs = pairs.append_column("source", pa.array(["significant"] * pairs.num_rows, pa.string())) \
                         .append_column("_source_rank", pa.array(np.full(pairs.num_rows, 2, dtype=np.int64)))
            both = pa.concat_tables([qtls("top_qtls", chrom, 0), qtls("independent_qtls", chrom, 1), pairs],
                                    promote_options="permissive")
            out.write(both.sort_by(order).select(ASSOCIATION_SCHEMA.names).cast(ASSOCIATION_SCHEMA))
            by_gene.write(both.sort_by(gene_order))  # missing values last (the default)
            run.clear()

        chrom_of_run = None
        for i in range(source.metadata.num_row_groups):
            group = source.read_row_group(i)
            chrom = group.column("chrom")[0].as_py() if group.num_rows else chrom_of_run
            if chrom != chrom_of_run:
                flush(chrom_of_run)
                chrom_of_run = chrom
            run.append(group)
        flush(chrom_of_run)
        out.close()
        by_gene.close()

    def qtl_chunk(self, genes: np.ndarray, v: dict, used: np.ndarray, genotyped: np.ndarray,
                  writers: dict[str, _GroupedWriter]) -> None:
        g, rng = self.genes, self.rng
        pos, af = v["pos"], v["af"]
        lo = np.searchsorted(pos, g.tss[genes] - _WINDOW, side="left")
        hi = np.searchsorted(pos, g.tss[genes] + _WINDOW, side="right")

        # gene_status: rows for expressed or tested genes, ordered gene_id, tissue, modality
        expressed, tested = self.expressed[genes], self.tested[genes] & (hi > lo)[:, None, None]
        has_qtl, n_indep = self.has_qtl[genes] & tested, self.n_indep[genes]
        gi, ti, mi = np.nonzero(expressed | tested)
        writers["gene_status"].write(_table(SCHEMAS["gene_status"], {
            "gene_id": _take(g.ids, genes[gi]), "tissue": _take(self.t_arr, ti), "modality": _take(self.m_arr, mi),
            "expressed": expressed[gi, ti, mi], "tested": tested[gi, ti, mi], "has_qtl": has_qtl[gi, ti, mi],
            "n_independent": np.where(has_qtl[gi, ti, mi], n_indep[gi, ti, mi], 0).astype(np.int32)}))
        self.n_tested += tested.sum(axis=0)

        # one top row per tested gene × tissue × modality, in (gene, tissue, modality) order
        gi, ti, mi = np.nonzero(tested)
        n = len(gi)
        sig = has_qtl[gi, ti, mi]
        glo, ghi = lo[gi], hi[gi]
        loci = g.tss[genes][:, None] + self.locus_offset[genes]           # (n_gene, 3)
        loci_idx = np.clip(np.searchsorted(pos, loci), lo[:, None], hi[:, None] - 1)
        locus = (rng.random(n) * self.n_loci[genes][gi]).astype(np.int64)
        lead = np.clip(loci_idx[gi, locus] + rng.integers(-3, 4, n), glo, ghi - 1)
        lead = np.where(sig, lead, rng.integers(glo, ghi))                # non-eGenes: any variant
        lthr = rng.uniform(3.5, 5.5, n)
        lp_top = np.where(sig, lthr + 0.3 + rng.exponential(6.0, n), rng.uniform(0.3, 1.0, n) * lthr)
        p_top = _neglog10_to_p(lp_top)
        se_top = rng.uniform(0.05, 0.25, n)
        sign = np.where(rng.random(n) < 0.5, -1.0, 1.0)
        slope_top = sign * se_top * -ndtri(p_top / 2)
        num_var = (ghi - glo).astype(np.float64)
        pval_beta = np.clip(p_top * num_var / 20 * rng.uniform(0.5, 2, n), 1e-300, 1.0)
        qval = np.where(sig, rng.uniform(0, _FDR, n) * np.minimum(1, pval_beta * 1e4 + 0.01),
                        rng.uniform(_FDR + 1e-3, 1.0, n))
        gene_ids = genes[gi]
        pheno = self._phenotypes(gene_ids, mi, self.top_pheno[genes][gi, ti, mi])
        qtl_common = {"gi": gi, "ti": ti, "mi": mi, "gene_ids": gene_ids, "pheno": pheno, "thr": _neglog10_to_p(lthr),
                      "qval": qval, "num_var": num_var, "true_df": len(self.samples) * 0.9 - rng.uniform(8, 20, n),
                      "shape1": rng.normal(1.02, 0.03, n), "shape2": np.exp(rng.normal(4.5, 0.8, n))}
        expression = np.array([m == "expression" for m in self.m_sorted])[mi]
        top = self._qtl_rows(qtl_common, np.arange(n), lead, p_top, slope_top, se_top, pval_beta,
                             np.ones(n, dtype=np.int64), expression & sig, v)
        writers["top_qtls"].write(top)
        used[lead] = True
        genotyped[lead] = True

        # independent QTLs of eGenes: rank 1 is the top variant, further ranks elsewhere in the window
        q = np.nonzero(sig)[0]
        r = n_indep[gi[q], ti[q], mi[q]].astype(np.int64)
        rows = np.repeat(q, r)
        rank = np.arange(len(rows)) - np.repeat(_starts(r), r) + 1
        extra = rank > 1
        ivar = np.where(extra, rng.integers(glo[rows], ghi[rows]), lead[rows])
        lp_ind = np.where(extra, lthr[rows] + 0.2 + rng.exponential(2.0, len(rows)), lp_top[rows])
        p_ind = _neglog10_to_p(lp_ind)
        se_ind = np.where(extra, rng.uniform(0.05, 0.25, len(rows)), se_top[rows])
        slope_ind = np.where(rng.random(len(rows)) < 0.5, -1.0, 1.0) * se_ind * -ndtri(p_ind / 2)
        slope_ind = np.where(extra, slope_ind, slope_top[rows])
        pb_ind = np.where(extra, np.clip(p_ind * num_var[rows] / 20, 1e-300, 1), pval_beta[rows])
        writers["independent_qtls"].write(self._qtl_rows(qtl_common, rows, ivar, p_ind, slope_ind, se_ind, pb_ind,
                                                         rank, expression[rows], v))
        used[ivar] = True
        genotyped[ivar] = True

        # significant pairs: a run of k variants around the lead, -log10 p decaying away from it
        k = np.minimum(self.k[genes][gi[q], ti[q], mi[q]], ghi[q] - glo[q])
        lead_q = lead[q]
        start = np.clip(lead_q - rng.integers(0, k), glo[q], ghi[q] - k)
        lead_off = lead_q - start
        grp = np.repeat(np.arange(len(q)), k)
        off = np.arange(len(grp)) - np.repeat(_starts(k), k)
        vidx = start[grp] + off
        dist = np.abs(off - lead_off[grp])
        maxd = np.maximum(lead_off, k - 1 - lead_off)[grp]
        l0, lt = lp_top[q][grp], lthr[q][grp]
        lp = l0 - (l0 - lt - 0.02) * dist / (maxd + 1)
        p = _neglog10_to_p(lp)
        se = np.where(dist == 0, se_top[q][grp], rng.uniform(0.05, 0.25, len(grp)))
        slope = np.where(dist == 0, slope_top[q][grp], sign[q][grp] * se * -ndtri(p / 2))
        gq, tq, mq = gi[q][grp], ti[q][grp], mi[q][grp]
        order = np.lexsort((mq, tq, vidx, gq))   # (gene tss, gene_id), pos, tissue, modality
        grp, vidx, gq, tq, mq = grp[order], vidx[order], gq[order], tq[order], mq[order]
        p, slope, se = p[order], slope[order], se[order]
        tss, minus = g.tss[genes][gq], g.minus[genes][gq]
        ppos = pos[vidx]
        writers["signif_pairs"].write(_table(SIGNIF_SCHEMA, {
            "tissue": _take(self.t_arr, tq), "modality": _take(self.m_arr, mq),
            "phenotype_id": _take(_take(pheno, q), grp), "gene_id": _take(g.ids, genes[gq]),
            "variant_id": _take(v["ids"], vidx), "chrom": _repeat(v["chrom"], len(grp)), "pos": ppos,
            "tss_distance": np.where(minus, tss - ppos, ppos - tss), "af": af[vidx], "pval_nominal": p,
            "slope": slope, "slope_se": se, "pval_nominal_threshold": _neglog10_to_p(lthr[q])[grp]}))
        used[vidx] = True

    def _phenotypes(self, gene_ids: np.ndarray, mi: np.ndarray, j: np.ndarray) -> pa.Array:
        out = pa.nulls(len(gene_ids), pa.string())
        pieces, index = [], np.empty(len(gene_ids), dtype=np.int64)
        at = 0
        for m_i, m in enumerate(self.m_sorted):
            sel = np.nonzero(mi == m_i)[0]
            if len(sel):
                pieces.append(self.phenotype_ids(m, gene_ids[sel], j[sel]).cast(pa.string()))
                index[sel] = at + np.arange(len(sel))
                at += len(sel)
        if not pieces:
            return out
        return _take(pa.concat_arrays(pieces), index)

    def _qtl_rows(self, c: dict, rows: np.ndarray, var: np.ndarray, p: np.ndarray, slope: np.ndarray,
                  se: np.ndarray, pval_beta: np.ndarray, rank: np.ndarray, afc: np.ndarray, v: dict) -> pa.Table:
        g, rng = self.genes, self.rng
        n = len(rows)
        gene_ids, mi = c["gene_ids"][rows], c["mi"][rows]
        grouped = np.array([_GROUPED.get(m, False) for m in self.m_sorted])[mi]
        vpos = v["pos"][var]
        tss = g.tss[gene_ids]
        gid = _take(g.ids, gene_ids)
        log2_afc = np.where(afc, np.clip(slope * 1.4 + rng.normal(0, 0.1, n), -6, 6), np.nan)
        half = rng.uniform(0.1, 0.5, n)
        return _table(QTL_SCHEMA, {
            "tissue": _take(self.t_arr, c["ti"][rows]), "modality": _take(self.m_arr, mi),
            "phenotype_id": _take(c["pheno"], rows), "gene_id": gid, "variant_id": _take(v["ids"], var),
            "chrom": _repeat(v["chrom"], n), "pos": vpos, "ref": _BASES[v["ref"][var]],
            "alt": _BASES[(v["ref"][var] + v["alt_shift"][var]) % 4], "af": v["af"][var],
            "tss_distance": np.where(g.minus[gene_ids], tss - vpos, vpos - tss), "pval_nominal": p, "slope": slope,
            "slope_se": se, "pval_beta": pval_beta, "qval": c["qval"][rows], "pval_nominal_threshold": c["thr"][rows],
            "rank": rank, "log2_aFC": log2_afc, "log2_aFC_lower": log2_afc - half, "log2_aFC_upper": log2_afc + half,
            "num_var": c["num_var"][rows], "true_df": c["true_df"][rows], "beta_shape1": c["shape1"][rows],
            "beta_shape2": c["shape2"][rows], "pval_perm": np.clip(pval_beta * rng.uniform(0.9, 1.1, n), 1e-4, 1),
            "group_id": pc.if_else(pa.array(grouped), gid.cast(pa.string()), pa.nulls(n, pa.string())),
            "group_size": np.where(grouped, self.group_size[gene_ids, mi], np.nan).astype(np.float64)})

    def variants_chrom(self, v: dict, used: np.ndarray, w: _GroupedWriter) -> None:
        idx = np.nonzero(used)[0]
        w.write(_table(SCHEMAS["variants"], {
            "variant_id": _take(v["ids"], idx), "chrom": _repeat(v["chrom"], len(idx)), "pos": v["pos"][idx],
            "ref": _BASES[v["ref"][idx]], "alt": _BASES[(v["ref"][idx] + v["alt_shift"][idx]) % 4],
            "af": v["af"][idx]}))

    def genotypes_chrom(self, v: dict, used: np.ndarray, genotyped: np.ndarray, vcf: _VcfWriter, matrix) -> None:
        """The genotypes of the chromosome's top and independent QTL variants, as VCF records, and of every
        variant of ``variants`` as rows of the genotype matrix (the VCF's calls where it has them)."""
        idx = np.nonzero(genotyped)[0]
        ids = v["ids"].to_pylist()
        blocks = []
        for s in range(0, len(idx), ROW_GROUP_SIZE):
            part = idx[s:s + ROW_GROUP_SIZE]
            d = self.rng.binomial(2, v["af"][part][:, None], (len(part), len(self.samples))).astype(np.int8)
            d[self.rng.random(d.shape) < 0.005] = -9
            vcf.write(v["chrom"], v["pos"][part], [ids[i] for i in part], _BASES[v["ref"][part]],
                      _BASES[(v["ref"][part] + v["alt_shift"][part]) % 4], d)
            blocks.append(d)
        in_vcf = np.concatenate(blocks) if blocks else np.empty((0, len(self.samples)), dtype=np.int8)
        rows = np.nonzero(used)[0]
        for s in range(0, len(rows), ROW_GROUP_SIZE):
            part = rows[s:s + ROW_GROUP_SIZE]
            d = self.genotype_rng.binomial(2, v["af"][part][:, None], (len(part), len(self.samples))).astype(np.int8)
            d[self.genotype_rng.random(d.shape) < 0.005] = -9
            g = genotyped[part]
            d[g] = in_vcf[np.searchsorted(idx, part[g])]
            matrix.write(pack(d).tobytes())

    # -- per-sample tables, tissues, samples, trans ---------------------------------------------------

    def sample_tables(self) -> None:
        rng, g = self.rng, self.genes
        index = None
        if "expression" in self.m_sorted:
            index = ExpressionIndexWriter(self._table_path("expression_index"))
        phenotypes = ValuesIndexWriter(self._table_path("phenotype_index"), PHENOTYPE_INDEX_SCHEMA)
        for ti, t in enumerate(self.t_sorted):
            samples = [self.samples[i] for i in self.tissue_samples[t]]
            for mi, m in enumerate(self.m_sorted):
                genes = np.nonzero(self.expressed[:, ti, mi])[0]
                size = self.group_size[genes, mi]
                pg = np.repeat(genes, size)
                j = np.arange(len(pg)) - np.repeat(_starts(size), size) + 1
                ids = self.phenotype_ids(m, pg, j).cast(S)
                order = pc.sort_indices(ids).to_numpy()
                values = rng.standard_normal((len(pg), len(samples)), dtype=np.float32)
                phenotypes.add(phenotype_part(t, m), self._values(
                    ids, order, values, samples, layout.phenotype_table_path(t, m),
                    f"normalised phenotypes of {t} {m}, one column per sample"))
                if m == "expression":
                    level = np.exp(rng.normal(2.0, 2.0, len(genes)))[:, None]
                    tpm = (level * np.exp(rng.normal(0, 0.4, (len(genes), len(samples))))).astype(np.float32)
                    self.median_tpm[genes, ti] = np.median(tpm, axis=1)
                    index.add(t, self._values(_take(g.ids, genes).cast(S), np.arange(len(genes)), tpm, samples,
                                              layout.expression_table_path(t),
                                              f"expression (unnormalised, TPM) of {t}, one column per sample"))
        if index is not None:
            index.close()
        phenotypes.close()
        self.rows["phenotypes/*"] = int(sum(self.group_size[:, mi] @ self.expressed[:, ti, mi]
                                            for ti in range(self.T) for mi in range(self.M)))

    def _values(self, ids: pa.Array, order: np.ndarray, values: np.ndarray, samples: list[str], rel: str,
                description: str) -> pa.Table:
        arrays = [_take(ids, order)] + [pa.array(values[order, j]) for j in range(values.shape[1])]
        table = pa.Table.from_arrays(arrays, names=["phenotype_id", *samples])
        _write(table, self._note(rel, description, "table"))
        return table

    def small_tables(self) -> None:
        g, rng = self.genes, self.rng
        # medians (expression only), sorted gene_id, tissue
        if "expression" in self.m_sorted:
            e = self.m_sorted.index("expression")
            gi, ti = np.nonzero(self.expressed[:, :, e])
            medians = _table(SCHEMAS["medians"], {"tissue": _take(self.t_arr, ti), "gene_id": _take(g.ids, gi),
                                                 "median": self.median_tpm[gi, ti]})
            _write(medians, self._table_path("medians"))
            self.rows["medians"] = medians.num_rows
            dest = self._note(layout.download_path("median_tpm", self.release_id, self.genome),
                              "median expression (TPM), genes × tissues", "download")
            median_tpm_download(medians.to_pandas(), dest)
        # tissue × modality counts, in configuration order
        rows = []
        for t in self.tissue_ids:
            ti = self.t_sorted.index(t)
            for m in self.modalities:
                mi = self.m_sorted.index(m)
                n_egenes = int(self.has_qtl_tested[:, ti, mi].sum())
                rows.append({"tissue": t, "modality": m, "n_samples": len(self.tissue_samples[t]),
                             "n_tested": int(self.n_tested[ti, mi]), "n_egenes": n_egenes,
                             "n_independent": int(self.n_indep[:, ti, mi][self.has_qtl_tested[:, ti, mi]].sum())})
        self.tissue_modality = rows
        tm = pa.Table.from_pylist(rows, schema=SCHEMAS["tissue_modality"])
        _write(tm, self._table_path("tissue_modality"))
        self.rows["tissue_modality"] = tm.num_rows
        # tissues and samples
        trows, srows = [], []
        for i, (t, name, ontology) in enumerate(self.tissues):
            ti = self.t_sorted.index(t)
            if "expression" in self.m_sorted:
                n_expr = int(self.expressed[:, ti, self.m_sorted.index("expression")].sum())
            else:
                n_expr = int(self.expressed[:, ti, :].any(axis=1).sum())
            samples = [self.samples[j] for j in self.tissue_samples[t]]
            trows.append({"tissue_id": t, "name": name, "colour": _COLOURS[i % len(_COLOURS)], "ontology_id": ontology,
                          "n_samples": len(samples), "n_expressed_genes": n_expr, "site": "", "abbreviation": ""})
            srows += [{"sample_id": s, "tissue": t, "modalities": list(self.modalities)} for s in samples]
            samples_download(samples, self._note(layout.download_path("samples", self.release_id, self.genome,
                                                                      tissue=t), f"sample ids of {name}", "download"))
        _write(pa.Table.from_pylist(trows, schema=SCHEMAS["tissues"]), self._table_path("tissues"))
        _write(pa.Table.from_pylist(srows, schema=SCHEMAS["samples"]), self._table_path("samples"))
        self.rows["tissues"], self.rows["samples"] = len(trows), len(srows)
        # trans pairs: a few per tissue, expression only (MappingSettings.trans_modalities)
        if "expression" in self.m_sorted:
            e = self.m_sorted.index("expression")
            parts = []
            for t in self.tissue_ids:
                candidates = np.nonzero(self.expressed[:, self.t_sorted.index(t), e])[0]
                if not len(candidates):
                    continue
                n = max(1, int(round(20 * self.G / 20_000)))
                genes = rng.choice(candidates, size=n)
                rs = _join("rs", _num(_RS_BASE + rng.integers(0, 5_000_000, n)))
                parts.append(_table(SCHEMAS["trans_pairs"], {
                    "tissue": _repeat(t, n), "modality": _repeat("expression", n), "variant_id": rs,
                    "phenotype_id": _take(g.ids, genes), "pval": _neglog10_to_p(rng.uniform(5, 12, n)),
                    "b": rng.normal(0, 0.5, n).astype(np.float32), "b_se": rng.uniform(0.05, 0.1, n).astype(np.float32),
                    "r2": rng.uniform(0.2, 0.5, n).astype(np.float32),
                    "af": rng.uniform(0.05, 0.95, n).astype(np.float32)}))
            trans = pa.concat_tables(parts) if parts else SCHEMAS["trans_pairs"].empty_table()
            _write(trans, self._table_path("trans_pairs"))
            self.rows["trans_pairs"] = trans.num_rows

    # -- metadata -------------------------------------------------------------------------------------

    def atlas(self, annotation: Path) -> Atlas:
        tissues = [Tissue(id=t, name=name, colour=_COLOURS[i % len(_COLOURS)], ontology_id=o,
                          description=f"{name} (simulated samples)") for i, (t, name, o) in enumerate(self.tissues)]
        release = Release(id=self.release_id, genome=self.genome, annotation=annotation,
                          notes=f"Simulated large release written by benchmarks.large_release: {self.G:,} genes, "
                                f"{self.T} tissues × {self.M} modalities. Synthetic data.",
                          genotypes=[annotation.with_name("genotypes.vcf.gz")],
                          tissues={t: {m: PhenotypeInput(bed=annotation.with_name(f"{t}.{m}.bed.gz")) for m in self.modalities}
                                   for t in self.tissue_ids})
        return Atlas(atlas=AtlasInfo(name="qtlatlas simulated large atlas",
                                     description="Synthetic atlas written directly in the release schemas for "
                                                 "API benchmarks (benchmarks.large_release)."),
                     tissues=tissues, releases=[release])

    genome = "sim38"

    @property
    def has_qtl_tested(self) -> np.ndarray:
        return self.has_qtl & self.tested


def make_large_release(site: Path, release_id: str = "v1", *, n_genes: int = 20_000, n_tissues: int = 10,
                       n_modalities: int = 6, pairs_per_egene: float = 40.0, n_samples: int = 100, seed: int = 0,
                       scale: float = 1.0, overwrite: bool = False) -> Path:
    """Write a simulated release ``SITE/releases/<release_id>`` directly in the builder's schemas.

    Args:
        site: the site directory (created if needed); ``SITE/atlas.json`` is written (or its release list
            extended when it exists).
        release_id: the release id.
        n_genes: genes at scale 1 (spread over chr1..chr22).
        n_tissues, n_modalities: tissues (≤ 10 named, then ``TissueNN``) and modalities (the first
            ``n_modalities`` of the six built-in ones, 1..6).
        pairs_per_egene: mean significant pairs per gene × tissue × modality with a QTL (log-normal).
        n_samples: genotyped individuals (each tissue has a random 90 %).
        seed: random seed (same arguments, same release content).
        scale: multiplies the number of genes (so the QTL and significant-pair rows).
        overwrite: replace an existing ``SITE/releases/<release_id>`` (else it is an error).

    Returns:
        the release directory. At scale 1 with the defaults: 20,000 genes, ~720,000 eGene × tissue ×
        modality, ~29 M significant pairs.
    """
    site = Path(site)
    final = layout.release_dir(site, release_id)
    if final.exists() and not overwrite:
        raise FileExistsError(f"{final} exists (use overwrite=True to replace it)")
    genes = max(22, int(round(n_genes * scale)))
    root = layout.releases_dir(site)
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f"{layout.building_prefix(release_id)}{os.getpid()}-{secrets.token_hex(4)}"
    tmp.mkdir()
    try:
        sim = _Simulation(tmp, release_id, genes, n_tissues, n_modalities, pairs_per_egene, n_samples, seed)
        sim.run()
        sim.sample_tables()
        sim.small_tables()
        with tempfile.TemporaryDirectory(prefix="qtlatlas-large-") as scratch:
            annotation = Path(scratch) / "sim_genes.gtf"
            annotation.write_text(f"# simulated annotation: {genes} genes, seed {seed} (benchmarks.large_release)\n")
            atlas = sim.atlas(annotation)
            pairs = [(t, m) for t in sim.tissue_ids for m in sim.modalities]
            counts = {"n_genes_tested": int(sim.tested.any(axis=(1, 2)).sum()),
                      "n_signif_pairs": int(sim.rows["signif_pairs"]), "tissue_modality": sim.tissue_modality}
            write_json(release_metadata(atlas, atlas.release(release_id), pairs, counts),
                       sim._note(layout.RELEASE_JSON, "release metadata: genome, annotation, parameters, software",
                                 "metadata"))
        variants = pq.read_table(tmp / layout.table_path("variants"),
                                 columns=["variant_id", "chrom", "pos", "ref", "alt", "af"]).to_pandas()
        write_variant_index(variants, sim._note(layout.table_path("variant_index"), "variant ids sorted for lookups", "table"))
        positions = PositionBatchWriter(sim._table_path("variants_by_position"), VARIANT_SCHEMA,
                                        batch_rows=POSITION_BATCH_ROWS)
        for _chrom, part in variants.groupby("chrom", sort=False):
            positions.write(pa.Table.from_pandas(part, schema=VARIANT_SCHEMA, preserve_index=False))
        positions.close()
        del variants
        write_manifest(tmp, sim.descriptions)
        if final.exists():
            shutil.rmtree(final)
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    meta = atlas_metadata(atlas)
    target = layout.atlas_json(site)
    if target.exists():
        try:
            known = json.loads(target.read_text()).get("releases", [])
            meta["releases"] = list(dict.fromkeys([*known, *meta["releases"]]))
        except (OSError, ValueError):
            pass
    write_json(meta, target, atomic=True)
    return final


# ------------------------------------------------------------------------------------------------
# Command line
# ------------------------------------------------------------------------------------------------


def release_summary(release: Path) -> list[tuple[str, int, int]]:
    """(table, rows, bytes) of each Parquet query table of a release (phenotype/expression tables summed; the
    look-up files and the genotype matrix are not Parquet and are left out)."""
    out = []
    tables = release / layout.TABLES_DIR
    for name, file in layout.TABLES.items():
        p = tables / file
        if p.exists() and p.suffix == ".parquet":
            out.append((name, pq.ParquetFile(p).metadata.num_rows, p.stat().st_size))
    for sub in ("phenotypes", "expression"):
        files = sorted((tables / sub).glob("*.parquet"))
        if files:
            out.append((f"{sub}/* ({len(files)} files)", sum(pq.ParquetFile(f).metadata.num_rows for f in files),
                        sum(f.stat().st_size for f in files)))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.large_release", description=__doc__.split("\n")[0])
    parser.add_argument("site", type=Path)
    parser.add_argument("--release", default="v1")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--genes", type=int, default=20_000)
    parser.add_argument("--tissues", type=int, default=10)
    parser.add_argument("--modalities", type=int, default=6)
    parser.add_argument("--pairs-per-egene", type=float, default=40.0)
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args(argv)
    label = {0.1: "small", 1.0: "large"}.get(args.scale, f"scale {args.scale:g}")
    t0 = time.perf_counter()
    release = make_large_release(args.site, args.release, n_genes=args.genes, n_tissues=args.tissues,
                                 n_modalities=args.modalities, pairs_per_egene=args.pairs_per_egene,
                                 n_samples=args.samples, seed=args.seed, scale=args.scale, overwrite=args.overwrite)
    wall = time.perf_counter() - t0
    total = sum(f.stat().st_size for f in release.rglob("*") if f.is_file())
    print(f"{label} release ({args.scale:g}×) written to {release} in {wall:.1f} s, {total / 2**20:,.0f} MiB")
    for name, rows, size in release_summary(release):
        print(f"  {name:<28} {rows:>13,} rows {size / 2**20:>10,.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
