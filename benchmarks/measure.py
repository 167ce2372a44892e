"""Running a command as a child process and measuring it: wall seconds, CPU seconds, peak resident memory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
GEUVADIS22 = SHARED / "reference" / "geuvadis22"


@dataclass
class Measurement:
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    returncode: int

    def __str__(self) -> str:
        return f"{self.wall_s:7.1f} s wall  {self.cpu_s:7.1f} s CPU  {self.peak_rss_mb:7.0f} MB peak RSS"


def measure(cmd: list[str], env: dict[str, str] | None = None, cwd: str | Path | None = None,
            log: Path | None = None) -> Measurement:
    """Run ``cmd``, returning its own wall time, CPU time (user + system) and peak RSS.

    The command is started by the small launcher :mod:`benchmarks.launch` (see there why), so its peak RSS
    is not inflated by this process's own memory.
    """
    full_env = {**os.environ, **(env or {}), "PYTHONPATH": os.pathsep.join(
        [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])}
    launcher = [sys.executable, "-m", "benchmarks.launch", str(log) if log else "-", *cmd]
    out = subprocess.run(launcher, env=full_env, cwd=cwd, capture_output=True, text=True, check=True)
    record = json.loads(out.stdout.strip().splitlines()[-1])
    return Measurement(record["wall_s"], record["cpu_s"], record["peak_rss_mb"], record["returncode"])


def bench_python() -> Path | None:
    """The Python of the side environment holding tensorQTL (``.bench-venv`` or $QTLATLAS_BENCH_PYTHON)."""
    candidate = Path(os.environ.get("QTLATLAS_BENCH_PYTHON", REPO / ".bench-venv" / "bin" / "python"))
    if not candidate.exists():
        return None
    ok = subprocess.run([str(candidate), "-c", "import tensorqtl"], capture_output=True).returncode == 0
    return candidate if ok else None


def gemm_peak_gflops(threads: int = 2) -> float:
    """Best float32 GEMM throughput (GFLOP/s) of this machine on ``threads`` threads (2000³, best of 5)."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    a = rng.standard_normal((2000, 2000), dtype=np.float32)
    b = rng.standard_normal((2000, 2000), dtype=np.float32)
    best = float("inf")
    with threadpool_limits(threads, user_api="blas"):
        a @ b
        for _ in range(5):
            t = time.perf_counter()
            a @ b
            best = min(best, time.perf_counter() - t)
    return 2 * 2000**3 / best / 1e9
