"""Colocalisation of one GWAS trait with every tissue × modality of a built release, as ``qtlatlas build`` runs it
(:mod:`qtlatlas.release.coloc`), on the release as published (read-only).

``python -m benchmarks.bench_coloc --site SITE --release v4 [--gwas FILE --n N]`` prints the GWAS rows read and
placed, the loci, the tests (locus × phenotype rows) and those with PP.H4 ≥ 0.8, the wall time of reading the
GWAS and of the loci, and the peak RSS of the process. Without ``--gwas`` a synthetic GWAS-SSF over every
variant of the release with six planted loci is written first (:mod:`benchmarks.coloc_gwas`) into
``~/.cache/qtlatlas-bench``. ``make bench`` runs it on ``$QTLATLAS_BENCH_COLOC_SITE`` (release
``$QTLATLAS_BENCH_COLOC_RELEASE``, default v4) and skips it when that is not set.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

from qtlatlas.config import ColocSettings
from qtlatlas.release.coloc import ReleaseColoc
from qtlatlas.release.coloc_gwas import TraitGwas


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--site", type=Path, default=os.environ.get("QTLATLAS_BENCH_COLOC_SITE"))
    ap.add_argument("--release", default=os.environ.get("QTLATLAS_BENCH_COLOC_RELEASE", "v4"))
    ap.add_argument("--gwas", type=Path, help="GWAS file (any format qtlatlas reads); default: a synthetic one")
    ap.add_argument("--n", type=float, default=20_000, help="GWAS sample size where the file gives none")
    ap.add_argument("--trait", default="bench_trait")
    ap.add_argument("--p-threshold", type=float, default=5e-8)
    args = ap.parse_args(argv if argv is not None else [])
    if args.site is None:
        print("   skipped: give --site (or set QTLATLAS_BENCH_COLOC_SITE) to a built site")
        return 0
    release = args.site / "releases" / args.release
    gwas_path = args.gwas
    if gwas_path is None:
        from . import coloc_gwas

        cache = Path.home() / ".cache" / "qtlatlas-bench"
        cache.mkdir(parents=True, exist_ok=True)
        gwas_path = cache / f"coloc-gwas.{args.site.resolve().name}.{args.release}.tsv.gz"
        if not gwas_path.is_file():
            coloc_gwas.main(["--site", str(args.site), "--release", args.release, "--out", str(gwas_path)])
    settings = ColocSettings(p_threshold=args.p_threshold)
    t0 = time.perf_counter()
    coloc = ReleaseColoc(release, f"release {args.release}")
    stores = ", ".join(f"{s.tissue}.{s.modality}{'' if s.effects else ' (p-values only)'}" for s in coloc.stores)
    t1 = time.perf_counter()
    print(f"   release {args.release}: {len(coloc.stores)} all-pairs stores ({stores}); opened in {t1 - t0:.1f} s")
    gwas = TraitGwas(args.trait, gwas_path, args.n, coloc.variants)
    t2 = time.perf_counter()
    print(f"   GWAS {gwas_path.name}: {gwas.n_read:,} rows read, {gwas.n_placed:,} placed in {t2 - t1:.1f} s "
          f"(peak RSS so far {_rss_mb():,.0f} MB)")
    loci_seen = []

    def on_locus(k: int, n: int) -> None:
        loci_seen.append(time.perf_counter())
        print(f"   locus {k}/{n}", end="\r", flush=True)

    result = coloc.colocalise(gwas, settings, on_locus)
    t3 = time.perf_counter()
    coloc.close()
    c = result.counts
    per_locus = (t3 - t2) / max(c["n_loci"], 1)
    print(f"   {c['n_loci']} loci, {c['n_tests']:,} tests, {c['n_colocalised']} with PP.H4 ≥ 0.8: {t3 - t2:.1f} s "
          f"({per_locus:.2f} s per locus)")
    top = result.rows.sort_values("PP.H4.abf", ascending=False).head(10)
    if len(top):
        print(top[["locus", "lead_variant_id", "tissue", "modality", "phenotype_id", "nsnps", "hit1", "hit2",
                   "PP.H3.abf", "PP.H4.abf"]].to_string(index=False))
    print(f"   total {t3 - t0:.1f} s wall, peak RSS {_rss_mb():,.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
