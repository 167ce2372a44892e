"""The other page types in Chromium: release switch, expression heatmap (log toggle), genotype dashboard,
downloads, study, methods, data access, API documentation, the 404 page, and phone-width layouts."""

from __future__ import annotations

import hashlib
import re

import pandas as pd
import pytest

from .portal_browser import plot_traces, screenshot


def table(site, name, release="v2") -> pd.DataFrame:
    return pd.read_parquet(site / "releases" / release / "tables" / f"{name}.parquet")


def test_release_switch_keeps_the_release_in_every_link(page, site):
    page.goto("/tissue/Brain?modality=splicing")
    page.select_option("#release-select", "v1")
    page.wait_for_url(re.compile(r"release=v1"))
    assert "modality=splicing" in page.url  # the other parameters are kept
    assert "You are browsing release v1" in page.locator(".release-notice").inner_text()
    hrefs = page.eval_on_selector_all("nav.site-nav a", "as => as.map(a => a.getAttribute('href'))")
    assert all("release=v1" in h for h in hrefs if not h.startswith("/api/"))
    page.click("nav.site-nav a:has-text('Home')")
    page.wait_for_url(re.compile(r"/\?release=v1$"))
    rows = page.locator("#tissue-table tbody tr")
    assert rows.count() == len(table(site, "tissues", "v1"))
    screenshot(page, "home-v1")
    # a gene of v1, from a link of v1: still v1
    gene = table(site, "genes", "v1")["gene_name"].iloc[0]
    page.fill("#hero-search-input", gene)
    page.press("#hero-search-input", "Enter")
    page.wait_for_url(re.compile(rf"/gene/{gene}\?release=v1$"))
    assert page.locator("body").get_attribute("data-release") == "v1"
    assert page.locator("#status-table tbody tr").count() == len(table(site, "tissues", "v1"))
    assert plot_traces(page, "expression-plot") >= 1  # fetched from the API of release v1


def test_expression_heatmap_and_log_toggle(page, site):
    page.goto("/expression?tissue=Liver&n=25")
    assert plot_traces(page, "heatmap-plot") == 3  # heatmap + two dendrograms
    genes = page.evaluate("document.getElementById('heatmap-plot').data[0].y.length")
    assert genes == min(25, len(table(site, "genes")))
    log_max = page.evaluate("Math.max(...document.getElementById('heatmap-plot').data[0].z.flat())")
    # the gene names read top to bottom in the order of the table below the heatmap
    from_top = page.evaluate("""() => [...document.querySelectorAll('#heatmap-plot .yaxislayer-above .ytick text')]
        .map((t) => [t.getBoundingClientRect().top, t.textContent]).sort((a, b) => a[0] - b[0]).map((x) => x[1])""")
    rows = page.locator("#median-table tbody tr td:first-child").all_inner_texts()
    assert len(from_top) == genes and from_top == [r.strip() for r in rows]
    screenshot(page, "expression")
    page.click("#scale-toggle a:has-text('TPM')")
    page.wait_for_url(re.compile(r"log=0"))
    plot_traces(page, "heatmap-plot")
    linear_max = page.evaluate("Math.max(...document.getElementById('heatmap-plot').data[0].z.flat())")
    assert linear_max == pytest.approx(2 ** log_max - 1, rel=1e-3)
    # a user gene list, with the unknown ones reported
    names = table(site, "genes")["gene_name"].head(4).tolist()
    page.fill("#e-genes", "\n".join([*names, "NoSuchGene"]))
    page.click("#genes-form button[type=submit]")
    page.wait_for_url(re.compile(r"genes="))
    plot_traces(page, "heatmap-plot")
    shown = page.evaluate("document.getElementById('heatmap-plot').layout.yaxis.ticktext")
    assert sorted(shown) == sorted(names)
    assert "NoSuchGene" in page.locator(".notice").inner_text()


def test_dashboard_grid_of_violins(page, site):
    top = table(site, "top_qtls")
    top = top[top["modality"] == "expression"].sort_values("pval_nominal")
    genes = table(site, "genes").set_index("gene_id")["gene_name"]
    pairs = [f"{genes[r.gene_id]} {r.variant_id}" for r in top.head(2).itertuples()]
    page.goto("/dashboard")
    page.fill("#d-pairs", "\n".join(pairs))
    page.uncheck("input[name=tissue][value=Adipose]")
    page.click("#dashboard-form button[type=submit]")
    page.wait_for_url(re.compile(r"pairs="))
    plots = page.locator(".dash-plot")
    assert plots.count() == 2 * 2  # two pairs × Brain, Liver
    for i in range(plots.count()):
        assert plot_traces(page, plots.nth(i).get_attribute("id")) == 3
    screenshot(page, "dashboard")


@pytest.mark.parametrize("path, marker", [
    ("/downloads", "#kind-top_assoc"), ("/studies/demo2024", "#study-files"), ("/about", "#thresholds-table"),
    ("/data-access", "#citation"), ("/api/docs", "#swagger-ui .opblock"),
])
def test_information_pages(page, path, marker):
    """Each page renders (the API documentation: Swagger UI from the installed package) from the portal only."""
    page.goto(path)
    page.locator(marker).first.wait_for(state="attached")
    screenshot(page, "page" + path.replace("/", "-"))


def test_downloads_matrix_checksum_and_file(page, site):
    """A file of the matrix (covariates × Brain × expression): its checksum opens with one click and equals the
    downloaded file's; on a phone the page does not scroll sideways (the matrix scrolls in its box)."""
    manifest = pd.read_csv(site / "releases" / "v2" / "MANIFEST.tsv", sep="\t")
    row = manifest[manifest["path"] == "downloads/covariates.Brain.expression.v2.txt"].iloc[0]
    page.goto("/downloads")
    cell = page.locator("#kind-covariates td", has=page.locator(f"a[href='/releases/v2/{row['path']}']"))
    sha = cell.locator("details.sha code.sha-value")
    assert not sha.is_visible()
    cell.locator("details.sha summary").click()
    assert sha.is_visible() and sha.inner_text() == row["sha256"]
    screenshot(page, "downloads-checksum")
    with page.expect_download() as info:
        cell.locator("a.file-link").click()
    assert info.value.suggested_filename == row["path"].rsplit("/", 1)[-1]
    assert hashlib.sha256(open(info.value.path(), "rb").read()).hexdigest() == row["sha256"]


def test_downloads_on_a_phone(phone):
    phone.goto("/downloads")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    head = phone.locator("#kind-top_assoc .kind-head").bounding_box()
    assert head["x"] >= 0 and head["x"] + head["width"] <= 390  # the kind's description wraps on screen
    screenshot(phone, "downloads-phone")


def test_unknown_gene_page_offers_suggestions(page, site):
    gene = table(site, "genes")["gene_name"].iloc[0]
    response = page.goto(f"/gene/{gene[:-1]}")
    assert response.status == 404
    suggestion = page.locator("#suggestions a", has_text=gene)
    suggestion.click()
    page.wait_for_url(re.compile(rf"/gene/{gene}$"))
    screenshot(page, "gene-404-then-gene")


@pytest.mark.parametrize("path, plot", [("/", None), ("/gene/{gene}", "bubble-plot"), ("/variant/{variant}", "forest-plot"),
                                         ("/qtls", None)])
def test_phone_width_has_no_horizontal_scroll(phone, site, path, plot):
    top = table(site, "top_qtls").sort_values("pval_nominal").iloc[0]
    gene = table(site, "genes").set_index("gene_id").loc[top["gene_id"], "gene_name"]
    phone.goto(path.format(gene=gene, variant=top["variant_id"]))
    if plot:
        plot_traces(phone, plot)
        width = phone.evaluate(f"document.getElementById('{plot}').getBoundingClientRect().width")
        assert width <= 390
    overflow = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"the page is {overflow}px wider than the phone"
    screenshot(phone, "phone" + (path.split("/")[1] and "-" + path.split("/")[1] or "-home"))
