"""Kill safety of the pipeline runner: SIGKILL a run at random moments, rerun, compare with a clean run.

The toy graph (tests/pipeline_toy.py) runs in a subprocess with the local executor. After each kill:
the runner's worker processes must be gone (they die with the runner), and every task with a state
record must have all its outputs complete. After each rerun: outputs byte-identical to a clean run's,
no ``*.tmp-*`` anywhere, every state record parses, and the run reports ok.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from process_groups import group_members

from qtlatlas.pipeline.hashing import HashCache
from qtlatlas.pipeline.state import load_records, read_record_file

TOY = Path(__file__).with_name("pipeline_toy.py")
N_KILLS = 6
SEED = 20240611

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")


def launch(state: Path, out: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(TOY), str(state), str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: lets us find its workers afterwards
    )


def run_to_end(state: Path, out: Path) -> tuple[float, str]:
    t0 = time.perf_counter()
    proc = launch(state, out)
    text, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, text
    return time.perf_counter() - t0, text


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def temporaries(*roots: Path) -> list[Path]:
    return [p for root in roots for p in root.rglob("*.tmp-*")]


def check_records_complete(state: Path) -> int:
    """Every output of every task with a state record exists and has its recorded content."""
    cache = HashCache(None)
    records = load_records(state)
    for tid, rec in records.items():
        for name, out in rec["outputs"].items():
            final = out["path"].rstrip("/")
            assert os.path.exists(final), f"{tid}: recorded output {name} missing after kill"
            digest = cache.digest(final)
            assert (digest.sha256, digest.size) == (out["sha256"], out["size"]), f"{tid}: {name} incomplete"
    return len(records)


def test_sigkill_at_random_moments_then_rerun(tmp_path):
    clean_state, clean_out = tmp_path / "clean_state", tmp_path / "clean_out"
    duration, _ = run_to_end(clean_state, clean_out)
    reference = tree_bytes(clean_out)
    assert len(reference) == 15

    rng = random.Random(SEED)
    state, out = tmp_path / "state", tmp_path / "out"
    landed = 0
    for i in range(N_KILLS):
        if i % 2 == 0:
            # from scratch
            shutil.rmtree(state, ignore_errors=True)
            shutil.rmtree(out, ignore_errors=True)
        else:
            # every task re-runs over its existing outputs (replacing files and directories)
            for rec in (state / "tasks").glob("*.json"):
                rec.unlink()
        delay = rng.uniform(0.05, 0.95) * duration
        proc = launch(state, out)
        time.sleep(delay)
        running = proc.poll() is None  # a run that already ended has been reaped: its pid is gone
        landed += running
        if running:
            os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)

        deadline = time.monotonic() + 10
        while group_members(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not group_members(proc.pid), f"kill {i}: worker processes outlived the killed runner"

        check_records_complete(state)
        for path in (state / "tasks").glob("*.json"):
            # a record is either complete JSON or (a leftover temporary, removed by the next run)
            assert read_record_file(path) is not None, f"kill {i}: damaged state record {path}"

        _, text = run_to_end(state, out)
        assert "0 failed, 0 blocked" in text, text
        assert tree_bytes(out) == reference, f"kill {i} at {delay:.2f} s: outputs differ from a clean run"
        assert not temporaries(out, state), f"kill {i}: temporaries left: {temporaries(out, state)}"
        records = {p: read_record_file(p) for p in (state / "tasks").glob("*.json")}
        assert len(records) == 7 and all(r is not None for r in records.values())
        assert check_records_complete(state) == 7
    assert landed >= N_KILLS - 1, f"only {landed} of {N_KILLS} kills hit a running process"
