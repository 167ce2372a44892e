"""Peak memory and time of ``qtlatlas build`` on an atlas imported from RatGTEx's own file layout, as it grows:
the RatGTEx-layout generator (``../shared/tools/ratgtex-v4-synth``) at 0.1× (13 tissues, 2,000 genes,
100,000 variants, 2,000 rats), at RatGTEx v4's size (1×: 20,000 genes, 1,000,000 variants, 2.09 M significant
pairs, 168 M tested pairs) and, with ``--sizes``, at 3× and 10× the variants and significant pairs per gene
(the genes of a genome do not grow; 3×: 3 M variants, 6.24 M significant pairs, 504 M tested pairs; 10×: 10 M
variants, 20.9 M significant pairs, 1.68 G tested pairs). Each is
imported with ``qtlatlas import ratgtex`` and built. Target: peak RSS < 2 GB, and about the same at every size
(what grows with the release passes through disk).

    python -m benchmarks.bench_build_ratgtex [--sizes 0.1x,1x,3x] [--data 3x=DIR …]

Data: ``--data SIZE=DIR`` names a generator output already written (``$QTLATLAS_RATGTEX_DATA`` is the 1× one);
others are generated into ``~/.cache/qtlatlas-bench/`` and kept (1×: ~7 minutes and 2.4 GB; 3×: ~25 minutes and
6.5 GB; 10×: ~24 GB, with ~60 GB more for its release).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from . import ratgtex_fields
from .bench_ratgtex import GENERATOR, _cache_dir
from .measure import measure

QTLATLAS = [sys.executable, "-m", "qtlatlas.cli"]
#: Generator arguments per size.
SIZES = {
    "0.1x": ["--scale", "full", "--genes", "2000", "--variants", "100000", "--egenes", "800"],
    "1x": ["--scale", "full"],
    "3x": ["--scale", "full", "--variants", "3000000", "--esnps", "60"],
    "10x": ["--scale", "full", "--variants", "10000000", "--esnps", "200"],
}
DEFAULT_SIZES = "0.1x,1x"
TARGET_MB = 2048


def _data(label: str, named: dict[str, str]) -> Path:
    if label in named:
        return ratgtex_fields.resolve_data(named[label])
    if label == "1x" and os.environ.get("QTLATLAS_RATGTEX_DATA"):
        return ratgtex_fields.resolve_data(os.environ["QTLATLAS_RATGTEX_DATA"])
    out = _cache_dir(label if label != "1x" else "full")
    if not (out / "manifest.json").is_file():
        out.mkdir(parents=True, exist_ok=True)
        print(f"  writing the {label} data set into {out} …", flush=True)
        run = measure([sys.executable, str(GENERATOR), *SIZES[label], "--out", str(out)], log=out / "generate.log")
        if run.returncode != 0:
            raise SystemExit(f"the generator failed (exit {run.returncode}); see {out / 'generate.log'}")
    return ratgtex_fields.resolve_data(out)


def _arguments(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.bench_build_ratgtex", description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default=DEFAULT_SIZES, help=f"comma-separated, of {', '.join(SIZES)} "
                    f"(default {DEFAULT_SIZES})")
    ap.add_argument("--data", action="append", default=[], metavar="SIZE=DIR",
                    help="a generator output already written for SIZE")
    args = ap.parse_args(argv)
    args.sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    unknown = [s for s in args.sizes if s not in SIZES]
    if unknown:
        ap.error(f"--sizes: unknown size(s) {', '.join(unknown)}; choose from {', '.join(SIZES)}")
    named = {}
    for item in args.data:
        label, sep, path = item.partition("=")
        if not sep or label not in SIZES or not path:
            ap.error(f"--data {item!r}: give SIZE=DIR with SIZE one of {', '.join(SIZES)}")
        named[label] = path
    args.data = named
    return args


def main(argv: list[str] | None = None) -> None:
    args = _arguments(argv if argv is not None else [])
    rows = []
    with tempfile.TemporaryDirectory(prefix="qtlatlas-bench-build-ratgtex-") as tmp:
        for label in args.sizes:
            data = _data(label, args.data)
            manifest = json.loads((data / "manifest.json").read_text())
            work = Path(tmp) / label
            work.mkdir()
            atlas = work / "atlas.yaml"
            run = measure([*QTLATLAS, "import", "ratgtex", str(data / "v4"), "--release", "v4", "--out", str(atlas)],
                          log=work / "import.log")
            if run.returncode != 0:
                print(f"  {label}: import failed (see {work / 'import.log'})")
                continue
            build = measure([*QTLATLAS, "build", str(atlas), "--release", "v4", "--site", str(work / "site")],
                            log=work / "build.log")
            if build.returncode != 0:
                print(f"  {label}: build failed (see {work / 'build.log'})")
                continue
            tested = sum(manifest.get("tested", {}).values())
            rows.append((label, manifest.get("signif_pairs"), build))
            print(f"  {label:>5}: {manifest.get('genes'):>7,} genes, {manifest.get('variants'):>10,} variants, "
                  f"{manifest.get('signif_pairs'):>10,} significant pairs, {tested:,} gene × tissue cis windows; "
                  f"build {build.wall_s:6.1f} s wall, {build.cpu_s:6.1f} s CPU, {build.peak_rss_mb:6.0f} MB peak RSS "
                  f"({'under' if build.peak_rss_mb < TARGET_MB else 'OVER'} {TARGET_MB} MB)", flush=True)
            shutil.rmtree(work / "site", ignore_errors=True)  # a large release's disk is needed for the next
    for (l0, p0, b0), (l1, p1, b1) in zip(rows, rows[1:], strict=False):
        print(f"  {l0} -> {l1}: {p1 / p0:.1f}× the significant pairs: peak RSS ×{b1.peak_rss_mb / b0.peak_rss_mb:.2f}, "
              f"build time ×{b1.wall_s / b0.wall_s:.1f}")


if __name__ == "__main__":
    main(sys.argv[1:])
