"""The REST API over a small demo site: every endpoint with values checked against the release tables,
errors, formats, caching headers, the RatGTEx-compatible routes, and schemathesis over our OpenAPI."""

from __future__ import annotations

import io
import re

import numpy as np
import pandas as pd
import pytest
import schemathesis
from browser.portal_site import demo_site
from fastapi.testclient import TestClient


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The small demo site shared with the page tests (built once per session; the API only reads it)."""
    return demo_site(tmp_path_factory)


@pytest.fixture(scope="module")
def client(site):
    from qtlatlas.web.app import create_app

    return TestClient(create_app(site))


def table(site, release, name):
    return pd.read_parquet(site / "releases" / release / "tables" / f"{name}.parquet")


def test_releases_and_meta(client, site):
    r = client.get("/api/v1/releases")
    assert r.status_code == 200
    body = r.json()
    assert [x["id"] for x in body["data"]] == ["v1", "v2"] and body["meta"]["total"] == 2
    tissues = client.get("/api/v1/tissues").json()
    assert {t["tissue_id"] for t in tissues["data"]} == {"Adipose", "Brain", "Liver"}
    assert tissues["meta"]["release"] == "v2"
    v1 = client.get("/api/v1/tissues", params={"release": "v1"}).json()
    assert {t["tissue_id"] for t in v1["data"]} == {"Adipose", "Brain"} and v1["meta"]["release"] == "v1"
    mods = {m["id"] for m in client.get("/api/v1/modalities").json()["data"]}
    assert {"expression", "isoforms", "splicing", "alt_TSS", "alt_polyA", "stability"} <= mods
    downloads = client.get("/api/v1/downloads").json()["data"]
    assert downloads and all(d["kind"] in ("download", "index") and d["path"].startswith("downloads/")
                             for d in downloads)
    # every tabix index sits beside its file and is listed with it
    paths = {d["path"] for d in downloads}
    assert all(p.removesuffix(".tbi") in paths for p in paths if p.endswith(".tbi"))
    assert any(p.endswith(".tbi") for p in paths)
    assert client.get("/api/v1/studies").json()["meta"]["total"] == 1


def test_gene_search_and_detail(client, site):
    genes = table(site, "v2", "genes")
    symbol = genes["gene_name"].iloc[0]
    hits = client.get("/api/v1/genes/search", params={"q": symbol[:3].lower()}).json()["data"]
    assert any(h["gene_name"] == symbol for h in hits)
    exact = client.get("/api/v1/genes/search", params={"q": symbol.upper()}).json()["data"]
    assert exact[0]["gene_name"] == symbol
    detail = client.get(f"/api/v1/genes/{symbol.lower()}").json()["data"]
    row = genes[genes["gene_name"] == symbol].iloc[0]
    assert detail["gene_id"] == row["gene_id"] and detail["tss"] == row["tss"] and detail["strand"] == row["strand"]
    assert {(s["tissue"], s["modality"]) for s in detail["status"]} >= {("Adipose", "expression")}
    exons = client.get(f"/api/v1/genes/{row['gene_id']}/exons").json()["data"]
    assert exons["exons"] and exons["transcripts"]


def test_unknown_gene_is_a_helpful_404(client, site):
    symbol = table(site, "v2", "genes")["gene_name"].iloc[0]
    r = client.get(f"/api/v1/genes/{symbol[:-1]}x")
    assert r.status_code == 404
    body = r.json()
    assert body["error"] == "not_found" and symbol[:-1] in body["detail"]


def test_expression_endpoints(client, site):
    genes = table(site, "v2", "genes")
    gene = genes["gene_id"].iloc[0]
    rows = client.get(f"/api/v1/expression/{gene}", params={"tissue": "Adipose"}).json()
    expr = pd.read_parquet(site / "releases" / "v2" / "tables" / "expression" / "Adipose.parquet").set_index("phenotype_id")
    assert rows["meta"]["total"] == expr.shape[1]
    assert {r["sample_id"] for r in rows["data"]} == set(expr.columns)
    median = client.get("/api/v1/expression/median", params={"genes": list(genes["gene_id"][:3])}).json()["data"]
    medians = table(site, "v2", "medians")
    m = medians[medians["gene_id"].isin(genes["gene_id"][:3])]
    assert len(median) == len(m)
    clustered = client.get("/api/v1/expression/clustered", params={"genes": list(genes["gene_id"][:5])}).json()["data"]
    assert clustered["gene_tree"].endswith(";") and len(clustered["median"]) == len(clustered["genes"])
    top = client.get("/api/v1/expression/top", params={"tissue": "Brain", "n": 5}).json()["data"]
    assert len(top) == 5


def test_qtl_browse_filters_pages_and_formats(client, site):
    top = table(site, "v2", "top_qtls")
    expected = top[(top["tissue"] == "Adipose") & (top["modality"] == "expression") & (top["qval"] <= 0.05)]
    params = {"tissue": "Adipose", "modality": "expression", "max_qval": 0.05, "limit": 7}
    first = client.get("/api/v1/qtls/top", params=params).json()
    assert first["meta"]["total"] == len(expected)
    seen, cursor = [], None
    while True:
        page = client.get("/api/v1/qtls/top", params={**params, **({"cursor": cursor} if cursor else {})}).json()
        seen += [(r["phenotype_id"], r["variant_id"]) for r in page["data"]]
        cursor = page["meta"]["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(zip(expected["phenotype_id"], expected["variant_id"], strict=True))
    page2 = client.get("/api/v1/qtls/top", params={**params, "page": 2}).json()
    assert [r["phenotype_id"] for r in page2["data"]] == [p for p, _ in seen[7:14]]
    tsv = client.get("/api/v1/qtls/top", params={**params, "limit": 10_000, "format": "tsv"})
    assert tsv.headers["content-type"].startswith("text/tab-separated-values")
    assert len(pd.read_csv(io.StringIO(tsv.text), sep="\t")) == len(expected)
    for col in ("tissue", "modality", "phenotype_id", "gene_id", "variant_id", "chrom", "pos", "tss_distance", "qval"):
        assert col in first["data"][0]
    assert client.get("/api/v1/qtls/independent", params={"tissue": "Brain"}).status_code == 200


def test_json_keeps_every_significant_digit(client, site):
    """Floats are sent in their shortest round-trip form: small p-values keep all their digits."""
    top = table(site, "v2", "top_qtls").sort_values("pval_nominal")
    rows = client.get("/api/v1/qtls/top", params={"release": "v2", "limit": 50}).json()["data"]
    by_key = {(r["tissue"], r["modality"], r["phenotype_id"]): r for r in rows}
    checked = 0
    for row in top.head(50).itertuples():
        got = by_key.get((row.tissue, row.modality, row.phenotype_id))
        if got is not None:
            for column in ("pval_nominal", "slope", "pval_beta", "qval"):
                assert got[column] == getattr(row, column)  # exact, not approximately
            checked += 1
    assert checked > 10 and min(r["pval_nominal"] for r in rows) < 1e-5


def test_pairs_by_gene_and_region(client, site):
    pairs = table(site, "v2", "signif_pairs")
    gene = pairs["gene_id"].iloc[0]
    by_gene = client.get("/api/v1/qtls/pairs", params={"gene": gene, "limit": 10_000}).json()
    assert by_gene["meta"]["total"] == int((pairs["gene_id"] == gene).sum())
    chrom, pos = pairs["chrom"].iloc[0], int(pairs["pos"].iloc[0])
    region = f"{chrom}:{max(pos - 100_000, 1)}-{pos + 100_000}"
    by_region = client.get("/api/v1/qtls/pairs", params={"region": region, "limit": 10_000}).json()
    inside = (pairs["chrom"] == chrom) & (pairs["pos"] >= max(pos - 100_000, 1)) & (pairs["pos"] <= pos + 100_000)
    assert by_region["meta"]["total"] == int(inside.sum())
    too_wide = client.get("/api/v1/qtls/pairs", params={"region": f"{chrom}:1-50000000"})
    assert too_wide.status_code == 400 and too_wide.json()["error"] == "bad_request"


def test_variant_lookup_and_associations(client, site):
    top = table(site, "v2", "top_qtls")
    row = top.iloc[0]
    for query in (row["variant_id"], f"{row['chrom']}:{row['pos']}", f"{row['chrom']}_{row['pos']}_{row['ref']}_{row['alt']}"):
        r = client.get(f"/api/v1/variants/{query}")
        assert r.status_code == 200, query
        assert r.json()["data"]["variant_id"] == row["variant_id"]
    assoc = client.get(f"/api/v1/variants/{row['variant_id']}/associations").json()["data"]
    assert {"top", "independent", "significant"} >= {a["source"] for a in assoc}
    assert sum(a["source"] == "top" for a in assoc) == int((top["variant_id"] == row["variant_id"]).sum())
    assert client.get("/api/v1/variants/rs0000").status_code == 404


def test_phenotype_by_genotype(client, site):
    top = table(site, "v2", "top_qtls")
    row = top[(top["modality"] == "expression") & (top["qval"] <= 0.05)].iloc[0]
    r = client.get("/api/v1/phenotype-by-genotype", params={"phenotype_id": row["phenotype_id"], "variant": row["variant_id"],
                                                            "tissue": row["tissue"], "modality": "expression"})
    assert r.status_code == 200
    data = r.json()["data"]
    assert len(data["values"]) == len(data["genotypes"]) == len(data["samples"])
    assert data["counts"]["hom_ref"] + data["counts"]["het"] + data["counts"]["hom_alt"] + data["counts"]["missing"] == len(data["samples"])
    assert data["pval_nominal_threshold"] == pytest.approx(row["pval_nominal_threshold"])


@pytest.mark.parametrize("path", [
    "/api/v1/genes/%27%3B%20DROP%20TABLE%20genes%3B%20--",
    "/api/v1/variants/%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "/api/v1/qtls/top?region=chr1:abc",
    "/api/v1/qtls/top?sort=evil;drop",
    "/api/v1/qtls/top?limit=0",
    "/api/v1/tissues?release=../../etc",
    "/api/v1/tissues?release=v9",
    "/api/v1/qtls/pairs",
    "/api/v1/genes/search?q=",
    "/api/v1/phenotype-by-genotype?phenotype_id=x&variant=y&tissue=z&modality=w",
])
def test_bad_input_is_4xx_json(client, path):
    r = client.get(path)
    assert 400 <= r.status_code < 500, (path, r.status_code, r.text)
    assert set(r.json()) >= {"error", "detail"}


def test_caching_cors_and_docs(client):
    r = client.get("/api/v1/tissues", params={"release": "v1"}, headers={"Origin": "http://elsewhere.example"})
    assert r.headers["access-control-allow-origin"] == "*"
    assert "max-age=86400" in r.headers["cache-control"] and r.headers["etag"]
    assert client.get("/api/v1/tissues", params={"release": "v1"}, headers={"If-None-Match": r.headers["etag"]}).status_code == 304
    assert "max-age=60" in client.get("/api/v1/tissues").headers["cache-control"]
    docs = client.get("/api/docs")
    assert docs.status_code == 200 and "/static/swagger/swagger-ui-bundle.js" in docs.text
    assert "cdn" not in docs.text.lower() and "https://" not in docs.text
    assert client.get("/static/swagger/swagger-ui-bundle.js").status_code == 200
    schema = client.get("/api/openapi.json").json()
    assert "/api/v1/genes/{gene}" in schema["paths"]


def test_ratgtex_compatible_routes(client, site):
    genes = table(site, "v1", "genes")
    gene = genes["gene_id"].iloc[0]
    base = "/compat/ratgtex/v1"
    info = client.get(f"{base}/tissueInfo").json()["tissueInfo"]
    assert {t["tissueSiteDetailId"] for t in info} == {"Adipose", "Brain"}
    g = client.get(f"{base}/gene", params={"geneId": gene}).json()["gene"][0]
    assert g["geneId"] == gene and {"tissueSiteDetailId", "expressed", "testedEqtl", "eqtl"} <= set(g["statusInTissue"][0])
    med = client.get(f"{base}/medianGeneExpression", params={"geneId": ",".join(genes["gene_id"][:4])}).json()
    assert med["clusters"]["gene"].endswith(";") and med["medianGeneExpression"]
    assert client.get(f"{base}/geneExpression", params={"geneId": gene}).json()["geneExpression"][0]["unit"] == "TPM"
    assert len(client.get(f"{base}/topExpressedGene", params={"tissueSiteDetailId": "Adipose"}).json()["topExpressedGene"]) <= 50
    top = table(site, "v1", "top_qtls")
    q = top[(top["modality"] == "expression") & (top["qval"] <= 0.05)].iloc[0]
    eqtl = client.get(f"{base}/eqtl", params={"geneId": q["gene_id"]}).json()["eqtl"]
    # RatGTEx's own field names (pval_beta and log2_aFC keep their table names there)
    assert eqtl and {"tissueSiteDetailId", "geneId", "variantId", "ref", "alt", "pval_beta", "log2_aFC"} <= set(eqtl[0])
    ind = table(site, "v1", "independent_qtls")
    ind = ind[(ind["gene_id"] == q["gene_id"]) & (ind["modality"] == "expression")]
    assert sorted((r["tissueSiteDetailId"], r["variantId"]) for r in eqtl) == sorted(zip(ind["tissue"], ind["variant_id"], strict=True))
    assert client.get(f"{base}/xqtl", params={"geneId": q["gene_id"]}).json()["xqtl"]
    single = client.get(f"{base}/singleTissueEqtl", params={"geneId": q["gene_id"]}).json()["singleTissueEqtl"]
    assert single and {"variantId", "pValue", "nes", "chromosome", "pos", "tissueSiteDetailId", "geneId"} <= set(single[0])
    dyn = client.get(f"{base}/dyneqtl", params={"variantId": q["variant_id"], "geneId": q["gene_id"],
                                                "tissueSiteDetailId": q["tissue"]}).json()
    assert {"data", "genotypes", "homoRefCount", "hetCount", "homoAltCount", "maf", "ref", "alt", "pValue",
            "pValueThreshold", "tissueSiteDetailId", "variantId", "geneId"} <= set(dyn)
    # the mapped nominal p-value of the pair (the top QTL's), not a regression without covariates
    assert dyn["pValue"] == pytest.approx(q["pval_nominal"], rel=1e-5, abs=0)  # the top table is text at 6 digits
    assert dyn["pValueSource"] == "nominal" and dyn["pValueMissingReason"] is None
    assert dyn["pValueThreshold"] == pytest.approx(q["pval_nominal_threshold"])
    assert len(dyn["data"]) == len(dyn["genotypes"]) == dyn["homoRefCount"] + dyn["hetCount"] + dyn["homoAltCount"] + \
        sum(g is None for g in dyn["genotypes"])
    var = client.get(f"{base}/variant", params={"variantId": q["variant_id"]}).json()["variant"][0]
    assert var["variantId"] == q["variant_id"]
    assert client.get(f"{base}/exon", params={"geneId": gene}).json()["exon"]
    # unknown ids: skipped or an empty list, as RatGTEx answers; missing or empty parameters: 400, never 500
    assert client.get(f"{base}/eqtl", params={"geneId": "no-such-gene"}).json() == {"eqtl": []}
    assert client.get(f"{base}/gene", params={"geneId": "no-such-gene"}).json() == {"gene": []}
    for endpoint in ("gene", "geneExpression", "medianGeneExpression", "eqtl", "xqtl", "singleTissueEqtl", "exon",
                     "dyneqtl", "variant", "topExpressedGene"):
        for params in ({}, {"geneId": "", "variantId": "", "tissueSiteDetailId": ""}, {"geneId": " , "}):
            r = client.get(f"{base}/{endpoint}", params=params)
            assert r.status_code == 400, (endpoint, params, r.status_code)
            assert r.json()["error"] == "bad_request"


def test_compat_expression_is_printed_at_float32_precision(client, site):
    """TPM values are float32: written in float32's shortest form (12.3457), not as 17-digit doubles."""
    gene = table(site, "v1", "genes")["gene_id"].iloc[0]
    text = client.get("/compat/ratgtex/v1/geneExpression", params={"geneId": gene}).text
    numbers = re.findall(r"-?\d+\.\d+(?:e-?\d+)?", text)
    assert numbers and max(len(n.split("e")[0].lstrip("-").replace(".", "").lstrip("0")) for n in numbers) <= 9
    data = client.get("/compat/ratgtex/v1/geneExpression", params={"geneId": gene}).json()["geneExpression"]
    wide = pd.read_parquet(site / "releases" / "v1" / "tables" / "expression" / f"{data[0]['tissueSiteDetailId']}.parquet")
    row = wide.set_index("phenotype_id").loc[gene].to_numpy(np.float32)
    np.testing.assert_array_equal(np.array(data[0]["data"], dtype=np.float32), row)


def test_schemathesis_no_server_errors_no_schema_violations(site):
    """Generated requests for every operation of our OpenAPI: no 5xx, and every response conforms to the schema
    (status code declared, body schema, content type, headers). Schema-valid values the API rejects by design
    (a cursor it did not issue, a region wider than the cap) answer a declared 400, so schemathesis's
    "positive data acceptance" check is not one of the checks."""
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

    from qtlatlas.web.app import create_app

    schema = schemathesis.openapi.from_asgi("/api/openapi.json", create_app(site))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case):
            case.call_and_validate(checks=checks)

        check()


def test_handler_threads_are_bounded(site, monkeypatch):
    """Blocking handlers run on a bounded thread pool (argument, then $QTLATLAS_THREADS, then the default)."""
    import anyio.to_thread

    from qtlatlas.web.app import HANDLER_THREADS, create_app

    def tokens() -> float:
        return anyio.to_thread.current_default_thread_limiter().total_tokens

    with TestClient(create_app(site, threads=3)) as c:
        assert c.portal.call(tokens) == 3
        assert c.get("/api/v1/releases").status_code == 200
    monkeypatch.setenv("QTLATLAS_THREADS", "2")
    with TestClient(create_app(site)) as c:
        assert c.portal.call(tokens) == 2
    monkeypatch.delenv("QTLATLAS_THREADS")
    with TestClient(create_app(site)) as c:
        assert c.portal.call(tokens) == HANDLER_THREADS
