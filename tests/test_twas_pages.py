"""The TWAS hub pages without a browser (FastAPI's TestClient) on the TWAS demo site: every hub page renders,
its tables and embedded plot data agree with the release's TWAS tables (read here with pandas), links keep
the release, per-trait and per-panel downloads are the manifest's files, a release without TWAS answers a
"no TWAS" page, unknown traits, loci and genes are 404 pages with suggestions, hostile query strings are 4xx.

The hub site is the session's TWAS demo site (tests/twas_demo.py) plus an older release ``v1`` made of the same
files without the TWAS tables (a release built without TWAS)."""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import re
import shutil
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from scipy import stats
from test_pages import Page
from twas_demo import RELEASE, twas_demo

from qtlatlas.cli import main
from qtlatlas.release import twas_tables
from qtlatlas.web.pages import twas_hub as hub

NO_TWAS = "v1"


def hub_site(base: Path) -> Path:
    """The TWAS demo site with an older release ``v1`` that has no TWAS (v2's files linked, the TWAS tables
    left out), built once per session under ``base``."""
    demo = twas_demo(base)
    out = base / "twas-hub-site"
    if (out / "releases" / NO_TWAS / "release.json").is_file():
        return out
    tmp = base / "twas-hub-site.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "releases").mkdir(parents=True)
    for p in demo.site.iterdir():
        if p.name != "releases":
            (tmp / p.name).symlink_to(p)
    (tmp / "releases" / RELEASE).symlink_to(demo.release_dir)
    old = tmp / "releases" / NO_TWAS
    shutil.copytree(demo.release_dir, old, copy_function=os.symlink)
    for table in (old / "tables").glob("twas_*"):
        table.unlink()
    info = json.loads((demo.release_dir / "release.json").read_text())
    info.update(id=NO_TWAS, notes="The same data, published without TWAS.")
    (old / "release.json").unlink()
    (old / "release.json").write_text(json.dumps(info))
    tmp.rename(out)
    return out


def hub_app(site: Path):
    """The portal application (pages and API) serving ``site``."""
    from qtlatlas.web.app import create_app

    return create_app(site)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    return hub_site(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def client(site):
    return TestClient(hub_app(site), raise_server_exceptions=True)


def table(site: Path, name: str) -> pd.DataFrame:
    return pd.read_parquet(site / "releases" / RELEASE / "tables" / f"{name}.parquet")


def get_page(client, url: str, status: int = 200) -> Page:
    r = client.get(url, follow_redirects=False)
    assert r.status_code == status, (url, r.status_code, r.text[:500])
    assert r.headers["content-type"].startswith("text/html")
    return Page(r.text)


def num(values) -> list[float]:
    return [float(v) if v not in ("", None) else math.nan for v in values]


def mlog10(p: float) -> float:
    return -math.log10(p)


def busiest_gene(site) -> pd.Series:
    """The gene with the most TWAS models (several panels), with its models."""
    models = table(site, "twas_models")
    gene_id = models["gene_id"].value_counts().index[0]
    return models[models["gene_id"] == gene_id]


HUB_PAGES = ["/twas/traits", "/twas/projects", "/twas/traits/body_weight", "/twas/traits/fat_pad/loci/1",
             "/twas/genes/{gene}", "/twas/panels", "/twas/predict", "/twas/methods"]


# ------------------------------------------------------------------------------------------------------------
# Every page
# ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", HUB_PAGES)
def test_every_hub_page_renders_from_the_portal_only(client, site, path):
    gene = busiest_gene(site)["gene_name"].iloc[0]
    r = client.get(path.format(gene=gene))
    assert r.status_code == 200, r.text[:500]
    assert "default-src 'self'" in r.headers["content-security-policy"]
    page = Page(r.text)
    for src in page.scripts + page.styles:
        assert src.startswith("/") and not src.startswith("//"), src
    assert "/twas/traits" in page.links  # the site navigation links the hub
    assert re.search(r'<nav class="twas-nav" aria-label="TWAS hub">', r.text)
    assert re.search(r'<option value="v1"', r.text) and re.search(r'<option value="v2" selected', r.text)
    if "twas-data" in page.json:  # pages with plots: plotly served by the portal, one hub script
        assert any(s.startswith("/assets/plotly.min.js") for s in page.scripts)
        assert any(s.startswith("/static/portal/twas.js") for s in page.scripts)
    assert re.search(r'<a href="/twas/traits"[^>]*>TWAS</a>', r.text)


def test_hub_root_and_gene_search_redirect(client):
    r = client.get("/twas", params={"release": RELEASE}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/twas/traits?release={RELEASE}"
    r = client.get("/twas/genes", params={"q": "kcnj23"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/twas/genes/kcnj23"


# ------------------------------------------------------------------------------------------------------------
# Traits index and projects
# ------------------------------------------------------------------------------------------------------------


def test_traits_index_matches_the_traits_table_and_filters(client, site):
    traits = table(site, "twas_traits")
    page = get_page(client, "/twas/traits")
    rows = page.tables["traits-table"]
    assert [r[0]["v"] for r in rows] == list(traits["id"])
    assert [r[0]["href"] for r in rows] == [f"/twas/traits/{t}" for t in traits["id"]]
    for key in ("n", "n_tested", "n_significant", "n_loci", "n_joint_genes", "n_genes"):
        assert [int(v) for v in page.column("traits-table", key)] == list(traits[key]), key
    assert num(page.column("traits-table", "bonferroni_p")) == pytest.approx(list(traits["bonferroni_p"]))
    assert page.column("traits-table", "tags_text") == [", ".join(t) for t in traits["tags"]]
    plot = page.json["twas-data"]
    assert [t["n_genes"] for t in plot["traits"]] == list(traits["n_genes"])
    assert [t["n_joint_genes"] for t in plot["traits"]] == list(traits["n_joint_genes"])

    tag = traits["tags"].iloc[1][0]
    tagged = [i for i, tags in zip(traits["id"], traits["tags"], strict=True) if tag in list(tags)]
    assert 0 < len(tagged) < len(traits)
    filtered = get_page(client, f"/twas/traits?tag={tag.upper()}")  # tags match ignoring case
    assert [r[0]["v"] for r in filtered.tables["traits-table"]] == tagged
    assert f"{len(tagged)} of {len(traits)} traits" in filtered.plain
    project = traits["project"].iloc[0]
    assert len(get_page(client, "/twas/traits", ).tables["traits-table"]) == len(traits)
    by_project = get_page(client, f"/twas/traits?project={project}")
    assert len(by_project.tables["traits-table"]) == int((traits["project"] == project).sum())
    none = get_page(client, "/twas/traits?tag=no-such-tag")
    assert "traits-table" not in none.tables and "No trait matches these filters." in none.plain
    # every tag is offered as a filter link
    for t in {t for tags in traits["tags"] for t in tags}:
        assert f"/twas/traits?tag={t}" in page.links


def test_projects_page_counts_traits_per_project(client, site):
    traits = table(site, "twas_traits")
    page = get_page(client, "/twas/projects")
    rows = page.tables["projects-table"]
    expected = traits.groupby("project")
    assert sorted(r[0]["v"] for r in rows) == sorted(expected.groups)
    for row in rows:
        group = traits[traits["project"] == row[0]["v"]]
        headers = page.headers["projects-table"]
        assert int(row[headers.index("n_traits")]["v"]) == len(group)
        assert int(row[headers.index("n_genes")]["v"]) == group["n_genes"].sum()
        assert int(row[headers.index("n_loci")]["v"]) == group["n_loci"].sum()
        assert parse_qs(urlsplit(row[0]["href"]).query) == {"project": [row[0]["v"]]}


def test_minus_log10_p_comes_from_z_even_where_p_underflows():
    # 2·Φ(−40) ≈ 7.3e-350 is 0 in double precision; its −log10 from the asymptotic series of the normal tail
    z = 40.0
    log_tail = -z * z / 2 - math.log(z) - 0.5 * math.log(2 * math.pi) + math.log1p(-1 / z**2 + 3 / z**4)
    expected = -(log_tail + math.log(2)) / math.log(10)
    got = hub.mlog10_p([z, -1.959963985, np.nan, np.nan], [0.0, 0.05, 1e-5, np.nan])
    assert got[0] == pytest.approx(expected, rel=1e-9) and got[0] > 349
    assert got[1] == pytest.approx(-math.log10(0.05), rel=1e-6)  # two-sided, either sign
    assert got[2] == pytest.approx(5.0) and np.isnan(got[3])  # no Z: from P; neither: missing


# ------------------------------------------------------------------------------------------------------------
# A trait
# ------------------------------------------------------------------------------------------------------------


def test_trait_page_facts_loci_and_genome_wide_plot(client, site):
    traits = table(site, "twas_traits").set_index("id")
    assoc = table(site, "twas_associations")
    loci = table(site, "twas_loci")
    trait = "body_weight"
    row = traits.loc[trait]
    page = get_page(client, f"/twas/traits/{trait}")
    assert row["name"] in page.plain and row["description"][:40] in page.plain
    assert f"{row['n_tested']} of {row['n_models']}" in page.plain
    # loci: the release's loci of the trait, each linking to its page
    mine = loci[loci["trait"] == trait]
    assert [int(v) for v in page.column("loci-table", "locus")] == list(mine["locus"])
    assert page.column("loci-table", "joint_gene_names") == list(mine["joint_gene_names"])
    assert num(page.column("loci-table", "best_twas_p")) == pytest.approx(list(mine["best_twas_p"]))
    assert [r[0]["href"] for r in page.tables["loci-table"]] == [f"/twas/traits/{trait}/loci/{n}" for n in mine["locus"]]
    # genome-wide plot: every tested model, at −log10 P, with the Bonferroni line
    data = page.json["twas-data"]
    rows = assoc[(assoc["trait"] == trait) & assoc["twas_z"].notna()]
    m = data["manhattan"]
    assert len(m["x"]) == len(rows) == row["n_tested"]
    assert sum(m["sig"]) == int(rows["significant"].sum()) == row["n_significant"]
    finite = rows[rows["twas_p"] > 1e-300].sort_values("twas_p")
    expected = sorted(-np.log10(finite["twas_p"]))
    got = sorted(y for y, p in zip(m["y"], m["p"], strict=True) if p is not None and p > 1e-300)
    assert got == pytest.approx(expected, abs=2e-3)
    assert data["threshold"] == pytest.approx(mlog10(row["bonferroni_p"]))
    panels = {data["panels"][i]["id"] for i in m["panel"]}
    assert panels == set(rows["panel"])
    # x is genome-wide: chromosome 1 before chromosome 2, position order kept within a chromosome
    xs = pd.DataFrame({"x": m["x"], "gene": m["gene"]})
    chrom1 = set(rows.loc[rows["chrom"] == "chr1", "gene_name"])
    assert xs[xs["gene"].isin(chrom1)]["x"].max() < xs[~xs["gene"].isin(chrom1)]["x"].min()


def test_trait_associations_by_panel_and_significance(client, site):
    assoc = table(site, "twas_associations")
    trait = "fat_pad"
    rows = assoc[assoc["trait"] == trait]
    page = get_page(client, f"/twas/traits/{trait}")
    shown = page.tables["associations-table"]
    assert len(shown) == len(rows)
    p = num(page.column("associations-table", "twas_p"))
    tested = [x for x in p if not math.isnan(x)]
    assert tested == sorted(tested) and all(math.isnan(x) for x in p[len(tested):])  # untested last
    assert sorted(tested) == pytest.approx(sorted(rows["twas_p"].dropna()))
    assert page.column("associations-table", "significant").count("yes") == int(rows["significant"].sum())
    genes = page.column("associations-table", "gene_name")
    hrefs = [r[page.headers["associations-table"].index("gene_name")]["href"] for r in shown]
    assert all(h == f"/twas/genes/{g}" for g, h in zip(genes, hrefs, strict=True))
    locus_cells = [r[page.headers["associations-table"].index("locus")] for r in shown]
    assert all((c["href"] == f"/twas/traits/{trait}/loci/{c['v']}") if c["v"] else c["href"] is None for c in locus_cells)
    # the per-panel summary, computed here from the table
    summary = page.tables["panels-table"]
    headers = page.headers["panels-table"]
    for r in summary:
        mine = rows[rows["panel"] == r[0]["v"]]
        assert int(r[headers.index("n_tested")]["v"]) == int(mine["twas_p"].notna().sum())
        assert int(r[headers.index("n_significant")]["v"]) == int(mine["significant"].sum())
        assert int(r[headers.index("n_genes")]["v"]) == mine.loc[mine["significant"], "gene_id"].nunique()
        if mine["twas_p"].notna().any():
            assert float(r[headers.index("best_p")]["v"]) == pytest.approx(mine["twas_p"].min())
        assert r[0]["href"] == f"/twas/traits/{trait}?panel={r[0]['v']}#associations"
    # one panel, significant rows only
    panel = rows.loc[rows["significant"], "panel"].value_counts().index[0]
    one = get_page(client, f"/twas/traits/{trait}?panel={panel}&significant=1")
    expected = rows[(rows["panel"] == panel) & rows["significant"]]
    assert set(one.column("associations-table", "phenotype_id")) == set(expected["phenotype_id"])
    assert len(one.tables["associations-table"]) == len(expected)
    assert set(one.column("associations-table", "panel")) == {panel}
    # the complete TSV of the API that the table links to
    api = next(link for link in one.links if link.startswith(f"/api/v1/twas/traits/{trait}/associations"))
    tsv = pd.read_csv(io.StringIO(client.get(api).text), sep="\t")
    assert len(tsv) == len(expected) and set(tsv["panel"]) == {panel}


def test_trait_associations_are_paged_by_the_server(client, site, monkeypatch):
    monkeypatch.setattr(hub, "PER_PAGE", 10)
    rows = table(site, "twas_associations").query("trait == 'body_weight'")
    pages = math.ceil(len(rows) / 10)
    assert pages >= 3
    seen = []
    for n in range(1, pages + 1):
        page = get_page(client, f"/twas/traits/body_weight?assoc_page={n}&release={RELEASE}")
        part = page.tables["associations-table"]
        assert len(part) == min(10, len(rows) - 10 * (n - 1))
        seen += [(r[page.headers["associations-table"].index("panel")]["v"],
                  r[page.headers["associations-table"].index("phenotype_id")]["v"]) for r in part]
        assert f"Page {n} of {pages}" in page.plain
        nxt = [link for link in page.links if "assoc_page=" in link and link.endswith("#associations")]
        assert all(f"release={RELEASE}" in link for link in nxt)
    assert sorted(seen) == sorted(zip(rows["panel"], rows["phenotype_id"], strict=True))
    last = get_page(client, "/twas/traits/body_weight?assoc_page=999")  # past the end: the last page
    assert f"Page {pages} of {pages}" in last.plain


def test_cross_trait_table_is_the_documented_statistic(client, site):
    assoc = table(site, "twas_associations")
    page = get_page(client, "/twas/traits/fasting_glucose")
    traits = page.column("correlations-table", "trait")
    assert set(traits) == {"body_weight", "fat_pad"}
    a = assoc[assoc["trait"] == "fasting_glucose"].set_index(["panel", "phenotype_id"])["twas_z"]
    r_shown = num(page.column("correlations-table", "r"))
    p_shown = num(page.column("correlations-table", "pval"))
    n_shown = [int(v) for v in page.column("correlations-table", "n_models")]
    for other, r, p, n in zip(traits, r_shown, p_shown, n_shown, strict=True):
        b = assoc[assoc["trait"] == other].set_index(["panel", "phenotype_id"])["twas_z"]
        both = pd.concat([a, b], axis=1, join="inner").dropna()
        expected = stats.pearsonr(both.iloc[:, 0], both.iloc[:, 1])
        assert n == len(both)
        assert r == pytest.approx(expected.statistic, abs=1e-12)
        assert p == pytest.approx(expected.pvalue, rel=1e-6)
    assert abs(r_shown[0]) >= abs(r_shown[1])  # strongest first
    assert "Pearson correlation" in page.plain and "anti-conservative" in page.plain
    plot = page.json["twas-data"]["correlations"]
    assert plot["trait"] == traits and plot["r"] == pytest.approx(r_shown, abs=1e-4)


def test_trait_downloads_are_the_manifest_files(client, site):
    manifest = pd.read_csv(site / "releases" / RELEASE / "MANIFEST.tsv", sep="\t")
    for trait in ("body_weight", "fat_pad"):
        page = get_page(client, f"/twas/traits/{trait}")
        ours = manifest["path"].str.startswith((f"downloads/twas_assoc.{trait}.", f"downloads/coloc.{trait}."))
        expected = manifest[ours].sort_values("path")
        assert len(expected) == 2  # the TWAS associations and the colocalisation of the trait's loci
        cells = page.tables["trait-downloads"]
        assert [c[0]["v"] for c in cells] == [p.split("/")[-1] for p in expected["path"]]
        expected = expected[expected["path"].str.contains("/twas_assoc.")]
        href = next(c[0]["href"] for c in cells if c[0]["v"].startswith("twas_assoc."))
        assert href == f"/releases/{RELEASE}/{expected['path'].iloc[0]}"
        body = client.get(href).content
        assert hashlib.sha256(body).hexdigest() == expected["sha256"].iloc[0]
        dat = pd.read_csv(io.BytesIO(body), sep="\t")
        assoc = table(site, "twas_associations")
        assert len(dat) == int((assoc["trait"] == trait).sum())


# ------------------------------------------------------------------------------------------------------------
# A locus
# ------------------------------------------------------------------------------------------------------------


def test_locus_page_models_and_marginal_versus_conditional_gwas(client, site):
    assoc = table(site, "twas_associations")
    loci = table(site, "twas_loci")
    gwas = table(site, "twas_locus_gwas")
    genes = table(site, "genes").set_index("gene_id")
    for trait in ("body_weight", "fat_pad"):
        for n in loci.loc[loci["trait"] == trait, "locus"]:
            members = assoc[(assoc["trait"] == trait) & (assoc["locus"] == n)]
            page = get_page(client, f"/twas/traits/{trait}/loci/{n}")
            keys = [(r[page.headers["models-table"].index("panel")]["v"],
                     r[page.headers["models-table"].index("phenotype_id")]["v"]) for r in page.tables["models-table"]]
            assert sorted(keys) == sorted(zip(members["panel"], members["phenotype_id"], strict=True))
            joint = page.column("models-table", "joint")
            assert joint.count("yes") == int(members["joint"].sum()) >= 1 and joint[0] == "yes"
            by_key = members.set_index(["panel", "phenotype_id"])
            for key, hsq, r2, z in zip(keys, num(page.column("models-table", "hsq")),
                                       num(page.column("models-table", "model_cv_r2")),
                                       num(page.column("models-table", "twas_z")), strict=True):
                assert hsq == pytest.approx(by_key.loc[key, "hsq"]) and r2 == pytest.approx(by_key.loc[key, "model_cv_r2"])
                assert z == pytest.approx(by_key.loc[key, "twas_z"])
            assert {"coloc_pp3", "coloc_pp4", "joint_z", "cond_z"} <= set(page.headers["models-table"])
            data = page.json["twas-data"]
            snps = gwas[(gwas["trait"] == trait) & (gwas["locus"] == n)]
            assert data["gwas"]["variant"] == list(snps["variant_id"])
            ok = snps["gwas_p"].between(1e-300, 1).to_numpy()
            assert np.array(data["gwas"]["y"], dtype=float)[ok] == pytest.approx(-np.log10(snps["gwas_p"][ok]), abs=2e-3)
            ok = snps["cond_p"].between(1e-300, 1).to_numpy()
            assert np.array(data["gwas"]["cy"], dtype=float)[ok] == pytest.approx(-np.log10(snps["cond_p"][ok]), abs=2e-3)
            # gene track: the genes of the models at their coordinates, the joint ones flagged, no overlap in a row
            track = {g["id"]: g for g in data["genes"]}
            assert set(track) == set(members["gene_id"])
            assert {g for g, t in track.items() if t["joint"]} == set(members.loc[members["joint"], "gene_id"])
            for gid, g in track.items():
                assert (g["start"], g["end"]) == (genes.loc[gid, "start"], genes.loc[gid, "end"])
            for row in {g["row"] for g in track.values()}:
                spans = sorted((g["start"], g["end"]) for g in track.values() if g["row"] == row)
                assert all(a[1] < b[0] for a, b in zip(spans, spans[1:], strict=False))
    # previous / next locus
    page = get_page(client, "/twas/traits/body_weight/loci/2")
    assert "/twas/traits/body_weight/loci/1" in page.links and "/twas/traits/body_weight/loci/3" in page.links


def fact(html: str, fact_id: str) -> str:
    """The text of a locus card's value (``<dd id=...>``) before any SNP name."""
    m = re.search(rf'<dd id="{fact_id}"[^>]*>([^<]*)', html)
    assert m, fact_id
    return m.group(1).strip()


def test_locus_card_agrees_with_its_plot_the_api_and_the_trait_page(client, site):
    """The card's GWAS values come from the rows the plot draws: its conditional GWAS P is the top of the
    plot's conditional points (and the API's smallest conditional p, and the trait page's loci table), its best
    GWAS P the top of the marginal ones; SNPs without a conditional statistic have no conditional point, and
    no SNP of marginal p > 0.05 shows a conditional p < 1e-3."""
    loci = table(site, "twas_loci")
    shown_untested = 0
    for trait, n in loci[["trait", "locus"]].itertuples(index=False):
        html = client.get(f"/twas/traits/{trait}/loci/{n}").text
        data = Page(html).json["twas-data"]["gwas"]
        y = np.array([np.nan if v is None else v for v in data["y"]], dtype=float)
        cy = np.array([np.nan if v is None else v for v in data["cy"]], dtype=float)
        api = client.get(f"/api/v1/twas/traits/{trait}/loci/{n}").json()["data"]["gwas"]
        cond_p = [s["cond_p"] for s in api if s["cond_p"] is not None]
        card = fact(html, "fact-cond-p")
        assert mlog10(float(card)) == pytest.approx(np.nanmax(cy), abs=3e-3), (trait, n)
        assert float(card) == pytest.approx(min(cond_p), rel=6e-3)
        best = loci[(loci["trait"] == trait) & (loci["locus"] == n)]["best_cond_p"].iloc[0]
        assert best == pytest.approx(min(cond_p), rel=1e-9)
        trait_page = get_page(client, f"/twas/traits/{trait}")
        row = page_row(trait_page, "loci-table", "locus", str(n))
        assert float(row["best_cond_p"]) == pytest.approx(best, rel=1e-12)
        assert mlog10(float(fact(html, "fact-gwas-p"))) == pytest.approx(np.nanmax(y), abs=3e-3)
        lead = int(np.nanargmax(y))
        lead_text = fact(html, "fact-lead-cond")
        if data["status"][lead] in ("explained", "unstable"):
            assert lead_text == data["status"][lead]
        else:
            assert mlog10(float(lead_text)) == pytest.approx(cy[lead], abs=3e-3)
        for status, c in zip(data["status"], data["cy"], strict=True):
            assert (c is None) or status == "tested"
            shown_untested += status in ("explained", "unstable")
        assert not np.any((y < -math.log10(0.05)) & (cy > 3))
    assert shown_untested > 0  # the demo has SNPs the joint models explain


def page_row(page: Page, table_id: str, key: str, value: str) -> dict:
    head = page.headers[table_id]
    for r in page.tables[table_id]:
        if r[head.index(key)]["v"] == value:
            return {h: c["v"] for h, c in zip(head, r, strict=True)}
    raise AssertionError((table_id, key, value))


def test_locus_tables_show_explained_and_weak_models_not_p_values(client, site):
    gwas = table(site, "twas_locus_gwas")
    hit = gwas[gwas["cond_status"] == "explained"].sort_values("gwas_p").iloc[0]
    page = get_page(client, f"/twas/traits/{hit['trait']}/loci/{hit['locus']}")
    row = page_row(page, "gwas-table", "variant_id", hit["variant_id"])
    assert row["cond_p"] == "explained" and row["cond_z"] == "explained"  # the TSV reads data-v: the same word
    assert float(row["cond_r2"]) > 0.8
    assoc = table(site, "twas_associations")
    floor = twas_tables.WEAK_CV_R2
    assert (assoc["weak_model"] == (assoc["model_cv_r2"] < floor)).all()


def test_weak_models_are_flagged_beside_their_twas_p(tmp_path_factory, monkeypatch):
    """A model of CV R² under the floor is flagged weak in the tables and on the gene page. The demo's models are
    all predicted well enough (CV R² ≥ 0.01): the release is built again with the floor raised above the
    weakest model of each trait."""
    demo = twas_demo(tmp_path_factory.getbasetemp())
    r2 = pd.read_parquet(demo.release_dir / "tables" / "twas_associations.parquet")["model_cv_r2"]
    floor = float(np.quantile(r2.dropna(), 0.1))
    monkeypatch.setattr(twas_tables, "WEAK_CV_R2", floor)
    site = tmp_path_factory.mktemp("weak") / "site"
    assert main(["build", str(demo.atlas_yaml), "--release", RELEASE, "--site", str(site)]) == 0
    client = TestClient(hub_app(site), raise_server_exceptions=True)
    assoc = table(site, "twas_associations")
    weak = assoc[assoc["weak_model"]]
    assert len(weak) and (weak["model_cv_r2"] < floor).all() and not assoc.loc[~assoc["weak_model"], "model_cv_r2"].lt(floor).any()
    assert json.loads((site / "releases" / RELEASE / "twas.json").read_text())["weak_cv_r2"] == floor
    w = weak.iloc[0]
    page = get_page(client, f"/twas/genes/{w['gene_id']}")
    head = page.headers["gene-assoc-table"]
    for r in page.tables["gene-assoc-table"]:
        cells = {h: c for h, c in zip(head, r, strict=True)}
        if (cells["trait"]["v"], cells["panel"]["v"], cells["phenotype_id"]["v"]) == (w["trait"], w["panel"],
                                                                                      w["phenotype_id"]):
            assert cells["weak_model"]["v"] == "yes" and cells["twas_p"]["text"].endswith("(weak model)")
            assert float(cells["twas_p"]["v"]) == pytest.approx(w["twas_p"])  # sorting and TSV keep the number
            break
    else:
        raise AssertionError("weak model not in the gene's associations")


def test_methods_page_is_generated_from_the_release_metadata(client, site):
    methods = json.loads((site / "releases" / RELEASE / "twas.json").read_text())
    assert methods["weights"]["models"] and methods["ld_reference"]["n"] > 0
    assert methods["loci"]["significant_only"] and methods["loci"]["guard"] and methods["weak_cv_r2"] == 0.01
    html = client.get("/twas/methods").text
    page = Page(html)
    text = page.plain
    w = methods["weights"]
    assert f"± {w['window']:,} bp" in text and f"≤ {w['hsq_p']}" in text and f"{w['crossval']}-fold" in text
    assert f"{methods['ld_reference']['n']:,} individuals" in text
    assert f"p1 = {methods['coloc']['p1']}" in text and f"padded by {methods['loci']['locus_window']:,} bp" in text
    traits = table(site, "twas_traits").set_index("id")
    head = page.headers["methods-thresholds-table"]
    for row in page.tables["methods-thresholds-table"]:
        cells = {h: c["v"] for h, c in zip(head, row, strict=True)}
        assert int(cells["n_tested"]) == traits.loc[cells["id"], "n_tested"]
        assert float(cells["bonferroni_p"]) == pytest.approx(0.05 / traits.loc[cells["id"], "n_tested"])
    assert len(page.tables["methods-panels-table"]) == len(table(site, "twas_panels"))
    for anchor in ("weights", "ld", "association", "coloc", "significance", "loci", "conditional", "cross-trait"):
        assert f'id="{anchor}"' in html
    # linked from every hub page
    for path in HUB_PAGES:
        assert "/twas/methods" in get_page(client, path.format(gene=busiest_gene(site)["gene_name"].iloc[0])).links


def test_unknown_locus_lists_the_loci_of_the_trait(client, site):
    loci = table(site, "twas_loci").query("trait == 'body_weight'")
    page = get_page(client, "/twas/traits/body_weight/loci/99", status=404)
    assert [a for a in page.links if "/loci/" in a] == [f"/twas/traits/body_weight/loci/{n}" for n in loci["locus"]]
    get_page(client, "/twas/traits/body_weight/loci/0", status=404)
    for bad in ("%C2%B2", "1.5", "-1", "1" * 12):  # not a locus number: a 400 page, never a server error
        get_page(client, f"/twas/traits/body_weight/loci/{bad}", status=400)


# ------------------------------------------------------------------------------------------------------------
# A gene
# ------------------------------------------------------------------------------------------------------------


def test_gene_page_models_heatmap_and_associations(client, site):
    mine = busiest_gene(site).sort_values(["panel", "phenotype_id"])
    gene_id, name = mine["gene_id"].iloc[0], mine["gene_name"].iloc[0]
    assoc = table(site, "twas_associations")
    page = get_page(client, f"/twas/genes/{name.lower()}")  # any case
    assert name in page.plain and gene_id in page.plain
    assert f"/gene/{name}" in page.links
    # models per tissue × modality, h² and CV per method (methods never fitted are left out)
    keys = list(zip(page.column("gene-models-table", "panel"), page.column("gene-models-table", "phenotype_id"),
                    strict=True))
    assert keys == list(zip(mine["panel"], mine["phenotype_id"], strict=True))
    assert num(page.column("gene-models-table", "hsq")) == pytest.approx(list(mine["hsq"]))
    for method in ("top1", "lasso", "enet", "blup"):
        fitted = mine[f"{method}_r2"].notna().any()
        assert (f"{method}_r2" in page.headers["gene-models-table"]) == fitted
        if fitted:
            assert num(page.column("gene-models-table", f"{method}_r2")) == pytest.approx(
                list(mine[f"{method}_r2"]), nan_ok=True)
    grid = page.tables["grid-table"]
    cells = [c["v"] for r in grid for c in r[1:]]
    assert sum(1 for c in cells if "model(s)" in c) == len(set(zip(mine["tissue"], mine["modality"], strict=True)))
    # trait × model Z, and which cells are significant
    data = page.json["twas-data"]
    zmap = data["zmap"]
    rows = assoc[assoc["gene_id"] == gene_id]
    assert zmap["traits"] == sorted(set(rows["trait"]))
    assert len(zmap["models"]) == len(mine)
    for i, trait in enumerate(zmap["traits"]):
        for j, (panel, pheno) in enumerate(zip(mine["panel"], mine["phenotype_id"], strict=True)):
            row = rows[(rows["trait"] == trait) & (rows["panel"] == panel) & (rows["phenotype_id"] == pheno)]
            z = row["twas_z"].iloc[0] if len(row) else np.nan
            if np.isnan(z):
                assert zmap["z"][i][j] is None
            else:
                assert zmap["z"][i][j] == pytest.approx(z, abs=1e-4)
            assert zmap["sig"][i][j] == int(len(row) > 0 and bool(row["significant"].iloc[0]))
    assert data["cv"]["hsq"] == pytest.approx(list(mine["hsq"]), abs=1e-4)
    # every association row, trait links to the trait page
    shown = page.tables["gene-assoc-table"]
    assert len(shown) == len(rows)
    assert page.column("gene-assoc-table", "significant").count("yes") == int(rows["significant"].sum())
    trait_cells = [r[0] for r in shown]
    assert all(c["href"] == f"/twas/traits/{c['v']}" for c in trait_cells)
    significant = sorted(set(table(site, "twas_traits").set_index("id").loc[
        sorted(set(rows.loc[rows["significant"], "trait"])), "name"]))
    assert page.plain.count(", ".join(significant) or "no trait") >= 1


def test_gene_page_is_linked_from_the_gene_page_and_genes_without_models(client, site):
    mine = busiest_gene(site)
    name = mine["gene_name"].iloc[0]
    gene = get_page(client, f"/gene/{name}")
    assert f"/twas/genes/{name}" in gene.links
    get_page(client, f"/twas/genes/{name}")
    genes = table(site, "genes")
    without = genes[~genes["gene_id"].isin(table(site, "twas_models")["gene_id"])].iloc[0]
    page = get_page(client, f"/twas/genes/{without['gene_id']}")
    assert f"{without['gene_name']} has no TWAS model in this release" in page.plain
    assert page.json["twas-data"]["zmap"]["models"] == []


def test_unknown_gene_and_trait_are_404_pages_with_hub_suggestions(client, site):
    name = busiest_gene(site)["gene_name"].iloc[0]
    page = get_page(client, f"/twas/genes/{name[:-1]}", status=404)
    assert f"/twas/genes/{name}" in page.links
    assert "Gene not found" in page.plain
    page = get_page(client, "/twas/traits/body_weigt", status=404)
    assert "/twas/traits/body_weight" in page.links and "Trait not found" in page.plain
    traits = table(site, "twas_traits")
    trait_list = [a for a in page.links if a.startswith("/twas/traits/")]
    assert set(trait_list) >= {f"/twas/traits/{t}" for t in traits["id"]}
    # a trait's name (any case) is the trait
    by_name = get_page(client, "/twas/traits/FASTING%20GLUCOSE")
    assert "Fasting glucose" in by_name.plain


# ------------------------------------------------------------------------------------------------------------
# Panels and models
# ------------------------------------------------------------------------------------------------------------


def test_panels_page_tables_filters_and_downloads(client, site):
    panels = table(site, "twas_panels")
    models = table(site, "twas_models")
    page = get_page(client, "/twas/panels")
    assert page.column("panels-table", "panel") == list(panels["panel"])
    assert [int(v) for v in page.column("panels-table", "n_models")] == list(panels["n_models"])
    assert [int(v) for v in page.column("panels-table", "n_weights")] == list(panels["n_weights"])
    assert num(page.column("panels-table", "mean_hsq")) == pytest.approx(list(panels["mean_hsq"]))
    assert len(page.tables["models-table"]) == len(models)
    pv = num(page.column("models-table", "hsq_pval"))
    assert pv == sorted(pv) and pv == pytest.approx(sorted(models["hsq_pval"]))
    # best method per panel (the stacked bars)
    best = page.json["twas-data"]["best"]
    for k, method in enumerate(m["id"] for m in best["methods"]):
        assert best["counts"][k] == [int(((models["panel"] == p) & (models["best_model"] == method)).sum())
                                     for p in panels["panel"]]
    assert {m["id"] for m in best["methods"]} == set(models["best_model"])
    # filters, sort
    one = get_page(client, "/twas/panels?panel=Brain.splicing")
    assert set(one.column("models-table", "panel")) == {"Brain.splicing"}
    assert len(one.tables["models-table"]) == int((models["panel"] == "Brain.splicing").sum())
    blup = get_page(client, "/twas/panels?best_model=blup&max_hsq_pval=0.001")
    expected = models[(models["best_model"] == "blup") & (models["hsq_pval"] <= 0.001)]
    assert sorted(blup.column("models-table", "phenotype_id")) == sorted(expected["phenotype_id"])
    desc = get_page(client, "/twas/panels?sort=hsq&order=desc")
    assert num(desc.column("models-table", "hsq")) == pytest.approx(sorted(models["hsq"], reverse=True))
    gene = busiest_gene(site)
    by_gene = get_page(client, f"/twas/panels?gene={gene['gene_name'].iloc[0]}")
    assert len(by_gene.tables["models-table"]) == len(gene)
    get_page(client, "/twas/panels?gene=NoSuchGene1", status=404)
    # weights downloads: the manifest's .pos and .tar.gz of every panel
    manifest = pd.read_csv(site / "releases" / RELEASE / "MANIFEST.tsv", sep="\t")
    files = manifest[manifest["path"].str.match(r"downloads/twas_(pos|weights)\.")]
    assert sorted(page.column("panel-downloads", "name")) == sorted(p.split("/")[-1] for p in files["path"])
    assert len(files) == 2 * len(panels)
    href = page.tables["panel-downloads"][0][0]["href"]
    row = files[files["path"] == unquote(href.split(f"/releases/{RELEASE}/", 1)[1])].iloc[0]
    assert hashlib.sha256(client.get(href).content).hexdigest() == row["sha256"]


def test_models_are_paged_by_the_server(client, site, monkeypatch):
    monkeypatch.setattr(hub, "PER_PAGE", 15)
    models = table(site, "twas_models")
    pages = math.ceil(len(models) / 15)
    assert pages >= 3
    ids = []
    for n in range(1, pages + 1):
        page = get_page(client, f"/twas/panels?models_page={n}")
        ids += list(zip(page.column("models-table", "panel"), page.column("models-table", "phenotype_id"), strict=True))
    assert sorted(ids) == sorted(zip(models["panel"], models["phenotype_id"], strict=True))


# ------------------------------------------------------------------------------------------------------------
# Releases
# ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/twas/traits", "/twas/projects", "/twas/traits/body_weight",
                                  "/twas/traits/body_weight/loci/1", "/twas/genes/Kcnj23", "/twas/panels",
                                  "/twas/methods"])
def test_a_release_without_twas_says_so(client, path):
    page = get_page(client, f"{path}?release={NO_TWAS}")  # not an error
    assert "No TWAS in this release" in page.plain
    assert f"Release {NO_TWAS}" in page.plain or f"release {NO_TWAS}" in page.plain
    assert f"{path}?release={RELEASE}" in page.links  # the same page in the release that has TWAS
    assert "You are browsing release v1" in page.plain


def test_hub_links_keep_the_chosen_release(client, site):
    for path in ("/twas/traits", "/twas/traits/body_weight", "/twas/traits/body_weight/loci/1", "/twas/panels",
                 f"/twas/genes/{busiest_gene(site)['gene_name'].iloc[0]}"):
        page = get_page(client, f"{path}?release={RELEASE}")
        hub_links = [a for a in page.links if a.startswith(("/twas/", "/gene/", "/tissue/"))]
        assert hub_links and all(f"release={RELEASE}" in a for a in hub_links), path


# ------------------------------------------------------------------------------------------------------------
# Hostile and malformed requests
# ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("url, status", [
    ("/twas/traits?tag=" + "x" * 300, 400),
    ("/twas/traits?project=%00", 400),
    ("/twas/traits/body_weight?panel=Kidney.expression", 400),
    ("/twas/traits/body_weight?assoc_page=-1", 400),
    ("/twas/traits/body_weight?assoc_page=1e3", 400),
    ("/twas/traits/body_weight?significant=maybe", 400),
    ("/twas/traits/%27%3B%20DROP%20TABLE%20twas_traits%3B%20--", 404),
    ("/twas/traits/%3Cscript%3Ealert(1)%3C%2Fscript%3E", 404),
    ("/twas/traits/body_weight/loci/1e9", 400),
    ("/twas/traits/body_weight/loci/99999999999999999999", 400),
    ("/twas/traits/body_weight/loci/%2D1", 400),
    ("/twas/genes/%27%3B%20DROP%20TABLE%20genes%3B%20--", 404),
    ("/twas/genes/%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E", 404),
    ("/twas/genes?q=", 400),
    ("/twas/panels?max_hsq_pval=2", 400),
    ("/twas/panels?max_hsq_pval=nan", 400),
    ("/twas/panels?sort=hsq%3BDROP", 400),
    ("/twas/panels?models_page=0", 400),
    ("/twas/panels?best_model=bslmm", 400),
    ("/twas/panels?panel=%3Cscript%3E", 400),
    ("/twas/traits?release=v9", 404),
    ("/twas/traits/body_weight?release=%00", 404),
])
def test_hostile_query_strings_are_4xx_pages(client, url, status):
    r = client.get(url)
    assert r.status_code == status, (url, r.status_code, r.text[:300])
    assert r.headers["content-type"].startswith("text/html")
    assert "<script>alert" not in r.text and "<img src=x" not in r.text
