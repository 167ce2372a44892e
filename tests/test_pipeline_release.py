"""The release pipeline end to end on a small demo atlas: local vs Dask, resumability, targeted re-runs,
SIGKILL at random points, build + verify, and the demo command."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from qtlatlas.cli import main
from qtlatlas.config import load_atlas
from qtlatlas.demo import DemoConfig, generate_demo
from qtlatlas.pipeline.plan import plan_release
from qtlatlas.pipeline.runner import run_graph

SMALL = DemoConfig(seed=5, n_individuals=120, n_variants_per_chrom=600, n_genes_per_chrom=15, n_traits=1, gwas_n=300)


def _digest(root: Path) -> dict[str, str]:
    """sha256 of every result file under ``root`` (state and logs excluded)."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and ".state" not in p.parts:
            out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


@pytest.fixture(scope="module")
def atlas_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("atlas")
    generate_demo(root, SMALL)
    return root


@pytest.fixture(scope="module")
def local_run(atlas_dir, tmp_path_factory):
    work = tmp_path_factory.mktemp("work_local")
    atlas = load_atlas(atlas_dir / "atlas.yaml")
    report = run_graph(plan_release(atlas, "v1", work), work / "v1" / ".state", executor="local", cores=2, progress=False)
    assert report.ok, [(t.id, t.status, t.error) for t in report.tasks if t.status != "done"]
    return work


def test_local_run_produces_every_result(local_run):
    v1 = local_run / "v1"
    for tissue in ("Adipose", "Brain"):
        for modality in ("expression", "isoforms", "splicing", "alt_TSS", "alt_polyA", "stability"):
            d = v1 / tissue / modality
            for name in ("phenotypes.bed.gz", "covariates.txt", "median.tsv.gz", "cis_qtl.txt.gz",
                         "cis_independent_qtl.txt.gz", "cis_qtl.signif_pairs.parquet", "summary.json"):
                assert (d / name).is_file(), d / name
            assert list((d / "nominal").glob("cis_qtl_pairs.*.parquet"))
        assert (v1 / tissue / "expression" / "trans_qtl_pairs.parquet").is_file()
        assert (v1 / tissue / "expression" / "aFC.txt.gz").is_file()
        assert (v1 / tissue / "cross_modality" / "cis_qtl.txt.gz").is_file()


def test_dask_gives_byte_identical_results(atlas_dir, local_run, tmp_path):
    atlas = load_atlas(atlas_dir / "atlas.yaml")
    report = run_graph(plan_release(atlas, "v1", tmp_path), tmp_path / "v1" / ".state", executor="dask", dask_local=2,
                       progress=False)
    assert report.ok
    assert _digest(tmp_path / "v1") == _digest(local_run / "v1")


def test_rerun_skips_and_changed_input_reruns_only_its_tasks(atlas_dir, tmp_path):
    root = tmp_path / "atlas"
    shutil.copytree(atlas_dir, root)
    atlas = load_atlas(root / "atlas.yaml")
    work = tmp_path / "work"
    state = work / "v1" / ".state"
    assert run_graph(plan_release(atlas, "v1", work), state, cores=2, progress=False).ok
    again = run_graph(plan_release(atlas, "v1", work), state, cores=2, progress=False)
    assert {t.status for t in again.tasks} == {"skipped"}
    # change one tissue's expression values: only that tissue's expression tasks and its cross-modality re-run
    import pandas as pd

    bed = root / "releases" / "v1" / "phenotypes" / "Brain.expression.bed.gz"
    frame = pd.read_csv(bed, sep="\t")
    frame.iloc[0, 4:] = frame.iloc[0, 4:].to_numpy(float) * 1.5 + 1
    from qtlatlas.io.phenotypes import read_phenotype_bed, write_phenotype_bed

    table = read_phenotype_bed(bed, allow_missing=True)
    table.values[0] = frame.iloc[0, 4:].to_numpy(float)
    write_phenotype_bed(table, bed)
    third = run_graph(plan_release(atlas, "v1", work), state, cores=2, progress=False)
    rerun = {t.id for t in third.tasks if t.status == "done"}
    # ... and the TWAS tasks that read Brain expression: its weights panel (when TWAS models expression), then
    # every trait's association and post-processing, which read all panels
    twas = tuple(f"v1/twas/{step}/" for step in ("assoc", "post")) + ("v1/twas/weights/Brain.expression",)
    # ... and sample QC, which reads the expression BED's sex marker genes and every tissue's cis results
    assert rerun and all(t.startswith(("v1/Brain/expression/", "v1/Brain/cross_modality/", *twas)) or
                         t == "v1/sample_qc" for t in rerun)
    assert "v1/sample_qc" in rerun
    assert "v1/Brain/expression/prepare" in rerun
    assert not any(t.startswith("v1/twas/weights/") and t != "v1/twas/weights/Brain.expression" for t in rerun)


def _run_cli(config: Path, work: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "qtlatlas.cli", "run", str(config), "--release", "v1", "--work", str(work),
                             "--cores", "2", "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_sigkill_at_random_points_resumes_to_identical_results(atlas_dir, local_run, tmp_path):
    config = atlas_dir / "atlas.yaml"
    start = time.perf_counter()
    assert _run_cli(config, tmp_path / "clean").wait() == 0
    duration = time.perf_counter() - start
    rng = np.random.default_rng(7)
    work = tmp_path / "killed"
    for fraction in sorted(rng.uniform(0.05, 0.95, 5)):
        proc = _run_cli(config, work)
        time.sleep(duration * fraction)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        # the worker processes of the killed run die with it (or finish a task that is then ignored)
        time.sleep(0.5)
    assert _run_cli(config, work).wait() == 0
    assert not list(work.rglob("*.tmp-*"))
    assert _digest(work / "v1") == _digest(tmp_path / "clean" / "v1") == _digest(local_run / "v1")


def test_build_verify_and_tampering(atlas_dir, local_run, tmp_path, capsys):
    config = atlas_dir / "atlas.yaml"
    site = tmp_path / "site"
    assert main(["build", str(config), "--release", "v1", "--site", str(site), "--work", str(local_run)]) == 0
    assert main(["verify", str(site)]) == 0
    # building over a published release is refused with a clear message
    assert main(["build", str(config), "--release", "v1", "--site", str(site), "--work", str(local_run)]) == 2
    assert "already published" in capsys.readouterr().err
    downloads = sorted((site / "releases" / "v1" / "downloads").iterdir())
    victim = downloads[len(downloads) // 2]
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0xFF
    victim.write_bytes(bytes(data))
    assert main(["verify", str(site / "releases" / "v1")]) == 2
    assert victim.name in capsys.readouterr().err


def test_build_without_run_names_the_missing_results(atlas_dir, tmp_path, capsys):
    assert main(["build", str(atlas_dir / "atlas.yaml"), "--release", "v2", "--site", str(tmp_path / "s"),
                 "--work", str(tmp_path / "empty")]) == 2
    assert "qtlatlas run" in capsys.readouterr().err


def test_demo_command_builds_two_releases(tmp_path, monkeypatch):
    import qtlatlas.commands.demo as demo_command

    monkeypatch.setattr(demo_command, "DEMO_CONFIG", SMALL)
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--no-serve", "--quiet"]) == 0
    releases = sorted(p.name for p in (out / "site" / "releases").iterdir() if not p.name.startswith("."))
    assert releases == ["v1", "v2"]
    assert main(["verify", str(out / "site")]) == 0
    # a second demo run keeps the published releases (verified), it does not fail or rebuild them
    assert main(["demo", "--out", str(out), "--no-serve", "--quiet"]) == 0


def _normalised_atlas(root: Path, lab_covariates: bool) -> Path:
    """The small hand-written atlas with its expression BED declared normalised and no computed PCs."""
    from atlas_factory import SAMPLES, make_atlas

    path = make_atlas(root)
    entry = "expression: {bed: T1.expression.bed, normalised: true, genotype_pcs: 0, phenotype_pcs: 0"
    if lab_covariates:
        rng = np.random.default_rng(2)
        rows = [f"{name}\t" + "\t".join(repr(float(x)) for x in rng.normal(size=27)) for name in ("gPC1", "age")]
        (root / "lab_covariates.txt").write_text("id\t" + "\t".join(SAMPLES[:27]) + "\n" + "\n".join(rows) + "\n")
        entry += ", covariates: lab_covariates.txt"
    text = path.read_text().replace("expression: {bed: T1.expression.bed}", entry + "}")
    path.write_text(text.replace("        isoforms: {bed: T1.isoforms.bed, groups: T1.isoforms.groups.txt}\n", ""))
    return path


def _expression_tasks(atlas, work: Path):
    tasks = plan_release(atlas, "r1", work)
    return [t for t in tasks if t.id == "r1/prune" or t.id.startswith("r1/T1/expression/")]


def test_declared_normalised_bed_is_mapped_and_published_as_given(tmp_path):
    from qtlatlas.io.covariates import read_covariates
    from qtlatlas.io.phenotypes import read_phenotype_bed

    atlas = load_atlas(_normalised_atlas(tmp_path, lab_covariates=True))
    work = tmp_path / "work"
    tasks = {t.id: t for t in plan_release(atlas, "r1", work)}
    prepare = tasks["r1/T1/expression/prepare"]
    assert prepare.params["normalised"] is True and "median" not in prepare.outputs
    assert (prepare.params["n_genotype_pcs"], prepare.params["n_phenotype_pcs"]) == (0, 0)
    report = run_graph(_expression_tasks(atlas, work), work / "r1" / ".state", cores=2, progress=False)
    assert report.ok, [(t.id, t.error) for t in report.tasks if t.status != "done"]
    d = work / "r1" / "T1" / "expression"
    given, mapped = read_phenotype_bed(tmp_path / "T1.expression.bed"), read_phenotype_bed(d / "phenotypes.bed.gz")
    assert mapped.samples == given.samples and np.array_equal(mapped.values, given.values)
    assert read_covariates(d / "covariates.txt").equals(read_covariates(tmp_path / "lab_covariates.txt"))
    assert not (d / "median.tsv.gz").exists() and (d / "cis_qtl.txt.gz").is_file()
    site = tmp_path / "site"
    assert main(["build", str(tmp_path / "atlas.yaml"), "--release", "r1", "--site", str(site), "--work", str(work)]) == 0
    downloads = sorted(p.name for p in (site / "releases" / "r1" / "downloads").iterdir())
    # published once, as the normalised phenotypes: neither as unnormalised values nor as expression levels
    assert [n for n in downloads if n.startswith(("phenotypes.", "median"))] == [
        "phenotypes.T1.expression.norm.r1_build1.bed.gz", "phenotypes.T1.expression.norm.r1_build1.bed.gz.tbi"]
    published = read_phenotype_bed(site / "releases" / "r1" / "downloads" / downloads[downloads.index(
        "phenotypes.T1.expression.norm.r1_build1.bed.gz")])
    assert np.array_equal(published.values, given.values)
    assert read_covariates(site / "releases" / "r1" / "downloads" / "covariates.T1.expression.r1.txt").equals(
        read_covariates(tmp_path / "lab_covariates.txt"))
    # no expression levels and no TWAS in this release: the portal offers no link to either
    from fastapi.testclient import TestClient

    from qtlatlas.web.app import create_app

    page = TestClient(create_app(site)).get("/gene/G1")
    assert page.status_code == 200
    for absent in ('id="expression"', 'href="#expression"', 'href="/expression', "TWAS hub for", 'href="/twas/traits"'):
        assert absent not in page.text, absent


def test_entries_without_the_new_keys_keep_their_task_parameters(tmp_path):
    from atlas_factory import make_atlas

    tasks = {t.id: t for t in plan_release(load_atlas(make_atlas(tmp_path)), "r1", tmp_path / "work")}
    for modality in ("expression", "isoforms"):
        params = tasks[f"r1/T1/{modality}/prepare"].params  # so their fingerprints, and finished results, hold
        assert "normalised" not in params and (params["n_genotype_pcs"], params["n_phenotype_pcs"]) == (5, 20)
        assert "normalization" not in params and "counts" not in params
        assert "median" in tasks[f"r1/T1/{modality}/prepare"].outputs


def test_mapping_without_any_covariate(tmp_path):
    atlas = load_atlas(_normalised_atlas(tmp_path, lab_covariates=False))
    work = tmp_path / "work"
    report = run_graph(_expression_tasks(atlas, work), work / "r1" / ".state", cores=2, progress=False)
    assert report.ok, [(t.id, t.error) for t in report.tasks if t.status != "done"]
    d = work / "r1" / "T1" / "expression"
    assert (d / "covariates.txt").read_text().count("\n") == 1  # the header: no covariate
    assert (d / "cis_qtl.txt.gz").is_file()


def test_constant_row_of_a_normalised_bed_fails_its_task_with_the_line(tmp_path):
    path = _normalised_atlas(tmp_path, lab_covariates=False)
    bed = (tmp_path / "T1.expression.bed").read_text().splitlines()
    fields = bed[2].split("\t")
    bed[2] = "\t".join(fields[:4] + ["1.5"] * (len(fields) - 4))
    (tmp_path / "T1.expression.bed").write_text("\n".join(bed) + "\n")
    work = tmp_path / "work"
    report = run_graph(_expression_tasks(load_atlas(path), work), work / "r1" / ".state", cores=1, progress=False)
    failed = {t.id: t.error for t in report.tasks if t.status == "failed"}
    assert list(failed) == ["r1/T1/expression/prepare"]
    assert "T1.expression.bed:3: phenotype 'G2' is constant (1.5) across the 27 mapped samples" in failed["r1/T1/expression/prepare"]


def _atlas_with_lab_covariates(root: Path, rows: dict[str, np.ndarray], entry_extra: str = "") -> Path:
    """The small hand-written atlas (expression BED to be normalised, default mapping settings) with the lab's
    covariates ``rows`` for its expression; isoforms left out."""
    from atlas_factory import SAMPLES, make_atlas

    path = make_atlas(root)
    lines = [f"{name}\t" + "\t".join(repr(float(x)) for x in values) for name, values in rows.items()]
    (root / "lab_covariates.txt").write_text("id\t" + "\t".join(SAMPLES[:27]) + "\n" + "\n".join(lines) + "\n")
    entry = "expression: {bed: T1.expression.bed, covariates: lab_covariates.txt" + entry_extra + "}"
    text = path.read_text().replace("expression: {bed: T1.expression.bed}", entry)
    path.write_text(text.replace("        isoforms: {bed: T1.isoforms.bed, groups: T1.isoforms.groups.txt}\n", ""))
    return path


def test_the_labs_pcs_replace_the_default_pcs(tmp_path, capsys):
    import json

    from qtlatlas.commands.pipeline import run_release
    from qtlatlas.io.covariates import read_covariates

    rng = np.random.default_rng(8)
    path = _atlas_with_lab_covariates(tmp_path, {n: rng.normal(size=27) for n in ("gPC1", "gPC2", "ePC1", "age")})
    atlas = load_atlas(path)
    work = tmp_path / "work"
    prepare = {t.id: t for t in plan_release(atlas, "r1", work)}["r1/T1/expression/prepare"]
    assert prepare.params["default_pcs"] == ["genotype", "phenotype"] and "design" in prepare.outputs
    assert run_release(atlas, "r1", work, cores=2, progress=False).ok
    d = work / "r1" / "T1" / "expression"
    assert read_covariates(d / "covariates.txt").equals(read_covariates(tmp_path / "lab_covariates.txt"))
    design = json.loads((d / "covariates.json").read_text())
    assert design["computed"] == [] and design["lab_pcs"] == {"genotype": {"covariates": ["gPC1", "gPC2"], "by": "name"},
                                                               "phenotype": {"covariates": ["ePC1"], "by": "name"}}
    out = " ".join(capsys.readouterr().out.split())
    assert ("note: T1/expression: the lab's covariates already hold genotype PCs (gPC1–2, by name) and phenotype PCs "
            "(ePC1, by name): no genotype or phenotype PC is computed") in out
    log = next((work / "r1" / ".state" / "logs").glob("r1_T1_expression_prepare-*.log")).read_text()
    assert "covariates: 4 (the lab's: gPC1–2, ePC1, age; computed: none)" in log
    # counts set in atlas.yaml are honoured: computed PCs added, renamed around the lab's names
    explicit = load_atlas(_atlas_with_lab_covariates(tmp_path, {n: rng.normal(size=27) for n in ("gPC1", "age")},
                                                     ", genotype_pcs: 2, phenotype_pcs: 1"))
    prepare = {t.id: t for t in plan_release(explicit, "r1", work)}["r1/T1/expression/prepare"]
    assert "default_pcs" not in prepare.params
    assert run_graph([t for t in plan_release(explicit, "r1", work) if t.id in ("r1/prune", prepare.id)],
                     work / "r1" / ".state", cores=1, progress=False).ok
    assert list(read_covariates(d / "covariates.txt").index) == ["computed_gPC1", "computed_gPC2", "computed_pPC1",
                                                                 "gPC1", "age"]


def test_unusable_covariates_fail_the_prepare_task_as_validate_does(tmp_path):
    rng = np.random.default_rng(9)
    age = rng.normal(size=27)
    path = _atlas_with_lab_covariates(tmp_path, {"age": age, "age_months": 12 * age + 3})
    work = tmp_path / "work"
    report = run_graph(_expression_tasks(load_atlas(path), work), work / "r1" / ".state", cores=1, progress=False)
    failed = {t.id: t.error for t in report.tasks if t.status == "failed"}
    assert list(failed) == ["r1/T1/expression/prepare"]
    assert "covariate(s) 'age_months' are linear combinations of the covariates listed before them" in failed[
        "r1/T1/expression/prepare"]
