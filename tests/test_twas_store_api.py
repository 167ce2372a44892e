"""The TWAS hub's store queries and REST endpoints over the small TWAS demo site: every endpoint with values
checked against the release tables, paging, filters, sorting, 404/400/422, TSV/CSV, caching headers, the
cross-trait statistic, and schemathesis over the TWAS operations."""

from __future__ import annotations

import io
import shutil

import numpy as np
import pandas as pd
import pytest
import schemathesis
from fastapi.testclient import TestClient
from scipy import stats
from twas_demo import RELEASE, twas_demo

API = "/api/v1/twas"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return twas_demo(tmp_path_factory.getbasetemp())


def make_app(site):
    """The portal app (it serves the TWAS API under /api/v1/twas)."""
    from qtlatlas.web.app import create_app

    app = create_app(site)
    assert "/api/v1/twas/traits" in app.openapi()["paths"]
    return app


@pytest.fixture(scope="module")
def client(demo):
    return TestClient(make_app(demo.site))


def table(demo, name: str) -> pd.DataFrame:
    return pd.read_parquet(demo.release_dir / "tables" / f"{name}.parquet")


def get(client, path: str, **params):
    r = client.get(path, params=params)
    assert r.status_code == 200, (path, params, r.status_code, r.text[:500])
    return r.json()


def close(a, b) -> bool:
    """Equal up to the JSON encoding of the list endpoints (15 decimal places)."""
    if a is None or (isinstance(b, float) and np.isnan(b)):
        return a is None and (b is None or (isinstance(b, float) and np.isnan(b)))
    return a == pytest.approx(b, rel=1e-9, abs=1e-15)


# ------------------------------------------------------------------------------------------------------------
# Traits
# ------------------------------------------------------------------------------------------------------------


def test_traits_with_tag_and_project_filters_and_tsv(client, demo):
    traits = table(demo, "twas_traits")
    body = get(client, f"{API}/traits")
    assert [t["id"] for t in body["data"]] == list(traits["id"]) and body["meta"] == {
        "release": RELEASE, "total": len(traits), "next_cursor": None}
    first = body["data"][0]
    row = traits.iloc[0]
    assert first["tags"] == list(row["tags"]) and first["n_significant"] == row["n_significant"]
    assert close(first["bonferroni_p"], row["bonferroni_p"]) and first["n_loci"] == row["n_loci"]
    tag = row["tags"][0]
    tagged = get(client, f"{API}/traits", tag=tag.upper())["data"]
    assert [t["id"] for t in tagged] == [i for i, tags in zip(traits["id"], traits["tags"], strict=True) if tag in tags]
    assert get(client, f"{API}/traits", tag="no-such-tag")["data"] == []
    assert len(get(client, f"{API}/traits", project=row["project"])["data"]) == len(traits)
    tsv = client.get(f"{API}/traits", params={"format": "tsv"})
    assert tsv.headers["content-type"].startswith("text/tab-separated-values") and tsv.headers["x-total-count"] == "3"
    parsed = pd.read_csv(io.StringIO(tsv.text), sep="\t")
    assert list(parsed["tags"]) == [",".join(t) for t in traits["tags"]]


def test_one_trait_by_id_or_name_and_unknown_traits(client, demo):
    traits = table(demo, "twas_traits").set_index("id")
    data = get(client, f"{API}/traits/fasting_glucose")["data"]
    assert data["name"] == "Fasting glucose" and data["n_tested"] == traits.loc["fasting_glucose", "n_tested"]
    assert data["zthresh"] == pytest.approx(stats.norm.isf(0.05 / data["n_tested"] / 2))
    assert len(data["panels"]) == 6
    assert get(client, f"{API}/traits/FASTING GLUCOSE")["data"]["id"] == "fasting_glucose"
    r = client.get(f"{API}/traits/fasting_glucos")
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    assert r.json()["suggestions"][0] == "fasting_glucose"
    assert client.get(f"{API}/traits/%27%3B%20DROP%20TABLE%20x%3B%20--").status_code == 404


# ------------------------------------------------------------------------------------------------------------
# Associations
# ------------------------------------------------------------------------------------------------------------


def test_associations_paged_with_cursors_and_pages(client, demo):
    assoc = table(demo, "twas_associations")
    expected = assoc[assoc["trait"] == "body_weight"]
    seen, cursor = [], None
    while True:
        page = get(client, f"{API}/traits/body_weight/associations", limit=17, **({"cursor": cursor} if cursor else {}))
        assert page["meta"]["total"] == len(expected)
        seen += page["data"]
        cursor = page["meta"]["next_cursor"]
        if not cursor:
            break
    assert sorted((r["panel"], r["phenotype_id"]) for r in seen) == sorted(
        zip(expected["panel"], expected["phenotype_id"], strict=True))
    p = [r["twas_p"] for r in seen if r["twas_p"] is not None]
    assert p == sorted(p) and len(p) == expected["twas_p"].notna().sum()  # sorted by p, untested last
    by_key = expected.set_index(["panel", "phenotype_id"])
    for r in seen[:20]:
        row = by_key.loc[(r["panel"], r["phenotype_id"])]
        assert close(r["twas_z"], row["twas_z"]) and r["model"] == row["model"] and r["joint"] == row["joint"]
        assert close(r["hsq"], row["hsq"]) and close(r["coloc_pp4"], row["coloc_pp4"])
    second = get(client, f"{API}/traits/body_weight/associations", limit=17, page=2)["data"]
    assert [(r["panel"], r["phenotype_id"]) for r in second] == [(r["panel"], r["phenotype_id"]) for r in seen[17:34]]
    bad = client.get(f"{API}/traits/body_weight/associations", params={"cursor": "bm90LWEtY3Vyc29y"})
    assert bad.status_code == 400 and "cursor" in bad.json()["detail"]


def test_association_filters_sort_and_tsv(client, demo):
    assoc = table(demo, "twas_associations")
    rows = assoc[assoc["trait"] == "fat_pad"]
    url = f"{API}/traits/fat_pad/associations"
    sig = get(client, url, significant="true", limit=1000)
    assert sig["meta"]["total"] == int(rows["significant"].sum()) > 0
    assert all(r["significant"] for r in sig["data"])
    assert get(client, url, significant="false", limit=1)["meta"]["total"] == int((~rows["significant"]).sum())
    sub = rows[(rows["tissue"] == "Liver") & (rows["modality"] == "expression")]
    liver = get(client, url, tissue="Liver", modality="expression", limit=1000)
    assert liver["meta"]["total"] == len(sub) and {r["panel"] for r in liver["data"]} == {"Liver.expression"}
    assert get(client, url, panel="Liver.expression", limit=1)["meta"]["total"] == len(sub)
    assert get(client, url, max_pval=0.01, limit=1)["meta"]["total"] == int((rows["twas_p"] <= 0.01).sum())
    gene = rows.loc[rows["twas_p"].idxmin()]
    by_gene = get(client, url, gene=gene["gene_name"])["data"]
    assert {r["gene_id"] for r in by_gene} == {gene["gene_id"]} and len(by_gene) == int((rows["gene_id"] == gene["gene_id"]).sum())
    desc = get(client, url, sort="twas_z", order="desc", limit=5)["data"]
    assert [r["twas_z"] for r in desc] == pytest.approx(list(rows["twas_z"].sort_values(ascending=False)[:5]))
    tsv = client.get(url, params={"format": "tsv", "limit": 10_000, "significant": "true"})
    frame = pd.read_csv(io.StringIO(tsv.text), sep="\t")
    assert len(frame) == sig["meta"]["total"] and tsv.headers["x-total-count"] == str(len(frame))
    assert {"trait", "panel", "gene_name", "twas_z", "twas_p", "locus", "joint"} <= set(frame.columns)
    csv = client.get(url, params={"format": "csv", "limit": 3})
    assert csv.headers["content-type"].startswith("text/csv") and len(csv.text.strip().splitlines()) == 4
    assert client.get(url, params={"sort": "twas_z; DROP"}).status_code == 400
    assert client.get(url, params={"panel": "Kidney.expression"}).status_code == 404
    assert client.get(url, params={"tissue": "Kidney"}).status_code == 404
    assert client.get(url, params={"gene": "NoSuchGene1"}).status_code == 404
    assert client.get(url, params={"max_pval": 2}).status_code == 422


# ------------------------------------------------------------------------------------------------------------
# Loci
# ------------------------------------------------------------------------------------------------------------


def test_loci_and_one_locus_with_models_and_conditional_gwas(client, demo):
    loci = table(demo, "twas_loci")
    assoc = table(demo, "twas_associations")
    gwas = table(demo, "twas_locus_gwas")
    for trait in ("body_weight", "fat_pad"):
        mine = loci[loci["trait"] == trait]
        listed = get(client, f"{API}/traits/{trait}/loci")["data"]
        assert [r["locus"] for r in listed] == list(mine["locus"]) and listed[0]["joint_gene_names"]
        assert [r["p0"] for r in listed] == list(mine["p0"]) and [r["n_joint_genes"] for r in listed] == list(mine["n_joint_genes"])
        n = int(mine.sort_values("best_twas_p")["locus"].iloc[0])
        locus = get(client, f"{API}/traits/{trait}/loci/{n}")["data"]
        assert locus["locus"]["locus"] == n and locus["trait"] == trait
        members = assoc[(assoc["trait"] == trait) & (assoc["locus"] == n)]
        assert sorted((m["panel"], m["phenotype_id"]) for m in locus["models"]) == sorted(
            zip(members["panel"], members["phenotype_id"], strict=True))
        assert sum(m["joint"] for m in locus["models"]) == int(members["joint"].sum()) >= 1
        assert locus["models"][0]["joint"]  # joint models first
        for m in locus["models"]:
            assert {"hsq", "model_cv_r2", "weak_model", "twas_z", "twas_p", "coloc_pp3", "coloc_pp4", "joint",
                    "cond_r2", "cond_status"} <= set(m)
            assert (m["joint_z"] is not None) == m["joint"] and (m["cond_status"] == "joint") == m["joint"]
            assert m["weak_model"] == (m["model_cv_r2"] < 0.01)
            # a model left out has a conditional p only when its statistic is tested
            assert m["joint"] or (m["cond_p"] is not None) == (m["cond_status"] == "tested")
        snps = gwas[(gwas["trait"] == trait) & (gwas["locus"] == n)]
        assert [s["variant_id"] for s in locus["gwas"]] == list(snps["variant_id"])
        np.testing.assert_allclose([s["gwas_z"] if s["gwas_z"] is not None else np.nan for s in locus["gwas"]],
                                   snps["gwas_z"].to_numpy(), equal_nan=True)
        # conditioning on the joint models explains the locus: the best SNP is explained by them or its chi² drops
        best = snps.loc[snps["gwas_z"].abs().idxmax()]
        assert best["cond_status"] == "explained" or abs(best["cond_z"]) < abs(best["gwas_z"])
        # SNPs without a conditional statistic: explained (R² > 0.8) or unstable, with null conditional z and p
        for s in locus["gwas"]:
            assert s["cond_status"] in ("tested", "explained", "unstable", "undefined")
            assert (s["cond_p"] is None) == (s["cond_status"] != "tested")
            if s["cond_status"] == "explained":
                assert s["cond_r2"] > 0.8
            elif s["cond_status"] == "tested":
                assert s["cond_z"] ** 2 <= s["gwas_z"] ** 2 + 1.96**2 + 1e-9
    r = client.get(f"{API}/traits/body_weight/loci/999")
    assert r.status_code == 404 and "loci: 1.." in r.json()["detail"]
    assert client.get(f"{API}/traits/body_weight/loci/0").status_code == 422
    assert client.get(f"{API}/traits/body_weight/loci/x").status_code == 422


# ------------------------------------------------------------------------------------------------------------
# Genes, panels, models, cross-trait
# ------------------------------------------------------------------------------------------------------------


def test_gene_models_and_trait_by_model_matrix(client, demo):
    models = table(demo, "twas_models")
    assoc = table(demo, "twas_associations")
    gene_id = models["gene_id"].value_counts().index[0]  # a gene with models in several panels
    name = models.loc[models["gene_id"] == gene_id, "gene_name"].iloc[0]
    data = get(client, f"{API}/genes/{name.lower()}")["data"]
    assert data["gene"]["gene_id"] == gene_id
    mine = models[models["gene_id"] == gene_id].sort_values(["panel", "phenotype_id"])
    assert [m["panel"] for m in data["models"]] == list(mine["panel"])
    for m, (_, row) in zip(data["models"], mine.iterrows(), strict=True):
        assert m["hsq"] == pytest.approx(row["hsq"]) and close(m["lasso_r2"], row["lasso_r2"])
        assert m["best_model"] == row["best_model"] and (m["tissue"], m["modality"]) == (row["tissue"], row["modality"])
    matrix = data["matrix"]
    assert matrix["traits"] == ["body_weight", "fasting_glucose", "fat_pad"]
    assert len(matrix["z"]) == 3 and all(len(r) == len(matrix["models"]) for r in matrix["z"])
    for i, trait in enumerate(matrix["traits"]):
        for j, model in enumerate(matrix["models"]):
            row = assoc[(assoc["trait"] == trait) & (assoc["panel"] == model["panel"])
                        & (assoc["phenotype_id"] == model["phenotype_id"])].iloc[0]
            assert close(matrix["z"][i][j], row["twas_z"])
    assert len(data["associations"]) == int((assoc["gene_id"] == gene_id).sum())
    r = client.get(f"{API}/genes/{name[:-1]}x")
    assert r.status_code == 404 and "suggestions" in r.json()


def test_panels_and_models_with_filters(client, demo):
    panels = table(demo, "twas_panels")
    body = get(client, f"{API}/panels")
    assert [p["panel"] for p in body["data"]] == list(panels["panel"])
    assert [p["n_models"] for p in body["data"]] == list(panels["n_models"])
    csv = pd.read_csv(io.StringIO(client.get(f"{API}/panels", params={"format": "csv"}).text))
    assert list(csv["n_weights"]) == list(panels["n_weights"])
    models = table(demo, "twas_models")
    everything = get(client, f"{API}/models", limit=10_000)
    assert everything["meta"]["total"] == len(models)
    pv = [m["hsq_pval"] for m in everything["data"]]
    assert pv == sorted(pv)
    brain = models[(models["tissue"] == "Brain") & (models["modality"] == "splicing")]
    assert get(client, f"{API}/models", tissue="Brain", modality="splicing")["meta"]["total"] == len(brain)
    assert get(client, f"{API}/models", panel="Brain.splicing")["meta"]["total"] == len(brain)
    assert get(client, f"{API}/models", max_hsq_pval=1e-4)["meta"]["total"] == int((models["hsq_pval"] <= 1e-4).sum())
    assert get(client, f"{API}/models", best_model="blup")["meta"]["total"] == int((models["best_model"] == "blup").sum())
    top = get(client, f"{API}/models", sort="hsq", order="desc", limit=3)["data"]
    assert [m["hsq"] for m in top] == pytest.approx(list(models["hsq"].sort_values(ascending=False)[:3]))
    pages = [get(client, f"{API}/models", limit=7, page=k)["data"] for k in (1, 2)]
    assert [m["phenotype_id"] for m in pages[0] + pages[1]] == [m["phenotype_id"] for m in everything["data"][:14]]
    assert client.get(f"{API}/models", params={"best_model": "bslmm"}).status_code == 422
    assert client.get(f"{API}/models", params={"sort": "nope"}).status_code == 400


def test_cross_trait_correlation_is_pearson_over_shared_models(client, demo):
    assoc = table(demo, "twas_associations")
    got = get(client, f"{API}/traits/body_weight/correlations")["data"]
    assert {r["trait"] for r in got} == {"fasting_glucose", "fat_pad"}
    a = assoc[assoc["trait"] == "body_weight"].set_index(["panel", "phenotype_id"])["twas_z"]
    for r in got:
        b = assoc[assoc["trait"] == r["trait"]].set_index(["panel", "phenotype_id"])["twas_z"]
        both = pd.concat([a, b], axis=1, join="inner").dropna()
        expected = stats.pearsonr(both.iloc[:, 0], both.iloc[:, 1])
        assert r["n_models"] == len(both)
        assert r["r"] == pytest.approx(expected.statistic, abs=1e-12)
        assert r["pval"] == pytest.approx(expected.pvalue, rel=1e-6, abs=1e-15)
        sig_a = set(assoc.loc[(assoc["trait"] == "body_weight") & assoc["significant"], "gene_id"])
        sig_b = set(assoc.loc[(assoc["trait"] == r["trait"]) & assoc["significant"], "gene_id"])
        assert r["n_shared_genes"] == len(sig_a & sig_b)
    assert abs(got[0]["r"]) >= abs(got[1]["r"])


# ------------------------------------------------------------------------------------------------------------
# Releases, caching, errors, schema
# ------------------------------------------------------------------------------------------------------------


def test_release_parameter_caching_and_a_release_without_twas(client, demo, tmp_path):
    pinned = client.get(f"{API}/traits", params={"release": RELEASE})
    assert pinned.status_code == 200 and "max-age=86400" in pinned.headers["cache-control"]
    again = client.get(f"{API}/traits", params={"release": RELEASE}, headers={"If-None-Match": pinned.headers["etag"]})
    assert again.status_code == 304
    assert "max-age=60" in client.get(f"{API}/panels").headers["cache-control"]
    r = client.get(f"{API}/traits", params={"release": "v9"})
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    site = tmp_path / "site"
    shutil.copytree(demo.site, site)
    for p in (site / "releases" / RELEASE / "tables").glob("twas_*"):
        p.unlink()
    bare = TestClient(make_app(site))
    for path in ("/traits", "/panels", "/models", "/traits/body_weight", "/genes/x"):
        r = bare.get(API + path)
        assert r.status_code == 404 and "without TWAS" in r.json()["detail"], path


@pytest.mark.parametrize("path", [
    f"{API}/traits/body_weight/associations?significant=maybe",
    f"{API}/traits/body_weight/associations?limit=0",
    f"{API}/traits/body_weight/associations?order=sideways",
    f"{API}/traits/body_weight/associations?tissue=%00",
    f"{API}/traits/%3Cscript%3E",
    f"{API}/traits?tag=" + "x" * 300,
    f"{API}/models?gene=%27%3B%20DROP%20TABLE%20genes%3B%20--",
    f"{API}/genes/%27%3B%20DROP%20TABLE%20genes%3B%20--",
    f"{API}/traits/body_weight/loci/99999999",
])
def test_bad_input_is_a_4xx_json_error(client, path):
    r = client.get(path)
    assert 400 <= r.status_code < 500, (path, r.status_code, r.text[:300])
    assert set(r.json()) >= {"error", "detail"}


def test_schemathesis_over_the_twas_operations(demo):
    """Generated requests for every TWAS operation: no 5xx and every response conforms to the schema."""
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
              response_schema_conformance]
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", make_app(demo.site))
    operations = [op for op in (result.ok() for result in schema.get_all_operations())
                  if op.path.startswith("/api/v1/twas")]
    assert len(operations) == 10  # phenotype_stats included
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case):
            case.call_and_validate(checks=checks)

        check()
