"""Predicted phenotypes and phenotype statistics of a release with TWAS (the session's TWAS demo site): the
``phenotype_stats`` download lists every phenotype of each panel's normalised BED with a heritability flag that
follows its h² p-value and the best model of ``twas_models``; the ``predictions`` download equals
``qtlatlas twas predict`` on the release genotypes at the same scale; the Predict page and
``/api/v1/twas/phenotype_stats`` filter the table by gene, tissue and modality and refuse unknown ones."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from test_pages import Page
from test_twas_pages import hub_app, hub_site
from twas_demo import RELEASE, twas_demo

from qtlatlas.cli import main
from qtlatlas.release.predictions import PHENOTYPE_STATS_COLUMNS, SCALE


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return hub_site(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def client(site):
    return TestClient(hub_app(site), raise_server_exceptions=True)


@pytest.fixture(scope="module")
def release_dir(site):
    return site / "releases" / RELEASE


def _table(release_dir, name: str) -> pd.DataFrame:
    return pd.read_parquet(release_dir / "tables" / f"{name}.parquet")


def _panels(release_dir) -> list[tuple[str, str, str]]:
    panels = _table(release_dir, "twas_panels")
    return [(str(r.panel), str(r.tissue), str(r.modality)) for r in panels.itertuples()]


def _download(release_dir, kind: str, tissue: str, modality: str):
    found = sorted((release_dir / "downloads").glob(f"{kind}.{tissue}.{modality}.*"))
    assert found, (kind, tissue, modality)
    return found[0]


def _stats(release_dir, tissue: str, modality: str) -> pd.DataFrame:
    return pd.read_csv(_download(release_dir, "phenotype_stats", tissue, modality), sep="\t",
                       keep_default_na=False, na_values=["NA"])


def _bed_phenotypes(release_dir, tissue: str, modality: str) -> list[str]:
    path = next((release_dir / "downloads").glob(f"phenotypes.{tissue}.{modality}.norm.*.bed.gz"))
    with gzip.open(path, "rt") as fh:
        return [line.split("\t", 4)[3] for line in fh if not line.startswith("#")]


def test_phenotype_stats_list_every_tested_phenotype_with_its_best_model(release_dir):
    hsq_p = json.loads((release_dir / "twas.json").read_text())["weights"]["hsq_p"]
    models = _table(release_dir, "twas_models")
    weights = _table(release_dir, "twas_weights")
    n_skipped = 0
    for panel, tissue, modality in _panels(release_dir):
        stats = _stats(release_dir, tissue, modality)
        assert list(stats.columns) == PHENOTYPE_STATS_COLUMNS
        bed = _bed_phenotypes(release_dir, tissue, modality)
        assert stats["phenotype_id"].tolist() == bed  # every phenotype of the BED, in its order
        with np.errstate(invalid="ignore"):
            assert (stats["heritable"].to_numpy(bool) == (stats["hsq_pval"].to_numpy(float) <= hsq_p)).all()
        fitted = models[models["panel"] == panel].set_index("phenotype_id")
        # a phenotype has a model exactly when it passed the heritability filter
        assert set(stats.loc[stats["heritable"], "phenotype_id"]) == set(fitted.index)
        assert (stats.loc[~stats["heritable"], "skipped_reason"] != "").all()
        n_skipped += int((~stats["heritable"]).sum())
        for row in stats[stats["heritable"]].itertuples():
            ref = fitted.loc[row.phenotype_id]
            assert row.model == ref["best_model"]
            assert row.cv_r2 == pytest.approx(ref[f"{ref['best_model']}_r2"], rel=1e-9)
            assert row.cv_pval == pytest.approx(ref[f"{ref['best_model']}_pval"], rel=1e-9)
            assert row.hsq == pytest.approx(ref["hsq"], rel=1e-9) and row.skipped_reason == ""
            w = weights[(weights["panel"] == panel) & (weights["phenotype_id"] == row.phenotype_id)][row.model]
            expected = int(np.any(w.fillna(0) != 0)) if row.model == "top1" else int((w.fillna(0) != 0).sum())
            assert row.n_snps_in_model == expected
        # the heritability of a skipped phenotype is published too (RatGTEx's phenotype_stats)
        skipped = stats[~stats["heritable"]]
        assert skipped["hsq"].notna().any() and (skipped["model"].isna() | (skipped["model"] == "")).all()
    assert n_skipped > 0


def test_phenotype_stats_table_is_the_union_of_the_downloads(release_dir):
    table = _table(release_dir, "twas_phenotype_stats")
    for panel, tissue, modality in _panels(release_dir):
        part = table[table["panel"] == panel]
        assert (part["tissue"] == tissue).all() and (part["modality"] == modality).all()
        stats = _stats(release_dir, tissue, modality)
        assert part["phenotype_id"].tolist() == stats["phenotype_id"].tolist()
        np.testing.assert_allclose(part["hsq_pval"].to_numpy(float), stats["hsq_pval"].to_numpy(float), rtol=1e-12)


def test_predictions_equal_twas_predict_on_the_release_genotypes(release_dir, site, tmp_path_factory):
    demo = twas_demo(tmp_path_factory.getbasetemp())
    atlas_text = (demo.root / "atlas.yaml").read_text()
    assert "predict_genotypes" not in atlas_text  # the default cohort: the release genotypes
    genotypes = demo.root / "releases" / RELEASE / "genotypes.vcf.gz"
    out = tmp_path_factory.mktemp("cli-predict")
    assert main(["twas", "predict", "--site", str(site), "--release", RELEASE, "--genotypes", str(genotypes),
                 "--scale", SCALE, "--keep-ambiguous", "--out", str(out)]) == 0
    models = _table(release_dir, "twas_models")
    for panel, tissue, modality in _panels(release_dir):
        published = pd.read_csv(_download(release_dir, "predictions", tissue, modality), sep="\t", index_col=0)
        cli = pd.read_csv(out / f"{panel}.predicted.tsv.gz", sep="\t", index_col=0)
        assert published.index.name == "individual" and published.index.tolist() == cli.index.tolist()
        assert published.columns.tolist() == cli.columns.tolist()
        assert set(published.columns) == set(models.loc[models["panel"] == panel, "phenotype_id"])
        np.testing.assert_allclose(published.to_numpy(), cli.to_numpy(), rtol=1e-6, atol=1e-12)
        # standardised: every prediction has mean 0 over the cohort
        np.testing.assert_allclose(published.mean().to_numpy(), 0.0, atol=1e-9)
    manifest = pd.read_csv(release_dir / "MANIFEST.tsv", sep="\t")
    described = manifest[manifest["path"].str.startswith("downloads/predictions.")]["description"]
    assert len(described) == len(_panels(release_dir)) and described.str.contains("standardised").all()


def test_predict_page_filters_by_gene_and_links_the_downloads(client, release_dir):
    table = _table(release_dir, "twas_phenotype_stats")
    gene = table.loc[table["heritable"], "gene_name"].value_counts().index[0]
    expected = table[table["gene_name"] == gene]
    r = client.get("/twas/predict", params={"gene": gene})
    assert r.status_code == 200, r.text[:300]
    page = Page(r.text)
    shown = list(zip(page.column("phenotype-stats-table", "tissue"), page.column("phenotype-stats-table", "modality"),
                     page.column("phenotype-stats-table", "phenotype_id"), strict=True))
    assert sorted(shown) == sorted(zip(expected["tissue"], expected["modality"], expected["phenotype_id"], strict=True))
    hsq = dict(zip(shown, page.column("phenotype-stats-table", "hsq"), strict=True))
    for row in expected.itertuples():
        assert float(hsq[(row.tissue, row.modality, row.phenotype_id)]) == pytest.approx(row.hsq, rel=1e-6)
    names = page.column("predict-downloads", "name")
    assert len(names) == 2 * len(_panels(release_dir))
    for _, tissue, modality in _panels(release_dir):
        for kind in ("predictions", "phenotype_stats"):
            name = _download(release_dir, kind, tissue, modality).name
            assert name in names and any(link.endswith(f"/downloads/{name}") for link in page.links), name
    assert "/twas/predict" in page.links  # the hub navigation links the page

    panel, tissue, modality = _panels(release_dir)[0]
    page = Page(client.get("/twas/predict", params={"tissue": tissue, "modality": modality}).text)
    assert set(page.column("phenotype-stats-table", "tissue")) == {tissue}
    assert len(page.column("phenotype-stats-table", "phenotype_id")) == min(100, int((table["panel"] == panel).sum()))
    assert {c for c in page.column("predict-downloads", "tissue")} == {tissue}


def test_predict_page_and_api_refuse_an_unknown_tissue(client):
    r = client.get("/twas/predict", params={"tissue": "Spleen"})
    assert r.status_code == 404 and "Spleen" in r.text
    r = client.get("/api/v1/twas/phenotype_stats", params={"tissue": "Spleen"})
    assert r.status_code == 404 and "Spleen" in r.json()["detail"]
    r = client.get("/api/v1/twas/phenotype_stats", params={"sort": "nope"})
    assert r.status_code == 400 and "sort" in r.text


def test_api_rows_are_the_table_rows(client, release_dir):
    table = _table(release_dir, "twas_phenotype_stats")
    panel, tissue, modality = _panels(release_dir)[-1]
    r = client.get("/api/v1/twas/phenotype_stats", params={"tissue": tissue, "modality": modality, "limit": 10000})
    assert r.status_code == 200
    rows = pd.DataFrame(r.json()["data"])
    part = table[table["panel"] == panel]
    assert sorted(rows["phenotype_id"]) == sorted(part["phenotype_id"])
    merged = rows.merge(part, on="phenotype_id", suffixes=("", "_t"))
    assert (merged["heritable"] == merged["heritable_t"]).all()
    np.testing.assert_allclose(merged["hsq"].astype(float), merged["hsq_t"].astype(float), rtol=1e-12)
    her = client.get("/api/v1/twas/phenotype_stats", params={"heritable": "true", "limit": 10000}).json()["data"]
    assert len(her) == int(table["heritable"].sum()) and all(r["heritable"] for r in her)


def test_a_release_without_twas_answers_the_no_twas_page(client):
    r = client.get("/twas/predict", params={"release": "v1"})
    assert r.status_code == 200 and "phenotype-stats-table" not in r.text
