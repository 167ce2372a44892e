"""Private tissues and embargoed traits in the TWAS hub, colocalisation and predictions (issue 18): anonymously
nothing of tissue Liver or trait body_weight shows in any TWAS / coloc / phenotype-statistics answer and every
count is over what is visible; a token that sees only the trait gets its counts recounted without Liver's
models; a token that sees both answers exactly what the unrestricted site answers."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from conftest import EMBARGOED_TRAIT, PRIVATE_TISSUE, bearer

API = "/api/v1"
TRAIT = EMBARGOED_TRAIT
TISSUE = PRIVATE_TISSUE

#: Routes that list or aggregate across tissues or traits (the first answers of each kind).
API_ROUTES = [
    "/twas/traits", "/twas/traits?format=tsv", "/twas/traits?tag=growth", "/twas/panels", "/twas/panels?format=tsv",
    "/twas/models?limit=10000", "/twas/models?limit=10000&format=tsv", "/twas/models?limit=5&sort=hsq",
    "/twas/phenotype_stats?limit=10000", "/twas/phenotype_stats?limit=10000&heritable=true",
    "/twas/phenotype_stats?limit=10000&format=csv",
]
PAGES = ["/twas/traits", "/twas/projects", "/twas/panels", "/twas/methods", "/twas/predict",
         "/twas/predict?heritable=yes"]


def _forbidden(text: str, names: tuple[str, ...]) -> list[str]:
    return [n for n in names if n in text]


@pytest.fixture(scope="module")
def trait_name(client) -> str:
    return next(t["name"] for t in client.get(f"{API}/twas/traits").json()["data"] if t["id"] == TRAIT)


@pytest.fixture(scope="module")
def secrets(trait_name) -> tuple[str, ...]:
    return (TISSUE, TRAIT, trait_name)


@pytest.fixture(scope="module")
def both(restricted_site) -> dict[str, str]:
    return bearer(restricted_site, f"tissue:{TISSUE}", f"trait:{TRAIT}")


@pytest.fixture(scope="module")
def trait_only(restricted_site) -> dict[str, str]:
    """Sees the trait, not the tissue: the trait's counts must be those of the visible tissues' models."""
    return bearer(restricted_site, f"trait:{TRAIT}")


def _rows(client, url: str, headers=None) -> pd.DataFrame:
    r = client.get(API + url, headers=headers or {})
    assert r.status_code == 200, r.text
    return pd.DataFrame(r.json()["data"])


def _genes_with_twas(client) -> list[str]:
    models = _rows(client, "/twas/models?limit=10000")
    liver = models[models["tissue"] == TISSUE]
    return sorted(set(liver["gene_id"]))[:3] + sorted(set(models["gene_id"]) - set(liver["gene_id"]))[:1]


# -- the unrestricted site does show them (the checks below can fail) -------------------------------------------

def test_unrestricted_shows_the_tissue_and_trait(client, secrets):
    assert TRAIT in client.get(f"{API}/twas/traits").text
    assert TISSUE in client.get(f"{API}/twas/panels").text
    assert TISSUE in client.get(f"{API}/twas/phenotype_stats?limit=10000").text
    assert TRAIT in client.get(f"{API}/coloc?trait={TRAIT}").text
    assert TISSUE in client.get(f"{API}/coloc?trait={TRAIT}&limit=10000").text
    assert client.get(f"/twas/traits/{TRAIT}").status_code == 200


# -- anonymous: nothing of either, counts over what is left -------------------------------------------------------

@pytest.mark.parametrize("url", API_ROUTES)
def test_api_lists_leave_them_out(restricted_client, url, secrets):
    r = restricted_client.get(API + url)
    assert r.status_code in (200, 404)
    assert not _forbidden(r.text, secrets), url


@pytest.mark.parametrize("url", PAGES)
def test_hub_pages_leave_them_out(restricted_client, url, secrets):
    r = restricted_client.get(url)
    assert r.status_code == 200
    assert not _forbidden(r.text, secrets), url


def test_counts_are_over_visible_tissues(client, restricted_client):
    panels = _rows(client, "/twas/panels")
    assert TISSUE in set(panels["tissue"])
    assert _rows(restricted_client, "/twas/panels")["panel"].tolist() == \
        panels.loc[panels["tissue"] != TISSUE, "panel"].tolist()
    for url in ("/twas/models?limit=10000", "/twas/phenotype_stats?limit=10000",
                "/twas/phenotype_stats?limit=10000&heritable=true"):
        full = client.get(API + url).json()
        part = restricted_client.get(API + url).json()
        visible = [r for r in full["data"] if r["tissue"] != TISSUE]
        assert len(visible) < len(full["data"])
        assert part["meta"]["total"] == len(visible) == len(part["data"])
        assert sorted(map(str, part["data"])) == sorted(map(str, visible))
    # a page's cursor and total: filtered before paging
    small = restricted_client.get(f"{API}/twas/models?limit=2").json()
    assert small["meta"]["total"] == part_total(restricted_client, "/twas/models?limit=10000")
    assert all(r["tissue"] != TISSUE for r in small["data"])


def part_total(client, url: str) -> int:
    return client.get(API + url).json()["meta"]["total"]


def test_hidden_tissue_and_panel_filters_are_not_found(restricted_client, client):
    unknown = restricted_client.get(f"{API}/twas/phenotype_stats?tissue=Nowhere")
    hidden = restricted_client.get(f"{API}/twas/phenotype_stats?tissue={TISSUE}")
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.json()["detail"].replace(TISSUE, "Nowhere") == unknown.json()["detail"]
    panel = client.get(f"{API}/twas/panels").json()["data"]
    liver_panel = next(p["panel"] for p in panel if p["tissue"] == TISSUE)
    r = restricted_client.get(f"{API}/twas/models?panel={liver_panel}")
    assert r.status_code == 404
    assert r.text.count(TISSUE) == 1  # the id asked for, echoed as for any unknown panel; not in the list


def test_hidden_trait_is_not_found_like_an_unknown_one(restricted_client, secrets):
    for prefix in (API + "/twas/traits/", "/twas/traits/"):
        for suffix in ("", "/loci", "/loci/1", "/correlations", "/associations"):
            if prefix == "/twas/traits/" and suffix in ("/loci", "/correlations", "/associations"):
                continue
            hidden = restricted_client.get(prefix + TRAIT + suffix)
            unknown = restricted_client.get(prefix + "zz_unknown" + suffix)
            assert hidden.status_code == unknown.status_code == 404, prefix + suffix
            assert hidden.text.replace(TRAIT, "zz_unknown") == unknown.text, prefix + suffix
    near = restricted_client.get("/twas/traits/" + TRAIT[:-1])  # a near miss suggests nothing hidden
    assert near.status_code == 404 and not _forbidden(near.text, secrets)
    r = restricted_client.get(f"{API}/coloc?trait={TRAIT}")
    assert r.status_code == 404 and r.text.count(TRAIT) == 1


def test_gene_and_variant_sections(client, restricted_client, secrets):
    for gene in _genes_with_twas(client):
        for url in (f"{API}/twas/genes/{gene}", f"/twas/genes/{gene}", f"{API}/coloc?gene={gene}&limit=10000",
                    f"{API}/coloc?gene={gene}&method=susie&limit=10000"):
            r = restricted_client.get(url)
            assert not _forbidden(r.text, secrets), url
        data = restricted_client.get(f"{API}/twas/genes/{gene}").json()["data"]
        assert data["associations"] == [] and data["matrix"]["traits"] == []
        assert all(m["tissue"] != TISSUE for m in data["models"])
    coloc = client.get(f"{API}/coloc?trait={TRAIT}&limit=10000").json()["data"]
    variant = coloc[0]["lead_variant_id"]
    r = restricted_client.get(f"{API}/coloc?variant={variant}")
    assert r.status_code == 200 and r.json()["meta"]["total"] == 0
    page = restricted_client.get(f"/variant/{variant}").text
    section = page.split('id="coloc-table"', 1)[1][:5000] if 'id="coloc-table"' in page else ""
    assert not _forbidden(section, secrets)


# -- a token seeing the trait only: recounted without the tissue's models --------------------------------------

def test_trait_counts_recounted_without_the_tissue(client, restricted_client, trait_only, secrets):
    assoc = _rows(client, f"/twas/traits/{TRAIT}/associations?limit=10000")
    assert TISSUE in set(assoc["tissue"])
    visible = assoc[assoc["tissue"] != TISSUE]
    row = _rows(restricted_client, "/twas/traits", trait_only).set_index("id").loc[TRAIT]
    assert row["n_models"] == len(visible)
    assert row["n_tested"] == int(visible["twas_p"].notna().sum())
    assert row["n_significant"] == int(visible["significant"].sum())
    assert row["n_genes"] == visible.loc[visible["significant"], "gene_id"].nunique()
    got = restricted_client.get(f"{API}/twas/traits/{TRAIT}/associations?limit=10000", headers=trait_only).json()
    assert got["meta"]["total"] == len(visible)
    assert TISSUE not in str(got["data"])
    loci = _rows(restricted_client, f"/twas/traits/{TRAIT}/loci", trait_only)
    for rec in loci.to_dict("records") if len(loci) else []:
        models = visible[visible["locus"] == rec["locus"]]
        assert rec["n_models"] == len(models) > 0
        assert set(filter(None, rec["gene_ids"].split(","))) == set(models["gene_id"])
        one = restricted_client.get(f"{API}/twas/traits/{TRAIT}/loci/{rec['locus']}", headers=trait_only)
        assert one.status_code == 200 and TISSUE not in one.text
        assert len(one.json()["data"]["models"]) == len(models)
    assert int(row["n_loci"]) == len(loci)
    coloc_all = _rows(client, f"/coloc?trait={TRAIT}&limit=10000")
    coloc = restricted_client.get(f"{API}/coloc?trait={TRAIT}&limit=10000", headers=trait_only).json()
    assert coloc["meta"]["total"] == int((coloc_all["tissue"] != TISSUE).sum())
    page = restricted_client.get(f"/twas/traits/{TRAIT}", headers=trait_only).text
    assert TISSUE not in re.sub(r'<li class="nav-reader">.*?</li>', "", page)
    # the trait's download files hold every tissue's rows: listed to the unrestricted reader only
    assert f"downloads/twas_assoc.{TRAIT}." in client.get(f"/twas/traits/{TRAIT}").text
    assert f"downloads/twas_assoc.{TRAIT}." not in page and f"downloads/coloc.{TRAIT}." not in page


# -- a token seeing both: the unrestricted answers --------------------------------------------------------------

def test_authorized_view_equals_unrestricted(client, restricted_client, both):
    gene = _genes_with_twas(client)[0]
    urls = [*API_ROUTES, f"/twas/traits/{TRAIT}", f"/twas/traits/{TRAIT}/associations?limit=10000",
            f"/twas/traits/{TRAIT}/loci", f"/twas/traits/{TRAIT}/correlations", f"/twas/genes/{gene}",
            f"/coloc?trait={TRAIT}&limit=10000", f"/coloc?gene={gene}&limit=10000"]
    for url in urls:
        a, b = client.get(API + url), restricted_client.get(API + url, headers=both)
        assert a.status_code == b.status_code == 200, url
        assert a.text == b.text, url
    for url in [*PAGES, f"/twas/traits/{TRAIT}", f"/twas/genes/{gene}"]:
        a, b = client.get(url), restricted_client.get(url, headers=both)
        assert a.status_code == b.status_code == 200, url
        shown = re.sub(r'<li class="nav-reader">.*?</li>', "", b.text)  # the signed-in reader names the scopes
        assert a.text.count(TISSUE) == shown.count(TISSUE) and a.text.count(TRAIT) == shown.count(TRAIT), url


def _phewas(client, variant: str, headers=None) -> dict:
    import json

    page = client.get(f"/variant/{variant}", headers=headers or {}).text
    found = re.search(r'<script type="application/json" id="variant-data">(.*?)</script>', page, re.S)
    return json.loads(found.group(1))["phewas"]


def test_variant_phewas_over_visible_tissues(client, restricted_client, both):
    variant = client.get(f"{API}/coloc?trait={TRAIT}&limit=1").json()["data"][0]["lead_variant_id"]
    full = _phewas(client, variant)
    ids = [t["id"] for t in full["tissues"]]
    assert TISSUE in ids
    liver = ids.index(TISSUE)
    part = _phewas(restricted_client, variant)
    assert TISSUE not in str(part)
    assert len(part["t"]) == sum(t != liver for t in full["t"])
    if full["min_nlog10p"] is None:
        assert part["n_total"] == len(part["t"])
    assert _phewas(restricted_client, variant, both) == full


def test_locus_conditioned_on_a_hidden_model_shows_no_conditional_value(client, restricted_client, trait_only):
    loci = _rows(client, f"/twas/traits/{TRAIT}/loci")
    assert len(loci)
    for number in loci["locus"]:
        full = client.get(f"{API}/twas/traits/{TRAIT}/loci/{number}").json()["data"]
        seen = restricted_client.get(f"{API}/twas/traits/{TRAIT}/loci/{number}", headers=trait_only)
        visible = [m for m in full["models"] if m["tissue"] != TISSUE]
        if not visible:
            assert seen.status_code == 404
            continue
        got = seen.json()["data"]
        assert TISSUE not in seen.text
        assert [m["phenotype_id"] for m in got["models"]] == [m["phenotype_id"] for m in visible]
        assert [g["gwas_z"] for g in got["gwas"]] == [g["gwas_z"] for g in full["gwas"]]
        if any(m["tissue"] == TISSUE and m["joint"] for m in full["models"]):
            assert all(g["cond_z"] is None for g in got["gwas"])
            assert all(m["joint_z"] is None and m["cond_z"] is None for m in got["models"])
            assert got["locus"]["var_exp"] is None
        else:
            assert got["gwas"] == full["gwas"] and got["models"] == visible
