"""SuSiE fine-mapping in a release: the ``credible_sets`` and ``lbf_variable`` query tables and their downloads.

Inputs, per tissue × modality whose results have them (:class:`~qtlatlas.results.ResultFiles`
``susie_credible_sets`` and ``susie_pip``, written by the pipeline's ``finemap`` task,
:mod:`qtlatlas.mapping.susie`). Gene ids are resolved as in the other tables (the modality's groups, else the
phenotype id), positions and alleles are the release variants'.

Query tables (every tissue × modality in one table each):

* ``tables/credible_sets.parquet``: one row per member of a credible set, columns :data:`CREDIBLE_SETS_COLUMNS`,
  sorted by chromosome (natural order), pos, tissue, modality, phenotype_id, cs_index, variant_id: a region, a
  variant or a gene's cis window is a range of row groups found by position;
* ``tables/lbf_variable.parquet``: one row per phenotype × variant fitted, ``tissue, modality, phenotype_id,
  gene_id, variant_id, chrom, pos, pip, lbf_variable1 … lbf_variableL``; runs of one tissue × modality (release
  order), within a run by chromosome, first position of the phenotype's fitted variants, phenotype_id, pos: a
  phenotype's rows are contiguous and a gene's lie in the few row groups of its position.

Downloads, per tissue × modality (the eQTL Catalogue's SuSiE columns, ``phenotype_id`` for their
``molecular_trait_id``; the chromosome as the release spells it):

* ``credible_sets.{tissue}.{modality}.{release}_{genome}.tsv.gz``: :data:`CREDIBLE_SETS_DOWNLOAD_COLUMNS`,
  sorted by chromosome, position, phenotype, credible set;
* ``lbf_variable.{tissue}.{modality}.{release}_{genome}.tsv.gz``: ``phenotype_id, region, variant, chromosome,
  position, lbf_variable1 … lbf_variableL``, in the order of the query table.

``region`` is ``chrom:first-last``, the positions of the first and last variant fitted for the phenotype.
Units: ``pip`` a probability; ``lbf_variable*`` natural-log Bayes factors of each single effect (missing for an
effect a window of fewer than L variants lacks); ``cs_log10bf`` the log10 Bayes factor of the set's effect;
``posterior_mean``/``posterior_sd`` normalised phenotype units per ALT allele; ``z`` the marginal t statistic.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..io.text import gzip_text_writer, write_tsv_gz
from ..results import ResultFiles
from . import layout
from .scratch_sql import RowGroupWriter, copy_to_parquet, parquet, query_table, stream
from .tables import GeneResolver, sort_by, write_table
from .variant_store import VariantStore

#: Columns of ``tables/credible_sets.parquet``, in order.
CREDIBLE_SETS_COLUMNS = ["tissue", "modality", "phenotype_id", "gene_id", "gene_name", "variant_id", "chrom", "pos",
                         "ref", "alt", "cs_id", "cs_index", "cs_size", "pip", "cs_log10bf", "cs_min_r2", "cs_avg_r2",
                         "posterior_mean", "posterior_sd", "z"]
#: Columns of the credible-set downloads, in order.
CREDIBLE_SETS_DOWNLOAD_COLUMNS = ["phenotype_id", "gene_id", "variant", "chromosome", "position", "ref", "alt", "cs_id",
                                  "cs_index", "region", "pip", "z", "cs_min_r2", "cs_avg_r2", "cs_size",
                                  "posterior_mean", "posterior_sd", "cs_log10bf"]
_TEXT = {"tissue", "modality", "phenotype_id", "gene_id", "gene_name", "variant_id", "chrom", "ref", "alt", "cs_id",
         "cs_index"}
CREDIBLE_SETS_SCHEMA = pa.schema([(c, pa.large_string() if c in _TEXT else pa.int64() if c in ("pos", "cs_size")
                                   else pa.float64()) for c in CREDIBLE_SETS_COLUMNS])
#: Rows per row group of the query tables (a gene's window is one or two row groups of credible sets).
CREDIBLE_SETS_ROW_GROUP = 16_384
LBF_ROW_GROUP = 65_536


def lbf_schema(L: int) -> pa.Schema:
    """Arrow schema of ``tables/lbf_variable.parquet`` with ``L`` single effects."""
    text = [(c, pa.large_string()) for c in ("tissue", "modality", "phenotype_id", "gene_id", "variant_id", "chrom")]
    return pa.schema([*text, ("pos", pa.int64()), ("pip", pa.float64())]
                     + [(f"lbf_variable{k}", pa.float64()) for k in range(1, L + 1)])


def _effects(path: Path) -> int:
    """L of a ``susie_pip.parquet`` (its ``lbf_<k>`` columns)."""
    return sum(1 for name in pq.read_schema(path).names if name.startswith("lbf_"))


class FinemappingTables:
    """Collects the fine-mapping of each tissue × modality (:meth:`add`, downloads written at once) and writes
    the two query tables at the end (:meth:`finish`).

    Args:
        variants: the build's variant store (positions, alleles, and its scratch DuckDB connection).
        gene_names: ``gene_id, gene_name`` of the annotation.
        table, download: the builder's manifest notes: ``table(rel, description) -> path`` and
            ``download(kind, description, tissue=, modality=) -> path``.
    """

    def __init__(self, variants: VariantStore, gene_names: pd.DataFrame, table: Callable[[str, str], Path],
                 download: Callable[..., Path]):
        self.variants = variants
        self.names = gene_names.drop_duplicates("gene_id").set_index("gene_id")["gene_name"]
        self._table, self._download = table, download
        self.credible: list[pd.DataFrame] = []
        self.parts: list[tuple[str, str, Path, int]] = []  # tissue, modality, sorted lbf rows, L
        self.counts: list[dict] = []

    # -- per tissue × modality ----------------------------------------------------------------------

    def add(self, tissue: str, modality: str, rf: ResultFiles, resolver: GeneResolver) -> None:
        """Publish the fine-mapping of one tissue × modality (nothing when its results have none)."""
        if rf.susie_credible_sets is None or rf.susie_pip is None:
            return
        label = f"{tissue} {modality}"
        L = _effects(rf.susie_pip)
        spans = self._spans(rf.susie_pip, resolver)
        part = self.variants.scratch / f"finemap.{len(self.parts)}.parquet"
        lbf_download = self._download("lbf_variable", f"SuSiE log Bayes factors (natural log) of each single effect "
                                      f"for every variant fine-mapped, {label}", tissue=tissue, modality=modality)
        self._lbf_rows(rf.susie_pip, spans, L, part, lbf_download)
        self.parts.append((tissue, modality, part, L))
        members = self._credible_set_rows(tissue, modality, pd.read_parquet(rf.susie_credible_sets), resolver)
        self.credible.append(members)
        region = spans.set_index("phenotype_id")["region"]
        write_tsv_gz(_credible_set_download(members, region), self._download(
            "credible_sets", f"SuSiE credible sets of {label}, one row per member", tissue=tissue, modality=modality))
        self.counts.append({"tissue": tissue, "modality": modality, "n_phenotypes": int(len(spans)),
                            "n_phenotypes_with_sets": int(members["phenotype_id"].nunique()),
                            "n_credible_sets": int(members["cs_id"].nunique()), "n_variants_in_sets": int(len(members))})

    def _spans(self, pip: Path, resolver: GeneResolver) -> pd.DataFrame:
        """Per phenotype fitted: ``phenotype_id, gene_id, chrom_rank, start, end, region`` (first and last
        position of its variants)."""
        found = query_table(self.variants.con, f"""
            SELECT p.phenotype_id, min(v.chrom_rank) AS chrom_rank, min(v.chrom) AS chrom, min(v.pos) AS start,
                   max(v.pos) AS "end"
            FROM {parquet(pip)} p LEFT JOIN {parquet(self.variants.path)} v USING (variant_id)
            GROUP BY p.phenotype_id""").to_pandas()
        found["gene_id"] = resolver.genes(found["phenotype_id"]).to_numpy()
        known = found["start"].notna()
        found["region"] = None
        found.loc[known, "region"] = (found.loc[known, "chrom"].astype(str) + ":"
                                      + found.loc[known, "start"].astype(np.int64).astype(str) + "-"
                                      + found.loc[known, "end"].astype(np.int64).astype(str))
        return found

    def _lbf_rows(self, pip: Path, spans: pd.DataFrame, L: int, part: Path, download: Path) -> None:
        """Write the phenotype × variant rows sorted (``part``, for the query table) and the download."""
        con = self.variants.con
        lbf = ", ".join(f"p.lbf_{k} AS lbf_variable{k}" for k in range(1, L + 1))
        keys = pa.Table.from_pandas(spans[["phenotype_id", "gene_id", "chrom_rank", "start", "region"]].astype(
            {"phenotype_id": object, "gene_id": object, "region": object}), preserve_index=False)
        con.register("_finemap_spans", keys)
        joined = part.with_suffix(".joined.parquet")
        try:
            copy_to_parquet(con, f"""
                SELECT p.phenotype_id, s.gene_id, p.variant_id, v.chrom, v.pos, p.pip, {lbf}, s.region,
                       s.chrom_rank AS _rank, s.start AS _start
                FROM {parquet(pip)} p LEFT JOIN {parquet(self.variants.path)} v USING (variant_id)
                JOIN _finemap_spans s USING (phenotype_id)""", joined)
        finally:
            con.unregister("_finemap_spans")
        effects = [f"lbf_variable{k}" for k in range(1, L + 1)]
        names = ["phenotype_id", "gene_id", "variant_id", "chrom", "pos", "pip", *effects]
        renamed = {"variant_id": "variant", "chrom": "chromosome", "pos": "position"}
        tmp = download.with_name(download.name + ".part")
        writer = pq.ParquetWriter(part, lbf_schema(L).remove(0).remove(0), compression="lz4")
        header = True
        with gzip_text_writer(tmp) as fh:
            for batch in stream(con, f"SELECT * FROM {parquet(joined)} ORDER BY _rank NULLS LAST, _start NULLS LAST, "
                                     "phenotype_id, pos NULLS LAST, variant_id"):
                rows = pa.Table.from_batches([batch])
                writer.write_table(rows.select(names).cast(writer.schema))
                text = rows.select(["phenotype_id", "region", "variant_id", "chrom", "pos", *effects]).to_pandas()
                text["pos"] = text["pos"].astype("Int64")  # integers, also beside a missing position
                text.rename(columns=renamed).to_csv(fh, sep="\t", index=False, header=header, float_format="%.6g",
                                                    na_rep="NA", lineterminator="\n")
                header = False
            if header:  # no row: the header alone
                fh.write("\t".join(["phenotype_id", "region", "variant", "chromosome", "position", *effects]) + "\n")
        writer.close()
        tmp.replace(download)
        joined.unlink()

    def _credible_set_rows(self, tissue: str, modality: str, raw: pd.DataFrame, resolver: GeneResolver
                           ) -> pd.DataFrame:
        """The query-table rows (:data:`CREDIBLE_SETS_COLUMNS`) of one tissue × modality's credible sets."""
        raw = raw.reset_index(drop=True)
        n = len(raw)
        genes = resolver.genes(raw["phenotype_id"]) if n else pd.Series([], dtype=object)
        v = self.variants.lookup(raw["variant_id"])
        out = pd.DataFrame({"tissue": [tissue] * n, "modality": [modality] * n,
                            "phenotype_id": raw["phenotype_id"].astype(object).to_numpy(),
                            "gene_id": genes.to_numpy(dtype=object),
                            "gene_name": genes.map(self.names).to_numpy(dtype=object),
                            "variant_id": raw["variant_id"].astype(object).to_numpy(),
                            "chrom": v["chrom"].to_numpy(dtype=object), "pos": v["pos"].array,
                            "ref": v["ref"].to_numpy(dtype=object), "alt": v["alt"].to_numpy(dtype=object)})
        for c in CREDIBLE_SETS_COLUMNS[10:]:
            out[c] = raw[c].to_numpy() if c in ("cs_id", "cs_index") else raw[c].to_numpy(
                np.int64 if c == "cs_size" else np.float64)
        return out.astype({c: object for c in ("cs_id", "cs_index")})

    # -- the query tables ---------------------------------------------------------------------------

    def finish(self) -> list[dict]:
        """Write ``tables/credible_sets.parquet`` and ``tables/lbf_variable.parquet`` (nothing when no tissue ×
        modality was fine-mapped); returns the counts per tissue × modality (for release.json)."""
        if not self.parts:
            return []
        members = (pd.concat(self.credible, ignore_index=True) if self.credible else
                   pd.DataFrame({c: [] for c in CREDIBLE_SETS_COLUMNS}))
        members = sort_by(members, ["chrom", "pos", "tissue", "modality", "phenotype_id", "cs_index", "variant_id"])
        write_table(pa.Table.from_pandas(members, schema=CREDIBLE_SETS_SCHEMA, preserve_index=False),
                    self._table(layout.table_path("credible_sets"), "SuSiE credible sets of every tissue × modality, "
                                "one row per member, sorted by variant position"),
                    row_group_size=CREDIBLE_SETS_ROW_GROUP)
        self.credible = []
        L = max(effects for *_, effects in self.parts)
        schema = lbf_schema(L)
        writer = RowGroupWriter(self._table(layout.table_path("lbf_variable"), "SuSiE PIP and log Bayes factors of "
                                            "each single effect for every variant fine-mapped, every tissue × "
                                            "modality"), schema, LBF_ROW_GROUP)
        for tissue, modality, part, _ in self.parts:
            for batch in pq.ParquetFile(part).iter_batches(batch_size=LBF_ROW_GROUP):
                n = batch.num_rows
                columns = {"tissue": pa.array([tissue] * n, pa.large_string()),
                           "modality": pa.array([modality] * n, pa.large_string())}
                for field in schema:
                    if field.name not in columns:
                        columns[field.name] = (batch.column(field.name) if field.name in batch.schema.names
                                               else pa.nulls(n, field.type))
                writer.write(pa.table(columns))
            writer.flush()  # a tissue × modality's rows start a row group
            part.unlink()
        writer.close()
        return self.counts


def _credible_set_download(members: pd.DataFrame, region: pd.Series) -> pd.DataFrame:
    """The download rows (:data:`CREDIBLE_SETS_DOWNLOAD_COLUMNS`) of one tissue × modality's credible sets."""
    rows = sort_by(members, ["chrom", "pos", "phenotype_id", "cs_index", "variant_id"])
    out = rows.rename(columns={"variant_id": "variant", "chrom": "chromosome", "pos": "position"})
    out["region"] = rows["phenotype_id"].map(region).to_numpy(dtype=object)
    return out[CREDIBLE_SETS_DOWNLOAD_COLUMNS]
