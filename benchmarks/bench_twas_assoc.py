"""TWAS association of trait1 over the 60-gene GEUVADIS chr22 panel, against FUSION's recorded run.

FUSION (``FUSION.assoc_test.R``, R 4.2.2) cannot be installed here; its run on the same inputs was timed with
``/usr/bin/time -v`` when the reference outputs were made: ../shared/reference/fusion/assoc/trait1.chr22.time.txt
(3.56 s wall, 388 MB peak RSS). We measure, on the same inputs:

* ``qtlatlas twas assoc`` end to end (a child process: interpreter start, imports, reading the LD reference,
  the summary statistics and the weights, testing, writing the .dat) on the FUSION panel (.pos + 60
  .wgt.RDat read with ``rdata``) and on the same panel converted once to our Parquet format;
* the association itself in one process (LD reference + GWAS alignment + 60 models tested, weights already
  in memory), best of ``QTLATLAS_BENCH_REPEATS`` (default 5) runs.

Run: ``python -m benchmarks.run twas_assoc`` (or ``python -m benchmarks.bench_twas_assoc``).
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import time
from pathlib import Path

from .measure import SHARED, Measurement, measure

FUSION = SHARED / "reference" / "fusion"
REF_PREFIX = SHARED / "data" / "1000g-eur-hm3-chr21-22" / "g1000_eur_hm3_chr"
ENV1 = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


def fusion_recorded() -> Measurement:
    """FUSION's own run of the same association, from its ``/usr/bin/time -v`` record."""
    text = (FUSION / "assoc" / "trait1.chr22.time.txt").read_text()
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", text).group(1)
    parts = [float(p) for p in wall.split(":")]
    wall_s = sum(p * 60**i for i, p in enumerate(reversed(parts)))
    cpu = sum(float(re.search(rf"{k} time \(seconds\): (\S+)", text).group(1)) for k in ("User", "System"))
    rss = float(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1)) / 1024
    return Measurement(wall_s, cpu, rss, 0)


def _cli(weights: Path, out: Path, weights_dir: Path | None = None) -> list[str]:
    cmd = [sys.executable, "-m", "qtlatlas.cli", "twas", "assoc", "--sumstats",
           str(FUSION / "inputs" / "trait1.chr22.sumstats"), "--weights", str(weights), "--ref_ld_chr",
           str(REF_PREFIX), "--chr", "22", "--out", str(out)]
    return cmd + (["--weights_dir", str(weights_dir)] if weights_dir else [])


def in_process(repeats: int) -> tuple[float, float]:
    """Best wall seconds of (LD reference + GWAS + association of the 60 models) and of reading the RDat panel."""
    from qtlatlas.io.sumstats import read_sumstats
    from qtlatlas.twas.align import align_gwas
    from qtlatlas.twas.assoc import associate
    from qtlatlas.twas.fusion_io import read_fusion_panel
    from qtlatlas.twas.ld import LdReference

    start = time.perf_counter()
    models = read_fusion_panel(FUSION / "weights" / "GEUV.pos", FUSION / "weights", chrom="22")
    read_s = time.perf_counter() - start
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        ld = LdReference.from_plink(f"{REF_PREFIX}22")
        gwas = align_gwas(read_sumstats(FUSION / "inputs" / "trait1.chr22.sumstats"), ld.variants)
        result = associate(models, gwas, ld)
        best = min(best, time.perf_counter() - start)
        assert not result.skipped
    return best, read_s


def run() -> dict[str, object]:
    """Measure (see the module docstring); returns the figures, FUSION's included."""
    from qtlatlas.twas.fusion_io import read_fusion_panel, write_parquet_panel

    repeats = int(os.environ.get("QTLATLAS_BENCH_REPEATS", "5"))
    with tempfile.TemporaryDirectory(prefix="qtlatlas-bench-twas-") as tmp:
        work = Path(tmp)
        panel = work / "GEUV"
        write_parquet_panel(read_fusion_panel(FUSION / "weights" / "GEUV.pos", FUSION / "weights"), panel,
                            panel="GEUV")
        rdat = min((measure(_cli(FUSION / "weights" / "GEUV.pos", work / f"rdat{r}.dat", FUSION / "weights"),
                            env=ENV1) for r in range(max(1, repeats // 2))), key=lambda m: m.wall_s)
        parquet = min((measure(_cli(panel, work / f"pq{r}.dat"), env=ENV1) for r in range(max(1, repeats // 2))),
                      key=lambda m: m.wall_s)
        for m in (rdat, parquet):
            if m.returncode != 0:
                raise RuntimeError("qtlatlas twas assoc failed during the benchmark")
    assoc_s, read_s = in_process(repeats)
    return {"fusion": fusion_recorded(), "cli_rdat": rdat, "cli_parquet": parquet, "assoc_in_process_s": assoc_s,
            "read_rdat_panel_s": read_s}


def main() -> None:
    if not FUSION.is_dir():
        raise SystemExit(f"shared data not found at {FUSION}")
    fig = run()
    fusion: Measurement = fig["fusion"]
    print("TWAS association, trait1 × 60 GEUVADIS chr22 models, 1000 Genomes EUR LD (503 × 17,752), 1 thread")
    print(f"  FUSION assoc_test (recorded)     {fusion}")
    for key, label in (("cli_rdat", "qtlatlas, FUSION panel (RDat)"), ("cli_parquet", "qtlatlas, Parquet panel")):
        m: Measurement = fig[key]
        print(f"  {label:<32} {m}   {fusion.wall_s / m.wall_s:5.1f}x faster, "
              f"peak RSS {m.peak_rss_mb / fusion.peak_rss_mb:4.2f} of FUSION's")
    print(f"  in process: LD + GWAS + 60 tests {fig['assoc_in_process_s']:.3f} s "
          f"({fusion.wall_s / fig['assoc_in_process_s']:.0f}x under FUSION's wall time); reading the 60 RDat "
          f"files with rdata {fig['read_rdat_panel_s']:.2f} s")


if __name__ == "__main__":
    main()
