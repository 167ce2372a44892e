"""Search → gene → variant → tissue in Chromium, with every plot of these pages drawn (SVG with the expected
number of traces, counted from the release tables), and the search used from the keyboard alone."""

from __future__ import annotations

import re

import pandas as pd

from .portal_browser import column, plot_traces, screenshot


def table(site, name, release="v2") -> pd.DataFrame:
    return pd.read_parquet(site / "releases" / release / "tables" / f"{name}.parquet")


def best_gene(site) -> pd.Series:
    """The gene of the most significant top QTL of the release (it has pairs, leads and expression)."""
    top = table(site, "top_qtls").sort_values("pval_nominal").iloc[0]
    return table(site, "genes").set_index("gene_id").loc[top["gene_id"]].rename(top["gene_id"])


def expressed_tissues(site, gene_id: str) -> int:
    """Tissues whose expression table has a value for the gene."""
    n = 0
    for path in sorted((site / "releases" / "v2" / "tables" / "expression").glob("*.parquet")):
        ids = pd.read_parquet(path, columns=["phenotype_id"])["phenotype_id"]
        n += int((ids == gene_id).any())
    return n


def test_search_gene_variant_tissue(page, site):
    gene = best_gene(site)
    page.goto("/")
    screenshot(page, "home")
    box = page.locator("#hero-search-input")
    box.fill(gene["gene_name"][:3].lower())
    option = page.locator("#hero-search-input-list [role=option]", has_text=gene["gene_name"]).first
    option.wait_for()
    option.click()
    page.wait_for_url(re.compile(rf"/gene/{gene['gene_name']}$"))
    assert page.locator("h1").inner_text() == gene["gene_name"]

    # the plots of the gene page
    assert plot_traces(page, "bubble-plot") == 1
    plot_traces(page, "regional-plot")
    points = page.evaluate("""() => document.getElementById('regional-plot').data
        .filter((t) => t.meta === 'variant' && t.name.startsWith('r²'))
        .reduce((n, t) => n + t.x.filter((x) => x !== null).length, 0)""")
    regional = page.evaluate("JSON.parse(document.getElementById('gene-data').textContent).regional")
    assert points == sum(y is not None for y in regional["variants"]["nlog10p"])  # every tested variant
    assert plot_traces(page, "expression-plot") == expressed_tissues(site, gene.name)
    violins = page.evaluate("""() => document.getElementById('expression-plot').data.filter((t) => t.type === 'violin')
        .map((t) => { const y = t.y.filter(Number.isFinite);
                      return { span: t.span, min: Math.min(...y), max: Math.max(...y), n: y.length, points: t.points }; })""")
    assert violins
    for v in violins:  # densities reach past the data (not below 0 for TPM); small tissues show their points
        assert 0 <= v["span"][0] <= v["min"] and v["span"][1] > v["max"]
        assert (v["points"] == "all") == (v["n"] < 10)
    # the server-drawn violins were replaced by the interactive ones
    assert page.locator("#expression-plot svg.static-plot").count() == 0
    bubbles = page.evaluate("document.getElementById('bubble-plot').data[0].x.length")
    assert bubbles >= 1
    screenshot(page, "gene")

    # → a variant of the gene's top QTL table
    link = page.locator("#top-table tbody a[href^='/variant/']").first
    variant = link.inner_text()
    link.click()
    page.wait_for_url(re.compile(rf"/variant/{variant}$"))
    tables = [table(site, t) for t in ("top_qtls", "independent_qtls", "signif_pairs")]
    assoc = pd.concat([t[t["variant_id"] == variant] for t in tables])
    forest_tissues = assoc.dropna(subset=["slope", "slope_se"])["tissue"].nunique()
    assert plot_traces(page, "forest-plot") == forest_tissues
    assert page.locator("#forest-plot svg.static-plot").count() == 0  # replaced by the interactive plot
    assert plot_traces(page, "pbg-plot") == 3  # hom ref, het, hom alt
    sources = column(page, "associations-table", "source")  # the tables' rows, then other tested pairs
    assert len(sources) - sources.count("nominal") == len(assoc) and "nominal" not in sources[:len(assoc)]
    assert plot_traces(page, "phewas-plot") >= 1
    screenshot(page, "variant")

    # another phenotype × tissue: fetched from the API and redrawn
    choices = page.locator("#pbg-choice option")
    if choices.count() > 1:
        caption = page.locator("#pbg-table caption").inner_text()
        page.select_option("#pbg-choice", index=1)
        page.wait_for_function("c => document.querySelector('#pbg-table caption').textContent !== c", arg=caption)
        assert "pbg=2" in page.url
        assert plot_traces(page, "pbg-plot") == 3
        # the fetched pair's statistics: the mapped p-value labelled as such, the unadjusted one after it
        note = page.locator("#pbg-note").inner_text()
        assert note.startswith("Nominal p (mapping model)") and "slope –" not in note
        assert page.locator("#pbg-unadjusted").inner_text().startswith("Unadjusted, without covariates")

    # → the tissue of the first association
    tissue_link = page.locator("#associations-table tbody a[href^='/tissue/']").first
    tissue = tissue_link.inner_text()
    tissue_link.click()
    page.wait_for_url(re.compile(rf"/tissue/{tissue}$"))
    assert plot_traces(page, "qq-plot") == 4  # null band (two edges) + diagonal + genes
    assert plot_traces(page, "manhattan-plot") == 3  # other genes + eGenes + eGene threshold
    top = table(site, "top_qtls")
    n_genes = top[(top["tissue"] == tissue) & (top["modality"] == "expression")]["gene_id"].nunique()
    drawn = page.evaluate("""document.getElementById('manhattan-plot').data.filter(t => t.mode === 'markers')
                             .reduce((n, t) => n + t.x.length, 0)""")
    assert drawn == n_genes
    screenshot(page, "tissue")

    # the modality form reloads the page for another modality
    page.select_option("#tissue-modality", "splicing")
    page.wait_for_url(re.compile(r"modality=splicing"))
    assert plot_traces(page, "qq-plot") == 4


def test_search_from_the_keyboard(page, site):
    gene = best_gene(site)
    page.goto("/about")
    page.keyboard.press("Tab")  # the skip link comes first
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")  # brand, then the search box of the header
    assert page.evaluate("document.activeElement.id") == "site-search-input"
    page.keyboard.type(gene["gene_name"].lower())
    page.locator("#site-search-input-list [role=option]").first.wait_for()
    page.keyboard.press("ArrowDown")
    active = page.evaluate("document.getElementById('site-search-input').getAttribute('aria-activedescendant')")
    assert active and page.locator(f"#{active}").get_attribute("aria-selected") == "true"
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/gene/"))
    assert page.locator("h1").inner_text() == gene["gene_name"]
    # a variant typed in full is offered as a variant
    variant = table(site, "variants").iloc[0]
    page.fill("#site-search-input", variant["variant_id"])
    page.locator("#site-search-input-list [role=option]", has_text=variant["variant_id"]).first.wait_for()
    page.keyboard.press("Enter")  # no option chosen: the form goes to /search, which resolves it
    page.wait_for_url(re.compile(rf"/variant/{variant['variant_id']}$"))
