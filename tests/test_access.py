"""Private releases and studies, access tokens, sign-in and its rate limit, and the caching headers of a site
with private items (the portal demo site with its atlas.json ``access`` set as a build writes it)."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import pytest
from fastapi.testclient import TestClient

from qtlatlas.access import policy as policy_module
from qtlatlas.access.policy import AccessPolicy, ItemAccess
from qtlatlas.access.tokens import add_token, read_tokens, revoke_token, tokens_file
from qtlatlas.web.access import COOKIE, MAX_FAILURES
from qtlatlas.web.app import create_app

STUDY_EMBARGO = "2031-05-01"


@pytest.fixture(scope="module")
def private_site(site, tmp_path_factory):
    """The demo site with release v2 private and its study embargoed until :data:`STUDY_EMBARGO`."""
    out = tmp_path_factory.mktemp("private") / "site"
    shutil.copytree(site, out)
    atlas = json.loads((out / "atlas.json").read_text())
    study = atlas["studies"][0]
    atlas["access"] = {
        "release": {"v2": ItemAccess("private", citation="Cite v2 as: Secret et al.").to_json()},
        "study": {study: ItemAccess("embargoed", dt.date.fromisoformat(STUDY_EMBARGO)).to_json()},
        "tissue": {"Brain": ItemAccess(citation="Cite Brain as: Cortex et al.", data_use="Brain: no reuse").to_json()},
        "trait": {}}
    (out / "atlas.json").write_text(json.dumps(atlas))
    return out


@pytest.fixture(scope="module")
def study_id(private_site):
    return json.loads((private_site / "atlas.json").read_text())["studies"][0]


@pytest.fixture
def private_client(private_site):
    return TestClient(create_app(private_site))


def test_policy_embargo_is_evaluated_on_the_day_asked():
    policy = AccessPolicy({"tissue": {"BLA": ItemAccess("embargoed", dt.date(2027, 3, 1))},
                           "trait": {"height": ItemAccess("private")}})
    before, after = dt.date(2027, 2, 28), dt.date(2027, 3, 1)
    assert policy.hidden((), on=before).tissues == {"BLA"}
    assert policy.hidden((), on=after).tissues == frozenset()
    assert policy.hidden((), on=after).traits == {"height"}
    assert policy.hidden(("trait:height",), on=after).traits == frozenset()
    assert policy.hidden(("trait:*",), on=before).traits == frozenset()
    assert policy.hidden(("tissue:OTHER",), on=before).tissues == {"BLA"}
    assert ItemAccess.from_json({"visibility": "bogus"}).visibility == "private"  # unknown never opens


def test_tokens_are_stored_hashed_expire_and_revoke(tmp_path):
    token = add_token(tmp_path, "alice", ["tissue:BLA"], expires=dt.date.today() + dt.timedelta(days=3))
    text = tokens_file(tmp_path).read_text()
    assert token not in text and token.split("_")[-1] not in text
    assert (tokens_file(tmp_path).stat().st_mode & 0o077) == 0
    [record] = read_tokens(tmp_path)
    assert record.scopes == ("tissue:BLA",) and record.active(dt.date.today())
    assert not record.active(dt.date.today() + dt.timedelta(days=4))
    with pytest.raises(ValueError, match="already named"):
        add_token(tmp_path, "alice", ["tissue:BLA"])
    with pytest.raises(ValueError, match="KIND:ID"):
        add_token(tmp_path, "bob", ["BLA"])
    revoke_token(tmp_path, "alice")
    assert read_tokens(tmp_path)[0].revoked is not None


def test_tokens_command(tmp_path, capsys):
    from qtlatlas.cli import main

    assert main(["tokens", "add", "lab1", "--site", str(tmp_path), "--scope", "release:v2", "--expires", "2099-01-01"]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert token.startswith("qta_") and token not in tokens_file(tmp_path).read_text()
    assert main(["tokens", "list", "--site", str(tmp_path)]) == 0
    listed = capsys.readouterr().out
    assert "lab1" in listed and "release:v2" in listed and token not in listed
    assert main(["tokens", "add", "x", "--site", str(tmp_path), "--scope", "tissue"]) == 2
    assert main(["tokens", "revoke", "nobody", "--site", str(tmp_path)]) == 2
    assert main(["tokens", "revoke", "lab1", "--site", str(tmp_path)]) == 0
    assert "Revoked lab1" in capsys.readouterr().out
    assert main(["tokens", "list", "--site", str(tmp_path)]) == 0
    assert "lab1" not in capsys.readouterr().out


def test_private_release_and_study_are_absent_without_a_token(private_client, study_id):
    c = private_client
    body = c.get("/api/v1/releases").json()
    assert [r["id"] for r in body["data"]] == ["v1"] and body["meta"]["total"] == 1
    assert c.get("/api/v1/tissues").json()["meta"]["release"] == "v1"  # the latest the reader may see
    for url in ("/api/v1/tissues?release=v2", "/compat/ratgtex/v2/tissueInfo", "/downloads?release=v2",
                f"/studies/{study_id}", "/api/v1/genes?release=v2"):
        r = c.get(url)
        assert r.status_code == 404, url
        # the same answer as for an id that never existed
        never = url.replace("v2", "v9").replace(study_id, "nostudy")
        assert r.text.replace("v2", "v9").replace(study_id, "nostudy") == c.get(never).text, url
    assert c.get("/api/v1/studies").json()["data"] == []
    for page in ("/", "/downloads", "/studies", "/data-access", "/about"):
        r = c.get(page)
        assert r.status_code in (200, 404) and study_id not in r.text and "Secret et al" not in r.text, page
        assert 'value="v2"' not in r.text


def test_a_token_opens_its_scope_only(private_site, private_client, study_id):
    token = add_token(private_site, "reviewer", ["release:v2"])
    other = add_token(private_site, "studyonly", [f"study:{study_id}"])
    c = private_client
    auth = {"Authorization": f"Bearer {token}"}
    assert [r["id"] for r in c.get("/api/v1/releases", headers=auth).json()["data"]] == ["v1", "v2"]
    assert c.get("/api/v1/tissues", headers=auth).json()["meta"]["release"] == "v2"
    assert c.get("/api/v1/studies", headers=auth).json()["data"] == []
    page = c.get("/data-access", headers=auth).text
    assert "Cite v2 as: Secret et al." in page and 'id="cite-release-v2"' in page
    assert "Cite v2 as" in c.get("/downloads?release=v2", headers=auth).text
    rows = c.get("/api/v1/releases", headers=auth).json()["data"]
    assert [r["citation"] for r in rows] == ["", "Cite v2 as: Secret et al."]
    mine = {"Authorization": f"Bearer {other}"}
    assert [s["id"] for s in c.get("/api/v1/studies", headers=mine).json()["data"]] == [study_id]
    assert c.get("/api/v1/tissues?release=v2", headers=mine).status_code == 404
    revoke_token(private_site, "reviewer")
    assert c.get("/api/v1/releases", headers=auth).status_code == 401


def test_embargo_lifts_on_its_date_without_a_rebuild(private_client, study_id, monkeypatch):
    assert private_client.get(f"/studies/{study_id}").status_code == 404
    monkeypatch.setattr(policy_module, "today", lambda: dt.date.fromisoformat(STUDY_EMBARGO))
    assert private_client.get(f"/studies/{study_id}").status_code == 200
    assert [s["id"] for s in private_client.get("/api/v1/studies").json()["data"]] == [study_id]


def test_bad_bearer_token_is_401_and_never_a_500(private_client):
    for value in ("Bearer ", "Bearer nonsense", "Bearer qta_00000000_" + "A" * 43, "Bearer " + "x" * 5000):
        r = private_client.get("/api/v1/releases", headers={"Authorization": value})
        assert r.status_code == 401 and r.json()["error"] == "unauthorized", value
        assert r.headers["www-authenticate"].startswith("Bearer")


def test_responses_of_a_site_with_private_items_are_private_to_the_reader(private_client, client):
    for url in ("/api/v1/tissues", "/", "/api/v1/releases?release=v1"):
        r = private_client.get(url)
        assert r.headers["cache-control"].startswith("private") and "public" not in r.headers["cache-control"], url
        vary = {v.strip().lower() for v in r.headers["vary"].split(",")}
        assert {"authorization", "cookie"} <= vary, url
    public = client.get("/api/v1/tissues?release=v2")  # an all-public site keeps shared caching
    assert "private" not in public.headers.get("cache-control", "")


def test_sign_in_sets_a_protected_cookie_and_opens_pages(private_site, study_id):
    token = add_token(private_site, "pi", ["release:v2", f"study:{study_id}"])
    c = TestClient(create_app(private_site))
    assert "Sign in" in c.get("/").text
    r = c.post("/login", data={"token": token, "next": "/studies"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/studies"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    assert study_id in c.get("/studies").text and 'value="v2"' in c.get("/").text
    assert c.post("/login", data={"token": token, "next": "//evil.example"}, follow_redirects=False) \
        .headers["location"] == "/"
    https = TestClient(create_app(private_site), base_url="https://atlas.example")
    assert "Secure" in https.post("/login", data={"token": token}, follow_redirects=False).headers["set-cookie"]
    r = c.post("/logout", follow_redirects=False)
    assert r.status_code == 303 and f'{COOKIE}=""' in r.headers["set-cookie"]
    c.cookies.clear()
    assert study_id not in c.get("/studies").text


def test_sign_in_brute_force_is_rate_limited(private_site):
    token = add_token(private_site, "limited", ["release:v2"])
    c = TestClient(create_app(private_site))
    for i in range(MAX_FAILURES):
        r = c.post("/login", data={"token": f"qta_{i:08x}_" + "B" * 43})
        assert r.status_code == 401 and "unknown, expired or revoked" in r.text
    r = c.post("/login", data={"token": token}, follow_redirects=False)  # even the right token: not tried
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    assert c.get("/api/v1/releases", headers={"Authorization": f"Bearer {token}"}).status_code == 429
    assert c.get("/api/v1/releases").status_code == 200  # anonymous reading goes on


def test_item_pages_show_their_citation_and_unpublished_items_say_so(private_client, private_site, restricted_site,
                                                                      study_id):
    page = private_client.get("/tissue/Brain").text
    assert "Cite this tissue as:</strong> Cite Brain as: Cortex et al." in page and "Brain: no reuse" in page
    assert "Unpublished" not in page and "Cite this tissue" not in private_client.get("/tissue/Adipose").text
    # unpublished items seen through a token say so, with the embargo date
    from conftest import EMBARGOED_TRAIT, PRIVATE_TISSUE, bearer

    client = TestClient(create_app(restricted_site))
    headers = bearer(restricted_site, f"tissue:{PRIVATE_TISSUE}", f"trait:{EMBARGOED_TRAIT}")
    words = " ".join(client.get(f"/tissue/{PRIVATE_TISSUE}", headers=headers).text.split())
    assert "Unpublished:</strong> this tissue is private; you see it through your access token" in words
    assert "embargoed until 2099-01-01" in client.get(f"/twas/traits/{EMBARGOED_TRAIT}", headers=headers).text
    assert "Unpublished" not in client.get("/tissue/Adipose", headers=headers).text
    study = TestClient(create_app(private_site)).get(f"/studies/{study_id}",
                                                     headers=bearer(private_site, f"study:{study_id}")).text
    assert f"embargoed until {STUDY_EMBARGO}" in study
