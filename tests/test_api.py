"""The REST API over a small demo site: every endpoint with values checked against the release tables,
errors, formats, caching headers, the RatGTEx-compatible routes, and schemathesis over our OpenAPI."""

from __future__ import annotations

import io
import re

import numpy as np
import pandas as pd
import pytest
import schemathesis
from fastapi.testclient import TestClient


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
    assert {r["unit"] for r in rows["data"]} == {"TPM"}  # the demo declares no unit: the default
    median = client.get("/api/v1/expression/median", params={"genes": list(genes["gene_id"][:3])}).json()["data"]
    medians = table(site, "v2", "medians")
    m = medians[medians["gene_id"].isin(genes["gene_id"][:3])]
    assert len(median) == len(m) and {r["unit"] for r in median} == {"TPM"}
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


def _symbols(site) -> dict:
    genes = table(site, "v2", "genes")
    return {g: (n if isinstance(n, str) and n else None) for g, n in zip(genes["gene_id"], genes["gene_name"], strict=True)}


def _check_named(rows: list[dict], symbols: dict, what: str) -> None:
    assert rows, what
    for r in rows:
        assert r["gene_name"] == symbols[r["gene_id"]] and r["chrom"], (what, r)


def test_every_qtl_and_association_row_names_its_gene(client, site):
    """gene_name (the genes table's symbol) and chrom on every row of every QTL and association endpoint, JSON and TSV."""
    symbols = _symbols(site)
    top = table(site, "v2", "top_qtls").sort_values("pval_nominal")
    pairs = table(site, "v2", "signif_pairs")
    lead = top.iloc[0]
    region = f"{lead['chrom']}:{max(int(lead['pos']) - 500_000, 1)}-{int(lead['pos']) + 500_000}"
    requests = [("/api/v1/qtls/top", {"limit": 10_000}), ("/api/v1/qtls/independent", {"limit": 10_000}),
                ("/api/v1/qtls/top", {"gene": lead["gene_id"]}), ("/api/v1/qtls/top", {"region": region}),
                ("/api/v1/qtls/pairs", {"gene": pairs["gene_id"].iloc[0]}), ("/api/v1/qtls/pairs", {"region": region}),
                (f"/api/v1/variants/{lead['variant_id']}/associations", {}),
                (f"/api/v1/variants/{lead['variant_id']}/associations", {"include_nominal": "true"})]
    for url, params in requests:
        body = client.get(url, params=params).json()
        _check_named(body["data"], symbols, (url, params))
        tsv = client.get(url, params={**params, "format": "tsv"})
        rows = pd.read_csv(io.StringIO(tsv.text), sep="\t", keep_default_na=False, na_values=["NA"])
        assert len(rows) == len(body["data"])
        _check_named(rows.to_dict("records"), symbols, (url, params, "tsv"))
    columns = list(client.get("/api/v1/qtls/top", params={"limit": 1}).json()["data"][0])
    assert columns.index("gene_name") == columns.index("gene_id") + 1


def test_qtl_rows_carry_maf_mac_and_the_significant_count(client, site):
    top = table(site, "v2", "top_qtls")
    n = table(site, "v2", "tissue_modality").set_index(["tissue", "modality"])["n_samples"]
    body = client.get("/api/v1/qtls/top", params={"tissue": "Brain", "limit": 10_000, "sort": "mac"}).json()
    brain = top[top["tissue"] == "Brain"]
    assert body["meta"]["total"] == len(brain) and body["meta"]["fdr"] == 0.05
    assert body["meta"]["significant"] == int((brain["qval"] <= 0.05).sum())
    rows = pd.DataFrame(body["data"])
    assert rows["mac"].is_monotonic_increasing
    maf = np.minimum(rows["af"], 1 - rows["af"])
    assert np.allclose(rows["maf"], maf)
    assert (rows["mac"] == np.rint(2 * maf * [n[(t, m)] for t, m in zip(rows["tissue"], rows["modality"], strict=True)])).all()
    assert (rows["low_mac"] == (rows["mac"] < 10)).all()
    assert rows["mac"].min() >= 10  # mapped with the atlas default mapping.min_mac = 10
    significant = client.get("/api/v1/qtls/top", params={"tissue": "Brain", "max_qval": 0.05, "format": "tsv"})
    assert significant.headers["x-significant"] == significant.headers["x-total-count"] == str(body["meta"]["significant"])
    gene = brain["gene_id"].iloc[0]  # a gene's rows come from the look-up file: the same columns, sortable by MAF
    by_gene = client.get("/api/v1/qtls/top", params={"gene": gene, "sort": "maf", "order": "desc"}).json()["data"]
    assert [r["maf"] for r in by_gene] == sorted((r["maf"] for r in by_gene), reverse=True) and "mac" in by_gene[0]


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


def _pbg(client, row, modality="expression"):
    r = client.get("/api/v1/phenotype-by-genotype", params={"phenotype_id": row["phenotype_id"], "variant": row["variant_id"],
                                                            "tissue": row["tissue"], "modality": modality})
    assert r.status_code == 200, r.text
    return r.json()["data"]


def _regression(y, g, covariates=None):
    """Slope, SE and p of ``y ~ 1 + covariates + g`` (tensorQTL's nominal model when covariates are given)."""
    from scipy import stats

    X = np.ones((len(y), 1)) if covariates is None else np.column_stack([np.ones(len(y)), covariates])
    q, _ = np.linalg.qr(X)
    ry, rg = y - q @ (q.T @ y), g - q @ (q.T @ g)
    slope = rg @ ry / (rg @ rg)
    dof = len(y) - 1 - X.shape[1]
    resid = ry - slope * rg
    se = np.sqrt(resid @ resid / dof / (rg @ rg))
    return slope, se, 2 * stats.t.sf(abs(slope / se), dof)


def test_pbg_gives_the_mapped_statistics_under_their_names(client, site):
    """``pval_nominal, slope, slope_se`` are the release's nominal pass for the pair (the regression WITH the
    mapping's covariates); the regression without covariates only appears as ``*_unadjusted``, and differs."""
    pairs = table(site, "v2", "signif_pairs")
    pairs = pairs[pairs["modality"] == "expression"].sort_values("pval_nominal")
    checked = 0
    for _, row in pairs.head(10).iterrows():
        data = _pbg(client, row)
        assert data["statistics_source"] == "nominal"
        # (a) the nominal pass's value of the pair (the significant pairs are rows of it), at the precision of the
        # all-pairs store: -log10 p within 1e-5, slope within 1e-4 SE, SE to 12 bits
        assert data["pval_nominal"] == pytest.approx(row["pval_nominal"], rel=3e-5, abs=0)
        assert abs(data["slope"] - row["slope"]) <= 1e-4 * row["slope_se"] + 1e-6 * abs(row["slope"])
        assert data["slope_se"] == pytest.approx(row["slope_se"], rel=2.5e-4)
        assert data["nlog10p"] == pytest.approx(-np.log10(row["pval_nominal"]), abs=1.1e-5)
        # (b) recomputed here from the release's downloads: the mapped statistics are the model with covariates,
        # the unadjusted ones the simple regression, and the covariates matter
        g = np.array([np.nan if x is None else x for x in data["genotypes"]], dtype=float)
        y = np.array([np.nan if x is None else x for x in data["values"]], dtype=float)
        use = np.isfinite(g) & np.isfinite(y)
        slope, se, p = _regression(y[use], g[use])
        assert (data["slope_unadjusted"], data["slope_se_unadjusted"], data["pval_unadjusted"]) == \
            pytest.approx((slope, se, p), rel=1e-6, abs=0)
        assert not data["pval_unadjusted"] == pytest.approx(data["pval_nominal"], rel=0.01, abs=0)
        # covariates take variance out of the residuals (SE and p change by far more than the store's rounding);
        # the slope itself may move little for a strong eQTL, but it is a different number
        assert not data["slope_se_unadjusted"] == pytest.approx(data["slope_se"], rel=0.01)
        assert abs(data["slope_unadjusted"] - data["slope"]) > 1e-4 * data["slope_se"]
        if not use.all():  # the mapping imputes a missing genotype; leave such pairs out of the recomputation
            continue
        [path] = (site / "releases" / "v2" / "downloads").glob(f"covariates.{row['tissue']}.expression.*.txt")
        covariates = pd.read_csv(path, sep="\t", index_col=0).T.reindex(data["samples"]).to_numpy(float)
        assert np.isfinite(covariates).all()
        slope_c, se_c, p_c = _regression(y, g, covariates)  # to the precision of the all-pairs store
        assert abs(data["slope"] - slope_c) <= 1e-4 * se_c + 1e-5 * abs(slope_c)
        assert (data["slope_se"], data["pval_nominal"]) == pytest.approx((se_c, p_c), rel=2.5e-4, abs=0)
        checked += 1
    assert checked >= 3


def test_dyneqtl_pvalue_is_the_mapped_one(client, site):
    """(c) RatGTEx's ``pValue`` is the pair's mapped nominal p-value (as ``pval_nominal`` of phenotype-by-genotype),
    never the regression without covariates; a pair without one says so in ``pValueMissingReason``."""
    base = "/compat/ratgtex/v2"
    pairs = table(site, "v2", "signif_pairs")
    pairs = pairs[(pairs["modality"] == "expression") & (pairs["phenotype_id"] == pairs["gene_id"])]
    for _, row in pairs.sort_values("pval_nominal").head(5).iterrows():
        dyn = client.get(f"{base}/dyneqtl", params={"variantId": row["variant_id"], "geneId": row["gene_id"],
                                                    "tissueSiteDetailId": row["tissue"]}).json()
        data = _pbg(client, row)
        assert dyn["pValue"] == data["pval_nominal"] == pytest.approx(row["pval_nominal"], rel=3e-5, abs=0)
        assert dyn["pValue"] != data["pval_unadjusted"]
        assert dyn["pValueSource"] == "nominal" and dyn["pValueMissingReason"] is None
    far = table(site, "v2", "variants")
    far = far[far["chrom"] != row["chrom"]].iloc[0]
    dyn = client.get(f"{base}/dyneqtl", params={"variantId": far["variant_id"], "geneId": row["gene_id"],
                                                "tissueSiteDetailId": row["tissue"]}).json()
    assert dyn["pValue"] is None and dyn["pValueSource"] is None and "no mapped" in dyn["pValueMissingReason"]
    assert len(dyn["genotypes"]) == len(dyn["data"])


def _outside(rows, *others):
    """Rows of ``rows`` whose pair is in none of ``others``."""
    key = ["tissue", "modality", "phenotype_id", "variant_id"]
    for other in others:
        rows = rows.merge(other[key], on=key, how="left", indicator=True)
        rows = rows[rows["_merge"] == "left_only"].drop(columns="_merge")
    return rows


def _same_statistics(data, row):
    assert data["pval_nominal"] == pytest.approx(row["pval_nominal"], rel=1e-12, abs=0)
    assert data["slope"] == pytest.approx(row["slope"], rel=1e-5)
    assert data["slope_se"] == pytest.approx(row["slope_se"], rel=1e-5)
    assert data["nlog10p"] == pytest.approx(-np.log10(row["pval_nominal"]), rel=1e-12)


def test_pbg_source_without_a_nominal_pass(client, site):
    """(d) The demo releases map cross-modality phenotypes without a nominal pass: a pair's mapped statistics
    come from the top QTLs, else the independent QTLs (conditional statistics), named in ``statistics_source``;
    ``dyneqtl``'s tables (significant pairs and top QTLs) leave an independent-only pair without a p-value."""
    from qtlatlas.store import Site
    from qtlatlas.web.compat.ratgtex import DYNEQTL_TABLES

    top, pairs, ind = (table(site, "v2", t) for t in ("top_qtls", "signif_pairs", "independent_qtls"))
    cross = [_outside(t[t["modality"] == "cross_modality"], *others).iloc[0]
             for t, others in ((top, (pairs,)), (ind, (pairs, top)))]
    store = Site(site).release("v2")
    for source, row in zip(("top", "independent"), cross, strict=True):
        assert store.nominal_pair(row["tissue"], "cross_modality", row["phenotype_id"], row["variant_id"]) is None
        data = _pbg(client, row, "cross_modality")
        assert data["statistics_source"] == source
        _same_statistics(data, row)
    independent_only = cross[1]
    found = store.mapped_statistics(independent_only["tissue"], "cross_modality", independent_only["phenotype_id"],
                                    independent_only["variant_id"], tables=DYNEQTL_TABLES)
    assert found["statistics_source"] is None and found["pval_nominal"] is None


def test_pbg_and_dyneqtl_when_the_nominal_lookup_has_nothing(client, site, monkeypatch):
    """(d) With the nominal look-up answering nothing (a release without a nominal pass), expression pairs take
    the significant pairs' statistics, else the top QTL's; ``dyneqtl``'s ``pValue`` is the same mapped value
    and ``pValueSource`` names its table; a pair in no table is null everywhere, with the reason given."""
    from qtlatlas.store import ReleaseStore

    monkeypatch.setattr(ReleaseStore, "nominal_pair", lambda self, *args: None)
    top, pairs = table(site, "v2", "top_qtls"), table(site, "v2", "signif_pairs")
    top, pairs = top[top["modality"] == "expression"], pairs[pairs["modality"] == "expression"]
    base = "/compat/ratgtex/v2"
    for source, row in (("significant_pairs", pairs.iloc[0]), ("top", _outside(top, pairs).iloc[0])):
        data = _pbg(client, row)
        assert data["statistics_source"] == source
        _same_statistics(data, row)
        dyn = client.get(f"{base}/dyneqtl", params={"variantId": row["variant_id"], "geneId": row["gene_id"],
                                                    "tissueSiteDetailId": row["tissue"]}).json()
        assert dyn["pValue"] == data["pval_nominal"] and dyn["pValueSource"] == source
        assert dyn["pValueMissingReason"] is None
    variants = table(site, "v2", "variants")
    row = pairs.iloc[0]
    far = variants[variants["chrom"] != row["chrom"]].iloc[0]
    data = _pbg(client, {**row, "variant_id": far["variant_id"]})
    assert data["statistics_source"] is None and data["pval_unadjusted"] is not None
    assert all(data[k] is None for k in ("pval_nominal", "slope", "slope_se", "nlog10p"))
    dyn = client.get(f"{base}/dyneqtl", params={"variantId": far["variant_id"], "geneId": row["gene_id"],
                                                "tissueSiteDetailId": row["tissue"]}).json()
    assert dyn["pValue"] is None and dyn["pValueSource"] is None and dyn["pValueMissingReason"]


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
    "/api/v1/ld?variant=%3Cscript%3E&region=chr1:1-99999999",
    "/api/v1/ld/matrix?variants=",
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
    # (the all-pairs store keeps −log10 p within 1e-5: p within 2.3e-5 relative)
    assert dyn["pValue"] == pytest.approx(q["pval_nominal"], rel=3e-5)
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
