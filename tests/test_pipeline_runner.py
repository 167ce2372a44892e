"""The generic task-graph runner (qtlatlas.pipeline): fingerprints, skipping, failures, executors."""

from __future__ import annotations

import io
import json
import os
import time
from pathlib import Path

import pipeline_toy
import pytest

from qtlatlas.errors import QtlAtlasError
from qtlatlas.pipeline import Task, load_records, run_graph
from qtlatlas.pipeline import hashing as hashing_mod
from qtlatlas.pipeline.graph import build_graph, safe_name
from qtlatlas.pipeline.state import StateDir

TOY = "pipeline_toy"


def run(tasks, state, **kw):
    kw.setdefault("cores", 2)
    kw.setdefault("progress", False)
    return run_graph(tasks, state, **kw)


def statuses(report) -> dict[str, str]:
    return {t.id: t.status for t in report.tasks}


def concat(tid, out, inputs, deps=(), **params):
    inputs = [str(p) for p in inputs]
    return Task(
        tid,
        f"{TOY}:concat",
        {"inputs": inputs, **params},
        {"out": str(out)},
        inputs=tuple(inputs),
        deps=tuple(deps),
        label=tid.upper(),
    )


def diamond(tmp: Path, suffix_c: str = "!", note_a: str | None = None) -> list[Task]:
    """in1 -> A; (A, in2) -> B; A -> C; (B, C) -> D."""
    i1, i2, o = tmp / "in" / "1.txt", tmp / "in" / "2.txt", tmp / "out"
    extra = {} if note_a is None else {"note": note_a}
    return [
        concat("d/A", o / "a.txt", [i1], suffix="+a", **extra),
        concat("d/B", o / "b.txt", [o / "a.txt", i2], deps=["d/A"]),
        concat("d/C", o / "c.txt", [o / "a.txt"], deps=["d/A"], suffix=suffix_c),
        concat("d/D", o / "d.txt", [o / "b.txt", o / "c.txt"], deps=["d/B", "d/C"], sep="/"),
    ]


@pytest.fixture
def dia(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "1.txt").write_text("one")
    (tmp_path / "in" / "2.txt").write_text("two")
    return tmp_path


def test_diamond_runs_then_skips_and_reruns_only_what_changed(dia):
    state = dia / "state"
    rep = run(diamond(dia), state)
    assert rep.ok and statuses(rep) == dict.fromkeys(["d/A", "d/B", "d/C", "d/D"], "done")
    assert (dia / "out" / "d.txt").read_text() == "one+a|two/one+a!"
    assert [t.label for t in rep.tasks] == ["D/A", "D/B", "D/C", "D/D"]
    assert all(Path(t.log_path).is_file() for t in rep.tasks)

    rep = run(diamond(dia), state)
    assert rep.ok and set(statuses(rep).values()) == {"skipped"}

    # new content for in2: B and D only
    (dia / "in" / "2.txt").write_text("TWO")
    rep = run(diamond(dia), state)
    assert statuses(rep) == {"d/A": "skipped", "d/B": "done", "d/C": "skipped", "d/D": "done"}
    assert (dia / "out" / "d.txt").read_text() == "one+a|TWO/one+a!"

    # same content rewritten (new mtime): nothing
    (dia / "in" / "2.txt").write_text("TWO")
    rep = run(diamond(dia), state)
    assert set(statuses(rep).values()) == {"skipped"}

    # a param of C: C and its dependent D
    rep = run(diamond(dia, suffix_c="?"), state)
    assert statuses(rep) == {"d/A": "skipped", "d/B": "skipped", "d/C": "done", "d/D": "done"}
    assert (dia / "out" / "d.txt").read_text() == "one+a|TWO/one+a?"

    # a deleted output: its task re-runs; identical content keeps the dependent up to date
    (dia / "out" / "b.txt").unlink()
    rep = run(diamond(dia, suffix_c="?"), state)
    assert statuses(rep) == {"d/A": "skipped", "d/B": "done", "d/C": "skipped", "d/D": "skipped"}

    # a param change that leaves A's output byte-identical: A re-runs, nothing downstream does
    rep = run(diamond(dia, suffix_c="?", note_a="ignored"), state)
    assert statuses(rep) == {"d/A": "done", "d/B": "skipped", "d/C": "skipped", "d/D": "skipped"}

    # an output modified behind the runner's back (same size): its task re-runs and restores it
    (dia / "out" / "c.txt").write_text("XXXXXXX")
    rep = run(diamond(dia, suffix_c="?", note_a="ignored"), state)
    assert statuses(rep) == {"d/A": "skipped", "d/B": "skipped", "d/C": "done", "d/D": "skipped"}
    assert (dia / "out" / "c.txt").read_text() == "one+a?"

    records = load_records(state)
    assert set(records) == {"d/A", "d/B", "d/C", "d/D"}
    out_d = records["d/D"]["outputs"]["out"]
    assert out_d["size"] == len("one+a|TWO/one+a?")
    assert out_d["sha256"] == hashing_mod.sha256_file(str(dia / "out" / "d.txt"))
    assert not list((dia / "out").glob("*.tmp-*"))


def test_threads_are_passed_and_not_fingerprinted(tmp_path):
    task = Task("t", f"{TOY}:threads_env", {}, {"out": str(tmp_path / "t.txt")})
    rep = run([task], tmp_path / "state", threads_per_task=3, cores=1)
    assert rep.ok
    assert (tmp_path / "t.txt").read_text() == "3 3 3 3\n"
    rep = run([task], tmp_path / "state", threads_per_task=1, cores=1)
    assert statuses(rep) == {"t": "skipped"}


def test_failure_is_isolated_and_logged_then_fixed(dia):
    o = dia / "out"
    state = dia / "state"

    def graph(really: bool):
        return [
            concat("ok1", o / "ok1.txt", [dia / "in" / "1.txt"]),
            Task("bad", f"{TOY}:fail", {"really": really}, {"out": str(o / "bad.txt")}, label="the bad one"),
            concat("after_bad", o / "after_bad.txt", [o / "bad.txt"], deps=["bad"]),
            concat("after_after", o / "after_after.txt", [o / "after_bad.txt"]),  # implicit dep
            concat("ok2", o / "ok2.txt", [o / "ok1.txt"], deps=["ok1"]),
        ]

    console_file = io.StringIO()
    from rich.console import Console

    console = Console(file=console_file, width=200, force_terminal=False)
    rep = run_graph(graph(True), state, cores=2, progress=True, console=console)
    assert not rep.ok
    assert statuses(rep) == {
        "ok1": "done",
        "bad": "failed",
        "after_bad": "blocked",
        "after_after": "blocked",
        "ok2": "done",
    }
    bad = rep["bad"]
    assert bad.error == "RuntimeError: toy failure"
    assert "'bad'" in rep["after_bad"].error
    log = Path(bad.log_path).read_text()
    assert "Traceback (most recent call last)" in log and "RuntimeError: toy failure" in log
    assert "about to fail" in log and "# task: bad" in log
    assert not (o / "bad.txt").exists() and not list(o.glob("bad.txt.tmp-*"))
    assert "bad" not in load_records(state)
    shown = console_file.getvalue()
    assert "FAILED" in shown and "the bad one" in shown and bad.log_path in shown.replace("\n", "")

    rep = run(graph(False), state)
    assert rep.ok
    assert statuses(rep) == {
        "ok1": "skipped",
        "bad": "done",
        "after_bad": "done",
        "after_after": "done",
        "ok2": "skipped",
    }
    assert (o / "after_after.txt").read_text() == "fixed"


def test_a_dying_worker_fails_its_task_and_the_run_goes_on(tmp_path):
    tasks = [
        Task("die", f"{TOY}:die", {}, {"out": str(tmp_path / "die.txt")}),
        concat("after", tmp_path / "after.txt", [tmp_path / "die.txt"]),
        concat("other", tmp_path / "other.txt", [], suffix="x"),
    ]
    rep = run(tasks, tmp_path / "state", cores=1)
    assert statuses(rep) == {"die": "failed", "after": "blocked", "other": "done"}
    assert "worker" in rep["die"].error
    assert "# FAILED: worker lost" in Path(rep["die"].log_path).read_text()
    assert (tmp_path / "other.txt").read_text() == "x"


def test_missing_input_fails_the_task_only(tmp_path):
    tasks = [
        concat("needs", tmp_path / "o1.txt", [tmp_path / "nope.txt"]),
        concat("fine", tmp_path / "o2.txt", []),
    ]
    rep = run(tasks, tmp_path / "state", cores=1)
    assert statuses(rep) == {"needs": "failed", "fine": "done"}
    assert "nope.txt" in rep["needs"].error
    assert "nope.txt" in Path(rep["needs"].log_path).read_text()


@pytest.mark.parametrize(
    "tasks, match",
    [
        (
            [Task("x", "m:f", {}, {"o": "/tmp/q/1"}), Task("x", "m:f", {}, {"o": "/tmp/q/2"})],
            "duplicate task ids: x",
        ),
        ([Task("x", "m:f", {}, {"o": "/tmp/q/1"}, deps=("ghost",))], "unknown tasks: 'x' -> 'ghost'"),
        (
            [
                Task("a", "m:f", {}, {"o": "/tmp/q/a"}, deps=("c",)),
                Task("b", "m:f", {}, {"o": "/tmp/q/b"}, deps=("a",)),
                Task("c", "m:f", {}, {"o": "/tmp/q/c"}, deps=("b",)),
                Task("d", "m:f", {}, {"o": "/tmp/q/d"}),
            ],
            "cycle: a -> c -> b -> a",
        ),
        (
            [Task("a", "m:f", {}, {"o": "/tmp/q/a"}), Task("b", "m:f", {}, {"p": "/tmp/q/a"})],
            r"output /tmp/q/a is declared by two tasks: 'a' and 'b'",
        ),
        (
            [Task("a", "m:f", {}, {"o": "/tmp/q/d/"}), Task("b", "m:f", {}, {"p": "/tmp/q/d/x"})],
            "inside output directory /tmp/q/d/ of task 'a'",
        ),
        ([Task("a", "m:f", {}, {"o": "rel/a"})], "must be absolute"),
        ([Task("a", "m:f", {"x": {1, 2}}, {"o": "/tmp/q/a"})], "not JSON-serialisable"),
        ([Task("a", "nocolon", {}, {"o": "/tmp/q/a"})], "package.module:function"),
        ([Task("a", "m:f", {}, {"o": "/tmp/q/a"}, inputs=("/tmp/q/a",))], "reads its own output"),
    ],
)
def test_invalid_graphs_raise(tmp_path, tasks, match):
    with pytest.raises(QtlAtlasError, match=match):
        run_graph(tasks, tmp_path / "state", progress=False)
    assert not (tmp_path / "state").exists()


def test_graph_order_and_implicit_deps():
    g = build_graph(
        [
            Task("late", "m:f", {}, {"o": "/tmp/q/late"}, inputs=("/tmp/q/dir/x.txt",)),
            Task("early", "m:f", {}, {"o": "/tmp/q/dir/"}),
            Task("free", "m:f", {}, {"o": "/tmp/q/free"}),
        ]
    )
    assert g.order == ("early", "late", "free")
    assert g.deps["late"] == ("early",)
    assert safe_name("v1/Adipose/expression/cis").startswith("v1_Adipose_expression_cis-")
    assert safe_name("a/b") != safe_name("a_b")


def test_stale_temporaries_are_removed_and_lock_is_exclusive(tmp_path):
    tasks = pipeline_toy.toy_graph(tmp_path / "out", seconds=0.0)
    (tmp_path / "out" / "copies").mkdir(parents=True)
    junk_file = tmp_path / "out" / "copies" / "a.txt.tmp-deadbeef"
    junk_file.write_text("half")
    junk_dir = tmp_path / "out" / "split.tmp-cafe"
    junk_dir.mkdir()
    (junk_dir / "part0.txt").write_text("x")
    state = StateDir(tmp_path / "state")
    state.create()
    state.lock()
    try:
        with pytest.raises(QtlAtlasError, match="another run"):
            run(tasks, tmp_path / "state")
    finally:
        state.unlock()
    assert junk_file.exists()
    rep = run(tasks, tmp_path / "state")
    assert rep.ok
    assert not junk_file.exists() and not junk_dir.exists()
    assert sorted(p.name for p in (tmp_path / "out" / "split").rglob("*")) == [
        "n.txt",
        "part0.txt",
        "part1.txt",
        "part2.txt",
        "part3.txt",
        "sub",
    ]


def test_unchanged_old_inputs_are_not_rehashed(tmp_path, monkeypatch):
    big = tmp_path / "big.txt"
    big.write_text("x" * 100_000)
    old = time.time() - 3600
    os.utime(big, (old, old))
    tasks = [concat("t", tmp_path / "o.txt", [big])]
    assert run(tasks, tmp_path / "state", cores=1).ok
    cache = json.loads((tmp_path / "state" / "hash-cache.json").read_text())
    assert str(big) in cache["files"]

    calls = []
    real = hashing_mod.sha256_file
    monkeypatch.setattr(hashing_mod, "sha256_file", lambda p: calls.append(p) or real(p))
    rep = run(tasks, tmp_path / "state", cores=1)
    assert statuses(rep) == {"t": "skipped"}
    assert calls == []


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_local_and_dask_give_identical_outputs(tmp_path):
    rep_local = run(pipeline_toy.toy_graph(tmp_path / "local", seconds=0.0), tmp_path / "s_local", cores=2)
    rep_dask = run_graph(
        pipeline_toy.toy_graph(tmp_path / "dask", seconds=0.0),
        tmp_path / "s_dask",
        executor="dask",
        dask_local=2,
        progress=False,
    )
    assert rep_local.ok and rep_dask.ok, (rep_local.summary(), rep_dask.summary())
    assert set(statuses(rep_dask).values()) == {"done"}
    local, dask = tree_bytes(tmp_path / "local"), tree_bytes(tmp_path / "dask")
    assert len(local) == 15
    assert local == dask
    assert "concat of 2 inputs" in Path(rep_dask["toy/join_ab"].log_path).read_text()
    # the dask run's state is as good as the local one's: a local rerun skips everything
    rep = run(pipeline_toy.toy_graph(tmp_path / "dask", seconds=0.0), tmp_path / "s_dask")
    assert set(statuses(rep).values()) == {"skipped"}


def test_temporary_names_keep_the_extension():
    from qtlatlas.pipeline.state import temp_path

    gz = temp_path("/w/phenotypes.bed.gz")
    assert gz.startswith("/w/phenotypes.bed.gz.tmp-") and gz.endswith(".bed.gz")
    assert temp_path("/w/pairs.parquet").endswith(".parquet")
    d = temp_path("/w/nominal/")
    assert d.startswith("/w/nominal.tmp-") and "/" not in d[len("/w/") :]
