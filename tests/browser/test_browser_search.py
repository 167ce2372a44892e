"""The search box's suggestions in Chromium: a partial rsID and a position offer variants (from the release's
variants, in order), a few letters of a tissue offer that tissue, and choosing a suggestion opens its page."""

from __future__ import annotations

import re

import pandas as pd

from .portal_browser import screenshot

OPTIONS = "#site-search-input-list [role=option]"


def variants(site, release="v2") -> pd.DataFrame:
    """The variants the release can show (those of its association tables), in genome order."""
    pairs = pd.read_parquet(site / "releases" / release / "tables" / "signif_pairs.parquet",
                            columns=["variant_id", "chrom", "pos"])
    return pairs.drop_duplicates("variant_id").sort_values(["chrom", "pos"])


def suggestions(page, text: str) -> list[str]:
    page.fill("#site-search-input", "")
    page.type("#site-search-input", text)
    page.locator(OPTIONS).first.wait_for()
    page.wait_for_timeout(300)  # the last keystroke's answer
    return [t.split("\n")[0].strip() for t in page.locator(OPTIONS).all_inner_texts()]


def test_partial_rsid_and_position_offer_variants(page, site):
    v = variants(site).iloc[len(variants(site)) // 2]
    page.goto("/about")
    prefix = v["variant_id"][:-1]
    offered = [s for s in suggestions(page, prefix) if s.startswith("rs")]
    assert offered and all(s.startswith(prefix) for s in offered)
    assert offered == sorted(offered, key=lambda s: int(s[2:]))  # in order, not as they come
    assert v["variant_id"] in offered or len(offered) == 5
    at = suggestions(page, f"{v['chrom']}:{int(v['pos'])}")
    assert v["variant_id"] in at
    screenshot(page, "search-variant-suggestions")
    page.locator(OPTIONS, has_text=v["variant_id"]).first.click()
    page.wait_for_url(re.compile(rf"/variant/{v['variant_id']}$"))
    assert page.locator("h1").inner_text() == v["variant_id"]


def test_tissue_name_is_suggested(page, site):
    tissues = pd.read_parquet(site / "releases" / "v2" / "tables" / "tissues.parquet")
    brain = tissues.set_index("tissue_id").loc["Brain"]
    page.goto("/")
    offered = suggestions(page, "hemi")  # a word inside the name "Brain hemisphere"
    assert offered[0] == brain["name"]
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/tissue/Brain$"))
    assert brain["name"] in page.locator("h1").inner_text()
    page.goto("/")
    offered = suggestions(page, "adip")
    assert tissues.set_index("tissue_id").loc["Adipose", "name"] in offered and brain["name"] not in offered
