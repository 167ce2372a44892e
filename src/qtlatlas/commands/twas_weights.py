"""``qtlatlas twas weights``: fit TWAS prediction models per phenotype (FUSION ``compute_weights``)."""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from ..errors import QtlAtlasError, SampleMismatchError
from .console import ProgressBars, console

MODEL_NAMES = ("top1", "lasso", "enet", "blup")


def add_weights_command(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "weights",
        help="fit TWAS weights (top1, lasso, enet, blup) with heritability and cross-validation, like FUSION",
        description="For every phenotype of a BED, take the genotypes within --window bp of its TSS, estimate "
        "cis heritability by REML (keep phenotypes with LRT p ≤ --hsq-p, or fix it with --hsq-set), "
        "cross-validate and fit the models of FUSION.compute_weights.R (top1 marginal z-scores; lasso as "
        "PLINK --lasso; enet as cv.glmnet alpha 0.5 at lambda.min; blup as GEMMA -bslmm 2). Writes "
        "twas_weights.parquet (one row per phenotype × SNP) and twas_profile.parquet (one row per "
        "fitted phenotype: window, n, h², CV R² and p per model, best model) into the directory --out, the panel "
        "layout `qtlatlas twas assoc` reads. FUSION's option spellings "
        "(--hsq_set, --hsq_p) are accepted.",
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--bfile", metavar="PREFIX", help="PLINK 1 genotypes PREFIX.bed/.bim/.fam (A1 counted)")
    src.add_argument("--genotypes", metavar="PATH", help="genotypes: PLINK 1/2 prefix or file, VCF/BCF (ALT counted)")
    p.add_argument("--phenotypes", required=True, metavar="BED", help="phenotype BED (tensorQTL or QTLtools layout)")
    p.add_argument("--covariates", metavar="FILE",
                   help="covariates: covariates × samples (tensorQTL), samples × covariates, or FUSION/PLINK "
                        "'FID IID c1 c2 …'; regressed out of the phenotype and fixed effects in REML")
    p.add_argument("--out", required=True, metavar="DIR",
                   help="output directory (twas_weights.parquet, twas_profile.parquet)")
    p.add_argument("--panel", metavar="NAME", help="panel name written in the tables (default: the BED's name)")
    p.add_argument("--window", type=int, default=500_000, metavar="BP", help="cis window around the TSS (default 500000)")
    p.add_argument("--models", default="top1,lasso,enet,blup",
                   help="comma-separated models among top1,lasso,enet,blup (top1 is always fitted)")
    p.add_argument("--crossval", type=int, default=5, metavar="K", help="cross-validation folds; 0 or 1 skips (default 5)")
    p.add_argument("--hsq-set", "--hsq_set", dest="hsq_set", type=float, metavar="H",
                   help="skip REML and use this heritability for every phenotype (no filter)")
    p.add_argument("--hsq-p", "--hsq_p", dest="hsq_p", type=float, default=0.01, metavar="P",
                   help="keep phenotypes whose heritability LRT p-value is ≤ P (default 0.01)")
    p.add_argument("--maf", type=float, default=0.0, help="drop SNPs with minor-allele frequency below this (default 0)")
    p.add_argument("--seed", type=int, default=1,
                   help="seed of the CV split, enet's inner folds and lasso's λ draws (default 1)")
    p.add_argument("--threads", type=int, default=1, help="worker processes fitting phenotypes in parallel (default 1)")
    p.set_defaults(func=cmd_weights)


def _models(text: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(m.strip() for m in text.split(",") if m.strip()))
    unknown = [m for m in names if m not in MODEL_NAMES]
    if unknown or not names:
        raise QtlAtlasError(f"--models: unknown model(s) {', '.join(unknown) or '(none)'}; "
                            f"choose from {', '.join(MODEL_NAMES)}")
    return names


def _check_args(args: argparse.Namespace) -> None:
    if args.window < 0:
        raise QtlAtlasError("--window: must be ≥ 0")
    if args.crossval < 0:
        raise QtlAtlasError("--crossval: must be ≥ 0")
    if args.hsq_set is not None and not 0.0 <= args.hsq_set <= 1.0:
        raise QtlAtlasError(f"--hsq-set: {args.hsq_set} is not in [0, 1]")
    if not 0.0 < args.hsq_p <= 1.0:
        raise QtlAtlasError(f"--hsq-p: {args.hsq_p} is not in (0, 1]")
    if not 0.0 <= args.maf < 0.5:
        raise QtlAtlasError(f"--maf: {args.maf} is not in [0, 0.5)")
    if args.threads < 1:
        raise QtlAtlasError("--threads: must be a positive integer")


def _panel_name(bed: str) -> str:
    name = os.path.basename(bed)
    for suffix in (".gz", ".bgz", ".bed"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    return name


def cmd_weights(args: argparse.Namespace) -> int:
    from threadpoolctl import threadpool_limits

    from ..io.covariates import read_covariates_of
    from ..io.genotype_set import open_genotype_files
    from ..io.phenotypes import read_phenotype_bed
    from ..twas.weights import PanelWriter, WeightsOptions, fit_panel, panel_windows

    _check_args(args)
    models = _models(args.models)
    options = WeightsOptions(models=models, crossval=args.crossval, hsq_set=args.hsq_set, hsq_p=args.hsq_p,
                             seed=args.seed, lasso_seed=args.seed)
    panel = args.panel or _panel_name(args.phenotypes)
    t0 = time.perf_counter()
    with threadpool_limits(limits=1):
        reader = open_genotype_files(args.bfile if args.bfile else args.genotypes)
        phenotypes = read_phenotype_bed(args.phenotypes, allow_missing=True)
        covariates = None
        if args.covariates:
            shared = [s for s in reader.samples if s in set(phenotypes.samples)]
            covariates = read_covariates_of(args.covariates, shared)
        try:
            windows = panel_windows(reader, phenotypes, covariates, window=args.window, maf=args.maf)
            first = next(windows, None)
        except ValueError as e:
            raise SampleMismatchError(f"{args.phenotypes}: {e}") from None
        n_pheno = len(phenotypes.phenotype_ids)
        console.print(f"panel {panel}: {n_pheno:,} phenotypes, {first.phenotype.shape[0] if first else 0} samples, "
                      f"{covariates.shape[0] if covariates is not None else 0} covariates, models "
                      f"{','.join(options.models)}, window ±{args.window:,} bp")
        Path(args.out).mkdir(parents=True, exist_ok=True)

        def stream():
            if first is not None:
                yield first
            yield from windows

        with PanelWriter(args.out) as writer, ProgressBars() as progress:
            summary = fit_panel(panel, stream(), writer, options, total=n_pheno, workers=args.threads,
                                progress=progress)
    skipped = sum(summary.skipped.values())
    console.print(f"{summary.fitted:,} of {n_pheno:,} phenotypes fitted ({summary.n_weights:,} SNP weights); "
                  f"{skipped:,} skipped" + (": " + "; ".join(f"{k} ({v})" for k, v in summary.skipped.items())
                                           if skipped else ""))
    console.print(f"wrote {writer.weights_path}, {writer.profile_path} in {time.perf_counter() - t0:.1f} s")
    return 0
