"""The OpenAPI names a row model for every list endpoint, and that model describes every field the endpoint's rows
carry on the demo atlas: a column added to a table without a description in qtlatlas.web.api.row_schemas fails
here."""

from __future__ import annotations

import pandas as pd
import pytest


@pytest.fixture(scope="module")
def spec(client):
    return client.get("/api/openapi.json").json()


def _table(site, name):
    return pd.read_parquet(site / "releases" / "v2" / "tables" / f"{name}.parquet")


def _ref(schema: dict) -> str | None:
    return schema["$ref"].rsplit("/", 1)[-1] if "$ref" in schema else None


def list_operations(spec) -> dict[str, str]:
    """path → the name of the envelope model of its 200 JSON response, for every list endpoint (an envelope
    whose ``data`` is an array)."""
    out = {}
    for path, operations in spec["paths"].items():
        schema = operations.get("get", {}).get("responses", {}).get("200", {}).get("content", {}) \
            .get("application/json", {}).get("schema", {})
        name = _ref(schema)
        if name is None:
            continue
        data = spec["components"]["schemas"][name].get("properties", {}).get("data", {})
        if data.get("type") == "array" or any(s.get("type") == "array" for s in data.get("anyOf", [])):
            out[path] = name
    return out


#: Free metadata columns of the atlas's own sample and individual tables (the demo's ``rin`` and
#: ``birth_cohort``), which the samples endpoints pass through as given and no model can name.
FREE_COLUMNS = {"/api/v1/samples": {"rin"}, "/api/v1/individuals": {"birth_cohort"}}


def _models(spec, envelope: str) -> dict[str, dict]:
    """The row model of an envelope, and with the columns layout its columns and constant models."""
    schemas = spec["components"]["schemas"]
    properties = schemas[envelope]["properties"]
    out = {}
    for option in properties["data"].get("anyOf", [properties["data"]]):
        if option.get("type") == "array":
            out["rows"] = _ref(option["items"])
        elif _ref(option):
            out["columns"] = _ref(option)
    for option in properties.get("constant", {}).get("anyOf", []):
        if _ref(option):
            out["constant"] = _ref(option)
    return {kind: schemas[name] | {"name": name} for kind, name in out.items() if name}


@pytest.fixture(scope="module")
def calls(site) -> dict[str, list[tuple[str, dict]]]:
    """Requests with valid parameters (from the release's tables) for each list path of the OpenAPI."""
    top = _table(site, "top_qtls").sort_values("pval_nominal")
    lead = top.iloc[0]
    gene, variant, chrom, pos = lead.gene_id, lead.variant_id, lead.chrom, int(lead.pos)
    region = f"{chrom}:{max(1, pos - 500_000)}-{pos + 500_000}"
    trait = _table(site, "twas_traits").iloc[0]["id"]
    coloc_trait = _table(site, "coloc").iloc[0]["trait"]
    member = _table(site, "credible_sets").iloc[0]
    return {
        "/api/v1/releases": [("/api/v1/releases", {})],
        "/api/v1/tissues": [("/api/v1/tissues", {})],
        "/api/v1/modalities": [("/api/v1/modalities", {})],
        "/api/v1/studies": [("/api/v1/studies", {})],
        "/api/v1/downloads": [("/api/v1/downloads", {})],
        "/api/v1/genes/search": [("/api/v1/genes/search", {"q": gene[:4]})],
        "/api/v1/expression/median": [("/api/v1/expression/median", {"genes": gene})],
        "/api/v1/expression/top": [("/api/v1/expression/top", {"tissue": lead.tissue})],
        "/api/v1/expression/{gene}": [(f"/api/v1/expression/{gene}", {})],
        "/api/v1/qtls/top": [("/api/v1/qtls/top", {})],
        "/api/v1/qtls/independent": [("/api/v1/qtls/independent", {})],
        "/api/v1/qtls/pairs": [("/api/v1/qtls/pairs", {"gene": gene})],
        "/api/v1/all-pairs/gene/{gene}": [(f"/api/v1/all-pairs/gene/{gene}", {"limit": 50}),
                                          (f"/api/v1/all-pairs/gene/{gene}", {"limit": 50, "layout": "columns"})],
        "/api/v1/all-pairs/region/{region}": [(f"/api/v1/all-pairs/region/{region}", {"limit": 50}),
                                              (f"/api/v1/all-pairs/region/{region}",
                                               {"limit": 50, "layout": "columns"})],
        "/api/v1/all-pairs/variant/{variant}": [(f"/api/v1/all-pairs/variant/{variant}", {}),
                                                (f"/api/v1/all-pairs/variant/{variant}", {"layout": "columns"})],
        "/api/v1/coloc/qtl": [("/api/v1/coloc/qtl", {})],
        "/api/v1/coloc": [("/api/v1/coloc", {"trait": coloc_trait}),
                          ("/api/v1/coloc", {"trait": coloc_trait, "method": "susie"})],
        "/api/v1/variants/search": [("/api/v1/variants/search", {"q": variant[:4]})],
        "/api/v1/variants/{variant}/associations": [(f"/api/v1/variants/{variant}/associations",
                                                     {"include_nominal": "true"})],
        "/api/v1/ld": [("/api/v1/ld", {"variant": variant}), ("/api/v1/ld", {"variant": variant, "layout": "columns"})],
        "/api/v1/twas/traits": [("/api/v1/twas/traits", {})],
        "/api/v1/twas/traits/{trait}/associations": [(f"/api/v1/twas/traits/{trait}/associations", {})],
        "/api/v1/twas/traits/{trait}/loci": [(f"/api/v1/twas/traits/{trait}/loci", {})],
        "/api/v1/twas/traits/{trait}/correlations": [(f"/api/v1/twas/traits/{trait}/correlations", {})],
        "/api/v1/twas/panels": [("/api/v1/twas/panels", {})],
        "/api/v1/twas/models": [("/api/v1/twas/models", {})],
        "/api/v1/twas/phenotype_stats": [("/api/v1/twas/phenotype_stats", {}),
                                         ("/api/v1/twas/phenotype_stats", {"heritable": "true"})],
        "/api/v1/finemapping": [("/api/v1/finemapping", {"gene": member.gene_id})],
        "/api/v1/finemapping/pips": [("/api/v1/finemapping/pips", {"gene": member.gene_id, "tissue": member.tissue,
                                                                   "modality": member.modality})],
        "/api/v1/qtls/trans": [("/api/v1/qtls/trans", {})],
        "/api/v1/qtls/trans/hotspots": [("/api/v1/qtls/trans/hotspots", {"min_targets": 1})],
        # the demo's sample and individual tables, and its sample QC report
        "/api/v1/samples": [("/api/v1/samples", {"tissue": lead.tissue})],
        "/api/v1/individuals": [("/api/v1/individuals", {"sex": "female"})],
        "/api/v1/samples/qc": [("/api/v1/samples/qc", {"check": "identity", "tissue": lead.tissue}),
                               ("/api/v1/samples/qc", {"check": "sex", "flagged": "true"})],
    }


#: Lists the small demo leaves empty: it has one TWAS trait, so no other trait to correlate with.
EMPTY_ON_DEMO = {"/api/v1/twas/traits/{trait}/correlations"}


def test_every_list_endpoint_has_a_described_row_model(spec):
    operations = list_operations(spec)
    assert len(operations) >= 25
    schemas = spec["components"]["schemas"]
    for path, envelope in operations.items():
        assert envelope != "ListResponse", f"{path} declares the generic ListResponse"
        models = _models(spec, envelope)
        row = models["rows"]
        assert row["name"].endswith("Row") and row["properties"], path
        assert row.get("additionalProperties") is True, f"{path}: a release's extra columns must validate"
        for field, prop in row["properties"].items():
            assert prop.get("description"), f"{row['name']}.{field} has no description"
            assert {"type": "null"} in prop.get("anyOf", []), f"{row['name']}.{field} is not nullable"
        assert "meta" in schemas[envelope]["properties"]


def test_row_models_hold_every_field_the_demo_returns(client, spec, calls):
    operations = list_operations(spec)
    assert set(operations) <= set(calls), f"no request for {sorted(set(operations) - set(calls))}: add one here"
    for path, envelope in operations.items():
        models = _models(spec, envelope)
        seen_rows = False
        for url, params in calls[path]:
            r = client.get(url, params=params)
            assert r.status_code == 200, (url, params, r.text[:300])
            body = r.json()
            if params.get("layout") == "columns":
                assert set(body["data"]) <= set(models["columns"]["properties"]), (url, params)
                assert set(body["constant"]) <= set(models["constant"]["properties"]), (url, params)
                seen_rows |= body["meta"]["rows"] > 0
                continue
            keys = {key for row in body["data"] for key in row} - FREE_COLUMNS.get(path, set())
            missing = keys - set(models["rows"]["properties"])
            assert not missing, f"{path}: {models['rows']['name']} lacks {sorted(missing)}"
            seen_rows |= bool(body["data"])
        assert seen_rows or path in EMPTY_ON_DEMO, f"{path}: the demo answered no rows; pick parameters that find some"


def test_tsv_and_csv_stay_documented(spec):
    for path in list_operations(spec):
        content = spec["paths"][path]["get"]["responses"]["200"]["content"]
        assert {"text/tab-separated-values", "text/csv"} <= set(content), path


def test_known_fields_are_described_with_units(spec):
    schemas = spec["components"]["schemas"]
    row = schemas["QtlRow"]["properties"]
    assert "bp" in row["pos"]["description"] and row["pos"]["anyOf"][0]["type"] == "integer"
    assert "ALT" in row["slope"]["description"]
    assert {"maf", "mac", "low_mac", "gene_name", "pval_nominal", "qval"} <= set(row)
    assert row["low_mac"]["anyOf"][0]["type"] == "boolean"
    assert "PP.H4.abf" in schemas["ColocRow"]["properties"] and "idx1" in schemas["ColocRow"]["properties"]
