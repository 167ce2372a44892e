"""Sample and individual tables of a release (atlas.yaml ``samples`` / ``individuals``): parsing errors naming file
and line, reconciliation with the phenotype BEDs and genotypes by name, and a release of the small demo built with
them — its downloads, FASTQ lists, query tables, the /samples page and the /api/v1/samples and /individuals
endpoints checked against a pandas computation from the input tables."""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from browser.portal_site import demo_site
from fastapi.testclient import TestClient

from qtlatlas.errors import InputFileError, QtlAtlasError
from qtlatlas.io.sample_metadata import (
    load_sample_metadata,
    normalise_sex,
    read_individuals,
    read_samples,
    reconcile,
)
from qtlatlas.release import layout
from qtlatlas.web.pages.samples import MAX_SAMPLE_ROWS

TISSUES = ["Adipose", "Brain", "Liver"]


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# --------------------------------------------------------------------------------------------------
# Parsing and validation of the files
# --------------------------------------------------------------------------------------------------


def test_sex_spellings_are_normalised():
    assert [normalise_sex(v) for v in ("F", "female", "2", "M", "MALE", "1", "", "NA", "na", "0")] == [
        "female", "female", "female", "male", "male", "male", "", "", "", ""]
    assert normalise_sex("x") is None


def test_tables_read_as_text_with_comment_lines_and_free_columns(tmp_path):
    people = write(tmp_path / "individuals.tsv", "# individuals\nindividual_id\tsex\tage\nA\tF\t07\nB\t1\t\nC\tNA\t3\n")
    table = read_individuals(people)
    assert table.frame["sex"].tolist() == ["female", "male", ""]
    assert table.frame["age"].tolist() == ["07", "", "3"]  # text: the leading zero is kept
    assert list(table.frame.columns) == ["individual_id", "sex", "batch", "age"]
    assert table.lines == [3, 4, 5]
    samples = write(tmp_path / "samples.tsv", "#c1\n#c2\nsample_id\tindividual_id\ttissue\trin\n"
                    "s1\tA\tBrain\t7.5\ns2\tA\tLiver\t8\n")
    frame = read_samples(samples, TISSUES, table.frame).frame
    assert list(frame.columns) == ["sample_id", "individual_id", "tissue", "accession", "fastq", "batch", "rin"]
    assert frame["rin"].tolist() == ["7.5", "8"] and frame["fastq"].tolist() == ["", ""]
    # RatGTEx names each tissue's sample by its individual: one id in several tissues, one individual
    same = write(tmp_path / "same.tsv", "sample_id\tindividual_id\ttissue\nA\tA\tBrain\nA\tA\tLiver\n")
    assert read_samples(same, TISSUES, table.frame).frame["sample_id"].tolist() == ["A", "A"]


@pytest.mark.parametrize("text, line, words", [
    ("sample_id\tindividual_id\nS1\tA\n", 1, ["missing required column", "tissue"]),
    ("# note\nsample_id\tindividual_id\ttissue\nS1\tA\tBrain\nS1\tA\tBrain\n", 4, ["S1", "appears twice", "line 3"]),
    ("sample_id\tindividual_id\ttissue\nS1\tA\tBrain\nS1\tB\tLiver\n", 3, ["S1", "individual A", "line 2", "B"]),
    ("sample_id\tindividual_id\ttissue\nS1\tA\tBrain\nS2\tA\tBrain\n", 3, ["A", "two samples", "Brain", "S1", "S2"]),
    ("sample_id\tindividual_id\ttissue\nS1\tA\tKidney\n", 2, ["Kidney", "Adipose, Brain, Liver"]),
    ("sample_id\tindividual_id\ttissue\nS1\tZ\tBrain\n", 2, ["individual_id", "Z", "individuals.tsv"]),
    ("sample_id\tindividual_id\ttissue\nS1\t\tBrain\n", 2, ["individual_id", "empty"]),
    ("sample_id\tindividual_id\ttissue\nS1\tA\n", 2, ["2 fields", "3"]),
])
def test_sample_table_errors_name_file_line_and_value(tmp_path, text, line, words):
    people = read_individuals(write(tmp_path / "individuals.tsv", "individual_id\nA\nB\n"))
    path = write(tmp_path / "samples.tsv", text)
    with pytest.raises(InputFileError) as e:
        read_samples(path, TISSUES, people.frame, people.path)
    assert e.value.path == str(path) and e.value.line == line
    message = str(e.value)
    assert message.startswith(f"{path}:{line}: ")
    for word in words:
        assert word in message, (word, message)


@pytest.mark.parametrize("text, line, words", [
    ("id\tsex\nA\tF\n", 1, ["missing required column", "individual_id"]),
    ("individual_id\tsex\nA\tF\nB\tunknown\n", 3, ["sex", "'unknown'"]),
    ("individual_id\nA\nA\n", 3, ["A", "appears twice", "line 2"]),
    ("individual_id\ttissues\nA\tBrain\n", 1, ["tissues", "derived"]),
])
def test_individual_table_errors(tmp_path, text, line, words):
    path = write(tmp_path / "individuals.tsv", text)
    with pytest.raises(InputFileError) as e:
        read_individuals(path)
    assert e.value.line == line and str(e.value).startswith(f"{path}:{line}: ")
    for word in words:
        assert word in str(e.value)


def test_reconciliation_names_the_mismatches(tmp_path):
    people = write(tmp_path / "individuals.tsv", "individual_id\tsex\nA\tF\nB\tM\nC\t\nD\t2\n")
    samples = write(tmp_path / "samples.tsv", "sample_id\tindividual_id\ttissue\nA\tA\tBrain\nRNA-B\tB\tBrain\n"
                    "RNA-C\tC\tBrain\nA-liver\tA\tLiver\n")
    meta = load_sample_metadata(samples, people, TISSUES, {})
    beds = {"Brain": ["A", "B", "X1", "X2"], "Liver": ["A-liver"]}
    found = reconcile(meta, beds, genotyped={"A", "B", "C"}, release_tissues=["Brain", "Liver"])
    # BED columns match rows by sample id (A, A-liver) or individual id (B): X1 and X2 match none
    assert len(found.errors) == 1 and "X1, X2" in found.errors[0] and "Brain" in found.errors[0]
    assert str(samples) in found.errors[0]
    unused = next(w for w in found.warnings if "no phenotype BED" in w)
    assert "RNA-C (line 4)" in unused and "RNA-B" not in unused
    genotypes = next(w for w in found.warnings if "genotypes" in w)
    assert "D" in genotypes and str(people) in genotypes
    assert reconcile(meta, {"Brain": ["A", "B", "C"], "Liver": ["A"]}, {"A", "B", "C", "D"}, TISSUES).errors == []


def test_individuals_alone_must_cover_the_bed_samples(tmp_path):
    people = write(tmp_path / "individuals.tsv", "individual_id\nA\n")
    meta = load_sample_metadata(None, people, TISSUES, {"Brain": ["A"]})
    assert meta.samples[["sample_id", "individual_id", "tissue"]].values.tolist() == [["A", "A", "Brain"]]
    with pytest.raises(InputFileError, match="B"):
        load_sample_metadata(None, people, TISSUES, {"Brain": ["A", "B"]})


def test_release_keys_are_paths_relative_to_atlas_yaml(inputs, tmp_path):
    from qtlatlas.config import load_atlas

    _, root, _, _ = inputs
    text = (root / "atlas.yaml").read_text()
    assert "- id: v2\n" in text
    text = re.sub(r"\n  (samples|individuals): releases/v\d/\S+", "", text)  # the demo's own tables, replaced here
    text = text.replace("- id: v2\n", "- id: v2\n  samples: meta/samples.tsv\n  individuals: meta/individuals.tsv\n")
    atlas = load_atlas(write(tmp_path / "atlas.yaml", text))
    v2 = atlas.release("v2")
    assert v2.samples == tmp_path.resolve() / "meta" / "samples.tsv"
    assert v2.individuals == tmp_path.resolve() / "meta" / "individuals.tsv"
    assert atlas.release("v1").samples is None and atlas.release("v1").individuals is None


# --------------------------------------------------------------------------------------------------
# A release built with sample tables
# --------------------------------------------------------------------------------------------------


def sample_inputs(tmp_path_factory):
    """``(atlas, root, samples, individuals)``: the small demo's atlas with v2 given a sample table (Adipose and
    Brain samples named as their individuals, Liver samples ``RNA-<id>``), FASTQ files, accessions, batches and a
    free column, and an individual table (sex in several spellings, one individual without samples or
    genotypes)."""
    from qtlatlas.config import load_atlas
    from qtlatlas.release.sample_tables import bed_columns_of

    site = demo_site(tmp_path_factory)
    root = site.parent
    atlas = load_atlas(root / "atlas.yaml")
    beds = bed_columns_of(atlas.release("v2"))
    assert set(beds) == set(TISSUES)
    rows = []
    for t, tissue in enumerate(TISSUES):
        for i, individual in enumerate(beds[tissue]):
            sample = f"RNA-{individual}" if tissue == "Liver" else individual
            fastq = "" if i % 5 == 4 else (f"{sample}.fastq.gz" if tissue == "Adipose" else
                                           f"{sample}_R1.fastq.gz;{sample}_R2.fastq.gz")
            rows.append({"sample_id": sample, "individual_id": individual, "tissue": tissue,
                         "accession": f"SRR{1000 * t + i:07d}", "fastq": fastq, "batch": f"b{i % 3}",
                         "rin": f"{6 + (i % 4) / 2:.1f}"})
    samples = pd.DataFrame(rows)
    people = sorted(set(samples["individual_id"])) + ["NOGENO1"]
    spellings = ["F", "male", "2", "M", "", "NA", "female", "1"]
    individuals = pd.DataFrame({"individual_id": people, "sex": [spellings[i % 8] for i in range(len(people))],
                                "batch": [f"p{i % 2}" for i in range(len(people))],
                                "site": [f"site{i % 3}" for i in range(len(people))]})
    out = tmp_path_factory.mktemp("sample-tables")
    (out / "samples.tsv").write_text("# RNA samples of the demo\n" + samples.to_csv(sep="\t", index=False))
    individuals.to_csv(out / "individuals.tsv", sep="\t", index=False)
    releases = [r.model_copy(update={"samples": out / "samples.tsv", "individuals": out / "individuals.tsv"})
                if r.id == "v2" else r for r in atlas.releases]
    return atlas.model_copy(update={"releases": releases}), root, samples, individuals


def sample_site(inputs, tmp_path_factory) -> Path:
    """A site with v2 of :func:`sample_inputs` built from the demo's mapping results."""
    from qtlatlas.commands.pipeline import release_results
    from qtlatlas.release.build import build_release

    atlas, root, _, _ = inputs
    site = tmp_path_factory.mktemp("sample-site") / "site"
    build_release(atlas, "v2", site, release_results(atlas, "v2", root / "work"))
    return site


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    return sample_inputs(tmp_path_factory)


@pytest.fixture(scope="module")
def built(inputs, tmp_path_factory) -> Path:
    return sample_site(inputs, tmp_path_factory)


@pytest.fixture(scope="module")
def client(built):
    from qtlatlas.web.app import create_app

    return TestClient(create_app(built))


@pytest.fixture(scope="module")
def expected_individuals(inputs) -> pd.DataFrame:
    """The individual table as published: sex normalised, tissues sampled derived by pandas."""
    _, _, samples, individuals = inputs
    out = individuals.copy()
    out["sex"] = out["sex"].str.upper().map({"F": "female", "FEMALE": "female", "2": "female", "M": "male",
                                             "MALE": "male", "1": "male", "": "", "NA": ""})
    tissues = samples.groupby("individual_id")["tissue"].agg(lambda ts: [t for t in TISSUES if t in set(ts)])
    listed = out["individual_id"].map(tissues).apply(lambda v: v if isinstance(v, list) else [])
    out["n_tissues"] = listed.map(len)
    out["tissues"] = listed.map(",".join)
    return out


def read_tsv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)


def test_downloads_equal_the_input_tables(built, inputs, expected_individuals):
    _, _, samples, _ = inputs
    downloads = built / "releases" / "v2" / "downloads"
    published = read_tsv(downloads / "samples.v2.tsv")
    assert list(published.columns) == ["sample_id", "individual_id", "tissue", "accession", "fastq", "batch", "rin"]
    pd.testing.assert_frame_equal(published, samples.astype(str))
    people = read_tsv(downloads / "individuals.v2.tsv")
    assert list(people.columns) == ["individual_id", "sex", "batch", "site", "n_tissues", "tissues"]
    pd.testing.assert_frame_equal(people, expected_individuals.astype(str))
    assert people.loc[people["individual_id"] == "NOGENO1", "n_tissues"].item() == "0"
    # the query tables hold the same rows
    tables = built / "releases" / "v2" / "tables"
    pd.testing.assert_frame_equal(pd.read_parquet(tables / "sample_metadata.parquet").astype(str), samples.astype(str))
    stored = pd.read_parquet(tables / "individuals.parquet")
    assert stored["n_tissues"].tolist() == expected_individuals["n_tissues"].tolist()


def test_fastq_lists_one_row_per_file(built, inputs):
    _, _, samples, _ = inputs
    downloads = built / "releases" / "v2" / "downloads"
    for tissue in TISSUES:
        part = samples[samples["tissue"] == tissue].assign(fastq=lambda d: d["fastq"].str.split(";")).explode("fastq")
        part = part[part["fastq"] != ""]
        published = read_tsv(downloads / f"fastq.{tissue}.v2.tsv")
        assert list(published.columns) == ["fastq", "sample_id", "individual_id"]
        assert published.values.tolist() == part[["fastq", "sample_id", "individual_id"]].values.tolist()
    liver = read_tsv(downloads / "fastq.Liver.v2.tsv")
    assert liver["sample_id"].str.startswith("RNA-").all() and liver["fastq"].str.contains("_R2").any()


def test_manifest_describes_each_file(built):
    manifest = read_tsv(built / "releases" / "v2" / layout.MANIFEST)
    described = dict(zip(manifest["path"], manifest["description"], strict=True))
    assert "every RNA sample" in described["downloads/samples.v2.tsv"]
    assert "individual_id, sex" in described["downloads/individuals.v2.tsv"]
    assert "FASTQ files of Liver" in described["downloads/fastq.Liver.v2.tsv"]
    assert "downloads/samples.Liver.v2.txt" in described  # the per-tissue id lists are kept
    assert layout.table_path("sample_metadata") in described and layout.table_path("individuals") in described


def test_download_names():
    assert layout.download_name("sample_table", "v2", "hg38") == "samples.v2.tsv"
    assert layout.download_name("samples", "v2", "hg38", tissue="Liver") == "samples.Liver.v2.txt"
    assert layout.download_name("individuals", "v2", "hg38") == "individuals.v2.tsv"
    assert layout.download_name("fastq", "v2", "hg38", tissue="Liver") == "fastq.Liver.v2.tsv"


class _Cells(HTMLParser):
    """The text of each cell of the table with a given id: rows of ``{data-label: text}``."""

    def __init__(self, table_id: str):
        super().__init__()
        self.table_id, self.inside, self.rows, self.label = table_id, False, [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and attrs.get("id") == self.table_id:
            self.inside = True
        elif self.inside and tag == "tr":
            self.rows.append({})
        elif self.inside and tag == "td":
            self.label = attrs.get("data-label")
            self.rows[-1][self.label] = ""

    def handle_endtag(self, tag):
        if tag == "table":
            self.inside = False
        elif tag == "td":
            self.label = None

    def handle_data(self, data):
        if self.inside and self.label is not None:
            self.rows[-1][self.label] += data.strip()


def table_cells(html: str, table_id: str) -> list[dict]:
    parser = _Cells(table_id)
    parser.feed(html)
    return [r for r in parser.rows if r]


def test_page_counts_and_shared_individuals_equal_pandas(client, inputs, expected_individuals):
    _, _, samples, _ = inputs
    r = client.get("/samples")
    assert r.status_code == 200, r.text[:500]
    html = r.text
    sex = expected_individuals.set_index("individual_id")["sex"]
    rows = {row["Tissue"]: row for row in table_cells(html, "sample-counts")}
    for tissue in TISSUES:
        part = samples[samples["tissue"] == tissue]
        sexes = part["individual_id"].map(sex)
        row = rows[tissue]
        assert int(row["Samples"].replace(",", "")) == len(part)
        assert int(row["Individuals"].replace(",", "")) == part["individual_id"].nunique()
        assert int(row["Female"]) == (sexes == "female").sum()
        assert int(row["Male"]) == (sexes == "male").sum()
        assert int(row["Sex unknown"]) == (sexes == "").sum()
        batches = part["batch"].value_counts().sort_index()
        assert row["Samples per batch"] == ", ".join(f"{b}: {n}" for b, n in batches.items())
    cells = {(a, b): int(n) for a, b, n in re.findall(r'data-a="([^"]+)" data-b="([^"]+)" data-n="(\d+)"', html)}
    people = {t: set(samples.loc[samples["tissue"] == t, "individual_id"]) for t in TISSUES}
    assert cells == {(a, b): len(people[a] & people[b]) for a in TISSUES for b in TISSUES}
    combos = [(t, int(n)) for t, n in re.findall(r'<li data-tissues="([^"]+)" data-n="(\d+)"', html)]
    sampled = expected_individuals[expected_individuals["n_tissues"] > 0]
    assert dict(combos) == sampled["tissues"].value_counts().to_dict()
    assert [n for _, n in combos] == sorted((n for _, n in combos), reverse=True)
    for name in ("samples.v2.tsv", "individuals.v2.tsv", "fastq.Brain.v2.tsv"):
        assert f'href="/releases/v2/downloads/{name}"' in html
    assert 'id="no-sample-tables"' not in html


def test_page_filters_the_sample_table(client, inputs):
    _, _, samples, _ = inputs
    html = client.get("/samples", params={"tissue": "Liver"}).text
    shown = table_cells(html, "sample-table")
    liver = samples.loc[samples["tissue"] == "Liver", "sample_id"].tolist()
    assert [r["Sample"] for r in shown] == liver[:MAX_SAMPLE_ROWS]  # the first rows, and a note that there are more
    assert len(liver) > MAX_SAMPLE_ROWS and f"The first {MAX_SAMPLE_ROWS} of {len(liver)} samples" in html
    person = samples.iloc[0]["individual_id"]
    shown = table_cells(client.get("/samples", params={"individual": person}).text, "sample-table")
    assert sorted(r["Sample"] for r in shown) == sorted(samples.loc[samples["individual_id"] == person, "sample_id"])
    r = client.get("/samples", params={"tissue": "Kidney"})
    assert r.status_code == 404 and "Kidney" in r.text


def test_api_filters(client, inputs, expected_individuals):
    _, _, samples, _ = inputs
    body = client.get("/api/v1/samples", params={"tissue": "Liver"}).json()
    liver = samples[samples["tissue"] == "Liver"].astype(str)
    assert body["meta"]["total"] == len(liver)
    assert pd.DataFrame(body["data"])[list(liver.columns)].values.tolist() == liver.values.tolist()
    person = liver.iloc[0]["individual_id"]
    rows = client.get("/api/v1/samples", params={"individual": person}).json()["data"]
    assert sorted(r["sample_id"] for r in rows) == sorted(samples.loc[samples["individual_id"] == person, "sample_id"])
    tsv = client.get("/api/v1/samples", params={"format": "tsv", "limit": 7, "page": 2})
    assert read_tsv_text(tsv.text)["sample_id"].tolist() == samples["sample_id"].iloc[7:14].tolist()
    for sex in ("female", "male", "unknown"):
        for tissue in ("Brain", "Liver"):
            rows = client.get("/api/v1/individuals", params={"sex": sex, "tissue": tissue}).json()["data"]
            want = expected_individuals[(expected_individuals["sex"] == ("" if sex == "unknown" else sex))
                                        & expected_individuals["tissues"].str.split(",").map(lambda t, x=tissue: x in t)]
            assert [r["individual_id"] for r in rows] == want["individual_id"].tolist()
            assert [r["n_tissues"] for r in rows] == want["n_tissues"].tolist()


def read_tsv_text(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text), sep="\t", dtype=str, keep_default_na=False)


@pytest.mark.parametrize("url, params, status, word", [
    ("/api/v1/samples", {"tissue": "Kidney"}, 404, "Kidney"),
    ("/api/v1/individuals", {"tissue": "Kidney"}, 404, "Kidney"),
    ("/api/v1/samples", {"individual": "NOBODY"}, 404, "NOBODY"),
    ("/api/v1/individuals", {"sex": "other"}, 400, "sex"),
])
def test_api_errors(client, url, params, status, word):
    r = client.get(url, params=params)
    assert r.status_code == status and word in r.json()["detail"]


def test_validate_reports_mismatches_by_name(inputs, tmp_path):
    from qtlatlas.validate import validate_atlas

    atlas, root, samples, individuals = inputs
    brain = samples[samples["tissue"] == "Brain"]
    dropped = brain["individual_id"].iloc[:2].tolist()
    broken = samples.drop(brain.index[:2])
    extra = pd.DataFrame([{"sample_id": "RNA-EXTRA", "individual_id": "NOGENO1", "tissue": "Adipose"}])
    broken = pd.concat([broken, extra], ignore_index=True).fillna("")
    broken.to_csv(tmp_path / "samples.tsv", sep="\t", index=False)
    release = atlas.release("v2").model_copy(update={"samples": tmp_path / "samples.tsv"})
    changed = atlas.model_copy(update={"releases": [release if r.id == "v2" else r for r in atlas.releases]})
    report = validate_atlas(changed, ["v2"]).releases[0]
    errors = [e for e in report.errors if "samples" in e]
    assert len(errors) == 1 and all(d in errors[0] for d in dropped) and "Brain" in errors[0]
    assert any("RNA-EXTRA" in w and f"line {len(broken) + 1}" in w for w in report.warnings)
    assert any("NOGENO1" in w and "genotypes" in w for w in report.warnings)
    # the build refuses what validate calls an error, before any other work
    from qtlatlas.commands.pipeline import release_results
    from qtlatlas.release.build import build_release

    steps: list[str] = []
    with pytest.raises(QtlAtlasError, match=dropped[0]):
        build_release(changed, "v2", tmp_path / "site", release_results(changed, "v2", root / "work"),
                      on_step=steps.append)
    assert steps[-1] == "sample tables"
    assert not (tmp_path / "site" / "releases" / "v2").exists()



def test_downloads_page_lists_the_new_kinds(client):
    html = client.get("/downloads").text
    for kind, name in (("individuals", "individuals.v2.tsv"), ("fastq", "fastq.Liver.v2.tsv"),
                       ("samples", "samples.v2.tsv")):
        assert f'id="kind-{kind}"' in html and f"/downloads/{name}" in html
    urls = client.get("/releases/v2/urls.txt", params={"kind": "fastq"}).text.split()
    assert sorted(u.rsplit("/", 1)[-1] for u in urls) == [f"fastq.{t}.v2.tsv" for t in TISSUES]
