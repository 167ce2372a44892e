"""trans-QTLs made browsable: /api/v1/qtls/trans by target gene, variant and region and /qtls/trans/hotspots, with
values checked against the release's trans, top-QTL and significant-pair tables; the sections of the gene, variant
and tissue pages."""

from __future__ import annotations

import io
import shutil

import numpy as np
import pandas as pd
import pytest
from browser.portal_site import demo_site


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A copy of the small demo site whose v2 trans table is replaced by pairs planted between the release's own
    variants and phenotypes (the small demo's trans scan finds a single pair): three nearby Brain cis-QTL variants
    with three targets, a variant 2 Mb away with one, and a Liver pair on another chromosome."""
    demo = demo_site(tmp_path_factory)
    out = tmp_path_factory.mktemp("trans") / "site"
    shutil.copytree(demo, out)
    tables = out / "releases" / "v2" / "tables"
    signif = pd.read_parquet(tables / "signif_pairs.parquet")
    top = pd.read_parquet(tables / "top_qtls.parquet")
    brain = signif[signif["tissue"] == "Brain"].sort_values(["chrom", "pos"]).drop_duplicates("variant_id")
    first = brain.iloc[0]
    near = brain[(brain["chrom"] == first["chrom"]) & (brain["pos"] - first["pos"] < 300_000)].head(3)
    assert len(near) == 3
    variants = pd.read_parquet(tables / "variants.parquet")
    far = variants[(variants["chrom"] == first["chrom"]) & (variants["pos"] > first["pos"] + 2_000_000)].iloc[0]
    other_chrom = variants[variants["chrom"] != first["chrom"]].iloc[0]
    expression = top[top["modality"] == "expression"]
    targets = expression[(expression["tissue"] == "Brain") & (expression["chrom"] != first["chrom"])].drop_duplicates(
        "gene_id").head(3)["phenotype_id"].tolist()
    liver = expression[(expression["tissue"] == "Liver") & (expression["chrom"] != other_chrom["chrom"])].iloc[0]
    pairs = ([("Brain", v, t) for v in near["variant_id"] for t in targets[:2]]
             + [("Brain", near.iloc[2]["variant_id"], targets[2]), ("Brain", far["variant_id"], targets[0]),
                ("Liver", other_chrom["variant_id"], liver["phenotype_id"])])
    rng = np.random.default_rng(1)
    n = len(pairs)
    trans = pd.DataFrame({"tissue": [p[0] for p in pairs], "modality": "expression",
                          "variant_id": [p[1] for p in pairs], "phenotype_id": [p[2] for p in pairs],
                          "pval": rng.uniform(1e-12, 1e-6, n), "b": rng.normal(0, 0.5, n).astype("float32"),
                          "b_se": rng.uniform(0.05, 0.1, n).astype("float32"),
                          "r2": rng.uniform(0.1, 0.3, n).astype("float32"),
                          "af": rng.uniform(0.1, 0.5, n).astype("float32")})
    trans.to_parquet(tables / "trans_pairs.parquet", index=False)
    return out


def table(site, name, release="v2") -> pd.DataFrame:
    return pd.read_parquet(site / "releases" / release / "tables" / f"{name}.parquet")


@pytest.fixture(scope="module")
def expected(site) -> pd.DataFrame:
    """Every trans pair with its target gene, position and the variant's cis genes, from the tables."""
    trans = table(site, "trans_pairs")
    assert len(trans) == 9
    genes = table(site, "top_qtls").drop_duplicates(["tissue", "modality", "phenotype_id"])
    trans = trans.merge(genes[["tissue", "modality", "phenotype_id", "gene_id"]], how="left")
    trans = trans.merge(table(site, "variants")[["variant_id", "chrom", "pos"]], how="left")
    symbols = table(site, "genes").set_index("gene_id")["gene_name"]
    trans["gene_name"] = trans["gene_id"].map(symbols)
    signif = table(site, "signif_pairs")
    cis = signif.groupby(["tissue", "variant_id"])["gene_id"].agg(lambda g: sorted(set(g)))
    trans["cis_genes"] = [", ".join(symbols.get(g, g) for g in cis.get((t, v), []))
                          for t, v in zip(trans["tissue"], trans["variant_id"], strict=True)]
    return trans


def rows(client, **params) -> pd.DataFrame:
    r = client.get("/api/v1/qtls/trans", params=params)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["meta"]["total"] == len(body["data"])
    return pd.DataFrame(body["data"])


KEY = ["tissue", "modality", "phenotype_id", "variant_id"]


def same(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert len(got) == len(want) > 0
    m = got.merge(want, on=KEY, suffixes=("", "_want"))
    assert len(m) == len(want)
    for c in ("gene_id", "gene_name", "chrom", "pos", "cis_genes"):
        assert (m[c].astype(str) == m[f"{c}_want"].astype(str)).all(), c
    for c in ("pval", "b", "b_se", "r2"):
        assert np.allclose(m[c].astype(float), m[f"{c}_want"].astype(float), rtol=1e-6), c
    assert got["pval"].is_monotonic_increasing  # most significant first


def test_trans_by_gene_variant_and_region(client, expected):
    same(rows(client), expected)
    assert (expected["cis_genes"] != "").any()  # some trans variants are cis-QTLs of a gene: the mediators shown
    target = expected.dropna(subset=["gene_name"]).iloc[0]
    same(rows(client, gene=target["gene_name"]), expected[expected["gene_id"] == target["gene_id"]])
    same(rows(client, variant=target["variant_id"]), expected[expected["variant_id"] == target["variant_id"]])
    start, end = int(target["pos"]) - 100_000, int(target["pos"]) + 100_000
    inside = expected[(expected["chrom"] == target["chrom"]) & expected["pos"].between(start, end)]
    same(rows(client, region=f"{target['chrom']}:{start}-{end}"), inside)
    same(rows(client, tissue=target["tissue"]), expected[expected["tissue"] == target["tissue"]])
    tsv = pd.read_csv(io.StringIO(client.get("/api/v1/qtls/trans", params={"gene": target["gene_id"],
                                                                          "format": "tsv"}).text), sep="\t")
    assert set(tsv["gene_name"]) == {target["gene_name"]}


def test_trans_errors_name_the_parameter(client):
    assert client.get("/api/v1/qtls/trans", params={"gene": "NoSuchGene"}).status_code == 404
    r = client.get("/api/v1/qtls/trans", params={"region": "chr1:5-1"})
    assert r.status_code == 400 and "region" in r.json()["detail"]
    assert client.get("/api/v1/qtls/trans", params={"tissue": "Nope"}).status_code == 404
    assert client.get("/api/v1/qtls/trans/hotspots", params={"min_targets": 0}).status_code in (400, 422)


def test_hotspots_group_nearby_variants(client, expected):
    hot = pd.DataFrame(client.get("/api/v1/qtls/trans/hotspots", params={"min_targets": 1}).json()["data"])
    for (tissue, modality, chrom), part in expected.groupby(["tissue", "modality", "chrom"]):
        part = part.sort_values("pos")
        loci = np.concatenate([[0], np.cumsum(np.diff(part["pos"].to_numpy()) >= 500_000)])
        mine = hot[(hot["tissue"] == tissue) & (hot["modality"] == modality) & (hot["chrom"] == chrom)]
        assert len(mine) == loci.max() + 1
        for _, hits in part.groupby(loci):
            row = mine[mine["start"] == hits["pos"].min()].iloc[0]
            assert row["end"] == hits["pos"].max() and row["n_variants"] == hits["variant_id"].nunique()
            assert row["n_targets"] == hits["gene_id"].fillna(hits["phenotype_id"]).nunique()
            assert row["lead_variant"] == hits.sort_values("pval").iloc[0]["variant_id"]
    assert hot["n_targets"].is_monotonic_decreasing
    two = pd.DataFrame(client.get("/api/v1/qtls/trans/hotspots").json()["data"])
    assert len(two) == (hot["n_targets"] >= 2).sum()


def test_pages_show_trans(client, expected):
    target = expected.dropna(subset=["gene_name"]).iloc[0]
    gene = client.get(f"/gene/{target['gene_id']}").text
    assert 'id="trans-table"' in gene and target["variant_id"] in gene
    variant = client.get(f"/variant/{target['variant_id']}").text
    assert 'id="trans-table"' in variant and f"/gene/{target['gene_id']}" in variant
    if target["cis_genes"]:
        assert target["cis_genes"] in variant
    tissue = client.get(f"/tissue/{target['tissue']}").text
    assert 'id="hotspot-table"' in tissue and target["gene_name"] in tissue
