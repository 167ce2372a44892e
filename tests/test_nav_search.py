"""Site navigation and search on the small demo site: the Studies entry of the nav, the way back from the API
documentation, /search resolving a tissue, and autocomplete of partial variant ids and positions."""

from __future__ import annotations

import pandas as pd
import pytest


def table(site, release, name) -> pd.DataFrame:
    return pd.read_parquet(site / "releases" / release / "tables" / f"{name}.parquet")


def test_nav_lists_the_studies(client):
    html = client.get("/").text
    nav = html[html.index('<nav class="site-nav"'):html.index("</nav>", html.index('<nav class="site-nav"'))]
    assert 'href="/studies"' in nav and ">Studies<" in nav
    studies = client.get("/studies").text
    current = studies[studies.index('<nav class="site-nav"'):]
    assert 'href="/studies" aria-current="page"' in current
    pinned = client.get("/?release=v1").text
    assert 'href="/studies?release=v1"' in pinned


def test_api_docs_link_back_to_the_portal(client):
    r = client.get("/api/docs")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert '<a href="/"' in r.text and "back to the portal" in r.text
    assert "/static/swagger/swagger-ui-bundle.js" in r.text and "cdn" not in r.text.lower()


@pytest.mark.parametrize("q", ["Adipose", "adipose", "ADIPOSE", "Adipose tissue", "adipose TISSUE", " adipose "])
def test_search_goes_to_a_tissue_by_id_or_name(client, site, q):
    tissues = table(site, "v2", "tissues").set_index("tissue_id")
    assert tissues.loc["Adipose", "name"] == "Adipose tissue"
    r = client.get("/search", params={"q": q}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/tissue/Adipose"
    pinned = client.get("/search", params={"q": q, "release": "v1"}, follow_redirects=False)
    assert pinned.headers["location"] == "/tissue/Adipose?release=v1"


def test_search_of_a_partial_tissue_name_is_not_a_tissue(client):
    r = client.get("/search", params={"q": "adipose tiss"}, follow_redirects=False)
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")


def _search(client, q, **params):
    r = client.get("/api/v1/variants/search", params={"q": q, **params})
    assert r.status_code == 200, r.text[:300]
    return r.json()["data"]


def test_autocomplete_of_a_partial_rsid_ranks_exact_then_shorter_then_by_id(client, site):
    ids = sorted(table(site, "v2", "variants")["variant_id"])
    prefix = ids[0][:-1]  # a prefix several ids share (rs10000x)
    expected = sorted((i for i in ids if i.startswith(prefix)), key=lambda i: (len(i), i))[:4]
    assert len(expected) > 1
    hits = _search(client, prefix.upper(), limit=4)
    assert [h["variant_id"] for h in hits] == expected
    assert {h["match"] for h in hits} == {"prefix"}
    assert set(hits[0]) >= {"variant_id", "chrom", "pos", "ref", "alt", "af"}
    exact = _search(client, ids[0], limit=3)
    assert exact[0]["variant_id"] == ids[0] and exact[0]["match"] == "exact"


def test_variant_prefix_ranking_puts_shorter_ids_first(site):
    from qtlatlas.store import Site

    release = Site(site).release("v2")
    rows = [{"variant_id": v, "chrom": "chr1", "pos": 1, "ref": "A", "alt": "C", "af": None}
            for v in ("rs105770", "rs1057700", "rs10577", "rs105771")]

    class Index:
        def with_prefix(self, prefix, limit):
            assert prefix == "rs10577"
            return [dict(r) for r in rows]

    release._variant_index = lambda: Index()
    hits = release.search_variants("rs10577", 3)
    assert [h["variant_id"] for h in hits] == ["rs10577", "rs105770", "rs105771"]
    assert [h["match"] for h in hits] == ["exact", "prefix", "prefix"]


def test_autocomplete_of_a_position_gives_the_variants_at_or_after_it(client, site):
    variants = table(site, "v2", "variants").sort_values(["chrom", "pos", "variant_id"])
    v = variants.iloc[5]
    at = _search(client, f"{v['chrom']}:{v['pos']}", limit=2)
    assert at[0]["variant_id"] == v["variant_id"] and at[0]["match"] == "position"
    after = _search(client, f"{v['chrom']}:{v['pos'] - 1}", limit=1)
    assert after[0]["variant_id"] == v["variant_id"]
    chrom = variants[variants["chrom"] == v["chrom"]]
    following = chrom[chrom["pos"] > v["pos"]].iloc[0]
    assert _search(client, f"{v['chrom']}:{v['pos'] + 1}", limit=1)[0]["variant_id"] == following["variant_id"]
    unprefixed = str(v["chrom"]).removeprefix("chr")
    assert _search(client, f"{unprefixed}:{v['pos']}", limit=1)[0]["variant_id"] == v["variant_id"]


@pytest.mark.parametrize("q", ["rs999999999", "zzz", "chr99:1", "chr1:999999999", "%", "rs_"])
def test_autocomplete_of_unknown_text_is_empty(client, q):
    assert _search(client, q) == []


@pytest.mark.parametrize("q", ["", " ", "a\x00b"])
def test_autocomplete_rejects_empty_or_control_text(client, q):
    r = client.get("/api/v1/variants/search", params={"q": q})
    assert r.status_code in (400, 422) and r.headers["content-type"].startswith("application/")
