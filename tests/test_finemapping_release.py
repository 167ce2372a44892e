"""SuSiE fine-mapping as part of a release, on the small demo site (built by ``qtlatlas demo``, so through the
pipeline's finemap task): the task's plan and outputs, the release tables and downloads (checked against each
other and against the model's constraints), the planted two-signal genes, the store and the REST API (values
against the tables, paging, formats, and 4xx for every bad request)."""

from __future__ import annotations

import gzip
import io
import json

import numpy as np
import pandas as pd
import pytest
import schemathesis
from browser.portal_site import demo_site
from fastapi.testclient import TestClient

from qtlatlas.config import FinemappingSettings, load_atlas
from qtlatlas.pipeline.plan import plan_release

RELEASE = "v2"
L = 10
MODALITIES = ["expression", "isoforms", "splicing", "alt_TSS", "alt_polyA", "stability"]
TABLE_COLUMNS = ["tissue", "modality", "phenotype_id", "gene_id", "gene_name", "variant_id", "chrom", "pos", "ref", "alt",
                 "cs_id", "cs_index", "cs_size", "pip", "cs_log10bf", "cs_min_r2", "cs_avg_r2", "posterior_mean",
                 "posterior_sd", "z"]
LBF_COLUMNS = ["tissue", "modality", "phenotype_id", "gene_id", "variant_id", "chrom", "pos", "pip",
               *[f"lbf_variable{k}" for k in range(1, L + 1)]]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The small demo site shared with the API and page tests (built once per session)."""
    return demo_site(tmp_path_factory)


@pytest.fixture(scope="module")
def atlas(site):
    return load_atlas(site.parent / "atlas.yaml")


@pytest.fixture(scope="module")
def client(site):
    from qtlatlas.web.app import create_app

    return TestClient(create_app(site))


@pytest.fixture(scope="module")
def store(site):
    from qtlatlas.store.release import ReleaseStore

    return ReleaseStore(site / "releases" / RELEASE)


def table(site, name: str, release: str = RELEASE) -> pd.DataFrame:
    return pd.read_parquet(site / "releases" / release / "tables" / f"{name}.parquet")


@pytest.fixture(scope="module")
def sets(site):
    return table(site, "credible_sets")


@pytest.fixture(scope="module")
def lbf(site):
    return table(site, "lbf_variable")


def _pairs(atlas):
    release = atlas.release(RELEASE)
    return [(t, m) for t, m, inp in release.inputs() if inp.bed is not None]


# --------------------------------------------------------------------------------------------------
# The pipeline task
# --------------------------------------------------------------------------------------------------


def test_plan_has_one_finemap_task_per_mapped_tissue_modality(atlas, tmp_path):
    tasks = {t.id: t for t in plan_release(atlas, RELEASE, tmp_path)}
    finemap = {i: t for i, t in tasks.items() if i.endswith("/finemap")}
    assert sorted(finemap) == sorted(f"{RELEASE}/{t}/{m}/finemap" for t, m in _pairs(atlas))
    assert not any("cross_modality" in i for i in finemap)
    task = finemap[f"{RELEASE}/Liver/expression/finemap"]
    assert task.label == f"{RELEASE} Liver expression: fine-mapping"
    assert set(task.deps) == {f"{RELEASE}/Liver/expression/prepare", f"{RELEASE}/Liver/expression/cis"}
    assert {k: v.rsplit("/", 1)[1] for k, v in task.outputs.items()} == {
        "susie_credible_sets": "susie_credible_sets.parquet", "susie_pip": "susie_pip.parquet"}
    assert task.params["finemapping"] == {"L": 10, "scaled_prior_variance": 0.2, "coverage": 0.95, "min_abs_corr": 0.5}
    assert tasks[f"{RELEASE}/Liver/expression/cis"].outputs["cis"] in task.inputs
    # fine-mapping settings reach only the finemap tasks; disabled, there are none
    other = atlas.model_copy(update={"finemapping": FinemappingSettings(L=5, coverage=0.9)})
    changed = {t.id for t in plan_release(other, RELEASE, tmp_path) if t.params != tasks[t.id].params}
    assert changed == set(finemap)
    off = atlas.model_copy(update={"finemapping": FinemappingSettings(enabled=False)})
    kept = plan_release(off, RELEASE, tmp_path)
    assert {t.id for t in kept} == set(tasks) - set(finemap)
    assert all(t.params == tasks[t.id].params for t in kept)


def test_pipeline_wrote_the_fine_mapping_of_every_tissue_modality(site, atlas):
    work = site.parent / "work" / RELEASE
    n_sets = 0
    for tissue, modality in _pairs(atlas):
        d = work / tissue / modality
        cs = pd.read_parquet(d / "susie_credible_sets.parquet")
        pip = pd.read_parquet(d / "susie_pip.parquet")
        assert list(pip.columns) == ["phenotype_id", "variant_id", "pip", *[f"lbf_{k}" for k in range(1, L + 1)]]
        assert list(cs.columns[:11]) == ["phenotype_id", "variant_id", "cs_id", "cs_size", "pip", "cs_log10bf",
                                         "cs_min_r2", "cs_avg_r2", "posterior_mean", "posterior_sd", "z"]
        cis = pd.read_csv(d / "cis_qtl.txt.gz", sep="\t")
        significant = cis.loc[cis["qval"] <= atlas.mapping.fdr]
        if not atlas.modality(modality).grouped:  # exactly the significant phenotypes
            assert set(pip["phenotype_id"]) == set(significant["phenotype_id"])
        else:  # every phenotype of the significant groups
            groups = pd.read_csv(d / "groups.txt", sep="\t", header=None, names=["phenotype_id", "group_id"])
            wanted = groups.loc[groups["group_id"].isin(significant["group_id"]), "phenotype_id"]
            assert set(pip["phenotype_id"]) == set(wanted)
        assert set(cs["phenotype_id"]) <= set(pip["phenotype_id"])
        n_sets += cs["cs_id"].nunique()
    assert n_sets > 10
    assert not list(work.glob("*/cross_modality/susie_*"))
    log = next((work / ".state" / "logs").glob("*Liver_expression_finemap*"))
    assert "credible set(s)" in log.read_text()


def test_task_matches_the_command_and_copes_with_no_significant_phenotype(site, atlas, tmp_path):
    """The task fine-maps what ``qtlatlas map cis_susie --cis-output`` does on the same inputs; with no
    phenotype at q ≤ FDR it writes both files empty, with their columns and types."""
    from qtlatlas.cli import main
    from qtlatlas.pipeline import qtl_tasks

    d = site.parent / "work" / RELEASE / "Liver" / "expression"
    genotypes = [str(g) for g in atlas.release(RELEASE).genotypes]
    assert main(["map", "cis_susie", genotypes[0], str(d / "phenotypes.bed.gz"), str(tmp_path / "cli"),
                 "--covariates", str(d / "covariates.txt"), "--cis-output", str(d / "cis_qtl.txt.gz"),
                 "--window", str(atlas.mapping.window), "--maf-threshold", str(atlas.mapping.maf_threshold),
                 "--min-mac", str(atlas.mapping.min_mac), "--threads", "1"]) == 0
    for name in ("susie_credible_sets", "susie_pip"):
        pd.testing.assert_frame_equal(pd.read_parquet(d / f"{name}.parquet"),
                                      pd.read_parquet(tmp_path / f"cli.{name}.parquet"))
    cis = pd.read_csv(d / "cis_qtl.txt.gz", sep="\t")
    cis["qval"] = 1.0
    cis.to_csv(tmp_path / "none.cis_qtl.txt.gz", sep="\t", index=False)
    outputs = {"susie_credible_sets": str(tmp_path / "cs.parquet"), "susie_pip": str(tmp_path / "pip.parquet")}
    qtl_tasks.finemap(outputs=outputs, threads=1, phenotypes=str(d / "phenotypes.bed.gz"),
                      covariates=str(d / "covariates.txt"), genotypes=genotypes, groups=None,
                      cis=str(tmp_path / "none.cis_qtl.txt.gz"), window=atlas.mapping.window, maf_threshold=0.0,
                      fdr=0.05, finemapping={"L": 3, "scaled_prior_variance": 0.2, "coverage": 0.95,
                                             "min_abs_corr": 0.5})
    import pyarrow.parquet as pq

    cs, pip = pq.read_table(outputs["susie_credible_sets"]), pq.read_table(outputs["susie_pip"])
    assert cs.num_rows == pip.num_rows == 0
    assert pip.schema.names == ["phenotype_id", "variant_id", "pip", "lbf_1", "lbf_2", "lbf_3"]
    assert str(cs.schema.field("phenotype_id").type) == "string" and str(cs.schema.field("cs_size").type) == "int64"


# --------------------------------------------------------------------------------------------------
# Release tables and downloads
# --------------------------------------------------------------------------------------------------


def test_credible_set_table_is_consistent(site, sets, lbf):
    assert list(sets.columns) == TABLE_COLUMNS and list(lbf.columns) == LBF_COLUMNS
    assert len(sets) and len(lbf)
    # sorted by chromosome and position
    order = sets.assign(_c=sets["chrom"].str.replace("chr", "").astype(int))
    assert order[["_c", "pos"]].apply(tuple, axis=1).is_monotonic_increasing
    # cs_size is the number of members; a set's members carry its statistics once
    by_set = sets.groupby(["tissue", "modality", "cs_id"])
    assert (by_set["cs_size"].first() == by_set.size()).all()
    assert (by_set[["cs_log10bf", "cs_min_r2", "cs_avg_r2", "cs_size"]].nunique() == 1).all().all()
    # members hold at least the coverage (PIP ≥ the effect's posterior probability), a phenotype's PIPs sum to ≤ L
    assert (by_set["pip"].sum() >= 0.95 - 1e-9).all()
    assert (lbf.groupby(["tissue", "modality", "phenotype_id"])["pip"].sum() <= L + 1e-9).all()
    assert ((lbf["pip"] >= 0) & (lbf["pip"] <= 1 + 1e-12)).all()
    assert ((sets["cs_min_r2"] >= 0.25 - 1e-9) & (sets["cs_min_r2"] <= sets["cs_avg_r2"] + 1e-12)).all()
    assert (sets["cs_id"] == sets["phenotype_id"] + "_" + sets["cs_index"]).all()
    # every member is a fine-mapped variant with the same PIP and position
    both = sets.merge(lbf, on=["tissue", "modality", "phenotype_id", "variant_id"], suffixes=("", "_lbf"))
    assert len(both) == len(sets)
    assert (both["pip"] == both["pip_lbf"]).all() and (both["pos"] == both["pos_lbf"]).all()
    assert (both["gene_id"] == both["gene_id_lbf"]).all()
    # positions, alleles and symbols are the release's
    variants = table(site, "variants").set_index("variant_id")
    assert (sets["pos"].to_numpy() == variants.loc[sets["variant_id"], "pos"].to_numpy()).all()
    assert (sets["alt"].to_numpy() == variants.loc[sets["variant_id"], "alt"].to_numpy()).all()
    genes = table(site, "genes").set_index("gene_id")
    assert (sets["gene_name"].to_numpy() == genes.loc[sets["gene_id"], "gene_name"].to_numpy()).all()
    # grouped modalities resolve to the group's gene
    grouped = sets[sets["modality"] != "expression"]
    assert len(grouped) and all(p.startswith(g) for p, g in zip(grouped["phenotype_id"], grouped["gene_id"], strict=True))


def test_downloads_agree_with_the_tables_and_release_json(site, atlas, sets, lbf):
    root = site / "releases" / RELEASE
    manifest = pd.read_csv(root / "MANIFEST.tsv", sep="\t")
    described = dict(zip(manifest["path"], manifest["description"], strict=True))
    assert "tables/credible_sets.parquet" in described and "tables/lbf_variable.parquet" in described
    info = json.loads((root / "release.json").read_text())
    assert info["finemapping"]["L"] == L and info["finemapping"]["enabled"] is True
    counts = {(c["tissue"], c["modality"]): c for c in info["counts"]["finemapping"]}
    assert sorted(counts) == sorted(_pairs(atlas))
    genome = info["genome"]
    for tissue, modality in _pairs(atlas):
        mine = sets[(sets["tissue"] == tissue) & (sets["modality"] == modality)]
        fitted = lbf[(lbf["tissue"] == tissue) & (lbf["modality"] == modality)]
        c = counts[(tissue, modality)]
        assert c["n_phenotypes"] == fitted["phenotype_id"].nunique()
        assert c["n_credible_sets"] == mine["cs_id"].nunique() and c["n_variants_in_sets"] == len(mine)
        assert c["n_phenotypes_with_sets"] == mine["phenotype_id"].nunique()
        cs_rel = f"downloads/credible_sets.{tissue}.{modality}.{RELEASE}_{genome}.tsv.gz"
        lbf_rel = f"downloads/lbf_variable.{tissue}.{modality}.{RELEASE}_{genome}.tsv.gz"
        assert "credible sets" in described[cs_rel] and "Bayes factors" in described[lbf_rel]
        down = pd.read_csv(root / cs_rel, sep="\t")
        assert list(down.columns) == ["phenotype_id", "gene_id", "variant", "chromosome", "position", "ref", "alt",
                                      "cs_id", "cs_index", "region", "pip", "z", "cs_min_r2", "cs_avg_r2", "cs_size",
                                      "posterior_mean", "posterior_sd", "cs_log10bf"]
        merged = down.merge(mine, left_on=["phenotype_id", "variant", "cs_id"],
                            right_on=["phenotype_id", "variant_id", "cs_id"])
        assert len(merged) == len(down) == len(mine)
        for x, y in (("pip_x", "pip_y"), ("z_x", "z_y"), ("position", "pos")):
            np.testing.assert_allclose(merged[x].astype(float), merged[y].astype(float), rtol=1e-5)
        with gzip.open(root / lbf_rel, "rt") as fh:
            text = pd.read_csv(fh, sep="\t")
        assert list(text.columns) == ["phenotype_id", "region", "variant", "chromosome", "position",
                                      *[f"lbf_variable{k}" for k in range(1, L + 1)]]
        assert len(text) == len(fitted)
        assert (text[["phenotype_id", "variant"]].to_numpy() == fitted[["phenotype_id", "variant_id"]].to_numpy()).all()
        np.testing.assert_allclose(text["lbf_variable1"].astype(float), fitted["lbf_variable1"], rtol=1e-5, atol=1e-9)
        # region: the first and last position fitted for the phenotype
        span = fitted.groupby("phenotype_id")["pos"].agg(["min", "max"])
        expected = text["chromosome"] + ":" + text["phenotype_id"].map(span["min"]).astype(str) + "-" + \
            text["phenotype_id"].map(span["max"]).astype(str)
        assert (text["region"] == expected).all()
        assert set(down["region"]) <= set(text["region"])


def test_planted_two_signal_genes_give_two_credible_sets_holding_the_planted_variants(site, sets, store):
    truth = pd.read_csv(site.parent / "truth" / "causal_variants.tsv", sep="\t")
    truth = truth[truth["release"] == RELEASE]
    two = truth.groupby(["tissue", "modality", "phenotype_id"]).filter(lambda d: d["signal"].nunique() >= 2)
    found = 0
    for (tissue, modality, phenotype), planted in two.groupby(["tissue", "modality", "phenotype_id"]):
        mine = sets[(sets["tissue"] == tissue) & (sets["modality"] == modality) & (sets["phenotype_id"] == phenotype)]
        if mine["cs_id"].nunique() < 2:
            continue
        found += 1
        # each planted variant is a member of a set, or in high LD with one, and the two land in different sets
        members = list(mine["variant_id"])
        ld = store.ld_matrix(list(planted["variant_id"]) + members, tissue=tissue)
        r2 = pd.DataFrame(ld["r2"], index=ld["variants"], columns=ld["variants"])
        landed = []
        for variant in planted["variant_id"]:
            best = r2.loc[variant, members].astype(float)
            assert best.max() >= 0.8, (phenotype, variant, best.max())
            landed.append(mine["cs_id"].iloc[int(np.argmax(best.to_numpy()))])
        assert len(set(landed)) == len(landed), (phenotype, landed)
    assert found >= 1


# --------------------------------------------------------------------------------------------------
# Store and API
# --------------------------------------------------------------------------------------------------


def _ordered(rows: pd.DataFrame) -> pd.DataFrame:
    key = rows.assign(_k=rows["cs_index"].str[1:].astype(int), _p=-rows["pip"])
    return key.sort_values(["tissue", "modality", "phenotype_id", "_k", "_p", "variant_id"]).drop(columns=["_k", "_p"])


def test_gene_variant_and_region_queries_match_the_table(client, sets):
    gene = sets["gene_id"].value_counts().index[0]
    expected = _ordered(sets[sets["gene_id"] == gene])
    body = client.get("/api/v1/finemapping", params={"gene": gene}).json()
    assert body["meta"]["total"] == len(expected) and body["meta"]["next_cursor"] is None
    got = pd.DataFrame(body["data"])
    assert list(got.columns) == TABLE_COLUMNS
    assert list(got["variant_id"]) == list(expected["variant_id"]) and list(got["cs_id"]) == list(expected["cs_id"])
    np.testing.assert_allclose(got["pip"], expected["pip"])
    # by symbol, any case; filters
    symbol = expected["gene_name"].iloc[0]
    same = client.get("/api/v1/finemapping", params={"gene": symbol.upper()}).json()
    assert same["meta"]["total"] == len(expected)
    tissue = expected["tissue"].iloc[0]
    filtered = client.get("/api/v1/finemapping", params={"gene": gene, "tissue": tissue, "min_pip": 0.5}).json()
    want = expected[(expected["tissue"] == tissue) & (expected["pip"] >= 0.5)]
    assert filtered["meta"]["total"] == len(want)
    # a variant: every set it belongs to
    variant = sets["variant_id"].value_counts().index[0]
    rows = client.get("/api/v1/finemapping", params={"variant": variant}).json()
    assert rows["meta"]["total"] == int((sets["variant_id"] == variant).sum())
    assert {r["variant_id"] for r in rows["data"]} == {variant}
    # a region
    chrom, pos = sets["chrom"].iloc[0], int(sets["pos"].iloc[0])
    inside = sets[(sets["chrom"] == chrom) & sets["pos"].between(pos, pos + 1_500_000)]
    region = client.get("/api/v1/finemapping", params={"region": f"{chrom}:{pos}-{pos + 1_500_000}"}).json()
    assert region["meta"]["total"] == len(inside)
    assert list(pd.DataFrame(region["data"])["variant_id"]) == list(_ordered(inside)["variant_id"])


def test_paging_formats_and_pips(client, sets, lbf):
    gene = sets["gene_id"].value_counts().index[0]
    whole = client.get("/api/v1/finemapping", params={"gene": gene}).json()["data"]
    pages, cursor = [], None
    while True:
        params = {"gene": gene, "limit": 2, **({"cursor": cursor} if cursor else {})}
        body = client.get("/api/v1/finemapping", params=params).json()
        pages += body["data"]
        cursor = body["meta"]["next_cursor"]
        if cursor is None:
            break
    assert pages == whole
    second = client.get("/api/v1/finemapping", params={"gene": gene, "limit": 2, "page": 2}).json()["data"]
    assert second == whole[2:4]
    r = client.get("/api/v1/finemapping", params={"gene": gene, "format": "tsv"})
    assert r.status_code == 200 and r.headers["x-total-count"] == str(len(whole))
    tsv = pd.read_csv(io.StringIO(r.text), sep="\t")
    assert list(tsv.columns) == TABLE_COLUMNS and len(tsv) == len(whole)
    # the PIPs of a phenotype's window, with its credible sets
    row = sets[sets["gene_id"] == gene].iloc[0]
    body = client.get("/api/v1/finemapping/pips", params={"gene": gene, "tissue": row["tissue"],
                                                          "modality": row["modality"]}).json()
    pips = pd.DataFrame(body["data"])
    assert list(pips.columns) == ["phenotype_id", "variant_id", "pos", "pip", "cs_id"]
    fitted = lbf[(lbf["tissue"] == row["tissue"]) & (lbf["modality"] == row["modality"]) & (lbf["gene_id"] == gene)]
    assert len(pips) == len(fitted) and body["meta"]["total"] == len(fitted)
    assert pips["pos"].is_monotonic_increasing or pips["phenotype_id"].nunique() > 1
    mine = sets[(sets["tissue"] == row["tissue"]) & (sets["modality"] == row["modality"]) & (sets["gene_id"] == gene)]
    in_sets = pips.dropna(subset=["cs_id"])
    assert set(zip(in_sets["variant_id"], in_sets["cs_id"], strict=True)) <= set(
        zip(mine["variant_id"], mine["cs_id"], strict=True))
    assert set(in_sets["variant_id"]) == set(mine["variant_id"])
    one = client.get("/api/v1/finemapping/pips", params={"gene": gene, "tissue": row["tissue"],
                                                         "modality": row["modality"],
                                                         "phenotype": row["phenotype_id"]}).json()["data"]
    assert {r["phenotype_id"] for r in one} == {row["phenotype_id"]}
    assert sum(r["pip"] for r in one) <= L


def test_known_gene_without_sets_and_a_release_without_fine_mapping(store, sets, monkeypatch):
    quiet = next(g for g in store._genes()["gene_id"] if g not in set(sets["gene_id"]))
    rows, total, cursor = store.finemapping_table(gene=quiet)
    assert total == 0 and rows.empty and cursor is None
    gene = sets["gene_id"].iloc[0]
    monkeypatch.setattr(store, "has_finemapping", lambda: False)
    rows, total, cursor = store.finemapping_table(gene=gene)
    assert total == 0 and list(rows.columns) == TABLE_COLUMNS
    assert store.pips(gene, sets["tissue"].iloc[0], sets["modality"].iloc[0]).empty
    from qtlatlas.store import NotFound

    with pytest.raises(NotFound):
        store.finemapping_table(gene="NO_SUCH_GENE_X")


@pytest.mark.parametrize("params, status", [
    ({}, 400),
    ({"gene": "", "region": ""}, 400),
    ({"gene": "GENE", "region": "chr1:1-1000"}, 400),
    ({"gene": "GENE", "variant": "VARIANT"}, 400),
    ({"region": "chr1:1-3000000"}, 400),
    ({"region": "chr1:500-100"}, 400),
    ({"region": "not a region"}, 400),
    ({"gene": "NO_SUCH_GENE_X"}, 404),
    ({"variant": "rs999999999"}, 404),
    ({"variant": "chr1:1"}, 404),
    ({"gene": "GENE", "tissue": "Pancreas"}, 404),
    ({"gene": "GENE", "modality": "Liver"}, 404),
    ({"gene": "GENE", "cursor": "bm90IGEgY3Vyc29y"}, 400),
    ({"gene": "GENE", "min_pip": "-1"}, 422),
    ({"gene": "GENE", "min_pip": "high"}, 422),
    ({"gene": "GENE", "limit": "0"}, 422),
    ({"gene": "x" * 500}, 422),
    ({"gene": "'; DROP TABLE credible_sets; --"}, 404),
    ({"gene": "<script>alert(1)</script>"}, 404),
    ({"region": "chr1:1-10'); SELECT 1; --"}, 400),
])
def test_bad_requests_are_4xx(client, sets, params, status):
    params = {k: (sets["gene_id"].iloc[0] if v == "GENE" else sets["variant_id"].iloc[0] if v == "VARIANT" else v)
              for k, v in params.items()}
    r = client.get("/api/v1/finemapping", params=params)
    assert r.status_code == status, r.text
    assert r.json()["error"] and r.json()["detail"]


def test_hostile_bytes_and_pips_errors_are_4xx(client, sets):
    gene, tissue = sets["gene_id"].iloc[0], sets["tissue"].iloc[0]
    for url in ("/api/v1/finemapping?gene=%00", "/api/v1/finemapping?gene=%ED%A0%80",
                "/api/v1/finemapping?variant=%FF%FE", "/api/v1/finemapping?region=chr1%3A1-2%00",
                f"/api/v1/finemapping?gene={gene}&tissue=%00",
                f"/api/v1/finemapping/pips?gene={gene}&tissue={tissue}&modality=expression&phenotype=%00",
                f"/api/v1/finemapping/pips?gene={gene}&tissue=Nowhere&modality=expression",
                f"/api/v1/finemapping/pips?gene={gene}&tissue={tissue}&modality=cross",
                f"/api/v1/finemapping/pips?gene={gene}&tissue={tissue}",
                "/api/v1/finemapping/pips?gene=NO_SUCH_GENE_X&tissue=Liver&modality=expression"):
        r = client.get(url)
        assert 400 <= r.status_code < 500, (url, r.status_code, r.text)


def test_schemathesis_over_the_fine_mapping_operations(site):
    """Generated requests: no 5xx, and every response conforms to the OpenAPI schema."""
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    from qtlatlas.web.app import create_app

    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
              response_schema_conformance]
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", create_app(site))
    operations = [op for op in (result.ok() for result in schema.get_all_operations())
                  if op.path.startswith("/api/v1/finemapping")]
    assert len(operations) == 2
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case):
            case.call_and_validate(checks=checks)

        check()
