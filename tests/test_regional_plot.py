"""Regional plots on the small demo site (every release has a nominal pass and a genotype matrix): the genes of
a region with their exons, the strongest pairs of a query, the LD API's column layout and the regional plot's
payload, checked against the release tables read with pandas and against the other API routes."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from test_pages import Page

from qtlatlas.store import ReleaseStore


@pytest.fixture(scope="module")
def store(site) -> ReleaseStore:
    return ReleaseStore(site / "releases" / "v2")


def table(site, name, release="v2") -> pd.DataFrame:
    return pd.read_parquet(site / "releases" / release / "tables" / f"{name}.parquet")


def union(intervals: list[tuple[int, int]]) -> list[list[int]]:
    """Closed intervals merged by marking every base they cover (a check independent of the store's merge)."""
    if not intervals:
        return []
    lo = min(s for s, _ in intervals)
    hi = max(e for _, e in intervals)
    covered = np.zeros(hi - lo + 3, dtype=bool)
    for s, e in intervals:
        covered[s - lo + 1:e - lo + 2] = True
    edges = np.flatnonzero(np.diff(covered.astype(np.int8)))
    return [[int(a) + lo, int(b) + lo - 1] for a, b in zip(edges[::2], edges[1::2], strict=True)]


def gene_without_qtl(site) -> pd.Series:
    """A gene of v2 without a QTL in any tissue × modality (tested in Brain expression)."""
    status = table(site, "gene_status")
    with_qtl = set(status.loc[status["has_qtl"], "gene_id"])
    tested = status[(status["tissue"] == "Brain") & (status["modality"] == "expression") & status["tested"]]
    gid = sorted(set(tested["gene_id"]) - with_qtl)[0]
    return table(site, "genes").set_index("gene_id").loc[gid].rename(gid)


# -- the genes of a region -------------------------------------------------------------------------


@pytest.mark.parametrize("region", ["chr1:1-2000000", "chr1:1020000-1020001", "chr2:5000000-6999999", "1:2200001-4200000"])
def test_genes_in_region_are_the_overlapping_genes_with_merged_exons(store, site, region):
    chrom, span = region.split(":")
    start, end = map(int, span.split("-"))
    genes = table(site, "genes")
    genes = genes[(genes["chrom"].str.removeprefix("chr") == chrom.removeprefix("chr"))
                  & (genes["start"] <= end) & (genes["end"] >= start)].sort_values("start")
    found = store.genes_in_region(region)
    assert [g["gene_id"] for g in found] == genes["gene_id"].tolist()
    exons = table(site, "exons")
    for g in found:
        mine = exons[exons["gene_id"] == g["gene_id"]]
        assert g["exons"] == union(list(zip(mine["start"], mine["end"], strict=True)))
        row = genes.set_index("gene_id").loc[g["gene_id"]]
        assert (g["gene_name"], g["strand"], g["start"], g["end"]) == (row["gene_name"], row["strand"], row["start"],
                                                                       row["end"])


def test_gene_region_api_validates_input(client, store):
    ok = client.get("/api/v1/genes/region/chr1:1-2000000")
    assert ok.status_code == 200
    body = ok.json()
    assert body["meta"]["total"] == len(body["data"]) >= 2
    assert body["data"] == store.genes_in_region("chr1:1-2000000")
    assert client.get("/api/v1/genes/region/chr1:1-2,000,000").json()["data"] == body["data"]
    assert client.get("/api/v1/genes/region/chrZ:1-100").json()["data"] == []
    for bad in ("chr1:1-2000001", "chr1:500-1", "chr1:0-10"):
        r = client.get(f"/api/v1/genes/region/{bad}")
        assert r.status_code == 400 and r.json()["error"] == "bad_request", (bad, r.text)
    for bad in ("chr1", "chr1:a-b", "chr1:1-99999999999999999", "chr1:1-2%00"):
        r = client.get(f"/api/v1/genes/region/{bad}")
        assert r.status_code in (404, 422), (bad, r.status_code)


# -- the strongest pairs of a query and LD in columns ------------------------------------------------


def test_all_pairs_strongest_keeps_the_most_significant(store):
    full, total, _ = store.all_pairs(region="chr1:1-2000000", limit=10_000)
    rows, n, cut = store.all_pairs_strongest(10_000, region="chr1:1-2000000")
    assert n == total == len(rows) and cut is None
    pd.testing.assert_frame_equal(rows, full)
    rows, n, cut = store.all_pairs_strongest(250, region="chr1:1-2000000")
    assert n == total and len(rows) == 250
    ranked = np.sort(full["nlog10p"].fillna(-np.inf).to_numpy())[::-1]
    assert cut == pytest.approx(ranked[249]) and (rows["nlog10p"] >= cut).all()
    assert set(zip(rows["phenotype_id"], rows["variant_id"], strict=True)) <= set(
        zip(full["phenotype_id"], full["variant_id"], strict=True))


def test_ld_columns_layout_is_the_rows_answer(client, store):
    top = store.qtls("top", tissues=["Brain"], modalities=["expression"], limit=1)[0].iloc[0]
    base = f"/api/v1/ld?variant={top['variant_id']}&tissue=Brain"
    rows = client.get(base).json()["data"]
    columns = client.get(base + "&layout=columns&fields=variant_id,r2").json()
    assert set(columns["data"]) == {"variant_id", "r2"} and columns["meta"]["total"] == len(rows)
    assert columns["data"]["variant_id"] == [r["variant_id"] for r in rows]
    np.testing.assert_allclose(np.array(columns["data"]["r2"], dtype=float),
                               np.array([r["r2"] for r in rows], dtype=float), rtol=1e-6, equal_nan=True)
    assert list(client.get(base + "&fields=pos&fields=r").json()["data"][0]) == ["pos", "r"]
    assert client.get(base + "&fields=nope").status_code == 400
    assert client.get(base + "&layout=wide").status_code == 422


# -- the regional plot's payload ---------------------------------------------------------------------


def test_regional_payload_is_the_whole_window_with_ld_threshold_and_genes(client, store, site):
    gene = gene_without_qtl(site)
    body = client.get(f"/api/v1/regional/gene/{gene['gene_name']}?tissue=Brain&modality=expression").json()
    data = body["data"]
    pairs, total, _ = store.all_pairs(gene=gene.name, tissues=["Brain"], modalities=["expression"], limit=10_000)
    pairs = pairs.sort_values(["pos", "variant_id"], kind="stable")
    assert data["n_total"] == total == len(data["variants"]["id"]) > 50 and data["min_nlog10p"] is None
    assert data["variants"]["id"] == pairs["variant_id"].tolist()
    assert data["variants"]["pos"] == pairs["pos"].tolist()
    np.testing.assert_allclose(np.array(data["variants"]["nlog10p"], dtype=float), pairs["nlog10p"], atol=5e-4)
    # the window: the phenotype's position ± the release's mapping window
    top = table(site, "top_qtls").query("gene_id == @gene.name and tissue == 'Brain' and modality == 'expression'")
    window = store.info["mapping"]["window"]
    assert data["phenotype_pos"] == gene["tss"]
    assert data["window"][0] == max(1, gene["tss"] - window) and data["window"][1] >= gene["tss"] + window
    assert data["threshold"] == pytest.approx(top["pval_nominal_threshold"].iloc[0])
    # the reference is the lead (smallest p, the top QTL's variant); r² is the LD API's over Brain's samples
    lead = data["variants"]["id"][data["lead"]]
    assert data["reference"] == lead == top["variant_id"].iloc[0]
    ld = client.get(f"/api/v1/ld?variant={lead}&region={data['ld_region']}&tissue=Brain").json()["data"]
    r2 = {r["variant_id"]: r["r2"] for r in ld}
    expected = [None if r2.get(v) is None else round(r2[v], 3) for v in data["variants"]["id"]]
    assert data["r2"] == pytest.approx(expected, abs=1e-9)
    assert data["r2"][data["lead"]] == 1.0
    # every gene of the window, the gene itself among them
    genes = table(site, "genes")
    neighbours = genes[(genes["chrom"] == gene["chrom"]) & (genes["end"] >= data["window"][0])
                       & (genes["start"] <= data["window"][1])]
    assert [g["gene_id"] for g in data["genes"]] == neighbours.sort_values("start")["gene_id"].tolist()
    assert gene.name in [g["gene_id"] for g in data["genes"]] and len(data["genes"]) >= 2


def test_regional_payload_with_another_reference_and_phenotype(client, store, site):
    runs = store.phenotype_runs("Ccdc59")
    splicing = runs[(runs["tissue"] == "Brain") & (runs["modality"] == "splicing")]
    pid = splicing["phenotype_id"].iloc[-1]
    url = f"/api/v1/regional/gene/Ccdc59?tissue=Brain&modality=splicing&phenotype={pid}"
    data = client.get(url).json()["data"]
    assert data["phenotype_id"] == pid and data["n_total"] == int(splicing["n_variants"].iloc[-1])
    other = data["variants"]["id"][len(data["variants"]["id"]) // 2]
    moved = client.get(url + f"&reference={other}").json()["data"]
    assert moved["reference"] == other and moved["variants"] == data["variants"]
    assert moved["r2"][data["variants"]["id"].index(other)] == 1.0
    assert moved["r2"] != data["r2"]
    # errors: a phenotype of another gene, a modality without a nominal pass, an unknown tissue; never a 500
    assert client.get("/api/v1/regional/gene/Ccdc59?tissue=Brain&modality=splicing&phenotype=x").status_code == 404
    assert client.get("/api/v1/regional/gene/Ccdc59?tissue=Brain&modality=cross_modality").status_code == 404
    assert client.get("/api/v1/regional/gene/Ccdc59?tissue=Nope&modality=expression").status_code == 404
    assert client.get("/api/v1/regional/gene/Ccdc59?tissue=Brain").status_code == 422
    far = client.get(f"/api/v1/regional/gene/Ccdc59?tissue=Brain&modality=expression&reference={other}x")
    assert far.status_code == 404


# -- the gene page ---------------------------------------------------------------------------------------


def test_gene_page_without_a_qtl_embeds_its_whole_window_and_an_svg(client, store, site):
    """A gene without any QTL still gets its regional plot: every tested variant of the window of its
    default phenotype with r² to the lead, the window's genes, and the same plot drawn on the server."""
    gene = gene_without_qtl(site)
    html = client.get(f"/gene/{gene['gene_name']}").text
    assert 'class="badge badge-qtl"' not in html.split('id="status-table"')[1].split("</table>")[0]
    data = Page(html).json["gene-data"]["regional"]
    pairs, total, _ = store.all_pairs(gene=gene.name, phenotype=data["phenotype_id"], tissues=[data["tissue"]],
                                      modalities=[data["modality"]], limit=10_000)
    assert len(data["variants"]["id"]) == total == data["n_total"] > 50
    assert sorted(data["variants"]["id"]) == sorted(pairs["variant_id"])
    assert data["reference"] == data["variants"]["id"][data["lead"]]
    r2 = np.array([np.nan if x is None else x for x in data["r2"]])
    assert np.isfinite(r2).sum() > 0.9 * len(r2)
    # the gene track: every gene overlapping the window, the page's gene among them
    genes = table(site, "genes")
    lo, hi = data["window"]
    expected = genes[(genes["chrom"] == gene["chrom"]) & (genes["start"] <= hi) & (genes["end"] >= lo)]
    assert sorted(g["gene_name"] for g in data["genes"]) == sorted(expected["gene_name"])
    assert len(expected) >= 2 and gene["gene_name"] in [g["gene_name"] for g in data["genes"]]
    # the server-drawn plot: a path of points per r² bin present, the reference diamond, every gene's name
    figure = html.split('id="regional-plot"')[1].split("</figure>")[0]
    assert figure.count("<svg") == 2 and 'class="static-plot regional-static static-narrow"' in figure  # for phones
    svg = figure.split("<svg", 1)[1].split("</svg>")[0]
    assert 'class="static-plot regional-static static-wide"' in svg and "<script" not in svg and "style=" not in svg
    drawn = np.array([x is not None for x in data["variants"]["nlog10p"]])  # a p of NaN has no point
    bins = {int(b) if np.isfinite(r) else -1
            for b, r in zip(np.searchsorted([0.2, 0.4, 0.6, 0.8], np.nan_to_num(r2[drawn]), side="right"), r2[drawn],
                            strict=True)}
    for b, colour in enumerate(["#357ebd", "#46b8da", "#5cb85c", "#eea236", "#d43f3a"]):
        assert (f'stroke="{colour}" stroke-width="6.4"' in svg) == (b in bins), colour
    assert svg.count('stroke-linecap="round"') == 2 * len(bins)
    assert 'fill="#9632b8"' in svg and f">{data['reference']}</text>" in svg
    for name in expected["gene_name"]:
        assert f"{name} →" in svg or f"← {name}" in svg
    points = sum(d.count("h0") for d in re.findall(r'd="([^"]*)" stroke="#[0-9a-f]{6}" stroke-width="6.4"', svg))
    assert 0.5 * drawn.sum() < points <= drawn.sum()  # points on one pixel drawn once


def test_gene_page_regional_choices_are_the_published_phenotypes(client, store, site):
    page = Page(client.get("/gene/Ccdc59").text).json["gene-data"]
    runs = store.phenotype_runs("Ccdc59")
    tissues = [t["id"] for t in page["tissues"]]
    modalities = [m["id"] for m in page["modalities"]]
    got = {(tissues[c["t"]], modalities[c["m"]], ph) for c in page["regional_choices"] for ph in c["ph"]}
    assert got == set(zip(runs["tissue"], runs["modality"], runs["phenotype_id"], strict=True))
    top = table(site, "top_qtls").query("gene_id == 'ENSDEMG00000000001'")
    for c in page["regional_choices"]:  # phenotypes with a top QTL first, the most significant first
        known = [p for p in c["p"] if p is not None]
        assert known == sorted(known) and c["p"][:len(known)] == known
        for ph, p in zip(c["ph"], c["p"], strict=True):
            rows = top[(top["tissue"] == tissues[c["t"]]) & (top["modality"] == modalities[c["m"]])
                       & (top["phenotype_id"] == ph)]
            assert (p is None) == rows.empty and (p is None or p == pytest.approx(rows["pval_nominal"].iloc[0]))


# -- the region view ---------------------------------------------------------------------------------------

REGION = "chr1:9000001-11000000"


def test_region_view_plots_every_tested_pair_of_the_region(client, store, site):
    html = client.get(f"/region?region={REGION}&tissue=Brain&modality=alt_TSS").text
    page = Page(html)
    data = page.json["region-data"]
    pairs, total, _ = store.all_pairs(region=REGION, tissues=["Brain"], modalities=["alt_TSS"], limit=10_000)
    v = data["variants"]
    assert data["n_total"] == total == len(v["id"]) and data["min_nlog10p"] is None
    phenotypes = [p["id"] for p in data["phenotypes"]]
    assert sorted(zip([phenotypes[i] for i in v["ph"]], v["id"], strict=True)) == sorted(
        zip(pairs["phenotype_id"], pairs["variant_id"], strict=True))
    # LD with the region's lead (its most significant pair) over Brain's samples
    lead = data["lead"]
    assert v["nlog10p"][lead] == max(y for y in v["nlog10p"] if y is not None)
    assert data["reference"] == v["id"][lead] and data["r2"][lead] == 1.0
    ld = {r["variant_id"]: r["r2"] for r in store.ld(data["reference"], region=data["ld_region"], tissue="Brain")
          .to_dict("records")}
    assert data["r2"] == pytest.approx([None if ld.get(x) != ld.get(x) else round(ld[x], 3) for x in v["id"]])
    # the independent QTLs of the region are ringed; every gene of the region is in the track
    indep = table(site, "independent_qtls").query("tissue == 'Brain' and modality == 'alt_TSS' and chrom == 'chr1' "
                                                  "and 9000001 <= pos <= 11000000")
    assert sorted(s["variant_id"] for s in data["independent"]) == sorted(indep["variant_id"])
    genes = table(site, "genes").query("chrom == 'chr1' and start <= 11000000 and `end` >= 9000001")
    assert [g["gene_id"] for g in data["genes"]] == genes.sort_values("start")["gene_id"].tolist()
    # the table of phenotypes links to their genes; the plot is drawn on the server first
    assert sorted(page.column("region-phenotypes", "phenotype_id")) == sorted(phenotypes)
    names = table(site, "genes").set_index("gene_id")["gene_name"]
    assert {f"/gene/{g}" for g in pairs["gene_id"]} <= set(page.links)
    assert set(page.column("region-phenotypes", "gene_name")) == {names[g] for g in pairs["gene_id"]}
    svg = html.split('id="region-plot"')[1].split("</figure>")[0]
    assert 'class="static-plot regional-static static-wide"' in svg and 'fill="#9632b8"' in svg


def test_region_view_form_and_errors(client):
    page = get(client, "/region")
    assert "Give a region" in page.plain and "region-data" not in page.json
    assert any(link.startswith("/region?region=") for link in page.links)  # an example
    for bad in ("region=chr1:1-2000001", "region=chr1:nope", f"region={REGION}&tissue=Nope",
                f"region={REGION}&modality=cross_modality", f"region={REGION}&colour=red"):
        r = client.get(f"/region?{bad}")
        assert r.status_code == 400 and r.headers["content-type"].startswith("text/html"), bad
    empty = Page(client.get("/region?region=chr2:1-100&tissue=Liver").text)
    assert empty.json["region-data"]["n_total"] == 0 and "No tested pair in this region" in empty.plain


def test_qtl_browser_filtered_by_a_region_links_to_the_region_view(client):
    page = get(client, f"/qtls?region={REGION}&tissue=Brain&modality=splicing")
    assert f"/region?region={REGION.replace(':', '%3A')}&tissue=Brain&modality=splicing" in page.links
    assert not [link for link in get(client, "/qtls").links if link.startswith("/region")]


def get(client, url: str) -> Page:
    r = client.get(url)
    assert r.status_code == 200, (url, r.status_code, r.text[:300])
    return Page(r.text)
