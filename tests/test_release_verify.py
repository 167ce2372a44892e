"""Manifest verification, errata outside the immutable release, and immutable studies."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from test_release_build import import_results, write_atlas

from qtlatlas.config import load_atlas
from qtlatlas.errors import QtlAtlasError
from qtlatlas.release import add_erratum, build_release, publish_studies, read_errata, verify_release
from qtlatlas.release.manifest import read_manifest

pytestmark = pytest.mark.shared


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("verify")
    atlas = load_atlas(write_atlas(tmp))
    site = tmp / "site"
    return atlas, site, build_release(atlas, "v1", site, import_results(atlas, "v1"))


def test_manifest_lists_every_file(release):
    _, _, out = release
    rows = read_manifest(out)
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file() and p.name != "MANIFEST.tsv")
    assert [r["path"] for r in rows] == files
    kinds = {r["path"]: r["kind"] for r in rows}
    assert kinds["release.json"] == "metadata" and kinds["tables/genes.parquet"] == "table"
    assert kinds["downloads/genotypes.v1_GRCh37.vcf.gz"] == "download"
    assert kinds["downloads/genotypes.v1_GRCh37.vcf.gz.tbi"] == "index"
    assert all(r["description"] and len(r["sha256"]) == 64 and int(r["bytes"]) > 0 for r in rows)


def test_verify_reports_modified_missing_and_extra_files(release):
    _, _, out = release
    assert verify_release(out) == []
    target = out / "downloads" / "top_assoc.LCL.expression.v1_GRCh37.tsv.gz"
    original = target.read_bytes()
    flipped = bytearray(original)
    flipped[len(flipped) // 2] ^= 0x01
    target.write_bytes(bytes(flipped))
    try:
        problems = verify_release(out)
        assert len(problems) == 1 and "downloads/top_assoc.LCL.expression.v1_GRCh37.tsv.gz" in problems[0]
        assert "modified" in problems[0]
    finally:
        target.write_bytes(original)
    assert verify_release(out) == []

    extra = out / "tables" / "stray.parquet"
    extra.write_bytes(b"x")
    moved = out / "tables" / "genes.parquet"
    moved.rename(out / "genes.bak")
    try:
        problems = verify_release(out)
        assert any("tables/stray.parquet" in p and "not in MANIFEST" in p for p in problems)
        assert any("tables/genes.parquet" in p and "missing" in p for p in problems)
        assert any(p.startswith("genes.bak") for p in problems)
    finally:
        extra.unlink()
        (out / "genes.bak").rename(moved)
    assert verify_release(out) == []


def test_verify_without_manifest(tmp_path):
    (tmp_path / "a.txt").write_text("x")
    assert "MANIFEST.tsv" in verify_release(tmp_path)[0]


def test_errata_live_outside_the_release(release):
    atlas, site, out = release
    manifest = (out / "MANIFEST.tsv").read_bytes()
    path = add_erratum(site, "v1", "top_assoc: slope sign\tflipped for\n two genes", date=dt.date(2026, 1, 2))
    add_erratum(site, "v1", "second note")
    assert path == site / "errata" / "v1.tsv"
    rows = read_errata(site, "v1")
    assert rows[0] == {"date": "2026-01-02", "text": "top_assoc: slope sign flipped for two genes"}
    assert rows[1]["text"] == "second note" and len(rows) == 2
    assert (out / "MANIFEST.tsv").read_bytes() == manifest and verify_release(out) == []
    with pytest.raises(QtlAtlasError, match="not published"):
        add_erratum(site, "v9", "nothing")


def test_studies_are_published_once_and_immutable(tmp_path):
    data = tmp_path / "study_files"
    data.mkdir()
    (data / "weights.tsv").write_text("gene\tweight\nA\t0.1\n")
    (data / "readme.txt").write_text("read me\n")
    studies = f"""studies:
  - id: smith2025
    title: A study
    citation: Smith et al. 2025
    genome: GRCh37
    files:
      - {{path: {data}/weights.tsv, description: TWAS weights}}
      - {{path: {data}/readme.txt}}
"""
    atlas = load_atlas(write_atlas(tmp_path, studies=studies))
    site = tmp_path / "site"
    [d] = publish_studies(atlas, site)
    assert d == site / "studies" / "smith2025"
    assert (d / "weights.tsv").read_text() == (data / "weights.tsv").read_text()
    meta = json.loads((d / "study.json").read_text())
    assert meta["citation"] == "Smith et al. 2025" and [f["name"] for f in meta["files"]] == ["weights.tsv", "readme.txt"]
    assert verify_release(d) == []
    mtime = (d / "MANIFEST.tsv").stat().st_mtime_ns
    assert publish_studies(atlas, site) == [d]  # identical: no-op
    assert (d / "MANIFEST.tsv").stat().st_mtime_ns == mtime
    (data / "weights.tsv").write_text("gene\tweight\nA\t0.2\n")
    with pytest.raises(QtlAtlasError, match="smith2025.*weights.tsv.*immutable"):
        publish_studies(atlas, site)
    assert (d / "weights.tsv").read_text().endswith("0.1\n")
