"""Files of items private at build: the private manifest (with scopes), the public versions of release-wide
downloads, and `qtlatlas verify` over both manifests."""

from __future__ import annotations

import datetime as dt
import gzip

from conftest import write_text

from qtlatlas.access.policy import Hidden
from qtlatlas.config import parse_atlas
from qtlatlas.release.manifest import read_manifest, read_private_manifest, verify_release, write_manifest
from qtlatlas.release.private_files import list_files_scoped, private_at_build

PRIVATE = Hidden(tissues=frozenset({"Liver"}), traits=frozenset({"glucose"}))



def _read(path):
    with (gzip.open(path, "rt") if path.name.endswith(".gz") else open(path)) as f:
        return f.read()


def _release(tmp_path):
    d = tmp_path / "v1"
    write_text(d / "downloads/top_assoc.expression.v1_g.tsv.gz",
           "tissue\tphenotype_id\tpval\nAdipose\tG1\t0.1\nLiver\tG1\t0.2\nBrain\tG2\t0.3\n", gz=True)
    write_text(d / "downloads/median_tpm.v1.tsv.gz", "gene_id\tAdipose\tLiver\tBrain\nG1\t1.5\t2.5\t3.5\n", gz=True)
    write_text(d / "downloads/individuals.v1.tsv",
           "individual_id\tsex\tn_tissues\ttissues\nI1\tfemale\t2\tAdipose,Liver\nI2\tmale\t1\tLiver\n")
    write_text(d / "downloads/qtl_coloc.v1_g.tsv.gz", "gene_id\ttissue1\ttissue2\nG1\tAdipose\tBrain\nG1\tAdipose\tLiver\n",
           gz=True)
    write_text(d / "downloads/twas_assoc.height.v1_g.dat",
           "PANEL\tFILE\tID\nAdipose.expression\tAdipose.expression/a.wgt.RDat\tG1\nLiver.expression\tLiver.expression/b.wgt.RDat\tG1\n")
    write_text(d / "downloads/twas_assoc.glucose.v1_g.dat",
           "PANEL\tFILE\tID\nAdipose.expression\tx\tG1\nLiver.expression\ty\tG1\n")
    write_text(d / "downloads/phenotypes.Liver.expression.norm.v1_g.bed.gz", "#chr\tstart\tend\tid\tI1\n", gz=True)
    write_text(d / "downloads/phenotypes.Liver.expression.norm.v1_g.bed.gz.tbi", "index")
    write_text(d / "downloads/genotypes.v1_g.vcf.gz", "##fileformat=VCFv4.2\n", gz=True)
    write_text(d / "tables/top_qtls.parquet", "PAR1")
    write_text(d / "tables/phenotypes/Adipose.expression.parquet", "PAR1")
    write_text(d / "release.json", "{}")
    return d


def test_release_wide_downloads_lose_private_rows_and_columns(tmp_path):
    d = _release(tmp_path)
    scopes = list_files_scoped(d, PRIVATE)
    write_manifest(d, {}, scopes)
    assert _read(d / "downloads/top_assoc.expression.v1_g.tsv.gz").splitlines() == [
        "tissue\tphenotype_id\tpval", "Adipose\tG1\t0.1", "Brain\tG2\t0.3"]
    assert _read(d / "downloads/median_tpm.v1.tsv.gz").splitlines() == ["gene_id\tAdipose\tBrain", "G1\t1.5\t3.5"]
    assert _read(d / "downloads/individuals.v1.tsv").splitlines() == [
        "individual_id\tsex\tn_tissues\ttissues", "I1\tfemale\t1\tAdipose"]
    assert "Liver" not in _read(d / "downloads/qtl_coloc.v1_g.tsv.gz")
    assert "Liver" not in _read(d / "downloads/twas_assoc.height.v1_g.dat")
    public = {r["path"] for r in read_manifest(d)}
    private = {r["path"]: r["scope"] for r in read_private_manifest(d)}
    assert "downloads/top_assoc.expression.v1_g.tsv.gz" in public and "downloads/genotypes.v1_g.vcf.gz" in public
    # a private trait's file keeps the private tissue's rows and needs both scopes
    assert private["downloads/twas_assoc.glucose.v1_g.dat"] == "tissue:Liver trait:glucose"
    assert "Liver" in _read(d / "downloads/twas_assoc.glucose.v1_g.dat")
    assert private["downloads/phenotypes.Liver.expression.norm.v1_g.bed.gz.tbi"] == "tissue:Liver"
    # query tables and release.json hold every item
    assert private["tables/top_qtls.parquet"] == private["release.json"] == "tissue:Liver trait:glucose"
    assert not any("Liver" in p or "glucose" in p for p in public)
    assert (d / "MANIFEST.tsv").read_text().count("Liver") == 0
    assert verify_release(d) == []


def test_verify_checks_both_manifests(tmp_path):
    d = _release(tmp_path)
    write_manifest(d, {}, list_files_scoped(d, PRIVATE))
    (d / "downloads/phenotypes.Liver.expression.norm.v1_g.bed.gz.tbi").write_text("changed")
    problems = verify_release(d)
    assert problems == ["downloads/phenotypes.Liver.expression.norm.v1_g.bed.gz.tbi: modified "
                        "(size 7 bytes, MANIFEST.private.tsv says 5)"]
    (d / "downloads/extra.txt").write_text("x")
    assert "downloads/extra.txt: not in MANIFEST.tsv or MANIFEST.private.tsv" in verify_release(d)


def test_an_all_public_release_has_no_private_manifest(tmp_path):
    d = _release(tmp_path)
    write_manifest(d, {}, list_files_scoped(d, Hidden()))
    assert not (d / "MANIFEST.private.tsv").exists()
    assert "Liver" in _read(d / "downloads/top_assoc.expression.v1_g.tsv.gz")
    assert verify_release(d) == []


def test_private_at_build_follows_visibility_and_embargo_dates(tmp_path):
    text = """
atlas: {name: A}
tissues:
  - {id: Adipose, name: Adipose}
  - {id: Liver, name: Liver, visibility: private}
  - {id: Brain, name: Brain, visibility: {embargoed_until: 2027-03-01}}
releases: []
twas:
  traits:
    - {id: height, name: Height, n: 10, sumstats: h.tsv, visibility: {embargoed_until: 2027-01-01}}
"""
    atlas = parse_atlas(text, base_dir=tmp_path)
    early = private_at_build(atlas, dt.date(2026, 12, 31))
    assert early.tissues == {"Liver", "Brain"} and early.traits == {"height"}
    late = private_at_build(atlas, dt.date(2027, 3, 1))
    assert late.tissues == {"Liver"} and late.traits == frozenset()
