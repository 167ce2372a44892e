"""The association tables of a release, streamed with bounded memory: significant pairs
(``signif_pairs.parquet`` and the per-tissue × modality downloads), the top and independent QTL tables
(``top_qtls``, ``independent_qtls``) and the two look-up files that hold all three
(``associations_by_position``, ``associations_by_gene``).

Rows arrive one tissue × modality at a time and are spooled per chromosome into scratch Parquet files
(:class:`SignifPairsWriter`, :class:`QtlSpool`). Significant pairs are spooled by their gene's chromosome
without variant fields; :meth:`SignifPairsWriter.finish` joins each chromosome's pairs to that chromosome's
variants (:class:`~qtlatlas.release.variant_store.VariantStore`) and sorts them out of core in DuckDB
(:mod:`.scratch_sql`), then streams them into the final files, chromosomes in natural order. Memory does not
grow with the number of pairs or variants; the QTL rows of one chromosome (a few per gene) are sorted in memory.

Sort orders: ``signif_pairs`` and its downloads by chromosome, gene TSS, gene, position (:data:`BY_GENE_ORDER`);
``top_qtls`` and ``independent_qtls`` by chromosome, gene TSS, gene, tissue, modality, rank (:data:`QTL_ORDER`);
``associations_by_position`` by :data:`BY_POSITION_ORDER`; ``associations_by_gene`` in runs of gene × source
(:data:`BY_GENE_RUN_ORDER`).
"""

from __future__ import annotations

import os
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..io.chromosomes import chrom_key, chrom_sort_key
from ..io.text import gzip_binary_writer, tsv_bytes
from .batched import PositionBatchWriter, RunBatchWriter
from .scratch_sql import RowGroupWriter, SpoolWriter, copy_to_parquet, parquet, stream
from .tables import (
    QTL_COLUMNS,
    QTL_ROW_GROUP_SIZE,
    ROW_GROUP_SIZE,
    GeneIndex,
    GeneResolver,
    explicit_genes,
    sort_by,
)
from .variant_store import VariantStore

#: gzip level of the pair downloads: level 4 compresses millions of rows 2.5 times faster than 6, for files 7 %
#: larger (RatGTEx-scale significant pairs of one tissue: 0.22 s and 3.73 MB against 0.55 s and 3.49 MB).
PAIRS_GZIP_LEVEL = 4
#: Columns of a significant-pairs download.
SIGNIF_DOWNLOAD_COLUMNS = ["phenotype_id", "gene_id", "variant_id", "chrom", "pos", "tss_distance", "af",
                           "pval_nominal", "slope", "slope_se", "pval_nominal_threshold"]

#: Columns of ``signif_pairs``, in order.
SIGNIF_COLUMNS = ["tissue", "modality", "phenotype_id", "gene_id", "variant_id", "chrom", "pos", "tss_distance",
                  "af", "pval_nominal", "slope", "slope_se", "pval_nominal_threshold"]
SIGNIF_SCHEMA = pa.schema([
    ("tissue", pa.string()), ("modality", pa.string()), ("phenotype_id", pa.string()), ("gene_id", pa.string()),
    ("variant_id", pa.string()), ("chrom", pa.string()), ("pos", pa.int64()), ("tss_distance", pa.int64()),
    ("af", pa.float64()), ("pval_nominal", pa.float64()), ("slope", pa.float64()), ("slope_se", pa.float64()),
    ("pval_nominal_threshold", pa.float64()),
])
#: Columns of a significant pair as spooled before its variant is joined: the gene's TSS, strand and chromosome
#: give ``tss_distance`` and the chromosome once the variant's position is known.
_SPOOL_SCHEMA = pa.schema([
    ("tissue", pa.string()), ("modality", pa.string()), ("phenotype_id", pa.string()), ("gene_id", pa.string()),
    ("variant_id", pa.string()), ("af", pa.float64()), ("pval_nominal", pa.float64()), ("slope", pa.float64()),
    ("slope_se", pa.float64()), ("pval_nominal_threshold", pa.float64()), ("_tss", pa.int64()),
    ("_strand", pa.string()), ("_gchrom", pa.string()),
])



#: Sort keys (after the chromosome) of ``signif_pairs`` and of ``associations_by_position``.
BY_GENE_ORDER = ["_tss", "gene_id", "pos", "tissue", "modality", "phenotype_id", "variant_id"]
BY_POSITION_ORDER = ["pos", "gene_id", "tissue", "modality", "phenotype_id", "variant_id", "_source_rank"]
#: Compression of ``associations_by_gene`` and its rows per batch. A look-up decodes the batches its runs meet,
#: whole (every column), and what costs is the per-buffer set-up of the codec, not the bytes: a batch of 1,024
#: rows × 29 columns decodes in 0.16 ms with lz4 against 0.82 ms with zstd (8,192 rows: ~1.1 ms with zstd), for
#: 80 KB against 56 KB on disk. A gene's top or independent run is a few rows: small lz4 batches.
BY_GENE_COMPRESSION = "lz4"
BY_GENE_BATCH_ROWS = 1024
#: Sort keys of ``associations_by_gene`` (runs of gene × source, each in the order of a gene page).
BY_GENE_RUN_ORDER = ["gene_id", "_source_rank", "pval_nominal", "tissue", "modality", "phenotype_id", "rank",
                     "variant_id"]
#: ``source`` values of ``associations_by_position``, in their sort order.
ASSOCIATION_SOURCES = ("top", "independent", "significant")
_STRING_COLUMNS = {"tissue", "modality", "phenotype_id", "gene_id", "variant_id", "chrom", "ref", "alt", "group_id"}
ASSOCIATION_SCHEMA = pa.schema(
    [("source", pa.string())]
    + [(c, pa.string() if c in _STRING_COLUMNS else pa.int64() if c in ("pos", "tss_distance", "rank") else pa.float64())
       for c in QTL_COLUMNS])

#: Sort keys of ``top_qtls`` and ``independent_qtls`` (the gene's chromosome first).
QTL_ORDER = ["_gchrom", "_tss", "gene_id", "tissue", "modality", "rank"]
#: Schema of the QTL tables (``top_qtls``, ``independent_qtls``): :data:`QTL_COLUMNS`.
QTL_TABLE_SCHEMA = pa.schema([f for f in ASSOCIATION_SCHEMA if f.name != "source"])
#: Columns spooled for the QTL tables: theirs and the sort helpers.
_QTL_SPOOL_SCHEMA = pa.schema([*QTL_TABLE_SCHEMA, ("_tss", pa.int64()), ("_gchrom", pa.string())])


def _chrom_order(keys) -> list[str]:
    """Chromosome keys in natural order, the unknown one ("") last."""
    return sorted(set(keys), key=lambda c: (c == "", chrom_sort_key(c) if c else (9, "")))


def chromosome_groups(spooled: dict[str, list[Path]], variants: VariantStore, extra=()) -> list[tuple[str, list[Path]]]:
    """(chromosome, spool files) in natural order, of pairs spooled by their gene's chromosome: a gene chromosome
    is matched to the variants' chromosome of the same name up to a ``chr`` prefix (:func:`chrom_key`); ``""``
    (genes placed nowhere) comes last; the chromosomes of ``extra`` are listed too, with no file."""
    by_key = {chrom_key(c): c for c in variants.chroms}
    files: dict[str, list[Path]] = {}
    for chrom, paths in spooled.items():
        files.setdefault(by_key.get(chrom_key(chrom), chrom) if chrom else "", []).extend(paths)
    return [(c, files.get(c, [])) for c in _chrom_order(set(files) | set(extra))]


def chromosome_where(variants: VariantStore, chrom: str) -> str:
    """The SQL ``WHERE`` that keeps the variants of ``chrom`` in ``variants.path``: every variant for ``""`` (pairs of
    genes placed nowhere look their variant up anywhere), none for a chromosome without variants."""
    rank = variants.chroms.get(chrom)
    return f"WHERE chrom_rank = {int(rank)}" if rank is not None else "" if chrom == "" else "WHERE false"


class _Spools:
    """Append-only scratch Parquet data sets, one per key (:class:`~qtlatlas.release.scratch_sql.SpoolWriter`),
    read back whole."""

    def __init__(self, scratch: Path, prefix: str, schema: pa.Schema):
        self.scratch, self.prefix, self.schema = scratch, prefix, schema
        self._writers: dict[str, SpoolWriter] = {}

    def write(self, key: str, frame: pd.DataFrame) -> None:
        self.write_table(key, pa.Table.from_pandas(frame[self.schema.names], schema=self.schema, preserve_index=False))

    def write_table(self, key: str, table: pa.Table) -> None:
        """Append ``table`` (of :attr:`schema`) under ``key``."""
        writer = self._writers.get(key)
        if writer is None:
            writer = self._writers[key] = SpoolWriter(self.scratch / f"{self.prefix}.{len(self._writers)}", self.schema)
        writer.write(table)

    def write_by(self, column: str, table: pa.Table) -> None:
        """Append the rows of ``table`` under the value of their ``column`` (``""`` where it is null)."""
        encoded = pc.dictionary_encode(pc.fill_null(table.column(column), "")).combine_chunks()
        codes = encoded.indices.to_numpy(zero_copy_only=False)
        for k, key in enumerate(encoded.dictionary.to_pylist()):
            self.write_table(key, table.filter(pa.array(codes == k)))

    @property
    def paths(self) -> dict[str, list[Path]]:
        """key -> its spool files."""
        return {k: w.paths for k, w in self._writers.items()}

    def close(self) -> None:
        for w in self._writers.values():
            w.close()

    def read(self, key: str) -> pd.DataFrame | None:
        """The rows spooled under ``key`` (None when there are none); the spool files are then deleted."""
        writer = self._writers.pop(key, None)
        if writer is None:
            return None
        writer.close()
        df = pa.concat_tables([pq.read_table(p) for p in writer.paths]).to_pandas()
        for p in writer.paths:
            p.unlink()
        return df


def _by_chrom(rows: pd.DataFrame) -> dict[str, pd.DataFrame]:
    key = rows["chrom"].astype(object).where(rows["chrom"].notna(), "").astype(str)
    return {str(c): part for c, part in rows.groupby(key, sort=False)}


class QtlSpool:
    """The top and independent QTL rows of every tissue × modality (:func:`qtl_table`'s rows), spooled per
    variant chromosome until :meth:`SignifPairsWriter.finish` writes the QTL tables one chromosome at a time."""

    SOURCES = ("top", "independent")

    def __init__(self, scratch: str | os.PathLike[str]):
        self.scratch = Path(scratch)
        self.scratch.mkdir(parents=True, exist_ok=True)
        self._spools = {s: _Spools(self.scratch, f"qtl-{s}", _QTL_SPOOL_SCHEMA) for s in self.SOURCES}
        self.n_rows = dict.fromkeys(self.SOURCES, 0)

    def add(self, source: str, rows: pd.DataFrame) -> None:
        """Append QTL rows (:data:`QTL_COLUMNS` + ``_tss`` + ``_gchrom``) of ``source`` (top or independent)."""
        if rows.empty:
            return
        for chrom, part in _by_chrom(rows).items():
            self._spools[source].write(chrom, part)
        self.n_rows[source] += len(rows)

    def chroms(self) -> set[str]:
        return {c for s in self._spools.values() for c in s.paths}

    def close(self) -> None:
        for s in self._spools.values():
            s.close()

    def sorted_rows(self, source: str, chrom: str) -> pd.DataFrame | None:
        """The rows of ``source`` on ``chrom`` sorted by :data:`QTL_ORDER` (None when there are none)."""
        df = self._spools[source].read(chrom)
        if df is None or not len(df):
            return None
        return sort_by(df, QTL_ORDER, chrom="_gchrom")


class SignifPairsWriter:
    """Streams significant pairs into ``signif_pairs.parquet`` (sorted by gene), the per-tissue × modality
    downloads registered with :meth:`add_download` and, when ``by_position`` is given,
    ``associations_by_position.arrow`` (the same rows with the top and independent QTLs, sorted by variant
    position) and, when ``by_gene`` is given, ``associations_by_gene.arrow`` (the same rows in runs of one gene
    and source), with bounded memory; with a :class:`QtlSpool`, :meth:`finish` writes the QTL tables too.

    Phase 1 (:meth:`add`, one batch at a time): rows (:func:`signif_rows`) are appended to one spool Parquet
    file per gene chromosome in ``scratch`` (a cis pair's variant lies on its gene's chromosome). Phase 2
    (:meth:`finish`): per chromosome, in natural order, the spooled pairs are joined to the chromosome's
    variants in ``variants`` (``chrom, pos, tss_distance``; a variant unknown there leaves them missing), and
    the sorts by :data:`BY_GENE_ORDER`, :data:`BY_POSITION_ORDER` and :data:`BY_GENE_RUN_ORDER` run in DuckDB,
    which spills beyond its memory limit; results are streamed into the files a batch at a time.
    """

    def __init__(self, path: str | os.PathLike[str], scratch: str | os.PathLike[str], variants: VariantStore,
                 by_position: str | os.PathLike[str] | None = None, by_gene: str | os.PathLike[str] | None = None):
        self.path = Path(path)
        self.by_position = None if by_position is None else Path(by_position)
        self.by_gene = None if by_gene is None else Path(by_gene)
        self.scratch = Path(scratch)
        self.scratch.mkdir(parents=True, exist_ok=True)
        self.variants = variants
        self._spools = _Spools(self.scratch, "signif", _SPOOL_SCHEMA)
        self._downloads: dict[tuple[str, str], Path] = {}
        self.n_rows = 0

    def add(self, rows: pd.DataFrame) -> None:
        """Append rows of :func:`signif_rows`."""
        if rows.empty:
            return
        key = rows["_gchrom"].astype(object).where(rows["_gchrom"].notna(), "").astype(str)
        for chrom, part in rows.groupby(key, sort=False):
            self._spools.write(str(chrom), part)
        self.n_rows += len(rows)

    def add_download(self, tissue: str, modality: str, dest: str | os.PathLike[str]) -> None:
        """Write the pairs of ``tissue`` × ``modality`` to the gzipped TSV ``dest`` too
        (:data:`SIGNIF_DOWNLOAD_COLUMNS`, in :data:`BY_GENE_ORDER`; a header only when there are none)."""
        self._downloads[(tissue, modality)] = Path(dest)

    def _groups(self, qtls: QtlSpool | None) -> list[tuple[str, list[Path]]]:
        """(chromosome, spool files of its pairs) in natural order (:func:`chromosome_groups`)."""
        return chromosome_groups(self._spools.paths, self.variants, qtls.chroms() if qtls is not None else ())

    def _annotated(self, chrom: str, files: list[Path]) -> str:
        """SQL of the pairs in ``files`` with their variant's ``chrom, pos`` and ``tss_distance``."""
        variants = f"SELECT variant_id, chrom, pos FROM {parquet(self.variants.path)} {chromosome_where(self.variants, chrom)}"
        return f"""
            SELECT s.tissue, s.modality, s.phenotype_id, s.gene_id, s.variant_id,
                   coalesce(v.chrom, nullif(s._gchrom, '')) AS chrom, v.pos,
                   CASE WHEN s._strand = '-' THEN s._tss - v.pos ELSE v.pos - s._tss END AS tss_distance,
                   s.af, s.pval_nominal, s.slope, s.slope_se, s.pval_nominal_threshold, s._tss
            FROM {parquet(files)} s LEFT JOIN ({variants}) v USING (variant_id)"""

    def finish(self, qtls: QtlSpool | None = None, qtl_paths: dict[str, str | os.PathLike[str]] | None = None) -> Path:
        """Write the final files. ``qtls``: the QTL rows, written (sorted) to ``qtl_paths`` (``top``,
        ``independent`` -> path of the QTL table) and merged into the look-up files."""
        self._spools.close()
        if qtls is not None:
            qtls.close()
        con = self.variants.con
        self.path.parent.mkdir(parents=True, exist_ok=True)
        by_pos = None if self.by_position is None else PositionBatchWriter(self.by_position, ASSOCIATION_SCHEMA)
        by_gene = None if self.by_gene is None else RunBatchWriter(self.by_gene, ASSOCIATION_SCHEMA, "gene_id", "source",
                                                                   batch_rows=BY_GENE_BATCH_ROWS,
                                                                   compression=BY_GENE_COMPRESSION)
        tables = {s: pq.ParquetWriter(p, QTL_TABLE_SCHEMA, compression="zstd")
                  for s, p in (qtl_paths or {}).items()}
        signif = RowGroupWriter(self.path, SIGNIF_SCHEMA, ROW_GROUP_SIZE)
        pairs_file = self.scratch / "signif.chromosome.parquet"
        with ExitStack() as stack:
            downloads = _Downloads(self._downloads, stack)
            try:
                for chrom, files in self._groups(qtls):
                    if files:
                        copy_to_parquet(con, self._annotated(chrom, files), pairs_file)
                        for path in files:
                            path.unlink()
                        order = ", ".join(BY_GENE_ORDER)
                        for batch in stream(con, f"SELECT * FROM {parquet(pairs_file)} ORDER BY {order}"):
                            signif.write(batch)
                            downloads.write(batch)
                        signif.flush()
                    qtl_rows = []
                    for source in QtlSpool.SOURCES if qtls is not None else ():
                        rows = qtls.sorted_rows(source, chrom)
                        if rows is None:
                            continue
                        if source in tables:
                            tables[source].write_table(pa.Table.from_pandas(rows[QTL_COLUMNS], schema=QTL_TABLE_SCHEMA,
                                                                            preserve_index=False),
                                                       row_group_size=QTL_ROW_GROUP_SIZE)
                        qtl_rows.append(pa.Table.from_pandas(
                            rows[QTL_COLUMNS].assign(source=source, _source_rank=ASSOCIATION_SOURCES.index(source)),
                            preserve_index=False))
                    if by_pos is not None or by_gene is not None:
                        self._lookup_files(chrom, qtl_rows, pairs_file if files else None, by_pos, by_gene)
                    if files:
                        pairs_file.unlink()
                downloads.finish()
            finally:
                for writer in (by_pos, by_gene, signif, *tables.values()):
                    if writer is not None:
                        writer.close()
        return self.path

    def _lookup_files(self, chrom: str, qtl_rows: list[pa.Table], pairs_file: Path | None,
                      by_pos: PositionBatchWriter | None, by_gene: RunBatchWriter | None) -> None:
        """Append one chromosome's QTL rows and pairs to the look-up files."""
        con = self.variants.con
        parts = []
        if qtl_rows:
            con.register("_qtl_rows", pa.concat_tables(qtl_rows, promote_options="permissive"))
            parts.append("SELECT * FROM _qtl_rows")
        if pairs_file is not None:
            parts.append(f"SELECT 'significant' AS source, 2 AS _source_rank, * EXCLUDE (_tss) FROM {parquet(pairs_file)}")
        if not parts:
            return
        rows = self.scratch / "associations.chromosome.parquet"
        try:
            copy_to_parquet(con, " UNION ALL BY NAME ".join(parts), rows)
        finally:
            if qtl_rows:
                con.unregister("_qtl_rows")
        columns = ", ".join(ASSOCIATION_SCHEMA.names)
        if by_pos is not None:  # a row without a position cannot be found by position
            for batch in stream(con, f"SELECT {columns} FROM {parquet(rows)} WHERE pos IS NOT NULL AND chrom = ? "
                                     f"ORDER BY {', '.join(BY_POSITION_ORDER)}", [chrom]):
                by_pos.write(pa.Table.from_batches([batch]).cast(ASSOCIATION_SCHEMA))
        if by_gene is not None:  # nor one without a gene by gene
            for batch in stream(con, f"SELECT {columns} FROM {parquet(rows)} WHERE gene_id IS NOT NULL "
                                     f"ORDER BY {', '.join(BY_GENE_RUN_ORDER)}"):
                by_gene.write(pa.Table.from_batches([batch]).cast(ASSOCIATION_SCHEMA))
        rows.unlink()


class _Downloads:
    """The gzipped TSV downloads of significant pairs, one per tissue × modality, written as the sorted pairs
    stream by (see :meth:`SignifPairsWriter.add_download`)."""

    def __init__(self, dests: dict[tuple[str, str], Path], stack: ExitStack):
        self._handles = {}
        self._header = dict.fromkeys(dests, True)
        for key, dest in dests.items():
            dest.parent.mkdir(parents=True, exist_ok=True)
            self._handles[key] = stack.enter_context(gzip_binary_writer(dest, PAIRS_GZIP_LEVEL))

    def write(self, batch: pa.RecordBatch) -> None:
        if not self._handles:
            return
        frame = batch.to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)
        for (tissue, modality), part in frame.groupby(["tissue", "modality"], sort=False):
            handle = self._handles.get((tissue, modality))
            if handle is None:
                continue
            handle.write(tsv_bytes(part[SIGNIF_DOWNLOAD_COLUMNS], header=self._header[(tissue, modality)]))
            self._header[(tissue, modality)] = False

    def finish(self) -> None:
        """Write the header of the downloads without a pair."""
        for key, header in self._header.items():
            if header:
                self._handles[key].write(("\t".join(SIGNIF_DOWNLOAD_COLUMNS) + "\n").encode())
                self._header[key] = False


def signif_rows(batch: pd.DataFrame, tissue: str, modality: str, resolver: GeneResolver, genes: GeneIndex,
                thresholds: pd.Series | None, by_group: bool,
                fallback: pd.DataFrame | None = None) -> pd.DataFrame:
    """Significant rows of one batch of nominal (or signif-pairs) rows, with their gene's fields
    (``gene_id`` and the spool columns ``_tss, _strand, _gchrom``), ready for :meth:`SignifPairsWriter.add`
    (the variant's fields are joined there).

    ``thresholds`` maps the phenotype id (or, when ``by_group``, the gene/group id) of each significant
    phenotype (qval ≤ FDR) to its ``pval_nominal_threshold``; rows are kept when
    ``pval_nominal < threshold``. With ``thresholds=None`` every row is kept (a signif-pairs input).
    """
    batch = batch.reset_index(drop=True)
    gene_ids = explicit_genes(batch, resolver)
    if thresholds is not None:
        key = gene_ids if by_group else batch["phenotype_id"].astype(object)
        thr = key.map(thresholds).astype(np.float64).to_numpy()
        p = pd.to_numeric(batch["pval_nominal"], errors="coerce").to_numpy(np.float64)
        keep = p < thr  # NaN thresholds (not significant phenotypes) and NaN p-values compare False
        batch = batch[keep].reset_index(drop=True)
        gene_ids = gene_ids[keep].reset_index(drop=True)
        thr = thr[keep]
    elif "pval_nominal_threshold" in batch:
        thr = pd.to_numeric(batch["pval_nominal_threshold"], errors="coerce").to_numpy(np.float64)
    else:
        thr = np.full(len(batch), np.nan)
    n = len(batch)
    gene_ids = pd.Series(gene_ids, dtype=object).reset_index(drop=True)
    g = genes.lookup(gene_ids, fallback, batch["phenotype_id"])
    out = pd.DataFrame({"tissue": [tissue] * n, "modality": [modality] * n,
                        "phenotype_id": batch["phenotype_id"].astype(object).to_numpy(),
                        "gene_id": gene_ids.to_numpy(), "variant_id": batch["variant_id"].astype(object).to_numpy()})
    for c in ("af", "pval_nominal", "slope", "slope_se"):
        out[c] = pd.to_numeric(batch[c], errors="coerce").astype(np.float64).to_numpy() if c in batch else np.nan
    out["pval_nominal_threshold"] = thr
    out["_tss"] = g["tss"].array
    out["_strand"] = g["strand"].to_numpy()
    out["_gchrom"] = g["chrom"].to_numpy()
    return out
