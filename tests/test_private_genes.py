"""A private tissue stays out of genes, expression, fine-mapping, QTL–QTL colocalisation, trans-QTLs, samples,
individuals, sample QC and the tissue, expression and samples pages (issue 18).

Anonymous requests to :func:`restricted_site` (tissue ``Liver`` private, trait ``body_weight`` embargoed) must not
name either anywhere and must count over the visible tissues only; a token with both scopes sees exactly what the
unrestricted site (:func:`client`) shows. The module's ``site`` is a copy of the small demo with a trans pair of
Liver planted (the demo's trans table has none), so that the trans checks can fail."""

from __future__ import annotations

import io
import json
import re
import shutil

import numpy as np
import pandas as pd
import pytest
from conftest import EMBARGOED_TRAIT, PRIVATE_TISSUE, bearer

from qtlatlas.access.policy import Hidden
from qtlatlas.store.release import ReleaseStore

FORBIDDEN = (PRIVATE_TISSUE, EMBARGOED_TRAIT)
RELEASE = "v2"  # the demo's release that has the private tissue


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The small demo with one more trans pair, of the private tissue."""
    from browser.portal_site import demo_site

    out = tmp_path_factory.mktemp("private-genes") / "site"
    shutil.copytree(demo_site(tmp_path_factory), out)
    tables = out / "releases" / RELEASE / "tables"
    trans = pd.read_parquet(tables / "trans_pairs.parquet")
    top = pd.read_parquet(tables / "top_qtls.parquet")
    liver = top[(top["tissue"] == PRIVATE_TISSUE) & (top["modality"] == "expression")].iloc[0]
    row = {c: trans[c].iloc[0] if len(trans) else None for c in trans.columns}
    row.update({"tissue": PRIVATE_TISSUE, "modality": "expression", "phenotype_id": liver["phenotype_id"],
                "variant_id": top["variant_id"].iloc[-1], "pval": 1e-7})
    planted = pd.concat([trans, pd.DataFrame([row])], ignore_index=True).astype(trans.dtypes.to_dict())
    planted.to_parquet(tables / "trans_pairs.parquet", index=False)
    return out


@pytest.fixture(scope="module")
def authorized(restricted_site):
    return bearer(restricted_site, f"tissue:{PRIVATE_TISSUE}", f"trait:{EMBARGOED_TRAIT}")


@pytest.fixture(scope="module")
def stores(site):
    full = ReleaseStore(site / "releases" / RELEASE)
    return full, full.restricted(Hidden(tissues=frozenset({PRIVATE_TISSUE}), traits=frozenset({EMBARGOED_TRAIT})))


@pytest.fixture(scope="module")
def cases(stores):
    """Gene ids and a region whose data involve the private tissue and a visible one."""
    full, _ = stores
    coloc = full.qtl_coloc_table(limit=10_000)[0]
    both = coloc[(coloc["tissue1"] == PRIVATE_TISSUE) | (coloc["tissue2"] == PRIVATE_TISSUE)]
    members = pd.read_parquet(full.table_file("credible_sets"))
    for row in members[members["tissue"] == PRIVATE_TISSUE].itertuples():
        region = f"{row.chrom}:{max(1, row.pos - 900_000)}-{row.pos + 900_000}"
        fm = full.finemapping_table(region=region, limit=10_000)[0]
        if (fm["tissue"] != PRIVATE_TISSUE).any():
            break
    else:
        pytest.fail("no region with credible sets of the private tissue and another")
    return {"coloc_gene": both["gene_id"].iloc[0], "gene": row.gene_id,
            "genes": list(dict.fromkeys([row.gene_id, *fm["gene_id"]]))[:3], "region": region}


def _urls(cases) -> list[str]:
    g, gs = cases["gene"], cases["genes"]
    genes = "&".join(f"genes={x}" for x in gs)
    base = "/api/v1"  # the latest release: the demo's v2
    return [f"{base}/genes/{g}", f"{base}/expression/{g}", f"{base}/expression/{g}?format=tsv",
            f"{base}/expression/median?{genes}", f"{base}/expression/median?{genes}&format=tsv",
            f"{base}/expression/clustered?{genes}",
            f"{base}/finemapping?region={cases['region']}", f"{base}/finemapping?region={cases['region']}&format=tsv",
            f"{base}/finemapping?gene={g}", f"{base}/coloc/qtl", f"{base}/coloc/qtl?format=tsv",
            f"{base}/coloc/qtl?gene={cases['coloc_gene']}", f"{base}/qtls/trans", f"{base}/qtls/trans?format=tsv",
            f"{base}/qtls/trans/hotspots?min_targets=1", f"{base}/samples?limit=100000",
            f"{base}/samples?format=tsv&limit=100000", f"{base}/individuals?limit=100000",
            f"{base}/individuals?format=csv&limit=100000", f"{base}/samples/qc?limit=100000",
            f"{base}/samples/qc?format=tsv&limit=100000&check=sex",
            "/samples", "/expression", f"/expression?{genes}", "/tissue/Adipose", "/tissue/Brain"]


def _get(client, url, headers=None):
    r = client.get(url, headers=headers or {})
    assert r.status_code == 200, (url, r.status_code, r.text[:300])
    return r.text


def test_nothing_of_the_private_tissue_anonymously_and_everything_with_a_token(client, restricted_client, authorized,
                                                                               cases):
    for url in _urls(cases):
        full = _get(client, url)
        assert PRIVATE_TISSUE in full, f"{url} should show the private tissue unrestricted (the test could not fail)"
        anonymous = _get(restricted_client, url)
        for word in FORBIDDEN:
            assert word not in anonymous, (url, word)
        seen = _get(restricted_client, url, authorized)
        if url.startswith("/api/"):
            assert seen == full, url
        else:  # the page of a signed-in reader names its scopes in the navigation
            assert re.sub(r'<li class="nav-reader">.*?</li>\n?', "", seen) == full, url


def test_hidden_tissue_is_not_found_as_an_unknown_one(restricted_client, authorized, cases):
    g = cases["gene"]
    for url in ("/api/v1/expression/top?tissue={t}", f"/api/v1/expression/{g}?tissue={{t}}",
                f"/api/v1/finemapping/pips?gene={g}&tissue={{t}}&modality=expression",
                "/api/v1/samples?tissue={t}", "/api/v1/individuals?tissue={t}", "/api/v1/samples/qc?tissue={t}",
                "/api/v1/finemapping?region=chr1:1-2000000&tissue={t}", "/api/v1/coloc/qtl?tissue={t}",
                "/api/v1/qtls/trans?tissue={t}", "/api/v1/qtls/trans/hotspots?tissue={t}", "/tissue/{t}",
                "/samples?tissue={t}"):
        hidden = restricted_client.get(url.format(t=PRIVATE_TISSUE))
        unknown = restricted_client.get(url.format(t="Nowhere"))
        assert hidden.status_code == unknown.status_code == 404, url
        assert hidden.text.replace(PRIVATE_TISSUE, "Nowhere") == unknown.text, url
        assert restricted_client.get(url.format(t=PRIVATE_TISSUE), headers=authorized).status_code == 200, url


def _rows(client, url, headers=None) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(_get(client, url + ("&" if "?" in url else "?") + "format=tsv", headers)),
                       sep="\t", dtype=str, keep_default_na=False)


def _total(client, url) -> int:
    return json.loads(_get(client, url))["meta"]["total"]


def test_row_lists_and_totals_are_over_visible_tissues(client, restricted_client, cases):
    region = cases["region"]
    checks = {f"/api/v1/finemapping?region={region}&limit=10000": ("tissue",),
              "/api/v1/coloc/qtl?limit=10000": ("tissue1", "tissue2"),
              "/api/v1/qtls/trans": ("tissue",), "/api/v1/qtls/trans/hotspots?min_targets=1": ("tissue",),
              "/api/v1/samples?limit=100000": ("tissue",), "/api/v1/samples/qc?limit=100000&check=identity": ("tissue",),
              f"/api/v1/expression/{cases['gene']}": ("tissue",)}
    for url, columns in checks.items():
        full = _rows(client, url)
        visible = full[~full[list(columns)].isin([PRIVATE_TISSUE]).any(axis=1)].reset_index(drop=True)
        assert len(visible) < len(full), url
        pd.testing.assert_frame_equal(_rows(restricted_client, url), visible, check_dtype=False, obj=url)
        assert _total(restricted_client, url) == len(visible), url


def test_pages_of_a_list_are_cut_after_filtering(client, restricted_client, cases):
    url = f"/api/v1/finemapping?region={cases['region']}&limit=3"
    rows, cursor = [], None
    while True:
        body = json.loads(_get(restricted_client, url + (f"&cursor={cursor}" if cursor else "")))
        rows += body["data"]
        cursor = body["meta"]["next_cursor"]
        assert body["meta"]["total"] == _total(restricted_client, url + "000")
        if not cursor:
            break
    assert len(rows) == body["meta"]["total"] and all(r["tissue"] != PRIVATE_TISSUE for r in rows)
    for url, every in (("/api/v1/coloc/qtl?limit=1", "/api/v1/coloc/qtl?limit=10000"),
                       ("/api/v1/samples?limit=5", "/api/v1/samples?limit=100000")):
        first = json.loads(_get(restricted_client, url))
        assert first["meta"]["total"] == len(json.loads(_get(restricted_client, every))["data"])
        assert _total(client, url) > first["meta"]["total"]


def test_gene_status_and_medians_leave_out_the_hidden_tissue(stores, cases):
    full, view = stores
    g = cases["gene"]
    status = full.gene(g)["status"]
    assert any(s["tissue"] == PRIVATE_TISSUE for s in status)
    assert view.gene(g)["status"] == [s for s in status if s["tissue"] != PRIVATE_TISSUE]
    rows, tissues, matrix = full.median_matrix()
    vrows, vtissues, vmatrix = view.median_matrix()
    assert PRIVATE_TISSUE in tissues and vtissues == [t for t in tissues if t != PRIVATE_TISSUE]
    keep = [tissues.index(t) for t in vtissues]
    assert vrows == rows and np.array_equal(vmatrix, matrix[:, keep], equal_nan=True)
    assert full.median_matrix()[1] == tissues  # the release's own matrix is untouched
    medians = full.medians(cases["genes"])
    pd.testing.assert_frame_equal(view.medians(cases["genes"]),
                                  medians[medians["tissue"] != PRIVATE_TISSUE].reset_index(drop=True))
    assert PRIVATE_TISSUE not in view.expression_tissues()


def test_sharing_is_over_visible_tissues(stores):
    from qtlatlas.store.sharing import egene_sharing

    full, view = stores
    every = egene_sharing(full, "expression")
    assert (every["other"] == PRIVATE_TISSUE).any()
    seen = egene_sharing(view, "expression")
    expected = every[(every["tissue"] != PRIVATE_TISSUE) & (every["other"] != PRIVATE_TISSUE)].reset_index(drop=True)
    pd.testing.assert_frame_equal(seen, expected)


def test_individuals_and_their_tissues_are_recomputed(stores):
    full, view = stores
    people = full.individual_rows()
    assert people["tissues"].str.contains(PRIVATE_TISSUE).any()
    seen = view.individual_rows().set_index("individual_id")
    samples = view.sample_rows()
    by_person = samples.groupby("individual_id")["tissue"].agg(set)
    assert set(seen.index) == set(by_person.index)  # sampled only in the private tissue: not listed
    for person, tissues in by_person.items():
        assert set(seen.at[person, "tissues"].split(",")) == tissues
        assert seen.at[person, "n_tissues"] == len(tissues)
    assert PRIVATE_TISSUE not in view.sample_tissues()
    counts = view.sample_counts()
    assert list(counts["tissue"]) == [t for t in full.sample_counts()["tissue"] if t != PRIVATE_TISSUE]
    shared = full.shared_individuals()
    visible = [t for t in shared.index if t != PRIVATE_TISSUE]
    pd.testing.assert_frame_equal(view.shared_individuals(), shared.loc[visible, visible])
    combos = view.tissue_combinations(100)
    assert not combos["tissues"].str.contains(PRIVATE_TISSUE).any()
    assert combos["n_individuals"].sum() == (seen["n_tissues"] > 0).sum()


def test_sample_qc_drops_rows_touching_the_hidden_tissue(stores):
    full, view = stores
    qc = full.sample_qc_rows()
    touches = qc["tissue"].str.split(",").map(lambda ts: PRIVATE_TISSUE in ts)
    assert touches.any() and (~touches).any()
    pd.testing.assert_frame_equal(view.sample_qc_rows(), qc[~touches].reset_index(drop=True))
    assert not view.sample_qc_rows(check="sex")["tissue"].str.contains(PRIVATE_TISSUE).any()


def test_trans_and_hotspots_leave_out_the_hidden_tissue(stores):
    full, view = stores
    pairs, hotspots = full.trans_qtls(), full.trans_hotspots(min_targets=1)
    assert (pairs["tissue"] == PRIVATE_TISSUE).any() and (hotspots["tissue"] == PRIVATE_TISSUE).any()
    pd.testing.assert_frame_equal(view.trans_qtls(), pairs[pairs["tissue"] != PRIVATE_TISSUE].reset_index(drop=True))
    pd.testing.assert_frame_equal(view.trans_hotspots(min_targets=1),
                                  hotspots[hotspots["tissue"] != PRIVATE_TISSUE].reset_index(drop=True))


def test_unrestricted_store_keeps_its_fast_paths(stores):
    full, _ = stores
    assert not full.hidden and full._base is full
    assert full.tissue_clause("tissue") == ("", [])


def test_samples_page_links_only_what_the_reader_may_see(client, restricted_client):
    def links(c, page):
        return [(name, url.replace("&amp;", "&")) for url, name in re.findall(r'href="([^"]+)" download>([^<]+)<', page)]

    every = links(client, _get(client, "/samples"))
    assert any(PRIVATE_TISSUE in _get(client, url) for _, url in every)  # the release-wide files hold every tissue
    seen = links(restricted_client, _get(restricted_client, "/samples"))
    assert {n for n, _ in seen} == {n for n, _ in every if PRIVATE_TISSUE not in n}
    for name, url in seen:
        assert PRIVATE_TISSUE not in _get(restricted_client, url), name
