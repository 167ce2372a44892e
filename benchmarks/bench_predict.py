"""``qtlatlas twas predict`` on a simulated cohort, against ``plink2 --score`` on the same data and machine.

Data (written to a temporary directory): a PLINK 1 cohort of ``--individuals`` (25,000) individuals ×
``--variants`` (100,000) variants on ``--chromosomes`` (20) chromosomes, genotypes at allele frequencies
0.02–0.5 with 1% missing calls; one Parquet weights panel of ``--phenotypes`` (2,000) phenotypes, each with
50–500 non-zero enet weights (its best model) on the variants of a 1,000-variant cis window, about half of
them counting the .bim's A2 (flipped).

qtlatlas: ``qtlatlas twas predict --weights PANEL --genotypes COHORT --out DIR`` (raw scores, individuals ×
phenotypes TSV.gz), a child process: wall, CPU, peak RSS. plink2: ``plink2 --bfile COHORT --chr C --score
FILE 1 2 header-read cols=scoresums --score-col-nums 3-K`` once per chromosome (one score column per
phenotype of the chromosome, as one scores many phenotypes with plink2), the wall and CPU of all runs
summed and the largest peak RSS. Both on ``--threads`` (1) threads. The two outputs are compared (plink2
prints 6 significant digits). Throughput: individuals × phenotypes per second.

Run: ``python -m benchmarks.bench_predict [--individuals N --phenotypes P --variants M]`` (or
``python -m benchmarks.run predict``).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from .measure import Measurement, measure

_CLI = "import sys; from qtlatlas.cli import main; sys.exit(main(sys.argv[1:]))"
_PAIRS = [("A", "C"), ("A", "G"), ("C", "T"), ("G", "T"), ("C", "A"), ("T", "G"), ("G", "A"), ("T", "C")]


def _pool(n: int, rng: np.random.Generator, size: int = 256) -> np.ndarray:
    """``(size, ceil(n/4))`` packed .bed rows at random allele frequencies, 1% missing, zero padding bits."""
    codes_of = np.array([3, 2, 0], dtype=np.uint8)  # 0, 1, 2 copies of A1 -> 11, 10, 00
    rows = []
    pad = (-n) % 4
    for _ in range(size):
        p = rng.uniform(0.02, 0.5)
        codes = codes_of[rng.binomial(2, p, n)]
        codes[rng.random(n) < 0.01] = 1
        codes = np.concatenate([codes, np.zeros(pad, np.uint8)]).reshape(-1, 4)
        rows.append(codes[:, 0] | codes[:, 1] << 2 | codes[:, 2] << 4 | codes[:, 3] << 6)
    return np.array(rows, dtype=np.uint8)


def write_cohort(prefix: Path, n: int, m: int, n_chrom: int, rng: np.random.Generator) -> pd.DataFrame:
    """The cohort's .bed/.bim/.fam (rows drawn from a pool of packed rows, the samples rotated); its .bim."""
    pool = _pool(n, rng)
    per = pool.shape[1]
    with open(prefix.with_suffix(".bed"), "wb") as fh:
        fh.write(b"\x6c\x1b\x01")
        for start in range(0, m, 4096):
            k = min(4096, m - start)
            picks = pool[rng.integers(0, len(pool), k)]
            shift = int(rng.integers(0, per - 1))  # rotate whole bytes (never the padded last one)
            body = np.concatenate([np.roll(picks[:, :-1], shift, axis=1), picks[:, -1:]], axis=1)
            fh.write(np.ascontiguousarray(body).tobytes())
    per_chrom = m // n_chrom
    chrom = np.minimum(np.arange(m) // per_chrom, n_chrom - 1) + 1
    pos = 10_000 + 1_000 * (np.arange(m) - (chrom - 1) * per_chrom)
    pairs = rng.integers(0, len(_PAIRS), m)
    bim = pd.DataFrame({"chrom": chrom.astype(str), "id": [f"rs{i}" for i in range(m)], "cm": 0, "pos": pos,
                        "a1": [_PAIRS[k][0] for k in pairs], "a2": [_PAIRS[k][1] for k in pairs]})
    bim.to_csv(prefix.with_suffix(".bim"), sep="\t", header=False, index=False)
    with open(prefix.with_suffix(".fam"), "w") as fh:
        fh.writelines(f"f{j} s{j} 0 0 0 -9\n" for j in range(n))
    return bim


def write_panel(directory: Path, bim: pd.DataFrame, n_pheno: int, rng: np.random.Generator,
                window: int = 1_000) -> pd.DataFrame:
    """A Parquet panel (twas_weights/twas_profile) of ``n_pheno`` phenotypes with 50–500 enet weights each."""
    directory.mkdir(parents=True, exist_ok=True)
    m = len(bim)
    chrom = bim["chrom"].to_numpy()
    swap = rng.random(m) < 0.5
    a1 = np.where(swap, bim["a2"], bim["a1"])
    a2 = np.where(swap, bim["a1"], bim["a2"])
    parts, profile = [], []
    starts = np.sort(rng.integers(0, m - window, n_pheno))
    for k, start in enumerate(starts):
        lo = int(start)
        hi = lo + window
        c = chrom[lo]
        rows = np.arange(lo, hi)
        rows = rows[chrom[rows] == c]
        take = np.sort(rng.choice(rows, min(len(rows), int(rng.integers(50, 501))), replace=False))
        pid = f"g{k:05d}"
        w = rng.normal(0, 0.05, len(take))
        parts.append(pd.DataFrame({"panel": "Sim.expression", "phenotype_id": pid, "gene_id": pid,
                                   "variant_id": bim["id"].to_numpy()[take], "chrom": c,
                                   "pos": bim["pos"].to_numpy()[take], "a1": a1[take], "a2": a2[take],
                                   "top1": np.nan, "lasso": np.nan, "enet": w, "blup": np.nan}))
        profile.append({"panel": "Sim.expression", "phenotype_id": pid, "gene_id": pid, "chrom": c,
                        "p0": int(bim["pos"].iat[take[0]]), "p1": int(bim["pos"].iat[take[-1]]), "n": 400,
                        "n_snps": len(take), "hsq": 0.2, "hsq_se": 0.05, "hsq_pval": 1e-5,
                        "top1_r2": np.nan, "top1_pval": np.nan, "lasso_r2": np.nan, "lasso_pval": np.nan,
                        "enet_r2": 0.15, "enet_pval": 1e-6, "blup_r2": np.nan, "blup_pval": np.nan,
                        "best_model": "enet"})
    weights = pd.concat(parts, ignore_index=True)
    weights.to_parquet(directory / "twas_weights.parquet", index=False)
    prof = pd.DataFrame(profile)
    prof["n"] = prof["n"].astype("Int64")
    prof.to_parquet(directory / "twas_profile.parquet", index=False)
    return weights


def run_plink2(tmp: Path, prefix: Path, weights: pd.DataFrame, threads: int) -> tuple[Measurement, pd.DataFrame]:
    """plink2 --score once per chromosome (one score column per phenotype); summed wall/CPU, max peak RSS."""
    wall = cpu = peak = 0.0
    results = []
    for c, w in weights.groupby("chrom", sort=False):
        table = w.pivot_table(index=["variant_id", "a1"], columns="phenotype_id", values="enet", fill_value=0.0)
        score = tmp / f"score.{c}.tsv"
        table.reset_index().rename(columns={"variant_id": "SNP", "a1": "A1"}).to_csv(
            score, sep="\t", index=False, float_format="%.17g")
        out = tmp / f"plink2.{c}"
        res = measure([shutil.which("plink2"), "--bfile", str(prefix), "--chr", str(c), "--score", str(score), "1",
                       "2", "header-read", "cols=scoresums", "--score-col-nums", f"3-{2 + table.shape[1]}",
                       "--threads", str(threads), "--memory", "4000", "--out", str(out)])
        if res.returncode != 0:
            raise RuntimeError(f"plink2 failed on chromosome {c}: see {out}.log")
        wall, cpu, peak = wall + res.wall_s, cpu + res.cpu_s, max(peak, res.peak_rss_mb)
        s = pd.read_csv(f"{out}.sscore", sep="\t")
        s = s.set_index(s.columns[[col.lstrip("#") == "IID" for col in s.columns].index(True)])
        results.append(s[[col for col in s.columns if col.endswith("_SUM")]].rename(columns=lambda x: x[:-4]))
        score.unlink()
    return Measurement(wall, cpu, peak, 0), pd.concat(results, axis=1)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="bench_predict")
    ap.add_argument("--individuals", type=int, default=25_000)
    ap.add_argument("--phenotypes", type=int, default=2_000)
    ap.add_argument("--variants", type=int, default=100_000)
    ap.add_argument("--chromosomes", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--block", type=int, default=256)
    ap.add_argument("--no-plink2", action="store_true", help="measure qtlatlas only")
    ap.add_argument("--keep", metavar="DIR", help="write the data here and keep it (default: a temporary directory)")
    args = ap.parse_args(argv if argv is not None else sys.argv[1:] if __name__ == "__main__" else [])
    rng = np.random.default_rng(1)
    tmp = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-predict-"))
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        t0 = time.perf_counter()
        bim = write_cohort(tmp / "cohort", args.individuals, args.variants, args.chromosomes, rng)
        weights = write_panel(tmp / "panel", bim, args.phenotypes, rng)
        n_w = len(weights)
        print(f"data: {args.individuals:,} individuals × {args.variants:,} variants (PLINK 1, "
              f"{(tmp / 'cohort.bed').stat().st_size / 1e6:,.0f} MB), {args.phenotypes:,} phenotypes with "
              f"{n_w:,} weights ({n_w / args.phenotypes:.0f} per phenotype, "
              f"{weights['variant_id'].nunique():,} distinct SNPs); written in {time.perf_counter() - t0:.0f} s")
        env = {"OMP_NUM_THREADS": str(args.threads), "OPENBLAS_NUM_THREADS": str(args.threads),
               "MKL_NUM_THREADS": str(args.threads)}
        out = tmp / "out"
        ours = measure([sys.executable, "-c", _CLI, "twas", "predict", "--weights", str(tmp / "panel"),
                        "--genotypes", str(tmp / "cohort"), "--out", str(out), "--block", str(args.block)],
                       env=env, log=tmp / "qtlatlas.log")
        if ours.returncode != 0:
            raise RuntimeError(f"qtlatlas twas predict failed: see {tmp / 'qtlatlas.log'}")
        cells = args.individuals * args.phenotypes
        print(f"qtlatlas twas predict  {ours}   {cells / ours.wall_s / 1e6:8.2f} M individual×phenotype/s")
        if args.no_plink2:
            return
        if shutil.which("plink2") is None:
            print("plink2 not installed (apt-get install plink2): no comparison")
            return
        theirs, scores = run_plink2(tmp, tmp / "cohort", weights, args.threads)
        print(f"plink2 --score         {theirs}   {cells / theirs.wall_s / 1e6:8.2f} M individual×phenotype/s")
        print(f"ratio qtlatlas / plink2: wall {ours.wall_s / theirs.wall_s:.2f}×, CPU {ours.cpu_s / theirs.cpu_s:.2f}×, "
              f"peak RSS {ours.peak_rss_mb / max(theirs.peak_rss_mb, 1):.2f}×")
        pred = pd.read_csv(out / "Sim.expression.predicted.tsv.gz", sep="\t", index_col=0)
        a, b = pred.to_numpy(), scores.loc[pred.index, pred.columns].to_numpy()
        rel = np.abs(a - b) / np.maximum(np.abs(b), 1e-3)
        print(f"agreement: max |difference| {np.abs(a - b).max():.2e}, max relative {rel.max():.2e} "
              "(plink2 prints 6 significant digits)")
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
