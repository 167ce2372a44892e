"""Tables and exports in Chromium: sorting and filtering of a gene's QTL table, TSV download of exactly the
rows shown, SVG/PNG export of a plot, and the QTL browser's filters with the TSV of every filtered row."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from .portal_browser import assert_exports, column, download_tsv, plot_traces, screenshot


def table(site, name, release="v2") -> pd.DataFrame:
    return pd.read_parquet(site / "releases" / release / "tables" / f"{name}.parquet")


def busiest_gene(site) -> str:
    """The gene with top QTL rows in the most tissues × modalities."""
    top = table(site, "top_qtls")
    return top.groupby("gene_id").size().sort_values(ascending=False).index[0]


def test_gene_table_sort_filter_and_tsv(page, site):
    gene_id = busiest_gene(site)
    page.goto(f"/gene/{gene_id}")
    top = table(site, "top_qtls")
    rows = top[top["gene_id"] == gene_id]
    header = page.locator("#top-table th[data-key='slope'] button")
    header.click()
    slopes = [float(x) for x in column(page, "top-table", "slope")]
    assert slopes == sorted(slopes) and page.locator("#top-table th[data-key='slope']").get_attribute("aria-sort") == "ascending"
    header.click()
    assert [float(x) for x in column(page, "top-table", "slope")] == sorted(slopes, reverse=True)
    header.press("Enter")  # the sort buttons work from the keyboard
    assert [float(x) for x in column(page, "top-table", "slope")] == sorted(slopes)

    # filter by tissue: only its rows stay, the count says so
    tissue = rows["tissue"].value_counts().index[0]
    page.select_option("select[aria-label='Filter top-table by Tissue']", tissue)
    shown = column(page, "top-table", "tissue")
    assert set(shown) == {tissue} and len(shown) == int((rows["tissue"] == tissue).sum())
    assert page.locator("#top-table-block .table-count").inner_text().startswith(f"{len(shown)} of")
    page.fill("input[aria-label='Filter the rows of top-table']", "zzz-no-row-matches")
    assert column(page, "top-table", "tissue") == []
    page.fill("input[aria-label='Filter the rows of top-table']", "")

    # the TSV holds exactly the rows shown, in the order shown, with raw values
    tsv = download_tsv(page, "top-table")
    assert len(tsv) == len(shown) and set(tsv["tissue"]) == {tissue}
    assert sorted(tsv["pval_nominal"]) == pytest.approx(sorted(rows[rows["tissue"] == tissue]["pval_nominal"]))
    assert tsv["slope"].tolist() == sorted(tsv["slope"])
    screenshot(page, "gene-table-filtered")


def test_plot_exports_svg_and_png(page, site):
    page.goto(f"/gene/{busiest_gene(site)}")
    plot_traces(page, "bubble-plot")
    assert_exports(page, "bubble-plot")


def test_qtl_browser_filters_pages_and_downloads(page, site):
    top = table(site, "top_qtls")
    page.goto("/qtls")
    page.check("input[name=tissue][value=Liver]")
    page.fill("#f-qval", "0.5")
    page.click("#qtl-filters button[type=submit]")
    page.wait_for_url("**/qtls?*tissue=Liver*")
    liver = top[top["tissue"] == "Liver"]
    expected = liver[liver["qval"] <= 0.5]
    significant = int((liver["qval"] <= 0.05).sum())  # the demo's mapping.fdr
    shown = "all shown" if len(expected) == len(liver) else f"{len(expected):,} shown"
    assert page.locator("#results-heading").inner_text() == (
        f"{significant:,} significant QTL{'s' if significant != 1 else ''} (q ≤ 0.05) of {len(liver):,} tested; {shown}")
    assert set(column(page, "qtl-table", "tissue")) == {"Liver"}
    # sort by q-value through the header link (server-side, all pages)
    page.click("#qtl-table th[data-key='qval'] a")
    page.wait_for_url("**sort=qval**")
    q = [float(x) for x in column(page, "qtl-table", "qval")]
    assert q == sorted(q) and q[0] == expected["qval"].min()
    screenshot(page, "qtl-browser")
    with page.expect_download() as info:
        page.click("a:has-text('Download all')")
    rows = pd.read_csv(io.StringIO(open(info.value.path(), encoding="utf-8").read()), sep="\t")
    assert len(rows) == len(expected) and set(rows["tissue"]) == {"Liver"}
    assert rows["qval"].tolist() == sorted(rows["qval"])
