"""A private tissue leaves the QTL association reads: top and independent QTLs, significant pairs, every tested
pair, a variant's associations, LD, the thresholds summary, the search example and the pages built on them
(home, QTL browser, gene, variant, region, dashboard). Anonymous requests see no row of it and counts over
the visible tissues only; a token of its scope sees what the unrestricted site shows."""

from __future__ import annotations

import base64
import json
import re
from urllib.parse import quote

import pytest
from conftest import EMBARGOED_TRAIT, PRIVATE_TISSUE, bearer

from qtlatlas.access.policy import Hidden
from qtlatlas.store.release import ReleaseStore

HIDDEN = Hidden(tissues=frozenset({PRIVATE_TISSUE}), traits=frozenset({EMBARGOED_TRAIT}))


@pytest.fixture(scope="module")
def store(site) -> ReleaseStore:
    """The unrestricted store of the demo's latest release."""
    from qtlatlas.store.site import Site

    return Site(site).release()


@pytest.fixture(scope="module")
def view(store) -> ReleaseStore:
    return store.restricted(HIDDEN)


@pytest.fixture(scope="module")
def target(client) -> dict:
    """A gene and a variant with QTL rows in the private tissue (and in others)."""
    rows = client.get("/api/v1/qtls/top", params={"tissue": PRIVATE_TISSUE, "limit": 1000}).json()["data"]
    assert rows, "the demo's private tissue has QTLs"
    others = client.get("/api/v1/qtls/top", params={"limit": 10000}).json()["data"]
    shared = {r["gene_id"] for r in others if r["tissue"] != PRIVATE_TISSUE}
    row = next((r for r in rows if r["gene_id"] in shared), rows[0])
    return {"gene": row["gene_id"], "variant": row["variant_id"], "chrom": row["chrom"], "pos": int(row["pos"])}


@pytest.fixture(scope="module")
def token(restricted_site) -> dict:
    return bearer(restricted_site, f"tissue:{PRIVATE_TISSUE}", f"trait:{EMBARGOED_TRAIT}")


def _region(t: dict, half: int = 400_000) -> str:
    return f"{t['chrom']}:{max(t['pos'] - half, 1)}-{t['pos'] + half}"


def _clean(text: str) -> None:
    assert PRIVATE_TISSUE not in text
    assert EMBARGOED_TRAIT not in text


def _api_urls(t: dict) -> list[str]:
    g, v, region = quote(t["gene"]), quote(t["variant"]), _region(t)
    return [
        "/api/v1/qtls/top?limit=10000", "/api/v1/qtls/top?limit=10000&sort=mac&order=desc",
        "/api/v1/qtls/top?limit=10000&max_qval=0.05", f"/api/v1/qtls/top?limit=10000&gene={g}",
        f"/api/v1/qtls/top?limit=10000&region={region}", "/api/v1/qtls/independent?limit=10000",
        f"/api/v1/qtls/independent?limit=10000&gene={g}", f"/api/v1/qtls/independent?limit=10000&region={region}",
        f"/api/v1/qtls/pairs?limit=10000&gene={g}", f"/api/v1/qtls/pairs?limit=10000&region={region}",
        f"/api/v1/all-pairs/gene/{g}?limit=10000", f"/api/v1/all-pairs/region/{_region(t, 50_000)}?limit=10000",
        f"/api/v1/all-pairs/variant/{v}?limit=10000", f"/api/v1/variants/{v}/associations",
        f"/api/v1/variants/{v}/associations?include_nominal=true",
    ]


def test_api_lists_leave_out_the_private_tissue(client, restricted_client, target, token):
    for url in _api_urls(target):
        full = client.get(url)
        assert full.status_code == 200, url
        everything = full.json()
        visible = [r for r in everything["data"] if r["tissue"] != PRIVATE_TISSUE]
        anonymous = restricted_client.get(url)
        assert anonymous.status_code == 200, url
        _clean(anonymous.text)
        body = anonymous.json()
        assert body["data"] == visible, url
        total = body["meta"].get("total")
        if total is not None:
            assert total == len(visible), url
        tsv = restricted_client.get(url + "&format=tsv" if "?" in url else url + "?format=tsv")
        assert tsv.status_code == 200
        _clean(tsv.text)
        allowed = restricted_client.get(url, headers=token).json()
        assert allowed["data"] == everything["data"], url
        assert allowed["meta"].get("total") == everything["meta"].get("total"), url
    # the tests can fail: the private tissue has rows in these lists
    assert PRIVATE_TISSUE in client.get(_api_urls(target)[0]).text
    assert PRIVATE_TISSUE in client.get(f"/api/v1/variants/{quote(target['variant'])}/associations").text


def test_significant_counts_are_over_visible_tissues(client, restricted_client, store):
    fdr = store.fdr()
    full = client.get("/api/v1/qtls/top", params={"limit": 10000}).json()
    visible = [r for r in full["data"] if r["tissue"] != PRIVATE_TISSUE]
    meta = restricted_client.get("/api/v1/qtls/top", params={"limit": 5}).json()["meta"]
    assert meta["total"] == len(visible) < full["meta"]["total"]
    if fdr is not None:
        assert meta["significant"] == sum(1 for r in visible if r["qval"] is not None and r["qval"] <= fdr)


def test_cursors_page_over_visible_rows(client, restricted_client, target):
    for url, params in (("/api/v1/qtls/top", {}), ("/api/v1/qtls/pairs", {"gene": target["gene"]}),
                        ("/api/v1/qtls/pairs", {"region": _region(target)}),
                        ("/api/v1/qtls/top", {"gene": target["gene"]})):
        everything = client.get(url, params={**params, "limit": 10000}).json()["data"]
        visible = [r for r in everything if r["tissue"] != PRIVATE_TISSUE]
        rows, cursor = [], None
        while True:
            body = restricted_client.get(url, params={**params, "limit": 7, **({"cursor": cursor} if cursor else {})}).json()
            rows += body["data"]
            cursor = body["meta"].get("next_cursor")
            if not cursor:
                break
            _clean(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
        assert rows == visible, (url, params)


def test_private_tissue_is_not_found(restricted_client, target, token):
    v, g = quote(target["variant"]), quote(target["gene"])
    for url in (f"/api/v1/qtls/top?tissue={PRIVATE_TISSUE}", f"/api/v1/qtls/pairs?gene={g}&tissue={PRIVATE_TISSUE}",
                f"/api/v1/all-pairs/gene/{g}?tissue={PRIVATE_TISSUE}",
                f"/api/v1/ld?variant={v}&tissue={PRIVATE_TISSUE}",
                f"/api/v1/phenotype-by-genotype?phenotype_id={g}&variant={v}&tissue={PRIVATE_TISSUE}&modality=expression",
                f"/api/v1/regional/gene/{g}?tissue={PRIVATE_TISSUE}&modality=expression"):
        r = restricted_client.get(url)
        assert r.status_code == 404, url
        assert PRIVATE_TISSUE not in r.text.split("(tissues:", 1)[-1], url  # the id asked, never in the lists
        if "/qtls/" in url or "/all-pairs/" in url:
            assert restricted_client.get(url, headers=token).status_code == 200, url


def test_store_methods_filter_before_counting(store, view, target):
    gene = store.resolve_gene(target["gene"])
    for kind in ("top", "independent", "significant"):
        rows, total = store.gene_rows(gene, kind)
        mine, n = view.gene_rows(gene, kind)
        visible = rows[rows["tissue"] != PRIVATE_TISSUE].reset_index(drop=True)
        assert n == len(visible) == len(mine)
        assert list(mine["tissue"]) == list(visible["tissue"])
        cut, n_cut = view.gene_rows(gene, kind, limit=1)
        assert n_cut == len(visible) and len(cut) == min(1, len(visible))
        table = view.gene_table(gene, kind, ["tissue", "variant_id"])
        assert PRIVATE_TISSUE not in table.column("tissue").to_pylist()
    for kind in ("top", "independent"):
        counts, mine = store.qtl_counts(kind), view.qtl_counts(kind)
        all_rows = store.qtls(kind, limit=10000)[0]
        assert mine["tested"] == int((all_rows["tissue"] != PRIVATE_TISSUE).sum()) < counts["tested"]
    assoc = view.variant_associations(target["variant"], include_nominal=True)
    assert PRIVATE_TISSUE not in set(assoc["tissue"])
    assert PRIVATE_TISSUE in set(store.variant_associations(target["variant"])["tissue"])
    thresholds = view.threshold_summary()
    assert PRIVATE_TISSUE not in set(thresholds["tissue"])
    assert PRIVATE_TISSUE in set(store.threshold_summary()["tissue"])
    assert view.nominal_threshold(PRIVATE_TISSUE, "expression", target["gene"]) is None
    assert view.mapped_statistics(PRIVATE_TISSUE, "expression", target["gene"], target["variant"])["pval_nominal"] is None


def test_search_example_is_visible(view):
    example = view.search_examples()
    if example:
        found = view.variant_associations(example["variant"])
        assert len(found) and PRIVATE_TISSUE not in set(found["tissue"])


def test_default_ld_leaves_out_samples_only_the_private_tissue_has(store, view, target):
    by_tissue = store._samples_by_tissue()
    only = set(by_tissue.get(PRIVATE_TISSUE, [])) - {s for t, ss in by_tissue.items() if t != PRIVATE_TISSUE for s in ss}
    keep = view.ld_samples(None)
    if only:
        matrix = store.genotype_matrix()
        assert keep is not None and not keep[matrix.keep(sorted(only))].any()
    else:
        assert keep is None
    assert store.ld_samples(None) is None


def _section(text: str, element_id: str) -> str:
    """The element of ``element_id`` up to the end of its table or script ('' when absent)."""
    at = text.find(f'id="{element_id}"')
    if at < 0:
        return ""
    ends = [i for i in (text.find("</table>", at), text.find("</script>", at)) if i > 0]
    return text[at:min(ends)] if ends else text[at:]


def _page_data(text: str, element_id: str) -> dict:
    body = _section(text, element_id)
    return json.loads(body[body.index(">") + 1:]) if body else {}


def test_pages_leave_out_the_private_tissue(client, restricted_client, target, token):
    g, v = quote(target["gene"]), quote(target["variant"])
    plain = [f"/qtls?gene={g}", "/qtls", "/qtls?kind=independent", "/qtls?sort=maf", f"/qtls?region={_region(target)}",
             "/qtls.tsv", f"/dashboard?gene={g}&variant={v}", "/dashboard", f"/region?region={_region(target)}", "/"]
    for url in plain:
        anonymous = restricted_client.get(url)
        assert anonymous.status_code == 200, url
        text = re.sub(r"adds tissue \w+", "", anonymous.text)  # the lab's release notes
        _clean(text)
        assert restricted_client.get(url, headers=token).status_code == 200
    assert PRIVATE_TISSUE in client.get("/qtls").text
    gene_page = restricted_client.get(f"/gene/{g}").text
    for table in ("top-table", "independent-table", "pairs-table", "status-table"):
        _clean(_section(gene_page, table))
    data = _page_data(gene_page, "gene-data")
    data.pop("coloc", None)  # colocalisation is another module's
    _clean(json.dumps(data))
    full = _page_data(client.get(f"/gene/{g}").text, "gene-data")
    assert PRIVATE_TISSUE in json.dumps(full["leads"])
    variant_page = restricted_client.get(f"/variant/{v}").text
    _clean(_section(variant_page, "associations-table"))
    data = _page_data(variant_page, "variant-data")
    _clean(json.dumps({k: data.get(k) for k in ("forest", "choices", "pbg", "phewas")}))
    assert PRIVATE_TISSUE in _section(client.get(f"/variant/{v}").text, "associations-table")
    assert restricted_client.get(f"/qtls?tissue={PRIVATE_TISSUE}").status_code == 404
    assert PRIVATE_TISSUE in restricted_client.get(f"/qtls?tissue={PRIVATE_TISSUE}", headers=token).text


def test_home_counts_visible_significant_pairs(client, restricted_client, store, view, token):
    everything = int(store.info["counts"]["n_signif_pairs"])
    visible = int(store.db.scalar("SELECT COUNT(*) FROM read_parquet(?) WHERE tissue <> ?",
                                  [store.table_file("signif_pairs"), PRIVATE_TISSUE]))
    assert store.significant_pair_count() == everything > visible == view.significant_pair_count()
    assert f"{visible:,} significant pairs" in restricted_client.get("/").text
    assert f"{everything:,} significant pairs" in restricted_client.get("/", headers=token).text
    assert f"{everything:,} significant pairs" in client.get("/").text
