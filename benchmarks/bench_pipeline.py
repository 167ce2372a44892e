"""The pipeline at real size: one simulated tissue at RatGTEx density (:mod:`benchmarks.pipeline_atlas`: the
whole rat genome, 1,000,000 variants, 400 samples, six modalities at Pantry-like counts, planted cis
effects) through ``qtlatlas run --cores 2`` and ``qtlatlas build``, extrapolated to a 13-tissue atlas.

Runs (each a real ``qtlatlas run ATLAS --release v1 --cores 2`` with the default mapping settings, measured
with :func:`.measure.measure`; a sampler reads every process of the run from /proc four times a second and
charges the CPU time and the peak resident memory of each worker to the task whose log it holds open):

1. **main** – the whole genome, a random ``--fraction`` of the 20,000 genes with all their features (every
   modality), plus one gene per autosome, so that every modality has phenotypes on every chromosome and
   each task reads and prepares the whole genome, as at fraction 1: memory at real size, and each task's
   fixed cost.
2. **dense** – chr12 alone (2% of the variants), ``--dense-genes`` of its genes with all their features:
   there the phenotypes dominate each task, which gives the cost per phenotype of each step and modality
   (the fixed cost of a task is reading and preparing the genotypes, which is 2% of the whole genome's
   there; at small fractions it dwarfs the phenotypes' part of the main run).
3. **small-genome** – the genes of run 1 on 5 autosomes that include the two largest (chr1, chr2, chr12,
   chr19, chr20: 28% of the genome): peak RSS against genome size at the same density.

Each task's time (its CPU seconds: the tasks are single-threaded, so its wall time on an idle core) is
modelled as ``fixed(kind) + per_phenotype(modality, kind) × phenotypes`` from runs 1 and 2. At fraction 1 a
tissue has 185,000 phenotypes (and as many again in its cross-modality mapping); the 13-tissue estimate
schedules the release's task graph (13 copies of the tissue, planned by
:func:`qtlatlas.pipeline.plan.plan_release`) on 2 cores and on N single-threaded Dask workers. Then
``qtlatlas build`` of run 1, and adaptive against full permutations (and full permutations with another
seed, the Monte Carlo reference) on ``--adaptive-genes`` expression phenotypes drawn among the small
genome's genes (the whole atlas's density), which the default of ``mapping.adaptive_permutations`` rests on.

``python -m benchmarks.bench_pipeline [--fraction F] [--dense-genes N] [--adaptive-genes N] [--work DIR]``,
or ``--adaptive-only [--adaptive-modality M]`` for the comparison alone; under ``make bench`` the fraction
is ``QTLATLAS_BENCH_PIPELINE_FRACTION`` (default 0.002: about 30 minutes on 2 otherwise idle cores, most of
it the fixed cost, as every mapping task reads and prepares the whole genome), and the genome (about 180 MB,
15 s to simulate) is cached in ``$QTLATLAS_BENCH_CACHE/pipeline`` (default ``../bench-cache`` beside the
repository). Fraction 1 maps the whole tissue: most of a day on 2 cores (see the extrapolation) and about
5 GB of nominal-pass files (32 bytes per pair) in the work directory.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from qtlatlas.config import MappingSettings

from .measure import REPO, gemm_peak_gflops, measure
from .pipeline_adaptive import compare_adaptive, print_adaptive
from .pipeline_atlas import (
    DENSE_GENOME,
    MODALITIES,
    RAT_AUTOSOMES,
    SMALL_GENOME,
    GenomeSpec,
    ensure_genome,
    genome_subset,
    make_layout,
    select_genes,
    variants_per_chrom,
    write_atlas,
)
from .pipeline_model import (
    CostModel,
    atlas_counts,
    cost_model,
    critical_path,
    durations,
    schedule,
    tissue_graph,
)
from .pipeline_runs import CROSS, RunResult, run_pipeline, task_seconds

DEFAULT_FRACTION = 0.002
DEFAULT_DENSE_GENES = 100
DEFAULT_ADAPTIVE_GENES = 2000
N_TISSUES = 13
DASK_WORKERS = (1, 8, 32, 128)
KINDS = ("prepare", "cis", "independent", "nominal", "trans", "afc", "summary")




def _hours(s: float) -> str:
    return f"{s / 3600:7.1f} h" if s >= 3600 else f"{s / 60:7.1f} min"


def _print_run(r: RunResult) -> None:
    print(f"  {r.label}: qtlatlas run {r.run}; sampled peak of all its processes together {r.tree_peak_mb:,.0f} MB")
    if r.eGenes:
        counts = ", ".join(f"{m} {s:,}/{t:,}" for m, (s, t) in sorted(r.eGenes.items()))
        print(f"    significant (q ≤ 0.05) / tested: {counts}")


def _print_tasks(r: RunResult) -> None:
    print(f"  tasks of the {r.label} run (wall from the state records; CPU and peak RSS sampled):")
    print(f"    {'task':<44}{'wall s':>9}{'CPU s':>9}{'peak RSS MB':>13}")
    for t in sorted(r.tasks, key=lambda t: -task_seconds(t)):
        if t.kind == "summary":
            continue
        print(f"    {t.id:<44}{t.wall_s:9.1f}{t.cpu_s:9.1f}{t.peak_mb:13,.0f}")


def _print_costs(model: CostModel, main: RunResult, dense: RunResult, spec: GenomeSpec) -> None:
    kinds = [k for k in KINDS if k != "summary" and k in model.fixed]
    print("  cost per phenotype (ms of one core per phenotype, from the dense run; * where its phenotypes took less "
          "than half of the dense run's task: less precise, a larger --dense-genes measures it):")
    print(f"    {'':<16}{'main':>7}{'dense':>7}" + "".join(f"{k:>13}" for k in kinds) + f"{'tissue at F=1':>15}")
    counts = atlas_counts()
    for m in [*[x.id for x in MODALITIES], CROSS]:
        cells = []
        for k in kinds:
            v = model.per_phenotype.get((m, k))
            flag = "*" if (m, k) in model.imprecise else " "
            cells.append(f"{v * 1e3:>12.2f}{flag}" if v is not None else f"{'—':>13}")
        total = sum(model.seconds(m, k, counts[m]) for k in kinds if (m, k) in model.per_phenotype)
        print(f"    {m:<16}{main.phenotypes[m]:>7,}{dense.phenotypes[m]:>7,}" + "".join(cells) + f"{_hours(total):>15}")
    print(f"    {'fixed per task':<30}" + "".join(f"{model.fixed[k]:>12.1f}s" for k in kinds)
          + "   (median over modalities)")
    print(f"    {'  min–max':<30}" + "".join(f"{model.fixed_range[k][0]:.0f}–{model.fixed_range[k][1]:.0f} s".rjust(13)
                                           for k in kinds))
    print(f"    trans: per phenotype, 2 × {spec.n_variants:,} variants × {spec.n_samples} samples "
          f"flops at this machine's single-thread float32 GEMM peak (a lower bound; too small to see below the "
          f"fixed part at these sizes)")


def _print_extrapolation(one, graph, model: CostModel) -> None:
    single = durations(one, model, atlas_counts())
    print(f"  one tissue at fraction 1 (185,000 phenotypes + as many cross-modality): "
          f"{sum(single.values()) / 3600:,.1f} core-hours of tasks; on this machine (--cores 2) "
          f"{_hours(schedule(one, single, 2)).strip()}; critical path {_hours(critical_path(one, single)).strip()}")
    seconds = durations(graph, model, atlas_counts())
    total = sum(seconds.values())
    largest = max(seconds, key=seconds.get)
    cp = critical_path(graph, seconds)
    print(f"  {N_TISSUES} tissues at fraction 1 ({len(graph.order)} tasks, {N_TISSUES} × 185,000 phenotypes + as many "
          f"cross-modality): {total / 3600:,.0f} core-hours of tasks; largest task {largest.split('/', 1)[1]} "
          f"{_hours(seconds[largest]).strip()}; critical path {_hours(cp).strip()}")
    print(f"    this machine (--cores 2):      {_hours(schedule(graph, seconds, 2))}")
    for n in DASK_WORKERS:
        print(f"    {n:>3} Dask worker(s) (1 core each): {_hours(schedule(graph, seconds, n))}")
    print("    assumptions: each task single-threaded (--threads-per-task 1) on a core like one of this machine's, "
          "taking the CPU time measured here; a task starts as soon as its inputs exist and a worker is free, "
          "the first ready task of the graph first (the runner's order); tasks are never split (the largest one "
          "bounds the wall time); shared file system, no transfer or start-up cost; every worker with the memory "
          "of the largest task (peak RSS below)")


def genotype_table_mb(prefixes: list[Path]) -> list[float]:
    """Peak RSS (MB) of a process that opens each genotype fileset (its variant table, as every task does),
    less that of one that only imports the reader."""
    code = ("import sys; from qtlatlas.io.genotype_set import open_genotype_files as o; "
            "[o([p]) for p in sys.argv[1:]]")
    base = measure([sys.executable, "-c", code]).peak_rss_mb
    return [measure([sys.executable, "-c", code, str(p)]).peak_rss_mb - base for p in prefixes]


def _print_rss(main: RunResult, small: RunResult, spec: GenomeSpec, table_mb: list[float]) -> None:
    a, b = main.peak_by_kind(), small.peak_by_kind()
    n_samples = spec.n_samples
    per_chrom = variants_per_chrom(spec)
    v_small = sum(per_chrom[c] for c in SMALL_GENOME)
    v_full = sum(per_chrom.values())
    share = sum(RAT_AUTOSOMES[c] for c in SMALL_GENOME) / sum(RAT_AUTOSOMES.values())
    print(f"  peak RSS per task kind (MB): whole genome ({v_full:,} variants) vs {len(SMALL_GENOME)} autosomes "
          f"({', '.join(SMALL_GENOME)}: {share:.0%} of it, {v_small:,} variants), the same genes per chromosome:")
    growth = []
    for k in sorted(a, key=lambda k: -a[k]):
        if k.endswith("summary"):
            continue
        ratio = a[k] / b[k] if b.get(k) else float("nan")
        extra = (a[k] - b[k]) * 2**20 / (v_full - v_small) if b.get(k) else float("nan")
        if k in ("cis", "independent", "nominal", "trans"):
            growth.append(extra)
        print(f"    {k:<28}{a[k]:>9,.0f}{b.get(k, float('nan')):>9,.0f}   ×{ratio:4.2f}   "
              f"{extra:6.0f} bytes per extra variant")
    print(f"    whole run, largest process  {main.run.peak_rss_mb:>9,.0f}{small.run.peak_rss_mb:>9,.0f}   "
          f"×{main.run.peak_rss_mb / small.run.peak_rss_mb:4.2f}")
    print(f"    whole run, all processes    {main.tree_peak_mb:>9,.0f}{small.tree_peak_mb:>9,.0f}   "
          f"×{main.tree_peak_mb / small.tree_peak_mb:4.2f}   (runner and 2 workers, sampled)")
    c1, c2 = per_chrom["chr1"], per_chrom["chr2"]
    per_mb = float(np.median(growth)) if growth else float("nan")
    print(f"    what memory scales with: a mapping task prepares one chromosome at a time (float64 residual genotypes, "
          f"float32 copies, classes of duplicated rows: several copies of variants × samples) and keeps the previous "
          f"chromosome's until the next one is prepared, so its peak follows the two largest adjacent chromosomes "
          f"(chr1 + chr2: {c1:,} + {c2:,} variants × {n_samples} samples, {(c1 + c2) * n_samples * 8 / 1e6:,.0f} MB per "
          f"float64 copy), present in both genomes; the nominal pass releases each chromosome before the next "
          f"(lower peak). The genome itself adds about {per_mb:.0f} bytes per variant to a mapping task "
          f"({per_mb * 1e6 / 2**20:,.0f} MB per million variants): the variant table every task reads when it opens "
          f"the genotypes (measured alone: {table_mb[0]:,.0f} MB for the whole genome, {table_mb[1]:,.0f} MB for "
          f"the {len(SMALL_GENOME)} autosomes). Phenotypes add their "
          f"matrices (phenotypes × {n_samples} float64: at fraction 1 expression "
          f"{20_000 * n_samples * 8 / 1e6:.0f} MB, splicing {60_000 * n_samples * 8 / 1e6:.0f} MB, cross-modality "
          f"{185_000 * n_samples * 8 / 1e6:.0f} MB per copy) and, in the nominal pass, one chromosome's pairs")




def _cache() -> Path:
    return Path(os.environ.get("QTLATLAS_BENCH_CACHE", REPO.parent / "bench-cache")) / "pipeline"


def bench(fraction: float, dense_genes: int, adaptive_genes: int, work: Path, spec: GenomeSpec | None = None) -> None:
    spec = spec or GenomeSpec()
    t0 = time.perf_counter()
    genome = ensure_genome(spec, _cache(), log=lambda s: None)
    layout = make_layout(spec)
    whole = tuple(RAT_AUTOSOMES)
    print(f"genome: {len(whole)} rat autosomes ({sum(RAT_AUTOSOMES.values()) / 1e9:.2f} Gb), "
          f"{spec.n_variants:,} variants, {spec.n_samples} samples, {spec.n_genes:,} genes "
          f"({time.perf_counter() - t0:.0f} s; cached in {genome})")
    prefix = genome / "genotypes"
    genes = select_genes(layout, spec, fraction, whole)
    on_dense = np.flatnonzero(layout.genes["chrom"].isin(DENSE_GENOME).to_numpy())
    chosen_dense = np.sort(np.random.default_rng(11).choice(on_dense, size=min(dense_genes, len(on_dense)),
                                                            replace=False))
    configs = {
        "main": (whole, genes, prefix),
        "dense": (DENSE_GENOME, chosen_dense, genome_subset(genome, DENSE_GENOME, genome.parent)),
        "small-genome": (SMALL_GENOME, select_genes(layout, spec, fraction, SMALL_GENOME),
                         genome_subset(genome, SMALL_GENOME, genome.parent)),
    }
    runs: dict[str, RunResult] = {}
    for label, (chroms, chosen, geno) in configs.items():
        files = write_atlas(work / label, spec, genome, geno, layout, chosen, chroms)
        t = time.perf_counter()
        runs[label] = run_pipeline(label, files.atlas_yaml, files.n_phenotypes, build=label == "main")
        print(f"  ran {label} ({', '.join(chroms) if len(chroms) < 20 else 'whole genome'}): {files.n_genes:,} genes, "
              f"{sum(files.n_phenotypes.values()):,} phenotypes "
              f"({', '.join(f'{m} {n:,}' for m, n in files.n_phenotypes.items())}) in {time.perf_counter() - t:.0f} s",
              flush=True)
    main, small, dense = runs["main"], runs["small-genome"], runs["dense"]
    per_chrom = variants_per_chrom(spec)
    share = sum(per_chrom[c] for c in DENSE_GENOME) / spec.n_variants
    mode = "adaptive" if MappingSettings().adaptive_permutations else "full"
    print(f"\nfraction {fraction} of the genes ({len(genes):,} of {spec.n_genes:,}), whole genome; "
          f"`qtlatlas run ATLAS --release v1 --cores 2`, default mapping settings ({mode} permutations, 10,000):")
    for r in (main, dense, small):
        _print_run(r)
    _print_tasks(main)
    model = cost_model(main, dense, share, 2 * spec.n_variants * spec.n_samples / (gemm_peak_gflops(1) * 1e9))
    print()
    _print_costs(model, main, dense, spec)
    print(f"  LD pruning (once per release, whole genome): {model.prune:.0f} s")
    print()
    main_atlas = work / "main" / "atlas.yaml"
    _print_extrapolation(tissue_graph(main_atlas, work / "main" / "work1", 1),
                         tissue_graph(main_atlas, work / "main" / "work13", N_TISSUES), model)
    print()
    _print_rss(main, small, spec, genotype_table_mb([prefix, configs["small-genome"][2]]))
    print()
    print(f"  qtlatlas build of the main run: {main.build}")
    print()
    if adaptive_genes:
        print_adaptive(compare_adaptive(spec, genome, layout, work / "adaptive", adaptive_genes))
    print(f"\n  reproduce: python -m benchmarks.bench_pipeline --fraction {fraction} --dense-genes {dense_genes} "
          f"--adaptive-genes {adaptive_genes}")


def bench_adaptive(adaptive_genes: int, modality: str, work: Path) -> None:
    spec = GenomeSpec()
    genome = ensure_genome(spec, _cache(), log=lambda s: None)
    print_adaptive(compare_adaptive(spec, genome, make_layout(spec), work, adaptive_genes, modality))
    print(f"\n  reproduce: python -m benchmarks.bench_pipeline --adaptive-only --adaptive-genes {adaptive_genes} "
          f"--adaptive-modality {modality}")


def main(argv: list[str] | None = None) -> None:
    """``make bench`` calls ``main()`` (settings from the environment); the module's command line passes its
    arguments."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_pipeline",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--fraction", type=float,
                        default=float(os.environ.get("QTLATLAS_BENCH_PIPELINE_FRACTION", DEFAULT_FRACTION)),
                        help=f"fraction of the genes mapped (default {DEFAULT_FRACTION}; 1: the whole tissue, "
                             "hours)")
    parser.add_argument("--dense-genes", type=int, default=DEFAULT_DENSE_GENES,
                        help=f"genes of the dense run on {DENSE_GENOME[0]} that measures the cost per phenotype "
                             f"(default {DEFAULT_DENSE_GENES})")
    parser.add_argument("--adaptive-genes", type=int, default=DEFAULT_ADAPTIVE_GENES,
                        help=f"expression phenotypes of the adaptive comparison (default {DEFAULT_ADAPTIVE_GENES})")
    parser.add_argument("--adaptive-only", action="store_true",
                        help="only the comparison of adaptive and full permutations")
    parser.add_argument("--adaptive-modality", default="expression", choices=[m.id for m in MODALITIES],
                        help="modality of --adaptive-only (default expression)")
    parser.add_argument("--work", type=Path,
                        help="keep the simulated atlases and results here (default: a temporary directory, removed)")
    args = parser.parse_args(argv if argv is not None else [])
    if not 0 < args.fraction <= 1:
        parser.error("--fraction must be in (0, 1]")
    def go(work: Path) -> None:
        if args.adaptive_only:
            bench_adaptive(args.adaptive_genes, args.adaptive_modality, work)
        else:
            bench(args.fraction, args.dense_genes, args.adaptive_genes, work)

    if args.work:
        args.work.mkdir(parents=True, exist_ok=True)
        go(args.work.resolve())
    else:
        with tempfile.TemporaryDirectory(prefix="qtlatlas-bench-pipeline-") as tmp:
            go(Path(tmp))


if __name__ == "__main__":
    main(sys.argv[1:])
