"""REST API latency and server memory on a large simulated release (benchmarks/large_release.py):
1× (scale 0.1: 2,000 genes, ~3 M significant pairs) and 10× (scale 1: 20,000 genes × 10 tissues × 6
modalities, ~29 M pairs). For each: ``qtlatlas serve --workers 2`` is started (start time = until the API
answers), then 16 concurrent keep-alive clients run for 30 s per scenario — a gene lookup, one variant's
associations across all tissues and modalities, and the significant pairs of a 1 Mb region — and p50/p95/p99
latency, throughput, errors and the server's resident memory (per process and in total) are printed.
Targets: p95 ≤ 50 / 100 / 150 ms, 0 errors, start ≤ 2 s, resident memory ≤ 300 MB.

The load comes from ``wrk`` (Debian package ``wrk``; one thread, 16 connections: an event loop in C that
leaves the cores to the server) when it is installed, else from 16 Python client threads (whose own CPU use
on a small machine inflates the latencies measured).

Environment: QTLATLAS_BENCH_SECONDS (default 30) per scenario; QTLATLAS_BENCH_SCALES (default "0.1,1").
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from .large_release import make_large_release

CLIENTS = 16
TARGETS_MS = {"gene lookup": 50, "variant, all tissues × modalities": 100, "1 Mb region of pairs": 150}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rss_mb(pid: int, field: str = "VmRSS") -> float:
    """Resident memory (``VmRSS``) or its peak (``VmHWM``) of a process, MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants."""
    out, frontier = [pid], [pid]
    while frontier:
        children = []
        for p in frontier:
            try:
                children += [int(c) for c in Path(f"/proc/{p}/task/{p}/children").read_text().split()]
            except OSError:
                pass
        out += children
        frontier = children
    return out


def _get(conn: http.client.HTTPConnection, path: str) -> tuple[int, float]:
    start = time.perf_counter()
    conn.request("GET", path)
    response = conn.getresponse()
    response.read()
    return response.status, (time.perf_counter() - start) * 1000


def _load(port: int, paths: list[str], seconds: float) -> tuple[np.ndarray, int]:
    """Latencies (ms) of all requests made by CLIENTS threads cycling through ``paths``, and the errors."""
    latencies: list[list[float]] = [[] for _ in range(CLIENTS)]
    errors = [0] * CLIENTS
    stop = time.perf_counter() + seconds

    def client(k: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        i = k
        while time.perf_counter() < stop:
            try:
                status, ms = _get(conn, paths[i % len(paths)])
            except (OSError, http.client.HTTPException):
                errors[k] += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            if status >= 500 or status == 0:
                errors[k] += 1
            latencies[k].append(ms)
            i += CLIENTS
        conn.close()

    threads = [threading.Thread(target=client, args=(k,)) for k in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return np.array([x for lat in latencies for x in lat]), sum(errors)


_WRK_SCRIPT = """
paths = {%s}
i = 0
request = function() i = i + 1; return wrk.format("GET", paths[(i %% #paths) + 1]) end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %%.3f %%.3f %%.3f %%d %%d\\n", latency:percentile(50) / 1000,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000, summary.requests,
    e.connect + e.read + e.write + e.timeout + e.status))
end
"""


def _load_wrk(port: int, paths: list[str], seconds: float) -> tuple[tuple[float, float, float], int, int]:
    """``((p50, p95, p99) ms, requests, errors)`` of ``wrk`` with CLIENTS connections cycling ``paths``."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(_WRK_SCRIPT % ",".join('"' + p.replace('"', '') + '"' for p in paths))
    try:
        out = subprocess.run(["wrk", "-t1", f"-c{CLIENTS}", f"-d{max(int(seconds), 1)}s", "--timeout", "30s",
                              "-s", f.name, f"http://127.0.0.1:{port}"], capture_output=True, text=True, check=True)
    finally:
        os.unlink(f.name)
    m = re.search(r"RESULT (\S+) (\S+) (\S+) (\d+) (\d+)", out.stdout)
    if m is None:
        raise RuntimeError(f"unexpected wrk output: {out.stdout[-500:]}")
    return (float(m[1]), float(m[2]), float(m[3])), int(m[4]), int(m[5])


def _measure(port: int, paths: list[str], seconds: float) -> tuple[tuple[float, float, float], int, int]:
    """Latency percentiles (ms), request count and errors of CLIENTS concurrent clients for ``seconds``."""
    if shutil.which("wrk"):
        _load_wrk(port, paths[:50], 2.0)  # warm-up
        return _load_wrk(port, paths, seconds)
    _load(port, paths[:50], 2.0)  # warm-up
    lat, errors = _load(port, paths, seconds)
    pct = tuple(np.percentile(lat, [50, 95, 99])) if len(lat) else (np.nan,) * 3
    return pct, len(lat), errors


def _scenarios(release_dir: Path) -> dict[str, list[str]]:
    tables = release_dir / "tables"
    genes = pd.read_parquet(tables / "genes.parquet", columns=["gene_id", "gene_name", "chrom", "tss"])
    top = pd.read_parquet(tables / "top_qtls.parquet", columns=["variant_id"])
    pick = genes.sample(400, random_state=1)
    variants = top["variant_id"].drop_duplicates().sample(400, random_state=2)
    regions = [f"{r.chrom}:{max(int(r.tss) - 500_000, 1)}-{int(r.tss) + 500_000}" for r in pick.itertuples()]
    rid = release_dir.name
    return {
        "gene lookup": [f"/api/v1/genes/{g}?release={rid}" for g in pick["gene_name"]],
        "variant, all tissues × modalities": [f"/api/v1/variants/{v}/associations?release={rid}" for v in variants],
        "1 Mb region of pairs": [f"/api/v1/qtls/pairs?region={r}&limit=1000&release={rid}" for r in regions],
    }


def _serve(site: Path, port: int) -> tuple[subprocess.Popen, float]:
    proc = subprocess.Popen([sys.executable, "-m", "qtlatlas.cli", "serve", str(site), "--port", str(port), "--workers", "2"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    start = time.perf_counter()
    while time.perf_counter() - start < 60:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            if _get(conn, "/api/v1/releases")[0] == 200:
                return proc, time.perf_counter() - start
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("the server did not start within 60 s")


def main() -> None:
    seconds = float(os.environ.get("QTLATLAS_BENCH_SECONDS", "30"))
    scales = [float(s) for s in os.environ.get("QTLATLAS_BENCH_SCALES", "0.1,1").split(",")]
    with tempfile.TemporaryDirectory(prefix="qtlatlas-bench-api-") as tmp:
        for scale in scales:
            label = "1×" if scale < 1 else "10×"
            site = Path(tmp) / f"scale{scale}"
            t0 = time.perf_counter()
            release = make_large_release(site, "v1", scale=scale)
            pairs = pq.ParquetFile(release / "tables" / "signif_pairs.parquet").metadata.num_rows
            print(f"{label} release (scale {scale}): {pairs:,} significant pairs, generated in {time.perf_counter() - t0:.0f} s")
            port = _free_port()
            proc, start_s = _serve(site, port)
            try:
                print(f"  server start {start_s:.2f} s (target ≤ 2 s); load: "
                      f"{'wrk' if shutil.which('wrk') else 'Python threads'}, {CLIENTS} connections, 2 workers")
                for name, paths in _scenarios(release).items():
                    (p50, p95, p99), n, errors = _measure(port, paths, seconds)
                    print(f"  {name:<34} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms (target ≤ {TARGETS_MS[name]})  "
                          f"p99 {p99:6.1f} ms  {n / seconds:6.0f} req/s  errors {errors}")
                pids = _tree(proc.pid)
                rss = [_rss_mb(p) for p in pids]
                peak = [_rss_mb(p, "VmHWM") for p in pids]
                print(f"  resident memory: {', '.join(f'{r:.0f}' for r in rss)} MB per process now, peak "
                      f"{', '.join(f'{r:.0f}' for r in peak)} MB (largest {max(peak):.0f} MB, target ≤ 300; "
                      f"all processes {sum(rss):.0f} MB now)")
            finally:
                proc.terminate()
                proc.wait(timeout=30)


if __name__ == "__main__":
    main()
