"""A build killed (SIGKILL) at any moment never leaves a partial ``SITE/releases/<id>``."""

from __future__ import annotations

import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_release_build import write_atlas

from qtlatlas.release import verify_release

pytestmark = pytest.mark.shared

SCRIPT = """
import sys
from qtlatlas.config import load_atlas
from qtlatlas.release import build_release
from qtlatlas.results import ResultFiles
atlas = load_atlas(sys.argv[1])
release = atlas.release("v1")
results = {(t, m): ResultFiles.from_import(inp.results, t, m) for t, m, inp in release.inputs()}
print("start", flush=True)
build_release(atlas, "v1", sys.argv[2], results)
"""
N_KILLS = 6


def _start(script: Path, atlas: Path, site: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(script), str(atlas), str(site)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _wait_started(proc: subprocess.Popen) -> float:
    assert proc.stdout.readline().strip() == "start"  # imports done; the build begins
    return time.monotonic()


def _check_site(site: Path) -> bool:
    """No partial release: either no releases/v1, or a complete one that verifies. True if published."""
    final = site / "releases" / "v1"
    if not final.exists():
        return False
    assert verify_release(final) == [], "a killed build left a damaged release"
    return True


def test_sigkill_at_random_moments(tmp_path):
    atlas = write_atlas(tmp_path)
    script = tmp_path / "build.py"
    script.write_text(SCRIPT)

    # a reference build measures how long a build takes here
    ref_site = tmp_path / "reference_site"
    proc = _start(script, atlas, ref_site)
    t0 = _wait_started(proc)
    assert proc.wait(timeout=120) == 0, proc.stderr.read()
    duration = time.monotonic() - t0
    assert verify_release(ref_site / "releases" / "v1") == []

    rng = random.Random(20260121)
    site = tmp_path / "site"
    published = 0
    for _ in range(N_KILLS):
        delay = rng.uniform(0.0, duration * 1.05)
        proc = _start(script, atlas, site)
        t0 = _wait_started(proc)
        time.sleep(max(0.0, delay - (time.monotonic() - t0)))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        proc.stdout.close()
        proc.stderr.close()
        if _check_site(site):
            published += 1
            shutil.rmtree(site / "releases" / "v1")  # keep killing builds in progress
    # leftovers of killed builds are only hidden .building- directories
    leftovers = [p.name for p in (site / "releases").iterdir()] if (site / "releases").exists() else []
    assert all(name.startswith(".v1.building-") for name in leftovers)

    proc = _start(script, atlas, site)
    _wait_started(proc)
    assert proc.wait(timeout=120) == 0, proc.stderr.read()
    final = site / "releases" / "v1"
    assert verify_release(final) == []
    assert [p.name for p in (site / "releases").iterdir()] == ["v1"]  # stale build directories removed
    assert published < N_KILLS  # most kills landed during the build
