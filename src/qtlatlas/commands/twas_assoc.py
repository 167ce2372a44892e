"""``qtlatlas twas assoc`` (FUSION ``assoc_test``) and ``qtlatlas twas post`` (FUSION ``post_process``).

Both accept FUSION's arguments (same names, same defaults) and write FUSION's files; see
docs/twas-association.md.
"""

from __future__ import annotations

import argparse
import math
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ConfigError, InputFileError
from .console import console, err_console

if TYPE_CHECKING:  # numpy and pandas are imported when a command runs, not when the CLI starts
    import pandas as pd

# ----------------------------------------------------------------------------------------------------------
# twas assoc
# ----------------------------------------------------------------------------------------------------------


def add_assoc_command(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "assoc",
        help="test expression weights against GWAS summary statistics (FUSION assoc_test arguments and .dat)",
        description="TWAS association (FUSION assoc_test): for every model of --weights on --chr, align the GWAS "
        "z-scores (--sumstats: SNP A1 A2 Z) and the weights to the LD reference (--ref_ld_chr prefix + chr, PLINK "
        "1), impute missing z-scores from LD, and write FUSION's .dat (TWAS.Z = wᵀz/√(wᵀRw)) to --out. --weights "
        "is a FUSION .pos file (weight files relative to --weights_dir) or a directory holding our Parquet panel "
        "(twas_weights.parquet + twas_profile.parquet).",
    )
    p.add_argument("--sumstats", required=True, help="GWAS summary statistics: SNP A1 A2 Z (A1 = effect allele)")
    p.add_argument("--weights", required=True,
                   help="FUSION .pos file (PANEL? WGT ID CHR P0 P1 N?) or a Parquet panel directory")
    p.add_argument("--weights_dir", help="directory the .pos WGT paths are relative to (default: the .pos's own)")
    p.add_argument("--ref_ld_chr", required=True, help="LD reference PLINK 1 prefix; the chromosome is appended")
    p.add_argument("--chr", help="chromosome to analyse (default: every chromosome of --weights)")
    p.add_argument("--out", required=True, help="output .dat path (MHC rows go to OUT.MHC)")
    p.add_argument("--force_model", help="test this model (top1, lasso, enet, blup) instead of the best by CV p-value")
    p.add_argument("--max_impute", type=float, default=0.5,
                   help="skip a model when more than this fraction of its SNPs lack a GWAS z-score (default 0.5)")
    p.add_argument("--min_r2pred", type=float, default=0.7,
                   help="skip a model when the mean imputation r² at its weight SNPs is lower (default 0.7)")
    p.add_argument("--perm", type=int, default=0, help="maximum permutations per model (default 0: off)")
    p.add_argument("--perm_minp", type=float, default=0.05,
                   help="permute only models with TWAS p below this (default 0.05)")
    p.add_argument("--coloc_P", type=float, help="run coloc (ABF) for models with TWAS p below this (needs --GWASN)")
    p.add_argument("--GWASN", type=int, help="GWAS sample size (for coloc)")
    p.add_argument("--match_by", choices=("id", "position"), default="id",
                   help="match SNPs by id (default) or by chromosome:position (needs CHR BP in --sumstats)")
    p.add_argument("--seed", type=int, help="random seed of the permutations")
    p.set_defaults(func=cmd_assoc)


def _check_assoc_args(args: argparse.Namespace) -> None:
    if not 0 <= args.max_impute <= 1:
        raise ConfigError("--max_impute", f"must be in [0, 1], not {args.max_impute}")
    if not 0 <= args.min_r2pred <= 1:
        raise ConfigError("--min_r2pred", f"must be in [0, 1], not {args.min_r2pred}")
    if args.perm < 0:
        raise ConfigError("--perm", "must be ≥ 0")
    if not 0 < args.perm_minp <= 1:
        raise ConfigError("--perm_minp", "must be in (0, 1]")
    if args.coloc_P is not None:
        if not 0 < args.coloc_P <= 1:
            raise ConfigError("--coloc_P", "must be in (0, 1]")
        if args.GWASN is None or args.GWASN < 1:
            raise ConfigError("--GWASN", "--coloc_P needs --GWASN, the GWAS sample size (a positive integer)")


def load_models(weights: str, weights_dir: str | None, chrom: str | None) -> list:
    """Models of a FUSION ``.pos`` or a Parquet panel directory, on ``chrom`` when given."""
    from ..twas.fusion_io import (
        PROFILE_FILE,
        WEIGHTS_FILE,
        is_parquet_panel,
        read_fusion_panel,
        read_parquet_panel,
    )

    if is_parquet_panel(weights):
        return read_parquet_panel(weights, chrom=chrom)
    if os.path.isdir(weights):
        raise InputFileError(weights, f"is a directory without {WEIGHTS_FILE} and {PROFILE_FILE}; give a FUSION "
                                      ".pos file or a Parquet panel directory")
    return read_fusion_panel(weights, weights_dir, chrom=chrom)


def cmd_assoc(args: argparse.Namespace) -> int:
    import pandas as pd

    from ..io.chromosomes import chrom_key, chrom_sort_key
    from ..io.sumstats import read_sumstats
    from ..twas.align import matched_gwas
    from ..twas.assoc import AssocOptions, associate
    from ..twas.fusion_io import write_dat
    from ..twas.ld import LdReference, ld_prefix

    _check_assoc_args(args)
    t0 = time.perf_counter()
    options = AssocOptions(force_model=args.force_model, max_impute=args.max_impute, min_r2pred=args.min_r2pred,
                           perm=args.perm, perm_minp=args.perm_minp, coloc_p=args.coloc_P, gwas_n=args.GWASN,
                           seed=args.seed)
    with console.status("Reading weights…"):
        models = load_models(args.weights, args.weights_dir, args.chr)
    if not models:
        where = f" on chromosome {args.chr}" if args.chr else ""
        raise InputFileError(args.weights, f"lists no models{where}")
    sumstats = read_sumstats(args.sumstats)
    by_chrom: dict[str, list[int]] = {}
    for i, m in enumerate(models):
        by_chrom.setdefault(chrom_key(m.chrom), []).append(i)
    tables, skipped, n_imputed = [None] * len(models), [], 0
    for key in sorted(by_chrom, key=chrom_sort_key):
        idx = by_chrom[key]
        chrom = args.chr if args.chr else models[idx[0]].chrom
        with console.status(f"chr{key}: reading the LD reference…"):
            ld = LdReference.from_plink(ld_prefix(args.ref_ld_chr, chrom))
        gwas = matched_gwas(sumstats, ld, args.match_by, args.sumstats)
        result = associate([models[i] for i in idx], gwas, ld, options)
        for j, row in enumerate(result.table.to_dict("records")):
            tables[idx[j]] = row
        skipped += [(idx[j], why) for j, why in result.skipped]
        n_imputed += result.n_imputed
        console.print(f"chr{key}: {len(idx)} models; GWAS: {gwas.n_matched:,} of {ld.n_snps:,} reference SNPs "
                      f"matched ({gwas.n_flipped:,} flipped, {gwas.n_ambiguous:,} strand-ambiguous dropped"
                      + (f", {gwas.n_mismatch:,} with mismatched alleles kept as is" if gwas.n_mismatch else "")
                      + f"); LD blocks computed {ld.blocks_computed}"
                      + (f"; {result.n_weight_mismatch:,} weight SNPs with alleles matching the reference in no way, "
                         "kept as is" if result.n_weight_mismatch else ""))
    table = pd.DataFrame(tables, columns=list(result.table.columns))
    for col in ("NSNP", "NWGT", "PERM.N"):
        if col in table:
            table[col] = table[col].astype("Int64")
    mhc = (table["CHR"].astype(str).map(chrom_key) == "6") & (table["P0"] > 26e6) & (table["P1"] < 34e6)
    out = Path(args.out)
    write_dat(table[~mhc], out)
    if mhc.any():
        write_dat(table[mhc], f"{out}.MHC")
        console.print(f"{int(mhc.sum())} MHC results written to {out}.MHC (evaluate with caution: complex LD)")
    for i, why in sorted(skipped)[:20]:
        m = models[i]
        err_console.print(f"[yellow]skipped:[/] {m.panel or ''} {m.phenotype_id} {why}".replace("  ", " "))
    if len(skipped) > 20:
        err_console.print(f"[yellow]… and {len(skipped) - 20} more skipped models[/]")
    console.print(f"{len(models) - len(skipped)} of {len(models)} models tested ({len(skipped)} skipped, "
                  f"{n_imputed} with imputed GWAS z-scores) in {time.perf_counter() - t0:.1f} s; wrote {out}")
    return 0


# ----------------------------------------------------------------------------------------------------------
# twas post
# ----------------------------------------------------------------------------------------------------------


def add_post_command(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "post",
        help="group TWAS hits into loci with joint/conditional tests (FUSION post_process arguments and files)",
        description="Post-processing of a TWAS .dat (FUSION post_process): chromosome-wide forward stepwise "
        "joint/conditional selection (OUT.joint_included.dat, OUT.joint_dropped.dat), loci from the weight SNPs "
        "padded by --locus_win and merged, per-locus selection and conditional GWAS (OUT.report with --report, "
        "OUT.loc_N.cond with --save_loci, OUT.loc_N.genes and OUT.loc_N.cond.csv with --report), and with "
        "--omnibus an omnibus test across the models of each gene (OUT.omnibus.pv). The conditional analysis is "
        "guarded by default (SNPs and models explained by the joint models get no conditional statistic, collinear "
        "joint models are regularised, the LD reference's sampling error enters the variance, conditioning may "
        "not raise a χ² by more than --max_cz_increase², top1 models predict from their top SNP; OUT.loc_N.cond "
        "and OUT.joint_dropped.dat get COND.R2 / COND.STATUS columns); --fusion runs FUSION's analysis exactly.",
    )
    p.add_argument("--input", required=True, help="TWAS association output (.dat)")
    p.add_argument("--sumstats", required=True, help="GWAS summary statistics: SNP A1 A2 Z")
    p.add_argument("--ref_ld_chr", required=True, help="LD reference PLINK 1 prefix; the chromosome is appended")
    p.add_argument("--chr", required=True, help="chromosome to analyse")
    p.add_argument("--out", required=True, help="output prefix")
    p.add_argument("--weights_dir", help="where to look for the weight files of the .dat FILE column when they are "
                                         "not found as written")
    p.add_argument("--minp_input", type=float, default=1.0, help="analyse models with TWAS p below this (default 1)")
    p.add_argument("--zthresh", type=float,
                   help="|Z| threshold for the joint model (default: Bonferroni 0.05 over all models tested)")
    p.add_argument("--n_tests", type=int, help="Bonferroni denominator (default: models with a TWAS p in --input)")
    p.add_argument("--locus_win", type=int, default=100_000,
                   help="padding of each run of weight SNPs, bp (default 100000: runs < 200 kb apart merge)")
    p.add_argument("--max_r2", type=float, default=0.9,
                   help="models with r² above this are considered identical (default 0.9)")
    p.add_argument("--min_r2", type=float, default=0.05,
                   help="models with r² below this are considered independent (default 0.05)")
    p.add_argument("--max_cz_increase", type=float, default=1.96,
                   help="drop models whose conditional Z² exceeds the marginal Z² by more than this squared "
                        "(default 1.96); guarded: SNPs and models left out raised that much are 'unstable'")
    p.add_argument("--ridge", type=float, default=0.0,
                   help="ridge term added to the diagonal of the model correlations in joint fits (default 0)")
    p.add_argument("--fusion", action="store_true",
                   help="FUSION's conditional analysis, unguarded, with top1 models predicted from their whole "
                        "column (reproduces FUSION's files)")
    p.add_argument("--max_explained", type=float, default=0.8,
                   help="guard: SNPs and models whose variance the joint models explain above this get no "
                        "conditional statistic (default 0.8)")
    p.add_argument("--significant_only", action="store_true",
                   help="analyse only the models above the threshold (FUSION's documented workflow filters the "
                        ".dat to them): their weight SNPs alone define the loci")
    p.add_argument("--locus_stability", action="store_true",
                   help="apply the --max_cz_increase check inside each locus too (FUSION: chromosome-wide only)")
    p.add_argument("--top1_single", action="store_true",
                   help="with --fusion: predict top1 models from their top SNP only, as the association test does "
                        "(the guarded default does)")
    p.add_argument("--report", action="store_true", help="write OUT.report, OUT.loc_N.genes, OUT.loc_N.cond.csv")
    p.add_argument("--save_loci", action="store_true", help="write the conditional GWAS of each locus (OUT.loc_N.cond)")
    p.add_argument("--omnibus", action="store_true",
                   help="also run the omnibus test across the models of each gene (OUT.omnibus.pv)")
    p.add_argument("--match_by", choices=("id", "position"), default="id", help="match SNPs by id or chr:position")
    p.set_defaults(func=cmd_post)


def _check_post_args(args: argparse.Namespace) -> None:
    for name in ("max_r2", "min_r2"):
        value = getattr(args, name)
        if not 0 <= value <= 1:
            raise ConfigError(f"--{name}", f"must be in [0, 1], not {value}")
    if args.min_r2 > args.max_r2:
        raise ConfigError("--min_r2", "must not exceed --max_r2")
    if args.locus_win < 0:
        raise ConfigError("--locus_win", "must be ≥ 0")
    if args.ridge < 0:
        raise ConfigError("--ridge", "must be ≥ 0")
    if not 0 < args.max_explained <= 1:
        raise ConfigError("--max_explained", f"must be in (0, 1], not {args.max_explained}")
    if args.zthresh is not None and args.zthresh <= 0:
        raise ConfigError("--zthresh", "must be positive")
    if args.n_tests is not None and args.n_tests < 1:
        raise ConfigError("--n_tests", "must be a positive integer")
    if not 0 < args.minp_input <= 1:
        raise ConfigError("--minp_input", "must be in (0, 1]")


def cmd_post(args: argparse.Namespace) -> int:
    from ..io.sumstats import read_sumstats
    from ..twas.align import matched_gwas
    from ..twas.conditional import Guard
    from ..twas.fusion_io import models_for_dat, read_dat
    from ..twas.ld import LdReference, ld_prefix
    from ..twas.loci import select_rows
    from ..twas.postprocess import PostOptions, post_process

    _check_post_args(args)
    t0 = time.perf_counter()
    common = {"minp_input": args.minp_input, "zthresh": args.zthresh, "n_tests": args.n_tests,
              "locus_win": args.locus_win, "max_r2": args.max_r2, "min_r2": args.min_r2,
              "max_cz_increase": args.max_cz_increase, "locus_stability": args.locus_stability,
              "significant_only": args.significant_only}
    if args.fusion:
        options = PostOptions.fusion(**common, ridge=args.ridge, top1_single=args.top1_single)
    else:
        options = PostOptions(**common, guard=Guard(max_explained=args.max_explained, ridge=args.ridge,
                                                    max_increase=args.max_cz_increase))
    text, numbers = read_dat(args.input)
    rows, _, _ = select_rows(numbers, args.chr, 1.0 if args.omnibus else args.minp_input)
    loaded = models_for_dat(text.iloc[rows], args.weights_dir, args.input)
    models: list = [None] * len(text)
    for i, m in zip(rows, loaded, strict=True):
        models[i] = m
    ld = LdReference.from_plink(ld_prefix(args.ref_ld_chr, args.chr))
    gwas = matched_gwas(read_sumstats(args.sumstats), ld, args.match_by, args.sumstats)
    result = post_process(numbers, models, gwas, ld, options, chrom=args.chr)
    out = args.out
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    console.print(f"{len(result.rows)} models analysed (of {result.n_tests} tested in {args.input}; "
                  f"{result.n_na} with NA TWAS.P set aside); a model must have |Z| > {result.zthresh:.3g}")
    written = write_post_outputs(result, text, out, args.chr, report=args.report, save_loci=args.save_loci,
                                 guarded=options.guard.active)
    console.print(f"{result.n_runs} strictly non-overlapping loci, consolidated to {result.n_loci} with "
                  f"{args.locus_win} bp buffer; {len(result.loci)} with a model above the threshold")
    if args.omnibus:
        from ..twas.omnibus import omnibus_by_gene

        omni = omnibus_by_gene(numbers, models, gwas, ld, args.max_r2)
        written.append(_write_table(omni, f"{out}.omnibus.pv"))
        console.print(f"omnibus test for {len(omni)} gene(s) with several models")
    console.print(f"wrote {len(written)} file(s) in {time.perf_counter() - t0:.1f} s: "
                  + ", ".join(str(w) for w in written[:6]) + (" …" if len(written) > 6 else ""))
    return 0


def _cell(x) -> str:
    import numpy as np
    import pandas as pd

    if x is None or x is pd.NA:
        return "NA"
    if isinstance(x, bool | np.bool_):
        return "TRUE" if x else "FALSE"
    if isinstance(x, float | np.floating):
        return "NA" if math.isnan(x) else repr(float(x))
    return str(x)


def _write_table(table: pd.DataFrame, path: str, sep: str = "\t") -> str:
    lines = [sep.join(table.columns)]
    lines += [sep.join(_cell(v) for v in row) for row in table.itertuples(index=False, name=None)]
    Path(path).write_text("\n".join(lines) + "\n")
    return path


def write_post_outputs(result, text: pd.DataFrame, out: str, chrom: str, report: bool, save_loci: bool,
                       guarded: bool = True) -> list[str]:
    """Write FUSION's post-processing files for ``result`` (``guarded``: with the guard's COND.R2 / COND.STATUS
    columns in the ``.cond`` files); returns the paths written."""
    import numpy as np
    import pandas as pd

    from ..twas.postprocess import REPORT_COLUMNS

    written = []
    if result.joint_included is not None:
        written.append(_write_table(result.joint_included, f"{out}.joint_included.dat"))
        written.append(_write_table(result.joint_dropped, f"{out}.joint_dropped.dat"))
    report_rows = []
    sub = text.iloc[result.rows].reset_index(drop=True)
    for locus in result.loci:
        prefix = f"{out}.loc_{locus.number}"
        if save_loci:
            columns = list(locus.snps.columns) if guarded else list(locus.snps.columns[:6])
            written.append(_write_table(locus.snps[columns], f"{prefix}.cond"))
        if report:
            csv = pd.DataFrame({"SNP": locus.snps["SNP"], "POS": locus.snps["POS"],
                                "GWAS.LOGP": -np.log10(locus.snps["GWAS.P"].to_numpy(dtype=float)),
                                "GWAS_cond.LOGP": -np.log10(locus.snps["GWAS_cond.P"].to_numpy(dtype=float))})
            written.append(_write_table(csv, f"{prefix}.cond.csv", sep=","))
            genes = sub.iloc[locus.models].reset_index(drop=True).copy()
            genes["JOINT"] = ["TRUE" if j else "FALSE" for j in locus.joint]
            genes["TOP.SNP.COR"] = [_cell(float(np.round(c, 2))) for c in locus.top_snp_cor]
            written.append(_write_table(genes, f"{prefix}.genes"))
            report_rows.append({"FILE": prefix, **{c: locus.report[c] for c in REPORT_COLUMNS[1:]}, "CHR": chrom})
    if report:
        written.insert(0, _write_table(pd.DataFrame(report_rows, columns=list(REPORT_COLUMNS)), f"{out}.report"))
    return written
