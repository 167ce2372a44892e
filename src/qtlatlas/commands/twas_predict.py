"""``qtlatlas twas predict``: genetically predicted phenotypes of any genotyped cohort from TWAS weights."""

from __future__ import annotations

import argparse
import time

from ..errors import ConfigError
from .console import ProgressBars, console, err_console


def add_predict_command(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "predict",
        help="predict phenotypes (expression, splicing, …) of any genotyped cohort from TWAS weights",
        description="For every phenotype of the selected weights panels, take its best model (largest CV R²; "
        "--model forces one), match its SNPs to the cohort (by id or by position, alleles flipped as FUSION "
        "does, strand-ambiguous SNPs left out) and write the predicted values: OUT/{panel}.predicted.tsv.gz "
        "(one line per individual, one column per phenotype) and OUT/{panel}.models.tsv (model and SNP counts "
        "per phenotype). The default score is Σ weight × dosage of the weight's effect allele, missing "
        "genotypes mean-imputed: `plink2 --score FILE 1 2 3 cols=scoresums`. See docs/predict.md.",
    )
    src = p.add_argument_group("weights (one of --weights, or --site with --release)")
    src.add_argument("--weights", metavar="PATH",
                     help="FUSION .pos file (.wgt.RDat paths relative to --weights_dir) or a Parquet panel directory "
                          "(twas_weights.parquet + twas_profile.parquet, as `qtlatlas twas weights` writes)")
    src.add_argument("--weights_dir", "--weights-dir", dest="weights_dir", metavar="DIR",
                     help="directory the .pos WGT paths are relative to (default: the .pos's own)")
    src.add_argument("--site", metavar="SITE", help="site directory of a built release")
    src.add_argument("--release", metavar="ID", help="release id: use its TWAS weights (tables/twas_weights.parquet)")
    sel = p.add_argument_group("panels")
    sel.add_argument("--tissue", action="append", metavar="NAME", help="only this tissue's panels (repeatable)")
    sel.add_argument("--modality", action="append", metavar="NAME", help="only this modality's panels (repeatable)")
    sel.add_argument("--panel", action="append", metavar="NAME",
                     help="only this panel (repeatable; a release's panels are TISSUE.MODALITY)")
    p.add_argument("--genotypes", required=True, action="append", metavar="COHORT",
                   help="the cohort: VCF/BCF (bgzipped; GT or DS), PLINK 1 prefix or .bed/.bim/.fam, or PLINK 2 "
                        "prefix; repeat for one file per chromosome (same individuals)")
    p.add_argument("--out", required=True, metavar="DIR", help="output directory")
    p.add_argument("--model", default="best", choices=("best", "top1", "lasso", "enet", "blup"),
                   help="model per phenotype: best = largest CV R² (default), or force one")
    p.add_argument("--scale", default="raw", choices=("raw", "standardised"),
                   help="raw (default): Σ w·dosage of the effect allele, as plink2 --score cols=scoresums; "
                        "standardised: Σ w·(dosage − mean)/sd over the cohort, the scale FUSION fits weights on")
    p.add_argument("--layout", default="individuals", choices=("individuals", "bed"),
                   help="individuals (default): a line per individual, a column per phenotype; bed: a line per "
                        "phenotype (#chr start end phenotype_id, then one column per individual)")
    p.add_argument("--match-by", "--match_by", dest="match_by", default="id", choices=("id", "position"),
                   help="match SNPs by id (default) or by chromosome, position and alleles")
    p.add_argument("--keep-ambiguous", action="store_true",
                   help="keep strand-ambiguous SNPs (A/T, C/G), matching alleles as written (FUSION drops them)")
    p.add_argument("--block", type=int, default=256, metavar="N",
                   help="cohort variants decoded at a time; memory ≈ N × individuals × 8 bytes (default 256)")
    p.set_defaults(func=cmd_predict)


def _sources(args: argparse.Namespace):
    from ..twas.predict_sources import file_panels, release_panels

    if args.weights and (args.site or args.release):
        raise ConfigError("--weights", "give either --weights or --site with --release, not both")
    if args.weights:
        if args.tissue or args.modality:
            raise ConfigError("--tissue", "--tissue and --modality select the panels of a release; with --weights "
                                          "use --panel")
        return args.weights, file_panels(args.weights, args.weights_dir, args.panel)
    if not (args.site and args.release):
        raise ConfigError("--weights", "give the weights: --weights PATH, or --site SITE with --release ID")
    return (f"release {args.release}",
            release_panels(args.site, args.release, tissues=args.tissue, modalities=args.modality, panels=args.panel))


def cmd_predict(args: argparse.Namespace) -> int:
    import numpy as np
    from threadpoolctl import threadpool_limits

    from ..io.genotype_set import open_genotype_files
    from ..twas.predict import PredictOptions, predict_panel, write_prediction
    from ..twas.predict_match import CohortIndex, match_cohort
    from ..twas.predict_sources import check_samples

    t0 = time.perf_counter()
    options = PredictOptions(scale=args.scale, block=args.block, match_by=args.match_by,
                             force_model=None if args.model == "best" else args.model,
                             keep_ambiguous=args.keep_ambiguous)
    label, panels = _sources(args)
    reader = open_genotype_files(args.genotypes)
    check_samples(reader.samples, reader.path)
    with console.status("Reading the cohort's variants…"):
        cohort = CohortIndex(reader.variants, options.match_by, reader.path)
    console.print(f"cohort {reader.path}: {len(reader.samples):,} individuals, {cohort.n_variants:,} variants")
    unindexed = [r.path for r in getattr(reader, "readers", [reader]) if getattr(r, "indexed", True) is False]
    if unindexed:
        err_console.print(f"warning: {', '.join(unindexed)} not indexed: every block of variants is found by reading "
                          "the file from its start; bgzip and index it (tabix -p vcf, bcftools index) for speed")
    written = 0
    with threadpool_limits(limits=1), ProgressBars() as progress:
        for panel, models in panels:
            scores = match_cohort(panel, models, cohort, force_model=options.force_model,
                                  keep_ambiguous=options.keep_ambiguous, weights_source=label)
            s = scores.summary
            advance = progress(f"{panel}", int(np.unique(scores.rows).size))
            pred = predict_panel(reader, cohort, scores, options, scratch_dir=args.out if _mkdir(args.out) else None,
                                 advance=advance)
            try:
                path, spath = write_prediction(pred, args.out, args.layout)
            finally:
                pred.close()
            n_pred = int(s["predicted"].sum())
            used, total = int(s["n_used"].sum()), int(s["n_weights"].sum())
            console.print(f"{panel}: {n_pred:,} of {len(s):,} phenotypes predicted from {used:,} of {total:,} "
                          f"weighted SNPs ({int(s['n_flipped'].sum()):,} flipped, {int(s['n_ambiguous'].sum()):,} "
                          f"strand-ambiguous and {int(s['n_mismatch'].sum()):,} allele-mismatched left out, "
                          f"{int(s['n_absent'].sum()):,} not in the cohort) → {path}")
            if int(s["n_ambiguous"].sum()) and not options.keep_ambiguous:
                err_console.print(f"{panel}: strand-ambiguous SNPs (A/T, C/G) are left out as FUSION leaves them out; "
                                  "--keep-ambiguous keeps them when the cohort's alleles are on the weights' strand "
                                  "(the atlas's own genotypes, or a cohort called against the same reference)")
            if n_pred < len(s):
                reasons = s.loc[~s["predicted"], "skip_reason"].value_counts()
                err_console.print(f"{panel}: not predicted: " + "; ".join(f"{k} ({v})" for k, v in reasons.items()))
            written += 1
    console.print(f"{written} panel(s) written to {args.out} in {time.perf_counter() - t0:.1f} s")
    return 0


def _mkdir(path: str) -> bool:
    from pathlib import Path

    Path(path).mkdir(parents=True, exist_ok=True)
    return True
