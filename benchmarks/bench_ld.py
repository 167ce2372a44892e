"""LD look-ups at 10× RatGTEx's variant density: a synthetic release of 3,700 variants per Mb × 2,000 samples.

Run: ``.venv/bin/python -m benchmarks.run ld`` (or ``python benchmarks/bench_ld.py [VCF]``). Writes a small
release directory (variant tables of one 12 Mb chromosome, a random genotype matrix of 44,400 × 2,000 calls,
22 MB) into a temporary directory and prints single-threaded timings (median of 25 calls, milliseconds):

* ``ReleaseStore.ld`` over the default 1 Mb window, all samples and one tissue's 400, and its parts (reading the
  window's rows, :func:`qtlatlas.engine.ld.ld_r_packed`);
* the layouts not chosen: int8 rows (4× the bytes) with :func:`qtlatlas.engine.ld.ld_r`, and a 1 Mb window
  decoded from a bgzipped VCF (the GEUVADIS chr22 VCF, or ``VCF`` — a 2,000-sample file such as RatGTEx's —
  scaled to 3,700 variants × 2,000 samples);
* ``ReleaseStore.ld_matrix`` of 500 variants.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from qtlatlas.engine.ld import ld_r, ld_r_packed, pack, unpack
from qtlatlas.release import layout
from qtlatlas.release.genotype_matrix import MAGIC, samples_path
from qtlatlas.release.variant_store import VariantStore
from qtlatlas.release.variant_tables import write_variant_tables
from qtlatlas.store import ReleaseStore

PER_MB = 3_700  # 10× RatGTEx v4 (≈ 370 variants per Mb)
N_SAMPLES = 2_000
MB = 12
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
GEUVADIS_VCF = SHARED / "reference" / "geuvadis22" / "genotypes.vcf.gz"


def median_ms(fn: Callable[[], object], repeats: int = 25) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def synthetic_release(root: Path, seed: int = 7) -> Path:
    """A release directory with what LD reads: variant tables, genotype matrix, samples, release.json."""
    rng = np.random.default_rng(seed)
    n = PER_MB * MB
    pos = np.sort(rng.choice(np.arange(1, MB * 1_000_000), size=n, replace=False))
    chunk = pd.DataFrame({"chrom": "chr1", "pos": pos, "id": [f"rs{i + 1}" for i in range(n)], "ref": "A", "alt": "G"})
    out = root / "releases" / "syn"
    store = VariantStore([chunk], root / "scratch")

    def table(rel: str, _description: str) -> Path:
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        return out / rel

    write_variant_tables(store, out, table, lambda *_: None)
    store.con.close()
    matrix = out / layout.table_path("genotype_matrix")
    with open(matrix, "wb") as f:
        f.write(MAGIC)
        for start in range(0, n, 4096):
            m = min(4096, n - start)
            freq = rng.uniform(0.01, 0.5, (m, 1))
            calls = rng.binomial(2, freq, (m, N_SAMPLES)).astype(np.int8)
            calls[rng.random((m, N_SAMPLES)) < 0.01] = -9
            f.write(pack(calls).tobytes())
    samples = [f"R{i:05d}" for i in range(N_SAMPLES)]
    samples_path(matrix).write_text("".join(f"{s}\n" for s in samples))
    pq.write_table(pa.table({"sample_id": samples[::5], "tissue": ["T"] * len(samples[::5])}),
                   out / layout.table_path("samples"))
    (out / layout.RELEASE_JSON).write_text(json.dumps({"id": "syn", "tissues": [{"id": "T", "modalities": []}]}))
    return out


def vcf_window_ms(path: Path) -> tuple[float, int, int]:
    """Median ms to decode the 1 Mb window of a VCF holding the most variants (of its first 40 Mb), with the
    window's variants and samples."""
    from qtlatlas.io.genotypes import open_genotypes

    reader = open_genotypes(path)
    variants = reader.variants
    chrom = str(variants["chrom"].iloc[0])
    pos = variants.loc[variants["chrom"] == chrom, "pos"].to_numpy()
    starts = np.arange(pos.min(), min(pos.max(), pos.min() + 40_000_000), 250_000)
    counts = np.searchsorted(pos, starts + 999_999, side="right") - np.searchsorted(pos, starts)
    start = int(starts[np.argmax(counts)])
    region = f"{chrom}:{start}-{start + 999_999}"
    data = reader.read(region)
    return median_ms(lambda: reader.read(region), repeats=5), data.n_variants, data.n_samples


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    with tempfile.TemporaryDirectory(prefix="qtlatlas-bench-ld-") as tmp:
        release = synthetic_release(Path(tmp))
        store = ReleaseStore(release)
        focal = [f"rs{i}" for i in np.linspace(PER_MB * 2, PER_MB * (MB - 2), 25).astype(int)]
        rows = store.ld(focal[0])
        print(f"window: {len(rows):,} variants × {N_SAMPLES:,} samples (1 Mb at {PER_MB:,} variants per Mb)")
        calls = iter(focal * 100)
        print(f"ReleaseStore.ld, all samples: {median_ms(lambda: store.ld(next(calls))):.1f} ms")
        print(f"ReleaseStore.ld, tissue (400 samples): {median_ms(lambda: store.ld(next(calls), tissue='T')):.1f} ms")
        matrix = store.genotype_matrix()
        first = 5 * PER_MB
        packed = matrix.rows(first, first + len(rows))
        print(f"  read the window's rows ({packed.nbytes / 1e6:.2f} MB): "
              f"{median_ms(lambda: matrix.rows(first, first + len(rows))):.2f} ms")
        print(f"  ld_r_packed: {median_ms(lambda: ld_r_packed(packed[100], packed, N_SAMPLES)):.1f} ms")
        int8 = unpack(packed, N_SAMPLES)
        print(f"int8 rows instead ({int8.nbytes / 1e6:.1f} MB read), ld_r: {median_ms(lambda: ld_r(int8[100], int8)):.1f} ms")
        for vcf in [GEUVADIS_VCF, *map(Path, argv)]:
            if vcf.is_file():
                ms, m, n = vcf_window_ms(vcf)
                print(f"VCF window decoded ({vcf.name}: {m:,} variants × {n:,} samples): {ms:.0f} ms; scaled to "
                      f"{len(rows):,} × {N_SAMPLES:,}: {ms * len(rows) * N_SAMPLES / (m * n):.0f} ms")
        ids = [f"rs{i}" for i in range(first, first + 500)]
        print(f"ReleaseStore.ld_matrix, 500 variants: {median_ms(lambda: store.ld_matrix(ids), repeats=5):.0f} ms")
        matrix.close()


if __name__ == "__main__":
    main()
