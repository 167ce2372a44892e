"""Helpers of the browser tests: screenshots into test-artifacts/browser/ and waiting for plotly plots."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from playwright.sync_api import Page

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "browser"


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot as test-artifacts/browser/NAME.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def plot_traces(page: Page, plot_id: str) -> int:
    """Wait for a plotly plot to be drawn (an SVG with at least one trace) and return its number of traces."""
    page.wait_for_function(
        """id => { const el = document.getElementById(id);
                   return el && el.data && el.querySelector('.main-svg')
                          && el.querySelectorAll('g.trace, g.hm, g.violinlayer .trace').length > 0; }""",
        arg=plot_id)
    return page.evaluate("id => document.getElementById(id).data.length", plot_id)


def assert_exports(page: Page, svg_plot: str, png_plot: str | None = None) -> None:
    """The plot-tools buttons download a real SVG of ``svg_plot`` and a real PNG of ``png_plot`` (default: the
    same plot)."""
    with page.expect_download() as info:
        page.click(f".plot-tools[data-plot='{svg_plot}'] button[data-export='svg']")
    svg = open(info.value.path(), encoding="utf-8").read()
    assert info.value.suggested_filename.endswith(".svg") and svg.lstrip().startswith("<svg") and "</svg>" in svg
    with page.expect_download() as info:
        page.click(f".plot-tools[data-plot='{png_plot or svg_plot}'] button[data-export='png']")
    assert open(info.value.path(), "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def column(page: Page, table_id: str, key: str) -> list[str]:
    """data-v (or text) of a column of a portal table over its visible rows, in display order."""
    return page.evaluate(
        """([id, key]) => { const t = document.getElementById(id);
             const i = [...t.tHead.rows[0].cells].findIndex(c => c.dataset.key === key);
             return [...t.tBodies[0].rows].filter(r => !r.hidden)
               .map(r => r.cells[i].dataset.v ?? r.cells[i].textContent.trim()); }""",
        [table_id, key])


def download_tsv(page: Page, table_id: str) -> pd.DataFrame:
    """The TSV a table's download button saves (empty cells as missing values)."""
    with page.expect_download() as info:
        page.click(f"button[data-tsv='{table_id}']")
    assert info.value.suggested_filename.endswith(".tsv")
    return pd.read_csv(info.value.path(), sep="\t", keep_default_na=False, na_values=[""])
