"""Every tested cis pair of a tissue × modality (the nominal pass), published twice: a compact query store for
the portal and a bgzipped, tabix-indexed download — streamed with bounded memory, whatever the number of pairs.

Query store (``tables/all_pairs/{tissue}.{modality}.*``, read by :mod:`qtlatlas.store.all_pairs`):

* ``pairs.parquet`` (:data:`PAIR_SCHEMA`): one row per pair, sorted by chromosome, phenotype position,
  phenotype id and variant index, in row groups of exactly :data:`ROW_GROUP_ROWS` rows (row ``i`` is in row
  group ``i // ROW_GROUP_ROWS``). A pair is its variant's index in the release's variant table
  (``tables/variants.parquet``, whose row order is chromosome, position, id) and three statistics; what
  repeats — phenotype, gene, the variant's id, position and alleles, its frequency in the tissue — is stored
  once elsewhere, as a column store would dictionary-encode it;
* ``runs.parquet`` (:data:`RUN_SCHEMA`): one row per phenotype — its gene, chromosome, start (the position
  ``start_distance`` is measured from), first row and number of rows, and the range of variant indices and
  positions it covers. A gene's pairs, the pairs of a region and the pairs of a variant are each the rows of
  a contiguous run of phenotypes found here without reading the pairs;
* ``variants.parquet`` (:data:`VARIANT_STATS_SCHEMA`): ``af, ma_samples, ma_count`` of every variant of the
  release in the tissue's samples (null where not tested), row = variant index.

Precision kept (:mod:`.float_precision`): ``nlog10p`` (−log10 p, exact where p underflows float64) within
:data:`NLOG10P_ABS_ERROR` of the computed value; ``slope`` within :data:`SLOPE_ERROR_IN_SE` standard errors;
``slope_se`` to :data:`SE_BITS` mantissa bits (relative error below 1.3e-4). ``pval_nominal`` is
``10^-nlog10p`` (relative error below 2.4e-5). The published agreement bar with tensorQTL is ten times
looser (|Δ log10 p| ≤ 1e-3, |Δ slope| ≤ 1e-3 SE).

Download (``nominal.{tissue}.{modality}.{release}_{genome}.tsv.gz`` + ``.tbi``): :data:`DOWNLOAD_COLUMNS`
sorted by chromosome and position, header on the first line (tabix skips it), values as given by the mapping
(6 significant digits; ``nlog10p`` to 4 decimals), ``NA`` where missing.

A pair whose variant is not among the release's genotypes cannot be placed and is counted, not stored.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .associations import _Spools, chromosome_groups, chromosome_where
from .batched import PendingRows
from .bgzf import BgzfWriter
from .float_precision import bits_for_abs_error, round_mantissa
from .imported import iter_pairs
from .scratch_sql import _quote, copy_to_parquet, parquet, stream
from .tables import GeneIndex, GeneResolver, explicit_genes
from .variant_store import VariantStore

#: Rows per row group of ``pairs.parquet``: a look-up decodes whole row groups (8,192 rows of four columns in
#: ~0.3 ms); smaller ones cost more footer (~120 bytes each) than they save.
ROW_GROUP_ROWS = 8192
#: Rows per row group of the per-variant statistics.
STATS_ROW_GROUP_ROWS = 8192
NLOG10P_ABS_ERROR = 1e-5
SLOPE_ERROR_IN_SE = 1e-4
SE_BITS = 12

PAIR_SCHEMA = pa.schema([("variant_index", pa.int32()), ("nlog10p", pa.float32()), ("slope", pa.float32()),
                         ("slope_se", pa.float32())])
RUN_SCHEMA = pa.schema([
    ("phenotype_id", pa.string()), ("gene_id", pa.string()), ("chrom", pa.string()), ("start", pa.int64()),
    ("first_row", pa.int64()), ("n_rows", pa.int64()), ("variant_first", pa.int64()), ("variant_last", pa.int64()),
    ("pos_first", pa.int64()), ("pos_last", pa.int64()),
])
#: Columns of pairs and per-variant statistics that a source may lack (RatGTEx's archives give p-values only);
#: the runs table names those that hold any value under :data:`PRESENT_KEY`, so that readers skip the others.
VALUE_COLUMNS = ("nlog10p", "slope", "slope_se", "af", "ma_samples", "ma_count")
PRESENT_KEY = b"qtlatlas.present_columns"
VARIANT_STATS_SCHEMA = pa.schema([("af", pa.float32()), ("ma_samples", pa.int32()), ("ma_count", pa.int32())])
#: Columns of the download: tensorQTL's ``cis_qtl_pairs`` columns with the gene, its symbol, the variant's
#: position and alleles, and the exact −log10 p.
DOWNLOAD_COLUMNS = ["phenotype_id", "gene_id", "gene_name", "variant_id", "chrom", "pos", "ref", "alt",
                    "start_distance", "af", "ma_samples", "ma_count", "pval_nominal", "slope", "slope_se", "nlog10p"]
#: 0-based columns of the download that tabix indexes (chromosome, position).
DOWNLOAD_SEQ_COL, DOWNLOAD_POS_COL = DOWNLOAD_COLUMNS.index("chrom"), DOWNLOAD_COLUMNS.index("pos")

_SPOOL_SCHEMA = pa.schema([
    ("phenotype_id", pa.string()), ("gene_id", pa.string()), ("variant_id", pa.string()), ("af", pa.float32()),
    ("ma_samples", pa.int32()), ("ma_count", pa.int32()), ("pval_nominal", pa.float64()), ("nlog10p", pa.float64()),
    ("slope", pa.float32()), ("slope_se", pa.float32()), ("start_distance", pa.int64()), ("_tss", pa.int64()),
    ("_gchrom", pa.string()),
])
_SPARSE_STATS_SCHEMA = pa.schema([("variant_index", pa.int64()), *VARIANT_STATS_SCHEMA])
_PARQUET_OPTIONS = dict(compression="zstd", compression_level=3, use_dictionary=False, write_statistics=False,
                        column_encoding={"variant_index": "DELTA_BINARY_PACKED", "nlog10p": "BYTE_STREAM_SPLIT",
                                         "slope": "BYTE_STREAM_SPLIT", "slope_se": "BYTE_STREAM_SPLIT"})
_STATS_OPTIONS = dict(compression="zstd", compression_level=3, write_statistics=False)


@dataclass
class AllPairsFiles:
    """Where the all-pairs files of one tissue × modality go (absolute paths)."""

    pairs: Path
    runs: Path
    variant_stats: Path
    download: Path


@dataclass
class AllPairsCounts:
    """What :meth:`AllPairsWriter.write` wrote: pairs stored, pairs dropped (variant not genotyped), phenotypes."""

    n_pairs: int = 0
    n_unplaced: int = 0
    n_phenotypes: int = 0


def _floats(batch: pd.DataFrame, column: str, dtype) -> pa.Array:
    if column not in batch:
        return pa.nulls(len(batch), pa.from_numpy_dtype(dtype))
    values = pd.to_numeric(batch[column], errors="coerce").to_numpy(np.float64)
    return pa.array(values.astype(dtype, copy=False), mask=np.isnan(values))


def _ints(batch: pd.DataFrame, column: str, type_: pa.DataType) -> pa.Array:
    if column not in batch:
        return pa.nulls(len(batch), type_)
    values = pd.to_numeric(batch[column], errors="coerce").to_numpy(np.float64)
    missing = np.isnan(values)
    return pa.array(np.where(missing, 0, values).astype(type_.to_pandas_dtype()), mask=missing)


def spool_rows(batch: pd.DataFrame, resolver: GeneResolver, genes: GeneIndex,
               fallback: pd.DataFrame | None) -> pa.Table:
    """Rows of :data:`_SPOOL_SCHEMA` from one batch of a nominal pass (tensorQTL columns): the gene of each
    phenotype with its chromosome and TSS (resolved once per distinct phenotype of the batch), and ``nlog10p``
    (the source's when it has one, else −log10 of its p-value; +inf where p is 0). Rows without a phenotype or
    a variant id are left out."""
    batch = batch[batch["phenotype_id"].notna() & batch["variant_id"].notna()].reset_index(drop=True)
    codes, phenotypes = pd.factorize(batch["phenotype_id"].astype(object))
    distinct = batch.iloc[pd.Series(np.arange(len(batch))).groupby(codes).first().to_numpy()].reset_index(drop=True)
    gene_ids = pd.Series(explicit_genes(distinct, resolver), dtype=object).reset_index(drop=True)
    place = genes.lookup(gene_ids, fallback, pd.Series(phenotypes, dtype=object))
    take = pa.array(codes)
    pval = pd.to_numeric(batch["pval_nominal"], errors="coerce").to_numpy(np.float64) if "pval_nominal" in batch \
        else np.full(len(batch), np.nan)
    if "nlog10p" in batch:
        nlog10p = pd.to_numeric(batch["nlog10p"], errors="coerce").to_numpy(np.float64)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            nlog10p = -np.log10(pval)
    tss = place["tss"]
    return pa.table({
        "phenotype_id": pa.array(phenotypes.astype(str), pa.string()).take(take),
        "gene_id": pa.array(gene_ids.to_numpy(object), pa.string(), from_pandas=True).take(take),
        "variant_id": pa.array(batch["variant_id"].astype(str).to_numpy(object), pa.string()),
        "af": _floats(batch, "af", np.float32),
        "ma_samples": _ints(batch, "ma_samples", pa.int32()), "ma_count": _ints(batch, "ma_count", pa.int32()),
        "pval_nominal": pa.array(pval, mask=np.isnan(pval)), "nlog10p": pa.array(nlog10p, mask=np.isnan(nlog10p)),
        "slope": _floats(batch, "slope", np.float32), "slope_se": _floats(batch, "slope_se", np.float32),
        "start_distance": _ints(batch, "start_distance", pa.int64()),
        "_tss": pa.array(tss.to_numpy(np.float64, na_value=np.nan), mask=tss.isna().to_numpy()).cast(pa.int64())
                  .take(take),
        "_gchrom": pa.array(place["chrom"].to_numpy(object), pa.string(), from_pandas=True).take(take),
    }, schema=_SPOOL_SCHEMA)


def encode_statistics(nlog10p: np.ndarray, slope: np.ndarray, slope_se: np.ndarray) -> dict[str, np.ndarray]:
    """The three stored statistics as float32 with only the mantissa bits their error bounds need (module
    docstring)."""
    nlog10p = np.asarray(nlog10p, dtype=np.float64)
    slope = np.asarray(slope, dtype=np.float64)
    se = np.asarray(slope_se, dtype=np.float64)
    return {
        "nlog10p": round_mantissa(nlog10p, bits_for_abs_error(nlog10p, NLOG10P_ABS_ERROR)),
        "slope": round_mantissa(slope, bits_for_abs_error(slope, SLOPE_ERROR_IN_SE * se)),
        "slope_se": round_mantissa(se, SE_BITS),
    }


class _RunTracker:
    """Cuts the sorted pair stream of one tissue × modality into runs of one phenotype (:data:`RUN_SCHEMA`)."""

    def __init__(self):
        self.rows: list[dict] = []
        self._open: dict | None = None

    def add(self, batch: pa.RecordBatch, first_row: int) -> None:
        pid = batch.column("phenotype_id")
        n = batch.num_rows
        change = np.flatnonzero(pc.not_equal(pid.slice(1), pid.slice(0, n - 1)).to_numpy(zero_copy_only=False)) + 1
        starts = np.concatenate([[0], change]).astype(np.int64)
        ends = np.concatenate([change, [n]]).astype(np.int64)
        vidx = batch.column("vidx").to_numpy()
        pos = batch.column("pos").to_numpy()
        for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
            phenotype = pid[s].as_py()
            run = self._open
            if run is not None and run["phenotype_id"] == phenotype:
                run["n_rows"] += e - s
                run["variant_last"], run["pos_last"] = int(vidx[e - 1]), int(pos[e - 1])
                continue
            self.close()
            start = batch.column("_start")[s].as_py()
            self._open = {"phenotype_id": phenotype, "gene_id": batch.column("gene_id")[s].as_py(),
                          "chrom": batch.column("chrom")[s].as_py(), "start": start,
                          "first_row": first_row + s, "n_rows": e - s,
                          "variant_first": int(vidx[s]), "variant_last": int(vidx[e - 1]),
                          "pos_first": int(pos[s]), "pos_last": int(pos[e - 1])}

    def close(self) -> None:
        if self._open is not None:
            self.rows.append(self._open)
            self._open = None

    def table(self) -> pa.Table:
        self.close()
        return pa.Table.from_pylist(self.rows, schema=RUN_SCHEMA)


class AllPairsWriter:
    """Writes the all-pairs files of each tissue × modality of a build (:meth:`write`), sharing the build's
    variant store (and its DuckDB connection) and gene index.

    Args:
        scratch: the build's scratch directory.
        variants: the build's variants; a pair's variant index is its row in ``variants.path`` (sorted by
            chromosome rank, position, id — the order of the published variant table).
        genes: the annotation's genes (gene chromosome and TSS of each phenotype).
        gene_names: ``gene_id, gene_name`` of the annotation (the download's symbols).
    """

    def __init__(self, scratch: str | os.PathLike[str], variants: VariantStore, genes: GeneIndex,
                 gene_names: pd.DataFrame):
        self.scratch = Path(scratch)
        self.variants = variants
        self.genes = genes
        self.con = variants.con
        self._n = 0
        names = gene_names[["gene_id", "gene_name"]].drop_duplicates("gene_id")
        self.con.register("_gene_names", pa.Table.from_pandas(names.astype(object), preserve_index=False))

    def write(self, sources, files: AllPairsFiles, *, modality: str, grouped: bool, resolver: GeneResolver,
              fallback: pd.DataFrame | None) -> AllPairsCounts:
        """Read the nominal-pass ``sources`` (Parquet, text or per-gene archives) of one tissue × modality and
        write its :class:`AllPairsFiles`."""
        self._n += 1
        spools = _Spools(self.scratch, f"allpairs{self._n}", _SPOOL_SCHEMA)
        n_in = 0
        for src in sources:
            for batch in iter_pairs(src, modality, grouped):
                rows = spool_rows(batch, resolver, self.genes, fallback)
                spools.write_by("_gchrom", rows)
                n_in += rows.num_rows
        spools.close()
        counts = self._finish(spools, files)
        counts.n_unplaced = n_in - counts.n_pairs
        return counts

    # -- per chromosome ---------------------------------------------------------------------------

    def _joined(self, chrom: str, files: list[Path]) -> str:
        """SQL of the spooled pairs of a gene chromosome joined to their variants (index, chromosome, position,
        alleles); pairs of genes placed nowhere (chrom "") find their variant on any chromosome."""
        variants = (f"SELECT variant_id, file_row_number AS vidx, chrom, chrom_rank, pos, ref, alt "
                    f"FROM read_parquet('{_quote(self.variants.path)}', file_row_number=true) "
                    f"{chromosome_where(self.variants, chrom)}")
        return f"""
            SELECT s.phenotype_id, s.gene_id, v.vidx, v.chrom, v.chrom_rank, v.pos, v.ref, v.alt, s.variant_id,
                   s.af, s.ma_samples, s.ma_count, s.pval_nominal, s.nlog10p, s.slope, s.slope_se,
                   coalesce(s.start_distance, v.pos - s._tss) AS start_distance,
                   coalesce(v.pos - s.start_distance, s._tss) AS _start, coalesce(s._tss, 0) AS _tss
            FROM {parquet(files)} s JOIN ({variants}) v USING (variant_id)"""

    def _finish(self, spools: _Spools, files: AllPairsFiles) -> AllPairsCounts:
        for p in (files.pairs, files.runs, files.variant_stats, files.download):
            p.parent.mkdir(parents=True, exist_ok=True)
        counts = AllPairsCounts()
        runs = _RunTracker()
        present: set[str] = set()
        pending = PendingRows(ROW_GROUP_ROWS)
        joined = self.scratch / "allpairs.chromosome.parquet"
        sparse_stats = self.scratch / "allpairs.stats.parquet"
        part = self.scratch / "allpairs.download.part.tsv"
        with pq.ParquetWriter(files.pairs, PAIR_SCHEMA, **_PARQUET_OPTIONS) as writer, \
                pq.ParquetWriter(sparse_stats, _SPARSE_STATS_SCHEMA, compression="lz4") as stats, \
                BgzfWriter(files.download) as text:
            text.write(("\t".join(DOWNLOAD_COLUMNS) + "\n").encode())
            for chrom, paths in chromosome_groups(spools.paths, self.variants):
                copy_to_parquet(self.con, self._joined(chrom, paths), joined)
                for p in paths:
                    p.unlink()
                for batch in stream(self.con, f"""
                        SELECT phenotype_id, gene_id, vidx, chrom, pos, nlog10p, slope, slope_se, af, ma_samples,
                               ma_count, _start FROM {parquet(joined)}
                        ORDER BY chrom_rank, _tss, phenotype_id, vidx"""):
                    runs.add(batch, counts.n_pairs)
                    counts.n_pairs += batch.num_rows
                    present.update(c for c in VALUE_COLUMNS if batch.column(c).null_count < batch.num_rows)
                    enc = encode_statistics(*(batch.column(c).to_numpy(zero_copy_only=False)
                                              for c in ("nlog10p", "slope", "slope_se")))
                    pending.add(pa.table({"variant_index": batch.column("vidx").cast(pa.int32()),
                                          **{c: pa.array(v) for c, v in enc.items()}}, schema=PAIR_SCHEMA))
                    for full in pending.take(final=False):
                        writer.write_batch(full, row_group_size=ROW_GROUP_ROWS)
                    stats.write_table(_sparse_stats(batch))
                self.con.execute(f"""COPY (
                        SELECT j.phenotype_id, j.gene_id, g.gene_name, j.variant_id, j.chrom, j.pos, j.ref, j.alt,
                               j.start_distance, printf('%.6g', j.af), j.ma_samples, j.ma_count,
                               printf('%.6g', j.pval_nominal), printf('%.6g', j.slope), printf('%.6g', j.slope_se),
                               printf('%.4f', j.nlog10p)
                        FROM {parquet(joined)} j LEFT JOIN _gene_names g USING (gene_id)
                        ORDER BY j.chrom_rank, j.pos, j.vidx, j.phenotype_id)
                    TO '{_quote(part)}' (FORMAT csv, DELIMITER '\t', HEADER false, QUOTE '', NULLSTR 'NA')""")
                with open(part, "rb") as f:
                    while chunk := f.read(1 << 22):
                        text.write(chunk)
                part.unlink()
                joined.unlink()
            for full in pending.take(final=True):
                writer.write_batch(full, row_group_size=ROW_GROUP_ROWS)
        table = runs.table()
        counts.n_phenotypes = table.num_rows
        table = table.replace_schema_metadata({PRESENT_KEY: ",".join(c for c in VALUE_COLUMNS if c in present)})
        pq.write_table(table, files.runs, compression="zstd")
        self._dense_stats(sparse_stats, files.variant_stats)
        sparse_stats.unlink()
        _tabix(files.download)
        return counts

    def _dense_stats(self, sparse: Path, dest: Path) -> None:
        """One row per variant of the release (row = variant index): the statistics of the tested ones."""
        with pq.ParquetWriter(dest, VARIANT_STATS_SCHEMA, **_STATS_OPTIONS) as writer:
            pending = PendingRows(STATS_ROW_GROUP_ROWS)
            for batch in stream(self.con, f"""
                    WITH s AS (SELECT variant_index, any_value(af) AS af, any_value(ma_samples) AS ma_samples,
                                      any_value(ma_count) AS ma_count FROM {parquet(sparse)} GROUP BY variant_index)
                    SELECT v.file_row_number AS variant_index, s.af, s.ma_samples, s.ma_count
                    FROM read_parquet('{_quote(self.variants.path)}', file_row_number=true) v
                    LEFT JOIN s ON s.variant_index = v.file_row_number
                    ORDER BY v.file_row_number"""):
                pending.add(pa.Table.from_batches([batch]).select(VARIANT_STATS_SCHEMA.names).cast(VARIANT_STATS_SCHEMA))
                for full in pending.take(final=False):
                    writer.write_batch(full, row_group_size=STATS_ROW_GROUP_ROWS)
            for full in pending.take(final=True):
                writer.write_batch(full, row_group_size=STATS_ROW_GROUP_ROWS)


def _sparse_stats(batch: pa.RecordBatch) -> pa.Table:
    """``variant_index, af, ma_samples, ma_count`` of the distinct variants of a batch."""
    vidx = batch.column("vidx").to_numpy()
    _, first = np.unique(vidx, return_index=True)
    take = pa.array(first)
    return pa.table({"variant_index": pa.array(vidx[first].astype(np.int64)),
                     **{c: batch.column(c).take(take).cast(VARIANT_STATS_SCHEMA.field(c).type)
                        for c in VARIANT_STATS_SCHEMA.names}}, schema=_SPARSE_STATS_SCHEMA)


def _tabix(path: Path) -> None:
    """Index the bgzipped download ``path`` by chromosome and position (``path.tbi``)."""
    import pysam

    pysam.tabix_index(str(path), force=True, seq_col=DOWNLOAD_SEQ_COL, start_col=DOWNLOAD_POS_COL,
                      end_col=DOWNLOAD_POS_COL, line_skip=1)
