"""The sample QC report in a release and on the Samples page, on the small demo site: the published report equals
the pipeline's, the page's counts, flagged rows and sex-score plot agree with the table, the API filters it, and
bad parameters are 4xx responses naming them."""

from __future__ import annotations

import re
from html import unescape

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from qtlatlas.pipeline.sample_qc import read_report, report_path


@pytest.fixture(scope="module")
def table(site) -> pd.DataFrame:
    return pd.read_parquet(site / "releases" / "v2" / "tables" / "sample_qc.parquet")


def test_release_publishes_the_pipeline_report(site, table):
    work = read_report(report_path(site.parent / "work", "v2"))
    published = site / "releases" / "v2" / "downloads" / "sample_qc.v2.tsv"
    assert published.read_bytes() == report_path(site.parent / "work", "v2").read_bytes()
    assert len(table) == len(work.rows) and table["flag"].tolist() == work.rows["flag"].tolist()
    manifest = pd.read_csv(site / "releases" / "v2" / "MANIFEST.tsv", sep="\t")
    row = manifest[manifest["path"] == "downloads/sample_qc.v2.tsv"]
    assert len(row) == 1 and "sex" in row["description"].item() and "genotypes" in row["description"].item()


def test_sex_mislabel_planted_in_the_demo_is_flagged(site, table):
    truth = pd.read_csv(site.parent / "truth" / "sample_problems.tsv", sep="\t", keep_default_na=False)
    flip = truth.loc[truth["problem"] == "sex_mislabel", "individual_id"].item()
    sex = table[table["check"] == "sex"]
    assert set(sex.loc[sex["flag"], "individual_id"]) == {flip}


def test_samples_page_shows_the_counts_flagged_rows_and_plot(client, table):
    html = client.get("/samples?release=v2").text
    summary = unescape(re.sub(r"<[^>]+>", "", re.search(r'<p id="qc-summary">(.*?)</p>', html, re.S).group(1)))
    summary = " ".join(summary.split())
    sex, identity = table[table["check"] == "sex"], table[table["check"] == "identity"]
    assert f"Sex checked for {len(sex)} individuals" in summary
    assert f"{int(sex['flag'].sum())} flagged" in summary
    assert f"Identity checked for {len(identity)} samples of {identity['tissue'].nunique()} tissues" in summary
    section = html[html.index('id="sample-qc"'):html.index('id="counts-heading"')]
    flagged = table[table["flag"]]
    body = section[section.index('id="sample-qc-flagged"'):]
    assert body.count("<tr") - 1 == len(flagged)  # header row + one per flagged check
    for r in flagged.itertuples():
        assert r.individual_id in body
    dots = re.findall(r'<circle [^>]*data-individual="([^"]+)" data-declared="([^"]*)" data-score="([^"]+)" '
                      r'data-flag="(true|false)"', section)
    assert len(dots) == sex["score"].notna().sum()
    by_id = sex.set_index("individual_id")
    for individual, declared, score, flag in dots:
        assert by_id.loc[individual, "declared"] == declared
        assert float(score) == pytest.approx(by_id.loc[individual, "score"], rel=1e-3, abs=1e-4)
        assert (flag == "true") == bool(by_id.loc[individual, "flag"])


def test_api_filters_the_report(client, table):
    rows = client.get("/api/v1/samples/qc", params={"release": "v2", "flagged": "true"}).json()["data"]
    assert len(rows) == int(table["flag"].sum()) and all(r["flag"] for r in rows)
    liver = client.get("/api/v1/samples/qc", params={"release": "v2", "check": "identity", "tissue": "Liver"})
    expected = table[(table["check"] == "identity") & (table["tissue"] == "Liver")]
    assert [r["sample_id"] for r in liver.json()["data"]] == expected["sample_id"].tolist()
    bad = client.get("/api/v1/samples/qc", params={"release": "v2", "check": "swap"})
    assert bad.status_code == 400 and "check" in bad.text
    unknown = client.get("/api/v1/samples/qc", params={"release": "v2", "tissue": "Spleen"})
    assert unknown.status_code == 404 and "Spleen" in unknown.text


def test_release_without_a_report_has_no_qc_section(site, tmp_path):
    """A release built without sample QC (imported results, qc.enabled false) has no QC section and no rows."""
    import shutil

    from qtlatlas.web.app import create_app

    copy = tmp_path / "site"
    shutil.copytree(site, copy)
    (copy / "releases" / "v2" / "tables" / "sample_qc.parquet").unlink()
    client = TestClient(create_app(copy))
    html = client.get("/samples?release=v2").text
    assert 'id="sample-qc"' not in html and 'id="counts-heading"' in html
    assert client.get("/api/v1/samples/qc", params={"release": "v2"}).json()["data"] == []
