"""The association tables of a release, streamed with bounded memory: significant pairs
(``signif_pairs.parquet``), the top and independent QTL tables (``top_qtls``, ``independent_qtls``) and the two
look-up files that hold all three (``associations_by_position``, ``associations_by_gene``).

Rows arrive one tissue × modality at a time; they are spooled per variant chromosome into scratch Parquet
files (:class:`SignifPairsWriter`, :class:`QtlSpool`), and each chromosome is then read, sorted and written in
natural chromosome order. Memory is bounded by the largest chromosome's rows, not by the release's.

Sort orders: ``signif_pairs`` by chromosome, gene TSS, gene, position (:data:`BY_GENE_ORDER`); ``top_qtls`` and
``independent_qtls`` by chromosome, gene TSS, gene, tissue, modality, rank (:data:`QTL_ORDER`);
``associations_by_position`` by :data:`BY_POSITION_ORDER`; ``associations_by_gene`` in runs of gene × source
(:data:`BY_GENE_RUN_ORDER`).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..io.chromosomes import chrom_sort_key
from .batched import PositionBatchWriter, RunBatchWriter
from .tables import (
    QTL_COLUMNS,
    QTL_ROW_GROUP_SIZE,
    ROW_GROUP_SIZE,
    GeneIndex,
    GeneResolver,
    VariantIndex,
    annotate_pairs,
    explicit_genes,
    sort_by,
)

#: Columns of ``signif_pairs``, in order.
SIGNIF_COLUMNS = ["tissue", "modality", "phenotype_id", "gene_id", "variant_id", "chrom", "pos", "tss_distance",
                  "af", "pval_nominal", "slope", "slope_se", "pval_nominal_threshold"]
SIGNIF_SCHEMA = pa.schema([
    ("tissue", pa.string()), ("modality", pa.string()), ("phenotype_id", pa.string()), ("gene_id", pa.string()),
    ("variant_id", pa.string()), ("chrom", pa.string()), ("pos", pa.int64()), ("tss_distance", pa.int64()),
    ("af", pa.float64()), ("pval_nominal", pa.float64()), ("slope", pa.float64()), ("slope_se", pa.float64()),
    ("pval_nominal_threshold", pa.float64()),
])
_SPOOL_SCHEMA = SIGNIF_SCHEMA.append(pa.field("_tss", pa.int64()))



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


class _Spools:
    """Append-only scratch Parquet files, one per key, read back whole (lz4: written and read once)."""

    def __init__(self, scratch: Path, prefix: str, schema: pa.Schema):
        self.scratch, self.prefix, self.schema = scratch, prefix, schema
        self._writers: dict[str, pq.ParquetWriter] = {}
        self.paths: dict[str, Path] = {}

    def write(self, key: str, frame: pd.DataFrame) -> None:
        writer = self._writers.get(key)
        if writer is None:
            path = self.scratch / f"{self.prefix}.{len(self._writers)}.parquet"
            writer = pq.ParquetWriter(path, self.schema, compression="lz4")
            self._writers[key], self.paths[key] = writer, path
        writer.write_table(pa.Table.from_pandas(frame[self.schema.names], schema=self.schema, preserve_index=False))

    def close(self) -> None:
        for w in self._writers.values():
            w.close()
        self._writers = {}

    def read(self, key: str) -> pd.DataFrame | None:
        """The rows spooled under ``key`` (None when there are none); the spool file is then deleted."""
        path = self.paths.pop(key, None)
        if path is None:
            return None
        df = pq.read_table(path).to_pandas()
        path.unlink()
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
    """Streams significant pairs into ``signif_pairs.parquet`` (sorted by gene) and, when ``by_position`` is
    given, ``associations_by_position.arrow`` (the same rows with the top and independent QTLs, sorted by
    variant position) and, when ``by_gene`` is given, ``associations_by_gene.arrow`` (the same rows in runs of
    one gene and source), with bounded memory; with a :class:`QtlSpool`, :meth:`finish` writes the QTL tables
    too.

    Phase 1 (:meth:`add`, one batch at a time): rows are annotated and appended to one spool Parquet file
    per variant chromosome in ``scratch`` (a cis pair's gene lies on the same chromosome). Phase 2
    (:meth:`finish`): each chromosome's spools are read, sorted by :data:`BY_GENE_ORDER` (and, with that
    chromosome's QTL rows, by :data:`QTL_ORDER`, :data:`BY_POSITION_ORDER` and :data:`BY_GENE_RUN_ORDER`) and
    appended, chromosomes in natural order, to the final files. Peak memory is that of the largest chromosome's
    rows, not of all rows.
    """

    def __init__(self, path: str | os.PathLike[str], scratch: str | os.PathLike[str],
                 by_position: str | os.PathLike[str] | None = None, by_gene: str | os.PathLike[str] | None = None):
        self.path = Path(path)
        self.by_position = None if by_position is None else Path(by_position)
        self.by_gene = None if by_gene is None else Path(by_gene)
        self.scratch = Path(scratch)
        self.scratch.mkdir(parents=True, exist_ok=True)
        self._spools = _Spools(self.scratch, "signif", _SPOOL_SCHEMA)
        self.n_rows = 0

    def add(self, rows: pd.DataFrame) -> None:
        """Append annotated rows (:data:`SIGNIF_COLUMNS` + ``_tss`` + ``_gchrom``)."""
        if rows.empty:
            return
        for chrom, part in _by_chrom(rows).items():
            self._spools.write(chrom, part)
        self.n_rows += len(rows)

    def finish(self, qtls: QtlSpool | None = None, qtl_paths: dict[str, str | os.PathLike[str]] | None = None) -> Path:
        """Write the final files. ``qtls``: the QTL rows, written (sorted) to ``qtl_paths`` (``top``,
        ``independent`` -> path of the QTL table) and merged into the look-up files."""
        self._spools.close()
        if qtls is not None:
            qtls.close()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        chroms = _chrom_order(set(self._spools.paths) | (qtls.chroms() if qtls is not None else set()))
        by_pos = None if self.by_position is None else PositionBatchWriter(self.by_position, ASSOCIATION_SCHEMA)
        by_gene = None if self.by_gene is None else RunBatchWriter(self.by_gene, ASSOCIATION_SCHEMA, "gene_id", "source",
                                                                   batch_rows=BY_GENE_BATCH_ROWS,
                                                                   compression=BY_GENE_COMPRESSION)
        tables = {s: pq.ParquetWriter(p, QTL_TABLE_SCHEMA, compression="zstd")
                  for s, p in (qtl_paths or {}).items()}
        try:
            with pq.ParquetWriter(self.path, SIGNIF_SCHEMA, compression="zstd") as out:
                for chrom in chroms:
                    df = self._spools.read(chrom)
                    if df is not None and len(df):
                        df = df.sort_values(BY_GENE_ORDER, kind="stable", na_position="last")
                        out.write_table(pa.Table.from_pandas(df[SIGNIF_COLUMNS], schema=SIGNIF_SCHEMA,
                                                             preserve_index=False), row_group_size=ROW_GROUP_SIZE)
                    parts = []
                    for source in QtlSpool.SOURCES if qtls is not None else ():
                        rows = qtls.sorted_rows(source, chrom)
                        if rows is None:
                            continue
                        if source in tables:
                            tables[source].write_table(pa.Table.from_pandas(rows[QTL_COLUMNS], schema=QTL_TABLE_SCHEMA,
                                                                            preserve_index=False),
                                                       row_group_size=QTL_ROW_GROUP_SIZE)
                        parts.append(rows[QTL_COLUMNS].assign(source=source,
                                                              _source_rank=ASSOCIATION_SOURCES.index(source)))
                    if df is not None and len(df):
                        parts.append(df[SIGNIF_COLUMNS].assign(source="significant", _source_rank=2))
                    del df
                    if (by_pos is None and by_gene is None) or not parts:
                        continue
                    both = pd.concat(parts, ignore_index=True)
                    del parts
                    if by_pos is not None:
                        by_pos.write(pa.Table.from_pandas(both.sort_values(BY_POSITION_ORDER, kind="stable",
                                                                           na_position="last"),
                                                          schema=ASSOCIATION_SCHEMA, preserve_index=False))
                    if by_gene is not None:  # rows without a gene cannot be looked up by gene
                        runs = both[both["gene_id"].notna()].sort_values(BY_GENE_RUN_ORDER, kind="stable",
                                                                         na_position="last")
                        by_gene.write(pa.Table.from_pandas(runs, schema=ASSOCIATION_SCHEMA, preserve_index=False))
                        del runs
                    del both
        finally:
            for writer in (by_pos, by_gene, *tables.values()):
                if writer is not None:
                    writer.close()
        return self.path


def signif_rows(batch: pd.DataFrame, tissue: str, modality: str, resolver: GeneResolver, genes: GeneIndex,
                variants: VariantIndex, thresholds: pd.Series | None, by_group: bool,
                fallback: pd.DataFrame | None = None) -> pd.DataFrame:
    """Significant rows of one batch of nominal (or signif-pairs) rows, annotated for the portal.

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
    ann = annotate_pairs(batch, gene_ids, genes, variants, fallback)
    out = pd.DataFrame({"tissue": [tissue] * n, "modality": [modality] * n,
                        "phenotype_id": batch["phenotype_id"].astype(object).to_numpy(),
                        "gene_id": ann["gene_id"].to_numpy(), "variant_id": batch["variant_id"].astype(object).to_numpy(),
                        "chrom": ann["chrom"].to_numpy()})
    out["pos"] = ann["pos"].array
    out["tss_distance"] = ann["tss_distance"].array
    for c in ("af", "pval_nominal", "slope", "slope_se"):
        out[c] = pd.to_numeric(batch[c], errors="coerce").astype(np.float64).to_numpy() if c in batch else np.nan
    out["pval_nominal_threshold"] = thr
    out["_tss"] = ann["_tss"].array
    out["_gchrom"] = ann["_gchrom"].to_numpy()
    return out


