"""Result tables as a release build reads them, whatever layout they were published in.

The build works on tensorQTL's column names (``phenotype_id, variant_id, pval_nominal, slope, …``). The
layouts that labs publish are brought to them here, column by column, without rewriting the files:

* tensorQTL / qtlatlas: taken as they are;
* GTEx (``egenes``, ``signif_variant_gene_pairs``, ``allpairs``): genes named ``gene_id`` are the phenotypes;
* RatGTEx multi-tissue tables (``top_assoc``, ``eqtls_indep``, ``xqtls_indep.{modality}``): a ``tissue``
  column selects the rows of one tissue (:class:`SharedTables` reads each file once); ``gene_id`` is the
  phenotype of gene-level tables and the group of grouped ones; cross-modality rows name their modality in a
  ``modality`` column and become ``modality:phenotype_id``, the id the pipeline's cross-modality mapping uses;
* RatGTEx per-gene ZIP archives (``all_gene_esnps``: ``variantId, pValue, nes, chromosome, pos,
  tissueSiteDetailId``; ``cis_pvals/{T}``: ``variant_id, pval_nominal``), streamed member by member, the
  member's gene being the phenotype.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pandas as pd

from ..errors import InputFileError
from ..io.ratgtex import is_gene_zip, iter_gene_zip
from ..results import CROSS_MODALITY, ResultFiles
from .tables import iter_result_batches, read_result_table

#: Column aliases of published layouts -> tensorQTL's names (applied when the tensorQTL name is absent).
ALIASES = {
    "variantId": "variant_id", "pValue": "pval_nominal", "nes": "slope", "tissueSiteDetailId": "tissue",
    "phenotypeId": "phenotype_id", "geneId": "gene_id",
}


def normalise(df: pd.DataFrame, modality: str, grouped: bool, *, tissue_column: str | None = None) -> pd.DataFrame:
    """``df`` with tensorQTL's column names (see the module docstring); the tissue column is dropped when
    ``tissue_column`` names it."""
    df = df.rename(columns={a: b for a, b in ALIASES.items() if a in df and b not in df})
    if tissue_column is not None and tissue_column in df:
        df = df.drop(columns=[tissue_column])
    if "gene" in df and "phenotype_id" not in df:  # a per-gene archive's member name
        df = df.rename(columns={"gene": "phenotype_id"})
    elif "gene" in df:
        df = df.drop(columns=["gene"])
    if "phenotype_id" not in df and "gene_id" in df:
        df = df.rename(columns={"gene_id": "phenotype_id"})
    elif "gene_id" in df and "group_id" not in df and (grouped or modality == CROSS_MODALITY):
        df = df.rename(columns={"gene_id": "group_id"})
    if modality == CROSS_MODALITY and "modality" in df:
        pid = df["phenotype_id"].astype(str)
        prefixed = pid.str.contains(":", regex=False)
        df = df.assign(phenotype_id=(df["modality"].astype(str) + ":" + pid).where(~prefixed, pid)).drop(
            columns=["modality"])
    return df


class SharedTables:
    """Multi-tissue result tables, each read once and split by tissue (tables of one or a few rows per gene and
    tissue: their size grows with the number of genes, not of pairs)."""

    def __init__(self):
        self._parts: dict[tuple[str, str], dict[str, pd.DataFrame]] = {}

    def rows(self, path: str | os.PathLike[str], tissue_column: str, tissue: str) -> pd.DataFrame:
        """The rows of ``tissue`` in the table at ``path`` (empty, with the table's columns, when it has none)."""
        key = (os.fspath(path), tissue_column)
        parts = self._parts.get(key)
        if parts is None:
            table = read_result_table(path)
            if tissue_column not in table:
                raise InputFileError(path, f"no {tissue_column!r} column: a table of every tissue needs one to "
                                     f"tell the tissues apart (columns: {', '.join(map(str, table.columns[:12]))})",
                                     line=1)
            names = table[tissue_column].astype(str)
            parts = {t: part.reset_index(drop=True) for t, part in table.groupby(names, sort=False)}
            parts[""] = table.iloc[:0]
            self._parts[key] = parts
        return parts.get(tissue, parts[""])


def read_result(rf: ResultFiles, key: str, shared: SharedTables, grouped: bool) -> pd.DataFrame | None:
    """The ``key`` table (``cis`` or ``independent``) of one tissue × modality in tensorQTL's columns, or None
    when it has none."""
    path = getattr(rf, key)
    if path is None:
        return None
    if key in rf.shared:
        df = shared.rows(path, rf.tissue_column, rf.tissue)
        return normalise(df, rf.modality, grouped, tissue_column=rf.tissue_column)
    return normalise(read_result_table(path), rf.modality, grouped)


def iter_pairs(path: str | os.PathLike[str], modality: str, grouped: bool, *, tissue_column: str | None = None,
               batch_rows: int = 262_144) -> Iterator[pd.DataFrame]:
    """Batches of a pair table (significant pairs or a nominal pass: Parquet, text or a per-gene ZIP archive)
    in tensorQTL's columns; with ``tissue_column``, the batches keep that column (renamed ``tissue``) so that
    the caller can route rows of a multi-tissue table."""
    source = iter_gene_zip(path, batch_rows) if is_gene_zip(path) else iter_result_batches(path, batch_rows)
    for batch in source:
        if tissue_column is not None:
            names = [tissue_column] + [a for a, b in ALIASES.items() if b == tissue_column]
            column = next((c for c in names if c in batch), None)
            if column is None:
                raise InputFileError(path, f"no {tissue_column!r} column to tell the tissues apart")
            tissues = batch[column].astype(str).to_numpy()
            batch = normalise(batch.drop(columns=[column]), modality, grouped)
            batch.insert(0, "tissue", tissues)
        else:
            batch = normalise(batch, modality, grouped)
        yield batch


def pair_columns(path: str | os.PathLike[str]) -> list[str]:
    """The columns of a pair table as :func:`iter_pairs` yields them (tensorQTL names), from its header."""
    from ..io.ratgtex import gene_zip_header
    from ..io.text import first_line, split_fields

    path = os.fspath(path)
    if is_gene_zip(path):
        header = ["gene", *gene_zip_header(path)]
    elif path.endswith(".parquet"):
        import pyarrow.parquet as pq

        header = list(pq.read_schema(path).names)
    else:
        header = split_fields(first_line(path))
    return list(normalise(pd.DataFrame(columns=header), "", False).columns)
