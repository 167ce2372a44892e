"""The leak crawler (tests/leak_crawl.py) on the all-public small demo: it reaches every OpenAPI GET operation, every
page template and every kind of download without a 5xx, and its detector finds what is there and nothing else."""

from __future__ import annotations

import gzip
import io
import tarfile
import uuid

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from leak_checks import count_by_kind, coverage, find_leaks, shared_cacheable
from leak_crawl import (
    Fetched,
    UnfilledParameter,
    _Crawler,
    crawl,
    crawl_api,
    crawl_operation,
    discover,
    download_label,
    inflate,
    links,
    operations,
    page_routes,
)


@pytest.fixture(scope="module")
def lenient(site):
    """A TestClient of the demo portal that answers server errors as 500 (the crawl reports them all at once)."""
    from qtlatlas.web.app import create_app

    return TestClient(create_app(site), raise_server_exceptions=False)


@pytest.fixture(scope="module")
def crawled(lenient, site) -> list[Fetched]:
    """One anonymous crawl of the demo portal."""
    return crawl(lenient, site)


def test_crawl_answers_no_server_error(crawled):
    assert [f"{f.url}: {f.status}" for f in crawled if f.status >= 500] == []
    assert find_leaks(crawled, []) == []
    counts = count_by_kind(crawled)
    assert set(counts) == {"api", "compat", "page", "download"}, counts
    assert not [f.url for f in crawled if f.truncated]


def test_crawl_covers_every_openapi_get_operation(crawled, lenient):
    from qtlatlas.web.compat.ratgtex import router

    assert coverage(crawled, lenient) == set()
    compat = {route.path for route in router.routes}
    assert compat <= {op.path for op in operations(lenient)}
    assert compat <= {f.route for f in crawled if f.kind == "compat" and f.status == 200}


def test_crawl_calls_each_operation_for_each_release(crawled, lenient):
    releases = [r["id"] for r in lenient.get("/api/v1/releases").json()["data"]]
    assert len(releases) >= 2
    missing = []
    for op in operations(lenient):
        if "release" not in op.params:
            continue
        for release in releases:
            marks = (f"release={release}", f"/compat/ratgtex/{release}/")
            if not any(f.route == op.path and any(m in f.url for m in marks) for f in crawled):
                missing.append(f"{op.path} {release}")
    assert missing == []


def test_crawl_fetches_every_kind_of_download_on_the_downloads_page(crawled, lenient):
    page = lenient.get("/downloads")
    paths = {link.split("?")[0] for link in links(page.content, "/downloads")}
    kinds = {download_label(p) for p in paths
             if p.startswith("/releases/") and not p.endswith(("SHA256SUMS", "urls.txt"))}
    assert len(kinds) > 10, kinds
    fetched = {f.route for f in crawled if f.kind == "download" and f.status == 200 and f.body}
    assert kinds - fetched == set()
    assert "study-file" in fetched
    nominal = next(f for f in crawled if f.route == "download:nominal" and f.url.endswith(".gz") and f.status == 200)
    raw = lenient.get(nominal.url).content
    assert raw[:2] == b"\x1f\x8b" and nominal.body == gzip.decompress(raw)  # every BGZF member


def test_crawl_visits_every_page_template(crawled):
    answered = {f.route for f in crawled if f.status < 400}
    files = {"/releases/{release}/{path:path}": any(r.startswith("download:") for r in answered),
             "/studies/{study}/files/{path:path}": "study-file" in answered}
    templates = [r.path for r in page_routes() if not r.path.startswith("/assets/")]
    assert len(templates) > 20
    assert [t for t in templates if not files.get(t, t in answered)] == []


def test_find_leaks_finds_a_demo_tissue_id_and_not_a_random_string(crawled, lenient):
    tissue = lenient.get("/api/v1/tissues").json()["data"][0]["tissue_id"]
    found = find_leaks(crawled, [tissue])
    assert any(p.startswith("/api/v1/tissues: ") and f"{tissue!r} in body near" in p for p in found)
    assert any(p.startswith("/releases/") for p in found)  # inside downloads too
    assert find_leaks(crawled, [uuid.uuid4().hex]) == []
    etag = next(f.headers["etag"] for f in crawled if "etag" in f.headers)
    assert any(" in header etag" in p for p in find_leaks(crawled, [etag.strip('W/"')]))


def test_extra_values_are_requested_and_their_echo_in_a_404_is_no_leak(lenient):
    """A guessed id is requested in the operation's parameters; the 404 quoting it is no leak (the 404 lists the
    release's tissues: with private tissues, that list is what the leak test must see filtered)."""
    crawler = _Crawler(lenient, None, 10**6)
    values = discover(crawler, None, {"tissue": ["NoSuchTissue"]})
    op = next(op for op in operations(lenient) if op.path == "/api/v1/expression/top")
    assert crawl_operation(crawler, op, values, None, {"tissue": ["NoSuchTissue"]}) == []
    probed = [f for f in crawler.results if "tissue=NoSuchTissue" in f.url]
    assert probed and {f.status for f in probed} == {404}
    assert find_leaks(probed, ["NoSuchTissue"]) == []
    assert find_leaks(probed, ["NoSuchTissue"], allow_echo=False)


def test_shared_cacheable_names_public_answers(crawled):
    """Today every answer is public (no private data yet): the check fires; with a token it must find none."""
    found = shared_cacheable(crawled)
    assert any(p.startswith("/api/v1/tissues: ") for p in found)
    assert any(p.startswith("/releases/") for p in found)
    assert shared_cacheable([_fetched(**{"cache-control": "private, max-age=60"})]) == []
    assert shared_cacheable([_fetched(**{"cache-control": "public, max-age=60", "vary": "Authorization"})]) == []


def _fetched(body: bytes = b"", status: int = 200, url: str = "/x", **headers) -> Fetched:
    return Fetched(url, status, headers, body, "/x", "api")


def test_find_leaks_reports_server_errors_escapes_headers_and_not_echoes():
    assert find_leaks([_fetched(status=503)], []) == ["/x: status 503 (/x)"]
    assert find_leaks([_fetched(b"<td>A&amp;B</td>")], ["A&B"])
    assert find_leaks([_fetched(b'{"a": "caf\\u00e9"}')], ["café"])
    assert find_leaks([_fetched(b"/gene/a%20b")], ["a b"])
    assert find_leaks([_fetched(status=303, location="/tissue/Secret")], ["Secret"]) == [
        "/x: 'Secret' in header location: '/tissue/Secret'"]
    echo = _fetched(b"<form action=\"/twas/traits/Secret\"><p>trait &#39;Secret&#39; not found (traits: Other)</p>"
                    b"<input name=\"q\" value=\"Secret\">", 404, "/twas/traits/Secret")
    assert find_leaks([echo], ["Secret"]) == []
    assert find_leaks([echo], ["Secret"], allow_echo=False)
    assert find_leaks([echo], ["Other"])
    listed = _fetched(b"{\"detail\": \"tissue 'Secret' not found (tissues: Other, Secret)\"}", 404,
                      "/api?tissue=Secret")
    found = find_leaks([listed], ["Secret"])
    assert len(found) == 1 and found[0].startswith("/api?tissue=Secret: 'Secret' in body near")
    assert "Other, Secret" in found[0]
    assert find_leaks([_fetched(b"secret")], ["Secret"]) == []
    assert find_leaks([_fetched(b"secret")], ["Secret"], ignore_case=True)


def test_inflate_reads_every_gzip_member_and_gzip_members_of_a_tar():
    assert inflate(gzip.compress(b"one ") + gzip.compress(b"two")) == b"one two"
    assert inflate(b"plain text") == b"plain text"
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        data = gzip.compress(b"weights of GENE9")
        info = tarfile.TarInfo("GENE9.wgt.RDat")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    assert b"weights of GENE9" in inflate(gzip.compress(out.getvalue()))


def test_a_required_parameter_without_a_value_fails_naming_it():
    app = FastAPI(openapi_url="/api/openapi.json")

    @app.get("/api/v1/releases")
    def releases():
        return {"data": [{"id": "r1"}]}

    @app.get("/api/v1/things/{mystery}")
    def thing(mystery: str):
        return {}

    with pytest.raises(UnfilledParameter, match=r"/api/v1/things/\{mystery\}: mystery"):
        crawl_api(_Crawler(TestClient(app), None, 1000), {})
