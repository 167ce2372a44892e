"""Sample QC on the demo atlas (default size, 200 individuals): the pipeline's ``sample_qc`` task and
``qtlatlas validate --qc`` flag exactly what the demo plants (a swap of two samples in one tissue, each naming
the other individual, and one declared sex mislabel) and nothing else; the release publishes the report."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from qtlatlas.cli import main
from qtlatlas.config import load_atlas
from qtlatlas.demo import DemoConfig, DemoTruth, generate_demo
from qtlatlas.pipeline.plan import plan_release
from qtlatlas.pipeline.runner import run_graph
from qtlatlas.pipeline.sample_qc import read_report, report_path

#: The default demo without GWAS traits (no TWAS): what sample QC needs is the cis pass of every tissue.
CONFIG = DemoConfig(n_traits=0)


@pytest.fixture(scope="module")
def mapped(tmp_path_factory) -> tuple[Path, DemoTruth]:
    """The demo with release v2's prepare, cis and sample_qc tasks run (nothing else)."""
    out = tmp_path_factory.mktemp("qc-demo")
    truth = generate_demo(out, CONFIG)
    atlas = load_atlas(out / "atlas.yaml")
    tasks = [t for t in plan_release(atlas, "v2", out / "work")
             if t.id.endswith(("/prune", "/prepare", "/cis", "/sample_qc")) and "cross_modality" not in t.id]
    assert any(t.id == "v2/sample_qc" for t in tasks)
    report = run_graph(tasks, out / "work" / "v2" / ".state", executor="local", cores=2, threads_per_task=1,
                       progress=False)
    assert report.ok
    return out, truth


def _expected(truth: DemoTruth) -> set[tuple]:
    problems = truth.sample_problems
    swaps = {("identity", r.tissue, f"{r.individual_id}.{r.tissue}", r.individual_id, r.matches)
             for r in problems[problems["problem"] == "sample_swap"].itertuples()}
    flips = {("sex", r.individual_id) for r in problems[problems["problem"] == "sex_mislabel"].itertuples()}
    return swaps | flips


def _found(rows: pd.DataFrame) -> set[tuple]:
    flagged = rows[rows["flag"]]
    out = set()
    for r in flagged.itertuples():
        if r.check == "identity":
            out.add(("identity", r.tissue, r.sample_id, r.individual_id, r.observed))
        else:
            out.add(("sex", r.individual_id))
    return out


def test_pipeline_report_flags_the_planted_problems_and_nothing_else(mapped):
    out, truth = mapped
    report = read_report(report_path(out / "work", "v2"))
    assert _found(report.rows) == _expected(truth)
    # every sample of every tissue was checked with enough phenotypes, every individual's sex was called
    identity = report.rows[report.rows["check"] == "identity"]
    atlas = load_atlas(out / "atlas.yaml")
    n_samples = sum(len(pd.read_csv(m["expression"].bed, sep="\t", nrows=0).columns) - 4
                    for m in atlas.release("v2").tissues.values())
    assert len(identity) == n_samples and (identity["n_used"] >= 20).all()
    sex = report.rows[report.rows["check"] == "sex"]
    declared = pd.read_csv(atlas.release("v2").individuals, sep="\t").set_index("individual_id")["sex"]
    assert set(sex["observed"]) == {"female", "male"}
    agree = sex["observed"].to_numpy() == declared.loc[sex["individual_id"]].to_numpy()
    assert set(sex.loc[~agree, "individual_id"]) == {i for c, i, *_ in _expected(truth) if c == "sex"}
    flip = sex[sex["flag"]].iloc[0]
    assert flip["declared"] in flip["message"] and flip["observed"] in flip["message"]


def test_validate_qc_names_the_flagged_samples_and_exits_2(mapped, capsys):
    out, truth = mapped
    status = main(["validate", str(out / "atlas.yaml"), "--release", "v2", "--qc", "--work", str(out / "work")])
    text = capsys.readouterr().out
    assert status == 2
    assert "3 flagged by sample QC" in text
    for problem in truth.sample_problems.itertuples():
        assert problem.individual_id in text
    # without results the identity check is skipped with a note, and the sex check still runs
    status = main(["validate", str(out / "atlas.yaml"), "--release", "v2", "--qc", "--work", str(out / "none")])
    text = capsys.readouterr().out
    assert status == 2 and "identity check skipped" in text and "1 flagged" in text
