"""The home page's example gene is a clean eQTL shared across tissues (on the session's TWAS demo site)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from twas_demo import RELEASE, twas_demo

from qtlatlas.release import layout
from qtlatlas.store import Site


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return twas_demo(tmp_path_factory.getbasetemp())


def test_example_gene_has_the_same_significant_effect_in_every_tissue(demo):
    store = Site(demo.site).release(RELEASE)
    example = store.search_examples()
    gene = store.resolve_gene(example["gene"])
    pairs = pd.read_parquet(store.path / layout.table_path("signif_pairs"))
    pairs = pairs[(pairs["gene_id"] == gene["gene_id"]) & (pairs["variant_id"] == example["variant"])
                  & (pairs["modality"] == "expression")]
    top = pd.read_parquet(store.path / layout.table_path("top_qtls"))
    tissues = set(top.loc[top["modality"] == "expression", "tissue"])
    assert len(tissues) >= 3 and set(pairs["tissue"]) == tissues
    assert len(set(np.sign(pairs["slope"]))) == 1
    # the gene's lead in its best tissue is the example variant, and the gene carries no planted opposite effect
    lead = top[(top["gene_id"] == gene["gene_id"]) & (top["modality"] == "expression")].nsmallest(1, "pval_nominal")
    assert lead["variant_id"].item() == example["variant"]
    truth = pd.read_parquet(demo.root / "truth" / "causal_variants.parquet")
    planted = truth[(truth["release"] == RELEASE) & (truth["gene_id"] == gene["gene_id"])
                    & (truth["modality"] == "expression")]
    assert set(planted["tissue"]) == tissues and not planted["opposite"].any()
