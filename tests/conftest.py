"""Shared fixtures: the location of the real public data, and writers of small input files."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
GEUVADIS22 = SHARED / "reference" / "geuvadis22"
G1000 = SHARED / "data" / "1000g-eur-hm3-chr21-22"


@pytest.fixture(scope="session")
def shared() -> Path:
    """``../shared``: real public data and reference outputs (present in CI)."""
    if not SHARED.is_dir():
        pytest.fail(f"{SHARED} is missing: the real-data tests need ../shared beside the repository")
    return SHARED


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """``SITE`` of the small demo atlas (tests/browser/portal_site.py: built once per session, read by the page and
    API tests); a module may define its own ``site`` (a copy with planted data, another atlas)."""
    from browser.portal_site import demo_site

    return demo_site(tmp_path_factory)


@pytest.fixture(scope="module")
def client(site):
    """A TestClient of the portal on the module's ``site`` (server exceptions raised)."""
    from fastapi.testclient import TestClient

    from qtlatlas.web.app import create_app

    return TestClient(create_app(site), raise_server_exceptions=True)


def write_text(path: Path, text: str, gz: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if gz:
        with gzip.open(path, "wt") as fh:
            fh.write(text)
    else:
        path.write_text(text)
    return path


def bed_text(rows: list[tuple], samples: list[str], qtltools: bool = False) -> str:
    """A phenotype BED: rows are (chrom, start, end, id, *values) or, with qtltools, (chrom, start, end,
    id, gid, strand, *values)."""
    head = ["#chr", "start", "end", "phenotype_id"] if not qtltools else ["#chr", "start", "end", "pid", "gid", "strand"]
    lines = ["\t".join(head + samples)]
    lines += ["\t".join(str(x) for x in r) for r in rows]
    return "\n".join(lines) + "\n"


#: What :func:`restricted_site` hides: a private tissue and an embargoed TWAS trait of the small demo.
PRIVATE_TISSUE = "Liver"
EMBARGOED_TRAIT = "body_weight"


@pytest.fixture(scope="module")
def restricted_site(site, tmp_path_factory) -> Path:
    """A copy of the small demo site whose atlas.json (as a build writes it) makes tissue :data:`PRIVATE_TISSUE`
    private and TWAS trait :data:`EMBARGOED_TRAIT` embargoed until 2099: requests without a token must not see
    either (tests/test_private_*.py)."""
    import json
    import shutil

    out = tmp_path_factory.mktemp("restricted") / "site"
    shutil.copytree(site, out)
    atlas = json.loads((out / "atlas.json").read_text())
    atlas["access"] = {"release": {}, "study": {},
                       "tissue": {PRIVATE_TISSUE: {"visibility": "private"}},
                       "trait": {EMBARGOED_TRAIT: {"visibility": "embargoed", "embargoed_until": "2099-01-01"}}}
    (out / "atlas.json").write_text(json.dumps(atlas))
    return out


@pytest.fixture(scope="module")
def restricted_client(restricted_site):
    """A TestClient of :func:`restricted_site` (anonymous unless a test passes a token header)."""
    from fastapi.testclient import TestClient

    from qtlatlas.web.app import create_app

    return TestClient(create_app(restricted_site), raise_server_exceptions=True)


def bearer(site: Path, *scopes: str) -> dict[str, str]:
    """The header of a new token of ``site`` with ``scopes``."""
    import uuid

    from qtlatlas.access.tokens import add_token

    return {"Authorization": "Bearer " + add_token(site, "t" + uuid.uuid4().hex[:12], scopes)}
