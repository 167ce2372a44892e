"""The portal pages without a browser (FastAPI's TestClient) on the small demo site: every page renders with
its content in the HTML (no JavaScript needed), tables and counts agree with the release tables, links keep
the chosen release, unknown items are helpful 404 pages, hostile query strings are 4xx pages (never a 500),
downloads are the manifest's files, and the API keeps its JSON errors."""

from __future__ import annotations

import hashlib
import io
import json
import math
import re
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from qtlatlas.web.pages.formatting import pvalue
from qtlatlas.web.pages.gene import PAIRS_PER_PAGE
from qtlatlas.web.pages.variant import STATISTICS_SOURCES


def table(site, release, name) -> pd.DataFrame:
    return pd.read_parquet(site / "releases" / release / "tables" / f"{name}.parquet")


class Page(HTMLParser):
    """The parts of a page the tests look at: tables (cells with their data-v, text and link), links,
    scripts, stylesheets, the embedded JSON and the text."""

    def __init__(self, html: str):
        super().__init__()
        self.tables: dict[str, list[list[dict]]] = {}
        self.headers: dict[str, list[str]] = {}
        self.links: list[str] = []
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self.json: dict[str, object] = {}
        self.text: list[str] = []
        self._table: str | None = None
        self._cell: dict | None = None
        self._in_head = False
        self._json_id: str | None = None
        self._json_parts: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self._table = a.get("id") or f"table{len(self.tables)}"
            self.tables[self._table] = []
            self.headers[self._table] = []
        elif tag == "thead":
            self._in_head = True
        elif tag == "tbody":
            self._in_head = False
        elif tag == "tr" and self._table and not self._in_head:
            self.tables[self._table].append([])
        elif tag == "th" and self._table and self._in_head:
            self.headers[self._table].append(a.get("data-key") or "")
        elif tag == "td" and self._table and self.tables[self._table]:
            self._cell = {"v": a.get("data-v"), "text": "", "href": None}
            self.tables[self._table][-1].append(self._cell)
        elif tag == "a" and a.get("href"):
            self.links.append(a["href"])
            if self._cell is not None:
                self._cell["href"] = a["href"]
        elif tag == "script":
            if a.get("src"):
                self.scripts.append(a["src"])
            if a.get("type") == "application/json":
                self._json_id, self._json_parts = a.get("id"), []
        elif tag == "link" and a.get("href"):
            self.styles.append(a["href"])

    def handle_endtag(self, tag):
        if tag == "table":
            self._table = None
        elif tag == "td":
            if self._cell is not None and self._cell["v"] is None:
                self._cell["v"] = self._cell["text"]  # no data-v: the value is the text shown
            self._cell = None
        elif tag == "script" and self._json_id:
            self.json[self._json_id] = json.loads("".join(self._json_parts))
            self._json_id = None

    def handle_data(self, data):
        if self._json_id:
            self._json_parts.append(data)
            return
        self.text.append(data)
        if self._cell is not None:
            self._cell["text"] += data.strip()

    def column(self, table_id: str, key: str) -> list[str | None]:
        i = self.headers[table_id].index(key)
        return [row[i]["v"] for row in self.tables[table_id]]

    @property
    def plain(self) -> str:
        return " ".join(" ".join(self.text).split())


def get_page(client, url: str, status: int = 200) -> Page:
    r = client.get(url, follow_redirects=False)
    assert r.status_code == status, (url, r.status_code, r.text[:500])
    assert r.headers["content-type"].startswith("text/html")
    return Page(r.text)


def top_gene(site, release="v2") -> pd.Series:
    """The gene with the most tissue × modality QTLs (ties: smallest p)."""
    status = table(site, release, "gene_status")
    n = status[status["has_qtl"]].groupby("gene_id").size().sort_values(ascending=False)
    genes = table(site, release, "genes").set_index("gene_id")
    return genes.loc[n.index[0]].rename(n.index[0])


# -- every page ------------------------------------------------------------------------------------


PAGES = ["/", "/qtls", "/expression", "/dashboard", "/downloads", "/about", "/data-access", "/studies",
         "/studies/demo2024", "/tissue/Brain", "/gene/{gene}", "/variant/{variant}", "/region",
         "/region?region=chr1:1-1000000&tissue=Liver&modality=splicing"]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_renders_locally(client, site, path):
    gene = top_gene(site)
    variant = table(site, "v2", "top_qtls").sort_values("pval_nominal")["variant_id"].iloc[0]
    r = client.get(path.format(gene=gene["gene_name"], variant=variant))
    assert r.status_code == 200, r.text[:500]
    assert "default-src 'self'" in r.headers["content-security-policy"]
    page = Page(r.text)
    atlas = json.loads((site / "atlas.json").read_text())["atlas"]["name"]
    assert atlas in page.plain
    # every script and stylesheet is served by the portal itself
    for src in page.scripts + page.styles:
        assert src.startswith("/") and not src.startswith("//"), src
    # the release switcher lists every release
    assert re.search(r'<option value="v1"', r.text) and re.search(r'<option value="v2" selected', r.text)


def test_plotly_is_served_from_the_python_package(client):
    import plotly

    r = client.get("/assets/plotly.min.js", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200 and "immutable" in r.headers["cache-control"]
    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    assert r.content == path.read_bytes()  # httpx decodes the gzip encoding
    raw = client.get("/assets/plotly.min.js", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in raw.headers and raw.content == path.read_bytes()
    gene_page = client.get("/gene/" + "x").text  # even the 404 page of a plot page is local-only
    assert "cdn" not in gene_page.lower()


# -- home --------------------------------------------------------------------------------------------


def test_home_tissue_table_is_generated_from_the_release(client, site):
    page = get_page(client, "/")
    tissues = table(site, "v2", "tissues").set_index("tissue_id")
    counts = table(site, "v2", "tissue_modality")
    rows = page.tables["tissue-table"]
    assert [r[0]["v"] for r in rows] == list(tissues.index)
    headers = page.headers["tissue-table"]
    for row in rows:
        t = row[0]["v"]
        assert row[0]["href"] == f"/tissue/{t}"
        assert int(row[headers.index("n_samples")]["v"]) == tissues.loc[t, "n_samples"]
        assert int(row[headers.index("n_expressed_genes")]["v"]) == tissues.loc[t, "n_expressed_genes"]
        for _, c in counts[counts["tissue"] == t].iterrows():
            assert int(row[headers.index(f"egenes:{c['modality']}")]["v"]) == c["n_egenes"]
    info = json.loads((site / "releases" / "v2" / "release.json").read_text())
    text = page.plain
    assert info["notes"][:60] in text  # release banner and changelog
    v1 = json.loads((site / "releases" / "v1" / "release.json").read_text())
    assert v1["notes"][:60] in text
    assert "A fictional multi-tissue xQTL study (demo)" in text and "/studies/demo2024" in page.links
    assert "/data-access" in page.links and "/downloads" in page.links


def test_search_goes_to_the_page_it_names(client, site):
    gene = top_gene(site)
    r = client.get("/search", params={"q": gene["gene_name"].upper()}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/gene/{gene['gene_name']}"
    variant = table(site, "v2", "variants").iloc[3]
    r = client.get("/search", params={"q": variant["variant_id"]}, follow_redirects=False)
    assert r.headers["location"] == f"/variant/{variant['variant_id']}"
    r = client.get("/search", params={"q": f"{variant['chrom']}:{variant['pos']}"}, follow_redirects=False)
    assert r.headers["location"].startswith("/variant/")
    r = client.get("/search", params={"q": "chr1:1,000,000-1,500,000", "release": "v1"}, follow_redirects=False)
    assert r.status_code == 303
    target = urlsplit(r.headers["location"])
    assert target.path == "/qtls" and parse_qs(target.query) == {"region": ["chr1:1000000-1500000"], "release": ["v1"]}
    prefix = gene["gene_name"][:2]
    names = table(site, "v2", "genes")["gene_name"]
    expected = {n for n in names if n.lower().startswith(prefix.lower())}
    if len(expected) > 1:
        page = get_page(client, f"/search?q={prefix}")
        assert {c[0]["text"] for c in page.tables["search-results"]} == expected
    get_page(client, "/search?q=zzzzzz-no-such-thing", status=404)


# -- gene ----------------------------------------------------------------------------------------------


def test_gene_page_tables_and_plot_data_match_the_release(client, site):
    gene = top_gene(site)
    gid = gene.name
    page = get_page(client, f"/gene/{gene['gene_name'].lower()}")  # case-insensitive
    assert gene["gene_name"] in page.plain and gid in page.plain
    assert f"{gene['chrom']}:{gene['start']:,}" in page.plain
    top = table(site, "v2", "top_qtls").query("gene_id == @gid")
    indep = table(site, "v2", "independent_qtls").query("gene_id == @gid")
    pairs = table(site, "v2", "signif_pairs").query("gene_id == @gid")
    assert len(page.tables["top-table"]) == len(top)
    assert len(page.tables["independent-table"]) == len(indep)
    assert len(page.tables["pairs-table"]) == min(len(pairs), PAIRS_PER_PAGE)
    p_values = [float(v) for v in page.column("top-table", "pval_nominal")]
    assert p_values == sorted(p_values)
    assert sorted(p_values) == pytest.approx(sorted(top["pval_nominal"]))
    # variant links and the TWAS hub
    assert all(c["href"] == f"/variant/{c['v']}" for c in (r[page.headers["top-table"].index("variant_id")]
                                                           for r in page.tables["top-table"]))
    assert f"/twas/genes/{gene['gene_name']}" in page.links
    # status grid: one QTL badge per tissue × modality with a QTL
    status = table(site, "v2", "gene_status").query("gene_id == @gid")
    html = client.get(f"/gene/{gid}").text
    grid = html.split('id="status-table"')[1].split("</table>")[0]
    assert grid.count('class="badge badge-qtl"') == int(status["has_qtl"].sum())
    # the plots' data are embedded: every significant pair; the regional plot of the phenotype of the most
    # significant top QTL (a modality with a nominal pass), whose gene track holds the gene and its exons
    data = page.json["gene-data"]
    assert len(data["pairs"]["variant"]) == len(pairs) == data["n_pairs_total"]
    assert sorted(data["pairs"]["p"]) == pytest.approx(sorted(pairs["pval_nominal"]))
    best = top[top["modality"] != "cross_modality"].sort_values("pval_nominal").iloc[0]
    regional = data["regional"]
    assert (regional["tissue"], regional["modality"], regional["phenotype_id"]) == (
        best["tissue"], best["modality"], best["phenotype_id"])
    assert regional["reference"] == best["variant_id"]
    track = {g["gene_id"]: g for g in regional["genes"]}
    exons = table(site, "v2", "exons").query("gene_id == @gid")
    assert all(any(a <= s and e <= b for a, b in track[gid]["exons"])
               for s, e in zip(exons["start"], exons["end"], strict=True))
    assert data["expression_url"].startswith(f"/api/v1/expression/{gid}?")


def test_gene_page_embeds_its_expression_and_draws_it_as_svg(client, site):
    """The expression violins' values are in the page (each tissue's expression table, to 6 significant
    digits) and drawn on the server: one violin, box and median per tissue, before any JavaScript runs."""
    gene = top_gene(site)
    gid = gene.name
    page = get_page(client, f"/gene/{gid}")
    data = page.json["gene-data"]
    tissues = [t["id"] for t in data["tissues"]]
    expected = {}
    for path in sorted((site / "releases" / "v2" / "tables" / "expression").glob("*.parquet")):
        wide = pd.read_parquet(path)
        row = wide[wide["phenotype_id"] == gid]
        if len(row):
            expected[path.stem] = row.drop(columns=["phenotype_id"]).iloc[0].to_numpy(dtype=np.float64)
    assert len(expected) >= 2
    got = {tissues[g["t"]]: np.array([np.nan if v is None else v for v in g["tpm"]]) for g in data["expression"]}
    assert set(got) == set(expected)
    for tissue, values in expected.items():
        np.testing.assert_allclose(got[tissue], values, rtol=5e-6, equal_nan=True)
    html = client.get(f"/gene/{gid}").text
    figure = html.split('id="expression-plot"')[1].split("</figure>")[0]
    svg = figure.split("<svg", 1)[1].split("</svg>")[0]
    assert 'class="static-plot"' in svg and "log10(TPM + 1)" in svg
    assert svg.count("<polygon") == len(expected)  # one violin per tissue with a spread of values
    assert svg.count("<rect") == 2 * len(expected)  # the quartile box (outline and fill)
    names = {t["id"]: t["name"] for t in data["tissues"]}
    assert all(f">{names[t]}</text>" in svg for t in expected)
    assert "<script" not in svg and "style=" not in svg  # nothing the Content-Security-Policy must allow


def test_gene_page_pairs_are_paginated(client, site):
    pairs = table(site, "v2", "signif_pairs")
    busiest = pairs["gene_id"].value_counts().index[0]
    page = get_page(client, f"/gene/{busiest}?pairs_page=1")
    assert len(page.tables["pairs-table"]) == min(PAIRS_PER_PAGE, (pairs["gene_id"] == busiest).sum())
    get_page(client, f"/gene/{busiest}?pairs_page=0", status=400)


def test_unknown_gene_is_a_404_page_with_suggestions(client, site):
    gene = top_gene(site)["gene_name"]
    misspelt = gene[:-1] + ("x" if gene[-1] != "x" else "y")
    r = client.get(f"/gene/{misspelt}")
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    page = Page(r.text)
    assert "Gene not found" in page.plain
    assert f"/gene/{gene}" in page.links  # the gene meant is suggested
    # a search box to try again, holding what was asked
    assert re.search(rf'id="error-search-input"[^>]*value="{re.escape(misspelt)}"', r.text)


# -- variant -------------------------------------------------------------------------------------------


def test_variant_page_lists_every_association(client, site):
    top = table(site, "v2", "top_qtls").sort_values("pval_nominal").iloc[0]
    vid = top["variant_id"]
    page = get_page(client, f"/variant/{vid}")
    variants = table(site, "v2", "variants").set_index("variant_id")
    v = variants.loc[vid]
    assert f"{v['chrom']}:{v['pos']:,}" in page.plain and f"{v['ref']} > {v['alt']}" in page.plain
    assert f"{v['af']:.3f}" in page.plain
    expected = sum(int((table(site, "v2", t)["variant_id"] == vid).sum())
                   for t in ("top_qtls", "independent_qtls", "signif_pairs"))
    sources = page.column("associations-table", "source")
    assert len(sources) - sources.count("nominal") == expected
    assert set(sources) <= {"top", "independent", "significant", "nominal"}
    assert "nominal" not in sources[:expected]  # the tables' rows first, then the other tested pairs
    data = page.json["variant-data"]
    assert data["forest"] and all(r["se"] > 0 for r in data["forest"])
    pbg = data["pbg"]
    assert pbg is not None and pbg["variant_id"] == vid
    assert sum(len(g) for g in pbg["groups"]) == pbg["n"]
    assert pbg["counts"]["hom_ref"] + pbg["counts"]["het"] + pbg["counts"]["hom_alt"] >= pbg["n"]
    # the p-value shown is the mapped one, labelled so; the regression without covariates only as secondary text
    assert pbg["statistics_source"] in {"nominal", "significant_pairs", "top", "independent"}
    assert f"Nominal p (mapping model) = {pvalue(pbg['pval_nominal'])}" in page.plain
    assert (f"slope {pbg['slope']:.3f} ± {pbg['slope_se']:.3f}: with the mapping's covariates, "
            f"from {STATISTICS_SOURCES[pbg['statistics_source']]}.") in page.plain
    assert "Unadjusted, without covariates" in page.plain
    assert page.plain.index("Nominal p (mapping model)") < page.plain.index("Unadjusted, without covariates")
    assert f"p = {pvalue(pbg['pval_unadjusted'])} (n = {pbg['n']})" in page.plain
    # ?pbg= chooses another phenotype × tissue without JavaScript
    if len(data["choices"]) > 1:
        second = get_page(client, f"/variant/{vid}?pbg=2").json["variant-data"]["pbg"]
        choice = data["choices"][1]
        assert (second["tissue"], second["phenotype_id"]) == (choice["tissue"], choice["phenotype_id"])
    get_page(client, f"/variant/{vid}?pbg=999", status=400)


def test_variant_associations_with_every_tested_pair(client, site):
    """include_nominal adds the variant's tested pairs that no QTL table lists, as source "nominal"; the page's
    table shows the most significant of them after the tables' rows, and its PheWAS every tested pair."""
    top = table(site, "v2", "top_qtls").sort_values("pval_nominal").iloc[0]
    vid = top["variant_id"]
    listed = client.get(f"/api/v1/variants/{vid}/associations").json()["data"]
    every = client.get(f"/api/v1/variants/{vid}/associations?include_nominal=true").json()["data"]
    assert every[:len(listed)] == [{**r, **{k: None for k in every[0] if k not in r}} for r in listed]
    nominal = every[len(listed):]
    assert nominal and {r["source"] for r in nominal} == {"nominal"}
    keys = lambda rows: {(r["tissue"], r["modality"], r["phenotype_id"]) for r in rows}  # noqa: E731
    assert not keys(nominal) & keys(listed)
    tested = client.get(f"/api/v1/all-pairs/variant/{vid}?limit=10000").json()["data"]
    assert keys(nominal) == keys(tested) - keys(listed)
    by_key = {(r["tissue"], r["modality"], r["phenotype_id"]): r for r in tested}
    for r in nominal:
        assert r["pval_nominal"] == pytest.approx(by_key[(r["tissue"], r["modality"], r["phenotype_id"])]["pval_nominal"])
    # the page: the PheWAS holds every tested pair (and the listed pairs without a nominal-pass row)
    page = get_page(client, f"/variant/{vid}")
    phewas = page.json["variant-data"]["phewas"]
    tissues = [t["id"] for t in phewas["tissues"]]
    modalities = [m["id"] for m in phewas["modalities"]]
    drawn = {(tissues[t], modalities[m], phewas["phenotypes"][ph])
             for t, m, ph in zip(phewas["t"], phewas["m"], phewas["ph"], strict=True)}
    assert drawn == keys(tested) | {k for k in keys(listed) if k[1] == "cross_modality"}
    assert phewas["n_total"] == len(drawn) and phewas["min_nlog10p"] is None
    significant = {(tissues[t], modalities[m], phewas["phenotypes"][ph])
                   for t, m, ph, hi in zip(phewas["t"], phewas["m"], phewas["ph"], phewas["hi"], strict=True) if hi}
    expected = {(r["tissue"], r["modality"], r["phenotype_id"]) for r in listed
                if r["source"] in ("significant", "independent") or (r["source"] == "top" and r["qval"] <= 0.05)}
    assert significant == expected and significant
    y = {k: v for k, v in zip(drawn, [None] * len(drawn), strict=True)}
    for t, m, ph, v in zip(phewas["t"], phewas["m"], phewas["ph"], phewas["y"], strict=True):
        y[(tissues[t], modalities[m], phewas["phenotypes"][ph])] = v
    for k, r in by_key.items():
        assert y[k] == pytest.approx(r["nlog10p"], abs=5e-4)
    sources = page.column("associations-table", "source")
    assert sources.count("nominal") == len(nominal)  # fewer than the page's cap of 200
    assert f"/api/v1/variants/{vid}/associations?include_nominal=true&format=tsv" in " ".join(page.links)


def test_variant_page_draws_its_forest_plot_as_svg(client, site):
    """The forest plot is drawn on the server from the rows the interactive plot gets: one square per row."""
    variant = table(site, "v2", "top_qtls").sort_values("pval_nominal")["variant_id"].iloc[0]
    r = client.get(f"/variant/{variant}")
    rows = Page(r.text).json["variant-data"]["forest"]
    assert len(rows) >= 2
    svg = r.text.split('id="forest-plot"')[1].split("</figure>")[0].split("<svg", 1)[1].split("</svg>")[0]
    assert svg.count('width="9" height="9"') == len(rows)
    assert all(f">{row['label']}</text>" in svg for row in rows if len(row["label"]) < 40)
    assert len({row["label"] for row in rows}) == len(rows)  # labels are unique (a second phenotype is named)


def test_variant_by_position_and_unknown_position(client, site):
    v = table(site, "v2", "variants").iloc[10]
    page = get_page(client, f"/variant/{v['chrom']}:{v['pos']}")
    assert v["variant_id"] in page.plain
    r = client.get(f"/variant/{v['chrom']}:{v['pos'] + 1}")
    assert r.status_code == 404
    assert f"/variant/{v['variant_id']}" in Page(r.text).links  # nearby variants suggested


# -- tissue ------------------------------------------------------------------------------------------


def test_tissue_page_counts_and_lead_genes(client, site):
    page = get_page(client, "/tissue/Liver?modality=expression")
    counts = table(site, "v2", "tissue_modality").query("tissue == 'Liver'")
    assert [int(x) for x in page.column("counts-table", "n_egenes")] == counts["n_egenes"].tolist()
    top = table(site, "v2", "top_qtls").query("tissue == 'Liver' and modality == 'expression'")
    leads = top.groupby("gene_id")["pval_nominal"].min().sort_values()
    genes = table(site, "v2", "genes").set_index("gene_id")["gene_name"]
    shown = [c[0]["text"] for c in page.tables["top-genes-table"]]
    assert shown[0] == genes[leads.index[0]]
    data = page.json["tissue-data"]
    assert data["qq"]["n"] == len(leads) and len(data["manhattan"]["x"]) == len(leads)
    observed = sorted(data["qq"]["observed"], reverse=True)
    assert observed[0] == pytest.approx(-math.log10(top.groupby("gene_id")["pval_beta"].min().min()), abs=1e-3)
    fdr = json.loads((site / "releases" / "v2" / "release.json").read_text())["mapping"]["fdr"]
    assert sum(data["manhattan"]["egene"]) == int((top.groupby("gene_id")["qval"].min() <= fdr).sum())
    # QQ: expected −log10(i / (n + 1)), the null band around it, λ_GC of the same (permutation) p-values
    n = data["qq"]["n"]
    assert max(data["qq"]["expected"]) == pytest.approx(math.log10(n + 1), abs=1e-3)
    band = data["qq"]["band"]
    assert all(lo < x < up for x, lo, up in zip(band["x"], band["lower"], band["upper"], strict=True))
    p = top.groupby("gene_id")["pval_beta"].min().to_numpy()
    assert data["qq"]["lambda"] == round(float(np.median(stats.chi2.isf(p, 1)) / stats.chi2.ppf(0.5, 1)), 3)
    # Manhattan: the largest lead p of an eGene as the threshold, the top genes to label
    lead = top.groupby("gene_id").agg(p=("pval_nominal", "min"), q=("qval", "min"))
    assert data["manhattan"]["threshold"]["p"] == pytest.approx(lead.loc[lead["q"] <= fdr, "p"].max())
    assert [g["gene"] for g in data["manhattan"]["top"]] == [genes[g] for g in leads.index[:5]]
    get_page(client, "/tissue/Liver?modality=nope", status=400)
    r = client.get("/tissue/Lung")
    assert r.status_code == 404 and "/tissue/Liver" in Page(r.text).links  # the tissues that exist


# -- QTL browser ---------------------------------------------------------------------------------------


def test_qtl_browser_filters_pages_and_tsv(client, site):
    top = table(site, "v2", "top_qtls")
    expected = top[(top["tissue"] == "Brain") & (top["qval"] <= 0.5)]
    page = get_page(client, "/qtls?tissue=Brain&max_qval=0.5&per_page=25")
    brain = top[top["tissue"] == "Brain"]
    assert qtl_heading(brain, len(expected)) in page.plain
    assert set(page.column("qtl-table", "tissue")) == {"Brain"}
    assert len(page.tables["qtl-table"]) == min(25, len(expected))
    if len(expected) > 25:
        assert any("page=2" in link for link in page.links)
        page2 = get_page(client, "/qtls?tissue=Brain&max_qval=0.5&per_page=25&page=2")
        # a row is a modality's phenotype: expression and stability phenotypes share their gene's id
        def rows(p):
            return set(zip(p.column("qtl-table", "modality"), p.column("qtl-table", "phenotype_id"), strict=True))

        assert not rows(page) & rows(page2) or len(expected) < 50
    r = client.get("/qtls.tsv?tissue=Brain&max_qval=0.5")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/tab-separated-values")
    rows = pd.read_csv(io.StringIO(r.text), sep="\t")
    assert len(rows) == len(expected) == int(r.headers["x-total-count"])
    assert set(zip(rows["modality"], rows["phenotype_id"], strict=True)) == set(
        zip(expected["modality"], expected["phenotype_id"], strict=True))
    # sorting by a column, descending (every tested phenotype's lead)
    page = get_page(client, "/qtls?all=1&sort=slope&order=desc&per_page=100")
    slopes = [float(x) for x in page.column("qtl-table", "slope") if x]
    assert slopes == sorted(slopes, reverse=True) and slopes[0] == pytest.approx(top["slope"].max())


FDR = 0.05  # the demo's mapping.fdr


def qtl_heading(tested: pd.DataFrame, shown: int) -> str:
    """The QTL browser's heading for these tested leads of which ``shown`` are listed."""
    significant = int((tested["qval"] <= FDR).sum())
    part = "all shown" if shown == len(tested) else f"{shown:,} shown"
    return f"{significant:,} significant QTL{'s' if significant != 1 else ''} (q ≤ {FDR:g}) of {len(tested):,} tested; {part}"


def test_qtl_browser_shows_significant_by_default_and_says_how_many(client, site):
    assert json.loads((site / "releases" / "v2" / "release.json").read_text())["mapping"]["fdr"] == FDR
    top = table(site, "v2", "top_qtls")
    significant = top[top["qval"] <= FDR]
    assert 0 < len(significant) < len(top)
    html = client.get("/qtls?per_page=250").text
    page = Page(html)
    assert qtl_heading(top, len(significant)) in page.plain
    assert len(page.tables["qtl-table"]) == min(250, len(significant))
    assert max(float(q) for q in page.column("qtl-table", "qval")) <= FDR
    r = client.get("/qtls.tsv")  # the download holds what the browser lists
    assert len(pd.read_csv(io.StringIO(r.text), sep="\t")) == len(significant) == int(r.headers["x-total-count"])
    # the switch to every tested phenotype's lead, and back
    [switch] = re.findall(r'id="qtl-scope-switch" href="([^"]+)"', html)
    switch = unescape(switch)
    assert parse_qs(urlsplit(switch).query)["all"] == ["1"] and "Show all tested" in page.plain
    everything = get_page(client, switch)
    assert qtl_heading(top, len(top)) in everything.plain and "Show significant only" in everything.plain
    assert len(everything.tables["qtl-table"]) == min(250, len(top))
    assert int(client.get("/qtls.tsv?all=1").headers["x-total-count"]) == len(top)
    assert 'name="all" value="1"' in client.get("/qtls").text  # the form's switch
    # every conditionally independent signal is of a significant phenotype: all listed by default
    independent = table(site, "v2", "independent_qtls")
    assert int(client.get("/qtls.tsv?kind=independent").headers["x-total-count"]) == len(independent)
    # an explicit bound is the user's, and the heading still counts the significant ones
    assert qtl_heading(top, int((top["qval"] <= 0.5).sum())) in get_page(client, "/qtls?max_qval=0.5").plain


def test_qtl_browser_shows_maf_and_mac_and_flags_low_mac(client, site, monkeypatch):
    from qtlatlas.store.release import ReleaseStore

    top = table(site, "v2", "top_qtls")
    n = table(site, "v2", "tissue_modality").set_index(["tissue", "modality"])["n_samples"]
    page = get_page(client, "/qtls?all=1&sort=mac&per_page=250")
    headers = page.headers["qtl-table"]
    assert headers.index("af") < headers.index("maf") < headers.index("mac")
    rows = pd.DataFrame({k: page.column("qtl-table", k) for k in ("tissue", "modality", "phenotype_id", "maf", "mac")})
    rows["flagged"] = rows["mac"].str.endswith(" low")  # the count's cell says "low" below 10 copies
    rows["mac"] = rows["mac"].str.removesuffix(" low").str.replace(",", "")
    merged = rows.merge(top, on=["tissue", "modality", "phenotype_id"])
    assert len(merged) == len(rows) == min(250, len(top))
    maf = np.minimum(merged["af"], 1 - merged["af"])
    assert np.allclose(merged["maf"].astype(float), maf)
    expected_mac = np.rint(2 * maf * [n[(t, m)] for t, m in zip(merged["tissue"], merged["modality"], strict=True)])
    assert (merged["mac"].astype(int) == expected_mac).all()
    assert merged["mac"].astype(int).is_monotonic_increasing  # sorted by MAC
    # the demo is mapped with the atlas defaults (min_mac 10): no lead has fewer copies, none is flagged
    assert merged["mac"].astype(int).min() >= 10 and not merged["flagged"].any()
    # a lead with fewer copies is flagged: the same leads, counted as if each tissue had 10 samples
    monkeypatch.setattr(ReleaseStore, "_sample_counts", lambda self: {k: 10 for k in n.index})
    page = get_page(client, "/qtls?all=1&sort=mac&per_page=250")
    cells = page.column("qtl-table", "mac")
    macs = [int(x.removesuffix(" low").replace(",", "")) for x in cells]
    assert any(m < 10 for m in macs)
    assert [x.endswith(" low") for x in cells] == [m < 10 for m in macs]
    tsv = pd.read_csv(io.StringIO(client.get("/qtls.tsv?all=1&sort=mac").text), sep="\t")
    assert (tsv["low_mac"] == (tsv["mac"] < 10)).all()


def test_qtl_browser_tsv_names_every_gene(client, site):
    genes = table(site, "v2", "genes").set_index("gene_id")["gene_name"]
    for url in ("/qtls.tsv?all=1", "/qtls.tsv?kind=independent"):
        rows = pd.read_csv(io.StringIO(client.get(url).text), sep="\t", keep_default_na=False, na_values=["NA"])
        assert len(rows) and rows["chrom"].notna().all()
        assert list(rows.columns).index("gene_name") == list(rows.columns).index("gene_id") + 1
        assert (rows["gene_name"] == rows["gene_id"].map(genes)).all(), url


def test_qtl_browser_region_and_unknown_gene(client, site):
    top = table(site, "v2", "top_qtls")
    v = top.iloc[0]
    region = f"{v['chrom']}:{max(v['pos'] - 100_000, 1)}-{v['pos'] + 100_000}"
    page = get_page(client, f"/qtls?region={region}&per_page=250&all=1")
    inside = top[(top["chrom"] == v["chrom"]) & top["pos"].between(max(v["pos"] - 100_000, 1), v["pos"] + 100_000)]
    assert qtl_heading(inside, len(inside)) in page.plain
    page = get_page(client, f"/qtls?region={region}&per_page=250")
    assert qtl_heading(inside, int((inside["qval"] <= FDR).sum())) in page.plain
    get_page(client, "/qtls?region=chr1:1-99999999", status=400)  # wider than the API allows
    r = client.get("/qtls?gene=NoSuchGene1")
    assert r.status_code == 404 and "text/html" in r.headers["content-type"]


# -- expression, dashboard -----------------------------------------------------------------------------


def test_expression_heatmap_top_genes_and_gene_list(client, site):
    medians = table(site, "v2", "medians")
    brain = medians.query("tissue == 'Brain'").sort_values(["median", "gene_id"], ascending=[False, True]).head(10)
    page = get_page(client, "/expression?tissue=Brain&n=10")
    data = page.json["expression-data"]
    assert set(data["genes"]) == set(brain["gene_id"])
    assert set(data["tissues"]) == {"Adipose", "Brain", "Liver"}
    gi, ti = data["genes"].index(brain["gene_id"].iloc[0]), data["tissues"].index("Brain")
    assert data["tpm"][gi][ti] == pytest.approx(brain["median"].iloc[0], rel=1e-3)
    assert data["z"][gi][ti] == pytest.approx(math.log2(brain["median"].iloc[0] + 1), rel=1e-3)
    linear = get_page(client, "/expression?tissue=Brain&n=10&log=0").json["expression-data"]
    assert linear["log"] is False and max(max(r) for r in linear["z"]) == pytest.approx(
        medians[medians["gene_id"].isin(brain["gene_id"])]["median"].max(), rel=1e-3)
    assert len(data["gene_tree"]["pos"]) == 5 * 9 and len(data["tissue_tree"]["pos"]) == 5 * 2  # n - 1 merges of 4 points + a gap
    genes = table(site, "v2", "genes")["gene_name"].head(3).tolist()
    page = get_page(client, "/expression?genes=" + "%0A".join(genes) + "%0Anosuchgene")
    assert set(page.json["expression-data"]["gene_names"]) == set(genes)
    assert "Not found in this release" in page.plain and "nosuchgene" in page.plain
    many = ",".join(f"g{i}" for i in range(101))
    get_page(client, f"/expression?genes={many}", status=400)


def test_dashboard_grid_of_pairs(client, site):
    top = table(site, "v2", "top_qtls").query("modality == 'expression'").sort_values("pval_nominal")
    genes = table(site, "v2", "genes").set_index("gene_id")["gene_name"]
    a, b = top.iloc[0], top.iloc[1]
    text = f"{genes[a['gene_id']]} {a['variant_id']}\n{genes[b['gene_id']]} {b['variant_id']}"
    page = get_page(client, "/dashboard?" + "&".join(["pairs=" + text.replace(" ", "+").replace("\n", "%0A"),
                                                      "tissue=Brain", "tissue=Liver"]))
    rows = page.json["dashboard-data"]["rows"]
    assert [r["variant"] for r in rows] == [a["variant_id"], b["variant_id"]]
    assert all(len(r["cells"]) == 2 for r in rows)
    cell = next(c for c in rows[0]["cells"] if c["tissue"] == a["tissue"])
    assert sum(len(g) for g in cell["groups"]) == cell["n"]
    # the lead pair's mapped statistics, labelled as such; the unadjusted ones under their own names
    assert cell["statistics_source"] == "nominal" and cell["pval_nominal"] == pytest.approx(a["pval_nominal"], rel=1e-5, abs=0)
    assert cell["slope"] == pytest.approx(a["slope"], rel=1e-5) and cell["slope_unadjusted"] != cell["slope"]
    assert f"nominal p (mapping model) = {pvalue(cell['pval_nominal'])}" in page.plain
    assert f"unadjusted, without covariates: slope {cell['slope_unadjusted']:.3f}" in page.plain
    for r, lead in zip(rows, (a, b), strict=True):  # each cell shows the gene's lead phenotype there
        for c in r["cells"]:
            mine = top[(top["gene_id"] == lead["gene_id"]) & (top["tissue"] == c["tissue"])]
            assert c.get("phenotype_id") == (mine["phenotype_id"].iloc[0] if len(mine) else None)
    get_page(client, "/dashboard?pairs=onlyonething", status=400)
    assert "not found" in get_page(client, "/dashboard?pairs=NoGene+rs1").plain


# -- downloads, studies, methods, data access -------------------------------------------------------


def manifest_downloads(site, release="v2") -> pd.DataFrame:
    manifest = pd.read_csv(site / "releases" / release / "MANIFEST.tsv", sep="\t")
    return manifest[(manifest["kind"] == "download")
                    | ((manifest["kind"] == "index") & manifest["path"].str.startswith("downloads/"))]


def test_downloads_page_is_the_manifest(client, site):
    downloads = manifest_downloads(site)
    assert downloads["path"].str.endswith(".tbi").any()  # the tabix indexes are listed with their files
    html = client.get("/downloads").text
    matrix = html[html.index('id="download-matrix"'):html.index("</table>", html.index('id="download-matrix"'))]
    hrefs = re.findall(r'<a class="file-(?:link|index)" href="([^"]+)"', matrix)
    assert len(hrefs) == len(set(hrefs)) and set(hrefs) == {f"/releases/v2/{p}" for p in downloads["path"]}
    shas = re.findall(r'<code class="sha-value">([0-9a-f]{64})', matrix)
    assert sorted(shas) == sorted(downloads["sha256"])  # every checksum one click away, once
    # one column per tissue; a cell holds that tissue's file of the row's kind
    tissues = table(site, "v2", "tissues")["tissue_id"].tolist()
    head = matrix[:matrix.index("</thead>")]
    assert re.findall(r'href="/tissue/([^"]+)"', head) == tissues
    for row in re.findall(r"<tr><th scope=\"row\" class=\"row-label\">[^<]*</th>\s*(.*?)</tr>", matrix, re.S):
        cells = re.findall(r"<td>(.*?)</td>", row, re.S)
        if len(cells) == len(tissues):
            for tissue, cell in zip(tissues, cells, strict=True):
                for name in re.findall(r'class="file-link" href="/releases/v2/downloads/([^"]+)"', cell):
                    assert f".{tissue}." in name, (tissue, name)
    titles = re.findall(r'<h2 id="kind-([^"]+)-heading">([^<]+)</h2>', matrix)
    assert ("top_assoc", "Top QTL per phenotype") in titles and ("phenotypes", "Phenotypes") in titles
    assert len(titles) == len({k for k, _ in titles})  # one row group per kind
    small = downloads.sort_values("bytes").iloc[0]
    r = client.get(f"/releases/v2/{small['path']}")
    assert r.status_code == 200 and hashlib.sha256(r.content).hexdigest() == small["sha256"]
    assert "immutable" in r.headers["cache-control"]
    for bad in ("/releases/v2/release.json", "/releases/v2/../atlas.json", "/releases/v2/downloads/..%2F..%2Fatlas.json",
                "/releases/v9/" + small["path"], "/releases/v2/tables/genes.parquet"):
        assert client.get(bad).status_code == 404, bad
    v1 = client.get("/downloads?release=v1").text
    assert re.findall(r'class="file-link" href="(/releases/[^/]+)/', v1) and \
        set(re.findall(r'class="file-link" href="(/releases/[^/]+)/', v1)) == {"/releases/v1"}


def test_bulk_download_lists_and_checksums(client, site):
    downloads = manifest_downloads(site)
    urls = client.get("/releases/v2/urls.txt")
    assert urls.status_code == 200 and urls.headers["content-type"].startswith("text/plain")
    listed = urls.text.splitlines()
    assert sorted(listed) == sorted(f"http://testserver/releases/v2/{p}" for p in downloads["path"])
    sums = client.get("/releases/v2/SHA256SUMS").text.splitlines()
    expected = {f"{sha}  {path.rsplit('/', 1)[-1]}" for sha, path in zip(downloads["sha256"], downloads["path"], strict=True)}
    assert len(sums) == len(expected) and set(sums) == expected  # sha256sum -c reads this, in the download folder
    # filtered by kind and tissue
    top_brain = client.get("/releases/v2/urls.txt", params={"kind": "top_assoc", "tissue": "Brain"}).text.split()
    names = {u.rsplit("/", 1)[-1] for u in top_brain}
    want = {p.rsplit("/", 1)[-1] for p in downloads["path"] if p.startswith("downloads/top_assoc.Brain.")}
    assert names == want and len(want) > 1
    one_kind = client.get("/releases/v2/SHA256SUMS", params={"kind": "covariates"}).text.splitlines()
    assert len(one_kind) == downloads["path"].str.startswith("downloads/covariates.").sum()
    v1 = client.get("/releases/v1/urls.txt").text.split()
    assert v1 and all("/releases/v1/downloads/" in u for u in v1)
    for params, name in (({"kind": "nope"}, "kind"), ({"tissue": "<b>x</b>"}, "tissue")):
        r = client.get("/releases/v2/urls.txt", params=params)
        assert r.status_code == 400 and f"{name}:" in r.text and "<b>x</b>" not in r.text, params
    assert client.get("/releases/v9/SHA256SUMS").status_code == 404


def test_study_page_and_files(client, site):
    study = json.loads((site / "studies" / "demo2024" / "study.json").read_text())
    page = get_page(client, "/studies/demo2024")
    assert study["citation"] in page.plain and study["genome"] in page.plain
    files = page.tables["study-files"]
    manifest = pd.read_csv(site / "studies" / "demo2024" / "MANIFEST.tsv", sep="\t")
    assert {row[0]["text"] for row in files} == set(manifest["path"]) >= {f["name"] for f in study["files"]}
    r = client.get(files[0][0]["href"])
    assert r.status_code == 200 and r.content == (site / "studies" / "demo2024" / files[0][0]["text"]).read_bytes()
    assert client.get("/studies/demo2024/files/MANIFEST.tsv").status_code == 404  # not a listed file
    assert client.get("/studies/nope").status_code == 404


def test_about_page_shows_the_parameters_used(client, site):
    info = json.loads((site / "releases" / "v2" / "release.json").read_text())
    page = get_page(client, "/about")
    text = page.plain
    m = info["mapping"]
    assert f"± {m['window']:,} bp" in text and f"{m['permutations']:,} per phenotype" in text
    assert f"q ≤ {m['fdr']}" in text and str(m["qvalue_lambda"]) in text
    assert info["annotation"]["sha256"] in text and info["genome"] in text
    for package, version in info["software"].items():
        assert package in text and version in text
    top = table(site, "v2", "top_qtls")
    assert len(page.tables["thresholds-table"]) == len(top.groupby(["tissue", "modality"]))
    assert sum(int(x) for x in page.column("thresholds-table", "n_phenotypes")) == len(top)
    assert sum(int(x) for x in page.column("thresholds-table", "n_significant")) == int((top["qval"] <= m["fdr"]).sum())


def test_data_access_page_comes_from_atlas_yaml(client, site):
    access = json.loads((site / "atlas.json").read_text())["data_access"]
    page = get_page(client, "/data-access")
    text = page.plain
    for section in ("raw_reads", "archives", "variant_calls", "code"):
        for link in access[section]:
            assert link["label"] in text
            if link.get("accession"):
                assert link["accession"] in text
            if link.get("doi"):
                assert f"https://doi.org/{link['doi']}" in page.links
    assert access["citation"] in text and access["data_use"] in text
    assert "/data-access" in get_page(client, "/downloads").links  # linked from downloads and home


# -- releases, errors ----------------------------------------------------------------------------------


def test_links_keep_the_chosen_release(client, site):
    gene = top_gene(site, "v1")
    page = get_page(client, f"/gene/{gene['gene_name']}?release=v1")
    assert "You are browsing release v1" in page.plain
    internal = [u for u in page.links if u.startswith("/") and not u.startswith(("/api/", "/static/", "/releases/"))]
    assert internal
    for u in internal:
        path, query = urlsplit(u).path, parse_qs(urlsplit(u).query)
        if path == "/api/docs" or (path == f"/gene/{gene['gene_name']}" and query == {"release": ["v2"]}):
            continue  # the API documentation, and the link to this page in the latest release
        assert query.get("release") == ["v1"], u
    # the data of the other pages are those of v1
    home = get_page(client, "/?release=v1")
    assert [r[0]["v"] for r in home.tables["tissue-table"]] == list(table(site, "v1", "tissues")["tissue_id"])
    # switching keeps the other query parameters
    assert 'name="modality" value="splicing"' in client.get("/tissue/Brain?modality=splicing").text


def test_unknown_release_is_a_404_listing_the_releases(client):
    r = client.get("/?release=v9")
    assert r.status_code == 404
    page = Page(r.text)
    assert "Release not found" in page.plain
    assert any("release=v1" in u for u in page.links) and any("release=v2" in u for u in page.links)


HOSTILE = [
    "/gene/%00", "/gene/" + "A" * 500, "/gene/%3Cscript%3Ealert(1)%3C%2Fscript%3E", "/variant/%FF%FE",
    "/variant/chr1:99999999999999999999", "/tissue/..%2F..%2Fetc", "/?release=%00", "/?release=" + "v" * 300,
    "/qtls?max_qval=nan", "/qtls?max_qval=-1", "/qtls?max_qval=1e999", "/qtls?page=-3", "/qtls?page=abc",
    "/qtls?sort=pval_nominal;DROP", "/qtls?order=sideways", "/qtls?kind=all", "/qtls?tissue=%00",
    "/qtls?region=chr1:5-1", "/qtls?region=%27%20OR%201=1", "/qtls?per_page=100000", "/qtls.tsv?tissue=Nope",
    "/expression?log=maybe", "/expression?n=7", "/expression?tissue=%01", "/dashboard?modality=<b>",
    "/gene/Ccdc59?pairs_page=1e3", "/tissue/Brain?modality=%00", "/search?q=%00", "/search?q=" + "x" * 200,
    "/studies/..%2Fsite", "/studies/demo2024/files/..%2F..%2Fatlas.json", "/releases/%00/x",
    "/qtls?page=%2B-5", "/qtls?page=%C2%B2", "/gene/Ccdc59?pairs_page=--1", "/variant/chr1:,", "/search?q=1:,,",
    "/variant/chr1_,_A_G", "/region?region=%00", "/region?region=chr1:1-2000001", "/region?region=chr1:5-1",
    "/region?region=%27%20OR%201=1", "/region?region=chr1:1-10&tissue=%00", "/region?region=chr1:1-10&modality=<b>",
    "/region?region=" + "1" * 300,
]


@pytest.mark.parametrize("url", HOSTILE)
def test_hostile_query_strings_answer_a_4xx_page(client, url):
    r = client.get(url)
    assert 400 <= r.status_code < 500, (url, r.status_code)
    assert r.headers["content-type"].startswith("text/html")
    assert "<script>alert(1)" not in r.text


def test_api_errors_stay_json(client):
    r = client.get("/api/v1/genes/nosuchgene")
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    r = client.get("/api/v1/no/such/endpoint")
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/json")
    r = client.get("/api/v1/variants/1:,")  # a position of commas only
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    r = client.get("/compat/nothing")
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/json")
    r = client.get("/no/such/page")
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert client.get("/api/docs").status_code == 200


def test_pages_carry_their_content_without_javascript(client, site):
    """What a browser without JavaScript gets: the tables are in the HTML, the plots say where their data are."""
    gene = top_gene(site)
    html = client.get(f"/gene/{gene['gene_name']}").text
    assert "The interactive plot needs JavaScript" in html
    page = Page(html)
    assert page.tables["top-table"] and page.tables["status-table"]
    # forms work without JavaScript: the release switch and the modality choice are plain GET forms
    assert '<form class="release-switch" method="get"' in html
    tissue = client.get("/tissue/Brain").text
    assert 'method="get"' in tissue and 'name="modality"' in tissue
    # embedded JSON cannot close its script element nor break a line of script
    from qtlatlas.web.pages.formatting import script_json

    hostile = {"x": "</script><!-- & \u2028 \u2029", "y": float("nan")}
    encoded = script_json(hostile)
    assert not {"<", ">", "&", "\u2028", "\u2029"} & set(encoded)
    assert json.loads(encoded) == {"x": hostile["x"], "y": None}


def test_demo_publishes_untied_normalised_phenotypes_and_says_how(client, site):
    """The demo declares TMM for expression and ranks for the other modalities: every published normalised
    phenotype keeps distinct values in at least 90% of its samples, and the Methods page names the
    normalisations."""
    from qtlatlas.demo.realism import distinct_fraction
    from qtlatlas.io.phenotypes import read_phenotype_bed

    downloads = site / "releases" / "v2" / "downloads"
    for modality in ("expression", "isoforms", "splicing", "alt_TSS", "alt_polyA", "stability"):
        beds = sorted(downloads.glob(f"phenotypes.*.{modality}.norm.*.bed.gz"))
        assert len(beds) == 3, modality
        for bed in beds:
            assert distinct_fraction(read_phenotype_bed(bed).values).min() >= 0.9, bed.name
    page = get_page(client, "/about")
    assert "TMM scale factor" in page.plain and "compared between samples as given" in page.plain
    cells = page.column("inputs-table", "phenotypes")
    ours = {c.removeprefix("normalised by qtlatlas ") for c in cells if c.startswith("normalised by qtlatlas")}
    assert ours == {"(TMM-scaled samples)", "(no scaling of samples)"}
