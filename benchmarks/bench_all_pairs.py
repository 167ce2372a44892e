"""Every tested pair of a release at RatGTEx's shape and size: storage per pair, and the all-pairs and LD endpoints
under 16 concurrent clients, beside the peer of a region query — ``pysam``'s tabix fetch of the published download.

1. the release: ``--site SITE`` (built from a RatGTEx-layout data set with its nominal pass, e.g.
   ``qtlatlas import ratgtex DATA/v4`` + ``qtlatlas build``), else the 1× data set of :mod:`benchmarks.bench_ratgtex`
   imported and built here (build time and peak RSS printed);
2. storage: bytes per pair of the query store (``tables/all_pairs/*``) and of the downloads
   (``nominal.*.tsv.gz`` + ``.tbi``), from the pair counts of ``release.json``;
3. load: ``qtlatlas serve SITE --workers 2``; per endpoint ``wrk`` (1 thread, 16 connections, 30 s after a 2 s warm-up,
   ``$QTLATLAS_BENCH_SECONDS``) cycling through 500 random queries: a 1 Mb region of one tissue × modality (first
   page of 1,000 rows), every pair of a gene in one tissue (one page of ≤ 10,000 rows: the whole cis window, as a
   list of rows and in the columns layout) and in every tissue (first page of 1,000), a variant's PheWAS over every tissue, LD of a variant over ±500 kb;
4. peer: the same regions fetched from the tissue's download with ``pysam.TabixFile.fetch`` and split into
   fields, first 1,000 rows and the whole region, single-threaded in this process (median and p95), beside ours
   answered to one client at a time.

Targets (p95 under 16 clients): region ≤ 150 ms, gene ≤ 100 ms, variant PheWAS ≤ 150 ms, LD ≤ 200 ms.

    python -m benchmarks.bench_all_pairs --site SITE [--release v4] [--seconds 30]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

from .bench_ratgtex import CLIENTS, WARMUP_S, data_set, import_and_build, ours_server, wrk

N_QUERIES = 500
TARGET_MS = {"region 1 Mb, one tissue": 150, "gene, one tissue": 100, "gene, one tissue, columns": 100,
             "gene, every tissue": 100,
             "variant PheWAS, every tissue": 150, "LD ±500 kb": 200}


def storage(release: Path) -> None:
    info = json.loads((release / "release.json").read_text())
    counts = info.get("counts", {}).get("all_pairs", [])
    n = sum(c["n_pairs"] for c in counts)
    if not n:
        print("  the release publishes no nominal pass")
        return
    store = sum(p.stat().st_size for p in (release / "tables" / "all_pairs").glob("*.*.*.parquet"))
    pairs = sum(p.stat().st_size for p in (release / "tables" / "all_pairs").glob("*.pairs.parquet"))
    by_variant = sum(p.stat().st_size for p in (release / "tables" / "all_pairs").glob("by_variant.*"))
    download = sum(p.stat().st_size for p in (release / "downloads").glob("nominal.*"))
    print(f"  tested pairs: {n:,} in {len(counts)} tissue × modality; unplaced {sum(c['n_unplaced'] for c in counts):,}")
    print(f"  query store: {store / 2**20:,.0f} MB = {store / n:.2f} bytes per pair "
          f"(pair rows {pairs / n:.2f}; runs and per-variant statistics {(store - pairs) / n:.2f}); target ≤ 12")
    if by_variant:
        print(f"  + the same pairs by variant: {by_variant / 2**20:,.0f} MB = {by_variant / n:.2f} bytes per pair "
              f"(in all {(store + by_variant) / n:.2f})")
    print(f"  downloads (bgzipped TSV + .tbi): {download / 2**20:,.0f} MB = {download / n:.2f} bytes per pair")


def _queries(release: Path, rng: np.random.Generator) -> tuple[dict[str, list[str]], list[tuple[str, str, int, int]]]:
    """Query paths per endpoint, and the regions (tissue, chrom, start, end) of the region queries."""
    from qtlatlas.store import ReleaseStore

    store = ReleaseStore(release)
    targets = store.all_pairs_targets()
    tissues = sorted({t for t, _ in targets})
    first = targets[0]
    f = store.all_pairs_file(*first)
    runs = rng.choice(len(f.phenotype_ids), N_QUERIES)
    genes = [str(f.gene_ids[i]) for i in runs]
    regions = []
    for i in rng.choice(len(f.phenotype_ids), N_QUERIES):
        t = tissues[int(rng.integers(len(tissues)))]
        start = int(max(1, f.pos_first[i] + rng.integers(0, max(1, f.pos_last[i] - f.pos_first[i]))))
        regions.append((t, str(f.chroms[i]), start, start + 999_999))
    variants = store.all_pairs(gene=genes[0], tissues=[first[0]], limit=1)[0]  # warm the caches
    del variants
    positions = []
    for i in rng.choice(len(f.phenotype_ids), N_QUERIES):
        rows = f.variant_first[i] + rng.integers(0, f.n_rows[i])
        positions.append(int(rows))
    ids = store._variants_by_index().take(np.array(positions)).column("variant_id").to_pylist()
    tm = f"modality={first[1]}"
    paths = {
        "region 1 Mb, one tissue": [f"/api/v1/all-pairs/region/{c}:{a}-{b}?tissue={t}&{tm}&limit=1000"
                                    for t, c, a, b in regions],
        "gene, one tissue": [f"/api/v1/all-pairs/gene/{g}?tissue={tissues[k % len(tissues)]}&{tm}&limit=10000"
                             for k, g in enumerate(genes)],
        "gene, one tissue, columns": [f"/api/v1/all-pairs/gene/{g}?tissue={tissues[k % len(tissues)]}&{tm}"
                                      f"&limit=10000&layout=columns" for k, g in enumerate(genes)],
        "gene, every tissue": [f"/api/v1/all-pairs/gene/{g}?limit=1000" for g in genes],
        "variant PheWAS, every tissue": [f"/api/v1/all-pairs/variant/{v}?limit=1000" for v in ids],
        "LD ±500 kb": [f"/api/v1/ld?variant={v}" for v in ids],
    }
    return paths, regions


def _get_ms(url: str) -> float:
    t0 = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as r:
        r.read()
    return (time.perf_counter() - t0) * 1e3


def peer(release: Path, regions: list[tuple[str, str, int, int]], port: int, modality: str) -> None:
    import pysam

    downloads = {p.name.split(".")[1]: p for p in (release / "downloads").glob(f"nominal.*.{modality}.*.tsv.gz")}
    readers = {t: pysam.TabixFile(str(p)) for t, p in downloads.items()}
    sample = regions[:100]
    first, whole, ours = [], [], []
    for t, c, a, b in sample:
        t0 = time.perf_counter()
        rows = []
        for line in readers[t].fetch(c, a - 1, b):
            rows.append(line.split("\t"))
            if len(rows) == 1000:
                break
        first.append((time.perf_counter() - t0) * 1e3)
        t0 = time.perf_counter()
        n = sum(1 for line in readers[t].fetch(c, a - 1, b) if line.split("\t"))
        whole.append((time.perf_counter() - t0) * 1e3)
        del n
        ours.append(_get_ms(f"http://127.0.0.1:{port}/api/v1/all-pairs/region/{c}:{a}-{b}?tissue={t}"
                            f"&modality={modality}&limit=1000"))

    def fmt(xs: list[float]) -> str:
        return f"median {statistics.median(xs):6.1f} ms, p95 {np.percentile(xs, 95):6.1f} ms"

    print(f"  peer, pysam tabix fetch of the download (1 thread, {len(sample)} regions of 1 Mb):")
    print(f"    first 1,000 rows split into fields: {fmt(first)}")
    print(f"    the whole region:                   {fmt(whole)}")
    print(f"  ours, /api/v1/all-pairs/region (first 1,000 rows as JSON, one client at a time): {fmt(ours)}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.bench_all_pairs", description=__doc__.split("\n\n")[0])
    ap.add_argument("--site", type=Path, help="a built site (else the 1× RatGTEx-layout data set is imported and built)")
    ap.add_argument("--release", default="v4")
    ap.add_argument("--seconds", type=float, default=float(os.environ.get("QTLATLAS_BENCH_SECONDS", 30)))
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="qtlatlas-bench-allpairs-") as tmp:
        site = args.site
        if site is None:
            site = import_and_build(data_set("full"), Path(tmp), args.release)
            if site is None:
                return
        release = site / "releases" / args.release
        storage(release)
        paths, regions = _queries(release, np.random.default_rng(7))
        server = ours_server(site, args.release)
        server.start(Path(tmp))
        try:
            root = f"http://127.0.0.1:{server.port}"
            print(f"  load: wrk, 1 thread, {CLIENTS} connections, {args.seconds:.0f} s per endpoint, "
                  f"{N_QUERIES} random queries each; server: {server.command}")
            for name, run in paths.items():
                wrk(root, run[-100:], WARMUP_S)
                result = wrk(root, run, args.seconds)
                verdict = "ok" if result.p95 <= TARGET_MS[name] and not result.non2xx else "OVER"
                print(f"  {name:<30} {result}  (target p95 ≤ {TARGET_MS[name]} ms: {verdict})", flush=True)
            modality = paths["region 1 Mb, one tissue"][0].split("modality=")[1].split("&")[0]
            peer(release, regions, server.port, modality)
            print(f"  server memory after the load: {server.memory()}")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
