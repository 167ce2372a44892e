"""Peak memory and time of ``qtlatlas build`` on an atlas imported from RatGTEx's own file layout, as it grows
tenfold: the RatGTEx-layout generator (``../shared/tools/ratgtex-v4-synth``) at 0.1× (13 tissues, 2,000 genes,
100,000 variants, 2,000 rats) and at RatGTEx v4's size (1×: 20,000 genes, 1,000,000 variants, 2.09 M significant
pairs, 168 M tested pairs), each imported with ``qtlatlas import ratgtex`` and built. Target: peak RSS < 2 GB at
1×, and about the same at both sizes (what grows with the release is streamed).

    python -m benchmarks.bench_build_ratgtex        # or: python -m benchmarks.run build_ratgtex

Data: ``$QTLATLAS_RATGTEX_DATA`` is used as the 1× data set when set; otherwise both are generated into
``~/.cache/qtlatlas-bench/`` (kept for later runs; the 1× one takes ~7 minutes and 2.4 GB).
"""

from __future__ import annotations

import json
import os
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
}
TARGET_MB = 2048


def _data(label: str) -> Path:
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


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory(prefix="qtlatlas-bench-build-ratgtex-") as tmp:
        for label in SIZES:
            data = _data(label)
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
            rows.append((label, manifest.get("genes"), manifest.get("variants"), manifest.get("signif_pairs"), build))
            print(f"  {label:>5}: {manifest.get('genes'):>7,} genes, {manifest.get('variants'):>9,} variants, "
                  f"{manifest.get('signif_pairs'):>10,} significant pairs, {tested:,} gene × tissue cis windows; "
                  f"build {build.wall_s:6.1f} s wall, {build.cpu_s:6.1f} s CPU, {build.peak_rss_mb:6.0f} MB peak RSS "
                  f"({'under' if build.peak_rss_mb < TARGET_MB else 'OVER'} {TARGET_MB} MB)", flush=True)
    if len(rows) == 2:
        (_, _, _, p0, b0), (_, _, _, p1, b1) = rows
        print(f"  {p1 / p0:.1f}× the significant pairs: peak RSS ×{b1.peak_rss_mb / b0.peak_rss_mb:.2f}, "
              f"build time ×{b1.wall_s / b0.wall_s:.1f}")


if __name__ == "__main__":
    main()
