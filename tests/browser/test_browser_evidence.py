"""Fine-mapping and colocalisation in Chromium: the regional plot rings the members of the phenotype's SuSiE
credible sets (one legend entry per set, PIPs on hover), the gene page draws its colocalisation heatmap (the
largest PP.H4 per tissue × modality) and lists the tests, and the variant and TWAS trait pages list theirs. Every
figure is checked against the release's tables, not against constants."""

from __future__ import annotations

import pandas as pd
import pytest

from .portal_browser import column, plot_traces, screenshot
from .test_browser_regional import embedded, table

CS_TRACES = """id => document.getElementById(id).data.filter((t) => (t.name || '').startsWith('credible set'))
  .map((t) => ({ name: t.name, n: t.x.filter((x) => x !== null).length, text: t.text }))"""
HEATMAP = """id => { const t = document.getElementById(id).data.find((x) => x.type === 'heatmap');
  return t ? { x: t.x, y: t.y, z: t.z } : null; }"""


@pytest.fixture(scope="module")
def coloc(site) -> pd.DataFrame:
    return table(site, "coloc")


@pytest.fixture(scope="module")
def sets(site) -> pd.DataFrame:
    return table(site, "credible_sets")


@pytest.fixture(scope="module")
def two_set_gene(sets, base_url) -> tuple[str, dict]:
    """A gene whose default regional plot is of a phenotype with at least two credible sets."""
    counts = sets.groupby(["tissue", "modality", "phenotype_id", "gene_id"])["cs_id"].nunique()
    for tissue, modality, phenotype, gene in counts[counts >= 2].index:
        data = embedded(base_url, f"/gene/{gene}", "gene-data")["regional"]
        if (data["tissue"], data["modality"], data["phenotype_id"]) == (tissue, modality, phenotype):
            return gene, data
    pytest.fail("no gene's default regional plot is of a phenotype with two credible sets")


def test_regional_plot_rings_each_credible_set(page, sets, two_set_gene):
    gene, data = two_set_gene
    mine = sets[(sets["tissue"] == data["tissue"]) & (sets["modality"] == data["modality"])
                & (sets["phenotype_id"] == data["phenotype_id"])]
    page.goto(f"/gene/{gene}")
    plot_traces(page, "regional-plot")
    drawn = page.evaluate(CS_TRACES, "regional-plot")
    assert len(drawn) == mine["cs_id"].nunique() == len(data["finemapping"]["sets"])
    drawn_ids = set(data["variants"]["id"])
    for trace, cs in zip(drawn, data["finemapping"]["sets"], strict=True):
        members = mine[mine["cs_id"] == cs["id"]]
        assert trace["n"] == members["variant_id"].isin(drawn_ids).sum()  # every member in the window, ringed
        assert str(len(members)) in trace["name"]
        assert all("PIP = " in t for t in trace["text"])
    best = mine.loc[mine["pip"].idxmax()]
    i = data["variants"]["id"].index(best["variant_id"])
    assert data["finemapping"]["pip"][i] == pytest.approx(best["pip"], abs=1e-3)
    screenshot(page, "regional-credible-sets")


def test_gene_page_heatmap_and_table_of_colocalisation(page, coloc):
    gene = coloc.loc[coloc["PP.H4.abf"].idxmax(), "gene_id"]
    mine = coloc[coloc["gene_id"] == gene]
    page.goto(f"/gene/{gene}#evidence")
    plot_traces(page, "coloc-plot")
    heat = page.evaluate(HEATMAP, "coloc-plot")
    cells = [z for row in heat["z"] for z in row if z is not None]
    assert max(cells) == pytest.approx(mine["PP.H4.abf"].max(), abs=1e-9)
    assert len(cells) == len(mine.drop_duplicates(["tissue", "modality"]))
    assert len(column(page, "coloc-table", "PP.H4.abf")) == len(mine)
    shown = [float(x) for x in column(page, "coloc-table", "PP.H4.abf")]
    assert shown == sorted(shown, reverse=True)  # most colocalised first
    trait = mine.loc[mine["PP.H4.abf"].idxmax(), "trait"]
    page.select_option("#coloc-trait", label=page.locator("#coloc-trait option").nth(
        1 + sorted(set(mine["trait"])).index(trait)).inner_text())
    page.wait_for_function("() => document.getElementById('coloc-plot').data[0].z.flat()"
                           f".filter((z) => z !== null).length === {len(mine[mine['trait'] == trait].drop_duplicates(['tissue', 'modality']))}")
    page.locator("#evidence").scroll_into_view_if_needed()
    screenshot(page, "gene-coloc")


def test_variant_page_lists_its_credible_sets_and_colocalisations(page, site, sets, coloc):
    best = sets.loc[sets["pip"].idxmax()]
    page.goto(f"/variant/{best['variant_id']}")
    assert set(column(page, "credible-sets-table", "cs_id")) == set(sets.loc[sets["variant_id"] == best["variant_id"],
                                                                              "cs_id"])
    lead = coloc.loc[coloc["PP.H4.abf"].idxmax()]
    pos = int(table(site, "variants").set_index("variant_id").loc[lead["lead_variant_id"], "pos"])
    inside = (coloc["chrom"] == lead["chrom"]) & (coloc["locus_start"] <= pos) & (coloc["locus_end"] >= pos)
    page.goto(f"/variant/{lead['lead_variant_id']}")
    assert len(column(page, "coloc-table", "PP.H4.abf")) == int(inside.sum())  # every test of a locus holding it
    screenshot(page, "variant-evidence")


def test_twas_trait_page_lists_the_traits_colocalisations(page, coloc):
    trait = coloc.loc[coloc["PP.H4.abf"].idxmax(), "trait"]
    page.goto(f"/twas/traits/{trait}#coloc")
    assert len(column(page, "coloc-table", "PP.H4.abf")) == min(int((coloc["trait"] == trait).sum()), 2000)
    screenshot(page, "twas-trait-coloc")


def test_phone_shows_the_gene_evidence(phone, coloc):
    gene = coloc.loc[coloc["PP.H4.abf"].idxmax(), "gene_id"]
    phone.goto(f"/gene/{gene}#evidence")
    plot_traces(phone, "coloc-plot")
    box = phone.locator("#coloc-plot").bounding_box()
    assert box["width"] <= 390
    screenshot(phone, "gene-coloc-phone")
