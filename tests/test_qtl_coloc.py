"""QTL–QTL colocalisation of a release (qtlatlas.release.qtl_coloc): the table against the planted truth of a demo
atlas, each pair against coloc.abf recomputed from what the store gives back, the p-value route of p-value-only
stores, the store's queries and the API.

The demo (:data:`CONFIG`, release v2: three tissues, about 260 samples each) is mapped and built once per module
(~25 s on two cores). Measured on it (201 pairs of 41 genes): the 58 pairs planted on one shared variant with
R² ≥ 0.15 in both phenotypes give PP.H4 ≥ 0.855 (median 0.997); all 143 pairs planted on one shared variant have
PP.H4 / (PP.H3 + PP.H4) ≥ 0.936; the 18 pairs planted on distinct variants in low LD (r² < 0.2) have
PP.H4 ≤ 0.086, and in the 9 of them where both effects have R² ≥ 0.15, PP.H3 > PP.H4 in each and PP.H3 ≥ 0.75
in 7.
"""

from __future__ import annotations

import gzip
import io
import json
import math
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from scipy import stats

from qtlatlas.demo import DemoConfig
from qtlatlas.engine.coloc import coloc_abf, estimate_sdy, log_abf, standardised_varbeta
from qtlatlas.release import layout
from qtlatlas.release.all_pairs import PRESENT_KEY, ROW_GROUP_ROWS, STATS_ROW_GROUP_ROWS
from qtlatlas.release.qtl_coloc import COLUMNS, Side, gene_pairs, write_qtl_coloc
from qtlatlas.release.qtl_coloc_traits import (
    EFFECTS,
    PVALUES,
    GenotypeFrequencies,
    abs_z_from_nlog10p,
    trait_labf,
)
from qtlatlas.store import BadQuery, NotFound, ReleaseStore

CONFIG = DemoConfig(seed=5, n_individuals=300, n_variants_per_chrom=600, n_genes_per_chrom=30, n_traits=0, gwas_n=300)
PP = ["PP.H0.abf", "PP.H1.abf", "PP.H2.abf", "PP.H3.abf", "PP.H4.abf"]
P1, P12 = 1e-4, 1e-5  # atlas.yaml coloc: defaults
STRONG_R2 = 0.15
LOW_LD_R2 = 0.2


# --------------------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """``(root, atlas, steps, step seconds)``: the demo generated, v2 mapped and built into ``root/site``."""
    import time

    from qtlatlas.commands.pipeline import release_results, run_release
    from qtlatlas.config import load_atlas
    from qtlatlas.demo import generate_demo
    from qtlatlas.release.build import build_release

    root = tmp_path_factory.mktemp("qtl-coloc")
    generate_demo(root, CONFIG)
    atlas = load_atlas(root / "atlas.yaml")
    assert run_release(atlas, "v2", root / "work", cores=os.cpu_count() or 1, progress=False).ok
    stamps: list[tuple[str, float]] = []
    build_release(atlas, "v2", root / "site", release_results(atlas, "v2", root / "work"),
                  on_step=lambda s: stamps.append((s, time.perf_counter())))
    stamps.append(("end", time.perf_counter()))
    seconds = {s: b - a for (s, a), (_, b) in zip(stamps, stamps[1:], strict=False)}
    return root, atlas, [s for s, _ in stamps], seconds


@pytest.fixture(scope="module")
def release(demo) -> Path:
    return demo[0] / "site" / "releases" / "v2"


@pytest.fixture(scope="module")
def store(release) -> ReleaseStore:
    return ReleaseStore(release)


@pytest.fixture(scope="module")
def table(release) -> pd.DataFrame:
    return pd.read_parquet(release / layout.table_path("qtl_coloc"))


@pytest.fixture(scope="module")
def truth(demo) -> pd.DataFrame:
    causal = pd.read_csv(demo[0] / "truth" / "causal_variants.tsv", sep="\t")
    return causal[causal["release"] == "v2"]


@pytest.fixture(scope="module")
def client(demo):
    from qtlatlas.web.app import create_app

    return TestClient(create_app(demo[0] / "site"))


# --------------------------------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------------------------------


def test_table_download_manifest_and_counts(demo, release, table):
    _, atlas, steps, seconds = demo
    assert "QTL–QTL colocalisation" in steps
    print(f"\nQTL–QTL colocalisation step: {seconds['QTL–QTL colocalisation']:.3f} s, {len(table)} pairs")
    assert list(table.columns) == COLUMNS and len(table) > 50
    keys = ["gene_id", "tissue1", "modality1", "phenotype_id1", "tissue2", "modality2", "phenotype_id2"]
    assert table.equals(table.sort_values(keys, kind="stable").reset_index(drop=True))
    assert not table.duplicated(keys).any()
    same_tissue = table["tissue1"] == table["tissue2"]
    same_modality = table["modality1"] == table["modality2"]
    assert (same_tissue ^ same_modality).all()  # two modalities of one tissue, or one modality in two tissues
    assert (table.loc[same_modality, "phenotype_id1"] == table.loc[same_modality, "phenotype_id2"]).all()
    assert same_tissue.sum() > 10 and same_modality.sum() > 10
    assert "cross_modality" not in set(table["modality1"]) | set(table["modality2"])
    assert np.allclose(table[PP].sum(axis=1), 1.0) and (table["nsnps"] > 0).all()

    # both phenotypes of every pair are significant, and every pair of significant phenotypes is there
    top = pd.read_parquet(release / layout.table_path("top_qtls"))
    sig = top[(top["qval"] <= atlas.mapping.fdr) & (top["modality"] != "cross_modality")]
    expected = set()
    order = {t: i for i, t in enumerate(["Adipose", "Brain", "Liver"])}
    modalities = list(dict.fromkeys(pd.read_parquet(release / layout.table_path("tissue_modality"))["modality"]))
    for gene, g in sig.groupby("gene_id"):
        sides = [Side(t, m, p) for t, m, p in zip(g["tissue"], g["modality"], g["phenotype_id"], strict=True)]
        for a, b in gene_pairs(list(dict.fromkeys(sides)), order, {m: i for i, m in enumerate(modalities)}):
            expected.add((gene, a.tissue, a.modality, a.phenotype_id, b.tissue, b.modality, b.phenotype_id))
    assert set(map(tuple, table[keys].to_numpy().tolist())) == expected

    names = pd.read_parquet(release / layout.table_path("genes"), columns=["gene_id", "gene_name"])
    assert table["gene_name"].tolist() == table[["gene_id"]].merge(names, how="left")["gene_name"].tolist()

    name = layout.download_path("qtl_coloc", "v2", "demo2")
    assert name == "downloads/qtl_coloc.v2_demo2.tsv.gz"
    text = pd.read_csv(release / name, sep="\t", na_values=["NA"], keep_default_na=False)
    assert list(text.columns) == COLUMNS and len(text) == len(table)
    assert text[keys + ["nsnps", "hit1", "hit2"]].equals(table[keys + ["nsnps", "hit1", "hit2"]])
    assert np.allclose(text[PP], table[PP], rtol=1e-5, atol=1e-300)
    manifest = pd.read_csv(release / "MANIFEST.tsv", sep="\t")
    kinds = dict(zip(manifest["path"], manifest["kind"], strict=True))
    assert kinds[layout.table_path("qtl_coloc")] == "table" and kinds[name] == "download"

    counts = json.loads((release / "release.json").read_text())["counts"]["qtl_coloc"]
    assert counts["n_pairs"] == len(table) and counts["n_genes"] == table["gene_id"].nunique()
    assert counts["n_pp4_at_least_0.8"] == int((table["PP.H4.abf"] >= 0.8).sum())
    assert counts["priors"] == {"p1": P1, "p2": P1, "p12": P12}
    assert counts["n_pvalue_route"] == 0 and counts["n_untested"] == 0


def _max_cross_r2(store: ReleaseStore, a: set[str], b: set[str]) -> float:
    m = store.ld_matrix(sorted(a | b))
    at = {v: i for i, v in enumerate(m["variants"])}
    r2 = np.asarray(m["r2"])
    return max(r2[at[x], at[y]] for x in a for y in b)


def _classified(table: pd.DataFrame, truth: pd.DataFrame, store: ReleaseStore) -> pd.DataFrame:
    """Each pair with the planted variants of its gene on each side: ``kind`` ``shared`` (one planted variant,
    the same on both sides), ``distinct`` (planted variants on both sides, none shared, cross r² < 0.2) or
    ``other``; ``r2_min`` the smaller planted R² of the two sides."""
    planted = {k: g for k, g in truth.groupby(["gene_id", "tissue", "modality"])}
    kinds, strength = [], []
    for r in table.itertuples(index=False):
        a = planted.get((r.gene_id, r.tissue1, r.modality1))
        b = planted.get((r.gene_id, r.tissue2, r.modality2))
        if a is None or b is None:
            kinds.append("other")
            strength.append(0.0)
            continue
        va, vb = set(a["variant_id"]), set(b["variant_id"])
        strength.append(min(a["r2"].max(), b["r2"].max()))
        if va == vb and len(va) == 1:
            kinds.append("shared")
        elif not va & vb and _max_cross_r2(store, va, vb) < LOW_LD_R2:
            kinds.append("distinct")
        else:
            kinds.append("other")
    return table.assign(kind=kinds, r2_min=strength)


def test_planted_shared_and_distinct_variants(table, truth, store):
    pairs = _classified(table, truth, store)
    shared = pairs[pairs["kind"] == "shared"]
    strong = shared[shared["r2_min"] >= STRONG_R2]
    # one shared variant explaining ≥ 15% of both phenotypes (z ≈ 6.5 at 260 samples): coloc calls H4
    assert len(strong) >= 40
    assert strong["PP.H4.abf"].min() >= 0.8 and strong["PP.H4.abf"].median() >= 0.95
    # any planted shared variant: given a signal on both sides, one shared variant wins over two
    assert (shared["PP.H4.abf"] / (shared["PP.H3.abf"] + shared["PP.H4.abf"]) >= 0.9).all()

    distinct = pairs[pairs["kind"] == "distinct"]
    assert len(distinct) >= 10
    assert (distinct["PP.H4.abf"] < 0.2).all()
    both = distinct[distinct["r2_min"] >= STRONG_R2]
    assert len(both) >= 6 and (both["PP.H3.abf"] > both["PP.H4.abf"]).all()
    assert (both["PP.H3.abf"] >= 0.75).sum() >= len(both) / 2


# --------------------------------------------------------------------------------------------------
# Exact formulas: each pair recomputed from the rows the store gives back
# --------------------------------------------------------------------------------------------------


def _trait(store: ReleaseStore, gene: str, tissue: str, modality: str, phenotype: str) -> pd.DataFrame:
    rows, total, _ = store.all_pairs(gene=gene, tissues=[tissue], modalities=[modality], phenotype=phenotype,
                                     limit=10_000)
    assert len(rows) == total
    return rows


def test_each_pair_is_coloc_abf_of_the_stored_statistics(table, store):
    n_samples = {(t["tissue_id"], m): c["n_samples"] for t in store.tissues() for m, c in t["counts"].items()}
    for r in table.itertuples(index=False):
        a = _trait(store, r.gene_id, r.tissue1, r.modality1, r.phenotype_id1)
        b = _trait(store, r.gene_id, r.tissue2, r.modality2, r.phenotype_id2)
        sdy = []
        for side, t, m in ((a, r.tissue1, r.modality1), (b, r.tissue2, r.modality2)):
            vb = side["slope_se"].to_numpy(np.float64) ** 2
            sdy.append(estimate_sdy(vb, side["af"].to_numpy(np.float64), n_samples[(t, m)]))  # over the whole run
        both = a.merge(b, on="variant_id", suffixes=("1", "2"))
        usable = np.ones(len(both), dtype=bool)  # a variant without an effect in either is left out (coloc's NAs)
        for c in ("slope1", "slope_se1", "slope2", "slope_se2"):
            usable &= np.isfinite(both[c].to_numpy(np.float64))
        both = both[usable]
        assert len(both) == r.nsnps
        pp = coloc_abf(both["slope1"].to_numpy(np.float64), both["slope_se1"].to_numpy(np.float64) ** 2,
                       both["slope2"].to_numpy(np.float64), both["slope_se2"].to_numpy(np.float64) ** 2,
                       sdy[0], sdy[1], P1, P1, P12)
        np.testing.assert_allclose([getattr(r, f"_{11 + k}") for k in range(5)], pp, rtol=1e-12, atol=1e-300)
        for hit, side, s in (("hit1", 1, sdy[0]), ("hit2", 2, sdy[1])):
            labf = log_abf(both[f"slope{side}"].to_numpy(np.float64), both[f"slope_se{side}"].to_numpy(np.float64) ** 2, s)
            assert getattr(r, hit) == both["variant_id"].iloc[int(np.argmax(labf))]


# --------------------------------------------------------------------------------------------------
# The p-value route
# --------------------------------------------------------------------------------------------------


def test_z_from_nlog10p_does_not_underflow():
    p = np.array([1.0, 0.5, 0.05, 1e-8, 1e-300])
    assert np.allclose(abs_z_from_nlog10p(-np.log10(p)), stats.norm.isf(p / 2), rtol=1e-12)
    z = abs_z_from_nlog10p(np.array([400.0, 4000.0, -1e-9, np.nan, np.inf]))
    # log(p/2) ≈ −z²/2 − log(z √(2π)): the tail expansion, to its first-order accuracy
    for nlog10p, value in ((400.0, z[0]), (4000.0, z[1])):
        log_half_p = -nlog10p * math.log(10) - math.log(2)
        assert abs(-value**2 / 2 - math.log(value * math.sqrt(2 * math.pi)) - log_half_p) < 2 / value**2
    assert z[2] == 0 and np.isnan(z[3]) and np.isinf(z[4])


def test_trait_routes():
    rng = np.random.default_rng(1)
    af = rng.uniform(0.05, 0.95, 200)
    n = 250
    se = np.sqrt(0.9**2 / (2 * n * af * (1 - af)))
    slope = rng.normal(0, se)
    nlog10p = -np.log10(2 * stats.norm.sf(np.abs(slope / se)))
    labf, route, sdy = trait_labf(nlog10p, slope, se, af, n)
    assert route == EFFECTS and sdy == pytest.approx(0.9, rel=1e-9)
    assert np.allclose(labf, log_abf(slope, se**2, sdy))
    nan = np.full(200, np.nan)
    labf, route, sdy = trait_labf(nlog10p, nan, nan, af, n)
    v = standardised_varbeta(af, n)
    z = stats.norm.isf(10.0**-nlog10p / 2)
    assert route == PVALUES and sdy == 1.0 and np.allclose(labf, 0.5 * (np.log1p(-0.0225 / (0.0225 + v))
                                                                         + 0.0225 / (0.0225 + v) * z * z))
    assert trait_labf(nlog10p, nan, nan, nan, n) is None and trait_labf(nlog10p, slope, se, af, 0) is None


def _strip_to_pvalues(release: Path, copy: Path) -> None:
    """``copy``: the release with every all-pairs store reduced to −log10 p (no slope, no frequencies), as a
    p-value-only RatGTEx import stores it."""
    shutil.copytree(release, copy)
    for runs in sorted((copy / "tables" / "all_pairs").glob("*.runs.parquet")):
        stem = str(runs)[: -len(".runs.parquet")]
        pairs = pq.read_table(stem + ".pairs.parquet")
        for c in ("slope", "slope_se"):
            pairs = pairs.set_column(pairs.schema.get_field_index(c), c, pa.nulls(pairs.num_rows, pa.float32()))
        pq.write_table(pairs, stem + ".pairs.parquet", row_group_size=ROW_GROUP_ROWS)
        variants = pq.read_table(stem + ".variants.parquet")
        variants = pa.table({f.name: pa.nulls(variants.num_rows, f.type) for f in variants.schema})
        pq.write_table(variants, stem + ".variants.parquet", row_group_size=STATS_ROW_GROUP_ROWS)
        table = pq.read_table(runs)
        pq.write_table(table.replace_schema_metadata({**(table.schema.metadata or {}), PRESENT_KEY: b"nlog10p"}), runs)


def test_pvalue_only_stores(release, table, store, tmp_path):
    copy = tmp_path / "v2"
    _strip_to_pvalues(release, copy)
    counts = write_qtl_coloc(copy, tmp_path / "t.parquet", tmp_path / "t.tsv.gz", fdr=0.05, p1=P1, p12=P12)
    got = pd.read_parquet(tmp_path / "t.parquet")
    assert counts.n_pairs == counts.n_pvalue_route == len(table) == len(got)
    keys = COLUMNS[:9]
    assert got[keys].equals(table[keys])

    # frequencies from the genotype matrix over the tissue × modality's samples: tensorQTL's af of the same samples
    freq = GenotypeFrequencies(copy)
    stored = store.all_pairs_file("Liver", "expression")
    index = np.arange(0, 1200, 7)
    af = stored.variant_stats(index).column("af").to_numpy(zero_copy_only=False).astype(np.float64)
    mine = freq.af("Liver", "expression", index)
    ok = ~np.isnan(af)
    assert ok.sum() > 100 and np.abs(mine[ok] - af[ok]).max() < 0.01

    # each pair: coloc.abf on |z| from −log10 p, varbeta = 1 / (2 N f (1 − f)), sdY = 1
    n_samples = {(t["tissue_id"], m): c["n_samples"] for t in store.tissues() for m, c in t["counts"].items()}
    variants = pd.read_parquet(release / layout.table_path("variants"), columns=["variant_id"])
    index_of = dict(zip(variants["variant_id"], range(len(variants)), strict=True))
    for r in got.itertuples(index=False):
        sides = []
        for t, m, p in ((r.tissue1, r.modality1, r.phenotype_id1), (r.tissue2, r.modality2, r.phenotype_id2)):
            rows = _trait(store, r.gene_id, t, m, p)
            f = freq.af(t, m, rows["variant_id"].map(index_of).to_numpy())
            v = standardised_varbeta(f, n_samples[(t, m)])
            z = stats.norm.isf(10.0 ** -rows["nlog10p"].to_numpy(np.float64) / 2)
            sides.append(pd.DataFrame({"variant_id": rows["variant_id"], "beta": z * np.sqrt(v), "v": v}))
        both = sides[0].merge(sides[1], on="variant_id").dropna()
        assert len(both) == r.nsnps
        pp = coloc_abf(both["beta_x"], both["v_x"], both["beta_y"], both["v_y"], 1.0, 1.0, P1, P1, P12)
        np.testing.assert_allclose([getattr(r, f"_{11 + k}") for k in range(5)], pp, rtol=1e-6, atol=1e-12)
    freq.close()

    # the two routes agree on what colocalises (the phenotypes are normalised: sdY ≈ 1)
    print(f"\n|ΔPP.H4| effects vs p-values: max {np.abs(got['PP.H4.abf'] - table['PP.H4.abf']).max():.3g}")
    assert ((got["PP.H4.abf"] >= 0.8) == (table["PP.H4.abf"] >= 0.8)).mean() >= 0.9


# --------------------------------------------------------------------------------------------------
# Store and API
# --------------------------------------------------------------------------------------------------


def _gene_with_rows(table: pd.DataFrame) -> str:
    return table["gene_id"].value_counts().index[0]


def test_store_queries(store, table):
    assert store.has_qtl_coloc()
    rows, total, cursor = store.qtl_coloc_table()
    assert total == len(table) and cursor is None
    assert rows.reset_index(drop=True).equals(table.reset_index(drop=True))
    gene = _gene_with_rows(table)
    symbol = store.resolve_gene(gene)["gene_name"]
    rows, total, _ = store.qtl_coloc_table(gene=symbol)
    assert total == (table["gene_id"] == gene).sum() and set(rows["gene_id"]) == {gene}
    rows, total, _ = store.qtl_coloc_table(tissues="Liver")
    either = (table["tissue1"] == "Liver") | (table["tissue2"] == "Liver")
    assert total == either.sum() and rows.reset_index(drop=True).equals(table[either].reset_index(drop=True))
    rows, total, _ = store.qtl_coloc_table(modalities=["splicing"], tissues=["Adipose", "Brain"])
    m = ((table["modality1"] == "splicing") | (table["modality2"] == "splicing")) & (
        table["tissue1"].isin(["Adipose", "Brain"]) | table["tissue2"].isin(["Adipose", "Brain"]))
    assert total == m.sum()
    rows, total, _ = store.qtl_coloc_table(min_pp4=0.8)
    assert total == (table["PP.H4.abf"] >= 0.8).sum() and (rows["PP.H4.abf"] >= 0.8).all()
    # paging: every row once
    pages, cursor = [], None
    while True:
        rows, total, cursor = store.qtl_coloc_table(limit=7, cursor=cursor)
        pages.append(rows)
        if cursor is None:
            break
    assert pd.concat(pages, ignore_index=True).equals(table.reset_index(drop=True))
    for bad in ({"gene": "NOPE_NOT_A_GENE"}, {"tissues": "Nowhere"}, {"modalities": "nothing"}):
        with pytest.raises(NotFound):
            store.qtl_coloc_table(**bad)
    for bad in ({"min_pp4": 1.5}, {"min_pp4": -1}, {"min_pp4": "x"}, {"limit": 0}, {"cursor": "garbage"}):
        with pytest.raises(BadQuery):
            store.qtl_coloc_table(**bad)


def test_api_equals_table(client, table):
    r = client.get("/api/v1/coloc/qtl", params={"limit": 10_000})
    assert r.status_code == 200
    body = r.json()
    assert body["meta"]["total"] == len(table) and body["meta"]["next_cursor"] is None
    got = pd.DataFrame(body["data"])
    assert list(got.columns) == COLUMNS
    assert got[COLUMNS[:11]].equals(table[COLUMNS[:11]])
    assert np.allclose(got[PP], table[PP], rtol=1e-15, atol=0)

    gene = _gene_with_rows(table)
    tsv = client.get("/api/v1/coloc/qtl", params={"gene": gene, "format": "tsv"})
    assert tsv.status_code == 200 and tsv.headers["x-total-count"] == str((table["gene_id"] == gene).sum())
    frame = pd.read_csv(io.StringIO(tsv.text), sep="\t")
    assert list(frame.columns) == COLUMNS and set(frame["gene_id"]) == {gene}
    second = client.get("/api/v1/coloc/qtl", params={"limit": 5, "page": 2}).json()["data"]
    assert [d["phenotype_id2"] for d in second] == table["phenotype_id2"].iloc[5:10].tolist()
    filtered = client.get("/api/v1/coloc/qtl", params=[("tissue", "Brain"), ("min_pp4", "0.5"), ("format", "csv")])
    frame = pd.read_csv(io.StringIO(filtered.text))
    want = table[((table["tissue1"] == "Brain") | (table["tissue2"] == "Brain")) & (table["PP.H4.abf"] >= 0.5)]
    assert len(frame) == len(want) and (frame["PP.H4.abf"] >= 0.5).all()


@pytest.mark.parametrize("params, status", [
    ({"gene": "NOPE_NOT_A_GENE"}, 404), ({"tissue": "Nowhere"}, 404), ({"modality": "nothing"}, 404),
    ({"min_pp4": "2"}, 422), ({"min_pp4": "-0.1"}, 422), ({"min_pp4": "abc"}, 422), ({"min_pp4": "nan"}, 422),
    ({"limit": "0"}, 422), ({"limit": "10001"}, 422), ({"cursor": "garbage"}, 400), ({"page": "0"}, 422),
    ({"gene": "x" * 201}, 422), ({"gene": "a\x00b"}, 400), ({"format": "xml"}, 422), ({"release": "v9"}, 404),
])
def test_api_errors(client, params, status):
    r = client.get("/api/v1/coloc/qtl", params=params)
    assert r.status_code == status, r.text
    assert "error" in r.json()


def test_disabled_and_absent(demo, tmp_path):
    """``coloc.enabled: false`` builds no table, no download and no counts; the store and the API answer 404."""
    from qtlatlas.commands.pipeline import release_results
    from qtlatlas.release.build import build_release
    from qtlatlas.web.app import create_app

    root, atlas, _, _ = demo
    off = atlas.model_copy(update={"coloc": atlas.coloc.model_copy(update={"enabled": False})})
    site = tmp_path / "site"
    out = build_release(off, "v2", site, release_results(off, "v2", root / "work"))
    assert not (out / layout.table_path("qtl_coloc")).exists()
    assert not list((out / "downloads").glob("qtl_coloc.*"))
    assert "qtl_coloc" not in json.loads((out / "release.json").read_text())["counts"]
    store = ReleaseStore(out)
    assert not store.has_qtl_coloc()
    with pytest.raises(NotFound):
        store.qtl_coloc_table()
    r = TestClient(create_app(site)).get("/api/v1/coloc/qtl")
    assert r.status_code == 404 and "without" in r.json()["detail"] + r.json()["error"]


def test_route_comes_before_parameter_routes(client):
    """No route declared before ``/coloc/qtl`` (OpenAPI lists them in declaration order) reads ``qtl`` as a path
    parameter of ``/coloc/{…}``."""
    paths = list(client.get("/api/openapi.json").json()["paths"])
    mine = paths.index("/api/v1/coloc/qtl")
    assert not [p for p in paths[:mine] if p.startswith("/api/v1/coloc/{")]


def test_gzip_download_is_deterministic(release):
    raw = (release / "downloads" / "qtl_coloc.v2_demo2.tsv.gz").read_bytes()
    assert raw[4:8] == b"\x00\x00\x00\x00"  # no time in the gzip header
    assert gzip.decompress(raw).decode().splitlines()[0].split("\t") == COLUMNS


def test_skipped_without_two_stores(demo, tmp_path):
    """One tissue × modality with a nominal pass: no pair can be formed, nothing is written."""
    from qtlatlas.release.qtl_coloc import publish_qtl_coloc

    _, atlas, _, _ = demo
    (tmp_path / "tables" / "all_pairs").mkdir(parents=True)
    (tmp_path / "tables" / "all_pairs" / "Liver.expression.runs.parquet").touch()
    noted = []
    assert publish_qtl_coloc(atlas, atlas.release("v2"), tmp_path, lambda *a: noted.append(a)) is None
    assert not noted
