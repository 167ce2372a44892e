"""Plots on a phone (390 × 844): no two text labels of a plot overlap (tick labels, annotations, legend entries,
titles, colour bars) on every page with plots; on a desktop, the variant page's forest plot keeps its legend
clear of its axis title and takes the page's width. Also: SVG exports carry a title naming the gene or variant,
tissue and modality, and the phenotype labels of plots.js agree with qtlatlas.web.pages.phenotype_labels."""

from __future__ import annotations

import pandas as pd
import pytest
from test_twas_pages import hub_app, hub_site
from twas_demo import RELEASE

from qtlatlas.web.pages.phenotype_labels import phenotype_label

from .conftest import PHONE, checked_page, serve
from .portal_browser import plot_traces, screenshot

TEXTS = """id => {
  const el = document.getElementById(id);
  const box = el.getBoundingClientRect();
  const shown = (t) => {
    for (let a = t; a && a !== el; a = a.parentElement) {
      const s = getComputedStyle(a);
      if (s.display === 'none' || s.visibility === 'hidden' || Number(s.opacity) === 0) return false;
    }
    return true;
  };
  return [...el.querySelectorAll('svg text')].filter((t) => t.textContent.trim() && shown(t)).map((t) => {
    const r = t.getBoundingClientRect();
    return { text: t.textContent.trim(), cls: t.getAttribute('class') || '', x0: r.left, x1: r.right, y0: r.top, y1: r.bottom };
  }).filter((r) => r.x1 - r.x0 > 0.5 && r.y1 - r.y0 > 0.5
      && r.x1 > box.left && r.x0 < box.right && r.y1 > box.top && r.y0 < box.bottom);
}"""

ALL_DRAWN = """() => [...document.querySelectorAll('.plot')].every(
  (p) => (p.dataset.plotted && p.querySelector('.main-svg')) || p.classList.contains('has-message'))"""

#: Overlap allowed: touching boxes, and the 1 px of a glyph box's descent over the next line.
SLACK = 1.5


def overlapping(boxes: list[dict]) -> list[tuple[str, str]]:
    found = []
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            w = min(a["x1"], b["x1"]) - max(a["x0"], b["x0"])
            h = min(a["y1"], b["y1"]) - max(a["y0"], b["y0"])
            if w > SLACK and h > SLACK:
                found.append((f"{a['cls']}:{a['text']}", f"{b['cls']}:{b['text']}"))
    return found


def plots_of(page) -> list[str]:
    page.wait_for_function(ALL_DRAWN)
    page.wait_for_timeout(400)  # plots redrawn once laid out (the regional plot's legend)
    page.wait_for_function(ALL_DRAWN)
    return page.evaluate("[...document.querySelectorAll('.plot')].filter((p) => p.dataset.plotted).map((p) => p.id)")


def assert_no_overlap(page, name: str, expected: list[str]) -> None:
    for plot in expected:
        plot_traces(page, plot)
    drawn = plots_of(page)
    assert set(expected) <= set(drawn), drawn
    problems = {}
    for plot in drawn:
        found = overlapping(page.evaluate(TEXTS, plot))
        if found:
            problems[plot] = found[:6]
    screenshot(page, f"phone-plots-{name}")
    assert not problems, problems


def table(site, name, release="v2") -> pd.DataFrame:
    return pd.read_parquet(site / "releases" / release / "tables" / f"{name}.parquet")


def top_gene_and_variant(site) -> tuple[str, str]:
    top = table(site, "top_qtls").sort_values("pval_nominal").iloc[0]
    gene = table(site, "genes").set_index("gene_id").loc[top["gene_id"], "gene_name"]
    return str(gene), str(top["variant_id"])


def tss_variant(site) -> tuple[str, str, str]:
    """A variant with an alternative TSS association (its violins titled by a TSS label)."""
    top = table(site, "top_qtls")
    top = top[top["modality"] == "alt_TSS"].sort_values("pval_nominal").iloc[0]
    gene = table(site, "genes").set_index("gene_id").loc[top["gene_id"], "gene_name"]
    return str(top["variant_id"]), str(gene), str(top["phenotype_id"])


@pytest.mark.parametrize("name, path, plots", [
    ("tissue", "/tissue/Brain", ["qq-plot", "manhattan-plot"]),
    ("tissue-splicing", "/tissue/Brain?modality=splicing", ["qq-plot", "manhattan-plot"]),
    ("gene", "/gene/{gene}", ["expression-plot", "bubble-plot", "regional-plot"]),
    ("variant", "/variant/{variant}", ["phewas-plot", "forest-plot", "pbg-plot"]),
    ("region", "/region?region=chr1:9000001-11000000&modality=splicing", ["region-plot"]),
    ("expression", "/expression?tissue=Liver&n=25", ["heatmap-plot"]),
    ("dashboard", "/dashboard", []),
])
def test_phone_plot_labels_do_not_overlap(phone, site, name, path, plots):
    gene, variant = top_gene_and_variant(site)
    phone.goto(path.format(gene=gene, variant=variant))
    assert_no_overlap(phone, name, plots)


# -- the TWAS hub (its own demo site) ----------------------------------------------------------------

@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    return hub_site(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def hub_url(hub):
    yield from serve(hub_app(hub), "twas-hub-phone-server")


@pytest.fixture
def phone_tab(browser, hub_url):
    yield from checked_page(browser, hub_url, PHONE)


def hub_gene(hub) -> str:
    tables = hub / "releases" / RELEASE / "tables"
    models = pd.read_parquet(tables / "twas_models.parquet")
    gene_id = models["gene_id"].value_counts().index[0]
    assoc = pd.read_parquet(tables / "twas_associations.parquet").set_index("gene_id")
    return str(assoc.loc[gene_id, "gene_name"].iloc[0])


@pytest.mark.parametrize("name, path, plots", [
    ("twas-traits", "/twas/traits", ["traits-plot"]),
    ("twas-trait", "/twas/traits/body_weight", ["manhattan-plot"]),
    ("twas-locus", "/twas/traits/body_weight/loci/1", ["locus-plot"]),
    ("twas-gene", "/twas/genes/{gene}", ["zmap-plot", "cv-plot"]),
    ("twas-panels", "/twas/panels", ["panels-plot"]),
])
def test_phone_twas_plot_labels_do_not_overlap(phone_tab, hub, name, path, plots):
    phone_tab.goto(path.format(gene=hub_gene(hub)))
    assert_no_overlap(phone_tab, name, plots)


# -- the variant page's forest plot on a desktop ---------------------------------------------------

def test_forest_plot_full_width_legend_clear_of_axis_title(browser, base_url, site):
    gen = checked_page(browser, base_url, {"width": 1400, "height": 900})
    page = next(gen)
    try:
        _, variant = top_gene_and_variant(site)
        page.goto(f"/variant/{variant}")
        plot_traces(page, "forest-plot")
        page.wait_for_timeout(200)
        boxes = page.evaluate("""() => {
          const r = (sel) => { const e = document.querySelector(sel); if (!e) return null;
                               const b = e.getBoundingClientRect(); return {x0: b.left, x1: b.right, y0: b.top, y1: b.bottom}; };
          return { legend: r('#forest-plot g.legend'), title: r('#forest-plot .xtitle'), plot: r('#forest-plot'),
                   main: r('main') || r('body') }; }""")
        assert boxes["title"] and boxes["legend"]
        assert not overlapping([{**boxes["legend"], "text": "legend", "cls": ""},
                                {**boxes["title"], "text": "x title", "cls": ""}])
        # the legend lies outside the plotting area (never over the points or the axis)
        area = page.evaluate("""() => { const b = document.querySelector('#forest-plot .nsewdrag').getBoundingClientRect();
                                        return {x0: b.left, x1: b.right, y0: b.top, y1: b.bottom}; }""")
        assert not overlapping([{**boxes["legend"], "text": "legend", "cls": ""}, {**area, "text": "area", "cls": ""}])
        assert boxes["plot"]["x1"] - boxes["plot"]["x0"] > 0.8 * (boxes["main"]["x1"] - boxes["main"]["x0"])
        assert not overlapping(page.evaluate(TEXTS, "forest-plot"))
        screenshot(page, "variant-forest-1400")
    finally:
        next(gen, None)


# -- exported figures ----------------------------------------------------------------------------------

def exported_svg(page, plot: str) -> str:
    with page.expect_download() as info:
        page.click(f".plot-tools[data-plot='{plot}'] button[data-export='svg']")
    svg = open(info.value.path(), encoding="utf-8").read()
    assert svg.lstrip().startswith("<svg")
    return svg


def texts_of(svg: str) -> str:
    import re
    from html import unescape

    return unescape(re.sub(r"<[^>]+>", " ", " ".join(re.findall(r"<text\b.*?</text>", svg, flags=re.S))))


def test_gene_page_exports_name_gene_tissue_and_modality(page, site):
    gene, _ = top_gene_and_variant(site)
    page.goto(f"/gene/{gene}")
    for plot in ("expression-plot", "bubble-plot", "regional-plot"):
        plot_traces(page, plot)
    expression = texts_of(exported_svg(page, "expression-plot"))
    assert gene in expression and "Expression" in expression and "every tissue" in expression
    modality = page.evaluate("document.getElementById('bubble-modality').selectedOptions[0].textContent")
    bubble = texts_of(exported_svg(page, "bubble-plot"))
    assert gene in bubble and modality in bubble and "every tissue" in bubble
    tissue = page.evaluate("document.getElementById('regional-tissue').selectedOptions[0].textContent")
    modality = page.evaluate("document.getElementById('regional-modality').selectedOptions[0].textContent")
    regional = texts_of(exported_svg(page, "regional-plot"))
    assert gene in regional and tissue in regional and modality in regional


def test_variant_page_exports_name_variant_tissue_and_modality(page, site):
    variant, gene, phenotype = tss_variant(site)
    page.goto(f"/variant/{variant}")
    for plot in ("phewas-plot", "forest-plot", "pbg-plot"):
        plot_traces(page, plot)
    for plot in ("phewas-plot", "forest-plot"):
        text = texts_of(exported_svg(page, plot))
        assert variant in text and "every tissue" in text and "modalit" in text
    choice = page.evaluate("document.getElementById('pbg-choice').selectedOptions[0].textContent")
    tissue, modality = [x.strip() for x in choice.split(" · ")[:2]]
    pbg = texts_of(exported_svg(page, "pbg-plot"))
    assert variant in pbg and tissue in pbg and modality in pbg
    # the violins' axis names the phenotype by its label, never its raw id
    title = page.evaluate("document.querySelector('#pbg-plot .ytitle').textContent")
    assert phenotype not in title


# -- phenotype labels: one rule in Python and in plots.js ----------------------------------------------

def test_phenotype_labels_of_plots_js_agree_with_python(page, site):
    page.goto("/")
    rows = []
    top = table(site, "top_qtls").drop_duplicates(["modality", "phenotype_id"]).groupby("modality").head(3)
    names = table(site, "genes").set_index("gene_id")["gene_name"]
    for r in top.itertuples():
        rows.append([r.modality, r.phenotype_id, names.get(r.gene_id)])
    rows += [["splicing", "G__1:1200:1900:clu_12_+", "Abc"], ["alt_TSS", "G__ENST7", None], ["stability", "G", "S"]]
    js = page.evaluate("""async (rows) => { const m = await import('/static/portal/plots.js');
                            return rows.map(([mod, id, g]) => m.phenotypeLabel(mod, id, g)); }""", rows)
    assert js == [phenotype_label(*r) for r in rows]
