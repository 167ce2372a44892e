"""``qtlatlas prepare`` and ``qtlatlas map``."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import QtlAtlasError
from .console import ProgressBars, console


def _add_prepare(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "prepare",
        help="normalise a phenotype BED (Pantry rules) and compute PC covariates, ready for qtlatlas map",
        description="From an unnormalised phenotype BED and genotypes, write PREFIX.bed.gz (phenotypes with "
        "≥ 50%% missing, > 50%% zeros or constant dropped; missing values KNN-imputed; samples quantile-normalised "
        "(or TMM-scaled, --normalization) then inverse-normal transformed), PREFIX.covariates.txt (genotype PCs of LD-pruned common variants + "
        "phenotype PCs [+ your covariates], tensorQTL layout) and PREFIX.median.tsv.gz (median per phenotype).",
    )
    p.add_argument("phenotypes", help="unnormalised phenotype BED (NA allowed)")
    p.add_argument("genotypes", help="PLINK 1/PLINK 2 prefix, .bed/.pgen, or VCF/BCF")
    p.add_argument("prefix", help="output prefix")
    p.add_argument("--genotype-pcs", type=int, default=None,
                   help="genotype PCs (default 5, or none when --covariates already hold genotype PCs)")
    p.add_argument("--phenotype-pcs", type=int, default=None,
                   help="phenotype PCs (default 20, or none when --covariates already hold phenotype PCs); the "
                   "total is capped at n − 3")
    p.add_argument("--covariates", help="extra covariates to append (covariates × samples)")
    p.add_argument("--normalization", choices=["quantile", "tmm", "rank"], default="quantile",
                   help="how samples are made comparable before the inverse-normal transform: quantile (Pantry, "
                   "GTEx eQTL; default), tmm (expression: edgeR TMM scale factors, as tensorQTL's "
                   "eqtl_prepare_expression) or rank (nothing)")
    p.add_argument("--counts", help="log2(count + 1) BED of the same samples: the read counts TMM factors come from "
                   "(default: the phenotype values)")
    p.set_defaults(func=cmd_prepare)


def cmd_prepare(args: argparse.Namespace) -> int:
    from ..mapping.covariate_design import name_runs
    from ..mapping.prepare import prepare_inputs

    for name in ("genotype_pcs", "phenotype_pcs"):
        if (getattr(args, name) or 0) < 0:
            raise QtlAtlasError(f"--{name.replace('_', '-')}: must be ≥ 0")
    Path(args.prefix).parent.mkdir(parents=True, exist_ok=True)
    with console.status("Preparing…") as status:
        report = prepare_inputs(args.phenotypes, args.genotypes, args.prefix, args.genotype_pcs, args.phenotype_pcs,
                                args.covariates, on_step=lambda m: status.update(m + "…"),
                                normalization=args.normalization, counts=args.counts)
    prep = report.preparation
    console.print(f"{report.n_kept:,} of {report.n_input:,} phenotypes kept ({prep.dropped_missing} with ≥ 50% missing, "
                  f"{prep.dropped_zeros} with > 50% zeros, {prep.dropped_constant} constant dropped; {prep.imputed:,} "
                  f"values imputed), {report.n_samples} samples; {len(report.covariate_names)} covariates "
                  f"(computed: {name_runs(report.design.computed)}; yours: {name_runs(report.design.lab)})")
    for note in report.design.notes:
        console.print(f"[cyan]note:[/] {note}", soft_wrap=True)
    for warning in report.design.warnings:
        console.print(f"[yellow]warning:[/] {warning}", soft_wrap=True)
    console.print(f"wrote {args.prefix}.bed.gz, {args.prefix}.covariates.txt, {args.prefix}.median.tsv.gz")
    return 0


def _add_map(sub: argparse._SubParsersAction) -> None:
    from ..mapping.modes import MODES

    p = sub.add_parser(
        "map",
        help="cis/trans-QTL mapping of one phenotype BED, with tensorQTL's modes, file names and columns",
        description="Map QTLs like tensorQTL (same modes, options, output names and columns). MODE: cis "
        "(permutations, Beta approximation, q-values) → PREFIX.cis_qtl.txt.gz; cis_nominal → "
        "PREFIX.cis_qtl_pairs.CHROM.parquet (and with --cis-output the significant pairs, "
        "PREFIX.cis_qtl.signif_pairs.parquet); cis_independent (needs --cis-output) → "
        "PREFIX.cis_independent_qtl.txt.gz; trans → PREFIX.trans_qtl_pairs.parquet; afc (needs --cis-output and "
        "--counts) → PREFIX.aFC.txt.gz; cis_susie (SuSiE fine-mapping, susieR's defaults; of the phenotypes with "
        "q ≤ --fdr in --cis-output, those in --phenotypes, or all) → PREFIX.susie_credible_sets.parquet and "
        "PREFIX.susie_pip.parquet.",
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
    p.add_argument("--min-mac", type=int, default=0,
                   help="minimum minor-allele count among the samples (default 0, as tensorQTL; an atlas's "
                        "mapping.min_mac defaults to 10)")
    p.add_argument("--fdr", type=float, default=0.05, help="FDR for significant phenotypes (default 0.05)")
    p.add_argument("--qvalue-lambda", default="0.85",
                   help="λ of Storey's π̂₀ (default 0.85), or 'smoother' for R qvalue's default estimator")
    p.add_argument("--cis-output", help="output of mode cis (for cis_independent and afc; for cis_nominal: also write "
                                        "the significant pairs; for cis_susie: fine-map its phenotypes or groups "
                                        "with q ≤ --fdr)")
    p.add_argument("--phenotypes", dest="phenotype_list", metavar="FILE",
                   help="cis_susie: fine-map only these phenotype ids (one per line)")
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


def _check_testable(inputs, args: argparse.Namespace) -> None:
    """Warn about the phenotypes that cis mapping cannot test (no genotypes on their chromosome, no variant in
    their window), as ``qtlatlas validate`` does; refuse to run when none can be tested."""
    from ..mapping.untestable import find_untestable

    found = find_untestable(inputs.phenotypes.positions, inputs.genotypes.variants, args.window)
    if not found.untestable:
        return
    if not found.n_testable:
        raise QtlAtlasError(f"{args.phenotypes}: nothing to map: {found.message()} (genotypes: {args.genotypes}, "
                            f"--window {args.window}); no output written")
    console.print(f"[yellow]warning:[/] {args.phenotypes}: {found.message()}; they are left out of the output",
                  soft_wrap=True)


def _map_susie(inputs, args: argparse.Namespace, progress) -> None:
    from ..mapping.run import read_cis_output
    from ..mapping.susie import phenotypes_to_map, run_cis_susie

    cis = read_cis_output(args.cis_output) if args.cis_output else None
    wanted = phenotypes_to_map(inputs, args.phenotype_list, cis, args.fdr, args.cis_output or "")
    if not wanted:
        raise QtlAtlasError(f"{args.cis_output}: no phenotype with q ≤ {args.fdr}: nothing to fine-map; no output written")
    summary = run_cis_susie(inputs, args.prefix, wanted, args.window, args.maf_threshold, progress,
                            min_mac=args.min_mac)
    console.print(f"{summary.n_sets} credible set(s) in {summary.n_with_sets} of {summary.n_phenotypes} phenotypes; "
                  f"wrote {args.prefix}.susie_credible_sets.parquet and {args.prefix}.susie_pip.parquet")
    if summary.no_variants:
        console.print(f"[yellow]note:[/] {len(summary.no_variants)} phenotype(s) have no polymorphic variant in their "
                      f"window and were not fine-mapped, e.g. {', '.join(summary.no_variants[:3])}", soft_wrap=True)
    if summary.not_converged:
        console.print(f"[yellow]warning:[/] {len(summary.not_converged)} fit(s) did not converge in 100 iterations, "
                      f"e.g. {', '.join(summary.not_converged[:3])}", soft_wrap=True)


def cmd_map(args: argparse.Namespace) -> int:
    import time

    from threadpoolctl import threadpool_limits

    from ..mapping import run
    from ..mapping.inputs import load_mapping_inputs

    if args.mode not in ("cis_independent", "afc", "cis_nominal", "cis_susie") and args.cis_output:
        raise QtlAtlasError(f"--cis-output is not used by mode {args.mode}")
    if args.mode in ("cis_independent", "afc") and not args.cis_output:
        raise QtlAtlasError(f"mode {args.mode} needs --cis-output (the output of mode cis)")
    if args.phenotype_list and args.mode != "cis_susie":
        raise QtlAtlasError(f"--phenotypes is not used by mode {args.mode}")
    if args.mode == "afc" and not args.counts:
        raise QtlAtlasError("mode afc needs --counts (a log2(count + 1) BED)")
    for name in ("window", "permutations", "threads"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise QtlAtlasError(f"--{name}: must be a positive integer")
    if not 0 < args.fdr < 1:
        raise QtlAtlasError("--fdr: must be in (0, 1)")
    if args.min_mac < 0:
        raise QtlAtlasError("--min-mac: must be 0 or more")
    options = run.MapOptions(window=args.window, permutations=args.permutations, seed=args.seed,
                             maf_threshold=args.maf_threshold, min_mac=args.min_mac, fdr=args.fdr, qvalue_lambda=_lambda(args.qvalue_lambda),
                             threads=args.threads, random_tiebreak=args.random_tiebreak,
                             trans_pval_threshold=args.pval_threshold, adaptive=args.adaptive)
    Path(args.prefix).parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with threadpool_limits(limits=args.threads), ProgressBars() as progress:
        inputs = load_mapping_inputs(args.genotypes, args.phenotypes, args.covariates, args.groups)
        console.print(f"{len(inputs.samples)} samples, {len(inputs.phenotypes.phenotype_ids):,} phenotypes, "
                      f"{len(inputs.covariate_names)} covariates, {len(inputs.genotypes.variants):,} variants")
        if args.mode != "trans":
            _check_testable(inputs, args)
        if args.mode == "cis":
            table, summary = run.run_cis(inputs, args.prefix, options, progress)
            console.print(f"{summary.n_significant} of {summary.n_tested} {'groups' if args.groups else 'phenotypes'} "
                          f"at FDR {args.fdr} (π̂₀ = {summary.pi0:.3f}; correlation of Beta-approximated and empirical "
                          f"p-values {summary.pearson_beta_perm:.4f}); wrote {args.prefix}.cis_qtl.txt.gz")
            if summary.pi0_fallback:
                console.print(f"[yellow]note:[/] no pval_beta reached λ = {args.qvalue_lambda}, so π̂₀ could not be "
                              "estimated; q-values use π̂₀ = 1 (Benjamini–Hochberg)", soft_wrap=True)
            if args.plots:
                from ..mapping.plots import write_qc_plots

                written = write_qc_plots(table, summary, args.prefix, args.fdr, args.permutations)
                console.print(f"QC plots: {', '.join(str(p) for p in written)}")
        elif args.mode == "cis_nominal":
            paths = run.run_cis_nominal(inputs, args.prefix, options, progress, cis_output=args.cis_output)
            console.print(f"wrote {len(paths)} file(s): {', '.join(paths)}")
        elif args.mode == "cis_independent":
            table = run.run_cis_independent(inputs, args.prefix, args.cis_output, options, progress)
            console.print(f"{len(table)} independent signal(s); wrote {args.prefix}.cis_independent_qtl.txt.gz")
        elif args.mode == "cis_susie":
            _map_susie(inputs, args, progress)
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


