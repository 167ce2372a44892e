"""The full download set of a release, as RatGTEx publishes it: log2(count + 1) matrices per tissue, the
unnormalised expression named by its unit (TPM), the QTL tables of every tissue in one file per modality,
a specific MANIFEST description for every download, and the downloads page's rows of them."""

from __future__ import annotations

import gzip
import hashlib
import re
from html import unescape

import pandas as pd
import pysam
import pytest

from qtlatlas.config import load_atlas
from qtlatlas.release import layout
from qtlatlas.release.all_tissue_downloads import ALL_TISSUE_KINDS, AllTissueTables, concatenate_tissues
from qtlatlas.release.manifest import _default_description
from qtlatlas.store.site import Site
from qtlatlas.web.pages.download_matrix import build_groups, parse_name

RELEASE = "v2"


@pytest.fixture(scope="module")
def manifest(site) -> pd.DataFrame:
    return pd.read_csv(site / "releases" / RELEASE / "MANIFEST.tsv", sep="\t", keep_default_na=False)


@pytest.fixture(scope="module")
def genome(site) -> str:
    return Site(site).release(RELEASE).info["genome"]


def read_text_table(path) -> pd.DataFrame:
    """A gzipped TSV as text (values exactly as written)."""
    return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, na_filter=False)


# -- log2(count + 1) ---------------------------------------------------------------------------------


def test_log2_counts_published_per_tissue_with_the_counts_values(site, genome):
    atlas = load_atlas(site.parent / "atlas.yaml")
    given = [(t, m, inp.counts) for t, m, inp in atlas.release(RELEASE).inputs() if inp.counts is not None]
    assert len({t for t, _, _ in given}) == 3  # the demo gives counts for every tissue's expression
    downloads = site / "releases" / RELEASE / "downloads"
    for tissue, modality, counts in given:
        name = layout.download_name("log2_counts", RELEASE, genome, tissue=tissue, modality=modality)
        published = downloads / name
        assert published.is_file() and (downloads / f"{name}.tbi").is_file(), name
        expected = pd.read_csv(counts, sep="\t")
        got = pd.read_csv(published, sep="\t")
        pd.testing.assert_frame_equal(got, expected)
        # tabix finds the rows of a region: those of the BED on that chromosome
        chrom = str(expected.iloc[0, 0])
        with pysam.TabixFile(str(published)) as tbx:
            rows = [line.split("\t") for line in tbx.fetch(chrom)]
        want = expected[expected.iloc[:, 0].astype(str) == chrom]
        assert [r[3] for r in rows] == want.iloc[:, 3].astype(str).tolist()
        assert [float(v) for v in rows[0][4:]] == pytest.approx(want.iloc[0, 4:].astype(float).tolist())


# -- all-tissue QTL tables ---------------------------------------------------------------------------


def test_all_tissue_tables_hold_exactly_the_rows_of_the_per_tissue_files(site, genome):
    downloads = site / "releases" / RELEASE / "downloads"
    tissues = Site(site).release(RELEASE).tissue_ids()
    seen_modalities = set()
    rows = {}
    for kind in ALL_TISSUE_KINDS:
        per_tissue = {}
        for path in downloads.glob(f"{kind}.*.tsv.gz"):
            parts = path.name.split(".")
            if parts[1] in tissues:
                per_tissue.setdefault(parts[2], []).append((parts[1], path))
        assert per_tissue, kind
        for modality, files in per_tissue.items():
            seen_modalities.add(modality)
            whole = read_text_table(downloads / layout.download_name(kind, RELEASE, genome, modality=modality))
            frames = [read_text_table(p) for _, p in files]
            assert list(whole.columns) == ["tissue", *frames[0].columns], (kind, modality)
            assert len(whole) == sum(len(f) for f in frames), (kind, modality)
            rows[(kind, modality)] = len(whole)
            with_rows = sorted(t for (t, _), frame in zip(files, frames, strict=True) if len(frame))
            assert sorted(whole["tissue"].unique()) == with_rows, (kind, modality)
            for (tissue, _), frame in zip(files, frames, strict=True):
                mine = whole[whole["tissue"] == tissue].drop(columns="tissue")
                assert len(mine) == len(frame)
                key = list(frame.columns)
                joined = mine.merge(frame, on=key, how="outer", indicator=True)
                assert (joined["_merge"] == "both").all() and len(joined) == len(frame), (kind, tissue, modality)
    assert {"expression", "cross_modality"} <= seen_modalities
    assert all(rows[(kind, m)] > 0 for kind in ALL_TISSUE_KINDS for m in ("expression", "cross_modality"))


def test_concatenation_takes_the_union_of_columns_in_order(tmp_path):
    a, b = tmp_path / "a.tsv.gz", tmp_path / "b.tsv.gz"
    with gzip.open(a, "wt") as f:
        f.write("phenotype_id\tpval\nP1\t0.01\nP2\tNA\n")
    with gzip.open(b, "wt") as f:
        f.write("phenotype_id\tgroup_id\tpval\nP3\tG3\t1e-05\n")
    rows = concatenate_tissues([("Brain", a), ("Liver", b)], tmp_path / "all.tsv.gz")
    with gzip.open(tmp_path / "all.tsv.gz", "rt") as f:
        text = f.read()
    assert rows == 3
    assert text == ("tissue\tphenotype_id\tpval\tgroup_id\nBrain\tP1\t0.01\tNA\nBrain\tP2\tNA\tNA\n"
                    "Liver\tP3\t1e-05\tG3\n")
    with pytest.raises(ValueError, match="no all-tissue table"):
        AllTissueTables().add("nominal", "Brain", "expression", a)


# -- MANIFEST descriptions ---------------------------------------------------------------------------


def test_every_download_has_a_specific_description(manifest, genome):
    downloads = manifest[manifest["path"].str.startswith("downloads/")]
    assert len(downloads) > 50
    for path, description, kind in downloads[["path", "description", "kind"]].itertuples(index=False):
        assert description and description != "download", path
        assert description != _default_description(path)[0], path
        if kind == "index":
            indexed = path.rsplit("/", 1)[-1][: -len(".tbi")]
            assert path.endswith(".tbi") and indexed in description, (path, description)
    by_path = dict(zip(downloads["path"], downloads["description"], strict=True))
    raw = [p for p in by_path if re.fullmatch(r"downloads/phenotypes\.[^.]+\.expression\.raw\..*\.bed\.gz", p)]
    assert raw
    for p in raw:
        assert by_path[p].startswith("expression, TPM (unnormalised), genes × samples of "), by_path[p]
    whole = f"downloads/{layout.download_name('indep_assoc', RELEASE, genome, modality='cross_modality')}"
    assert "cross-modality xQTLs" in by_path[whole] and "every tissue" in by_path[whole]


# -- downloads page -----------------------------------------------------------------------------------


def matrix_of(html: str) -> str:
    start = html.index('id="download-matrix"')
    return html[start:html.index("</table>", start)]


def test_downloads_page_rows_of_the_new_files(client, manifest, genome, site):
    matrix = matrix_of(client.get("/downloads").text)
    assert '<th scope="col" class="all-tissues-col">All tissues</th>' in matrix
    titles = dict(re.findall(r'<h2 id="kind-([^"]+)-heading">([^<]+)</h2>', matrix))
    assert titles["log2_counts"] == "Read counts, log2(count + 1)"
    labels = [unescape(x) for x in re.findall(r'<th scope="row" class="row-label">([^<]*)</th>', matrix)]
    assert "Expression, TPM (unnormalised)" in labels
    sha = dict(zip(manifest["path"], manifest["sha256"], strict=True))
    release_dir = site / "releases" / RELEASE
    # the all-tissue files sit in the All tissues cell of the row of their kind and modality
    cells = re.findall(r'<td class="all-tissues">(.*?)</td>', matrix, re.S)
    linked = [n for c in cells for n in re.findall(r'class="file-link" href="/releases/v2/downloads/([^"]+)"', c)]
    want = {layout.download_name(k, RELEASE, genome, modality=m) for k in ALL_TISSUE_KINDS
            for m in ("expression", "cross_modality")}
    assert want <= set(linked)
    assert all(parse_name(n, set(), {"expression", "cross_modality", "splicing", "isoforms", "stability", "alt_TSS",
                                     "alt_polyA"})["modality"] for n in linked)
    tissues = Site(site).release(RELEASE).tissue_ids()
    counts = [layout.download_name("log2_counts", RELEASE, genome, tissue=t, modality="expression") for t in tissues]
    for name in [*sorted(want), *counts]:
        assert f'href="/releases/v2/downloads/{name}"' in matrix, name
        r = client.get(f"/releases/v2/downloads/{name}")
        assert r.status_code == 200, name
        assert r.content == (release_dir / "downloads" / name).read_bytes()
        assert hashlib.sha256(r.content).hexdigest() == sha[f"downloads/{name}"]
    # the row of every top QTL of expression: per-tissue cells and the all-tissue cell in one row
    row = re.search(r'<th scope="row" class="row-label">Expression</th>(.*?)</tr>',
                    matrix[matrix.index('id="kind-top_assoc"'):], re.S).group(1)
    assert layout.download_name("top_assoc", RELEASE, genome, modality="expression") in row
    for t in tissues:
        assert layout.download_name("top_assoc", RELEASE, genome, tissue=t, modality="expression") in row


def test_all_tissue_file_joins_the_row_of_its_per_tissue_files():
    files = [{"name": n, "url": f"/x/{n}", "bytes": 10, "sha256": "0" * 64, "description": n} for n in (
        "top_assoc.Brain.expression.v9_g1.tsv.gz", "top_assoc.Liver.expression.v9_g1.tsv.gz",
        "top_assoc.expression.v9_g1.tsv.gz", "indep_assoc.cross_modality.v9_g1.tsv.gz",
        "phenotypes.Brain.expression.raw.v9_g1.bed.gz", "median_tpm.v9.tsv.gz")]
    groups = {g.kind: g for g in build_groups(files, "v9", ["Brain", "Liver"],
                                              {"expression": "Expression", "cross_modality": "Cross-modality"},
                                              {}, unit="FPKM")}
    (top,) = groups["top_assoc"].rows
    assert set(top.cells) == {"Brain", "Liver"} and top.all_tissues.name == "top_assoc.expression.v9_g1.tsv.gz"
    assert groups["top_assoc"].n_files == 3 and groups["top_assoc"].has_all_tissues
    (xqtl,) = groups["indep_assoc"].rows
    assert xqtl.all_tissues is not None and not xqtl.cells and xqtl.label == "Cross-modality"
    assert groups["phenotypes"].rows[0].label == "Expression, FPKM (unnormalised)"
    assert not groups["median_tpm"].has_all_tissues and groups["median_tpm"].rows[0].files
