"""Portal page speed on the large simulated release (benchmarks/large_release.py, scale 1: 20,000 genes ×
10 tissues × 6 modalities, ~29 M significant pairs).

``qtlatlas serve --workers 1`` is started on the release; then

* server-side render time of the gene page: one client requests the pages of random genes one after the
  other (after a warm-up) and the p50/p95/p99 of the full HTML responses are printed (target p95 ≤ 100 ms);
* time to first plot in Chromium (Debian's, driven by Playwright): from the start of the navigation to the
  first plot painted — the gene page draws its expression violins on the server as SVG — and, separately,
  to the first interactive plotly plot, for a first visit (plotly.js not cached yet) and for later visits
  (cached), median and worst (target ≤ 1 s).

Environment: QTLATLAS_BENCH_PAGES_SCALE (default 1), QTLATLAS_BENCH_PAGES_REQUESTS (default 300 gene pages),
QTLATLAS_BENCH_PAGES_BROWSER (default 10 gene pages in Chromium).
"""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pandas as pd

from .large_release import make_large_release

TARGET_RENDER_MS = 100
TARGET_FIRST_PLOT_MS = 1000
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
#: Records, in the page, times in ms since the navigation started: ``__staticPlot`` when the first
#: server-drawn plot (``svg.static-plot``) has been painted (the rendering opportunity after it entered the
#: DOM, and not before the first contentful paint), ``__firstPlot`` when the first plotly SVG appears.
FIRST_PLOT_PROBE = """
(() => {
  let fcp = null;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (e.name === 'first-contentful-paint') fcp = e.startTime;
  }).observe({ type: 'paint', buffered: true });
  const painted = () => requestAnimationFrame(() => setTimeout(() => {
    const now = performance.now();
    window.__staticPlot = fcp === null ? now : Math.max(now, fcp);
  }, 0));
  let staticSeen = false;
  const observer = new MutationObserver(() => {
    if (!staticSeen && document.querySelector('.plot svg.static-plot')) { staticSeen = true; painted(); }
    if (window.__firstPlot === undefined && document.querySelector('.js-plotly-plot .main-svg')) {
      window.__firstPlot = performance.now();
      observer.disconnect();
    }
  });
  observer.observe(document, { childList: true, subtree: true });
})();
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(conn: http.client.HTTPConnection, path: str) -> tuple[int, float, int]:
    start = time.perf_counter()
    conn.request("GET", path)
    response = conn.getresponse()
    body = response.read()
    return response.status, (time.perf_counter() - start) * 1000, len(body)


def _serve(site: Path, port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "qtlatlas.cli", "serve", str(site), "--port", str(port), "--workers", "1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    start = time.perf_counter()
    while time.perf_counter() - start < 60:
        try:
            if _get(http.client.HTTPConnection("127.0.0.1", port, timeout=2), "/api/v1/releases")[0] == 200:
                return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("the server did not start within 60 s")


def _gene_paths(release: Path, n: int, seed: int) -> list[str]:
    genes = pd.read_parquet(release / "tables" / "genes.parquet", columns=["gene_name"])
    pick = genes["gene_name"].sample(n, random_state=seed, replace=len(genes) < n)
    return [f"/gene/{quote(g, safe='')}?release={release.name}" for g in pick]


def render_times(port: int, paths: list[str]) -> tuple[np.ndarray, int, int]:
    """Latencies (ms) of the gene pages, one request at a time; errors; mean page size (bytes)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    for path in paths[:20]:  # warm-up: caches, DuckDB metadata, template compilation
        _get(conn, path)
    times, sizes, errors = [], [], 0
    for path in paths:
        status, ms, size = _get(conn, path)
        if status != 200:
            errors += 1
        times.append(ms)
        sizes.append(size)
    conn.close()
    return np.array(times), errors, int(np.mean(sizes)) if sizes else 0


def first_plot_times(base_url: str, paths: list[str]) -> list[tuple[float, float]]:
    """``(first plot shown, first interactive plot)`` in ms of each visit, the first one with nothing cached:
    the first plot shown is the painted server-drawn SVG, or the plotly plot when that comes first (or when
    the page has no server-drawn plot)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.add_init_script(FIRST_PLOT_PROBE)
        page = context.new_page()
        times = []
        for path in paths:
            page.goto(base_url + path, wait_until="commit")
            page.wait_for_function("() => window.__firstPlot !== undefined", timeout=30_000)
            shown, interactive = page.evaluate("[window.__staticPlot ?? null, window.__firstPlot]")
            interactive = float(interactive)
            times.append((interactive if shown is None else min(float(shown), interactive), interactive))
        browser.close()
    return times


def main() -> None:
    scale = float(os.environ.get("QTLATLAS_BENCH_PAGES_SCALE", "1"))
    n_requests = int(os.environ.get("QTLATLAS_BENCH_PAGES_REQUESTS", "300"))
    n_browser = int(os.environ.get("QTLATLAS_BENCH_PAGES_BROWSER", "10"))
    with tempfile.TemporaryDirectory(prefix="qtlatlas-bench-pages-") as tmp:
        site = Path(tmp) / "site"
        t0 = time.perf_counter()
        release = make_large_release(site, "v1", scale=scale)
        print(f"large release (scale {scale}) generated in {time.perf_counter() - t0:.0f} s")
        port = _free_port()
        proc = _serve(site, port)
        try:
            lat, errors, size = render_times(port, _gene_paths(release, n_requests, seed=7))
            p50, p95, p99 = np.percentile(lat, [50, 95, 99])
            print(f"  gene page HTML ({len(lat)} genes, one at a time, {size / 1024:.0f} KB each): p50 {p50:.1f} ms  "
                  f"p95 {p95:.1f} ms (target ≤ {TARGET_RENDER_MS})  p99 {p99:.1f} ms  errors {errors}")
            if not Path(CHROMIUM).exists():
                print(f"  time to first plot: skipped ({CHROMIUM} is missing; `make chromium` installs it)")
                return
            times = first_plot_times(f"http://127.0.0.1:{port}", _gene_paths(release, n_browser + 1, seed=11))
            for label, k in (("time to first plot in Chromium (server-drawn SVG painted)", 0),
                             ("time to first interactive (plotly) plot", 1)):
                cold, warm = times[0][k], [t[k] for t in times[1:]]
                target = f" (target ≤ {TARGET_FIRST_PLOT_MS})" if k == 0 else ""
                print(f"  {label}: first visit {cold:.0f} ms, later visits median {np.median(warm):.0f} ms, "
                      f"worst {max(warm):.0f} ms{target}")
        finally:
            proc.terminate()
            proc.wait(timeout=30)


run = main

if __name__ == "__main__":
    main()
