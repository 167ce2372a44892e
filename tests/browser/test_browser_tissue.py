"""The tissue page in Chromium: QQ plot of the lead p-values (own axes, null band, λ_GC) and Manhattan plot
(eGene threshold line, labels of the top genes that do not overlap), on a desktop and a phone."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from .portal_browser import plot_traces, screenshot

TISSUE = "Brain"


def leads(site, tissue=TISSUE, modality="expression") -> pd.DataFrame:
    """The lead of every gene, as the page computes it from the release's tables."""
    tables = site / "releases" / "v2" / "tables"
    top = pd.read_parquet(tables / "top_qtls.parquet")
    genes = pd.read_parquet(tables / "genes.parquet")
    top = top[(top["tissue"] == tissue) & (top["modality"] == modality) & top["gene_id"].isin(genes["gene_id"])]
    return top.groupby("gene_id").agg(pval_nominal=("pval_nominal", "min"), pval_beta=("pval_beta", "min"),
                                      qval=("qval", "min"))


def boxes(page, plot_id: str) -> list[dict]:
    return page.evaluate(
        """id => [...document.querySelectorAll(`#${id} g.annotation`)].map(a => {
             const r = a.querySelector('rect.bg').getBoundingClientRect();
             return { x0: r.left, x1: r.right, y0: r.top, y1: r.bottom, text: a.textContent }; })""", plot_id)


def overlap(a: dict, b: dict) -> bool:
    return a["x0"] < b["x1"] and b["x0"] < a["x1"] and a["y0"] < b["y1"] and b["y0"] < a["y1"]


def test_qq_plot_axes_band_and_inflation(page, site):
    lead = leads(site)
    p = lead["pval_beta"].dropna().to_numpy(np.float64)
    assert len(p)  # the demo release has permutation p-values: the QQ plot uses them
    n = len(p)
    expected_lambda = float(np.median(stats.chi2.isf(p, 1)) / stats.chi2.ppf(0.5, 1))
    page.goto(f"/tissue/{TISSUE}")
    plot_traces(page, "qq-plot")
    layout = page.evaluate("document.getElementById('qq-plot')._fullLayout.xaxis.range")
    y_range = page.evaluate("document.getElementById('qq-plot')._fullLayout.yaxis.range")
    x_max = -np.log10(1 / (n + 1))
    assert layout[1] == pytest.approx(x_max, rel=0.05)
    assert y_range[1] != pytest.approx(layout[1], rel=0.05)
    assert y_range[1] >= -np.log10(p.min())
    traces = page.evaluate("document.getElementById('qq-plot').data.map(t => ({name: t.name, fill: t.fill || null}))")
    assert {"name": "95% band", "fill": "tonexty"} in traces
    shown = float(page.locator("#qq-lambda").get_attribute("data-lambda"))
    assert shown == pytest.approx(round(expected_lambda, 3), abs=1e-9)
    assert f"{expected_lambda:.3f}" in page.locator("#qq-lambda").inner_text()
    assert f"{expected_lambda:.3f}" in page.locator("#qq-plot g.annotation").first.text_content()
    # the axis titles lie inside the plot's box
    assert_titles_visible(page, "qq-plot")


def assert_titles_visible(page, plot_id: str) -> None:
    inside = page.evaluate(
        """id => { const el = document.getElementById(id).getBoundingClientRect();
             return [...document.querySelectorAll(`#${id} .xtitle, #${id} .ytitle`)].map(t => {
               const r = t.getBoundingClientRect();
               return r.width > 0 && r.left >= el.left - 0.5 && r.right <= el.right + 0.5
                      && r.top >= el.top - 0.5 && r.bottom <= el.bottom + 0.5; }); }""", plot_id)
    assert inside == [True, True]


@pytest.mark.parametrize("width, labels", [(1400, 5), (390, 3)])
def test_manhattan_threshold_and_top_gene_labels(browser_page, site, width, labels):
    page = browser_page(width)
    lead = leads(site)
    fdr = json.loads((site / "releases" / "v2" / "release.json").read_text())["mapping"]["fdr"]
    threshold = -np.log10(lead.loc[lead["qval"] <= fdr, "pval_nominal"].max())
    page.goto(f"/tissue/{TISSUE}")
    plot_traces(page, "manhattan-plot")
    plot_traces(page, "qq-plot")
    page.wait_for_function("document.getElementById('manhattan-plot').dataset.labels === 'true'")
    line = page.evaluate("""document.getElementById('manhattan-plot').data
                            .filter(t => (t.name || '').startsWith('eGene threshold')).map(t => t.y)""")
    assert len(line) == 1 and line[0][0] == pytest.approx(threshold, abs=1e-3) and line[0][0] == line[0][1]
    found = boxes(page, "manhattan-plot")
    assert len(found) == labels
    top = lead.sort_values("pval_nominal").index[:labels]
    genes = pd.read_parquet(site / "releases" / "v2" / "tables" / "genes.parquet").set_index("gene_id")["gene_name"]
    assert sorted(b["text"] for b in found) == sorted(genes[top])
    for i, a in enumerate(found):
        for b in found[i + 1:]:
            assert not overlap(a, b), (a, b)
    for plot in ("qq-plot", "manhattan-plot"):
        assert_titles_visible(page, plot)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1
    screenshot(page, f"tissue-{width}")


@pytest.fixture
def browser_page(browser, base_url):
    """A page of a given width, checked like the ``page`` fixture."""
    from .conftest import checked_page

    pages = []

    def make(width: int):
        gen = checked_page(browser, base_url, {"width": width, "height": 900 if width > 500 else 844})
        pages.append(gen)
        return next(gen)

    yield make
    for gen in pages:
        next(gen, None)
