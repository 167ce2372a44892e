"""qtlatlas.store against the Parquet tables of a small demo site read directly with pandas."""

from __future__ import annotations

import gc
import threading

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from qtlatlas.cli import main
from qtlatlas.demo import DemoConfig
from qtlatlas.io.genotypes import read_genotypes
from qtlatlas.release import layout
from qtlatlas.release.errata import add_erratum
from qtlatlas.store import MAX_REGION_BP, BadQuery, NotFound, ReleaseStore, Site

SMALL = DemoConfig(seed=5, n_individuals=120, n_variants_per_chrom=600, n_genes_per_chrom=15, n_traits=1, gwas_n=300)


@pytest.fixture(scope="module")
def site_dir(tmp_path_factory):
    import qtlatlas.commands.demo as demo_command

    out = tmp_path_factory.mktemp("store") / "demo"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(demo_command, "DEMO_CONFIG", SMALL)
        assert main(["demo", "--out", str(out), "--no-serve", "--quiet"]) == 0
    return out / "site"


@pytest.fixture(scope="module")
def site(site_dir):
    return Site(site_dir)


@pytest.fixture(scope="module")
def store(site):
    return site.release()


def table(store: ReleaseStore, name: str) -> pd.DataFrame:
    path = store.path / layout.table_path(name)
    if path.suffix == ".arrow":  # a look-up file (Arrow IPC batches)
        with pa.OSFile(str(path)) as f:
            return pa.ipc.open_file(f).read_all().to_pandas()
    return pd.read_parquet(path)


def same_rows(a: pd.DataFrame, b: pd.DataFrame, key: list[str]) -> None:
    cols = list(b.columns)
    a = a[cols].sort_values(key).reset_index(drop=True).astype(object).where(lambda d: d.notna(), None)
    b = b[cols].sort_values(key).reset_index(drop=True).astype(object).where(lambda d: d.notna(), None)
    pd.testing.assert_frame_equal(a, b, check_dtype=False)


# ------------------------------------------------------------------------------------------------
# Site
# ------------------------------------------------------------------------------------------------


def test_site_releases_studies_errata(site, site_dir):
    assert site.release_ids() == ["v1", "v2"]
    assert site.latest() == "v2"
    assert site.atlas["atlas"]["name"]
    add_erratum(site_dir, "v1", "a correction", )
    rel = {r["id"]: r for r in site.releases()}
    assert rel["v1"]["errata"][-1]["text"] == "a correction" and rel["v2"]["errata"] == []
    assert rel["v2"]["latest"] and rel["v1"]["genome"]
    assert site.release().id == "v2" and site.release("v1").id == "v1"
    assert site.release("v2") is site.release()
    with pytest.raises(NotFound, match="v9"):
        site.release("v9")
    studies = site.studies()
    assert studies
    study = site.study(studies[0]["id"])
    files = {f["path"]: f for f in study["files"]}
    assert "study.json" in files and all(len(f["sha256"]) == 64 and f["bytes"] > 0 for f in files.values())
    with pytest.raises(NotFound):
        site.study("../releases")


def test_tissues_modalities_downloads(store):
    tissues = store.tissues()
    tt = table(store, "tissues")
    assert [t["tissue_id"] for t in tissues] == list(tt["tissue_id"])
    tm = table(store, "tissue_modality")
    for t in tissues:
        part = tm[tm["tissue"] == t["tissue_id"]]
        assert set(t["counts"]) == set(part["modality"])
        for r in part.itertuples():
            assert t["counts"][r.modality]["n_egenes"] == r.n_egenes
    mods = store.modalities()
    assert mods[-1]["id"] == "cross_modality"
    assert {m["id"] for m in mods} == set(tm["modality"])
    assert all({"id", "name", "grouped", "description"} <= set(m) for m in mods)
    downloads = store.downloads()
    assert downloads and all(d["kind"] in ("download", "index") and d["path"].startswith("downloads/")
                             for d in downloads)
    assert {d["kind"] for d in downloads} == {"download", "index"}
    assert all((store.path / d["path"]).stat().st_size == d["bytes"] for d in downloads)


# ------------------------------------------------------------------------------------------------
# Genes
# ------------------------------------------------------------------------------------------------


def test_search_genes_ranking(store):
    genes = table(store, "genes")
    name = genes["gene_name"].iloc[3]
    hits = store.search_genes(name.upper())
    assert hits[0]["gene_name"] == name and hits[0]["match"] == "exact"
    prefix = name[:2].lower()
    hits = store.search_genes(prefix, limit=1000)
    expected = genes[genes["gene_name"].str.lower().str.startswith(prefix)
                     | genes["gene_id"].str.lower().str.startswith(prefix)]
    assert {h["gene_id"] for h in hits} == set(expected["gene_id"])
    keys = [(0 if h["match"] == "exact" else 1, len(h["gene_name"]), h["gene_name"].lower()) for h in hits]
    assert keys == sorted(keys)
    assert len(store.search_genes(prefix, limit=2)) == min(2, len(expected))
    gid = genes["gene_id"].iloc[0]
    assert store.search_genes(gid.lower())[0]["gene_id"] == gid
    for bad in ("", "   "):
        with pytest.raises(BadQuery, match="q"):
            store.search_genes(bad)
    assert store.search_genes("zzzzqqq") == []


def test_gene_by_id_and_symbol(store):
    genes = table(store, "genes")
    status = table(store, "gene_status")
    row = genes.iloc[5]
    g = store.gene(row["gene_name"].lower())
    assert g["gene_id"] == row["gene_id"] and g["tss"] == row["tss"] and g["strand"] == row["strand"]
    assert store.gene(row["gene_id"])["gene_name"] == row["gene_name"]
    expected = status[status["gene_id"] == row["gene_id"]]
    assert len(g["status"]) == len(expected)
    got = {(s["tissue"], s["modality"]): s for s in g["status"]}
    for r in expected.itertuples():
        s = got[(r.tissue, r.modality)]
        assert (s["expressed"], s["tested"], s["has_qtl"], s["n_independent"]) == (
            r.expressed, r.tested, r.has_qtl, r.n_independent)


def test_gene_not_found_suggests(store):
    name = table(store, "genes")["gene_name"].iloc[7]
    with pytest.raises(NotFound) as err:
        store.gene(name[:-1] + ("x" if name[-1] != "x" else "y"))
    assert name in err.value.suggestions
    assert "not found" in str(err.value)


def test_exons_expression_medians(store):
    genes = table(store, "genes")
    gid = genes["gene_id"].iloc[0]
    ex = store.exons(gid)
    assert len(ex["exons"]) == int((table(store, "exons")["gene_id"] == gid).sum())
    assert len(ex["transcripts"]) == int((table(store, "transcripts")["gene_id"] == gid).sum())
    expr = store.expression(gid)
    tissue = store.tissue_ids()[0]
    wide = pd.read_parquet(store.path / layout.expression_table_path(tissue)).set_index("phenotype_id")
    part = expr[expr["tissue"] == tissue]
    np.testing.assert_allclose(part["tpm"].to_numpy(), wide.loc[gid].to_numpy(np.float64))
    assert list(part["sample_id"]) == list(wide.columns)
    assert set(store.expression(gid, tissue)["tissue"]) == {tissue}
    med = table(store, "medians")
    ids = list(genes["gene_id"].iloc[:3])
    got = store.medians([genes["gene_name"].iloc[0], *ids[1:]], tissues=[tissue])
    exp = med[med["gene_id"].isin(ids) & (med["tissue"] == tissue)]
    assert len(got) == len(exp)
    np.testing.assert_allclose(got.set_index("gene_id")["median"].sort_index(),
                               exp.set_index("gene_id")["median"].sort_index())
    top = store.top_expressed(tissue, n=5)
    exp = med[med["tissue"] == tissue].sort_values(["median", "gene_id"], ascending=[False, True]).head(5)
    assert list(top["gene_id"]) == list(exp["gene_id"])
    assert top["gene_name"].notna().all()
    with pytest.raises(NotFound):
        store.top_expressed("Nowhere")


# ------------------------------------------------------------------------------------------------
# QTLs and pairs
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind, name", [("top", "top_qtls"), ("independent", "independent_qtls")])
def test_qtls_filters_match_pandas(store, kind, name):
    df = table(store, name)
    tissue, modality = df["tissue"].iloc[0], df["modality"].iloc[0]
    rows, total, _ = store.qtls(kind, tissues=[tissue], modalities=[modality], max_qval=0.05, limit=10_000)
    exp = df[(df["tissue"] == tissue) & (df["modality"] == modality) & (df["qval"] <= 0.05)]
    assert total == len(exp) == len(rows)
    same_rows(rows, exp, ["phenotype_id", "rank", "variant_id"])
    assert rows["pval_nominal"].is_monotonic_increasing
    gene = df["gene_id"].iloc[0]
    rows, total, _ = store.qtls(kind, genes=[gene], max_pval=1e-3)
    assert total == int(((df["gene_id"] == gene) & (df["pval_nominal"] <= 1e-3)).sum()) == len(rows)
    chrom, pos = df["chrom"].iloc[0], int(df["pos"].iloc[0])
    lo = max(1, pos - 500_000)
    rows, total, _ = store.qtls(kind, region=f"{chrom.removeprefix('chr')}:{lo}-{pos + 500_000}")
    exp = df[(df["chrom"] == chrom) & df["pos"].between(lo, pos + 500_000)]
    assert total == len(exp)
    rows, _, _ = store.qtls(kind, sort="slope", descending=True, limit=50)
    assert list(rows["slope"].dropna()) == sorted(df["slope"].dropna(), reverse=True)[:len(rows["slope"].dropna())]


def test_qtls_pagination_covers_every_row_once(store):
    df = table(store, "top_qtls")
    seen, cursor, pages = [], None, 0
    while True:
        rows, total, cursor = store.qtls("top", sort="qval", limit=137, cursor=cursor)
        assert total == len(df)
        seen.append(rows)
        pages += 1
        if cursor is None:
            break
    got = pd.concat(seen, ignore_index=True)
    assert pages == -(-len(df) // 137) and len(got) == len(df)
    assert not got.duplicated(["tissue", "modality", "phenotype_id", "rank"]).any()
    assert got["qval"].dropna().is_monotonic_increasing


def test_pairs_by_gene_and_region(store):
    sp = table(store, "signif_pairs")
    genes = table(store, "genes")
    gid = sp["gene_id"].value_counts().index[0]
    symbol = genes.set_index("gene_id").loc[gid, "gene_name"]
    rows, total, cursor = store.pairs(gene=symbol, limit=10_000)
    exp = sp[sp["gene_id"] == gid]
    assert total == len(exp) == len(rows) and cursor is None
    same_rows(rows, exp, ["tissue", "modality", "phenotype_id", "variant_id"])
    tissue = exp["tissue"].iloc[0]
    _, total, _ = store.pairs(gene=gid, tissues=[tissue])
    assert total == int((exp["tissue"] == tissue).sum())
    chrom, pos = exp["chrom"].iloc[0], int(exp["pos"].iloc[0])
    region = f"{chrom}:{max(1, pos - 300_000):,}-{pos + 300_000}"
    exp = sp[(sp["chrom"] == chrom) & sp["pos"].between(max(1, pos - 300_000), pos + 300_000)]
    pages, cursor = [], None
    while True:
        rows, total, cursor = store.pairs(region=region, limit=40, cursor=cursor)
        pages.append(rows)
        if cursor is None:
            break
    got = pd.concat(pages, ignore_index=True)
    assert total == len(exp) == len(got)
    same_rows(got, exp, ["tissue", "modality", "phenotype_id", "variant_id"])
    assert got["pos"].is_monotonic_increasing


def test_query_errors(store):
    with pytest.raises(BadQuery, match=f"{MAX_REGION_BP:,}"):
        store.pairs(region="chr1:1-2000001")
    store.pairs(region="chr1:1-2000000")
    for bad in ("chr1", "chr1:5-1", "chr1:a-b", "1:0-10", "chr1:10"):
        with pytest.raises(BadQuery, match="region"):
            store.pairs(region=bad)
    with pytest.raises(BadQuery, match="sort"):
        store.qtls(sort="pval; DROP TABLE x")
    with pytest.raises(BadQuery, match="gene/region"):
        store.pairs()
    with pytest.raises(BadQuery, match="gene/region"):
        store.pairs(gene="x", region="chr1:1-2")
    with pytest.raises(BadQuery, match="kind"):
        store.qtls("all")
    with pytest.raises(BadQuery, match="cursor"):
        store.qtls(cursor="not-a-cursor")
    _, _, pair_cursor = store.pairs(region="chr1:1-2000000", limit=1)
    if pair_cursor:
        with pytest.raises(BadQuery, match="cursor"):
            store.qtls(cursor=pair_cursor)
    for lim in (0, 10_001, "many"):
        with pytest.raises(BadQuery, match="limit"):
            store.qtls(limit=lim)
    with pytest.raises(BadQuery, match="max_qval"):
        store.qtls(max_qval="nan")
    with pytest.raises(NotFound, match="Nowhere"):
        store.qtls(tissues=["Nowhere"])
    with pytest.raises(NotFound, match="modality"):
        store.qtls(modalities="dance")
    with pytest.raises(NotFound, match="gene"):
        store.qtls(genes=["NOPE1"])


HOSTILE = ["'; DROP TABLE x; --", "\" OR 1=1 --", "x" * 100_000, "Gène-β 基因 🧬", "\x00", "\ud800", "%", "_",
           "../../etc/passwd", "chr1:1-2'; --", "NULL", " ", "1:-5", "chr1:99999999999999999999-1"]


def test_hostile_strings_only_raise_store_errors(store, site):
    calls = [
        lambda s: site.release(s), lambda s: site.study(s),
        lambda s: store.search_genes(s), lambda s: store.gene(s), lambda s: store.exons(s),
        lambda s: store.expression(s), lambda s: store.expression("x", s), lambda s: store.medians([s]),
        lambda s: store.top_expressed(s), lambda s: store.qtls(s), lambda s: store.qtls(tissues=[s]),
        lambda s: store.qtls(modalities=[s]), lambda s: store.qtls(genes=[s]), lambda s: store.qtls(region=s),
        lambda s: store.qtls(sort=s), lambda s: store.qtls(cursor=s), lambda s: store.pairs(gene=s),
        lambda s: store.pairs(region=s), lambda s: store.variant(s), lambda s: store.variant_associations(s),
        lambda s: store.phenotype_by_genotype(s, "rs1", "Adipose", "expression"),
        lambda s: store.phenotype_by_genotype("x", s, "Adipose", "expression"),
        lambda s: store.phenotype_by_genotype("x", "rs1", s, "expression"),
        lambda s: store.phenotype_by_genotype("x", "rs1", "Adipose", s),
    ]
    for s in HOSTILE:
        for call in calls:
            try:
                call(s)
            except (NotFound, BadQuery):
                pass


# ------------------------------------------------------------------------------------------------
# Variants
# ------------------------------------------------------------------------------------------------


def test_variant_lookup_syntaxes(store):
    variants = table(store, "variants")
    v = variants.iloc[10]
    key = v["chrom"].removeprefix("chr")
    for q in (v["variant_id"], v["variant_id"].upper(), f"{v['chrom']}:{v['pos']}", f"{key}:{v['pos']}",
              f"chr{key}:{v['pos']:,}", f"{key}_{v['pos']}_{v['ref']}_{v['alt']}",
              f"{v['chrom']}:{v['pos']}:{v['ref']}:{v['alt']}"):
        got = store.variant(q)
        same = variants[(variants["chrom"] == v["chrom"]) & (variants["pos"] == v["pos"])]
        assert got["variant_id"] in set(same["variant_id"]), q
        assert (got["chrom"], got["pos"]) == (v["chrom"], v["pos"])
    with pytest.raises(NotFound) as err:
        store.variant(f"{key}:{int(v['pos']) + 1}")
    assert v["variant_id"] in err.value.suggestions or err.value.suggestions
    for q in ("rs0", f"{key}_{v['pos']}_{v['ref']}_NOTALT"):
        with pytest.raises(NotFound):
            store.variant(q)


def test_variant_associations_union_of_tables(store):
    top = table(store, "top_qtls")
    vid = top["variant_id"].value_counts().index[0]
    got = store.variant_associations(vid)
    for source, name in (("top", "top_qtls"), ("independent", "independent_qtls"), ("significant", "signif_pairs")):
        df = table(store, name)
        exp = df[df["variant_id"] == vid]
        part = got[got["source"] == source]
        assert len(part) == len(exp), source
        if len(exp):
            same_rows(part, exp, ["tissue", "modality", "phenotype_id"])
    assert len(store.variant_associations(f"{top.loc[top['variant_id'] == vid, 'chrom'].iloc[0]}:"
                                          f"{top.loc[top['variant_id'] == vid, 'pos'].iloc[0]}")) >= len(got[got.source == "top"])


def _release_genotypes(store, variant_id: str) -> dict[str, int]:
    """Sample -> dosage of a variant read from the release's VCF download with the genotype reader of the
    pipeline (the reference the store's fast look-up must agree with)."""
    vcf = next(p for p in (store.path / "downloads").iterdir() if p.name.startswith("genotypes.") and p.name.endswith(".vcf.gz"))
    v = store.variant(variant_id)
    g = read_genotypes(vcf, region=f"{v['chrom']}:{v['pos']}-{v['pos']}")
    i = list(g.variants["id"]).index(v["variant_id"])
    return {s: int(x) for s, x in zip(g.samples, g.dosages[i], strict=True)}


def _check_pbg(store, row):
    tissue, modality = row["tissue"], row["modality"]
    d = store.phenotype_by_genotype(row["phenotype_id"], row["variant_id"], tissue, modality)
    assert d["genotype_source"] == "vcf" and d["value_kind"] == "normalised"
    wide = pd.read_parquet(store.path / layout.phenotype_table_path(tissue, modality)).set_index("phenotype_id")
    values = wide.loc[row["phenotype_id"]].to_numpy(np.float64)
    assert d["samples"] == list(wide.columns)
    np.testing.assert_allclose(np.array(d["values"], dtype=float), values)
    ref = _release_genotypes(store, row["variant_id"])
    assert [None if ref.get(s, -9) < 0 else ref[s] for s in d["samples"]] == d["genotypes"]
    gt = np.array([np.nan if x is None else x for x in d["genotypes"]], dtype=float)
    assert d["counts"] == {"hom_ref": int((gt == 0).sum()), "het": int((gt == 1).sum()),
                           "hom_alt": int((gt == 2).sum()), "missing": int(np.isnan(gt).sum())}
    use = ~np.isnan(gt) & np.isfinite(values)
    slope = np.polyfit(gt[use], values[use], 1)[0]
    # the plot's own regression, without covariates, under its own names
    assert d["slope_unadjusted"] == pytest.approx(slope, rel=1e-6)
    assert 0 <= d["pval_unadjusted"] <= 1 and d["slope_se_unadjusted"] > 0
    return d


def test_phenotype_by_genotype(store):
    top = table(store, "top_qtls")
    row = top[top["modality"] != "cross_modality"].sort_values("pval_nominal").iloc[0]
    d = _check_pbg(store, row)
    assert d["pval_nominal_threshold"] == pytest.approx(row["pval_nominal_threshold"])
    assert d["pval_unadjusted"] < 1e-3
    # the mapped nominal statistics of the pair (with covariates) are the top table's, not the plot's regression
    assert d["statistics_source"] == "nominal"
    nominal = store.nominal_pair(row["tissue"], row["modality"], row["phenotype_id"], row["variant_id"])
    assert d["pval_nominal"] == nominal["pval_nominal"]
    # the table: 6 digits; the all-pairs store: -log10 p within 1e-5, slope within 1e-4 SE, SE to 12 bits
    assert d["pval_nominal"] == pytest.approx(row["pval_nominal"], rel=3e-5, abs=0)
    assert d["nlog10p"] == pytest.approx(-np.log10(d["pval_nominal"]), rel=1e-12)
    assert abs(d["slope"] - row["slope"]) <= 1e-4 * row["slope_se"] + 1e-5 * abs(row["slope"])
    assert d["slope_se"] == pytest.approx(row["slope_se"], rel=2.5e-4)
    assert d["slope"] != pytest.approx(d["slope_unadjusted"], rel=1e-3)
    # a variant of the significant pairs only, and one of no QTL table at all: genotypes from the release VCF
    sp = table(store, "signif_pairs")
    only = sp[~sp["variant_id"].isin(set(top["variant_id"])) & (sp["modality"] != "cross_modality")]
    if len(only):
        _check_pbg(store, only.iloc[0])
    variants = table(store, "variants")
    untested = variants[~variants["variant_id"].isin(set(sp["variant_id"]) | set(top["variant_id"]))]
    far = store.phenotype_by_genotype(row["phenotype_id"], untested["variant_id"].iat[0], row["tissue"],
                                      row["modality"])
    ref = _release_genotypes(store, far["variant_id"])
    assert far["genotypes"] == [None if ref.get(s, -9) < 0 else ref[s] for s in far["samples"]]
    # a pair never tested (another chromosome) has no mapped statistics: null, never the unadjusted ones instead
    elsewhere = untested[untested["chrom"] != row["chrom"]]["variant_id"].iat[0]
    none = store.phenotype_by_genotype(row["phenotype_id"], elsewhere, row["tissue"], row["modality"])
    assert none["statistics_source"] is None and none["pval_unadjusted"] is not None
    assert all(none[k] is None for k in ("pval_nominal", "slope", "slope_se", "nlog10p"))
    with pytest.raises(NotFound, match="phenotype"):
        store.phenotype_by_genotype("nope", row["variant_id"], row["tissue"], row["modality"])
    with pytest.raises(NotFound, match="variant"):
        store.phenotype_by_genotype(row["phenotype_id"], "rs0", row["tissue"], row["modality"])


def test_concurrent_reads(store):
    genes = list(table(store, "genes")["gene_id"].iloc[:8])
    errors, results = [], {}

    def work(gid):
        try:
            for _ in range(5):
                results[gid] = store.pairs(gene=gid, limit=10_000)[1]
                store.qtls(genes=[gid])
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(g,)) for g in genes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    sp = table(store, "signif_pairs")
    assert all(results[g] == int((sp["gene_id"] == g).sum()) for g in genes)


def test_missing_code_matches_the_genotype_readers():
    from qtlatlas.io.genotypes import MISSING_INT8
    from qtlatlas.store import variants

    assert variants.MISSING_INT8 == MISSING_INT8


def test_variant_lookup_by_id_through_the_index_and_without_it(store, monkeypatch):
    variants = table(store, "variants")
    index = table(store, "variant_index")
    assert list(index["variant_key"]) == sorted(index["variant_key"])
    assert set(index["variant_id"]) == set(variants["variant_id"])
    vid = variants["variant_id"].iloc[len(variants) // 2]
    row = variants[variants["variant_id"] == vid].iloc[0]
    for query in (vid, vid.upper(), vid.lower()):
        found = store.variant(query)
        assert (found["variant_id"], found["chrom"], found["pos"]) == (vid, row["chrom"], row["pos"])
    # a release built before the index existed is still served, by scanning the ids, and one whose index
    # held ids and positions only (a Parquet table), through that index
    monkeypatch.setattr(type(store), "has_table", lambda self, name: name != "variant_index")
    assert store.variant(vid.upper())["variant_id"] == vid
    legacy = store.path / layout.LEGACY_VARIANT_INDEX
    index[["variant_key", "variant_id", "chrom", "pos"]].to_parquet(legacy)
    try:
        calls = []
        original = store.db.df
        monkeypatch.setattr(store.db, "df", lambda sql, params=(): calls.append(sql) or original(sql, params))
        assert store.variant(vid.upper())["variant_id"] == vid
        assert any("variant_key" in sql for sql in calls)
    finally:
        legacy.unlink()
    with pytest.raises(NotFound):
        store.variant("rs_not_a_variant")


def test_position_reads_equal_the_sql_path(store, monkeypatch):
    """Region pages and variant associations read through associations_by_position (row groups found from
    footer statistics) equal the SQL answers over signif_pairs / the three QTL tables, page by page."""
    from qtlatlas.store.release import ReleaseStore as Store

    assert store._positional() is not None
    sp = table(store, "signif_pairs")
    rng = np.random.default_rng(3)
    picks = sp.iloc[rng.integers(0, len(sp), 6)]
    tissue = sp["tissue"].iloc[0]
    queries = []
    for _, r in picks.iterrows():
        region = f"{r['chrom']}:{max(1, int(r['pos']) - 400_000)}-{int(r['pos']) + 400_000}"
        queries += [dict(region=region, limit=7), dict(region=region, limit=50, tissues=[tissue])]

    def answers():
        out = []
        for q in queries:
            pages, cursor = [], None
            while True:
                rows, total, cursor = store.pairs(cursor=cursor, **q)
                pages.append((rows.reset_index(drop=True), total))
                if cursor is None:
                    break
            out.append(pages)
        assoc = [store.variant_associations(v) for v in picks["variant_id"]]
        return out, assoc

    fast_pages, fast_assoc = answers()
    monkeypatch.setattr(Store, "_positional", lambda self: None)
    slow_pages, slow_assoc = answers()
    for fast, slow in zip(fast_pages, slow_pages, strict=True):
        assert len(fast) == len(slow)
        for (a, ta), (b, tb) in zip(fast, slow, strict=True):
            assert ta == tb
            pd.testing.assert_frame_equal(same_missing(a), same_missing(b[a.columns]), check_dtype=False)
    for a, b in zip(fast_assoc, slow_assoc, strict=True):
        assert list(a["source"]) == list(b["source"]) and len(a) > 0
        pd.testing.assert_frame_equal(same_missing(a), same_missing(b[a.columns]), check_dtype=False)


def test_variant_index_answers_every_field(store, monkeypatch):
    """The index reader answers the same variant (all fields, same_position included) as SQL on the
    variants table, for ids in any case; unknown ids are NotFound either way."""
    from qtlatlas.store.release import ReleaseStore as Store

    variants = table(store, "variants")
    assert store._variant_index() is not None
    ids = list(variants["variant_id"].sample(25, random_state=4))
    # a position shared by two variants, when the demo has one
    shared = variants[variants.duplicated(["chrom", "pos"], keep=False)]
    ids += list(shared["variant_id"][:2])
    fast = [store.variant(v.upper()) for v in ids]
    monkeypatch.setattr(Store, "_variant_index", lambda self: None)
    slow = [store.variant(v.upper()) for v in ids]
    for a, b in zip(fast, slow, strict=True):
        assert a.keys() == b.keys()
        for k in a:
            if isinstance(a[k], float):
                assert a[k] == pytest.approx(b[k])
            else:
                assert a[k] == b[k], k
    monkeypatch.undo()
    with pytest.raises(NotFound):
        store.variant("RS_NOT_THERE")


def test_gene_status_through_the_look_up_file_equals_sql(store, monkeypatch):
    genes = table(store, "gene_status")["gene_id"].drop_duplicates().sample(15, random_state=5)
    fast = [store.gene(g) for g in genes]
    assert all(len(g["status"]) > 0 for g in fast)
    original = type(store).has_table
    monkeypatch.setattr(type(store), "has_table", lambda self, name: name != "gene_status_index" and original(self, name))
    slow = [store.gene(g) for g in genes]
    assert fast == slow


def test_gene_runs_equal_the_sql_path(store, monkeypatch):
    """A gene's top / independent / significant rows read from associations_by_gene (runs found in the
    sidecar) equal the SQL answers over the three tables — rows, order, totals — with and without a limit."""
    from qtlatlas.store.release import ReleaseStore as Store

    assert store.has_table("associations_by_gene")
    sp = table(store, "signif_pairs")
    counts = sp["gene_id"].value_counts()
    genes = list(counts.index[:3]) + list(counts.index[-2:])  # most and fewest pairs
    genes += list(table(store, "genes")["gene_id"].sample(12, random_state=5))  # some without any QTL
    cases = [(g, kind, limit) for g in dict.fromkeys(genes) for kind, limit in
             (("top", None), ("independent", None), ("significant", None), ("significant", 5), ("significant", 1))]

    def answers():
        return [store.gene_rows(store.gene(g), kind, limit=limit) for g, kind, limit in cases]

    fast = answers()
    real_has_table = Store.has_table
    monkeypatch.setattr(Store, "has_table", lambda self, name: name != "associations_by_gene" and real_has_table(self, name))
    slow = answers()
    assert sum(len(rows) for rows, _ in fast) > 100  # the comparison covers real rows
    assert any(total > len(rows) for rows, total in fast)  # and limits that cut
    for (a, ta), (b, tb), case in zip(fast, slow, cases, strict=True):
        assert ta == tb, case
        assert list(a.columns) == list(b.columns), case
        pd.testing.assert_frame_equal(same_missing(a), same_missing(b), obj=str(case))


def test_gene_filtered_qtls_and_pairs_equal_the_sql_path(store, monkeypatch):
    """QTLs and significant pairs asked by gene, filtered, sorted (either way, on several columns) and paged
    from associations_by_gene (in Arrow) equal the SQL answers: rows, order, totals and cursors."""
    from qtlatlas.store.release import ReleaseStore as Store

    counts = table(store, "signif_pairs")["gene_id"].value_counts()
    genes = list(counts.index[:4])
    tissue, modality = store.tissue_ids()[0], store.modality_ids()[0]
    calls = [("qtls", dict(kind=kind, genes=genes[:k], sort=sort, descending=desc, limit=limit))
             for kind in ("top", "independent") for k in (1, 4) for sort, desc in
             (("pval_nominal", False), ("slope", True), ("tissue", False)) for limit in (3, 1000)]
    calls += [("qtls", dict(kind="top", genes=genes, tissues=[tissue], modalities=[modality], max_qval=0.01)),
              ("qtls", dict(kind="independent", genes=genes, max_pval=1e-6, sort="pos", descending=True))]
    calls += [("pairs", dict(gene=g, limit=limit)) for g in genes for limit in (7, 10_000)]
    calls += [("pairs", dict(gene=genes[0], tissues=[tissue], modalities=[modality]))]

    def answers():
        out = []
        for method, kwargs in calls:
            rows, total, cursor = getattr(store, method)(**kwargs)
            pages = [rows]
            while cursor and len(pages) < 4:  # the next pages through the cursor
                rows, _, cursor = getattr(store, method)(**kwargs, cursor=cursor)
                pages.append(rows)
            out.append((pd.concat(pages, ignore_index=True), total))
        return out

    fast = answers()
    real_has_table = Store.has_table
    monkeypatch.setattr(Store, "has_table", lambda self, name: name != "associations_by_gene" and real_has_table(self, name))
    slow = answers()
    assert sum(len(rows) for rows, _ in fast) > 200 and any(total > 3 for rows, total in fast)
    for (a, ta), (b, tb), call in zip(fast, slow, calls, strict=True):
        assert ta == tb, call
        assert list(a.columns) == list(b.columns), call
        pd.testing.assert_frame_equal(same_missing(a), same_missing(b), check_dtype=False, obj=str(call))


def test_expression_index_equals_the_expression_tables(store, monkeypatch):
    """Per-sample expression read from expression_index (one batch per tissue) equals the SQL read of each
    tissue's wide table — samples, order and values — for every tissue and for one; unknown genes have none."""
    from qtlatlas.store.release import ReleaseStore as Store

    assert store._expression_index() is not None
    genes = list(table(store, "genes")["gene_id"].sample(15, random_state=6))
    tissue = store.expression_tissues()[0]
    fast = [store.expression(g) for g in genes] + [store.expression(g, tissue) for g in genes[:5]]
    monkeypatch.setattr(Store, "_expression_index", lambda self: None)
    slow = [store.expression(g) for g in genes] + [store.expression(g, tissue) for g in genes[:5]]
    assert sum(len(f) for f in fast) > 1000 and any(f.empty for f in fast) is any(s.empty for s in slow)
    for a, b in zip(fast, slow, strict=True):
        pd.testing.assert_frame_equal(a, b, check_dtype=False)


def test_gene_model_indexes_equal_the_annotation_tables(store, monkeypatch):
    """A gene's transcripts and exons read from their look-up files equal the SQL answers (fields, order)."""
    from qtlatlas.store.release import ReleaseStore as Store

    assert store.has_table("transcripts_index") and store.has_table("exons_index")
    genes = list(table(store, "genes")["gene_id"].sample(20, random_state=7))
    fast = [store.exons(g) for g in genes]
    real_has_table = Store.has_table
    monkeypatch.setattr(Store, "has_table", lambda self, name: not name.endswith("_index") and real_has_table(self, name))
    slow = [store.exons(g) for g in genes]
    assert sum(len(f["exons"]) for f in fast) > 40
    assert fast == slow


def test_cached_values_are_left_out_of_garbage_collections(store):
    """A value cached by the store (here through memo) is moved out of the collector's generations, so that
    full collections do not traverse the release's caches on every worker."""
    gc.unfreeze()  # whatever earlier tests froze
    assert gc.get_freeze_count() == 0
    value = store.memo("test:frozen", lambda: [[i] for i in range(5000)])
    assert gc.get_freeze_count() >= 5000
    in_generations = {id(o) for generation in (0, 1, 2) for o in gc.get_objects(generation)}
    assert gc.is_tracked(value) and id(value) not in in_generations and id(value[0]) not in in_generations
    assert store.memo("test:frozen", lambda: None) is value  # computed once


def same_missing(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with every missing value as None in object columns: a text column without values is NaN from
    Arrow (pandas' str dtype) and None from DuckDB, both missing."""
    return df.astype(object).where(df.notna(), None)
