"""Query tables of a release: the Parquet files the portal queries with DuckDB.

Each builder takes in-memory inputs (annotation, variant table, result tables) and returns a DataFrame
with the documented columns; :func:`write_table` writes it sorted, with bounded row groups so that a
lookup by the leading sort keys reads a few row groups only. The significant-pairs table is the one
table that can outgrow memory: :class:`SignifPairsWriter` streams it (see its docstring).

Sort orders (chromosomes in natural order 1..22, X, Y, MT, then others, by
:func:`qtlatlas.io.chromosomes.chrom_sort_key`):

* ``genes``: chrom, tss; ``transcripts``/``exons``: gene_id, start;
* ``transcripts_index``/``exons_index``: the same rows keyed by gene_id, then start, transcript_id (look-up
  files, :func:`write_gene_model_index`);
* ``top_qtls``, ``independent_qtls``: chrom, gene tss, gene_id, tissue, modality, rank;
* ``signif_pairs``: chrom, gene tss, gene_id, pos (a gene lookup reads a contiguous range);
* ``associations_by_position``: the rows of ``signif_pairs``, ``top_qtls`` and ``independent_qtls`` (a
  ``source`` column says which) sorted by chrom, pos, gene_id, tissue, modality, phenotype_id, variant_id,
  source: a region or a variant lookup reads one contiguous range, already in the order pages are served
  a look-up file (Arrow IPC batches + a sidecar of position ranges, :mod:`qtlatlas.release.batched`);
* ``associations_by_gene``: the same rows in runs of one gene and source each (top, independent,
  significant), within a run by pval_nominal, tissue, modality, phenotype_id, rank, variant_id — the order
  of a gene page; a look-up file by runs (:class:`qtlatlas.release.batched.RunBatchWriter`);
* ``variant_index``: lower-cased variant id (every field of ``variants`` plus ``same_position``; a look-up
  file, :mod:`qtlatlas.release.batched`);
* ``variants``: chrom, pos; ``genotypes``: variant_id; ``gene_status``: gene_id, tissue, modality;
* ``medians``: gene_id, tissue; ``phenotypes/*``, ``expression/*``: phenotype_id.
* ``expression_index``: every ``expression/*`` table as rows ``phenotype_id, tpm`` (list), one part per
  tissue, each sorted by phenotype_id (a look-up file, :class:`ExpressionIndexWriter`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..io.chromosomes import chrom_sort_key
from ..io.groups import genes_of
from ..results import CROSS_MODALITY
from .batched import KeyedBatchWriter, PositionBatchWriter, RunBatchWriter, write_keyed_batches

ROW_GROUP_SIZE = 65_536
#: Row groups of the top and independent QTL tables: their rows are wide (tensorQTL columns), so a look-up
#: by variant position, which DuckDB answers by decompressing whole row groups, stays cheap.
QTL_ROW_GROUP_SIZE = 16_384
_BATCH = 262_144

#: Columns of ``top_qtls`` and ``independent_qtls``, in order.
QTL_COLUMNS = [
    "tissue", "modality", "phenotype_id", "gene_id", "variant_id", "chrom", "pos", "ref", "alt", "af",
    "tss_distance", "pval_nominal", "slope", "slope_se", "pval_beta", "qval", "pval_nominal_threshold", "rank",
    "log2_aFC", "log2_aFC_lower", "log2_aFC_upper", "num_var", "true_df", "beta_shape1", "beta_shape2",
    "pval_perm", "group_id", "group_size",
]
_QTL_FLOATS = ["af", "pval_nominal", "slope", "slope_se", "pval_beta", "qval", "pval_nominal_threshold",
               "log2_aFC", "log2_aFC_lower", "log2_aFC_upper", "num_var", "true_df", "beta_shape1",
               "beta_shape2", "pval_perm", "group_size"]

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


# ------------------------------------------------------------------------------------------------
# Writing
# ------------------------------------------------------------------------------------------------


def chrom_rank(chroms: pd.Series) -> pd.Series:
    """Natural rank of each chromosome name (1..22, X, Y, MT, others), as int64 (missing names last)."""
    names = sorted({c for c in chroms.dropna().unique()}, key=lambda c: chrom_sort_key(str(c)))
    order = {c: i for i, c in enumerate(names)}
    return chroms.map(order).fillna(len(names)).astype(np.int64)


def write_table(df: pd.DataFrame | pa.Table, path: str | os.PathLike[str], *,
                row_group_size: int = ROW_GROUP_SIZE) -> Path:
    """Write a table (already sorted) as zstd-compressed Parquet with statistics and bounded row groups."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    table = df if isinstance(df, pa.Table) else pa.Table.from_pandas(df, preserve_index=False)
    table = table.replace_schema_metadata(None)
    pq.write_table(table, path, row_group_size=row_group_size, compression="zstd")
    return path


#: Rows per batch of the variant index (a look-up file, :mod:`qtlatlas.release.batched`): small, so that an
#: id look-up decodes one short batch.
VARIANT_INDEX_BATCH = 4096


VARIANT_INDEX_SCHEMA = pa.schema([
    ("variant_key", pa.string()), ("variant_id", pa.string()), ("chrom", pa.string()), ("pos", pa.int64()),
    ("ref", pa.string()), ("alt", pa.string()), ("af", pa.float64()), ("same_position", pa.list_(pa.string())),
])


GENE_STATUS_SCHEMA = pa.schema([
    ("gene_id", pa.string()), ("tissue", pa.string()), ("modality", pa.string()), ("expressed", pa.bool_()),
    ("tested", pa.bool_()), ("has_qtl", pa.bool_()), ("n_independent", pa.int64()),
])


def write_gene_status_index(status: pd.DataFrame | pa.Table, path: str | os.PathLike[str]) -> Path:
    """``gene_status`` (sorted by gene_id) as a look-up file keyed by gene id: a gene's status rows are one
    small batch to decode (:class:`qtlatlas.store.batched.KeyedRows`)."""
    table = status if isinstance(status, pa.Table) else pa.Table.from_pandas(
        status.assign(n_independent=pd.to_numeric(status["n_independent"]).fillna(0).astype("int64"),
                      **{c: status[c].astype(bool) for c in ("expressed", "tested", "has_qtl")}),
        preserve_index=False)
    table = table.select(GENE_STATUS_SCHEMA.names).cast(GENE_STATUS_SCHEMA).replace_schema_metadata(None)
    return write_keyed_batches(table, "gene_id", path, batch_rows=4096)


#: Order of a gene's rows in the annotation look-up files (after ``gene_id``): that of a gene page.
GENE_MODEL_ORDER = {"transcripts": ["start", "transcript_id"], "exons": ["start", "transcript_id"]}


def write_gene_model_index(table: pd.DataFrame | pa.Table, kind: str, path: str | os.PathLike[str]) -> Path:
    """The ``transcripts`` or ``exons`` table (``kind``) as a look-up file keyed by gene id, each gene's rows
    in :data:`GENE_MODEL_ORDER`: a gene's structure is one small batch to decode."""
    t = table if isinstance(table, pa.Table) else pa.Table.from_pandas(table, preserve_index=False)
    t = t.replace_schema_metadata(None)
    t = t.sort_by([(c, "ascending") for c in ["gene_id", *GENE_MODEL_ORDER[kind]]])
    return write_keyed_batches(t, "gene_id", path, batch_rows=4096)


def write_variant_index(variants: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """The variants table keyed by ``variant_key`` (lower-cased id) in small row groups, with
    ``same_position`` (ids of the other variants at the same chrom:pos): a lookup by rsID (any case) reads
    one row group and answers every field of a variant, whatever the number of variants."""
    ids = variants["variant_id"].astype(str).to_numpy(object)
    chrom = variants["chrom"].astype(str).to_numpy(object)
    pos = variants["pos"].astype("int64").to_numpy()
    same: list[list[str]] = [[] for _ in range(len(ids))]
    site = pd.Series(np.arange(len(ids))).groupby([chrom, pos], sort=False).agg(list)
    for rows in site[site.map(len) > 1]:
        for i in rows:
            same[i] = [str(ids[j]) for j in rows if j != i]
    index = pd.DataFrame({"variant_key": pd.Series(ids).str.lower(), "variant_id": ids, "chrom": chrom, "pos": pos,
                          "ref": variants["ref"].astype(str).to_numpy(object),
                          "alt": variants["alt"].astype(str).to_numpy(object),
                          "af": pd.to_numeric(variants["af"], errors="coerce").to_numpy(np.float64),
                          "same_position": same})
    index = index.sort_values(["variant_key", "variant_id"], kind="stable").reset_index(drop=True)
    table = pa.Table.from_pandas(index, schema=VARIANT_INDEX_SCHEMA, preserve_index=False)
    return write_keyed_batches(table, "variant_key", path, batch_rows=VARIANT_INDEX_BATCH)


def sort_by(df: pd.DataFrame, columns: list[str], chrom: str | None = "chrom") -> pd.DataFrame:
    """``df`` sorted by ``columns``, with ``chrom`` (if named) compared in natural chromosome order."""
    if df.empty:
        return df.reset_index(drop=True)
    keys = df[[c for c in columns if c != chrom]].copy()
    order = list(keys.columns)
    if chrom is not None and chrom in columns:
        keys.insert(0, "__crank", chrom_rank(df[chrom]).to_numpy())
        order = ["__crank" if c == chrom else c for c in columns]
    idx = keys.sort_values(order, kind="stable", na_position="last").index
    return df.loc[idx].reset_index(drop=True)


def read_result_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A tensorQTL result table: Parquet, or tab-separated text (plain or gzipped)."""
    path = os.fspath(path)
    if path.endswith(".parquet"):
        return pd.read_parquet(path)
    return pd.read_csv(path, sep="\t", na_values=["NA", "NaN", "nan", ""], keep_default_na=False)


def iter_result_batches(path: str | os.PathLike[str], batch_size: int = _BATCH) -> Iterator[pd.DataFrame]:
    """A result table in batches of at most ``batch_size`` rows (Parquet or text), for streaming."""
    path = os.fspath(path)
    if path.endswith(".parquet"):
        pf = pq.ParquetFile(path)
        for batch in pf.iter_batches(batch_size=batch_size):
            yield batch.to_pandas()
    else:
        yield from pd.read_csv(path, sep="\t", na_values=["NA", "NaN", "nan", ""], keep_default_na=False,
                               chunksize=batch_size)


# ------------------------------------------------------------------------------------------------
# Annotation tables
# ------------------------------------------------------------------------------------------------


def genes_table(genes: pd.DataFrame) -> pd.DataFrame:
    """``gene_id, gene_name, gene_type, chrom, start, end, strand, tss`` sorted by chrom, tss."""
    cols = ["gene_id", "gene_name", "gene_type", "chrom", "start", "end", "strand", "tss"]
    return sort_by(genes[cols], ["chrom", "tss", "gene_id"])


def transcripts_table(transcripts: pd.DataFrame) -> pd.DataFrame:
    return sort_by(transcripts, ["gene_id", "start", "transcript_id"], chrom=None)


def exons_table(exons: pd.DataFrame) -> pd.DataFrame:
    return sort_by(exons, ["gene_id", "transcript_id", "start"], chrom=None)


# ------------------------------------------------------------------------------------------------
# Lookups shared by the QTL tables
# ------------------------------------------------------------------------------------------------


class GeneResolver:
    """Phenotype id -> gene id, by the groups rule: a modality's group file when given, else
    :func:`qtlatlas.io.groups.gene_of`. Cross-modality ids ``modality:phenotype_id`` resolve through
    ``phenotype_id`` (and that modality's groups)."""

    def __init__(self, groups: dict[str, pd.Series] | None = None, modality: str | None = None):
        self.groups = groups or {}
        self.modality = modality

    def genes(self, phenotype_ids: pd.Series) -> pd.Series:
        ids = pd.Series(phenotype_ids, dtype=object).reset_index(drop=True)
        if self.modality == CROSS_MODALITY:
            split = ids.str.split(":", n=1)
            mods = split.str[0]
            pids = split.str[1].fillna(ids)
            out = genes_of(pids)
            for mod, groups in self.groups.items():
                sel = (mods == mod).to_numpy()
                if sel.any():
                    out[sel] = pids[sel].map(groups).fillna(out[sel])
            return out
        out = genes_of(ids)
        groups = self.groups.get(self.modality or "")
        if groups is not None:
            out = ids.map(groups).fillna(out)
        return out


class GeneIndex:
    """Gene coordinates by gene id (chrom, tss, strand), with phenotype-BED positions as a fallback for
    genes absent from the annotation (strand then taken as ``+``)."""

    def __init__(self, genes: pd.DataFrame):
        g = genes.drop_duplicates("gene_id").set_index("gene_id")
        self.chrom = g["chrom"].astype(object)
        self.tss = g["tss"].astype(np.int64)
        self.strand = g["strand"].astype(object)

    def lookup(self, gene_ids: pd.Series, fallback: pd.DataFrame | None = None,
               phenotype_ids: pd.Series | None = None) -> pd.DataFrame:
        """``chrom, tss, strand`` per gene id; ``fallback`` (indexed by phenotype id, columns chrom, tss)
        fills genes not in the annotation."""
        gene_ids = pd.Series(gene_ids, dtype=object).reset_index(drop=True)
        out = pd.DataFrame({
            "chrom": gene_ids.map(self.chrom),
            "tss": gene_ids.map(self.tss).astype("Float64"),
            "strand": gene_ids.map(self.strand),
        })
        missing = out["chrom"].isna()
        if missing.any() and fallback is not None and phenotype_ids is not None:
            pids = pd.Series(phenotype_ids, dtype=object).reset_index(drop=True)
            out.loc[missing, "chrom"] = pids[missing].map(fallback["chrom"])
            out.loc[missing, "tss"] = pids[missing].map(fallback["tss"]).astype("Float64")
            out.loc[missing, "strand"] = "+"
        out["tss"] = out["tss"].astype("Int64")
        return out


class VariantIndex:
    """The release genotypes' variant table (``chrom, pos, ref, alt`` by variant id), plus a record of
    which variants appear in QTL tables (:meth:`mark`) and their allele frequency (first seen)."""

    def __init__(self, variants: pd.DataFrame):
        v = variants.drop_duplicates("id").reset_index(drop=True)
        self.table = v
        self.index = pd.Index(v["id"].astype(object))
        self.used = np.zeros(len(v), dtype=bool)
        self.af = np.full(len(v), np.nan)

    def rows(self, variant_ids: pd.Series) -> np.ndarray:
        return self.index.get_indexer(pd.Series(variant_ids, dtype=object))

    def lookup(self, variant_ids: pd.Series) -> pd.DataFrame:
        """``chrom, pos, ref, alt`` per variant id (missing values for unknown ids)."""
        rows = self.rows(variant_ids)
        known = rows >= 0
        safe = np.where(known, rows, 0)
        t = self.table
        out = pd.DataFrame({
            "chrom": np.where(known, t["chrom"].to_numpy(object)[safe], None),
            "pos": pd.array(np.where(known, t["pos"].to_numpy(np.int64)[safe], 0), dtype="Int64"),
            "ref": np.where(known, t["ref"].to_numpy(object)[safe], None),
            "alt": np.where(known, t["alt"].to_numpy(object)[safe], None),
        })
        out.loc[~known, "pos"] = pd.NA
        return out

    def mark(self, variant_ids: pd.Series, af: pd.Series | None = None) -> None:
        rows = self.rows(variant_ids)
        keep = rows >= 0
        rows = rows[keep]
        self.used[rows] = True
        if af is not None:
            values = pd.to_numeric(pd.Series(af), errors="coerce").to_numpy(np.float64)[keep]
            fresh = np.isnan(self.af[rows]) & ~np.isnan(values)
            self.af[rows[fresh]] = values[fresh]

    def used_table(self) -> pd.DataFrame:
        """``variant_id, chrom, pos, ref, alt, af`` of the marked variants, sorted by chrom, pos."""
        t = self.table[self.used]
        df = pd.DataFrame({"variant_id": t["id"].to_numpy(object), "chrom": t["chrom"].to_numpy(object),
                           "pos": t["pos"].to_numpy(np.int64), "ref": t["ref"].to_numpy(object),
                           "alt": t["alt"].to_numpy(object), "af": self.af[self.used]})
        return sort_by(df, ["chrom", "pos", "variant_id"])


def _tss_distance(pos: pd.Series, tss: pd.Series, strand: pd.Series) -> pd.Series:
    """Strand-aware distance: ``pos - tss`` on ``+`` (and unknown) strands, ``tss - pos`` on ``-``."""
    d = pos.astype("Int64") - tss.astype("Int64")
    minus = (strand == "-").fillna(False).to_numpy(bool)
    d[minus] = -d[minus]
    return d


def annotate_pairs(df: pd.DataFrame, gene_ids: pd.Series, genes: GeneIndex, variants: VariantIndex,
                   fallback: pd.DataFrame | None = None) -> pd.DataFrame:
    """Columns to add to variant–phenotype rows: ``gene_id, chrom, pos, ref, alt, tss_distance`` and the
    sort helpers ``_tss`` (gene TSS) and ``_gchrom`` (gene chromosome; the variant's when unknown)."""
    gene_ids = pd.Series(gene_ids, dtype=object).reset_index(drop=True)
    g = genes.lookup(gene_ids, fallback, df["phenotype_id"])
    v = variants.lookup(df["variant_id"])
    out = pd.DataFrame({"gene_id": gene_ids, "chrom": v["chrom"].fillna(g["chrom"]), "pos": v["pos"],
                        "ref": v["ref"], "alt": v["alt"]})
    out["tss_distance"] = _tss_distance(v["pos"], g["tss"], g["strand"])
    out["_tss"] = g["tss"]
    out["_gchrom"] = g["chrom"].fillna(out["chrom"])
    return out


# ------------------------------------------------------------------------------------------------
# Top and independent QTLs
# ------------------------------------------------------------------------------------------------


def qtl_key(df: pd.DataFrame, resolver: GeneResolver) -> pd.Series:
    """The key that ties rows of a cis table to its phenotype/group: ``group_id`` when present, else the
    phenotype id."""
    if "group_id" in df:
        return df["group_id"].astype(object).reset_index(drop=True)
    return df["phenotype_id"].astype(object).reset_index(drop=True)


def qtl_table(raw: pd.DataFrame, tissue: str, modality: str, resolver: GeneResolver, genes: GeneIndex,
              variants: VariantIndex, *, afc: pd.DataFrame | None = None, cis: pd.DataFrame | None = None,
              fallback: pd.DataFrame | None = None) -> pd.DataFrame:
    """Portal rows (:data:`QTL_COLUMNS` plus sort helpers) of a top (``cis``) or independent table.

    ``gene_id`` is the ``group_id`` column when present, else the gene of the phenotype id. Top rows get
    ``rank`` 1. For an independent table, ``cis`` (the top table) supplies ``qval`` and
    ``pval_nominal_threshold`` of its phenotype/group when the independent table lacks them. ``afc`` rows
    (phenotype_id, variant_id[, rank], log2_aFC, log2_aFC_lower, log2_aFC_upper) are joined on
    phenotype and variant (and rank when both have it).
    """
    raw = raw.reset_index(drop=True)
    n = len(raw)
    gene_ids = raw["group_id"].astype(object) if "group_id" in raw else resolver.genes(raw["phenotype_id"])
    ann = annotate_pairs(raw, gene_ids, genes, variants, fallback)
    out = pd.DataFrame({"tissue": [tissue] * n, "modality": [modality] * n,
                        "phenotype_id": raw["phenotype_id"].astype(object), "variant_id": raw["variant_id"].astype(object)})
    for c in ("gene_id", "chrom", "pos", "ref", "alt", "tss_distance", "_tss", "_gchrom"):
        out[c] = ann[c].to_numpy() if c not in ("pos", "tss_distance", "_tss") else ann[c].array
    for c in _QTL_FLOATS:
        out[c] = pd.to_numeric(raw[c], errors="coerce").astype(np.float64) if c in raw else np.nan
    out["rank"] = raw["rank"].astype(np.int64).to_numpy() if "rank" in raw else np.ones(n, dtype=np.int64)
    out["group_id"] = raw["group_id"].astype(object) if "group_id" in raw else None
    if cis is not None:
        key = qtl_key(raw, resolver)
        ckey = qtl_key(cis, resolver)
        for c in ("qval", "pval_nominal_threshold", "pval_beta"):
            if c in cis and (c not in raw or out[c].isna().all()):
                out[c] = key.map(pd.Series(cis[c].to_numpy(np.float64), index=ckey.to_numpy()).groupby(level=0).first()).astype(np.float64)
    if afc is not None and len(afc):
        on = ["phenotype_id", "variant_id"] + (["rank"] if "rank" in afc and "rank" in raw else [])
        a = afc.drop_duplicates(on)[on + ["log2_aFC", "log2_aFC_lower", "log2_aFC_upper"]]
        merged = out[on].merge(a, on=on, how="left")
        for c in ("log2_aFC", "log2_aFC_lower", "log2_aFC_upper"):
            out[c] = pd.to_numeric(merged[c], errors="coerce").to_numpy(np.float64)
    return out[QTL_COLUMNS + ["_tss", "_gchrom"]]


def sorted_qtls(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate per tissue × modality QTL rows and sort by gene chrom, gene tss, gene_id, tissue,
    modality, rank; the sort helpers are dropped."""
    frames = [f for f in frames if len(f)]
    if not frames:
        return _empty_qtls()
    df = pd.concat(frames, ignore_index=True)
    df = sort_by(df, ["_gchrom", "_tss", "gene_id", "tissue", "modality", "rank"], chrom="_gchrom")
    return df[QTL_COLUMNS]


def _empty_qtls() -> pd.DataFrame:
    df = pd.DataFrame({c: pd.Series(dtype=object) for c in QTL_COLUMNS})
    for c in _QTL_FLOATS:
        df[c] = df[c].astype(np.float64)
    for c in ("pos", "tss_distance"):
        df[c] = df[c].astype("Int64")
    df["rank"] = df["rank"].astype(np.int64)
    return df


def download_qtls(df: pd.DataFrame, raw: pd.DataFrame) -> pd.DataFrame:
    """The downloadable form of a QTL table: the input's tensorQTL columns, then the portal additions."""
    extra = [c for c in ("gene_id", "chrom", "pos", "ref", "alt", "tss_distance", "log2_aFC", "log2_aFC_lower",
                         "log2_aFC_upper") if c not in raw]
    out = raw.reset_index(drop=True).copy()
    for c in extra:
        out[c] = df[c].to_numpy() if c not in ("pos", "tss_distance") else df[c].array
    return out


# ------------------------------------------------------------------------------------------------
# Significant pairs (streamed)
# ------------------------------------------------------------------------------------------------


#: Sort keys (after the chromosome) of ``signif_pairs`` and of ``associations_by_position``.
BY_GENE_ORDER = ["_tss", "gene_id", "pos", "tissue", "modality", "phenotype_id", "variant_id"]
BY_POSITION_ORDER = ["pos", "gene_id", "tissue", "modality", "phenotype_id", "variant_id", "_source_rank"]
#: Compression of ``associations_by_gene``: it repeats every significant pair, and zstd keeps it ~30 % smaller
#: than lz4 for ~0.4 ms more per batch decoded (a gene page decodes one to three).
BY_GENE_COMPRESSION = "zstd"
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


class SignifPairsWriter:
    """Streams significant pairs into ``signif_pairs.parquet`` (sorted by gene) and, when ``by_position`` is
    given, ``associations_by_position.arrow`` (the same rows with the top and independent QTLs, sorted by
    variant position) and, when ``by_gene`` is given, ``associations_by_gene.arrow`` (the same rows in runs of
    one gene and source), with bounded memory.

    Phase 1 (:meth:`add`, one batch at a time): rows are annotated and appended to one spool Parquet file
    per variant chromosome in ``scratch`` (a cis pair's gene lies on the same chromosome). Phase 2
    (:meth:`finish`): each chromosome's spool is read, sorted by :data:`BY_GENE_ORDER` (and, with that
    chromosome's QTL rows, by :data:`BY_POSITION_ORDER` and by :data:`BY_GENE_RUN_ORDER`) and appended,
    chromosomes in natural order, to the final file(s). Peak memory is that of the largest chromosome's significant pairs, not of all pairs.
    """

    def __init__(self, path: str | os.PathLike[str], scratch: str | os.PathLike[str],
                 by_position: str | os.PathLike[str] | None = None, by_gene: str | os.PathLike[str] | None = None):
        self.path = Path(path)
        self.by_position = None if by_position is None else Path(by_position)
        self.by_gene = None if by_gene is None else Path(by_gene)
        self.scratch = Path(scratch)
        self.scratch.mkdir(parents=True, exist_ok=True)
        self._spools: dict[str, pq.ParquetWriter] = {}
        self._spool_paths: dict[str, Path] = {}
        self.n_rows = 0

    def add(self, rows: pd.DataFrame) -> None:
        """Append annotated rows (:data:`SIGNIF_COLUMNS` + ``_tss`` + ``_gchrom``)."""
        if rows.empty:
            return
        for chrom, part in rows.groupby("chrom", sort=False, dropna=False):
            key = "" if pd.isna(chrom) else str(chrom)
            writer = self._spools.get(key)
            if writer is None:
                p = self.scratch / f"spool.{len(self._spools)}.parquet"
                writer = pq.ParquetWriter(p, _SPOOL_SCHEMA, compression="lz4")
                self._spools[key], self._spool_paths[key] = writer, p
            table = pa.Table.from_pandas(part[SIGNIF_COLUMNS + ["_tss"]], schema=_SPOOL_SCHEMA, preserve_index=False)
            writer.write_table(table)
            self.n_rows += len(part)

    def finish(self, qtl_rows: dict[str, pd.DataFrame] | None = None) -> Path:
        """Write the final table(s). ``qtl_rows`` maps a source of :data:`ASSOCIATION_SOURCES` (``top``,
        ``independent``) to its QTL rows (:data:`QTL_COLUMNS`), merged into ``associations_by_position``."""
        for w in self._spools.values():
            w.close()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        qtls = _qtl_rows_by_chrom(qtl_rows or {})
        chroms = sorted(set(self._spool_paths) | set(qtls), key=lambda c: (c == "", chrom_sort_key(c) if c else (9, "")))
        by_pos = None if self.by_position is None else PositionBatchWriter(self.by_position, ASSOCIATION_SCHEMA)
        by_gene = None if self.by_gene is None else RunBatchWriter(self.by_gene, ASSOCIATION_SCHEMA, "gene_id", "source",
                                                                   compression=BY_GENE_COMPRESSION)
        try:
            with pq.ParquetWriter(self.path, SIGNIF_SCHEMA, compression="zstd") as out:
                for chrom in chroms:
                    spool = self._spool_paths.get(chrom)
                    df = pq.read_table(spool).to_pandas() if spool is not None else None
                    if df is not None and len(df):
                        df = df.sort_values(BY_GENE_ORDER, kind="stable", na_position="last")
                        out.write_table(pa.Table.from_pandas(df[SIGNIF_COLUMNS], schema=SIGNIF_SCHEMA,
                                                             preserve_index=False), row_group_size=ROW_GROUP_SIZE)
                    if by_pos is not None or by_gene is not None:
                        parts = [q for q in [qtls.get(chrom)] if q is not None]
                        if df is not None and len(df):
                            parts.append(df[SIGNIF_COLUMNS].assign(source="significant", _source_rank=2))
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
                    del df
                    if spool is not None:
                        spool.unlink()
        finally:
            for writer in (by_pos, by_gene):
                if writer is not None:
                    writer.close()
        return self.path


def _qtl_rows_by_chrom(qtl_rows: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """QTL rows per variant chromosome ("" when unknown), with ``source`` and ``_source_rank`` columns."""
    frames = []
    for source, df in qtl_rows.items():
        if df is not None and len(df):
            frames.append(df[QTL_COLUMNS].assign(source=source, _source_rank=ASSOCIATION_SOURCES.index(source)))
    if not frames:
        return {}
    rows = pd.concat(frames, ignore_index=True)
    key = rows["chrom"].astype(object).where(rows["chrom"].notna(), "").astype(str)
    return {str(c): part for c, part in rows.groupby(key, sort=False)}


def signif_rows(batch: pd.DataFrame, tissue: str, modality: str, resolver: GeneResolver, genes: GeneIndex,
                variants: VariantIndex, thresholds: pd.Series | None, by_group: bool,
                fallback: pd.DataFrame | None = None) -> pd.DataFrame:
    """Significant rows of one batch of nominal (or signif-pairs) rows, annotated for the portal.

    ``thresholds`` maps the phenotype id (or, when ``by_group``, the gene/group id) of each significant
    phenotype (qval ≤ FDR) to its ``pval_nominal_threshold``; rows are kept when
    ``pval_nominal < threshold``. With ``thresholds=None`` every row is kept (a signif-pairs input).
    """
    batch = batch.reset_index(drop=True)
    gene_ids = resolver.genes(batch["phenotype_id"])
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


# ------------------------------------------------------------------------------------------------
# Per-sample tables
# ------------------------------------------------------------------------------------------------


def values_table(phenotype_ids: list[str], values: np.ndarray, samples: list[str]) -> pa.Table:
    """``phenotype_id`` + one float32 column per sample, sorted by phenotype id."""
    order = np.argsort(np.asarray(phenotype_ids, dtype=object), kind="stable")
    arrays = [pa.array(np.asarray(phenotype_ids, dtype=object)[order], pa.string())]
    vals = np.asarray(values, dtype=np.float32)[order]
    arrays += [pa.array(vals[:, j]) for j in range(vals.shape[1])]
    return pa.Table.from_arrays(arrays, names=["phenotype_id", *samples])


#: Columns of ``expression_index``: a phenotype (gene) id and its values in the sample order of its tissue.
EXPRESSION_INDEX_SCHEMA = pa.schema([("phenotype_id", pa.string()), ("tpm", pa.list_(pa.float32()))])
#: Rows per batch of ``expression_index``: a gene look-up decodes one short batch per tissue.
EXPRESSION_INDEX_BATCH = 256
#: Sidecar metadata key of ``expression_index``: JSON ``{tissue: [sample ids in value order]}``.
EXPRESSION_SAMPLES_KEY = b"qtlatlas.samples"


class ExpressionIndexWriter:
    """Writes ``expression_index``: every tissue's expression table (:func:`values_table`) as rows
    ``phenotype_id, tpm`` (a list in the table's sample order), one part per tissue
    (:class:`qtlatlas.release.batched.KeyedBatchWriter`), so that the expression of a gene in every tissue
    is a handful of small batches to decode instead of one scan of a wide table per tissue."""

    def __init__(self, path: str | os.PathLike[str]):
        self._writer = KeyedBatchWriter(path, EXPRESSION_INDEX_SCHEMA, "phenotype_id", EXPRESSION_INDEX_BATCH)
        self._samples: dict[str, list[str]] = {}

    def add(self, tissue: str, table: pa.Table) -> None:
        """Append one tissue's table (``phenotype_id`` + one float32 column per sample, sorted by id)."""
        if tissue in self._samples:
            raise ValueError(f"expression of tissue {tissue!r} added twice")
        samples = table.column_names[1:]
        n = table.num_rows
        values = (np.column_stack([table.column(c).to_numpy(zero_copy_only=False) for c in samples])
                  if samples else np.zeros((n, 0))).astype(np.float32, copy=False)
        offsets = pa.array(np.arange(n + 1, dtype=np.int32) * len(samples))
        lists = pa.ListArray.from_arrays(offsets, pa.array(values.ravel(), pa.float32()))
        self._writer.write(pa.table({"phenotype_id": table.column("phenotype_id"), "tpm": lists},
                                    schema=EXPRESSION_INDEX_SCHEMA), part=tissue)
        self._samples[tissue] = [str(c) for c in samples]

    def close(self) -> Path:
        return self._writer.close({EXPRESSION_SAMPLES_KEY: json.dumps(self._samples).encode()})


def genotypes_table(variant_ids: np.ndarray, dosages: np.ndarray, samples: list[str]) -> pa.Table:
    """``variant_id`` + one int8 column per sample (−9 missing), sorted by variant id."""
    order = np.argsort(np.asarray(variant_ids, dtype=object), kind="stable")
    d = np.asarray(dosages, dtype=np.int8)[order]
    arrays = [pa.array(np.asarray(variant_ids, dtype=object)[order], pa.string())]
    arrays += [pa.array(d[:, j]) for j in range(d.shape[1])]
    return pa.Table.from_arrays(arrays, names=["variant_id", *samples])
