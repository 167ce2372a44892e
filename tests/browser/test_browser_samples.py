"""The samples page in Chromium, on a release built with sample tables: on a laptop (1400 px) and a phone
(390 px) the page never scrolls sideways, the heatmap of shared individuals is drawn inside its scroll box, the
combination bars and the sample table fit the screen."""

from __future__ import annotations

import pytest
from test_sample_metadata import sample_inputs, sample_site

from qtlatlas.web.pages.samples import MAX_SAMPLE_ROWS

from .conftest import checked_page, serve
from .portal_browser import screenshot

SIZES = {"laptop": {"width": 1400, "height": 900}, "phone": {"width": 390, "height": 844}}

#: Elements of the page wider than the screen, or reaching past its right edge (the heatmap's scroll box counts,
#: not the SVG inside it, which may scroll).
OVERFLOWING = """() => {
  const width = window.innerWidth;
  const bad = [];
  for (const el of document.querySelectorAll('main *')) {
    if (el.closest('svg') || el.closest('.plot-scroll > *') || el.closest('.table-wrap > *')) continue;
    const r = el.getBoundingClientRect();
    if (r.width && (r.right > width + 1 || r.left < -1)) bad.push(`${el.tagName}.${el.className}#${el.id}: ${Math.round(r.left)}–${Math.round(r.right)}`);
    if (bad.length > 10) break;
  }
  return { bad, overflow: document.documentElement.scrollWidth - width };
}"""


@pytest.fixture(scope="module")
def sample_url(tmp_path_factory):
    from qtlatlas.web.app import create_app

    site = sample_site(sample_inputs(tmp_path_factory), tmp_path_factory)
    yield from serve(create_app(site), "samples-test-server")


@pytest.mark.parametrize("size", list(SIZES))
def test_samples_page_fits_the_screen(browser, sample_url, size):
    for tab in checked_page(browser, sample_url, SIZES[size]):
        response = tab.goto("/samples")
        assert response.status == 200
        tab.wait_for_load_state("load")
        result = tab.evaluate(OVERFLOWING)
        assert result["overflow"] <= 0 and not result["bad"], result
        cells = tab.locator("#shared-individuals rect")
        assert cells.count() == 9 and cells.first.is_visible()
        assert tab.locator("#tissue-combinations li").count() >= 2
        assert tab.locator("#sample-table tbody tr").count() == MAX_SAMPLE_ROWS  # the first rows; a note says so
        screenshot(tab, f"samples-{size}")
