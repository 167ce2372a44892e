"""``qtlatlas twas export-predictdb``: a release's TWAS weights as PredictDB model databases (PrediXcan,
S-PrediXcan / MetaXcan)."""

from __future__ import annotations

import argparse
import time

from .console import console, err_console


def add_predictdb_command(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export-predictdb",
        help="export a release's TWAS weights as PredictDB databases (+ covariances) for S-PrediXcan / MetaXcan",
        description="For one weights panel of a release (--tissue with --modality, or --panel) or every panel "
        "(--all), write OUT/{panel}.db (SQLite: the `weights` and `extra` tables of PredictDB) and "
        "OUT/{panel}.txt.gz (the SNP covariance file S-PrediXcan's --covariance reads). Each phenotype's best "
        "model (largest CV R², as `twas predict`) is converted from weights per standardised genotype to "
        "weights per dosage of the effect allele (divided by the SNP's dosage SD in the panel's training "
        "samples, from the release's genotypes). See docs/predictdb.md.",
    )
    p.add_argument("--site", required=True, metavar="SITE", help="site directory of the built release")
    p.add_argument("--release", required=True, metavar="ID", help="release id")
    sel = p.add_argument_group("panel (--tissue with --modality, --panel, or --all)")
    sel.add_argument("--tissue", metavar="NAME", help="the panel's tissue")
    sel.add_argument("--modality", metavar="NAME", help="the panel's modality (expression, splicing, …)")
    sel.add_argument("--panel", metavar="TISSUE.MODALITY", help="the panel by name")
    sel.add_argument("--all", dest="every", action="store_true", help="every TWAS panel of the release")
    p.add_argument("--out", required=True, metavar="DIR", help="output directory")
    p.add_argument("--snp-id", "--snp_id", dest="snp_id", default="rsid", choices=("rsid", "varid"),
                   help="what fills the `rsid` column (the id MetaXcan matches the GWAS on) and names SNPs in the "
                        "covariance file: rsid (default; the rsID where the release has one, else the varID) or "
                        "varid (chr_pos_ref_alt)")
    p.set_defaults(func=cmd_export_predictdb)


def cmd_export_predictdb(args: argparse.Namespace) -> int:
    from ..twas.predictdb import export_release

    t0 = time.perf_counter()
    n = 0
    for done in export_release(args.site, args.release, args.out, tissue=args.tissue, modality=args.modality,
                               panel=args.panel, every=args.every, snp_id=args.snp_id):
        console.print(f"{done.panel}: {done.n_exported:,} of {done.n_phenotypes:,} phenotypes, {done.n_weights:,} "
                      f"weights (SDs over {done.training}) → {done.database}, {done.covariance}")
        if done.skipped:
            err_console.print(f"{done.panel}: not exported: "
                              + "; ".join(f"{k} ({v})" for k, v in sorted(done.skipped.items())))
        n += 1
    console.print(f"{n} panel(s) written to {args.out} in {time.perf_counter() - t0:.1f} s")
    return 0
