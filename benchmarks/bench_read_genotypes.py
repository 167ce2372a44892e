"""Timings of qtlatlas.io.genotypes on the shared real data (best of N runs, wall seconds).

Run: ``.venv/bin/python benchmarks/bench_read_genotypes.py``. Prints one line per case, e.g.
``read plink1 17752x503: 0.031 s``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from qtlatlas.io.genotypes import GenotypeData, open_genotypes, read_genotypes

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
G1000 = SHARED / "data" / "1000g-eur-hm3-chr21-22" / "g1000_eur_hm3_chr22"
GEUVADIS = SHARED / "reference" / "geuvadis22" / "genotypes"
GEUVADIS_FILES = {"plink1": f"{GEUVADIS}.bed", "plink2": f"{GEUVADIS}.pgen", "vcf": f"{GEUVADIS}.vcf.gz"}
REGION = "chr22:20000000-21000000"


def best_of(fn: Callable[[], GenotypeData], repeats: int = 5) -> tuple[float, GenotypeData]:
    """Smallest wall time (seconds) of ``repeats`` calls of ``fn``, and its last result."""
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def report(label: str, fn: Callable[[], GenotypeData], repeats: int = 5) -> None:
    seconds, data = best_of(fn, repeats)
    rows, cols = data.dosages.shape
    print(f"{label} {rows}x{cols}: {seconds:.4f} s")


def main() -> None:
    if not SHARED.is_dir():
        raise SystemExit(f"shared data not found at {SHARED}")
    report("read plink1", lambda: read_genotypes(G1000))
    report("read plink1 float32", lambda: read_genotypes(G1000, dtype="float32"))
    for fmt, path in GEUVADIS_FILES.items():
        report(f"read {fmt}", lambda path=path: read_genotypes(path), repeats=3 if fmt == "vcf" else 5)
    for fmt, path in GEUVADIS_FILES.items():
        reader = open_genotypes(path)
        report(f"region {fmt} {REGION}", lambda reader=reader: reader.read(REGION))
    for fmt, path in GEUVADIS_FILES.items():
        reader = open_genotypes(path)
        picks = reader.samples[::-7]
        report(
            f"region {fmt} {len(picks)} samples reordered",
            lambda r=reader, s=picks: r.read(REGION, samples=s),
        )


if __name__ == "__main__":
    main()
