"""TWAS weights for the 60 FUSION reference genes (GEUVADIS chr22, 358 samples, 257–748 SNPs per gene),
against FUSION's recorded run.

FUSION (``FUSION.compute_weights.R --hsq_set 0.1 --models top1,lasso,enet,blup --crossval 5``, calling PLINK
and GEMMA) cannot be installed here; fitting the 60 genes took 3 min 52 s when the reference outputs were
made (../shared/reference/fusion/README.md, "Profile"). We measure, on the same inputs:

* the same fits in one process, single-threaded (the 60 genes with FUSION's CV split and cv.glmnet fold
  ids, ``hsq_set`` 0.1, all four models: 5-fold CV + full fit): seconds per gene, and the agreement with
  FUSION's weights and CV R² as a check that the same work was done;
* ``qtlatlas twas weights`` end to end (a child process: imports, reading the BED, covariates and genotypes,
  REML instead of ``--hsq_set``, own CV split, Parquet output) with 1 and 2 worker processes.

Run: ``python -m benchmarks.run twas_weights`` (or ``python -m benchmarks.bench_twas_weights``).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from .measure import SHARED, measure

FUSION = SHARED / "reference" / "fusion"
BFILE = SHARED / "data" / "1000g-eur-hm3-chr21-22" / "g1000_eur_hm3_chr22"
FUSION_SECONDS = 3 * 60 + 52  # 60 genes, recorded
ENV1 = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}

_CLI = ("import argparse, sys\n"
        "from qtlatlas.commands.twas_weights import add_weights_command\n"
        "p = argparse.ArgumentParser(); add_weights_command(p.add_subparsers())\n"
        "a = p.parse_args(['weights', *sys.argv[1:]]); sys.exit(a.func(a))\n")


def _inputs():
    inp = FUSION / "inputs"
    pheno = pd.read_csv(inp / "pheno_effective_fam6.tsv", sep="\t")
    genes = pd.read_csv(inp / "genes_selected.tsv", sep="\t")
    folds = pd.read_csv(inp / "cv_outer_folds_seed1_N358.tsv", sep="\t").sort_values("CV_ORDER")
    inner = pd.read_csv(inp / "cv_glmnet_inner_foldid_seed1_N358.tsv", sep="\t")
    inner = {k: g.sort_values("TRAIN_ORDER")["INNER_FOLD"].to_numpy() for k, g in inner.groupby("OUTER_FOLD")}
    return pheno, genes, folds["FAM_ROW"].to_numpy() - 1, inner


def in_process() -> dict[str, object]:
    """Fit the 60 genes as FUSION did; seconds per gene and agreement with FUSION's outputs."""
    from threadpoolctl import threadpool_limits

    from qtlatlas.io.genotypes import open_genotypes
    from qtlatlas.twas.weights import WeightsOptions, fit_weights

    pheno, genes, order, inner = _inputs()
    options = WeightsOptions(hsq_set=0.1, cv_order=order, inner_foldid=lambda outer, train: inner[outer],
                             plink_flip=True)
    cv_ref = pd.read_csv(FUSION / "weights_tsv" / "cv_performance.tsv", sep="\t")
    reader = open_genotypes(BFILE)
    seconds, cpu, diffs = [], [], {m: [] for m in ("top1", "lasso", "enet", "blup")}
    with threadpool_limits(1):
        for gene, tss in zip(genes["ID"], genes["TSS"], strict=True):
            data = reader.read(f"22:{tss - 500_000}-{tss + 500_000}", samples=list(pheno["IID"]), dtype="float32")
            G = data.to_float().astype(np.float64).T
            af = np.nanmean(G, axis=0) / 2
            G = G[:, np.minimum(af, 1 - af) >= 0.01]
            t, c = time.perf_counter(), time.process_time()
            res = fit_weights(G, pheno[gene].to_numpy(), None, options)
            seconds.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
            ref = cv_ref[cv_ref["WGT"] == f"GEUV.{gene}"].set_index("MODEL")["RSQ"]
            for m in diffs:
                diffs[m].append(abs(res.cv_r2[m] - ref[m]))
    return {"seconds": np.array(seconds), "cpu": np.array(cpu),
            "max_cv_r2_diff": {m: float(np.max(v)) for m, v in diffs.items()}}


def end_to_end(work: Path, threads: int):
    """``qtlatlas twas weights`` on a BED of the 60 genes (rank-normalised expression, FUSION's covariates)."""
    pheno = pd.read_csv(FUSION / "inputs" / "pheno_rn.tsv", sep="\t")
    genes = pd.read_csv(FUSION / "inputs" / "genes_selected.tsv", sep="\t").sort_values("TSS")
    bed = work / "geuv60.bed"
    if not bed.exists():
        rows = [["22", g.TSS - 1, g.TSS, g.ID, *pheno[g.ID].to_numpy()] for g in genes.itertuples()]
        pd.DataFrame(rows, columns=["#chr", "start", "end", "phenotype_id", *pheno["IID"]]).to_csv(
            bed, sep="\t", index=False)
    cmd = [sys.executable, "-c", _CLI, "--bfile", str(BFILE), "--phenotypes", str(bed), "--covariates",
           str(FUSION / "inputs" / "covar.txt"), "--maf", "0.01", "--hsq_p", "1", "--threads", str(threads),
           "--out", str(work / f"out{threads}")]
    return measure(cmd, env=ENV1, log=work / f"weights{threads}.log")


def run() -> dict[str, object]:
    """Measure (see the module docstring); prints and returns the figures."""
    figures = in_process()
    sec = figures["seconds"]
    per_gene = FUSION_SECONDS / 60
    print("60 genes, FUSION's splits, hsq_set 0.1, top1+lasso+enet+blup with 5-fold CV, 1 thread:")
    print(f"  qtlatlas  {sec.sum():7.1f} s ({sec.mean():.2f} s per gene, median {np.median(sec):.2f}, "
          f"max {sec.max():.2f}; CPU {figures['cpu'].sum():.1f} s)")
    print(f"  FUSION    {FUSION_SECONDS:7.1f} s ({per_gene:.2f} s per gene, recorded)")
    print(f"  ratio     {FUSION_SECONDS / sec.sum():.1f}x faster")
    print("  largest |CV R² − FUSION's|: " + ", ".join(f"{m} {v:.1e}" for m, v in figures["max_cv_r2_diff"].items()))
    with tempfile.TemporaryDirectory(prefix="qtlatlas-bench-twas-weights-") as tmp:
        for threads in (1, 2):
            m = end_to_end(Path(tmp), threads)
            figures[f"command_{threads}"] = m
            print(f"qtlatlas twas weights (REML, own CV split), {threads} worker(s): {m} "
                  f"= {m.wall_s / 60:.2f} s per gene, {FUSION_SECONDS / m.wall_s:.1f}x faster than FUSION")
    return figures


def main() -> None:
    run()


if __name__ == "__main__":
    main()
