"""cis-QTL mapping speed and memory against the reference tools on GEUVADIS chr22 (608 genes, 358 samples,
53 covariates, 17,752 variants, ±1 Mb), same inputs and machine, printed as ratios.

* qtlatlas vs tensorQTL-CPU (side environment, see README.md): nominal, permutation (10,000) and
  independent passes, alternating runs, 2 threads; wall time, CPU time and peak RSS.
* the permutation kernel's effective throughput (2·m·n·P flops per phenotype, m = cis variants) against
  this machine's measured float32 GEMM peak.
* CPU time against FastQTL and QTLtools (Debian packages ``fastqtl``, ``qtltools``) at equal permutations,
  single-threaded (1,000 permutations by default; QTLATLAS_BENCH_FULL=1 for 10,000).
* scaling to 5,000 phenotypes (GEUVADIS phenotypes replicated with shuffled samples).

Environment: QTLATLAS_BENCH_REPEATS (default 1) alternating repetitions; QTLATLAS_BENCH_FULL=1.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from .measure import GEUVADIS22, Measurement, bench_python, gemm_peak_gflops, measure

QTLATLAS = [sys.executable, "-m", "qtlatlas.cli"]
THREADS = "2"
ENV2 = {"OMP_NUM_THREADS": THREADS, "MKL_NUM_THREADS": THREADS, "OPENBLAS_NUM_THREADS": THREADS}
ENV1 = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


def _ours(mode: str, prefix: Path, permutations: int, threads: str = THREADS, extra: list[str] | None = None) -> list[str]:
    return [*QTLATLAS, "map", mode, str(GEUVADIS22 / "genotypes"), str(GEUVADIS22 / "phenotypes.int.bed.gz"), str(prefix),
            "--covariates", str(GEUVADIS22 / "covariates.txt"), "--window", "1000000", "--seed", "12345",
            "--permutations", str(permutations), "--threads", threads, *(extra or [])]


def _tensorqtl(python: Path, mode: str, prefix: Path, extra: list[str] | None = None) -> list[str]:
    return [str(python), "-m", "tensorqtl", str(GEUVADIS22 / "genotypes"), str(GEUVADIS22 / "phenotypes.int.bed.gz"),
            str(prefix), "--covariates", str(GEUVADIS22 / "covariates.txt"), "--window", "1000000",
            "--maf_threshold", "0", "--seed", "12345", "--mode", mode, *(extra or [])]


def _best(runs: list[Measurement]) -> Measurement:
    return min(runs, key=lambda m: m.wall_s)


def _row(label: str, ours: Measurement, ref: Measurement | None, ref_name: str) -> None:
    print(f"  {label:<14} qtlatlas  {ours}")
    if ref is not None:
        print(f"  {'':<14} {ref_name:<9} {ref}")
        print(f"  {'':<14} ratio     wall {ref.wall_s / ours.wall_s:5.1f}x faster, CPU {ref.cpu_s / ours.cpu_s:5.1f}x less, "
              f"peak RSS {ours.peak_rss_mb / ref.peak_rss_mb:4.2f} of {ref_name}'s")


def versus_tensorqtl(work: Path, repeats: int) -> None:
    python = bench_python()
    print(f"qtlatlas vs tensorQTL-CPU, {THREADS} threads" + ("" if python else
          " (tensorQTL not installed: see benchmarks/README.md; qtlatlas only)"))
    cis_output = GEUVADIS22 / "tensorqtl" / "g22.cis_qtl.txt.gz"  # R qvalue q-values, the same input for both
    passes = [
        ("nominal", "cis_nominal", 10_000, [], []),
        ("permutations", "cis", 10_000, [], ["--permutations", "10000"]),
        ("independent", "cis_independent", 10_000, ["--cis-output", str(cis_output)], ["--cis_output", str(cis_output)]),
    ]
    for label, mode, perms, ours_extra, tq_extra in passes:
        ours, ref = [], []
        for r in range(repeats):
            ours.append(measure(_ours(mode, work / f"ours{r}", perms, extra=ours_extra), env=ENV2))
            if python:
                ref.append(measure(_tensorqtl(python, mode, work / f"tq{r}", tq_extra), env=ENV2,
                                   log=work / f"tq_{mode}.log"))
        _row(label, _best(ours), _best(ref) if ref else None, "tensorQTL")


def throughput(work: Path) -> None:
    from qtlatlas.engine.cis import PreparedCis
    from qtlatlas.mapping.inputs import load_mapping_inputs

    inputs = load_mapping_inputs(GEUVADIS22 / "genotypes", GEUVADIS22 / "phenotypes.int.bed.gz", GEUVADIS22 / "covariates.txt")
    prep = PreparedCis(inputs.cis_problem("chr22"), 1_000_000)
    flops = 2.0 * prep.num_var.sum() * prep.n_samples * 10_000
    run = measure(_ours("cis", work / "tp", 10_000), env=ENV2)
    peak = gemm_peak_gflops(2)
    effective = flops / run.wall_s / 1e9
    print(f"permutation kernel: {flops / 1e12:.2f} TFLOP (2·m·n·P over {len(prep.phenotype_ids)} phenotypes) in "
          f"{run.wall_s:.1f} s = {effective:.0f} GFLOP/s effective; float32 GEMM peak {peak:.0f} GFLOP/s on 2 threads "
          f"→ {effective / peak:.0%} of peak (whole run, I/O and Beta fits included)")


def versus_fastqtl_qtltools(work: Path) -> None:
    perms = 10_000 if os.environ.get("QTLATLAS_BENCH_FULL") else 1_000
    ours = measure(_ours("cis", work / "st", perms, threads="1"), env=ENV1)
    print(f"single-threaded CPU time at {perms:,} permutations: qtlatlas {ours.cpu_s:.1f} s")
    tools = {
        "FastQTL": ["fastQTL", "--vcf", str(GEUVADIS22 / "genotypes.vcf.gz"), "--bed", str(GEUVADIS22 / "phenotypes.int.bed.gz"),
                    "--cov", str(GEUVADIS22 / "covariates.txt"), "--window", "1e6", "--seed", "12345",
                    "--permute", str(perms), "--region", "chr22", "--out", str(work / "fastqtl.txt.gz")],
        "QTLtools": ["QTLtools", "cis", "--vcf", str(GEUVADIS22 / "genotypes.vcf.gz"), "--bed",
                     str(GEUVADIS22 / "phenotypes.int.qtltools.bed.gz"), "--cov", str(GEUVADIS22 / "covariates.txt"),
                     "--window", "1000000", "--seed", "12345", "--permute", str(perms), "--out", str(work / "qtltools.txt")],
    }
    for name, cmd in tools.items():
        if shutil.which(cmd[0]) is None:
            print(f"  {name}: not installed (Debian package {name.lower()})")
            continue
        ref = measure(cmd, env=ENV1, log=work / f"{name}.log")
        print(f"  {name:<9} {ref.cpu_s:7.1f} s CPU → qtlatlas uses {ref.cpu_s / ours.cpu_s:5.1f}x less CPU")


def scaling(work: Path) -> None:
    """Permutation pass on 608, 2,500 and 5,000 phenotypes (replicates with shuffled samples): time per
    phenotype should stay constant."""
    from qtlatlas.io.phenotypes import PhenotypeTable, read_phenotype_bed, write_phenotype_bed

    base = read_phenotype_bed(GEUVADIS22 / "phenotypes.int.bed.gz")
    rng = np.random.default_rng(0)
    print("scaling (1,000 permutations, 2 threads):")
    for target in (608, 2500, 5000):
        reps = -(-target // len(base.phenotype_ids))
        values = np.vstack([base.values if r == 0 else base.values[:, rng.permutation(base.values.shape[1])] for r in range(reps)])
        pos = base.positions
        frame = pd.concat([pos.assign(phenotype_id=pos["phenotype_id"] + (f"_r{r}" if r else "")) for r in range(reps)],
                          ignore_index=True)
        take = np.arange(target)
        order = take[np.argsort(frame["start"].to_numpy()[take], kind="stable")]
        table = PhenotypeTable(values[order], frame.iloc[order].reset_index(drop=True), base.samples)
        bed = work / f"scale{target}.bed.gz"
        write_phenotype_bed(table, bed)
        cmd = [*QTLATLAS, "map", "cis", str(GEUVADIS22 / "genotypes"), str(bed), str(work / f"scale{target}"),
               "--covariates", str(GEUVADIS22 / "covariates.txt"), "--permutations", "1000", "--seed", "1",
               "--threads", THREADS]
        run = measure(cmd, env=ENV2)
        print(f"  {target:>5} phenotypes: {run.wall_s:6.1f} s, {run.wall_s / target * 1e3:5.1f} ms per phenotype, "
              f"{run.peak_rss_mb:5.0f} MB peak RSS")


def main() -> None:
    repeats = int(os.environ.get("QTLATLAS_BENCH_REPEATS", "1"))
    with tempfile.TemporaryDirectory(prefix="qtlatlas-bench-") as tmp:
        work = Path(tmp)
        versus_tensorqtl(work, repeats)
        throughput(work)
        versus_fastqtl_qtltools(work)
        scaling(work)


if __name__ == "__main__":
    main()
