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

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..io.chromosomes import chrom_sort_key
from ..io.groups import genes_of
from ..results import CROSS_MODALITY
from .batched import write_keyed_batches

if TYPE_CHECKING:
    from .variant_store import VariantStore

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


#: Rows per batch of the look-up files keyed by gene (status, transcripts, exons): a gene's rows are a few, and a
#: batch is decoded whole.
GENE_INDEX_BATCH = 1024


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
    return write_keyed_batches(table, "gene_id", path, batch_rows=GENE_INDEX_BATCH)


#: Order of a gene's rows in the annotation look-up files (after ``gene_id``): that of a gene page.
GENE_MODEL_ORDER = {"transcripts": ["start", "transcript_id"], "exons": ["start", "transcript_id"]}


def write_gene_model_index(table: pd.DataFrame | pa.Table, kind: str, path: str | os.PathLike[str]) -> Path:
    """The ``transcripts`` or ``exons`` table (``kind``) as a look-up file keyed by gene id, each gene's rows
    in :data:`GENE_MODEL_ORDER`: a gene's structure is one small batch to decode."""
    t = table if isinstance(table, pa.Table) else pa.Table.from_pandas(table, preserve_index=False)
    t = t.replace_schema_metadata(None)
    t = t.sort_by([(c, "ascending") for c in ["gene_id", *GENE_MODEL_ORDER[kind]]])
    return write_keyed_batches(t, "gene_id", path, batch_rows=GENE_INDEX_BATCH)


def write_variant_index(variants: pd.DataFrame | pa.Table, path: str | os.PathLike[str]) -> Path:
    """The variants table (``variant_id, chrom, pos, ref, alt, af``) keyed by ``variant_key`` (lower-cased id)
    in small batches, with ``same_position`` (ids of the other variants at the same chrom:pos): a look-up by id
    (any case) decodes one batch and answers every field of a variant, whatever the number of variants.
    Built in Arrow (a few bytes per variant beyond the ids themselves)."""
    t = variants if isinstance(variants, pa.Table) else pa.Table.from_pandas(
        variants[["variant_id", "chrom", "pos", "ref", "alt", "af"]], preserve_index=False)
    ids = t.column("variant_id").cast(pa.string()).combine_chunks()
    chrom = t.column("chrom").cast(pa.string()).combine_chunks()
    pos = t.column("pos").cast(pa.int64()).to_numpy()
    # same_position: only the few positions holding several variants are grouped
    codes = pc.dictionary_encode(chrom).indices.to_numpy(zero_copy_only=False).astype(np.int64)
    site = pd.DataFrame({"c": codes, "p": pos})
    dup = site.duplicated(keep=False).to_numpy()
    lengths = np.zeros(len(pos), dtype=np.int32)
    others: dict[int, list[str]] = {}
    if dup.any():
        rows = np.flatnonzero(dup)
        id_list = ids.take(pa.array(rows)).to_pylist()
        groups = pd.Series(np.arange(len(rows))).groupby([codes[rows], pos[rows]], sort=False).agg(list)
        for members in groups:
            for i in members:
                others[int(rows[i])] = [id_list[j] for j in members if j != i]
                lengths[rows[i]] = len(members) - 1
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    values = [v for i in sorted(others) for v in others[i]]
    same = pa.ListArray.from_arrays(pa.array(offsets), pa.array(values, pa.string()))
    key = pc.utf8_lower(ids)
    index = pa.table({"variant_key": key, "variant_id": ids, "chrom": chrom, "pos": pa.array(pos),
                      "ref": t.column("ref").cast(pa.string()), "alt": t.column("alt").cast(pa.string()),
                      "af": t.column("af").cast(pa.float64()), "same_position": same}, schema=VARIANT_INDEX_SCHEMA)
    index = index.take(pc.sort_indices(index, sort_keys=[("variant_key", "ascending"), ("variant_id", "ascending")]))
    return write_keyed_batches(index, "variant_key", path, batch_rows=VARIANT_INDEX_BATCH)


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
    """``gene_id, gene_name, gene_type, chrom, start, end, strand, tss, description`` sorted by chrom, tss."""
    cols = ["gene_id", "gene_name", "gene_type", "chrom", "start", "end", "strand", "tss", "description"]
    genes = genes if "description" in genes else genes.assign(description="")
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
        self.name = g["gene_name"].astype(object) if "gene_name" in g else pd.Series(dtype=object)

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


def _tss_distance(pos: pd.Series, tss: pd.Series, strand: pd.Series) -> pd.Series:
    """Strand-aware distance: ``pos - tss`` on ``+`` (and unknown) strands, ``tss - pos`` on ``-``."""
    d = pos.astype("Int64") - tss.astype("Int64")
    minus = (strand == "-").fillna(False).to_numpy(bool)
    d[minus] = -d[minus]
    return d


def annotate_pairs(df: pd.DataFrame, gene_ids: pd.Series, genes: GeneIndex, variants: VariantStore,
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


def explicit_genes(df: pd.DataFrame, resolver: GeneResolver) -> pd.Series:
    """The gene of each row: its ``group_id`` (grouped tables), else its ``gene_id`` (tables that name it), else
    the gene of its phenotype id by ``resolver``."""
    for column in ("group_id", "gene_id"):
        if column in df:
            named = df[column].astype(object).reset_index(drop=True)
            if named.notna().all():
                return named
            return named.fillna(resolver.genes(df["phenotype_id"]))
    return resolver.genes(df["phenotype_id"])


def qtl_key(df: pd.DataFrame, resolver: GeneResolver) -> pd.Series:
    """The key that ties rows of a cis table to its phenotype/group: ``group_id`` when present, else the
    phenotype id."""
    if "group_id" in df:
        return df["group_id"].astype(object).reset_index(drop=True)
    return df["phenotype_id"].astype(object).reset_index(drop=True)


def qtl_table(raw: pd.DataFrame, tissue: str, modality: str, resolver: GeneResolver, genes: GeneIndex,
              variants: VariantStore, *, afc: pd.DataFrame | None = None, cis: pd.DataFrame | None = None,
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
    gene_ids = explicit_genes(raw, resolver)
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


def download_qtls(df: pd.DataFrame, raw: pd.DataFrame, gene_names: pd.Series | None = None) -> pd.DataFrame:
    """The downloadable form of a QTL table: the input's tensorQTL columns (unchanged, in their order, so tools
    that read tensorQTL's output read these), then the portal additions: gene id and symbol (``gene_names``:
    symbol by gene id; empty where a gene has none), position, alleles, TSS distance and aFC."""
    extra = [c for c in ("gene_id", "gene_name", "chrom", "pos", "ref", "alt", "tss_distance", "log2_aFC",
                         "log2_aFC_lower", "log2_aFC_upper") if c not in raw]
    out = raw.reset_index(drop=True).copy()
    for c in extra:
        if c == "gene_name":
            if gene_names is not None:
                out[c] = pd.Series(df["gene_id"].to_numpy(), dtype=object).map(gene_names).to_numpy()
        else:
            out[c] = df[c].to_numpy() if c not in ("pos", "tss_distance") else df[c].array
    return out
