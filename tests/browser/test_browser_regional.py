"""Regional plots, the region view and the variant PheWAS in Chromium: a gene without any QTL shows its whole
cis window in LD colours, a click on a point makes it the LD reference (the diamond moves, the colours change),
the gene track names the neighbouring genes, other phenotypes come from the API, the legend never covers the
points (desktop and phone), and the PheWAS draws every tested pair. The ``page`` and ``phone`` fixtures fail a
test on any JavaScript error or request to another host."""

from __future__ import annotations

import json
import re
import urllib.request

import numpy as np
import pandas as pd
import pytest

from .portal_browser import plot_traces, screenshot


def table(site, name, release="v2") -> pd.DataFrame:
    return pd.read_parquet(site / "releases" / release / "tables" / f"{name}.parquet")


def embedded(base_url: str, path: str, script: str) -> dict:
    """The JSON a page embeds in ``<script id=script>``, read without a browser."""
    html = urllib.request.urlopen(base_url + path).read().decode()
    return json.loads(re.search(rf'<script type="application/json" id="{script}">(.*?)</script>', html, re.S).group(1))


def bins(regional: dict, reference: bool = True) -> set[int]:
    """The LocusZoom r² bins (0–4, −1: unknown) of the points a regional plot draws: every variant with a p-value,
    the reference variant included (r² 1 with itself: its bin's point lies under the reference diamond) unless
    ``reference`` is False."""
    drawn = [i for i, p in enumerate(regional["variants"]["nlog10p"])
             if p is not None and (reference or i != regional["lead"])]
    values = np.array([np.nan if regional["r2"][i] is None else regional["r2"][i] for i in drawn], dtype=float)
    return {int(b) if np.isfinite(x) else -1
            for b, x in zip(np.searchsorted([0.2, 0.4, 0.6, 0.8], np.nan_to_num(values), side="right"), values,
                            strict=True)}


@pytest.fixture(scope="module")
def no_qtl_gene(site, base_url) -> tuple[str, dict]:
    """The gene without any QTL whose default regional plot spans the most r² bins (at least two)."""
    status = table(site, "gene_status")
    genes = table(site, "genes").set_index("gene_id")
    without = sorted(set(status["gene_id"]) - set(status.loc[status["has_qtl"], "gene_id"]))
    found = [(genes.loc[g, "gene_name"], embedded(base_url, f"/gene/{g}", "gene-data")["regional"]) for g in without]
    # genes on chromosomes without genotypes (the demo's sex marker genes on chrX/chrY) have no regional plot
    assert all(data is None for g, (_, data) in zip(without, found, strict=True) if genes.loc[g, "chrom"] in ("chrX", "chrY"))
    found = [(n, data) for n, data in found if data is not None]
    name, data = max(found, key=lambda f: len(bins(f[1], reference=False)))
    # linked and unlinked variants besides the reference at least (the demo's LD leaves few in between)
    assert len(bins(data, reference=False)) >= 2
    return name, data


DRAWN = """id => document.getElementById(id).data.filter((t) => t.meta === 'variant' && t.name.startsWith('r²'))
  .map((t) => ({ name: t.name, colour: t.marker.color, n: t.x.filter((x) => x !== null).length }))"""
REFERENCE = """id => { const t = document.getElementById(id).data.find((x) => x.name.endsWith('(reference)'));
  return t ? { name: t.name, x: t.x[0], y: t.y[0] } : null; }"""
PIXEL = """([id, x, y]) => { const el = document.getElementById(id); const fl = el._fullLayout;
  const r = el.getBoundingClientRect();
  return [r.left + fl.xaxis._offset + fl.xaxis.l2p(x), r.top + fl.yaxis._offset + fl.yaxis.l2p(y)]; }"""
LEGEND_CLEAR = """id => { const el = document.getElementById(id); const fl = el._fullLayout;
  const legend = el.querySelector('g.legend').getBoundingClientRect();
  const panelTop = el.getBoundingClientRect().top + fl.yaxis._offset;
  return { legendBottom: legend.bottom, panelTop, legendRight: legend.right,
           plotRight: el.getBoundingClientRect().right }; }"""


def test_regional_plot_of_a_gene_without_a_qtl_shows_its_window_in_ld_colours(page, no_qtl_gene):
    name, data = no_qtl_gene
    page.goto(f"/gene/{name}")
    plot_traces(page, "regional-plot")
    assert page.locator("#regional-plot svg.static-plot").count() == 0  # the server's SVG was replaced
    drawn = page.evaluate(DRAWN, "regional-plot")
    assert sum(t["n"] for t in drawn) == sum(y is not None for y in data["variants"]["nlog10p"])
    assert len({t["colour"] for t in drawn if t["n"]}) == len(bins(data))  # a colour per LD bin of the data
    assert {t["name"] for t in drawn} == {"r² 0.8–1", "r² 0.6–0.8", "r² 0.4–0.6", "r² 0.2–0.4", "r² 0–0.2",
                                          "r² unknown"}  # every bin named in the legend
    ref = page.evaluate(REFERENCE, "regional-plot")
    lead = data["lead"]
    assert ref["name"] == f"{data['reference']} (reference)"
    assert ref["x"] == pytest.approx(data["variants"]["pos"][lead] / 1e6)
    x_range = page.evaluate("document.getElementById('regional-plot').layout.xaxis.range")
    assert x_range == pytest.approx([data["window"][0] / 1e6, data["window"][1] / 1e6])
    threshold = page.evaluate("document.getElementById('regional-plot').data.find((t) => (t.name || '').startsWith('p threshold'))")
    assert (threshold is not None) == (data["threshold"] is not None)
    screenshot(page, "regional-no-qtl")


def test_clicking_a_point_makes_it_the_ld_reference(page, no_qtl_gene):
    name, data = no_qtl_gene
    page.goto(f"/gene/{name}")
    plot_traces(page, "regional-plot")
    before = page.evaluate(DRAWN, "regional-plot")
    v = data["variants"]
    # an isolated point away from the lead: the largest distance to its nearest neighbour (in axis fractions)
    x = (np.array(v["pos"]) - data["window"][0]) / (data["window"][1] - data["window"][0])
    y = np.array([np.nan if a is None else a for a in v["nlog10p"]]) / np.nanmax([a or 0 for a in v["nlog10p"]])
    d = np.hypot(x[:, None] - x[None, :], (y[:, None] - y[None, :]) / 3)
    np.fill_diagonal(d, np.inf)
    d[np.isnan(d)] = np.inf  # variants without a p-value are not drawn: no neighbour
    inside = (x > 0.02) & (x < 0.98)  # not on the axis line at either end of the window
    nearest = np.where(np.isfinite(y) & inside, d.min(axis=1), -1)
    nearest[data["lead"]] = -1
    target = int(np.argmax(nearest))
    page.locator("#regional-plot").scroll_into_view_if_needed()
    px, py = page.evaluate(PIXEL, ["regional-plot", v["pos"][target] / 1e6, v["nlog10p"][target]])
    page.mouse.move(px, py)
    page.mouse.click(px, py)
    page.wait_for_function(f"() => document.getElementById('regional-plot').data"
                           f".some((t) => t.name === '{v['id'][target]} (reference)')")
    ref = page.evaluate(REFERENCE, "regional-plot")
    assert ref["x"] == pytest.approx(v["pos"][target] / 1e6)  # the diamond moved
    after = page.evaluate(DRAWN, "regional-plot")
    assert [t["n"] for t in after] != [t["n"] for t in before]  # recoloured
    assert sum(t["n"] for t in after) == sum(t["n"] for t in before)
    assert any("/api/v1/ld?" in u and "layout=columns" in u and "tissue=" in u for u in page.guard.requests)
    assert v["id"][target] in page.locator("#regional-status").inner_text()
    screenshot(page, "regional-new-reference")


def test_gene_track_names_the_neighbouring_genes(page, site, no_qtl_gene):
    name, data = no_qtl_gene
    genes = table(site, "genes")
    lo, hi = data["window"]
    gene = genes[genes["gene_name"] == name].iloc[0]
    expected = genes[(genes["chrom"] == gene["chrom"]) & (genes["start"] <= hi) & (genes["end"] >= lo)]
    assert len(expected) >= 2
    page.goto(f"/gene/{name}")
    plot_traces(page, "regional-plot")
    shown = page.eval_on_selector_all("#regional-plot g.textpoint text", "ts => ts.map((t) => t.textContent)")
    names = {s.replace("→", "").replace("←", "").strip() for s in shown}
    assert names == set(expected["gene_name"])
    # a neighbour's name opens its page
    other = next(n for n in expected["gene_name"] if n != name)
    page.locator("#regional-plot g.textpoint text", has_text=re.compile(rf"^(← )?{other}( →)?$")).click(force=True)
    page.wait_for_url(re.compile(rf"/gene/{other}$"))


def test_another_phenotype_comes_from_the_api(page, site):
    page.goto("/gene/Ccdc59")
    plot_traces(page, "regional-plot")
    page.select_option("#regional-tissue", label="Brain hemisphere")
    modality = page.locator("#regional-modality option", has_text="Intron excision").get_attribute("value")
    page.select_option("#regional-modality", modality)
    page.wait_for_function("() => /Intron excision|r² with/.test(document.getElementById('regional-status').textContent)")
    phenotypes = page.eval_on_selector_all("#regional-phenotype option", "os => os.map((o) => o.value)")
    assert len(phenotypes) >= 2 and all("clu_" in p for p in phenotypes)
    page.select_option("#regional-phenotype", phenotypes[-1])
    page.wait_for_function(f"() => performance.getEntriesByType('resource').some((e) => "
                           f"e.name.includes(encodeURIComponent('{phenotypes[-1]}')))")
    page.wait_for_function("() => document.getElementById('regional-status').textContent.startsWith('r² with')")
    assert any("/api/v1/regional/gene/" in u and "modality=splicing" in u for u in page.guard.requests)
    drawn = page.evaluate(DRAWN, "regional-plot")
    assert sum(t["n"] for t in drawn) > 50


@pytest.mark.parametrize("fixture", ["page", "phone"])
def test_regional_legend_never_covers_the_points(request, fixture):
    tab = request.getfixturevalue(fixture)
    tab.goto("/gene/Sema20c")
    plot_traces(tab, "regional-plot")
    box = tab.evaluate(LEGEND_CLEAR, "regional-plot")
    assert box["legendBottom"] <= box["panelTop"] + 1 and box["legendRight"] <= box["plotRight"] + 1
    overflow = tab.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1
    screenshot(tab, f"regional-{fixture}")


def test_variant_phewas_draws_every_tested_pair(page, site, base_url):
    top = table(site, "top_qtls").sort_values("pval_nominal").iloc[0]
    vid = top["variant_id"]
    page.goto(f"/variant/{vid}")
    assert plot_traces(page, "phewas-plot") >= 2
    tested = json.loads(urllib.request.urlopen(f"{base_url}/api/v1/all-pairs/variant/{vid}?limit=10000").read())
    points = page.evaluate("document.getElementById('phewas-plot').data.reduce((n, t) => n + t.x.length, 0)")
    phewas = embedded(base_url, f"/variant/{vid}", "variant-data")["phewas"]
    assert points == len(phewas["y"]) >= tested["meta"]["total"]
    triangles = page.evaluate("""document.getElementById('phewas-plot').data
        .filter((t) => Array.isArray(t.marker.symbol)).reduce((n, t) => n + t.x.length, 0)""")
    assert triangles == sum(phewas["hi"]) >= 1
    page.hover("#phewas-plot")
    screenshot(page, "variant-phewas")


def test_region_view_colours_by_ld_or_phenotype(page, site):
    page.goto("/qtls?region=chr1:9000001-11000000")
    page.click("a:has-text('Plot every tested pair')")
    page.wait_for_url(re.compile(r"/region\?region="))
    page.select_option("#r-modality", "splicing")
    page.click("#region-form button[type=submit]")
    page.wait_for_url(re.compile(r"modality=splicing"))
    plot_traces(page, "region-plot")
    data = page.evaluate("JSON.parse(document.getElementById('region-data').textContent)")
    drawn = page.evaluate(DRAWN, "region-plot")
    assert sum(t["n"] for t in drawn) == sum(y is not None for y in data["variants"]["nlog10p"]) > 100
    page.select_option("#r-colour", "phenotype")
    page.wait_for_function("() => document.getElementById('region-plot').data.some((t) => t.name.includes('·'))")
    names = page.evaluate("document.getElementById('region-plot').data.filter((t) => t.meta === 'variant')"
                          ".map((t) => t.name)")
    assert {p["label"] for p in data["phenotypes"]} <= set(names)
    assert "colour=phenotype" in page.url
    screenshot(page, "region-view")
