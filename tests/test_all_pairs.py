"""Every tested cis pair of a release: the all-pairs store and its download equal tensorQTL's nominal pass on
GEUVADIS chr22 (the precision each column keeps is well inside the agreement bar), in ≤ 12 bytes per pair,
and the by-gene, by-region and by-variant queries return exactly the pairs they name, paged."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pysam
import pytest
from fastapi.testclient import TestClient
from test_release_build import TQ, import_results, write_atlas

from qtlatlas.config import load_atlas
from qtlatlas.release import build_release, layout
from qtlatlas.release.all_pairs import DOWNLOAD_COLUMNS
from qtlatlas.store import ReleaseStore
from qtlatlas.web.app import create_app

pytestmark = pytest.mark.shared

NOMINAL = "nominal.LCL.expression.v1_GRCh37.tsv.gz"


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("allpairs")
    atlas = load_atlas(write_atlas(tmp))
    out = build_release(atlas, "v1", tmp / "site", import_results(atlas, "v1"))
    return tmp / "site", out


@pytest.fixture(scope="module")
def reference():
    return pd.read_parquet(TQ / "g22.cis_qtl_pairs.chr22.parquet")


@pytest.fixture(scope="module")
def store(release):
    return ReleaseStore(release[1])


def _agree(ours: pd.DataFrame, ref: pd.DataFrame) -> None:
    """The agreement bar with tensorQTL: same pairs, |Δ log10 p| ≤ 1e-3, |Δ slope| ≤ 1e-3 SE, equal counts."""
    m = ref.merge(ours, on=["phenotype_id", "variant_id"], suffixes=("", "_o"), validate="one_to_one")
    assert len(m) == len(ref) == len(ours)
    tested = m["pval_nominal"].notna().to_numpy()
    assert m.loc[~tested, "pval_nominal_o"].isna().all() and m.loc[~tested, "slope_o"].isna().all()
    dlog = np.abs(np.log10(m["pval_nominal"].to_numpy()[tested]) - np.log10(m["pval_nominal_o"].to_numpy()[tested]))
    assert dlog.max() <= 1e-3
    se = m["slope_se"].to_numpy()[tested]
    assert (np.abs(m["slope"].to_numpy()[tested] - m["slope_o"].to_numpy()[tested]) / se).max() <= 1e-3
    assert (np.abs(m["slope_se_o"].to_numpy()[tested] - se) / se).max() <= 1e-3
    for c in ("start_distance", "ma_samples", "ma_count"):
        assert (m[c].to_numpy() == m[f"{c}_o"].to_numpy(dtype=np.int64)).all(), c
    np.testing.assert_allclose(m["af_o"].to_numpy(float), m["af"].to_numpy(float), atol=1e-6)


def test_store_holds_every_pair_compactly(store, release, reference):
    parts = []
    for gene in reference["phenotype_id"].unique():
        rows, total, cursor = store.all_pairs(gene=gene, limit=10_000)
        assert cursor is None and total == len(rows)
        parts.append(rows)
    ours = pd.concat(parts, ignore_index=True)
    _agree(ours, reference)
    # nlog10p is -log10 of the nominal p-value (exact: from the t statistic where the p-value underflows)
    tested = reference["pval_nominal"].notna()
    m = reference[tested].merge(ours, on=["phenotype_id", "variant_id"], suffixes=("", "_o"))
    assert np.abs(m["nlog10p"] + np.log10(m["pval_nominal"])).max() <= 1e-4
    store_bytes = sum((release[1] / layout.all_pairs_path("LCL", "expression", p)).stat().st_size
                      for p in layout.ALL_PAIRS_PARTS)
    assert store_bytes / len(reference) <= 12  # tensorQTL's own Parquet: 27 bytes per pair
    # one tissue × modality: a variant's pairs are one row group of its store already, no copy by variant
    assert not (release[1] / layout.ALL_PAIRS_BY_VARIANT).exists()
    counts = store.info["counts"]["all_pairs"]
    assert counts == [{"tissue": "LCL", "modality": "expression", "n_pairs": len(reference), "n_phenotypes": 608,
                       "n_unplaced": 0}]


def test_download_is_tabix_indexed_and_equal(release, reference):
    path = release[1] / "downloads" / NOMINAL
    with gzip.open(path, "rt") as f:
        dl = pd.read_csv(f, sep="\t", na_values=["NA"])
    assert list(dl.columns) == DOWNLOAD_COLUMNS
    _agree(dl, reference)
    assert dl["pos"].is_monotonic_increasing
    assert (dl["gene_name"] == "COMT").any()
    tbx = pysam.TabixFile(str(path))
    fetched = [line.split("\t") for line in tbx.fetch("chr22", 20_000_000, 20_100_000)]
    expected = dl[(dl["pos"] > 20_000_000) & (dl["pos"] <= 20_100_000)]
    assert len(fetched) == len(expected) > 1000
    manifest = pd.read_csv(release[1] / "MANIFEST.tsv", sep="\t")
    assert {f"downloads/{NOMINAL}", f"downloads/{NOMINAL}.tbi"} <= set(manifest["path"])


def test_region_pages_cover_the_region(store, reference):
    region = "chr22:20000000-20600000"
    variants = store.all_pairs(gene=reference["phenotype_id"].iat[0], limit=1)[0]  # warm the caches
    assert len(variants) == 1
    seen, cursor, total = [], None, None
    while True:
        rows, total, cursor = store.all_pairs(region=region, limit=3000, cursor=cursor)
        seen.append(rows)
        if cursor is None:
            break
    ours = pd.concat(seen, ignore_index=True)
    assert len(ours) == total and not ours.duplicated(["phenotype_id", "variant_id"]).any()
    assert ours["pos"].between(20_000_000, 20_600_000).all()
    positions = store.all_pairs(region=region, limit=10_000)[0]
    ids = set(positions["variant_id"])
    expected = reference[reference["variant_id"].isin(ids)]
    assert len(expected) == total
    strong, n_strong, _ = store.all_pairs(region=region, min_nlog10p=8, limit=10_000)
    assert n_strong == int((expected["pval_nominal"] <= 1e-8).sum()) == len(strong) > 0
    assert (strong["nlog10p"] >= 8).all()


def test_variant_phewas_is_every_phenotype_tested(store, reference):
    rng = np.random.default_rng(11)
    for v in rng.choice(reference["variant_id"].unique(), 20, replace=False):
        rows, total, _ = store.all_pairs(variant=v, limit=10_000)
        expected = reference[reference["variant_id"] == v]
        assert total == len(rows) == len(expected)
        assert set(rows["phenotype_id"]) == set(expected["phenotype_id"])


def test_api_routes_and_errors(release, reference):
    client = TestClient(create_app(release[0]))
    gene = reference["phenotype_id"].iat[0]
    r = client.get(f"/api/v1/all-pairs/gene/{gene}", params={"limit": 5})
    assert r.status_code == 200
    body = r.json()
    assert len(body["data"]) == 5 and body["meta"]["total"] == int((reference["phenotype_id"] == gene).sum())
    assert body["meta"]["next_cursor"]
    nxt = client.get(f"/api/v1/all-pairs/gene/{gene}", params={"limit": 5, "cursor": body["meta"]["next_cursor"]})
    assert nxt.json()["data"][0]["variant_id"] != body["data"][0]["variant_id"]
    tsv = client.get("/api/v1/all-pairs/variant/rs4010554", params={"format": "tsv"})
    assert tsv.status_code == 200 and tsv.text.splitlines()[0].startswith("tissue\tmodality\tphenotype_id")
    assert client.get("/api/v1/all-pairs/region/chr22:1-3000000").status_code == 400
    assert client.get("/api/v1/all-pairs/gene/no-such-gene").status_code == 404
    assert client.get("/api/v1/all-pairs/variant/rs4010554", params={"tissue": "Nope"}).status_code == 404
    assert client.get(f"/api/v1/all-pairs/gene/{gene}", params={"cursor": "abc"}).status_code == 400
    assert client.get(f"/api/v1/all-pairs/gene/{gene}", params={"min_nlog10p": "-1"}).status_code == 422
    assert client.get(f"/api/v1/all-pairs/gene/{gene}", params={"limit": 10_001}).status_code == 422
    assert client.get("/api/v1/all-pairs/region/chr99:1-3000").json()["meta"]["total"] == 0


@pytest.mark.parametrize("path", ["gene/{gene}", "variant/rs4010554", "region/chr22:17000000-17400000"])
def test_columns_layout_holds_the_rows(release, reference, path):
    """``layout=columns`` answers the same page as the rows, one array per varying column and the others once."""
    client = TestClient(create_app(release[0]))
    url = "/api/v1/all-pairs/" + path.format(gene=reference["phenotype_id"].iat[0])
    rows = client.get(url, params={"limit": 700}).json()
    body = client.get(url, params={"limit": 700, "layout": "columns"}).json()
    n = body["meta"]["rows"]
    assert n == len(rows["data"]) > 1 and body["meta"]["total"] == rows["meta"]["total"]
    assert body["meta"]["next_cursor"] == rows["meta"]["next_cursor"]
    assert set(body["data"]) | set(body["constant"]) == set(rows["data"][0])
    assert {"tissue", "modality"} <= set(body["constant"]) and {"nlog10p", "pval_nominal"} <= set(body["data"])
    assert ("variant_id" in body["constant"]) == path.startswith("variant")
    rebuilt = [{**{k: v[i] for k, v in body["data"].items()}, **body["constant"]} for i in range(n)]
    assert rebuilt == rows["data"]
    p = np.array([r["pval_nominal"] for r in rows["data"]], dtype=float)
    assert np.allclose(p, 10 ** -np.array([r["nlog10p"] for r in rows["data"]], dtype=float), rtol=1e-4)
