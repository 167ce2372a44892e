"""The ``qtlatlas`` command line.

Every subcommand has ``--help``. Errors in the user's input are printed as one clear message (file and
line, or YAML path) without a traceback, with exit status 2; ``--debug`` shows the traceback of
unexpected errors.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table

from . import __version__
from .errors import QtlAtlasError

EXIT_INPUT_ERROR = 2
EXIT_INTERNAL_ERROR = 3

err_console = Console(stderr=True, highlight=False, soft_wrap=True)
console = Console(highlight=False)


# --------------------------------------------------------------------------------------------------
# validate
# --------------------------------------------------------------------------------------------------


def _add_validate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "validate",
        help="check atlas.yaml, every file it names, and the sample ids of each tissue × modality",
        description="Check the atlas configuration and every file it names (genotypes, phenotype BEDs, "
        "groups, covariates, annotation, studies, GWAS summary statistics), and reconcile sample ids "
        "(genotypes ∩ phenotypes ∩ covariates) per tissue × modality. Prints a table of counts and the "
        "first mismatches; exits with status 2 when a problem is found.",
    )
    p.add_argument("config", type=Path, help="atlas.yaml")
    p.add_argument("--release", action="append", metavar="ID", help="check only this release (repeatable)")
    p.set_defaults(func=cmd_validate)


def cmd_validate(args: argparse.Namespace) -> int:
    from .config import load_atlas

    atlas = load_atlas(args.config)
    return _validate_and_print(atlas, args.release)


def _validate_and_print(atlas, releases: list[str] | None) -> int:
    from .validate import validate_atlas

    with console.status("Checking files…") as status:
        report = validate_atlas(atlas, releases, on_step=lambda msg: status.update(f"Checking {msg}…"))
    for rel in report.releases:
        console.print(_release_table(rel))
        for w in rel.warnings:
            console.print(f"[yellow]warning:[/] {w}", soft_wrap=True)
    for w in report.warnings:
        console.print(f"[yellow]warning:[/] {w}", soft_wrap=True)
    errors = report.all_errors()
    for e in errors:
        err_console.print(f"[red]error:[/] {e}")
    if errors:
        err_console.print(f"[red]{len(errors)} problem(s) found.[/]")
        return EXIT_INPUT_ERROR
    console.print(f"[green]OK[/]: {atlas.atlas.name}: {len(report.releases)} release(s) checked, no problems found.")
    return 0


def _release_table(rel) -> Table:
    table = Table(
        caption="BED: samples in the phenotype BED; genotyped, covariates: of those, found there; used: mapped",
        caption_justify="left",
        title=f"Release {rel.release} ({rel.genome}): {rel.n_genotyped_samples} genotyped samples, "
        f"{rel.n_variants:,} variants",
        title_justify="left",
    )
    table.add_column("tissue", no_wrap=True)
    table.add_column("modality", no_wrap=True)
    for col in ("phenotypes", "BED", "genotyped", "covariates", "used"):
        table.add_column(col, justify="right", no_wrap=True)
    any_mismatch = any(c.not_genotyped or c.not_in_covariates for c in rel.inputs)
    if any_mismatch:
        table.add_column("first mismatches")
    for c in rel.inputs:
        mismatch = []
        if c.not_genotyped:
            mismatch.append("not genotyped: " + ", ".join(c.not_genotyped[:3]))
        if c.not_in_covariates:
            mismatch.append("no covariates: " + ", ".join(c.not_in_covariates[:3]))
        table.add_row(
            c.tissue, c.modality, f"{c.n_phenotypes:,}", str(c.n_bed_samples), str(c.n_genotyped),
            "—" if c.n_covariate_samples is None else str(c.n_covariate_samples),
            "[red]failed[/]" if c.failed else str(c.n_used), *(["; ".join(mismatch)] if any_mismatch else []),
        )
    return table


# --------------------------------------------------------------------------------------------------
# demo
# --------------------------------------------------------------------------------------------------


def _add_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="generate the demo atlas from the built-in simulator and validate it",
        description="Generate a realistic synthetic atlas (genotypes, six RNA modalities in three tissues, "
        "two releases, a study and GWAS traits) in the formats labs use, then validate it.",
    )
    p.add_argument("--out", type=Path, default=Path("demo-atlas"), help="output directory (default: ./demo-atlas)")
    p.add_argument("--seed", type=int, default=1, help="random seed; the same seed gives identical files (default 1)")
    p.add_argument("--no-serve", action="store_true", help="stop before serving the portal (for scripts and tests)")
    p.set_defaults(func=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    import time

    from .config import load_atlas
    from .demo import DemoConfig, generate_demo

    t0 = time.perf_counter()
    with console.status(f"Generating the demo atlas in {args.out}…"):
        generate_demo(args.out, DemoConfig(seed=args.seed))
    console.print(f"Generated the demo atlas in [bold]{args.out}[/] ({time.perf_counter() - t0:.1f} s).")
    status = _validate_and_print(load_atlas(args.out / "atlas.yaml"), None)
    if status != 0:
        return status
    console.print(f"Configuration: {args.out / 'atlas.yaml'}  ·  check it again with: qtlatlas validate {args.out / 'atlas.yaml'}")
    return 0


# --------------------------------------------------------------------------------------------------
# prepare
# --------------------------------------------------------------------------------------------------


def _add_prepare(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "prepare",
        help="normalise a phenotype BED (Pantry rules) and compute PC covariates, ready for qtlatlas map",
        description="From an unnormalised phenotype BED and genotypes, write PREFIX.bed.gz (phenotypes with "
        "≥ 50%% missing, > 50%% zeros or constant dropped; missing values KNN-imputed; quantile-normalised then "
        "inverse-normal transformed), PREFIX.covariates.txt (genotype PCs of LD-pruned common variants + "
        "phenotype PCs [+ your covariates], tensorQTL layout) and PREFIX.median.tsv.gz (median per phenotype).",
    )
    p.add_argument("phenotypes", help="unnormalised phenotype BED (NA allowed)")
    p.add_argument("genotypes", help="PLINK 1/PLINK 2 prefix, .bed/.pgen, or VCF/BCF")
    p.add_argument("prefix", help="output prefix")
    p.add_argument("--genotype-pcs", type=int, default=5, help="genotype PCs (default 5)")
    p.add_argument("--phenotype-pcs", type=int, default=20, help="phenotype PCs (default 20); the total is capped at n − 1")
    p.add_argument("--covariates", help="extra covariates to append (covariates × samples)")
    p.set_defaults(func=cmd_prepare)


def cmd_prepare(args: argparse.Namespace) -> int:
    from .mapping.prepare import prepare_inputs

    if args.genotype_pcs < 0 or args.phenotype_pcs < 0:
        raise QtlAtlasError("--genotype-pcs and --phenotype-pcs must be ≥ 0")
    Path(args.prefix).parent.mkdir(parents=True, exist_ok=True)
    with console.status("Preparing…") as status:
        report = prepare_inputs(args.phenotypes, args.genotypes, args.prefix, args.genotype_pcs, args.phenotype_pcs,
                                args.covariates, on_step=lambda m: status.update(m + "…"))
    prep = report.preparation
    console.print(f"{report.n_kept:,} of {report.n_input:,} phenotypes kept ({prep.dropped_missing} with ≥ 50% missing, "
                  f"{prep.dropped_zeros} with > 50% zeros, {prep.dropped_constant} constant dropped; {prep.imputed:,} "
                  f"values imputed), {report.n_samples} samples; {len(report.covariate_names)} covariates "
                  f"({report.n_pruned_variants:,} pruned variants for genotype PCs)")
    console.print(f"wrote {args.prefix}.bed.gz, {args.prefix}.covariates.txt, {args.prefix}.median.tsv.gz")
    return 0


# --------------------------------------------------------------------------------------------------
# map
# --------------------------------------------------------------------------------------------------


def _add_map(sub: argparse._SubParsersAction) -> None:
    from .mapping.run import MODES

    p = sub.add_parser(
        "map",
        help="cis/trans-QTL mapping of one phenotype BED, with tensorQTL's modes, file names and columns",
        description="Map QTLs like tensorQTL (same modes, options, output names and columns). MODE: cis "
        "(permutations, Beta approximation, q-values) → PREFIX.cis_qtl.txt.gz; cis_nominal → "
        "PREFIX.cis_qtl_pairs.CHROM.parquet (and with --cis-output the significant pairs, "
        "PREFIX.cis_qtl.signif_pairs.parquet); cis_independent (needs --cis-output) → "
        "PREFIX.cis_independent_qtl.txt.gz; trans → PREFIX.trans_qtl_pairs.parquet; afc (needs --cis-output and "
        "--counts) → PREFIX.aFC.txt.gz.",
    )
    p.add_argument("mode", choices=MODES, metavar="MODE", help=" | ".join(MODES))
    p.add_argument("genotypes", help="PLINK 1/PLINK 2 prefix, .bed/.pgen, or VCF/BCF")
    p.add_argument("phenotypes", help="normalised phenotype BED (tensorQTL or QTLtools layout)")
    p.add_argument("prefix", help="output prefix")
    p.add_argument("--covariates", help="covariates file (covariates × samples)")
    p.add_argument("--groups", help="phenotype groups: phenotype_id<TAB>group_id")
    p.add_argument("--window", type=int, default=1_000_000, help="cis window around the TSS in bp (default 1000000)")
    p.add_argument("--permutations", type=int, default=10_000, help="permutations (default 10000)")
    p.add_argument("--seed", type=int, default=None, help="random seed")
    p.add_argument("--maf-threshold", type=float, default=0.0, help="minimum minor-allele frequency (default 0)")
    p.add_argument("--fdr", type=float, default=0.05, help="FDR for significant phenotypes (default 0.05)")
    p.add_argument("--qvalue-lambda", default="0.85",
                   help="λ of Storey's π̂₀ (default 0.85), or 'smoother' for R qvalue's default estimator")
    p.add_argument("--cis-output", help="output of mode cis (for cis_independent and afc; for cis_nominal: also write "
                                        "the significant pairs)")
    p.add_argument("--counts", help="log2(count + 1) BED for afc")
    p.add_argument("--pval-threshold", type=float, default=1e-5, help="trans: report pairs below this p (default 1e-5)")
    p.add_argument("--random-tiebreak", action="store_true", help="choose randomly among variants tied for the top")
    p.add_argument("--adaptive", action="store_true",
                   help="adaptive permutations: stop after 2,048 permutations for phenotypes whose empirical p-value "
                        "is clearly large (≥ 100 permutation statistics reach the observed one); see docs/engine.md")
    p.add_argument("--threads", type=int, default=None, help="CPU threads (BLAS and workers; default: all cores)")
    p.add_argument("--plots", action="store_true",
                   help="cis: also write QC plots (QQ of pval_beta, pval_perm vs pval_beta, eGene TSS distances) as "
                        "PREFIX.qc.*.png and PREFIX.qc.html")
    p.set_defaults(func=cmd_map)


def _lambda(text: str) -> float | None:
    if text.lower() in ("smoother", "default", "none"):
        return None
    try:
        value = float(text)
    except ValueError:
        raise QtlAtlasError(f"--qvalue-lambda: {text!r} is neither a number in [0, 1) nor 'smoother'") from None
    if not 0 <= value < 1:
        raise QtlAtlasError(f"--qvalue-lambda: {value} is not in [0, 1)")
    return value


def cmd_map(args: argparse.Namespace) -> int:
    import time

    from threadpoolctl import threadpool_limits

    from .mapping import run
    from .mapping.inputs import load_mapping_inputs

    if args.mode not in ("cis_independent", "afc", "cis_nominal") and args.cis_output:
        raise QtlAtlasError(f"--cis-output is not used by mode {args.mode}")
    if args.mode in ("cis_independent", "afc") and not args.cis_output:
        raise QtlAtlasError(f"mode {args.mode} needs --cis-output (the output of mode cis)")
    if args.mode == "afc" and not args.counts:
        raise QtlAtlasError("mode afc needs --counts (a log2(count + 1) BED)")
    for name in ("window", "permutations", "threads"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise QtlAtlasError(f"--{name}: must be a positive integer")
    if not 0 < args.fdr < 1:
        raise QtlAtlasError("--fdr: must be in (0, 1)")
    options = run.MapOptions(window=args.window, permutations=args.permutations, seed=args.seed,
                             maf_threshold=args.maf_threshold, fdr=args.fdr, qvalue_lambda=_lambda(args.qvalue_lambda),
                             threads=args.threads, random_tiebreak=args.random_tiebreak,
                             trans_pval_threshold=args.pval_threshold, adaptive=args.adaptive)
    Path(args.prefix).parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with threadpool_limits(limits=args.threads), _progress() as progress:
        inputs = load_mapping_inputs(args.genotypes, args.phenotypes, args.covariates, args.groups)
        console.print(f"{len(inputs.samples)} samples, {len(inputs.phenotypes.phenotype_ids):,} phenotypes, "
                      f"{len(inputs.covariate_names)} covariates, {len(inputs.genotypes.variants):,} variants")
        if args.mode == "cis":
            table, summary = run.run_cis(inputs, args.prefix, options, progress)
            console.print(f"{summary.n_significant} of {summary.n_tested} {'groups' if args.groups else 'phenotypes'} "
                          f"at FDR {args.fdr} (π̂₀ = {summary.pi0:.3f}; correlation of Beta-approximated and empirical "
                          f"p-values {summary.pearson_beta_perm:.4f}); wrote {args.prefix}.cis_qtl.txt.gz")
            if args.plots:
                from .mapping.plots import write_qc_plots

                written = write_qc_plots(table, summary, args.prefix, args.fdr, args.permutations)
                console.print(f"QC plots: {', '.join(str(p) for p in written)}")
        elif args.mode == "cis_nominal":
            paths = run.run_cis_nominal(inputs, args.prefix, options, progress, cis_output=args.cis_output)
            console.print(f"wrote {len(paths)} file(s): {', '.join(paths)}")
        elif args.mode == "cis_independent":
            table = run.run_cis_independent(inputs, args.prefix, args.cis_output, options, progress)
            console.print(f"{len(table)} independent signal(s); wrote {args.prefix}.cis_independent_qtl.txt.gz")
        elif args.mode == "trans":
            table = run.run_trans(inputs, args.prefix, options, progress)
            console.print(f"{len(table):,} trans pair(s) with p < {args.pval_threshold:g}; "
                          f"wrote {args.prefix}.trans_qtl_pairs.parquet")
        else:
            table = run.run_afc(inputs, args.prefix, args.cis_output, args.counts, options, progress)
            console.print(f"aFC of {int(table['log2_aFC'].notna().sum())} QTL(s); wrote {args.prefix}.aFC.txt.gz")
        if inputs.missing_calls:
            console.print(f"[yellow]note:[/] {inputs.missing_calls:,} missing genotype call(s) were replaced by the "
                          "mean dosage of their variant", soft_wrap=True)
        multiallelic = inputs.genotypes.multiallelic_records
        if multiallelic:
            console.print(f"[yellow]note:[/] {multiallelic:,} multi-allelic record(s) in {args.genotypes} were "
                          f"{'split into biallelic rows' if inputs.genotypes.multiallelic == 'split' else 'skipped'}",
                          soft_wrap=True)
    console.print(f"done in {time.perf_counter() - t0:.1f} s")
    return 0


class _progress:
    """A rich progress display usable as ``progress(description, total, unit)`` → advance callback."""

    def __enter__(self):
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._bars = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                              TimeElapsedColumn(), TimeRemainingColumn(), console=err_console, transient=False)
        self._bars.__enter__()
        return self

    def __call__(self, description: str, total: int, unit: int = 1):
        task = self._bars.add_task(description, total=total)
        return lambda n: self._bars.advance(task, n)

    def __exit__(self, *exc):
        return self._bars.__exit__(*exc)


# --------------------------------------------------------------------------------------------------
# entry point
# --------------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qtlatlas",
        description="Build, publish and serve multi-tissue molecular-QTL atlases.",
    )
    parser.add_argument("--version", action="version", version=f"qtlatlas {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of unexpected errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in COMMANDS:
        add(sub)
    return parser


COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [_add_validate, _add_prepare, _add_map, _add_demo]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 success, 2 bad input, 3 internal error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except QtlAtlasError as e:
        err_console.print(f"[red]error:[/] {e}", soft_wrap=True)
        return EXIT_INPUT_ERROR
    except KeyboardInterrupt:
        err_console.print("[red]interrupted[/]")
        return 130
    except Exception as e:  # a bug in qtlatlas: say so without dumping a traceback unless asked
        if args.debug:
            raise
        err_console.print(
            f"[red]internal error:[/] {type(e).__name__}: {e}\n"
            "This is a bug in qtlatlas; run again with --debug for the traceback and report it.",
            soft_wrap=True,
        )
        return EXIT_INTERNAL_ERROR


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
