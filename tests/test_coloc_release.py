"""Colocalisation computed when a release is built (qtlatlas.release.coloc), its store queries and
``/api/v1/coloc``, on the session's TWAS demo (tests/twas_demo.py: three traits, each mediated by 3–4 planted
genes through their expression in one planted tissue; GWAS of 4,000 individuals as FUSION ``SNP A1 A2 Z BETA
SE N`` without positions, so matched to the release's variants by id).

What the demo supports (measured on it, seed 3): 11 planted genes; 9 of them are eGenes of their planted tissue
whose causal variant carries a locus's lead GWAS signal, and each of these 9 has PP.H4 ≥ 0.887 in that tissue's
expression. The other two cannot colocalise here: Nat10 has no eQTL in the planted tissue (q = 0.55), and
Ccdc24's GWAS signal lies within 1 Mb of a stronger one (Tmem2d's), so it leads no locus and coloc.abf's one
causal variant per locus is the other gene's. Of the 1,880 tests of genes not planted for the trait, 99.7% have
PP.H4 < 0.5 and 0.1% (2 rows) PP.H4 ≥ 0.8 (phenotypes of neighbouring genes sharing the causal variant's LD).
"""

from __future__ import annotations

import gzip
import io
import json

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from twas_demo import RELEASE, twas_demo

from qtlatlas.coloc.loci import gwas_nlog10p, lead_rows, z_of_nlog10p
from qtlatlas.coloc.locus_abf import GwasLocus, coloc_phenotype
from qtlatlas.commands.pipeline import release_results
from qtlatlas.config import load_atlas
from qtlatlas.engine.coloc import PP_COLUMNS, coloc_abf, estimate_sdy, log_abf
from qtlatlas.errors import QtlAtlasError
from qtlatlas.release import coloc as release_coloc
from qtlatlas.release.build import build_release
from qtlatlas.release.coloc import COLUMNS, ReleaseColoc, publish_coloc
from qtlatlas.release.coloc_gwas import ColocInputError
from qtlatlas.store import BadQuery, NotFound, ReleaseStore

PRIORS = (1e-4, 1e-4, 1e-5)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return twas_demo(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def table(demo) -> pd.DataFrame:
    return pd.read_parquet(demo.release_dir / "tables" / "coloc.parquet")


@pytest.fixture(scope="module")
def store(demo) -> ReleaseStore:
    return ReleaseStore(demo.release_dir)


@pytest.fixture(scope="module")
def client(demo):
    from qtlatlas.web.app import create_app

    return TestClient(create_app(demo.site))


@pytest.fixture(scope="module")
def truth(demo) -> pd.DataFrame:
    return pd.read_csv(demo.root / "truth" / "trait_genes.tsv", sep="\t")


# -- numerics ---------------------------------------------------------------------------------------


def _random_locus(rng, m: int, z_only: bool = False) -> tuple[GwasLocus, np.ndarray]:
    maf = rng.uniform(0.02, 0.5, m)
    se = rng.uniform(0.02, 0.08, m)
    beta = rng.normal(0, 0.05, m)
    beta[m // 3] = 0.4
    matched = rng.random(m) < 0.8
    nan = np.where(matched, 1.0, np.nan)
    locus = GwasLocus(matched=matched, beta=np.nan * nan if z_only else beta * nan, se=np.nan * nan if z_only else se * nan,
                      z=beta / se * nan, af=np.full(m, np.nan), n=np.full(m, 5000.0) * nan, z_only=z_only)
    return locus, maf


def test_locus_posteriors_are_coloc_abf_on_the_same_arrays():
    """The release step's per-phenotype posteriors equal engine.coloc.coloc_abf on the arrays it uses: effects
    (sdY of both traits estimated as coloc does), p-values only (coloc's `pvalues` route), a z-only GWAS."""
    from scipy import stats

    rng = np.random.default_rng(11)
    for trial in range(30):
        m, n_qtl = 80, 300.0
        locus, maf = _random_locus(rng, m, z_only=trial % 3 == 2)
        v = np.sort(rng.choice(m, size=60, replace=False))
        slope = rng.normal(0, 0.05, 60)
        slope[trial % 60] = 0.6
        slope_se = rng.uniform(0.05, 0.1, 60)
        nlog10p = -np.log10(2 * stats.norm.sf(np.abs(slope / slope_se)))
        shared = np.flatnonzero(locus.matched[v])
        s, f = v[shared], maf[v]
        if locus.z_only:
            vb1 = 1 / (2 * 5000.0 * f[shared] * (1 - f[shared]))
            b1, sdy1 = locus.z[s] * np.sqrt(vb1), 1.0
        else:
            vb1 = locus.se[s] ** 2
            b1, sdy1 = locus.beta[s], estimate_sdy(vb1, f[shared], 5000.0)
        l1 = log_abf(b1, vb1, sdy1)
        # effects
        got = coloc_phenotype(locus, v, nlog10p, slope, slope_se, f, n_qtl, *PRIORS)
        sdy2 = estimate_sdy(slope_se ** 2, f, n_qtl)
        want = coloc_abf(b1, vb1, slope[shared], slope_se[shared] ** 2, sdy1, sdy2, *PRIORS)
        assert got.nsnps == len(shared)
        np.testing.assert_allclose(got.pp, want, rtol=1e-12, atol=1e-15)
        assert got.hit1 == s[np.argmax(l1)]
        assert got.hit2 == s[np.argmax(log_abf(slope[shared], slope_se[shared] ** 2, sdy2))]
        # p-values only: |z| = qnorm(p / 2, lower = FALSE), varbeta = 1 / (2 N f (1 - f)), sdY = 1
        got = coloc_phenotype(locus, v, nlog10p, None, None, f, n_qtl, *PRIORS)
        vb2 = 1 / (2 * n_qtl * f * (1 - f))
        z2 = stats.norm.isf(10 ** -nlog10p / 2)
        want = coloc_abf(b1, vb1, (z2 * np.sqrt(vb2))[shared], vb2[shared], sdy1, 1.0, *PRIORS)
        np.testing.assert_allclose(got.pp, want, rtol=1e-9, atol=1e-12)
        assert got.hit1 == s[np.argmax(l1)]


def test_p_values_are_converted_in_log_space():
    assert z_of_nlog10p(np.array([0.0]))[0] == 0.0
    from scipy import stats

    # where p is representable, qnorm(p / 2, lower = FALSE); where it underflows (1e-400), still the root of
    # log(2 Φ(−z)) = −400 log(10)
    np.testing.assert_allclose(z_of_nlog10p(np.array([2.0, 300.0])), stats.norm.isf([0.5e-2, 0.5e-300]), rtol=1e-12)
    z = z_of_nlog10p(np.array([400.0]))[0]
    assert abs(np.log(2) + stats.norm.logsf(z) + 400 * np.log(10)) < 1e-9
    np.testing.assert_allclose(gwas_nlog10p(np.array([np.nan, 1e-10]), np.array([-5.0, 0.0])),
                               [-np.log10(5.733031437583878e-07), 10.0], rtol=1e-9)


def test_leads_are_greedy_by_p_and_apart():
    rank = np.array([0, 0, 0, 0, 1, 1])
    pos = np.array([100, 600_000, 1_500_000, 1_600_000, 100, 400_000])
    nlog10p = np.array([9.0, 12.0, 8.0, 20.0, 7.9, 30.0])
    # chr0: 1.6 Mb (20) first, then 600 kb (12: 1 Mb away), 100 (9: 600 kb from it) and 1.5 Mb (8) are out;
    # chr1: 400 kb (30) leads, 100 bp (7.9) is below the threshold
    assert lead_rows(rank, pos, nlog10p, 1e-7, 1_000_000).tolist() == [1, 3, 5]
    assert lead_rows(rank, pos, nlog10p, 1e-7, 500_000).tolist() == [0, 1, 3, 5]


# -- the release table --------------------------------------------------------------------------------


def test_table_layout_counts_and_downloads(demo, table):
    assert list(table.columns) == COLUMNS
    key = table.assign(neg=-table["PP.H4.abf"])
    assert key.equals(key.sort_values(["trait", "locus", "neg"], kind="stable"))
    np.testing.assert_allclose(table[list(PP_COLUMNS)].sum(axis=1), 1.0, atol=1e-9)
    assert (table["nsnps"] > 0).all() and (table["locus_start"] < table["locus_end"]).all()
    info = json.loads((demo.release_dir / "release.json").read_text())["counts"]["coloc"]
    assert info["settings"]["p_threshold"] == 5e-8
    manifest = pd.read_csv(demo.release_dir / "MANIFEST.tsv", sep="\t")
    described = dict(zip(manifest["path"], manifest["description"], strict=True))
    assert "coloc.abf" in described["tables/coloc.parquet"]
    for counts in info["traits"]:
        rows = table[table["trait"] == counts["trait"]]
        assert counts["n_tests"] == len(rows) and counts["n_loci"] >= rows["locus"].max()
        assert counts["n_colocalised"] == int((rows["PP.H4.abf"] >= 0.8).sum())
        assert counts["n_placed"] == counts["n_gwas_variants"] == 1200
        # loci are numbered in genome order
        loci = rows.drop_duplicates("locus").sort_values("locus")
        chrom_rank = loci["chrom"].str.removeprefix("chr").astype(int)
        assert list(loci["locus"]) == list(range(1, len(loci) + 1))
        assert (np.diff(chrom_rank * 10**9 + loci["locus_start"]) > 0).all()
        path = f"downloads/coloc.{counts['trait']}.{RELEASE}_demo2.tsv.gz"
        assert path in described
        with gzip.open(demo.release_dir / path, "rt") as fh:
            download = pd.read_csv(fh, sep="\t")
        assert list(download.columns) == COLUMNS and len(download) == len(rows)
        np.testing.assert_allclose(download["PP.H4.abf"], rows["PP.H4.abf"], rtol=1e-5)


def test_planted_genes_colocalise_in_their_tissue(demo, table, truth):
    top = pd.read_parquet(demo.release_dir / "tables" / "top_qtls.parquet")
    variants = pd.read_parquet(demo.release_dir / "tables" / "variants.parquet").set_index("variant_id")
    supported, pp4 = [], {}
    for g in truth.itertuples():
        rows = table[(table["trait"] == g.trait) & (table["gene_id"] == g.gene_id) & (table["tissue"] == g.tissue)
                     & (table["modality"] == "expression")]
        pp4[g.gene_name] = rows["PP.H4.abf"].max()
        egene = top[(top["gene_id"] == g.gene_id) & (top["tissue"] == g.tissue) & (top["modality"] == "expression")]
        leads = variants.loc[table.loc[table["trait"] == g.trait, "lead_variant_id"].unique(), ["chrom", "pos"]]
        causal = variants.loc[g.variant_ids.split(","), ["chrom", "pos"]]
        near = any(((leads["chrom"] == c) & ((leads["pos"] - p).abs() <= 100_000)).any()
                   for c, p in causal.itertuples(index=False))
        if (egene["qval"] <= 0.05).any() and near:
            supported.append(g.gene_name)
    assert len(supported) >= 8, (supported, pp4)
    assert all(pp4[name] >= 0.8 for name in supported), {n: pp4[n] for n in supported}
    assert sum(v >= 0.8 for v in pp4.values()) >= 0.75 * len(truth), pp4


def test_genes_not_planted_rarely_colocalise(table, truth):
    planted = set(zip(truth["trait"], truth["gene_id"], strict=True))
    other = table[[(t, g) not in planted for t, g in zip(table["trait"], table["gene_id"], strict=True)]]
    assert len(other) > 1000
    assert (other["PP.H4.abf"] < 0.5).mean() >= 0.99
    assert (other["PP.H4.abf"] >= 0.8).mean() <= 0.01


def test_row_recomputed_from_the_store_and_the_gwas_file(demo, table, store):
    """A row's posteriors from the published pairs of its phenotype in the locus window and the trait's file,
    with coloc_abf: the same variants, frequencies, sample sizes and priors."""
    counts = pd.read_parquet(demo.release_dir / "tables" / "tissue_modality.parquet")
    n_of = {(t, m): n for t, m, n in counts[["tissue", "modality", "n_samples"]].itertuples(index=False)}
    atlas = load_atlas(demo.atlas_yaml)
    files = {t.id: t.sumstats for t in atlas.twas.traits}
    placed = table[table["gene_id"].notna()]
    picks = pd.concat([placed.head(3), placed.sample(5, random_state=1)])
    for row in picks.itertuples(index=False):
        pairs, _, _ = store.all_pairs(gene=row.gene_id, phenotype=row.phenotype_id, tissues=[row.tissue],
                                      modalities=[row.modality], limit=10_000)
        w = pairs[(pairs["pos"] >= row.locus_start) & (pairs["pos"] <= row.locus_end)].reset_index(drop=True)
        gwas = pd.read_csv(files[row.trait], sep="\t").drop_duplicates("SNP").set_index("SNP").reindex(w["variant_id"])
        af = w["af"].to_numpy(np.float64)
        maf = np.minimum(af, 1 - af)
        se2 = w["slope_se"].to_numpy(np.float64) ** 2
        n_qtl = n_of[(row.tissue, row.modality)]
        shared = ((gwas["A1"].to_numpy() == w["alt"].to_numpy()) & (gwas["A2"].to_numpy() == w["ref"].to_numpy()))
        vb1 = gwas["SE"].to_numpy()[shared] ** 2
        want = coloc_abf(gwas["BETA"].to_numpy()[shared], vb1, w["slope"].to_numpy(np.float64)[shared], se2[shared],
                         estimate_sdy(vb1, maf[shared], 4000.0), estimate_sdy(se2, maf, n_qtl), *PRIORS)
        assert row.nsnps == int(shared.sum())
        np.testing.assert_allclose(list(row[-5:]), want, rtol=1e-9, atol=1e-12)


def test_p_value_only_stores_agree_with_effects(demo, table, monkeypatch):
    """The same release colocalised as if its stores held p-values only (RatGTEx's archives): |z| from p,
    varbeta from N and the MAF of the release genotypes in the tissue's samples. Measured: median |ΔPP.H4|
    5e-4, at most 0.22, 99.9% of the tests on the same side of 0.8."""
    monkeypatch.setattr(release_coloc.QtlStore, "effects", property(lambda self: False))
    monkeypatch.setattr(release_coloc.QtlStore, "has_af", property(lambda self: False))
    atlas = load_atlas(demo.atlas_yaml)
    coloc = ReleaseColoc(demo.release_dir, "release v2")
    try:
        rows = pd.concat([coloc.trait(t.id, t.sumstats, t.n, atlas.coloc).rows for t in atlas.twas.traits])
    finally:
        coloc.close()
    key = ["trait", "locus", "tissue", "modality", "phenotype_id"]
    both = table.merge(rows, on=key, suffixes=("", "_p"))
    assert len(both) == len(table) == len(rows)
    d = (both["PP.H4.abf"] - both["PP.H4.abf_p"]).abs()
    assert d.median() < 0.01 and d.max() < 0.5
    assert ((both["PP.H4.abf"] >= 0.8) == (both["PP.H4.abf_p"] >= 0.8)).mean() >= 0.99


# -- errors of the build step -------------------------------------------------------------------------


def test_unreadable_gwas_names_the_trait_and_file(demo, tmp_path):
    bad = tmp_path / "broken.sumstats"
    bad.write_text("this is not\ta GWAS\n1\t2\n")
    coloc = ReleaseColoc(demo.release_dir, "release v2")
    try:
        with pytest.raises(ColocInputError, match=r"trait body_weight: .*broken\.sumstats"):
            coloc.trait("body_weight", bad, 4000, load_atlas(demo.atlas_yaml).coloc)
    finally:
        coloc.close()


def test_gwas_on_another_build_stops_the_build(demo, tmp_path):
    """A GWAS-SSF whose positions are those of another build (the release's, moved by 150 kb): the build stops
    with a message naming the trait and the file, and publishes nothing."""
    variants = pd.read_parquet(demo.release_dir / "tables" / "variants.parquet")
    gwas = pd.read_csv(demo.root / "gwas" / "fat_pad.sumstats.tsv.gz", sep="\t").merge(
        variants, left_on="SNP", right_on="variant_id")
    ssf = tmp_path / "fat_pad.other_build.tsv"
    pd.DataFrame({"chromosome": gwas["chrom"].str.removeprefix("chr"), "base_pair_location": gwas["pos"] + 150_000,
                  "effect_allele": gwas["A1"], "other_allele": gwas["A2"], "beta": gwas["BETA"],
                  "standard_error": gwas["SE"], "rsid": gwas["SNP"], "n": gwas["N"]}).to_csv(ssf, sep="\t", index=False)
    atlas = load_atlas(demo.atlas_yaml)
    traits = [t.model_copy(update={"sumstats": ssf}) if t.id == "fat_pad" else t for t in atlas.twas.traits]
    atlas = atlas.model_copy(update={"twas": atlas.twas.model_copy(update={"traits": traits})})
    site = tmp_path / "site"
    with pytest.raises(QtlAtlasError) as caught:
        build_release(atlas, RELEASE, site, release_results(atlas, RELEASE, demo.work))
    message = str(caught.value)
    assert "fat_pad" in message and ssf.name in message and "genome build" in message, message
    assert not (site / "releases" / RELEASE).exists()


def test_trait_on_another_declared_genome_is_skipped(demo, tmp_path, table):
    """A trait whose `genome` is declared and differs from the release's is left out (release.json says why);
    the other traits are colocalised as in the build."""
    atlas = load_atlas(demo.atlas_yaml)
    traits = [t.model_copy(update={"genome": "other1"}) if t.id == "fat_pad" else t for t in atlas.twas.traits]
    atlas = atlas.model_copy(update={"twas": atlas.twas.model_copy(update={"traits": traits})})
    written: dict[str, str] = {}

    def note(rel: str, description: str, kind: str):
        written[rel] = kind
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        return tmp_path / rel

    counts = publish_coloc(atlas, atlas.release(RELEASE), demo.release_dir, note)["coloc"]["traits"]
    assert {c["trait"]: c.get("skipped") for c in counts} == {
        "body_weight": None, "fasting_glucose": None, "fat_pad": "GWAS on other1, release on demo2"}
    assert not any(".fat_pad." in rel for rel in written)
    rows = pd.read_parquet(tmp_path / "tables" / "coloc.parquet")
    pd.testing.assert_frame_equal(rows, table[table["trait"] != "fat_pad"].reset_index(drop=True))


# -- store and API -------------------------------------------------------------------------------------


def _ordered(rows: pd.DataFrame) -> pd.DataFrame:
    return rows.assign(_neg=-rows["PP.H4.abf"]).sort_values(
        ["_neg", "trait", "locus", "tissue", "modality", "phenotype_id"], kind="stable").drop(columns="_neg").reset_index(
        drop=True)


def test_store_queries(store, table):
    assert store.has_coloc() and store.coloc_traits() == sorted(table["trait"].unique())
    rows, total, cursor = store.coloc_table(trait="fat_pad", limit=10_000)
    assert cursor is None and total == len(rows) == int((table["trait"] == "fat_pad").sum())
    pd.testing.assert_frame_equal(rows, _ordered(table[table["trait"] == "fat_pad"]), check_dtype=False)
    # a gene by symbol, every trait; a variant: the loci whose window holds it
    name = table["gene_name"].dropna().iloc[0]
    rows, total, _ = store.coloc_table(gene=name.lower(), limit=10_000)
    assert total == int((table["gene_name"] == name).sum()) and set(rows["gene_name"]) == {name}
    lead = table.iloc[0]
    rows, total, _ = store.coloc_table(variant=lead["lead_variant_id"], trait=lead["trait"], min_pp4=0.5,
                                       tissues=[lead["tissue"]], limit=10_000)
    v = store.variant(lead["lead_variant_id"])
    want = table[(table["trait"] == lead["trait"]) & (table["chrom"] == v["chrom"]) & (table["locus_start"] <= v["pos"])
                 & (table["locus_end"] >= v["pos"]) & (table["PP.H4.abf"] >= 0.5) & (table["tissue"] == lead["tissue"])]
    assert total == len(want) > 0
    pd.testing.assert_frame_equal(rows, _ordered(want), check_dtype=False)
    # pages
    first, total, cursor = store.coloc_table(trait="body_weight", limit=7)
    second, _, _ = store.coloc_table(trait="body_weight", limit=7, cursor=cursor)
    every, _, _ = store.coloc_table(trait="body_weight", limit=14)
    pd.testing.assert_frame_equal(pd.concat([first, second], ignore_index=True), every)
    for bad in (dict(), dict(trait="fat_pad", min_pp4=1.5), dict(trait="fat_pad", min_pp4=-0.1),
                dict(trait="fat_pad", cursor="nope")):
        with pytest.raises(BadQuery):
            store.coloc_table(**bad)
    for bad in (dict(trait="no_such_trait"), dict(gene="NoSuchGene1"), dict(variant="rs999999999"),
                dict(trait="fat_pad", tissues=["Nowhere"])):
        with pytest.raises(NotFound):
            store.coloc_table(**bad)


def test_api_rows_equal_the_table(client, table):
    got, cursor = [], None
    while True:
        r = client.get("/api/v1/coloc", params={"trait": "body_weight", "limit": 150,
                                                **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200, r.text
        body = r.json()
        got += body["data"]
        cursor = body["meta"]["next_cursor"]
        if cursor is None:
            break
    want = _ordered(table[table["trait"] == "body_weight"])
    assert body["meta"]["total"] == len(want) == len(got)
    api = pd.DataFrame(got)[COLUMNS]
    pd.testing.assert_frame_equal(api, want.astype({"gene_name": object}), check_dtype=False)
    # TSV, filters, page numbers
    r = client.get("/api/v1/coloc", params={"gene": want["gene_id"].iloc[0], "modality": "expression",
                                            "min_pp4": 0.8, "format": "tsv", "limit": 10_000})
    tsv = pd.read_csv(io.StringIO(r.text), sep="\t")
    sel = table[(table["gene_id"] == want["gene_id"].iloc[0]) & (table["modality"] == "expression")
                & (table["PP.H4.abf"] >= 0.8)]
    assert r.status_code == 200 and len(tsv) == len(sel) > 0 and list(tsv.columns) == COLUMNS
    p2 = client.get("/api/v1/coloc", params={"trait": "body_weight", "limit": 5, "page": 2}).json()["data"]
    assert [x["phenotype_id"] for x in p2] == list(want["phenotype_id"].iloc[5:10])


@pytest.mark.parametrize("params,status", [
    ({}, 400),
    ({"trait": "no_such_trait"}, 404),
    ({"gene": "NoSuchGene1"}, 404),
    ({"variant": "rs999999999"}, 404),
    ({"trait": "fat_pad", "tissue": "Nowhere"}, 404),
    ({"trait": "fat_pad", "modality": "nothing"}, 404),
    ({"trait": "fat_pad", "min_pp4": 1.5}, 422),
    ({"trait": "fat_pad", "min_pp4": -1}, 422),
    ({"trait": "fat_pad", "min_pp4": "high"}, 422),
    ({"trait": "fat_pad", "min_pp4": "nan"}, (400, 422)),
    ({"trait": "fat_pad", "limit": 0}, 422),
    ({"trait": "fat_pad", "cursor": "not-a-cursor"}, 400),
    ({"trait": "fat_pad", "format": "xml"}, 422),
    # hostile strings: refused or not found, never a server error
    ({"trait": "fat_pad\x00"}, (400, 404)),
    ({"gene": "ab\x00cd"}, (400, 404)),
    ({"variant": "\x7f"}, (400, 404)),
    ({"trait": "x" * 500}, 422),
    ({"trait": "fat_pad' OR '1'='1"}, 404),
    ({"gene": "'; DROP TABLE coloc; --"}, 404),
    ({"variant": "chr1:abc"}, 404),
    ({"variant": "chr1:99999999999"}, 404),
    ({"trait": "\u00e9\u00e8\U0001f600"}, 404),
])
def test_api_errors_are_4xx(client, params, status):
    r = client.get("/api/v1/coloc", params=params)
    allowed = status if isinstance(status, tuple) else (status,)
    assert r.status_code in allowed, (params, r.status_code, r.text)
    assert "error" in r.json()


def test_coloc_susie_pairs_credible_sets_and_finds_the_planted_genes(demo, table, truth, store, client):
    """coloc.susie: one row per pair of credible sets (the GWAS fine-mapped from its z-scores with LD from the
    release genotypes, the phenotype from the release's fine-mapping); the planted genes that coloc.abf finds
    colocalise here too, and each row's posteriors are coloc.bf_bf of the two effects' stored Bayes factors."""
    from qtlatlas.release.coloc_susie import COLUMNS as SUSIE_COLUMNS

    susie = pd.read_parquet(demo.release_dir / "tables" / "coloc_susie.parquet")
    assert list(susie.columns) == SUSIE_COLUMNS and len(susie)
    np.testing.assert_allclose(susie[list(PP_COLUMNS)].sum(axis=1), 1.0, atol=1e-9)
    sets = pd.read_parquet(demo.release_dir / "tables" / "credible_sets.parquet")
    fine_mapped = set(zip(sets["tissue"], sets["modality"], sets["phenotype_id"], sets["cs_index"], strict=True))
    assert all((t, m, p, i) in fine_mapped for t, m, p, i in
               zip(susie["tissue"], susie["modality"], susie["phenotype_id"], susie["idx2"], strict=True))
    # the planted genes colocalised by coloc.abf (PP.H4 ≥ 0.8 in their tissue's expression) and fine-mapped there
    found = []
    for g in truth.itertuples():
        abf = table[(table["trait"] == g.trait) & (table["gene_id"] == g.gene_id) & (table["tissue"] == g.tissue)
                    & (table["modality"] == "expression")]
        mapped = sets[(sets["gene_id"] == g.gene_id) & (sets["tissue"] == g.tissue) & (sets["modality"] == "expression")]
        if (abf["PP.H4.abf"] >= 0.8).any() and len(mapped):
            rows = susie[(susie["trait"] == g.trait) & (susie["gene_id"] == g.gene_id) & (susie["tissue"] == g.tissue)
                         & (susie["modality"] == "expression")]
            found.append((g.gene_name, rows["PP.H4.abf"].max() if len(rows) else np.nan))
    assert len(found) >= 5, found
    assert sum(pp4 >= 0.8 for _, pp4 in found) >= 0.8 * len(found), found
    info = json.loads((demo.release_dir / "release.json").read_text())["counts"]["coloc"]["traits"]
    assert sum(t["n_susie_pairs"] for t in info) == len(susie)
    # the API serves the same rows
    best = susie.loc[susie["PP.H4.abf"].idxmax()]
    body = client.get("/api/v1/coloc", params={"trait": best["trait"], "method": "susie", "limit": 10_000}).json()
    assert body["meta"]["total"] == int((susie["trait"] == best["trait"]).sum())
    assert body["data"][0]["PP.H4.abf"] == pytest.approx(best["PP.H4.abf"])
    assert {"idx1", "idx2"} <= set(body["data"][0])
    assert client.get("/api/v1/coloc", params={"trait": best["trait"], "method": "bayes"}).status_code == 422
    rows, total, _ = store.coloc_table(gene=best["gene_id"], method="susie")
    assert total == int((susie["gene_id"] == best["gene_id"]).sum())


def test_coloc_susie_with_a_reference_panel_matches_variants_by_position_and_alleles(demo):
    """``coloc.ld: reference``: the GWAS's LD from a genotype panel, its variants matched to the release's by
    position and alleles. A panel holding the release's own genotypes gives the release's LD, so the same
    coloc.susie rows; a panel of other samples gives other (but valid) rows."""
    atlas = load_atlas(demo.atlas_yaml)
    settings = atlas.coloc
    trait = atlas.twas.traits[0]
    own = ReleaseColoc(demo.release_dir, "release v2")
    panel = [str(p) for p in atlas.release(RELEASE).genotypes]
    reference = ReleaseColoc(demo.release_dir, "release v2", ld_reference=panel)
    try:
        a = own.trait(trait.id, trait.sumstats, trait.n, settings).susie
        b = reference.trait(trait.id, trait.sumstats, trait.n, settings).susie
    finally:
        own.close()
        reference.close()
    assert len(a) and len(a) == len(b)
    np.testing.assert_allclose(b["PP.H4.abf"].to_numpy(), a["PP.H4.abf"].to_numpy(), atol=1e-6)
    assert list(b["hit1"]) == list(a["hit1"])


def test_coloc_ld_reference_needs_a_panel(demo):
    import yaml

    doc = yaml.safe_load(demo.atlas_yaml.read_text())
    doc.setdefault("coloc", {})["ld"] = "reference"
    doc.setdefault("twas", {}).pop("ld_reference", None)
    path = demo.atlas_yaml.with_name("atlas.coloc-ld.yaml")  # beside it: its relative paths still resolve
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(QtlAtlasError, match="twas.ld_reference"):
        load_atlas(path)
