"""A server process started for a load benchmark: its start-up time (until it answers), the moment all its
workers are idle, and the resident memory of each worker."""

from __future__ import annotations

import http.client
import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from .bench_api import _rss_mb, _tree

START_TIMEOUT_S = 900


def _typed(cmd: list[str]) -> str:
    """``[python, -m, qtlatlas.cli, ARGS…]`` as typed: ``qtlatlas ARGS…``."""
    return " ".join([cmd[2].split(".")[0], *cmd[3:]])


def _tail(path: Path, n: int = 15) -> str:
    try:
        return "\n".join("    " + line for line in path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "    (no log)"


@dataclass
class Server:
    label: str
    prefix: str  # URL path prefix of the RatGTEx routes
    workers: int
    cmd: list[str]
    cwd: Path | None = None
    env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    proc: subprocess.Popen | None = None
    start_s: float = float("nan")
    ready_s: float = float("nan")
    log: Path | None = None

    @property
    def command(self) -> str:
        return _typed(self.cmd)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.prefix}"

    def start(self, logdir: Path) -> None:
        self.log = logdir / f"{self.label.replace(' ', '-')}.log"
        with open(self.log, "wb") as fh:
            self.proc = subprocess.Popen(self.cmd, cwd=self.cwd, env={**os.environ, **self.env}, stdout=fh,
                                         stderr=subprocess.STDOUT)
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < START_TIMEOUT_S:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.label} exited ({self.proc.returncode}) while starting; last lines of "
                                   f"{self.log}:\n{_tail(self.log)}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=START_TIMEOUT_S)
                conn.request("GET", f"{self.prefix}/tissueInfo")
                status = conn.getresponse().status
                conn.close()
                if status == 200:
                    self.start_s = time.perf_counter() - t0
                    break
                raise RuntimeError(f"{self.label}: tissueInfo answered HTTP {status}; see {self.log}")
            except (OSError, http.client.HTTPException):
                time.sleep(0.1)
        else:
            self.stop()
            raise RuntimeError(f"{self.label} did not answer within {START_TIMEOUT_S} s; see {self.log}")
        self._settle(t0)

    def _settle(self, t0: float) -> None:
        """Wait until every worker exists and the process tree has been idle (< 2 % of a core) for 1 s."""
        last, idle_since = -1.0, None
        while time.perf_counter() - t0 < START_TIMEOUT_S:
            pids = self.worker_pids()
            cpu = sum(_cpu_s(p) for p in _tree(self.proc.pid))
            now = time.perf_counter()
            if len(pids) >= self.workers and last >= 0 and cpu - last < 0.01:
                idle_since = idle_since or now
                if now - idle_since >= 1.0:
                    break
            else:
                idle_since = None
            last = cpu
            time.sleep(0.5)
        self.ready_s = (idle_since or time.perf_counter()) - t0

    def worker_pids(self) -> list[int]:
        if self.proc is None:
            return []
        return [p for p in _tree(self.proc.pid) if p != self.proc.pid and not _is_helper(p)]

    def memory(self) -> str:
        """Resident memory of each worker now (and its peak), and of the supervising process."""
        pids = self.worker_pids()
        rss = ", ".join(f"{_rss_mb(p):.0f}" for p in pids)
        peak = ", ".join(f"{_rss_mb(p, 'VmHWM'):.0f}" for p in pids)
        return f"{rss} MB per worker (peak {peak}), supervisor {_rss_mb(self.proc.pid):.0f} MB"

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _cpu_s(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def _is_helper(pid: int) -> bool:
    """multiprocessing's resource tracker and similar helpers are not workers."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        return True
    return b"resource_tracker" in cmdline or b"semaphore_tracker" in cmdline
