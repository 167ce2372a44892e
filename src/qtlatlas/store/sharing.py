"""How the eGenes of a tissue recur in the other tissues of a release, per modality: the tissue-sharing view of
the tissue page.

Sharing of tissue A with tissue B is the share of A's eGenes (q ≤ the release's FDR) that were tested in B and are
eGenes there too. Genes not tested in B (not expressed there) are left out of the denominator, so a tissue with
fewer expressed genes does not look specific. It counts genes, not variants: two tissues can share an eGene
through different causal variants (the QTL–QTL colocalisation tables say whether they do).
"""

from __future__ import annotations

import pandas as pd

#: Columns of :func:`egene_sharing`.
SHARING_COLUMNS = ["tissue", "other", "n_egenes", "n_tested_there", "n_shared", "n_egenes_there", "share"]


def egene_sharing(store, modality: str) -> pd.DataFrame:
    """For every ordered pair of tissues of the release that tested ``modality``: :data:`SHARING_COLUMNS`
    (``n_egenes`` of ``tissue``; ``n_tested_there``, those tested in ``other``; ``n_shared``, eGenes in both;
    ``n_egenes_there``, eGenes of ``other``; ``share`` = n_shared / n_tested_there, NaN when 0). Empty when the
    release has no q-values (imported p-values only). Tissues ``store`` hides are in neither column and count in
    no figure. Computed once per release (view) and modality."""
    def load() -> pd.DataFrame:
        if "qval" not in set(store.columns("top_qtls")):
            return pd.DataFrame(columns=SHARING_COLUMNS)
        fdr = float((store.info.get("mapping") or {}).get("fdr") or 0.05)
        hidden, hidden_values = store.tissue_clause("tissue")
        df = store.db.df(
            "WITH g AS (SELECT tissue, gene_id, min(qval) <= ? AS egene FROM read_parquet(?) "
            f"  WHERE modality = ? AND gene_id IS NOT NULL{hidden} GROUP BY tissue, gene_id), "
            "n AS (SELECT tissue, count(*) FILTER (WHERE egene) AS n_egenes FROM g GROUP BY tissue) "
            "SELECT a.tissue AS tissue, b.tissue AS other, na.n_egenes AS n_egenes, "
            "  count(*) FILTER (WHERE a.egene) AS n_tested_there, count(*) FILTER (WHERE a.egene AND b.egene) AS n_shared, "
            "  nb.n_egenes AS n_egenes_there "
            "FROM g a JOIN g b ON a.gene_id = b.gene_id AND a.tissue <> b.tissue "
            "JOIN n na ON na.tissue = a.tissue JOIN n nb ON nb.tissue = b.tissue "
            "GROUP BY a.tissue, b.tissue, na.n_egenes, nb.n_egenes",
            [fdr, store.table_file("top_qtls"), modality, *hidden_values])
        for c in ("n_egenes", "n_tested_there", "n_shared", "n_egenes_there"):
            df[c] = df[c].astype("int64")
        df["share"] = df["n_shared"] / df["n_tested_there"].where(df["n_tested_there"] > 0)
        order = {t: i for i, t in enumerate(store.tissue_ids())}
        df = df.sort_values(["tissue", "other"], key=lambda s: s.map(order).fillna(len(order)))
        return df[SHARING_COLUMNS].reset_index(drop=True)

    return store._cached(f"sharing:{modality}", load)
