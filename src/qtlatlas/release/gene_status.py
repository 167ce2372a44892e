"""Per gene, tissue and modality: expressed, tested, has a QTL, number of independent signals.

The rules are RatGTEx's (its ``gene.{v}.tsv``): a gene is *tested* when it has a row in the top-association
table, *has a QTL* when it is significant there (q ≤ the release's FDR; when the table has no q-values, when
it has conditionally independent QTLs), and is *expressed* when it passed the expression filter — when it is
among the mapped (normalised) phenotypes. An imported annotation that publishes its own expression flags
(RatGTEx's ``expr_{tissue}`` columns) is taken at its word for expression; without either, the tested genes
are the expressed ones (every tested gene passed the filter).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

STATUS_COLUMNS = ["gene_id", "tissue", "modality", "expressed", "tested", "has_qtl", "n_independent"]


def gene_status_rows(tissue: str, modality: str, top: pd.DataFrame | None, indep: pd.DataFrame | None, fdr: float,
                     normalised: set[str] | None, flags: pd.DataFrame | None
                     ) -> tuple[pd.DataFrame, set[str], dict[str, int]]:
    """Status rows (:data:`STATUS_COLUMNS`) of one tissue × modality, the set of expressed genes, and the counts
    ``n_tested`` (phenotypes or groups tested), ``n_egenes`` and ``n_independent``.

    Args:
        top, indep: the portal rows of the top and independent tables (``gene_id``, ``qval``), or None.
        normalised: genes of the mapped (normalised) phenotypes, or None when the release does not have them.
        flags: imported per-gene flags (``gene_id, tissue, expressed``), or None.
    """
    tested = set(top["gene_id"].dropna()) if top is not None else set()
    indep_genes = set(indep["gene_id"].dropna()) if indep is not None else set()
    if top is not None and "qval" in top and top["qval"].notna().any():
        egenes = set(top.loc[top["qval"] <= fdr, "gene_id"].dropna())
    else:
        egenes = indep_genes
    if top is None:
        tested = indep_genes
    imported = None
    if flags is not None and modality == "expression":
        part = flags[flags["tissue"] == tissue]
        if len(part):
            imported = set(part.loc[part["expressed"], "gene_id"])
    if imported is not None:
        expressed = imported
    elif normalised is not None:
        expressed = normalised
    else:
        expressed = set(tested)
    if indep is not None:
        n_indep = indep.groupby("gene_id").size()
    else:
        n_indep = pd.Series(1, index=sorted(egenes), dtype=np.int64)
    genes = sorted(expressed | tested)
    rows = pd.DataFrame({
        "gene_id": genes, "tissue": tissue, "modality": modality,
        "expressed": [g in expressed for g in genes], "tested": [g in tested for g in genes],
        "has_qtl": [g in egenes for g in genes],
        "n_independent": pd.Series(genes, dtype=object).map(n_indep).fillna(0).astype(np.int32).to_numpy(),
    }, columns=STATUS_COLUMNS)
    counts = {"n_tested": int(len(top)) if top is not None else len(indep_genes), "n_egenes": len(egenes),
              "n_independent": int(len(indep)) if indep is not None else len(egenes)}
    return rows, expressed, counts
