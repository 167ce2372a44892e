"""Table layout in Chromium, on every page with data tables (the portal's and the TWAS hub's):

- on a laptop (1400 × 900), the header of every statistic column (p, q, slope, SE, TWAS Z and P, PP4, CV R²…)
  of every table lies inside its table's visible box as the page loads: no sideways scrolling to read them;
- on a phone (390 × 844), the rows of a table with statistics are cards, and every card shows its p-value and
  effect (every statistic cell is laid out within the screen's width); the page never scrolls sideways.
"""

from __future__ import annotations

import pandas as pd
import pytest
from test_twas_pages import hub_app, hub_site
from twas_demo import RELEASE

from .conftest import checked_page, serve
from .portal_browser import download_tsv, screenshot

LAPTOP = {"width": 1400, "height": 900}
PHONE = {"width": 390, "height": 844}

#: The labels of the statistic columns: always on screen (never behind "More columns", never scrolled away).
STATISTICS = ["p", "q", "Slope", "SE", "p (beta)", "log2 aFC", "TWAS Z", "TWAS P", "PP4", "CV R²", "Significant",
              "PP.H4", "z", "PIP", "Best TWAS P", "Female", "Male", "Observed"]
#: Statistics of one page only (elsewhere the same columns are secondary, behind "More columns").
PAGE_STATISTICS = {"/twas/predict": ["h²", "h² P"]}

#: Per table wrap: the statistic headers outside the wrap's visible box (the CV R² of each weights method and
#: the home page's eGene counts per modality count as statistics).
HEADERS_OUTSIDE = """stats => {
  const bad = [];
  let checked = 0;
  for (const wrap of document.querySelectorAll('.table-wrap')) {
    const box = wrap.getBoundingClientRect();
    if (!box.width) continue;  // not rendered (a closed section)
    const table = wrap.querySelector('table');
    for (const th of wrap.querySelectorAll('thead th')) {
      const label = th.textContent.trim();
      if (!stats.includes(label) && !label.endsWith(' CV R²') && !(th.dataset.key || '').startsWith('egenes:')) continue;
      checked += 1;
      const r = th.getBoundingClientRect();
      if (!r.width || r.left < box.left - 1 || r.right > box.right + 1 || wrap.scrollLeft) {
        bad.push(`${table.id}: "${label}" at ${Math.round(r.left)}–${Math.round(r.right)}px, `
                 + `visible ${Math.round(box.left)}–${Math.round(box.right)}px`);
      }
    }
  }
  return { bad, checked };
}"""

#: Per table with statistic columns: whether its rows are cards and which statistic cells are not on screen.
CARDS = """stats => {
  const bad = [];
  let cells = 0;
  const width = window.innerWidth;
  for (const table of document.querySelectorAll('table.data')) {
    const wrap = table.closest('.table-wrap');
    if (wrap && !wrap.getBoundingClientRect().width) continue;
    const heads = [...table.tHead.rows[0].cells];
    const index = heads.map((th, i) => [th.textContent.trim(), i])
      .filter(([label]) => stats.includes(label) || label.endsWith(' CV R²'));
    if (!index.length) continue;
    const rows = [...table.tBodies[0].rows].filter((r) => !r.hidden);
    if (rows.length && getComputedStyle(rows[0]).display === 'table-row') {
      bad.push(`${table.id}: rows are not cards`);
      continue;
    }
    for (const row of rows) {
      for (const [label, i] of index) {
        const r = row.cells[i].getBoundingClientRect();
        cells += 1;
        if (!r.width || !r.height || r.left < -1 || r.right > width + 1) {
          bad.push(`${table.id} row ${row.sectionRowIndex}: "${label}" at ${Math.round(r.left)}–${Math.round(r.right)}px`);
          break;
        }
      }
      if (bad.length > 20) return { bad, cells };
    }
  }
  return { bad, cells };
}"""


def table(site, release, name) -> pd.DataFrame:
    return pd.read_parquet(site / "releases" / release / "tables" / f"{name}.parquet")


def portal_paths(site) -> list[str]:
    top = table(site, "v2", "top_qtls")
    gene = top.groupby("gene_id").size().sort_values(ascending=False).index[0]
    lead = top[top["modality"] == "expression"].sort_values("pval_nominal").iloc[0]
    tissue = table(site, "v2", "tissues")["tissue_id"].iloc[0]
    start, end = max(int(lead["pos"]) - 200_000, 1), int(lead["pos"]) + 200_000
    region = f"region={lead['chrom']}:{start}-{end}&tissue={lead['tissue']}&modality={lead['modality']}"
    studies = sorted(p.name for p in (site / "studies").iterdir() if (p / "study.json").is_file())
    return ["/", f"/tissue/{tissue}", f"/gene/{gene}", f"/variant/{lead['variant_id']}", "/qtls", f"/region?{region}",
            "/studies", *[f"/studies/{s}" for s in studies[:1]], "/downloads", "/about", "/?release=v1", "/samples"]


def hub_paths(hub) -> list[str]:
    traits = table(hub, RELEASE, "twas_traits")
    assoc = table(hub, RELEASE, "twas_associations")
    trait = traits.sort_values("n_significant", ascending=False)["id"].iloc[0]
    gene = assoc.sort_values("twas_p")["gene_name"].iloc[0]
    return ["/twas/traits", "/twas/projects", f"/twas/traits/{trait}", f"/twas/traits/{trait}/loci/1",
            f"/twas/genes/{gene}", "/twas/panels", "/twas/methods", "/twas/predict", f"/twas/predict?gene={gene}"]


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    return hub_site(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def hub_url(hub):
    yield from serve(hub_app(hub), "twas-layout-test-server")


def check_laptop(tab, paths) -> int:
    checked = 0
    for path in paths:
        response = tab.goto(path)
        assert response.status == 200, path
        tab.wait_for_load_state("load")
        stats = STATISTICS + PAGE_STATISTICS.get(path.split("?")[0], [])
        result = tab.evaluate(HEADERS_OUTSIDE, stats)
        assert not result["bad"], f"{path}: statistic headers off screen: {result['bad']}"
        checked += result["checked"]
    return checked


def check_phone(tab, paths, name) -> int:
    cells = 0
    for path in paths:
        tab.goto(path)
        tab.wait_for_load_state("load")
        result = tab.evaluate(CARDS, STATISTICS + PAGE_STATISTICS.get(path.split("?")[0], []))
        assert not result["bad"], f"{path}: {result['bad']}"
        overflow = tab.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path}: the page is {overflow}px wider than the phone"
        cells += result["cells"]
    screenshot(tab, name)
    return cells


def test_portal_statistics_stay_on_screen(browser, base_url, site):
    paths = portal_paths(site)
    for tab in checked_page(browser, base_url, LAPTOP):
        assert check_laptop(tab, paths) > 20
        screenshot(tab, "layout-laptop-portal")
    for tab in checked_page(browser, base_url, PHONE):
        assert check_phone(tab, paths, "layout-phone-portal") > 50


def test_twas_statistics_stay_on_screen(browser, hub_url, hub):
    paths = hub_paths(hub)
    for tab in checked_page(browser, hub_url, LAPTOP):
        assert check_laptop(tab, paths) > 10
    for tab in checked_page(browser, hub_url, PHONE):
        assert check_phone(tab, paths, "layout-phone-twas") > 20


def test_more_columns_alleles_and_short_ids(page, site):
    """The secondary columns hide behind "More columns" (and come back), REF and ALT show as one "Alleles" cell
    but download as their own raw columns, and a shortened phenotype id keeps the full id in title and data-v."""
    top = table(site, "v2", "top_qtls")
    gene = top.groupby("gene_id").size().sort_values(ascending=False).index[0]
    rows = top[top["gene_id"] == gene].set_index(["tissue", "modality", "phenotype_id"])
    page.goto(f"/gene/{gene}")
    secondary = page.locator("#top-table th.more")
    assert secondary.count() >= 2 and all(not h.is_visible() for h in secondary.all())
    toggle = page.locator("button[data-more='top-table']")
    assert toggle.get_attribute("aria-pressed") == "false"
    toggle.click()
    assert toggle.get_attribute("aria-pressed") == "true" and all(h.is_visible() for h in secondary.all())
    toggle.click()
    assert not secondary.first.is_visible()

    alleles = page.locator("#top-table th[data-key='ref']")
    assert alleles.inner_text().strip() == "Alleles" and alleles.get_attribute("data-tsv-keys") == "ref alt"
    tsv = download_tsv(page, "top-table")
    assert len(tsv) == len(rows) and {"ref", "alt", "af", "tss_distance"} <= set(tsv.columns)
    for r in tsv.itertuples():
        expected = rows.loc[(r.tissue, r.modality, r.phenotype_id)]
        assert (r.ref, r.alt) == (expected["ref"], expected["alt"])
    shown = page.evaluate("""() => [...document.querySelectorAll('#top-table td[data-label="Alleles"]')]
                                     .map(td => td.textContent.trim())""")
    assert sorted(shown) == sorted(f"{a}>{b}" for a, b in zip(rows["ref"], rows["alt"], strict=True))

    ids = page.evaluate("""() => [...document.querySelectorAll('#top-table td[data-label="Phenotype"]')]
                                  .map(td => [td.textContent.trim(), td.dataset.v ?? null, td.title])""")
    long = [i for i in ids if i[1] is not None]
    assert long, "the gene has long phenotype ids"
    for text, full, title in long:
        assert title == full and "…" in text and len(text) < len(full) and full in set(rows.index.get_level_values(2))
