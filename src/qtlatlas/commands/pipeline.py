"""``qtlatlas run``, ``build``, ``verify`` and ``errata``."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.table import Table

from ..errors import QtlAtlasError
from .console import EXIT_INPUT_ERROR, console, err_console, print_wide


def _default_work(config: Path) -> Path:
    return config.resolve().parent / "work"


def _add_run(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run",
        help="map every tissue × modality (and cross-modality) of a release: resumable task graph",
        description="Run phenotype preparation, covariates, cis permutations, q-values, independent QTLs, the "
        "nominal pass with significant pairs, trans (mapping.trans_modalities) and aFC for every tissue × "
        "modality of a release, plus cross-modality mapping per tissue. Tasks whose inputs and parameters have "
        "not changed are skipped; a killed run resumes. Locally by default, on Dask with --scheduler or --dask-local.",
    )
    p.add_argument("config", type=Path, help="atlas.yaml")
    p.add_argument("--release", required=True, help="release id")
    p.add_argument("--work", type=Path, help="work directory (default: work/ beside atlas.yaml)")
    p.add_argument("--cores", type=int, default=None, help="tasks run at once by the local executor (default: all cores)")
    p.add_argument("--threads-per-task", type=int, default=1, help="BLAS/worker threads of each task (default 1)")
    dask = p.add_mutually_exclusive_group()
    dask.add_argument("--scheduler", metavar="ADDRESS",
                      help="run on this Dask distributed scheduler: its address (tcp://HOST:PORT) or its scheduler "
                      "file (docs/cluster.md: SLURM through dask-jobqueue)")
    dask.add_argument("--dask-local", type=int, metavar="N", help="run on a local Dask cluster of N workers")
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.set_defaults(func=cmd_run)


def cmd_run(args: argparse.Namespace) -> int:
    import os

    from ..config import load_atlas

    atlas = load_atlas(args.config)
    release = atlas.release(args.release)
    work = args.work or _default_work(args.config)
    for name in ("cores", "threads_per_task", "dask_local"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise QtlAtlasError(f"--{name.replace('_', '-')}: must be a positive integer")
    report = run_release(atlas, release.id, work, cores=args.cores or os.cpu_count() or 1,
                         threads_per_task=args.threads_per_task, scheduler=args.scheduler, dask_local=args.dask_local,
                         progress=not args.quiet)
    return 0 if report.ok else EXIT_INPUT_ERROR


def run_release(atlas, release_id: str, work: Path, *, cores: int = 1, threads_per_task: int = 1,
                scheduler: str | None = None, dask_local: int | None = None, progress: bool = True):
    """Plan and run a release's task graph, then print the summary table and any failures."""
    from ..pipeline.plan import plan_release
    from ..pipeline.runner import run_graph

    tasks = plan_release(atlas, release_id, work)
    executor = "dask" if (scheduler or dask_local) else "local"
    report = run_graph(tasks, Path(work) / release_id / ".state", executor=executor, cores=cores,
                       threads_per_task=threads_per_task, scheduler=scheduler, dask_local=dask_local,
                       progress=progress, console=console)
    print_wide(_run_summary(report, Path(work), release_id))
    for line in _covariate_notes(Path(work), release_id):
        console.print(line, soft_wrap=True)
    failed = [t for t in report.tasks if t.status in ("failed", "blocked")]
    for t in failed:
        detail = f": {t.error}" if getattr(t, "error", None) else ""
        err_console.print(f"[red]{t.status}:[/] {t.label or t.id}{detail}" + (f" (log: {t.log})" if t.status == "failed" else ""))
    if failed:
        err_console.print(f"[red]{len(failed)} task(s) did not complete[/]; fix the cause and run again: finished tasks are kept.")
    return report


def _covariate_notes(work: Path, release_id: str) -> list[str]:
    """What the prepare tasks decided about the lab's covariates (``covariates.json``: PCs not computed because
    the lab's covariates hold them, computed PCs renamed or duplicating the lab's), one line each."""
    import json

    lines = []
    for path in sorted((work / release_id).glob("*/*/covariates.json")):
        design = json.loads(path.read_text())
        where = f"{path.parent.parent.name}/{path.parent.name}"
        lines += [f"[cyan]note:[/] {where}: {n}" for n in design.get("notes", [])]
        lines += [f"[yellow]warning:[/] {where}: {w}" for w in design.get("warnings", [])]
    return lines


def _run_summary(report, work: Path, release_id: str) -> Table:
    import json

    table = Table(title=f"Release {release_id}", title_justify="left")
    for col, justify in (("tissue", "left"), ("modality", "left"), ("samples", "right"), ("tested", "right"),
                         ("eGenes (q ≤ FDR)", "right"), ("independent", "right"), ("wall time", "right")):
        table.add_column(col, justify=justify, no_wrap=True)
    seconds: dict[tuple[str, str], float] = {}
    for t in report.tasks:
        parts = t.id.split("/")
        if len(parts) == 4:
            seconds[(parts[1], parts[2])] = seconds.get((parts[1], parts[2]), 0.0) + (t.wall_s or 0.0)
    for path in sorted((work / release_id).glob("*/*/summary.json")):
        s = json.loads(path.read_text())
        wall = seconds.get((s["tissue"], s["modality"]), 0.0)
        table.add_row(s["tissue"], s["modality"], str(s["samples"]), f"{s['tested']:,}", f"{s['significant']:,}",
                      f"{s['independent']:,}", f"{wall:.1f} s" if wall else "(cached)")
    return table


def _add_build(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "build",
        help="build an immutable, checksummed release (query tables, downloads, manifest) into a site directory",
        description="Assemble a release from the results of qtlatlas run (or imported tensorQTL/RatGTEx-format "
        "results named in atlas.yaml) into SITE/releases/ID: Parquet query tables for the portal, download files "
        "with RatGTEx-style names, MANIFEST.tsv with sha256 checksums and release metadata. A published release is "
        "never overwritten.",
    )
    p.add_argument("config", type=Path, help="atlas.yaml")
    p.add_argument("--release", required=True, help="release id")
    p.add_argument("--site", type=Path, required=True, help="site directory (holds every release)")
    p.add_argument("--work", type=Path, help="work directory of qtlatlas run (default: work/ beside atlas.yaml)")
    p.set_defaults(func=cmd_build)


def release_results(atlas, release_id: str, work: Path) -> dict:
    """(tissue, modality) → ResultFiles: imported results (a tissue's own ``results`` completed by the release's
    multi-tissue tables), or the work directory's (cross-modality included)."""
    from ..results import CROSS_MODALITY, ResultFiles, work_directory

    release = atlas.release(release_id)
    results, missing = {}, []
    for tissue, modality, inp in release.inputs():
        if release.imported(tissue, modality):
            results[(tissue, modality)] = ResultFiles.from_import(inp.results, tissue, modality,
                                                                  shared=release.results.get(modality))
            continue
        files = ResultFiles.from_directory(work_directory(work, release.id, tissue, modality), tissue, modality)
        if not files.cis.exists():
            missing.append(f"{tissue}/{modality}")
        results[(tissue, modality)] = files
    if missing:
        raise QtlAtlasError(f"no results for {', '.join(missing)} in {Path(work) / release.id}: run "
                            f"`qtlatlas run ATLAS.yaml --release {release.id}` first")
    shared = release.results.get(CROSS_MODALITY)
    for tissue in release.tissues:
        if shared is not None:
            results[(tissue, CROSS_MODALITY)] = ResultFiles.from_import(None, tissue, CROSS_MODALITY, shared=shared)
            continue
        d = work_directory(work, release.id, tissue, CROSS_MODALITY)
        if (d / "cis_qtl.txt.gz").exists():
            results[(tissue, CROSS_MODALITY)] = ResultFiles.from_directory(d, tissue, CROSS_MODALITY)
    return results


def cmd_build(args: argparse.Namespace) -> int:
    import resource
    import time

    from ..config import load_atlas
    from ..release.build import build_release

    atlas = load_atlas(args.config)
    release = atlas.release(args.release)
    results = release_results(atlas, release.id, args.work or _default_work(args.config))
    start = time.perf_counter()
    with console.status("Building…") as status:
        path = build_release(atlas, release.id, args.site, results, on_step=lambda m: status.update(m + "…"))
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    console.print(f"Published release [bold]{release.id}[/] in {path} "
                  f"({_duration(seconds)}, peak memory {peak_mb:,.0f} MB)")
    return 0


def _duration(seconds: float) -> str:
    """``"4 min 34 s"`` or ``"12.3 s"``."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


def _add_verify(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("verify", help="re-check the checksums of a release (or of every release of a site)",
                       description="Re-check every file of a release against its MANIFEST.tsv (size and sha256), and "
                       "report missing, modified and unlisted files. Given a site directory, checks every release.")
    p.add_argument("path", type=Path, help="a release directory (SITE/releases/ID) or a site directory")
    p.set_defaults(func=cmd_verify)


def cmd_verify(args: argparse.Namespace) -> int:
    from ..release.manifest import verify_release

    path = args.path
    if (path / "MANIFEST.tsv").exists():
        releases = [path]
    elif (path / "releases").is_dir():
        releases = sorted(p for p in (path / "releases").iterdir() if p.is_dir() and not p.name.startswith("."))
    else:
        raise QtlAtlasError(f"{path}: neither a release directory (with MANIFEST.tsv) nor a site directory (with releases/)")
    if not releases:
        raise QtlAtlasError(f"{path}: no release found")
    bad = 0
    for rel in releases:
        problems = verify_release(rel)
        if problems:
            bad += 1
            for problem in problems:
                err_console.print(f"[red]{rel.name}:[/] {problem}")
        else:
            console.print(f"[green]OK[/] {rel}")
    return EXIT_INPUT_ERROR if bad else 0


def _add_errata(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("errata", help="record a dated correction for a published release",
                       description="Releases are immutable: a correction is recorded as a dated erratum, shown by the "
                       "portal beside the release, or published as a new release.")
    p.add_argument("site", type=Path, help="site directory")
    p.add_argument("release", help="release id")
    p.add_argument("text", help="the correction")
    p.add_argument("--date", help="date of the erratum (YYYY-MM-DD; default today)")
    p.set_defaults(func=cmd_errata)


def cmd_errata(args: argparse.Namespace) -> int:
    import datetime as dt

    from ..release.errata import add_erratum

    try:
        date = dt.date.fromisoformat(args.date) if args.date else None
    except ValueError:
        raise QtlAtlasError(f"--date: {args.date!r} is not a date (YYYY-MM-DD)") from None
    path = add_erratum(args.site, args.release, args.text, date)
    console.print(f"Recorded in {path}")
    return 0
