"""Median expression per gene of a tissue: from the results (a ``phenotype_id, median`` table, or a genes ×
tissues matrix such as GTEx's ``median_tpm`` or RatGTEx's ``medianGeneExpression``), else computed from the
expression table."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..errors import InputFileError
from ..io.phenotypes import PhenotypeTable
from ..results import ResultFiles
from .tables import GeneResolver, read_result_table

#: Names of the gene column of a median matrix, in the order they are looked for (else the first column).
_GENE_COLUMNS = ("gene_id", "geneId", "Name", "phenotype_id")


def read_median_matrix(path, tissue: str) -> tuple[pd.Series, pd.Series]:
    """``(gene ids, medians)`` of one tissue's column of a genes × tissues matrix."""
    header = pd.read_csv(path, sep="\t", nrows=0).columns
    gene = next((c for c in _GENE_COLUMNS if c in header), header[0])
    if tissue not in header:
        raise InputFileError(path, f"no column {tissue!r} (columns: {', '.join(map(str, header[:12]))})", line=1)
    df = pd.read_csv(path, sep="\t", usecols=[gene, tissue], dtype={gene: str})
    return df[gene].astype(object), pd.to_numeric(df[tissue], errors="coerce")


def medians_of(tissue: str, table: PhenotypeTable, rf: ResultFiles, resolver: GeneResolver) -> pd.DataFrame:
    """``tissue, gene_id, median`` of one tissue (``table``: its expression, used when the results have no medians)."""
    if rf.median is not None:
        med = read_result_table(rf.median)
        pids, values = med["phenotype_id"].astype(object), pd.to_numeric(med["median"], errors="coerce")
    elif rf.median_matrix is not None:
        pids, values = read_median_matrix(rf.median_matrix, tissue)
    else:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            values = pd.Series(np.nanmedian(table.values, axis=1))
        pids = pd.Series(table.phenotype_ids, dtype=object)
    return pd.DataFrame({"tissue": tissue, "gene_id": resolver.genes(pids).to_numpy(),
                         "median": np.asarray(values, dtype=np.float64)})
