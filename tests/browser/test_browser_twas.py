"""The TWAS hub in Chromium: every hub page draws its plots with the expected number of traces, tables sort,
filter and download as TSV, plots export SVG and PNG, navigation trait → locus → gene → gene page, the release
switcher (a release without TWAS), the 404 page's suggestions and phone widths; no page requests another host
or raises a JavaScript error.

The hub is served from the TWAS demo site of tests/twas_demo.py (with the release without TWAS of
tests/test_twas_pages.py), by its own uvicorn server: these tests do not need the portal demo site."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from test_twas_pages import NO_TWAS, hub_app, hub_site
from twas_demo import RELEASE

from .conftest import DESKTOP, PHONE, checked_page, serve
from .portal_browser import assert_exports, column, download_tsv, plot_traces, screenshot


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    return hub_site(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def hub_url(hub):
    yield from serve(hub_app(hub), "twas-hub-test-server")


@pytest.fixture
def tab(browser, hub_url):
    """A desktop-sized page on the hub; fails the test on a request to another host or a JavaScript error."""
    yield from checked_page(browser, hub_url, DESKTOP)


@pytest.fixture
def phone_tab(browser, hub_url):
    yield from checked_page(browser, hub_url, PHONE)


def table(site, name) -> pd.DataFrame:
    return pd.read_parquet(site / "releases" / RELEASE / "tables" / f"{name}.parquet")


def test_traits_index_plot_filter_and_tsv(tab, hub):
    traits = table(hub, "twas_traits")
    tab.goto("/twas/traits")
    assert plot_traces(tab, "traits-plot") == 2  # total and independent genes
    assert tab.evaluate("document.getElementById('traits-plot').data[0].y") == list(traits["n_genes"])
    tsv = download_tsv(tab, "traits-table")
    assert list(tsv["id"]) == list(traits["id"]) and list(tsv["n_loci"]) == list(traits["n_loci"])
    # the tag filter (server side): only the traits with the tag
    tag = traits["tags"].iloc[0][0]
    tab.select_option("#f-tag", tag)
    tab.click("#trait-filters button[type=submit]")
    tab.wait_for_url(re.compile(rf"tag={tag}"))
    expected = [i for i, tags in zip(traits["id"], traits["tags"], strict=True) if tag in list(tags)]
    assert column(tab, "traits-table", "id") == expected
    assert plot_traces(tab, "traits-plot") == 2
    assert len(tab.evaluate("document.getElementById('traits-plot').data[0].x")) == len(expected)
    screenshot(tab, "twas-traits")


def test_navigation_trait_locus_gene_and_gene_page(tab, hub):
    assoc = table(hub, "twas_associations")
    loci = table(hub, "twas_loci")
    models = table(hub, "twas_models")
    trait = "body_weight"
    tab.goto("/twas/traits")
    tab.click(f"#traits-table a[href='/twas/traits/{trait}']")
    tab.wait_for_url(f"**/twas/traits/{trait}")
    rows = assoc[(assoc["trait"] == trait) & assoc["twas_z"].notna()]
    assert plot_traces(tab, "manhattan-plot") == rows["panel"].nunique()  # one trace per panel
    points = tab.evaluate("document.getElementById('manhattan-plot').data.reduce((n, t) => n + t.x.length, 0)")
    assert points == len(rows)
    assert plot_traces(tab, "correlation-plot") == 1
    assert tab.evaluate("document.getElementById('correlation-plot').data[0].y.length") == 2
    screenshot(tab, "twas-trait")
    # trait → its best locus
    n = int(loci[loci["trait"] == trait].sort_values("best_twas_p")["locus"].iloc[0])
    tab.click(f"#loci-table a[href='/twas/traits/{trait}/loci/{n}']")
    tab.wait_for_url(f"**/twas/traits/{trait}/loci/{n}")
    plot = tab.evaluate("""() => { const d = document.getElementById('locus-plot').data;
        return Object.fromEntries(d.map(t => [t.name, { n: t.x.filter(x => x !== null).length,
                                                        y: t.y.filter(y => y !== null).length }])); }""")
    members = assoc[(assoc["trait"] == trait) & (assoc["locus"] == n)]
    gwas = table(hub, "twas_locus_gwas").query("trait == @trait and locus == @n")
    untested = gwas["cond_status"].isin(["explained", "unstable"])
    # marginal and conditional points, the SNPs without a conditional test on the axis, genes and joint genes
    assert set(plot) == {"marginal GWAS", "conditional on the joint models", "genes", "joint genes"} | (
        {"no conditional test"} if untested.any() else set())
    assert plot["marginal GWAS"]["n"] == len(gwas) and plot["conditional on the joint models"]["y"] == gwas["cond_p"].notna().sum()
    assert plot.get("no conditional test", {"n": 0})["n"] == untested.sum()
    assert plot["joint genes"]["n"] == 3 * members.loc[members["joint"], "gene_id"].nunique()  # 3 vertices per gene
    screenshot(tab, "twas-locus")
    # locus → a joint gene's TWAS page (first row of the models table: a joint model)
    gene = tab.locator("#models-table tbody tr").first.locator("td").first.inner_text()
    tab.locator("#models-table tbody tr").first.locator("a").first.click()
    tab.wait_for_url(f"**/twas/genes/{gene}")
    gene_models = models[models["gene_name"] == gene]
    assert plot_traces(tab, "zmap-plot") == 2  # heatmap and the significance marks
    assert tab.evaluate("document.getElementById('zmap-plot').data[0].z.length") == assoc.loc[
        assoc["gene_name"] == gene, "trait"].nunique()
    fitted = sum(gene_models[f"{m}_r2"].notna().any() for m in ("top1", "lasso", "enet", "blup"))
    assert plot_traces(tab, "cv-plot") == 1 + fitted  # h² and one bar per fitted method
    assert tab.locator("#gene-models-table tbody tr").count() == len(gene_models)
    screenshot(tab, "twas-gene")
    # TWAS gene → the gene page → back to the hub
    tab.click(f"a:has-text('Gene page of {gene}')")
    tab.wait_for_url(f"**/gene/{gene}")
    tab.locator("#status-table").wait_for()
    tab.click(f"a:has-text('TWAS hub for {gene}')")
    tab.wait_for_url(f"**/twas/genes/{gene}")


def test_trait_associations_sort_filter_and_tsv(tab, hub):
    assoc = table(hub, "twas_associations")
    rows = assoc[assoc["trait"] == "fat_pad"]
    tab.goto("/twas/traits/fat_pad")
    header = tab.locator("#associations-table th[data-key='twas_z'] button")
    header.click()
    z = [float(x) for x in column(tab, "associations-table", "twas_z") if x]
    assert z == sorted(z) and len(z) == int(rows["twas_z"].notna().sum())
    header.click()
    assert [float(x) for x in column(tab, "associations-table", "twas_z") if x] == sorted(z, reverse=True)
    panel = rows["panel"].value_counts().index[0]
    tab.select_option("select[aria-label='Filter associations-table by Panel']", panel)
    shown = column(tab, "associations-table", "panel")
    assert set(shown) == {panel} and len(shown) == int((rows["panel"] == panel).sum())
    tsv = download_tsv(tab, "associations-table")
    assert len(tsv) == len(shown) and set(tsv["panel"]) == {panel}
    expected = rows[rows["panel"] == panel].set_index("phenotype_id")
    assert sorted(tsv["twas_p"].dropna()) == pytest.approx(sorted(expected["twas_p"].dropna()))
    assert list(tsv["twas_z"].dropna()) == sorted(tsv["twas_z"].dropna(), reverse=True)  # the order shown
    tab.fill("input[aria-label='Filter the rows of associations-table']", "zzz-no-such-row")
    assert column(tab, "associations-table", "panel") == []
    # the server's filters: one panel, significant models only
    tab.select_option("#f-panel", panel)
    tab.check("#assoc-filters input[name=significant]")
    tab.click("#assoc-filters button[type=submit]")
    tab.wait_for_url(re.compile(r"significant=1"))
    assert len(column(tab, "associations-table", "panel")) == int(((rows["panel"] == panel) & rows["significant"]).sum())


def test_plots_export_svg_and_png(tab):
    tab.goto("/twas/traits/body_weight")
    plot_traces(tab, "manhattan-plot")
    assert_exports(tab, "manhattan-plot", "correlation-plot")


def test_panels_page_plot_filters_and_models_tsv(tab, hub):
    models = table(hub, "twas_models")
    tab.goto("/twas/panels")
    assert plot_traces(tab, "panels-plot") == models["best_model"].nunique()  # one stack per best method
    totals = tab.evaluate("""() => { const d = document.getElementById('panels-plot').data;
        return d[0].y.map((_, i) => d.reduce((s, t) => s + t.y[i], 0)); }""")
    assert totals == list(table(hub, "twas_panels")["n_models"])
    tab.select_option("#m-panel", "Liver.expression")
    tab.select_option("#m-sort", "hsq")
    tab.select_option("#m-order", "desc")
    tab.click("#model-filters button[type=submit]")
    tab.wait_for_url(re.compile(r"panel=Liver.expression"))
    tsv = download_tsv(tab, "models-table")
    expected = models[models["panel"] == "Liver.expression"].sort_values("hsq", ascending=False)
    assert list(tsv["phenotype_id"]) == list(expected["phenotype_id"])
    assert list(tsv["hsq"]) == pytest.approx(list(expected["hsq"]))
    screenshot(tab, "twas-panels")


def test_release_switch_to_a_release_without_twas(tab):
    tab.goto("/twas/traits/body_weight")
    plot_traces(tab, "manhattan-plot")
    tab.select_option("#release-select", NO_TWAS)
    tab.wait_for_url(re.compile(rf"/twas/traits/body_weight\?release={NO_TWAS}$"))
    assert "No TWAS in this release" in tab.locator("#no-twas").inner_text()
    screenshot(tab, "twas-none")
    tab.click(f"#twas-releases a:has-text('Release {RELEASE}')")
    tab.wait_for_url(re.compile(rf"/twas/traits/body_weight\?release={RELEASE}$"))
    assert plot_traces(tab, "manhattan-plot") >= 1
    # the hub's links keep the chosen release
    hrefs = tab.eval_on_selector_all("nav.twas-nav a", "as => as.map(a => a.getAttribute('href'))")
    assert hrefs and all(f"release={RELEASE}" in h for h in hrefs)


def hub_gene(hub) -> str:
    """The symbol of the gene with the most TWAS models in the hub (models in several panels)."""
    models = table(hub, "twas_models")
    gene_id = models["gene_id"].value_counts().index[0]
    return str(table(hub, "twas_associations").set_index("gene_id").loc[gene_id, "gene_name"].iloc[0])


def test_unknown_trait_suggests_the_trait(tab, hub):
    response = tab.goto("/twas/traits/fat_pads")
    assert response.status == 404
    tab.locator("#suggestions a[href='/twas/traits/fat_pad']").click()
    tab.wait_for_url("**/twas/traits/fat_pad")
    assert plot_traces(tab, "manhattan-plot") >= 1
    # a gene through the hub's search box
    gene = hub_gene(hub).lower()  # any case
    tab.fill("#twas-gene-input", gene)
    tab.press("#twas-gene-input", "Enter")
    tab.wait_for_url(f"**/twas/genes/{gene}")
    assert plot_traces(tab, "zmap-plot") == 2


@pytest.mark.parametrize("path, plots", [
    ("/twas/traits", ["traits-plot"]), ("/twas/projects", []), ("/twas/traits/body_weight", ["manhattan-plot"]),
    ("/twas/traits/body_weight/loci/1", ["locus-plot"]), ("/twas/genes/{gene}", ["zmap-plot", "cv-plot"]),
    ("/twas/panels", ["panels-plot"]), ("/twas/methods", []),
])
def test_phone_width_has_no_horizontal_scroll(phone_tab, hub, path, plots):
    path = path.format(gene=hub_gene(hub))
    phone_tab.goto(path)
    for plot in plots:
        plot_traces(phone_tab, plot)
        assert phone_tab.evaluate(f"document.getElementById('{plot}').getBoundingClientRect().width") <= PHONE["width"]
    overflow = phone_tab.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"the page is {overflow}px wider than the phone"
    screenshot(phone_tab, "phone-twas" + path.replace("/twas", "").replace("/", "-"))


def test_predict_page_gene_filter_and_downloads(tab, hub):
    """The Predict page lists every tested phenotype; typing a gene and submitting keeps that gene's phenotypes
    (checked against twas_phenotype_stats), and each download link of the page answers its file."""
    stats = table(hub, "twas_phenotype_stats")
    tab.goto("/twas/predict")
    assert tab.locator("#phenotype-stats-table tbody tr").count() == min(len(stats), 100)
    gene = stats.groupby("gene_name").size().sort_values(ascending=False).index[0]
    tab.fill("#p-gene", gene)
    tab.click("#stats-filters button[type=submit]")
    tab.wait_for_url(re.compile(rf"gene={gene}"))
    expected = stats[stats["gene_name"] == gene]
    assert sorted(column(tab, "phenotype-stats-table", "phenotype_id")) == sorted(expected["phenotype_id"])
    assert set(column(tab, "phenotype-stats-table", "gene_name")) == {gene}
    links = tab.eval_on_selector_all("#predict-downloads a[download], #predict-downloads td a",
                                     "els => els.map(a => a.getAttribute('href')).filter(h => h.includes('/releases/'))")
    assert links and all(tab.request.get(h).status == 200 for h in links)
    screenshot(tab, "twas-predict")
