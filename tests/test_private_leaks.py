"""Issue 18's leak test: on the demo with a private tissue, an embargoed trait and a private study, every OpenAPI
route, page, compat route and download is requested without a token and with a token of another scope, and no
response body, header or file holds an id or name of the private items; with the right token everything is there.
The public manifest and its files hold none either, and schemathesis without a token finds none."""

from __future__ import annotations

import datetime as dt
import gzip

import pytest
from conftest import bearer
from fastapi.testclient import TestClient
from leak_checks import coverage, find_leaks, shared_cacheable
from leak_crawl import crawl
from private_demo import EMBARGO, STUDY, TISSUE, TISSUE_NAME, private_demo_site, trait

from qtlatlas.web.app import create_app


@pytest.fixture(scope="module")
def psite(tmp_path_factory):
    return private_demo_site(tmp_path_factory)


@pytest.fixture(scope="module")
def pclient(psite):
    return TestClient(create_app(psite), raise_server_exceptions=False)


def _forbidden(*, study: bool = True) -> list[str]:
    trait_id, trait_name = trait()
    out = [TISSUE, TISSUE_NAME, trait_id, trait_name]
    return out + ([STUDY] if study else [])


#: Private ids tried in every parameter of their kind (an anonymous crawl cannot discover them).
PROBES = {"tissue": [TISSUE], "trait": [trait()[0]], "study": [STUDY]}


def test_no_leak_without_a_token(pclient, psite):
    fetched = crawl(pclient, psite, extra=PROBES)
    assert len(fetched) > 500
    assert find_leaks(fetched, _forbidden()) == []
    assert shared_cacheable(fetched) == []


def test_no_leak_with_a_token_of_another_scope(pclient, psite):
    fetched = crawl(pclient, psite, bearer(psite, f"study:{STUDY}"), extra=PROBES)
    assert find_leaks(fetched, _forbidden(study=False)) == []
    assert any(STUDY.encode() in f.body for f in fetched)  # the scope it has opens its study
    assert shared_cacheable(fetched) == []


def test_the_right_token_sees_everything(pclient, psite):
    headers = bearer(psite, f"tissue:{TISSUE}", f"trait:{trait()[0]}", f"study:{STUDY}")
    fetched = crawl(pclient, psite, headers)
    assert [f.url for f in fetched if f.status >= 500] == []
    assert coverage(fetched, pclient) == set()
    bodies = b"\n".join(f.body for f in fetched)
    for text in _forbidden():
        assert text.encode() in bodies, text
    tissues = pclient.get("/api/v1/tissues", headers=headers).json()["data"]
    assert TISSUE in {t["tissue_id"] for t in tissues}
    traits = pclient.get("/api/v1/twas/traits", headers=headers).json()["data"]
    assert trait()[0] in {t["id"] for t in traits}
    assert any(f"downloads/phenotypes.{TISSUE}." in d["path"]
               for d in pclient.get("/api/v1/downloads", headers=headers).json()["data"])


def test_the_embargo_lifts_on_its_day(pclient, monkeypatch):
    from qtlatlas.access import policy

    traits = {t["id"] for t in pclient.get("/api/v1/twas/traits").json()["data"]}
    assert trait()[0] not in traits
    monkeypatch.setattr(policy, "today", lambda: dt.date.fromisoformat(EMBARGO))
    traits = {t["id"] for t in pclient.get("/api/v1/twas/traits").json()["data"]}
    assert trait()[0] in traits
    assert TISSUE not in {t["tissue_id"] for t in pclient.get("/api/v1/tissues").json()["data"]}  # still private


def test_public_manifest_and_its_files_hold_no_private_item(psite):
    from qtlatlas.release.manifest import read_manifest, read_private_manifest, verify_release

    for rid in ("v1", "v2"):
        rel = psite / "releases" / rid
        assert verify_release(rel) == []
        text = (rel / "MANIFEST.tsv").read_text()
        for word in _forbidden():
            assert word not in text, (rid, word)
        for row in read_manifest(rel):
            if row["kind"] != "download":
                continue
            body = (rel / row["path"]).read_bytes()
            if body[:2] == b"\x1f\x8b":
                body = gzip.decompress(body)
            for word in _forbidden():
                assert word.encode() not in body, (row["path"], word)
        scopes = {r["scope"] for r in read_private_manifest(rel)}
        assert f"tissue:{TISSUE}" in " ".join(scopes)


def test_schemathesis_without_a_token_finds_no_private_id(psite):
    import schemathesis
    from hypothesis import HealthCheck, given, settings

    forbidden = [w.encode() for w in _forbidden()]
    app = create_app(psite)
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app)
    found = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case):
            response = case.call()
            assert response.status_code < 500, case.path
            body = response.content + " ".join(f"{k}: {v}" for k, v in response.headers.items()).encode()
            found.extend((case.path, w) for w in forbidden if w in body and w not in str(case.query or "").encode()
                         and w not in str(case.path_parameters or "").encode())

        check()
    assert found == []


def test_sixteen_concurrent_readers_with_and_without_tokens(psite):
    """16 clients at once, half anonymous and half with the right token, on first use of every view: no error,
    and no anonymous answer holds a private id (the views and their caches are built under concurrency)."""
    from concurrent.futures import ThreadPoolExecutor

    app = create_app(psite)
    token = bearer(psite, f"tissue:{TISSUE}", f"trait:{trait()[0]}")
    urls = ["/api/v1/tissues", "/api/v1/qtls/top?limit=50", "/api/v1/twas/traits", "/api/v1/samples?limit=50",
            "/api/v1/expression/median?genes=" + TestClient(app).get("/api/v1/qtls/top?limit=1").json()["data"][0]["gene_id"],
            "/", "/twas/traits", "/samples", "/downloads"]

    def reader(i: int) -> list[tuple[str, int, bool]]:
        client = TestClient(app, raise_server_exceptions=False)
        headers = token if i % 2 else {}
        out = []
        for _ in range(3):
            for url in urls:
                r = client.get(url, headers=headers)
                out.append((url, r.status_code, bool(headers) or TISSUE.encode() not in r.content))
        return out

    with ThreadPoolExecutor(16) as pool:
        answers = [a for batch in pool.map(reader, range(16)) for a in batch]
    assert len(answers) == 16 * 3 * len(urls)
    assert [a for a in answers if a[1] != 200 or not a[2]] == []
