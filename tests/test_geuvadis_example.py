"""The real-data example atlas ``examples/geuvadis22/`` end to end: ``qtlatlas validate``, ``run`` and ``build``
into a temporary site, compared with tensorQTL 1.0.10 on the same inputs (``../shared/reference/geuvadis22/``,
whose README gives the agreement bars used here).

The example declares its phenotype BED normalised and maps with the lab's covariates only (3 genotype + 50
expression PCs), as the reference runs did, so the engine's nominal pass must equal tensorQTL's pair for pair
and the published top table must agree with tensorQTL's permutation pass as closely as the reference tools
agree with each other. The full example runs here (10,000 adaptive permutations, as ``atlas.yaml`` says):
about 2.5 minutes on 2 cores.
"""

from __future__ import annotations

import io
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import GEUVADIS22, REPO

from qtlatlas.cli import main
from qtlatlas.config import load_atlas
from qtlatlas.io.covariates import read_covariates
from qtlatlas.io.phenotypes import read_phenotype_bed

pytestmark = pytest.mark.shared

EXAMPLE = REPO / "examples" / "geuvadis22" / "atlas.yaml"
TQ = GEUVADIS22 / "tensorqtl"
RELEASE = "r1"
FDR = 0.05


@dataclass
class GeuvadisRelease:
    """Where the example was run and published: ``work`` (``qtlatlas run``'s work directory), ``site`` and
    ``release`` (``SITE/releases/r1``), with the wall time of each command in ``seconds``."""

    work: Path
    site: Path
    release: Path
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def results(self) -> Path:
        """The work directory's results of LCL expression."""
        return self.work / RELEASE / "LCL" / "expression"

    def download(self, name: str) -> Path:
        """The release's download file called ``name``."""
        return self.release / "downloads" / name


@pytest.fixture(scope="module")
def published_geuvadis_release(shared, tmp_path_factory) -> GeuvadisRelease:
    """The example validated, run and built into a temporary site (once per module).

    Checks of what the release publishes of the nominal pass (the all-pairs store and its download) take this
    fixture: ``published_geuvadis_release.release`` is the published release directory, and the engine's own
    nominal files are under ``published_geuvadis_release.results / "nominal"``.
    """
    root = tmp_path_factory.mktemp("geuvadis22")
    out = GeuvadisRelease(work=root / "work", site=root / "site", release=root / "site" / "releases" / RELEASE)
    steps = {
        "validate": ["validate", str(EXAMPLE)],
        "run": ["run", str(EXAMPLE), "--release", RELEASE, "--work", str(out.work), "--cores", "2", "--quiet"],
        "build": ["build", str(EXAMPLE), "--release", RELEASE, "--site", str(out.site), "--work", str(out.work)],
    }
    for name, argv in steps.items():
        start = time.perf_counter()
        assert main(argv) == 0, f"qtlatlas {name} failed"
        out.seconds[name] = time.perf_counter() - start
    print("\nGEUVADIS example: " + ", ".join(f"{k} {v:.1f} s" for k, v in out.seconds.items()))
    return out


def test_example_paths_are_relative_to_the_yaml_and_resolve():
    text = EXAMPLE.read_text()
    assert "../../../shared/" in text and "/work/" not in text
    atlas = load_atlas(EXAMPLE)
    release = atlas.release(RELEASE)
    entry = release.tissues["LCL"]["expression"]
    assert entry.normalised and entry.pcs(atlas.mapping) == (0, 0)
    for path in (entry.bed, entry.covariates, release.annotation, *release.genotypes):
        assert Path(path).is_file(), path
    assert Path(entry.bed).resolve() == (GEUVADIS22 / "phenotypes.int.bed.gz").resolve()
    assert (atlas.mapping.window, atlas.mapping.maf_threshold, atlas.mapping.min_mac, atlas.mapping.seed) == (
        1_000_000, 0, 0, 12345)  # tensorQTL's defaults: the reference outputs test every polymorphic variant


def test_nominal_pass_equals_tensorqtl(published_geuvadis_release):
    files = sorted((published_geuvadis_release.results / "nominal").glob("cis_qtl_pairs.*.parquet"))
    ours = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    ref = pd.read_parquet(TQ / "g22.cis_qtl_pairs.chr22.parquet")
    assert len(ours) == len(ref) == 541_349
    m = ref.merge(ours, on=["phenotype_id", "variant_id"], suffixes=("_t", ""), validate="one_to_one")
    assert len(m) == 541_349  # the same pairs
    mono = m["pval_nominal_t"].isna().to_numpy()
    assert mono.sum() == 714
    assert (m["pval_nominal"].isna().to_numpy() == mono).all() and m.loc[mono, "slope"].isna().all()
    dlog = np.abs(np.log10(m["pval_nominal"].to_numpy()[~mono]) - np.log10(m["pval_nominal_t"].to_numpy()[~mono]))
    dslope = np.abs(m["slope"].to_numpy()[~mono] - m["slope_t"].to_numpy()[~mono]) / m["slope_se_t"].to_numpy()[~mono]
    print(f"\nnominal: {len(m):,} pairs, max |Δ log10 p| {dlog.max():.2e}, max |Δ slope|/SE {dslope.max():.2e}")
    assert dlog.max() <= 1e-3
    assert dslope.max() <= 1e-3


def _agrees_with_tensorqtl(ours: pd.DataFrame, what: str) -> None:
    """``ours`` (pairs with ``pval_nominal, slope``) holds tensorQTL's pairs at the reference bars."""
    ref = pd.read_parquet(TQ / "g22.cis_qtl_pairs.chr22.parquet")
    m = ref.merge(ours, on=["phenotype_id", "variant_id"], suffixes=("_t", ""), validate="one_to_one")
    assert len(ours) == len(m) == len(ref) == 541_349, what
    mono = m["pval_nominal_t"].isna().to_numpy()
    assert (pd.to_numeric(m["pval_nominal"]).isna().to_numpy() == mono).all(), what
    p = m["pval_nominal"].to_numpy(float)[~mono]
    dlog = np.abs(np.log10(p) - np.log10(m["pval_nominal_t"].to_numpy()[~mono]))
    dslope = np.abs(m["slope"].to_numpy(float)[~mono] - m["slope_t"].to_numpy()[~mono]) / m["slope_se_t"].to_numpy()[~mono]
    print(f"\n{what}: {len(m):,} pairs, max |Δ log10 p| {dlog.max():.2e}, max |Δ slope|/SE {dslope.max():.2e}")
    assert dlog.max() <= 1e-3 and dslope.max() <= 1e-3, what


def test_published_nominal_download_and_api_equal_tensorqtl(published_geuvadis_release):
    from fastapi.testclient import TestClient

    from qtlatlas.web.app import create_app

    download = published_geuvadis_release.download(f"nominal.LCL.expression.{RELEASE}_GRCh37.tsv.gz")
    assert Path(f"{download}.tbi").is_file()
    _agrees_with_tensorqtl(pd.read_csv(download, sep="\t", na_values=["NA"]), "nominal download")
    client = TestClient(create_app(published_geuvadis_release.site))
    genes = pd.read_parquet(TQ / "g22.cis_qtl_pairs.chr22.parquet", columns=["phenotype_id"])["phenotype_id"].unique()
    parts = []
    for gene in genes:
        r = client.get(f"/api/v1/all-pairs/gene/{gene}", params={"limit": 10_000, "format": "tsv"})
        assert r.status_code == 200, gene
        parts.append(pd.read_csv(io.StringIO(r.text), sep="\t", na_values=["NA"]))
    _agrees_with_tensorqtl(pd.concat(parts, ignore_index=True), "API all pairs")


def test_published_top_table_agrees_with_tensorqtl(published_geuvadis_release):
    top = pd.read_csv(published_geuvadis_release.download(f"top_assoc.LCL.expression.{RELEASE}_GRCh37.tsv.gz"), sep="\t")
    ref = pd.read_csv(TQ / "g22.cis_qtl.txt.gz", sep="\t")
    m = top.merge(ref, on="phenotype_id", suffixes=("", "_t"), validate="one_to_one")
    assert len(top) == len(m) == 608
    same_top = int((m["variant_id"] == m["variant_id_t"]).sum())
    r = np.corrcoef(-np.log10(m["pval_beta"]), -np.log10(m["pval_beta_t"]))[0, 1]
    egenes, egenes_t = int((m["qval"] <= FDR).sum()), int((m["qval_t"] <= FDR).sum())
    calls = float(((m["qval"] <= FDR) == (m["qval_t"] <= FDR)).mean())
    print(f"\ntop table: same top variant {same_top}/608, r(-log10 pval_beta) {r:.5f}, eGenes {egenes} "
          f"(tensorQTL {egenes_t}), calls agree {calls:.2%}")
    assert same_top >= 0.99 * 608
    assert r >= 0.999
    assert egenes_t == 360 and abs(egenes - egenes_t) <= 6
    assert calls >= 0.99
    # the portal's table holds the same top QTLs
    portal = pd.read_parquet(published_geuvadis_release.release / "tables" / "top_qtls.parquet")
    portal = portal[(portal["tissue"] == "LCL") & (portal["modality"] == "expression")]
    assert dict(zip(portal["phenotype_id"], portal["variant_id"], strict=True)) == dict(
        zip(top["phenotype_id"], top["variant_id"], strict=True))
    assert int((portal["qval"] <= FDR).sum()) == egenes


def test_published_inputs_are_the_labs_own(published_geuvadis_release):
    release = published_geuvadis_release
    # covariates: the lab's 53, nothing computed added, values as given
    given = read_covariates(GEUVADIS22 / "covariates.txt")
    published = read_covariates(release.download(f"covariates.LCL.expression.{RELEASE}.txt"))
    assert list(published.index) == list(given.index) == [f"gPC{i}" for i in range(1, 4)] + [f"ePC{i}" for i in range(1, 51)]
    assert published.equals(given.loc[:, published.columns]) and set(published.columns) == set(given.columns)
    # phenotypes: published once, as the normalised phenotypes, with the input's values
    bed = read_phenotype_bed(GEUVADIS22 / "phenotypes.int.bed.gz")
    norm = read_phenotype_bed(release.download(f"phenotypes.LCL.expression.norm.{RELEASE}_GRCh37.bed.gz"))
    assert norm.phenotype_ids == bed.phenotype_ids and norm.samples == bed.samples
    assert np.array_equal(norm.values, bed.values)
    portal = pd.read_parquet(release.release / "tables" / "phenotypes" / "LCL.expression.parquet").set_index("phenotype_id")
    expected = pd.DataFrame(bed.values.astype(np.float32), index=bed.phenotype_ids, columns=bed.samples)
    assert np.array_equal(portal.loc[expected.index, expected.columns].to_numpy(), expected.to_numpy())
    names = [p.name for p in (release.release / "downloads").iterdir()]
    assert not [n for n in names if (n.startswith("phenotypes.") and ".raw." in n) or n.startswith("median")]


def test_methods_page_lists_the_covariates_used(published_geuvadis_release):
    from fastapi.testclient import TestClient

    from qtlatlas.web.app import create_app

    info = json.loads((published_geuvadis_release.release / "release.json").read_text())
    assert info["inputs"] == [{"tissue": "LCL", "modality": "expression", "phenotypes": "as_given",
                               "covariates": list(read_covariates(GEUVADIS22 / "covariates.txt").index),
                               "lab_covariates": list(read_covariates(GEUVADIS22 / "covariates.txt").index)}]
    page = TestClient(create_app(published_geuvadis_release.site)).get("/about")
    assert page.status_code == 200
    assert "gPC1–3, ePC1–50" in page.text and "as given (normalised by the lab)" in page.text
