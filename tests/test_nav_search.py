"""Site navigation and search on the small demo site: the Studies entry of the nav, the way back from the API
documentation, /search resolving a tissue, and autocomplete of partial variant ids and positions."""

from __future__ import annotations

import pandas as pd
import pytest
from browser.portal_site import demo_site
from fastapi.testclient import TestClient


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return demo_site(tmp_path_factory)


@pytest.fixture(scope="module")
def client(site):
    from qtlatlas.web.app import create_app

    return TestClient(create_app(site), raise_server_exceptions=True)


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
