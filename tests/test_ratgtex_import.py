"""A RatGTEx-layout atlas imported as it is published: `qtlatlas import ratgtex`, `validate`, `build`, and the
RatGTEx-compatible routes answering field by field what the published files say.

The data set is written by the RatGTEx-layout generator of ../shared/tools/ratgtex-v4-synth (RatGTEx v4's exact
file layout, at a small scale); the expected values are read from its files directly, independently of the
code under test.
"""

from __future__ import annotations

import gzip
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from qtlatlas.cli import main
from qtlatlas.config import load_atlas
from qtlatlas.validate import validate_atlas

GENERATOR = Path(__file__).resolve().parents[2] / "shared" / "tools" / "ratgtex-v4-synth" / "make_ratgtex_v4.py"
SCALE = ["--scale", "small", "--tissues", "3", "--genes", "600", "--variants", "12000", "--rats", "150",
         "--samples", "70", "--egenes", "220"]

pytestmark = pytest.mark.shared


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ratgtex")
    subprocess.run([sys.executable, str(GENERATOR), *SCALE, "--out", str(out), "--jobs", "1"], check=True,
                   capture_output=True)
    return out


@pytest.fixture(scope="module")
def site(data, tmp_path_factory) -> tuple[Path, Path]:
    work = tmp_path_factory.mktemp("import")
    atlas = work / "atlas.yaml"
    assert main(["import", "ratgtex", str(data / "v4"), "--release", "v4", "--out", str(atlas)]) == 0
    assert main(["validate", str(atlas)]) == 0
    assert main(["build", str(atlas), "--release", "v4", "--site", str(work / "site")]) == 0
    return atlas, work / "site"


@pytest.fixture(scope="module")
def client(site):
    from qtlatlas.web.app import create_app

    return TestClient(create_app(site[1]))


def tsv(data: Path, rel: str) -> pd.DataFrame:
    return pd.read_csv(data / "v4" / rel, sep="\t", dtype={"chromosome": str, "chrom": str})


def member(path: Path, name: str) -> pd.DataFrame:
    with zipfile.ZipFile(path) as zf:
        return pd.read_csv(zf.open(name), sep="\t")


def test_import_names_the_files_in_place(site, data):
    atlas_path, _ = site
    text = atlas_path.read_text()
    assert text.startswith("# Imported by `qtlatlas import ratgtex")
    atlas = load_atlas(atlas_path)
    release = atlas.release("v4")
    assert release.genome == "rn8" and [t.id for t in atlas.tissues] == ["Adipose", "BLA", "Brain"]
    assert atlas.tissue("BLA").site == "Brain" and atlas.tissue("BLA").colour == "#ffd700"
    root = (data / "v4").resolve()
    named = [release.annotation.genes, release.annotation.exons, *release.genotypes,
             release.results["expression"].cis, release.results["expression"].signif_pairs,
             release.results["cross_modality"].independent]
    assert all(Path(p).resolve().is_relative_to(root) and Path(p).is_file() for p in named)  # no copies
    assert release.tissues["Adipose"]["expression"].results.nominal[0].name == "Adipose.v4.zip"
    assert not list((atlas_path.parent).glob("*.tsv*"))


def test_tissue_info_and_gene_flags(client, data):
    base = "/compat/ratgtex/v4"
    info = tsv(data, "tissue_info.v4.tsv").set_index("tissueSiteDetailId")
    got = {t["tissueSiteDetailId"]: t for t in client.get(f"{base}/tissueInfo").json()["tissueInfo"]}
    assert set(got) == set(info.index)
    for tid, row in info.iterrows():
        for field in ("tissueSiteDetailAbbr", "tissueSiteDetail", "tissueSite", "colorHex", "colorRgb", "dataset",
                      "rnaSeqSampleCount", "rnaSeqAndGenotypeSampleCount", "expressedGeneCount", "eGeneCount",
                      "datasetId"):
            assert got[tid][field] == row[field], (tid, field)
        assert got[tid]["hasEGenes"] is True
    genes = tsv(data, "gene.v4.tsv").set_index("geneId")
    for gid in genes.sample(40, random_state=1).index:
        g = client.get(f"{base}/gene", params={"geneId": gid}).json()["gene"][0]
        row = genes.loc[gid]
        assert (g["chromosome"], g["start"], g["end"], g["strand"], g["tss"]) == (
            row["chromosome"], row["start"], row["end"], row["strand"], row["tss"])
        assert g["description"] == ("" if pd.isna(row["description"]) else row["description"])
        assert g["hasEqtl"] == bool(row["hasEqtl"])
        for s in g["statusInTissue"]:
            t = s["tissueSiteDetailId"]
            assert (s["expressed"], s["testedEqtl"], s["eqtl"]) == (
                bool(row[f"expr_{t}"]), bool(row[f"testedEqtl_{t}"]), bool(row[f"eqtl_{t}"])), (gid, t)


def test_qtls_pairs_and_medians_are_the_published_ones(client, data):
    base = "/compat/ratgtex/v4"
    indep = tsv(data, "eqtl/eqtls_indep.v4_rn8.tsv")
    for gid in indep["gene_id"].drop_duplicates().sample(25, random_state=2):
        got = client.get(f"{base}/eqtl", params={"geneId": gid}).json()["eqtl"]
        exp = indep[indep["gene_id"] == gid]
        assert sorted((r["tissueSiteDetailId"], r["variantId"], r["ref"], r["alt"], round(r["pval_beta"], 12),
                       round(r["log2_aFC"], 9)) for r in got) == sorted(
            zip(exp["tissue"], exp["variant_id"], exp["ref"], exp["alt"], exp["pval_beta"].round(12),
                exp["log2_aFC"].round(9), strict=True))
    xq = tsv(data, "xqtl/xqtls_indep.cross_modality.v4_rn8.tsv")
    for gid in xq["gene_id"].drop_duplicates().sample(25, random_state=3):
        got = client.get(f"{base}/xqtl", params={"geneId": gid}).json()["xqtl"]
        exp = xq[xq["gene_id"] == gid]
        assert sorted((r["tissueSiteDetailId"], r["modality"], r["phenotypeId"], r["variantId"]) for r in got) == \
            sorted(zip(exp["tissue"], exp["modality"], exp["phenotype_id"], exp["variant_id"], strict=True))
    archive = data / "v4" / "eqtl" / "all_gene_esnps.v4.zip"
    with zipfile.ZipFile(archive) as zf:
        names = [n for n in zf.namelist() if n.endswith(".txt")]
    for name in np.random.default_rng(4).choice(names, 20, replace=False):
        gid = Path(name).stem
        exp = member(archive, name)
        got = client.get(f"{base}/singleTissueEqtl", params={"geneId": gid}).json()["singleTissueEqtl"]
        got_rows = {(r["tissueSiteDetailId"], r["variantId"]): (r["pValue"], r["nes"], r["pos"]) for r in got}
        exp_rows = {(t, v): (float(f"{p:.3e}"), nes, pos) for t, v, p, nes, pos in zip(
            exp["tissueSiteDetailId"], exp["variantId"], exp["pValue"], exp["nes"], exp["pos"], strict=True)}
        assert got_rows.keys() == exp_rows.keys() and len(got) == len(exp)
        for key, (p, nes, pos) in exp_rows.items():
            assert got_rows[key][0] == p and got_rows[key][1] == pytest.approx(nes, rel=1e-6) and got_rows[key][2] == pos
    with gzip.open(data / "v4" / "expr" / "medianGeneExpression.v4.tsv.gz", "rt") as fh:
        medians = pd.read_csv(fh, sep="\t").set_index("geneId")
    ids = list(medians.sample(10, random_state=5).index)
    got = client.get(f"{base}/medianGeneExpression", params={"geneId": ",".join(ids)}).json()
    assert {(r["geneId"], r["tissueSiteDetailId"]): r["median"] for r in got["medianGeneExpression"]} == {
        (g, t): medians.loc[g, t] for t in medians.columns for g in ids}
    assert all(g in got["clusters"]["gene"] for g in ids) and got["clusters"]["tissue"].count(":") >= 3


def test_dyneqtl_expression_genotypes_and_mapped_pvalue(client, data):
    import pysam

    base = "/compat/ratgtex/v4"
    triples = pd.read_csv(data / "bench_ids" / "dyneqtl.tsv", sep="\t", header=None, names=["t", "g", "v"])
    vcf = pysam.VariantFile(str(next((data / "v4" / "geno").glob("*.vcf.gz"))))
    top = tsv(data, "eqtl/top_assoc.v4_rn8.tsv").set_index(["tissue", "gene_id"])
    for t, g, v in triples.sample(15, random_state=6).itertuples(index=False):
        d = client.get(f"{base}/dyneqtl", params={"tissueSiteDetailId": t, "geneId": g, "variantId": v}).json()
        bed = pd.read_csv(data / "v4" / "phenos" / f"phenos.{t}.expression.unnorm.v4_rn8.bed.gz", sep="\t",
                          index_col="phenotype_id").drop(columns=["#chr", "start", "end"])
        np.testing.assert_allclose(d["data"], bed.loc[g].to_numpy(float), rtol=1e-6)
        chrom, pos = v.split(":")
        rec = next(r for r in vcf.fetch(chrom, int(pos) - 1, int(pos)))
        gts = [None if rec.samples[s]["GT"][0] is None else sum(rec.samples[s]["GT"]) for s in bed.columns]
        assert d["genotypes"] == gts and (d["ref"], d["alt"]) == (rec.ref, rec.alts[0])
        assert d["homoRefCount"] == gts.count(0) and d["hetCount"] == gts.count(1) and d["homoAltCount"] == gts.count(2)
        pvals = member(data / "v4" / "cis_pvals" / f"{t}.v4.zip", f"{t}.v4/{g}.txt").set_index("variant_id")
        # the archive's p-value (6 digits), as the all-pairs store keeps it: −log10 p within 1e-5
        assert d["pValue"] == pytest.approx(pvals.loc[v, "pval_nominal"], rel=3e-5)
        assert d["pValueSource"] == "nominal" and d["pValueMissingReason"] is None
        assert d["pValueThreshold"] == pytest.approx(top.loc[(t, g), "pval_nominal_threshold"])


def test_any_genotyped_variant_and_exons(client, data):
    base = "/compat/ratgtex/v4"
    variants = (data / "bench_ids" / "variants.txt").read_text().split()
    ids = list(np.random.default_rng(7).choice(variants, 30, replace=False))
    got = client.get(f"{base}/variant", params={"variantId": ",".join(ids)}).json()["variant"]
    assert [r["variantId"] for r in got] == ids and all(r["ref"] and r["alt"] for r in got)
    exons = tsv(data, "exon.v4.tsv")
    for gid in exons["geneId"].drop_duplicates().sample(10, random_state=8):
        got = client.get(f"{base}/exon", params={"geneId": gid}).json()["exon"]
        exp = exons[exons["geneId"] == gid]
        assert sorted((r["exonId"], r["exonNumber"], r["start"], r["end"], r["featureType"], r["transcriptId"])
                      for r in got) == sorted(zip(exp["exonId"], exp["exonNumber"], exp["start"], exp["end"],
                                                  exp["featureType"], exp["transcriptId"], strict=True))


def test_validate_names_each_broken_imported_table(data, tmp_path):
    copy = tmp_path / "v4"
    shutil.copytree(data / "v4", copy)
    atlas = tmp_path / "atlas.yaml"
    assert main(["import", "ratgtex", str(copy), "--release", "v4", "--out", str(atlas)]) == 0
    indep = pd.read_csv(copy / "eqtl" / "eqtls_indep.v4_rn8.tsv", sep="\t").drop(columns=["slope"])
    indep.to_csv(copy / "eqtl" / "eqtls_indep.v4_rn8.tsv", sep="\t", index=False)
    top = pd.read_csv(copy / "eqtl" / "top_assoc.v4_rn8.tsv", sep="\t").drop(columns=["tissue"])
    top.to_csv(copy / "eqtl" / "top_assoc.v4_rn8.tsv", sep="\t", index=False)
    (copy / "cis_pvals" / "BLA.v4.zip").unlink()
    report = validate_atlas(load_atlas(atlas))
    errors = "\n".join(report.all_errors())
    assert "results.expression.independent" in errors and "missing column(s) slope" in errors
    assert "results.expression.cis" in errors and "'tissue' column" in errors
    assert "tissues.BLA.expression.results.nominal" in errors and "BLA.v4.zip" in errors


def test_import_refuses_what_it_cannot_take(data, tmp_path, capsys):
    assert main(["import", "ratgtex", str(tmp_path), "--release", "v4", "--out", str(tmp_path / "a.yaml")]) == 2
    assert "tissue_info" in capsys.readouterr().err
    out = tmp_path / "atlas.yaml"
    out.write_text("x")
    assert main(["import", "ratgtex", str(data / "v4"), "--release", "v4", "--out", str(out)]) == 2
    assert "--force" in capsys.readouterr().err and out.read_text() == "x"
    assert main(["import", "ratgtex", str(data / "v4"), "--release", "bad.id", "--out", str(tmp_path / "b.yaml")]) == 2
    assert "release id" in capsys.readouterr().err and not (tmp_path / "b.yaml").exists()
