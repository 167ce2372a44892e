"""The tissue page's eGene sharing: for each other tissue, the share of this tissue's eGenes tested there that are
eGenes there too, checked against the release's top-QTL table; the page lists it."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from qtlatlas.store import Site
from qtlatlas.store.sharing import egene_sharing


def expected(site, modality: str, fdr: float = 0.05) -> pd.DataFrame:
    top = pd.read_parquet(site / "releases" / "v2" / "tables" / "top_qtls.parquet")
    top = top[(top["modality"] == modality) & top["gene_id"].notna()]
    egene = top.groupby(["tissue", "gene_id"])["qval"].min().le(fdr)
    rows = []
    tissues = sorted(egene.index.get_level_values(0).unique())
    for a in tissues:
        mine = egene.loc[a]
        for b in tissues:
            if a == b:
                continue
            theirs = egene.loc[b]
            tested = mine[mine].index.intersection(theirs.index)
            rows.append({"tissue": a, "other": b, "n_egenes": int(mine.sum()), "n_tested_there": len(tested),
                         "n_shared": int(theirs[tested].sum()), "n_egenes_there": int(theirs.sum())})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("modality", ["expression", "splicing"])
def test_sharing_counts_match_the_top_qtl_table(site, modality):
    store = Site(site).release("v2")
    assert store.info["mapping"]["fdr"] == 0.05
    got = egene_sharing(store, modality)
    want = expected(site, modality)
    key = ["tissue", "other"]
    merged = got.merge(want, on=key, suffixes=("", "_want"), how="outer", indicator=True)
    assert (merged["_merge"] == "both").all() and len(merged) == 6  # every ordered pair of the 3 tissues
    for c in ("n_egenes", "n_tested_there", "n_shared", "n_egenes_there"):
        assert (merged[c] == merged[f"{c}_want"]).all(), c
    share = merged["n_shared"] / merged["n_tested_there"]
    assert ((merged["share"] - share).abs().fillna(0) < 1e-12).all()
    assert (merged["n_shared"] <= merged["n_tested_there"]).all() and merged["n_tested_there"].sum() > 0
    if modality == "expression":  # the demo's eQTLs are planted in every tissue: some eGenes are shared
        assert merged["n_shared"].sum() > 0


def test_tissue_page_lists_sharing(client, site):
    want = expected(site, "expression").query("tissue == 'Brain'").set_index("other")
    html = client.get("/tissue/Brain").text
    section = html[html.index('id="sharing-table"'):html.index("</table>", html.index('id="sharing-table"'))]
    rows = re.findall(r'href="/tissue/(\w+)\?modality=expression">[^<]+</a></th>.*?data-share="([^"]+)".*?'
                      r'<td class="num">([\d,]+) / ([\d,]+)</td>', section, re.S)
    assert {r[0] for r in rows} == set(want.index) == {"Adipose", "Liver"}
    for other, share, shared, tested in rows:
        assert int(shared.replace(",", "")) == want.loc[other, "n_shared"]
        assert int(tested.replace(",", "")) == want.loc[other, "n_tested_there"]
        assert abs(float(share) - want.loc[other, "n_shared"] / want.loc[other, "n_tested_there"]) < 1e-9
