"""What private data costs a request: latency of the same queries on the large simulated release
(benchmarks/large_release.py, scale 1: 20,000 genes × 10 tissues × 6 modalities, ~29 M significant pairs) when

* the atlas is all public (no access layer work);
* one tissue is private and the reader has no token (every query runs on a restricted view, :mod:`qtlatlas.access`);
* one tissue is private and the reader's token opens it (the unrestricted store, reached through the token check).

Requests go through the whole application in-process (``TestClient``: middleware, routing, store, JSON), one
client, after a warm-up, each case in a process of its own; the median and p95 of each query and the ratio of each
private case to the public one are printed.

Environment: QTLATLAS_BENCH_PRIVATE_SCALE (default 1), QTLATLAS_BENCH_PRIVATE_REQUESTS (default 40 per query),
QTLATLAS_BENCH_PRIVATE_SITE (reuse a site written by ``python -m benchmarks.large_release SITE``).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from .large_release import make_large_release


def _queries(release: Path) -> list[str]:
    """The URLs timed: a gene's QTLs, pairs and record, a variant's associations, a 1 Mb region, the QTL browser
    list and the gene page, on a gene with a QTL in many tissues."""
    top = pd.read_parquet(release / "tables" / "top_qtls.parquet", columns=["gene_id", "tissue", "variant_id",
                                                                             "chrom", "pos"])
    gene = top.groupby("gene_id")["tissue"].nunique().idxmax()
    row = top[top["gene_id"] == gene].iloc[0]
    region = f"{row.chrom}:{max(int(row.pos) - 500_000, 1)}-{int(row.pos) + 500_000}"
    return [f"/api/v1/genes/{gene}", f"/api/v1/qtls/top?gene={gene}", f"/api/v1/qtls/pairs?gene={gene}",
            f"/api/v1/variants/{row.variant_id}/associations", f"/api/v1/qtls/pairs?region={region}&limit=200",
            "/api/v1/qtls/top?limit=100", "/api/v1/tissues", f"/gene/{gene}"]


def _time(client, urls: list[str], headers: dict, n: int) -> dict[str, tuple[float, float]]:
    out = {}
    for url in urls:
        for _ in range(3):
            client.get(url, headers=headers)
        times = []
        for _ in range(n):
            start = time.perf_counter()
            r = client.get(url, headers=headers)
            times.append((time.perf_counter() - start) * 1000)
            if r.status_code != 200:
                raise RuntimeError(f"{url}: status {r.status_code}")
        times.sort()
        out[url] = (statistics.median(times), times[int(0.95 * (len(times) - 1))])
    return out


#: The cases timed, each in a process of its own (two applications in one process slow each other down).
CASES = ("public atlas", "private, no token", "private, token")


def run_case(site: Path, case: str, n: int) -> dict[str, tuple[float, float]]:
    """Time the queries of :func:`_queries` for one case of :data:`CASES` (atlas.json is set for the case, and
    put back)."""
    from fastapi.testclient import TestClient

    from qtlatlas.access.tokens import add_token
    from qtlatlas.web.app import create_app

    atlas_path = site / "atlas.json"
    original = atlas_path.read_text()
    atlas = json.loads(original)
    atlas.pop("access", None)
    headers = {}
    if case != CASES[0]:
        private = atlas["tissues"][-1]["id"]
        atlas["access"] = {"release": {}, "study": {}, "trait": {}, "tissue": {private: {"visibility": "private"}}}
        if case == CASES[2]:
            headers = {"Authorization": "Bearer " + add_token(site, f"bench{time.time_ns()}", [f"tissue:{private}"])}
    try:
        atlas_path.write_text(json.dumps(atlas))
        client = TestClient(create_app(site))
        return _time(client, _queries(site / "releases" / "v1"), headers, n)
    finally:
        atlas_path.write_text(original)


def main() -> None:
    scale = float(os.environ.get("QTLATLAS_BENCH_PRIVATE_SCALE", "1"))
    n = int(os.environ.get("QTLATLAS_BENCH_PRIVATE_REQUESTS", "40"))
    given = os.environ.get("QTLATLAS_BENCH_PRIVATE_SITE")
    tmp = None if given else tempfile.TemporaryDirectory(prefix="qtlatlas-bench-private-")
    site = Path(given or tmp.name)
    try:
        if not (site / "releases" / "v1").is_dir():
            make_large_release(site, "v1", scale=scale)
        cases = {}
        for case in CASES:
            out = subprocess.run([sys.executable, "-m", "benchmarks.bench_private_views", str(site), case, str(n)],
                                 check=True, capture_output=True, text=True).stdout
            cases[case] = {url: tuple(v) for url, v in json.loads(out.strip().splitlines()[-1]).items()}
    finally:
        if tmp is not None:
            tmp.cleanup()
    private = json.loads((site / "atlas.json").read_text())["tissues"][-1]["id"] if given else "the last tissue"
    print(f"   scale {scale}, {n} requests per query, tissue {private} private in the last two cases; "
          "median / p95 ms (ratio of medians to the public atlas)")
    print("   " + f"{'query':58s}" + "".join(f"{c:>34s}" for c in CASES))
    for url in cases[CASES[0]]:
        base = cases[CASES[0]][url][0]
        cells = [f"{cases[c][url][0]:8.1f} /{cases[c][url][1]:7.1f} ({cases[c][url][0] / base:4.2f}x)" for c in CASES]
        print("   " + f"{url[:58]:58s}" + "".join(f"{c:>34s}" for c in cells))


if __name__ == "__main__":
    if len(sys.argv) == 4:  # one case, in a process of its own: its timings as JSON on the last line
        print(json.dumps(run_case(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]))))
    else:
        main()
