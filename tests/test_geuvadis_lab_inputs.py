"""A lab's own inputs, as a new user writes them (issue 19): one tissue over ``../shared/reference/geuvadis22/``
— the unnormalised ``phenotypes.raw.bed.gz``, the PLINK genotypes, the lab's ``covariates.txt`` (3 genotype PCs
``gPC1..3`` and 50 expression PCs ``ePC1..50``) and the GENCODE v19 chr22 GTF — with the default ``mapping:``
settings. It must validate, run and build without editing: the lab's PCs replace the 5 genotype and 20
phenotype PCs the defaults would add, so the release is mapped with the lab's 53 covariates and nothing else.
The run (608 genes, 358 samples, 10,000 adaptive permutations and a trans scan) takes about a minute on 2 cores.
"""

from __future__ import annotations

import json
import re
import time

import pytest
from conftest import GEUVADIS22, SHARED

from qtlatlas.cli import main
from qtlatlas.io.covariates import read_covariates

pytestmark = pytest.mark.shared

GTF = SHARED / "data" / "geuvadis-chr22-qtltools" / "gencode.v19.annotation.chr22.gtf.gz"
ENTRY = "releases[0].tissues.LCL.expression"


def atlas_text(entry_extra: str = "") -> str:
    """The user's atlas.yaml (absolute paths into the shared reference data)."""
    return f"""\
atlas: {{name: GEUVADIS LCL eQTLs}}
tissues:
  - {{id: LCL, name: Lymphoblastoid cell lines}}
releases:
  - id: r1
    genome: GRCh37
    annotation: {GTF}
    genotypes: {GEUVADIS22 / "genotypes.bed"}
    tissues:
      LCL:
        expression:
          bed: {GEUVADIS22 / "phenotypes.raw.bed.gz"}
          covariates: {GEUVADIS22 / "covariates.txt"}{entry_extra}
"""


@pytest.fixture(scope="module")
def published(shared, tmp_path_factory):
    """The atlas validated, run and built once: its directory, the validate output and the seconds of each step."""
    root = tmp_path_factory.mktemp("geuvadis_lab")
    (root / "atlas.yaml").write_text(atlas_text())
    seconds, outputs = {}, {}
    steps = {"validate": ["validate", str(root / "atlas.yaml")],
             "run": ["run", str(root / "atlas.yaml"), "--release", "r1", "--cores", "2", "--quiet"],
             "build": ["build", str(root / "atlas.yaml"), "--release", "r1", "--site", str(root / "site")]}
    from qtlatlas.commands import console as console_module

    for name, argv in steps.items():
        with console_module.console.capture() as captured:
            start = time.perf_counter()
            code = main(argv)
            seconds[name] = time.perf_counter() - start
        outputs[name] = " ".join(captured.get().split())
        assert code == 0, f"qtlatlas {name} failed: {outputs[name]}"
    print("\nGEUVADIS with the lab's inputs: " + ", ".join(f"{k} {v:.1f} s" for k, v in seconds.items()))
    return {"root": root, "output": outputs, "seconds": seconds}


def test_validate_says_no_pc_is_computed(published):
    out = published["output"]["validate"]
    assert (f"note: {ENTRY}.covariates: r1 LCL/expression: the lab's covariates already hold genotype PCs (gPC1–3, "
            "by name) and phenotype PCs (ePC1–50, by name): no genotype or phenotype PC is computed") in out
    assert "no problems found" in out and "warning" not in out


def test_run_maps_with_the_labs_covariates_only(published):
    d = published["root"] / "work" / "r1" / "LCL" / "expression"
    given = read_covariates(GEUVADIS22 / "covariates.txt")
    used = read_covariates(d / "covariates.txt")
    assert list(used.index) == list(given.index) and len(used) == 53
    assert used.equals(given.loc[:, used.columns])
    design = json.loads((d / "covariates.json").read_text())
    assert design["computed"] == [] and set(design["lab_pcs"]) == {"genotype", "phenotype"}
    assert "note: LCL/expression: the lab's covariates already hold genotype PCs" in published["output"]["run"]
    summary = json.loads((d / "summary.json").read_text())
    print(f"\n{summary['significant']} eGenes of {summary['tested']} genes, {summary['samples']} samples")
    assert summary["tested"] == 608 and summary["samples"] == 358
    assert summary["significant"] >= 250  # the lab's 53 covariates (tensorQTL: 360 on the lab's INT values)


def test_methods_page_lists_the_53_covariates_and_no_computed_pc(published):
    from fastapi.testclient import TestClient

    from qtlatlas.web.app import create_app

    release = published["root"] / "site" / "releases" / "r1"
    [inputs] = json.loads((release / "release.json").read_text())["inputs"]
    names = list(read_covariates(GEUVADIS22 / "covariates.txt").index)
    assert inputs["covariates"] == names and inputs["lab_covariates"] == names
    assert inputs["lab_pcs"] == {"genotype": {"covariates": names[:3], "by": "name"},
                                 "phenotype": {"covariates": names[3:], "by": "name"}}
    page = TestClient(create_app(published["root"] / "site")).get("/about")
    assert page.status_code == 200
    inputs_table = page.text[page.text.index('id="inputs-table"'):].split("</table>")[0].replace("&#39;", "'")
    inputs_table = re.sub(r' data-label="[^"]*"', "", inputs_table)  # the phone cards' labels, not the values
    [row] = re.findall(r'<tr><td><a href="/tissue/LCL">LCL</a></td>(.*?)</tr>', inputs_table)
    assert row == ("<td>Expression</td><td>normalised by qtlatlas (quantile-normalised samples)</td>"
                   "<td class=\"num\">53</td><td>gPC1–3, ePC1–50</td>"
                   "<td>none: the lab's gPC1–3, ePC1–50 are PCs</td>")


def test_explicit_pcs_clashing_with_the_labs_names_are_reported_by_validate(shared, tmp_path, capsys):
    path = tmp_path / "atlas.yaml"
    path.write_text(atlas_text("\n          genotype_pcs: 5"))
    assert main(["validate", str(path)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert (f"warning: {ENTRY}.covariates: r1 LCL/expression: the lab's covariates already use names of computed PCs, "
            "which usually means they hold the PCs to use; as genotype_pcs: 5 is set, the computed ones are added, "
            "named computed_gPC1–5") in out
    assert f"note: {ENTRY}.covariates: r1 LCL/expression: the lab's covariates already hold phenotype PCs (ePC1–50, " \
           "by name): no phenotype PC is computed" in out



@pytest.fixture(scope="module")
def rpkm_site(published):
    """The same results built again with the expression unit declared (``unit: RPKM``; nothing is re-run)."""
    root = published["root"]
    path = root / "atlas_rpkm.yaml"
    path.write_text(atlas_text("\n          unit: RPKM"))
    site = root / "site_rpkm"
    assert main(["build", str(path), "--release", "r1", "--site", str(site), "--work", str(root / "work")]) == 0
    return site


def _client(site):
    from fastapi.testclient import TestClient

    from qtlatlas.web.app import create_app

    return TestClient(create_app(site))


GENE = "ENSG00000100027.10"  # YPEL1, an eGene of chr22


@pytest.mark.parametrize("unit", ["TPM", "RPKM"])
def test_expression_labels_api_and_downloads_follow_the_declared_unit(published, rpkm_site, unit):
    site = rpkm_site if unit == "RPKM" else published["root"] / "site"
    client = _client(site)
    gene = client.get(f"/gene/{GENE}")
    assert gene.status_code == 200
    text = gene.text
    assert f'<option value="log">log10({unit} + 1)</option><option value="linear">{unit}</option>' in text
    assert f"log10({unit} + 1)</text>" in text  # the server-drawn violins' axis title
    assert f"Expression ({unit}) of" in text
    data = json.loads(re.search(r'<script type="application/json" id="gene-data">(.*?)</script>', text, re.S)[1])
    assert data["unit"] == unit and data["expression"]
    rows = client.get(f"/api/v1/expression/{GENE}").json()["data"]
    assert len(rows) == 358 and {r["unit"] for r in rows} == {unit}
    median = client.get("/api/v1/expression/median", params={"genes": GENE}).json()["data"]
    assert [r["unit"] for r in median] == [unit]
    assert f"Median {unit}" in client.get("/tissue/LCL").text
    heatmap = client.get("/expression", params={"genes": GENE}).text
    assert f"<strong>log2({unit} + 1)</strong>" in heatmap and f"Median expression ({unit})" in heatmap
    downloads = client.get("/downloads").text
    assert f"median {unit} per gene and tissue." in downloads
    assert f"median expression ({unit}), genes × tissues" in downloads
    other = "RPKM" if unit == "TPM" else "TPM"
    assert f"({other})" not in text + heatmap + downloads and f"log10({other}" not in text


def test_a_release_without_twas_offers_no_twas_link(published):
    client = _client(published["root"] / "site")
    for path in (f"/gene/{GENE}", "/", "/about"):
        text = client.get(path).text
        assert "TWAS hub for" not in text and 'href="/twas/traits"' not in text, path
        assert 'href="/expression"' in text  # the release has expression values: the heatmap is offered
