"""The RatGTEx-compatible routes against the RatGTEx portal's own API, on a synthetic data set in RatGTEx v4's
file layout (``../shared/tools/ratgtex-v4-synth``; ``small``: 3 tissues × 2,000 genes, ``full``: RatGTEx v4's
size, 13 tissues × 20,000 genes, 2.4 GB).

1. data: ``$QTLATLAS_RATGTEX_DATA`` (a generator output: ``v4/`` and ``bench_ids/`` inside), else the generator
   writes one into ``~/.cache/qtlatlas-bench/ratgtex-SCALE`` (kept for later runs);
2. ``qtlatlas import ratgtex DATA/v4 --release v4 --out WORK/atlas.yaml`` and ``qtlatlas build WORK/atlas.yaml
   --release v4 --site WORK/site``: wall, CPU and peak RSS of each (target: build peak RSS < 2 GB);
3. servers: ``qtlatlas serve SITE --workers 2`` and, when ``$QTLATLAS_RATGTEX_API`` names a directory holding
   the RatGTEx API's ``app.py`` (data directory read from ``$RATGTEX_DATA``), that app under gunicorn with 2
   and with 1 sync workers (``gunicorn -w N app:api``, run from that directory with the Python of
   ``$QTLATLAS_RATGTEX_PYTHON`` or of a ``venv`` beside or inside it). Each is started alone: start-up = until
   it answers ``tissueInfo``, ready = until all its workers are idle; resident memory per worker after the load;
4. load: per endpoint, ``wrk`` (1 thread, 16 connections, ``$QTLATLAS_BENCH_SECONDS`` s, default 30, after a
   2 s warm-up) cycling through 2,000 random valid queries — the same sequence for every server — on RatGTEx
   2 workers, qtlatlas, RatGTEx 1 worker in turn, endpoint by endpoint; p50/p95/p99, req/s, non-2xx responses
   and socket errors. Genes with data where it matters: eGenes (``eqtls_indep``) for ``eqtl`` and
   ``singleTissueEqtl``, genes with xQTLs for ``xqtl``, significant tissue–gene–variant triples for
   ``dyneqtl``, 10 random genes per ``medianGeneExpression``;
5. the field comparison of :mod:`benchmarks.ratgtex_fields` on 50 random ids per endpoint, when both run.

Targets: p95 ≤ 50 ms for the gene endpoints (``medianGeneExpression`` with 10 genes included), ≤ 100 ms for
``dyneqtl`` and ``variant``. Without the RatGTEx API, its figures recorded at full scale in the generator's
README are printed beside ours (recorded, not re-measured).

    python -m benchmarks.bench_ratgtex --scale small          # or: make bench / python -m benchmarks.run ratgtex
    QTLATLAS_RATGTEX_API=/path/ratgtex-api python -m benchmarks.bench_ratgtex --scale full

Environment: QTLATLAS_RATGTEX_DATA, QTLATLAS_RATGTEX_API, QTLATLAS_RATGTEX_PYTHON, QTLATLAS_BENCH_SECONDS,
QTLATLAS_RATGTEX_SCALE (default scale of ``make bench``: full), QTLATLAS_RATGTEX_FIELDS_N (ids per endpoint
compared, default 50; 0 skips the comparison).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from . import ratgtex_fields
from .bench_api import _free_port
from .measure import REPO, SHARED, measure
from .ratgtex_api_v1 import api_v1_path
from .servers import Server, _tail, _typed

GENERATOR = SHARED / "tools" / "ratgtex-v4-synth" / "make_ratgtex_v4.py"
GENERATOR_README = GENERATOR.parent / "README.md"
QTLATLAS = [sys.executable, "-m", "qtlatlas.cli"]
CLIENTS = 16
PATHS_PER_ENDPOINT = 2000
WARMUP_S = 2
ENDPOINTS = ["gene", "geneExpression", "medianGeneExpression", "singleTissueEqtl", "eqtl", "xqtl", "dyneqtl",
             "variant", "exon", "tissueInfo", "topExpressedGene"]
TARGET_MS = {"gene": 50, "geneExpression": 50, "medianGeneExpression": 50, "singleTissueEqtl": 50, "eqtl": 50,
             "xqtl": 50, "exon": 50, "dyneqtl": 100, "variant": 100}
BUILD_RSS_TARGET_MB = 2048
#: The load label of ours through /api/v1 (the same questions asked through our own REST API).
API_LABEL = "qtlatlas /api/v1"


# ---------------------------------------------------------------------------------------------------------
# data


def _cache_dir(scale: str) -> Path:
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "qtlatlas-bench" / f"ratgtex-{scale}"


def data_set(scale: str) -> Path:
    """The generator output to use: ``$QTLATLAS_RATGTEX_DATA`` or the cache (written on first use)."""
    named = os.environ.get("QTLATLAS_RATGTEX_DATA")
    if named:
        return ratgtex_fields.resolve_data(named)
    out = _cache_dir(scale)
    if out.resolve().is_relative_to(REPO.resolve()):
        raise SystemExit(f"{out}: the data cache must lie outside the repository (set XDG_CACHE_HOME)")
    if not (out / "manifest.json").is_file():
        if not GENERATOR.is_file():
            raise SystemExit(f"{GENERATOR}: generator not found; set QTLATLAS_RATGTEX_DATA to a data set in "
                             "RatGTEx v4's layout")
        out.mkdir(parents=True, exist_ok=True)
        print(f"  writing the {scale} data set into {out} …")
        run = measure([sys.executable, str(GENERATOR), "--scale", scale, "--out", str(out)], log=out / "generate.log")
        if run.returncode != 0:
            raise SystemExit(f"the generator failed (exit {run.returncode}); see {out / 'generate.log'}")
        print(f"  generated: {run}")
    return ratgtex_fields.resolve_data(out)


# ---------------------------------------------------------------------------------------------------------
# import and build


def _import_available() -> tuple[bool, str]:
    out = subprocess.run([*QTLATLAS, "import", "ratgtex", "--help"], capture_output=True, text=True)
    if out.returncode == 0:
        return True, ""
    last = (out.stderr or out.stdout).strip().splitlines()
    return False, f"`qtlatlas import ratgtex --help` exited {out.returncode}: {last[-1] if last else ''}"


def import_and_build(data: Path, work: Path, release: str) -> Path | None:
    """``qtlatlas import ratgtex`` then ``qtlatlas build``, measured; the site, or None when it cannot be made."""
    ok, why = _import_available()
    if not ok:
        print(f"  qtlatlas import ratgtex is not available in this installation ({why}); pass --site SITE "
              f"(a site with release {release} built from this data set) to serve and load ours")
        return None
    atlas, site = work / "atlas.yaml", work / "site"
    cmd = [*QTLATLAS, "import", "ratgtex", str(data / "v4"), "--release", release, "--out", str(atlas)]
    run = measure(cmd, log=work / "import.log")
    print(f"  import: {run}   ({_typed(cmd)})")
    if run.returncode != 0:
        print(f"  import failed (exit {run.returncode}); last lines of {work / 'import.log'}:\n{_tail(work / 'import.log')}")
        return None
    cmd = [*QTLATLAS, "build", str(atlas), "--release", release, "--site", str(site)]
    run = measure(cmd, log=work / "build.log")
    verdict = "ok" if run.peak_rss_mb < BUILD_RSS_TARGET_MB else "OVER"
    print(f"  build:  {run}   (target peak RSS < {BUILD_RSS_TARGET_MB} MB: {verdict}; {_typed(cmd)})")
    if run.returncode != 0:
        print(f"  build failed (exit {run.returncode}); last lines of {work / 'build.log'}:\n{_tail(work / 'build.log')}")
        return None
    return site


# ---------------------------------------------------------------------------------------------------------
# servers


def peer_setup() -> tuple[Path, Path] | None:
    """The RatGTEx API directory and its Python, or None (with the reason printed) when not configured."""
    named = os.environ.get("QTLATLAS_RATGTEX_API")
    if not named:
        print("  RatGTEx API: not configured (set QTLATLAS_RATGTEX_API to the directory of its app.py; "
              "see benchmarks/README.md)")
        return None
    app = Path(named).expanduser().resolve()
    if not (app / "app.py").is_file():
        raise SystemExit(f"QTLATLAS_RATGTEX_API={named}: no app.py there")
    candidates = [os.environ.get("QTLATLAS_RATGTEX_PYTHON"), app.parent / "venv" / "bin" / "python",
                  app / "venv" / "bin" / "python", app / ".venv" / "bin" / "python"]
    python = next((Path(c) for c in candidates if c and Path(c).exists()), None)
    if python is None:
        raise SystemExit(f"no Python for the RatGTEx API: set QTLATLAS_RATGTEX_PYTHON or create {app.parent}/venv "
                         "with flask, flask-cors, pandas, numpy, scipy, pysam and gunicorn")
    check = subprocess.run([str(python), "-c", "import flask, flask_cors, pandas, scipy, pysam, gunicorn"],
                           capture_output=True, text=True)
    if check.returncode != 0:
        raise SystemExit(f"{python} lacks a package the RatGTEx API needs: {check.stderr.strip().splitlines()[-1]}")
    return app, python


def peer_server(app: Path, python: Path, data: Path, workers: int) -> Server:
    port = _free_port()
    # --timeout: the default 30 s would kill a worker still loading the full data set (about 30 s)
    cmd = [str(python), "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}", "--timeout", "600",
           "app:api"]
    return Server(f"RatGTEx {workers}w", "/api/v4", workers, cmd, cwd=app,
                  env={"RATGTEX_DATA": str(data / "v4")}, port=port)


def ours_server(site: Path, release: str) -> Server:
    port = _free_port()
    cmd = [*QTLATLAS, "serve", str(site), "--workers", "2", "--port", str(port)]
    return Server("qtlatlas 2w", f"/compat/ratgtex/{release}", 2, cmd, port=port)


# ---------------------------------------------------------------------------------------------------------
# load


_WRK_SCRIPT = """
paths = {%s}
i = 0
request = function() i = i + 1; return wrk.format("GET", paths[((i - 1) %% #paths) + 1]) end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %%.3f %%.3f %%.3f %%d %%d %%d %%d\\n", latency:percentile(50) / 1000,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000, summary.requests, summary.duration,
    e.status, e.connect + e.read + e.write + e.timeout))
end
"""


@dataclass
class Load:
    p50: float
    p95: float
    p99: float
    requests: int
    seconds: float
    non2xx: int
    socket_errors: int

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def __str__(self) -> str:
        return (f"p50 {self.p50:7.1f} ms  p95 {self.p95:7.1f} ms  p99 {self.p99:7.1f} ms  {self.rate:7.0f} req/s  "
                f"non-2xx {self.non2xx}  socket errors {self.socket_errors}")


def wrk(url_root: str, paths: list[str], seconds: float) -> Load:
    """``wrk`` with CLIENTS connections on one thread, cycling through ``paths`` in order."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: the load benchmarks drive it (Debian: apt-get install wrk)")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(_WRK_SCRIPT % ",".join(json.dumps(p) for p in paths))
    try:
        out = subprocess.run(["wrk", "-t1", f"-c{CLIENTS}", f"-d{max(int(seconds), 1)}s", "--timeout", "30s",
                              "-s", f.name, url_root], capture_output=True, text=True)
    finally:
        os.unlink(f.name)
    m = re.search(r"RESULT (\S+) (\S+) (\S+) (\d+) (\d+) (\d+) (\d+)", out.stdout)
    if m is None:
        raise RuntimeError(f"unexpected wrk output (exit {out.returncode}): {(out.stdout + out.stderr)[-500:]}")
    return Load(float(m[1]), float(m[2]), float(m[3]), int(m[4]), int(m[5]) / 1e6, int(m[6]), int(m[7]))


def load_all(servers: list[Server], ids: ratgtex_fields.Ids, endpoints: list[str],
             seconds: float) -> dict[str, dict[str, Load]]:
    results: dict[str, dict[str, Load]] = {}
    for endpoint in endpoints:
        queries = ratgtex_fields.queries(ids, endpoint, PATHS_PER_ENDPOINT, seed=11)
        results[endpoint] = {}
        for server in servers:
            paths = [f"{server.prefix}/{endpoint}?{q}" if q else f"{server.prefix}/{endpoint}" for q in queries]
            runs = [(server.label, paths)]
            if server.prefix.startswith("/compat/"):  # ours: the same questions through /api/v1 as well
                release = server.prefix.rsplit("/", 1)[-1]
                api = [api_v1_path(endpoint, q, release) for q in queries]
                if all(api):
                    runs.append((API_LABEL, api))
            root = f"http://127.0.0.1:{server.port}"
            for label, run_paths in runs:
                wrk(root, run_paths[-200:], WARMUP_S)
                result = results[endpoint][label] = wrk(root, run_paths, seconds)
                print(f"  {endpoint:<21} {label:<16} {result}", flush=True)
    return results


# ---------------------------------------------------------------------------------------------------------
# report


def recorded_peer() -> dict:
    """RatGTEx's figures recorded at full scale in the generator's README: p95 ms (1 worker, 2 workers) per
    endpoint, start-up s, resident memory per worker (as written there)."""
    try:
        text = " ".join(GENERATOR_README.read_text().split())
    except OSError:
        return {}
    p95 = {m[1]: (float(m[2].replace(",", "")), float(m[3].replace(",", "")))
           for m in re.finditer(r"(\w+)(?: \(10 genes\))? ([\d,.]+) / ([\d,.]+) ms", text)}
    start = re.search(r"start-up ([\d.]+) s", text)
    rss = re.search(r"([\d.]+ [GM]B) resident memory per worker", text)
    return {"p95": p95, "start_s": float(start[1]) if start else None, "rss": rss[1] if rss else "?"}


def _ms(x: float | None) -> str:
    return "—" if x is None else f"{x:,.1f} ms"


def print_table(results: dict[str, dict[str, Load]], ours: Server | None, peers: list[Server],
                recorded: dict) -> None:
    labels = {s.label for s in peers}
    measured = bool(labels)
    mark = "" if measured else "*"
    print()
    print(f"{'endpoint':<21}| {'RatGTEx 1w p95':>15} | {'RatGTEx 2w p95':>15} | {'qtlatlas 2w p95 (p50)':>22} | "
          f"{'req/s ÷ RatGTEx 2w':>18} | {'non-2xx R1w/R2w/ours':>20} | target | {'/api/v1 p95 (÷ R2w)':>19}")
    for endpoint, row in results.items():
        p1, p2, q = row.get("RatGTEx 1w"), row.get("RatGTEx 2w"), row.get("qtlatlas 2w")
        a = row.get(API_LABEL)
        api_cell = "—" if a is None else (f"{a.p95:,.1f} ms" + (f" ({a.rate / p2.rate:.1f}×)" if p2 and p2.rate else "")
                                          + ("" if not (a.non2xx or a.socket_errors) else " ERR"))
        if measured:
            r1, r2 = (p1.p95 if p1 else None), (p2.p95 if p2 else None)
        else:
            r1, r2 = recorded.get("p95", {}).get(endpoint, (None, None))
        ratio = f"{q.rate / p2.rate:.1f}×" if q and p2 and p2.rate else "—"
        ours_cell = f"{q.p95:,.1f} ms ({q.p50:,.1f})" if q else "—"
        target = TARGET_MS.get(endpoint)
        verdict = "" if target is None or q is None else (" ok" if q.p95 <= target else " MISSED")
        non2xx = "/".join(str(x.non2xx + x.socket_errors) if x else "—" for x in (p1, p2, q))
        print(f"{endpoint:<21}| {_ms(r1) + mark:>15} | {_ms(r2) + mark:>15} | {ours_cell:>22} | {ratio:>18} | "
              f"{non2xx:>20} | {'≤ ' + str(target) + ' ms' + verdict if target else '—'} | {api_cell:>19}")
    if not measured and recorded:
        print("* RatGTEx API not run here: its p95 recorded at FULL scale on this kind of machine "
              f"({GENERATOR_README}), not re-measured")
    print("(non-2xx column: non-2xx responses + socket errors per run)")
    parts = []
    for s in peers:
        parts.append(f"{s.label}: start-up {s.start_s:.1f} s (all workers ready {s.ready_s:.1f} s), RSS {s.memory()}")
    if not measured and recorded.get("start_s"):
        parts.append(f"RatGTEx (recorded, full scale): start-up {recorded['start_s']:.0f} s, "
                     f"{recorded['rss']} RSS per worker")
    if ours is not None:
        parts.append(f"qtlatlas 2w: start-up {ours.start_s:.1f} s (all workers ready {ours.ready_s:.1f} s), RSS "
                     f"{ours.memory()}")
    for p in parts:
        print("  " + p)


# ---------------------------------------------------------------------------------------------------------


def run(scale: str, site: Path | None = None, work: Path | None = None, release: str = "v4",
        endpoints: list[str] | None = None, seconds: float | None = None, fields_n: int | None = None) -> None:
    seconds = seconds or float(os.environ.get("QTLATLAS_BENCH_SECONDS", "30"))
    fields_n = int(os.environ.get("QTLATLAS_RATGTEX_FIELDS_N", "50")) if fields_n is None else fields_n
    endpoints = endpoints or ENDPOINTS
    given_site = site
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (Debian package wrk): it drives the load")
    data = data_set(scale)
    manifest = json.loads((data / "manifest.json").read_text()) if (data / "manifest.json").is_file() else {}
    print(f"  data: {data} (scale {manifest.get('scale', '?')}: {manifest.get('genes', '?')} genes, "
          f"{len(manifest.get('samples', {})) or '?'} tissues, {manifest.get('signif_pairs', '?')} significant pairs)")
    peer = peer_setup()
    with ExitStack() as stack:
        if work is None:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="qtlatlas-bench-ratgtex-")))
        work.mkdir(parents=True, exist_ok=True)
        if site is None:
            site = import_and_build(data, work, release)
        ids = ratgtex_fields.load_ids(data)
        # started one at a time (each start-up measured alone), loaded in turn per endpoint
        servers: list[Server] = []
        if peer:
            servers.append(peer_server(*peer, data, 2))
        ours = ours_server(site, release) if site is not None else None
        if ours:
            servers.append(ours)
        if peer:
            servers.append(peer_server(*peer, data, 1))
        if not servers:
            print("  nothing to serve: neither qtlatlas (no site) nor the RatGTEx API (not configured)")
            return
        for server in list(servers):
            stack.callback(server.stop)
            try:
                server.start(work)
            except RuntimeError as e:
                print(f"  {server.label}: {e}")
                server.stop()
                servers.remove(server)
                continue
            print(f"  {server.label:<12} answers after {server.start_s:.1f} s, all workers ready after "
                  f"{server.ready_s:.1f} s ({server.command})")
        if ours not in servers:
            ours = None
        if not servers:
            return
        print(f"  load: wrk, 1 thread, {CLIENTS} connections, {seconds:.0f} s per endpoint and server "
              f"(+{WARMUP_S} s warm-up), {PATHS_PER_ENDPOINT} random valid queries per endpoint")
        results = load_all(servers, ids, endpoints, seconds)
        peers = [s for s in servers if s is not ours]
        print_table(results, ours, peers, recorded_peer() if not peers else {})
        env = " ".join(f"{k}={os.environ[k]}" for k in ("QTLATLAS_RATGTEX_API", "QTLATLAS_RATGTEX_PYTHON")
                       if os.environ.get(k))
        print(f"  (reproduce: {env + ' ' if env else ''}QTLATLAS_RATGTEX_DATA={data} python -m "
              f"benchmarks.bench_ratgtex --seconds {seconds:g}{' --site ' + str(given_site) if given_site else ''}"
              f"{' --endpoints ' + ','.join(endpoints) if endpoints != ENDPOINTS else ''})")
        peer2 = next((s for s in peers if s.workers == 2), None)
        if fields_n and ours and peer2:
            print(f"\n  field comparison, {fields_n} random valid ids per endpoint "
                  f"(python -m benchmarks.ratgtex_fields --peer {peer2.url} --ours {ours.url} --data {data} "
                  f"--n {fields_n}):")
            ratgtex_fields.print_report(ratgtex_fields.compare(peer2.url, ours.url, data, fields_n,
                                                               endpoints, release=release))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.bench_ratgtex",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", choices=["small", "full"], default=os.environ.get("QTLATLAS_RATGTEX_SCALE", "full"),
                    help="generator scale when $QTLATLAS_RATGTEX_DATA is not set (default full)")
    ap.add_argument("--site", type=Path, help="serve this built site instead of importing and building one")
    ap.add_argument("--work", type=Path, help="keep atlas.yaml, the site and the logs here (default: a temporary "
                    "directory, removed)")
    ap.add_argument("--release", default="v4", help="release id (default v4)")
    ap.add_argument("--endpoints", help=f"comma-separated subset of {','.join(ENDPOINTS)}")
    ap.add_argument("--seconds", type=float, help="load per endpoint and server (default $QTLATLAS_BENCH_SECONDS "
                    "or 30)")
    ap.add_argument("--fields", type=int, help="ids per endpoint in the field comparison (0: skip; default 50)")
    a = ap.parse_args(argv if argv is not None else [])
    endpoints = a.endpoints.split(",") if a.endpoints else None
    if endpoints and set(endpoints) - set(ENDPOINTS):
        ap.error(f"unknown endpoint(s): {', '.join(sorted(set(endpoints) - set(ENDPOINTS)))}")
    run(a.scale, a.site, a.work, a.release, endpoints, a.seconds, a.fields)


if __name__ == "__main__":
    main(sys.argv[1:])
