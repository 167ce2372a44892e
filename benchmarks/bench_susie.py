"""SuSiE fine-mapping of the 360 GEUVADIS chr22 eGenes (358 samples, 392–1,755 variants each) against susieR.

The inputs are those of ../shared/reference/susie/make_susie_ref.py: the eGenes (q ≤ 0.05) of tensorQTL's cis
output, every polymorphic variant within ±1 Mb of the TSS, genotypes and phenotypes residualised on
[1, covariates]; ``susie(X, y, L = 10)`` with susieR's defaults. We measure, single-threaded:

* qtlatlas in one process: reading and residualising the inputs, then the fine-mapping of the 360 eGenes
  (SuSiE fits, credible sets with purity, PIPs, z, the output tables): seconds per phenotype;
* susieR 0.12.35 (Debian ``r-cran-susier``) on the same machine when ``Rscript`` can load it: the same
  residualised matrices handed to ``susie()`` one phenotype at a time (``susie()`` includes
  ``susie_get_cs``), its own fit time, as the reference's ``seconds`` column; otherwise only the seconds
  recorded in ``geuvadis22.susie.fits.tsv`` (78 s, one core, when the reference was made);
* ``qtlatlas map cis_susie`` end to end (a child process: imports, reading, Parquet output);
* tensorQTL's ``cis_susie`` (CPU) when a side environment holds tensorQTL (benchmarks/README.md).

The ratio printed is susieR's seconds over ours, for the same 360 phenotypes. ``QTLATLAS_BENCH_SUSIER_N``
limits the live susieR run to its first N phenotypes (the ratio is then per phenotype).
Run: ``python -m benchmarks.run susie`` (or ``python -m benchmarks.bench_susie``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from .measure import GEUVADIS22, SHARED, bench_python, measure

SUSIE_REF = SHARED / "reference" / "susie"
CIS = GEUVADIS22 / "tensorqtl" / "g22.cis_qtl.txt.gz"
QTLATLAS = [sys.executable, "-m", "qtlatlas.cli"]
ENV1 = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}

_SUSIER_SCRIPT = r"""
suppressMessages(library(susieR))
args <- commandArgs(TRUE)
dims <- scan(file.path(args[1], "dims.txt"), quiet = TRUE)
n <- dims[1]; m <- dims[2]; B <- dims[3]
X <- matrix(readBin(file.path(args[1], "X.bin"), "double", n * m), n, m)
Y <- matrix(readBin(file.path(args[1], "Y.bin"), "double", n * B), n, B)
w <- read.table(file.path(args[1], "windows.tsv"), header = TRUE)
secs <- numeric(B); ncs <- integer(B)
for (b in seq_len(B)) {
  Xb <- X[, w$lo[b]:w$hi[b], drop = FALSE]
  t0 <- proc.time()[["elapsed"]]
  fit <- susie(Xb, Y[, b], L = 10)
  secs[b] <- proc.time()[["elapsed"]] - t0
  ncs[b] <- length(fit$sets$cs)
}
write.table(data.frame(seconds = secs, n_cs = ncs), file.path(args[1], "susier.tsv"), sep = "\t",
            row.names = FALSE, quote = FALSE)
"""


def egenes() -> list[str]:
    cis = pd.read_csv(CIS, sep="\t")
    return list(cis.loc[cis["qval"] <= 0.05, "phenotype_id"])


def ours() -> dict[str, object]:
    """Fine-map the eGenes in this process, 1 thread, best of 2: reading and residualising the inputs, fits,
    credible sets and tables."""
    from threadpoolctl import threadpool_limits

    from qtlatlas.mapping.inputs import load_mapping_inputs
    from qtlatlas.mapping.susie import susie_tables

    ids = egenes()
    best = None
    with threadpool_limits(1):
        for _ in range(2):
            t0, c0 = time.perf_counter(), time.process_time()
            inputs = load_mapping_inputs(GEUVADIS22 / "genotypes", GEUVADIS22 / "phenotypes.int.bed.gz",
                                         GEUVADIS22 / "covariates.txt")
            sets, _, summary = susie_tables(inputs, ids, 1_000_000)
            run = {"total_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0,
                   "n_phenotypes": summary.n_phenotypes, "n_sets": summary.n_sets}
            best = run if best is None or run["total_s"] < best["total_s"] else best
    return best


def susier_available() -> bool:
    if shutil.which("Rscript") is None:
        return False
    probe = subprocess.run(["Rscript", "-e", "suppressMessages(library(susieR))"], capture_output=True)
    return probe.returncode == 0


def susier_live(work: Path, limit: int | None) -> pd.DataFrame:
    """susieR's own fit time per phenotype on the same residualised inputs, 1 thread (R's reference BLAS)."""
    from qtlatlas.engine.cis import PreparedCis
    from qtlatlas.mapping.inputs import load_mapping_inputs

    inputs = load_mapping_inputs(GEUVADIS22 / "genotypes", GEUVADIS22 / "phenotypes.int.bed.gz",
                                 GEUVADIS22 / "covariates.txt")
    prep = PreparedCis(inputs.cis_problem("chr22"), 1_000_000)
    ids = egenes()[:limit] if limit else egenes()
    row = {p: i for i, p in enumerate(prep.phenotype_ids)}
    rows = np.array([row[p] for p in ids])
    polymorphic = np.flatnonzero(prep.g_norm > 0)
    before = np.concatenate([[0], np.cumsum(prep.g_norm > 0)])
    X = (prep.G[polymorphic] * prep.g_norm[polymorphic, None]).T  # residualised dosages (n, m)
    Y = (prep.Y[rows] * prep.y_norm[rows, None]).T
    np.asfortranarray(X).ravel(order="F").tofile(work / "X.bin")
    np.asfortranarray(Y).ravel(order="F").tofile(work / "Y.bin")
    (work / "dims.txt").write_text(f"{X.shape[0]} {X.shape[1]} {Y.shape[1]}\n")
    pd.DataFrame({"lo": before[prep.lo[rows]] + 1, "hi": before[prep.hi[rows]]}).to_csv(
        work / "windows.tsv", sep="\t", index=False)
    (work / "run.R").write_text(_SUSIER_SCRIPT)
    subprocess.run(["Rscript", str(work / "run.R"), str(work)], check=True, env={**os.environ, **ENV1},
                   stderr=subprocess.DEVNULL)  # susieR's hint about the Rfast package, once per phenotype
    result = pd.read_csv(work / "susier.tsv", sep="\t")
    result.insert(0, "phenotype_id", ids)
    return result


def run() -> dict[str, object]:
    """Measure (see the module docstring); prints and returns the figures."""
    recorded = pd.read_csv(SUSIE_REF / "geuvadis22.susie.fits.tsv", sep="\t")
    figures = ours()
    n = figures["n_phenotypes"]
    per = figures["total_s"] / n
    print(f"{n} GEUVADIS chr22 eGenes, L = 10, susieR defaults, 1 thread:")
    print(f"  qtlatlas          {figures['total_s']:6.1f} s ({1000 * per:.1f} ms per phenotype: inputs read and "
          f"residualised, fits, credible sets, tables; CPU {figures['cpu_s']:.1f} s; {figures['n_sets']} credible sets)")
    rec = recorded["seconds"].sum()
    print(f"  susieR (recorded) {rec:6.1f} s ({1000 * rec / len(recorded):.1f} ms per phenotype, fit time only)"
          f"  ratio {rec / figures['total_s']:.1f}x faster")
    figures["ratio_recorded"] = rec / figures["total_s"]
    with tempfile.TemporaryDirectory(prefix="qtlatlas-bench-susie-") as tmp:
        work = Path(tmp)
        if susier_available():
            limit = int(os.environ.get("QTLATLAS_BENCH_SUSIER_N", "0")) or None
            live = susier_live(work, limit)
            live_per = live["seconds"].mean()
            figures["ratio_live"] = live_per / per
            agree = (live["n_cs"].to_numpy() == recorded.set_index("phenotype_id").loc[live["phenotype_id"],
                                                                                          "n_cs"].to_numpy()).mean()
            print(f"  susieR (now, here) {live['seconds'].sum():5.1f} s for {len(live)} phenotypes "
                  f"({1000 * live_per:.1f} ms per phenotype, fit time only; number of credible sets as recorded "
                  f"for {100 * agree:.0f}%)  ratio {live_per / per:.1f}x faster")
        else:
            print("  susieR: Rscript with susieR not found (apt-get install r-cran-susier); recorded seconds only")
        m = measure([*QTLATLAS, "map", "cis_susie", str(GEUVADIS22 / "genotypes"),
                     str(GEUVADIS22 / "phenotypes.int.bed.gz"), str(work / "g22"), "--covariates",
                     str(GEUVADIS22 / "covariates.txt"), "--cis-output", str(CIS), "--threads", "1"],
                    env=ENV1, log=work / "ours.log")
        figures["command"] = m
        print(f"  qtlatlas map cis_susie (whole command): {m}")
        python = bench_python()
        if python is None:
            print("  tensorQTL cis_susie: no side environment with tensorQTL (benchmarks/README.md)")
        else:
            t = measure([str(python), "-m", "tensorqtl", str(GEUVADIS22 / "genotypes"),
                         str(GEUVADIS22 / "phenotypes.int.bed.gz"), str(work / "tq"), "--covariates",
                         str(GEUVADIS22 / "covariates.txt"), "--window", "1000000", "--mode", "cis_susie",
                         "--cis_output", str(CIS)], env=ENV1, log=work / "tensorqtl.log")
            figures["tensorqtl"] = t
            if t.returncode:
                print(f"  tensorQTL cis_susie failed (exit {t.returncode}; see its log)")
            else:
                print(f"  tensorQTL cis_susie (CPU, whole command): {t}  ratio {t.wall_s / m.wall_s:.1f}x")
    return figures


def main() -> None:
    run()


if __name__ == "__main__":
    main()
