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
