"""``qtlatlas coloc abf``: colocalisation (coloc.abf) of a GWAS with every phenotype of a nominal QTL file.

See docs/coloc.md for the inputs, the choices made when the files lack a sample size or an allele frequency,
and the agreement with the eQTL Catalogue's results.
"""

from __future__ import annotations

import argparse
import os
import re
import time

from ..errors import ConfigError, InvalidRegionError
from .console import console, err_console

#: coloc's default priors (:mod:`qtlatlas.engine.coloc`), written here so that the CLI starts without numpy.
DEFAULT_P1, DEFAULT_P2, DEFAULT_P12 = 1e-4, 1e-4, 1e-5
_VARIANT = re.compile(r"^(?:chr)?([0-9A-Za-z]+)[_:](\d+)(?:[_:][A-Za-z*]+[_:/][A-Za-z*]+(?:_b3[78])?)?$")


def _add_coloc(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "coloc",
        help="colocalisation of GWAS signals with QTLs (coloc.abf)",
        description="Colocalisation: `abf` runs coloc.abf between a GWAS and each phenotype of a nominal QTL file.",
    )
    coloc_sub = p.add_subparsers(dest="coloc_command", metavar="METHOD", required=True)
    add_abf_command(coloc_sub)


def add_abf_command(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "abf",
        help="coloc.abf of a GWAS with every phenotype of a nominal QTL file",
        description="coloc.abf (Giambartolomei et al. 2014) between a GWAS (GWAS-VCF, GWAS-SSF, GCTA .mlma or FUSION "
        ".sumstats) and each phenotype of a nominal QTL file (tensorQTL cis_qtl_pairs Parquet/TSV or eQTL "
        "Catalogue TSV). Variants are matched by position and alleles. Trait 1 is the GWAS, trait 2 the QTL; one "
        "row per phenotype with nsnps, hit1, hit2 and PP.H0.abf … PP.H4.abf.",
    )
    p.add_argument("--gwas", required=True, help="GWAS summary statistics (format recognised from the header)")
    p.add_argument("--gwas-format", default="auto", choices=("auto", "vcf", "ssf", "mlma", "fusion"),
                   help="GWAS file format (default: auto)")
    p.add_argument("--gwas-sample", help="GWAS-VCF sample (trait) column, when the VCF holds several")
    p.add_argument("--gwas-type", choices=("quant", "cc"),
                   help="quantitative or case-control GWAS (default: the GWAS-VCF's StudyType, else quant)")
    p.add_argument("--case-fraction", type=float, help="share of cases of a case-control GWAS given as z-scores only")
    p.add_argument("--qtl", required=True, help="nominal QTL statistics: tensorQTL pairs or eQTL Catalogue TSV")
    p.add_argument("--phenotype", action="append", metavar="ID",
                   help="analyse this QTL phenotype only (repeat for several; default: all)")
    p.add_argument("--n-gwas", type=float, help="GWAS sample size (default: the file's N/SS/n, or the VCF header)")
    p.add_argument("--n-qtl", type=float,
                   help="QTL sample size (default: the eQTL Catalogue's an/2, or tensorQTL's ma_count/(2·MAF))")
    p.add_argument("--sdy-gwas", type=float, help="GWAS trait standard deviation (default: estimated as coloc does)")
    p.add_argument("--sdy-qtl", type=float, help="QTL phenotype standard deviation (default: estimated)")
    p.add_argument("--p1", type=float, default=DEFAULT_P1,
                   help=f"prior of a GWAS causal variant (default {DEFAULT_P1:g})")
    p.add_argument("--p2", type=float, default=DEFAULT_P2,
                   help=f"prior of a QTL causal variant (default {DEFAULT_P2:g})")
    p.add_argument("--p12", type=float, default=DEFAULT_P12,
                   help=f"prior of a variant causal for both (default {DEFAULT_P12:g})")
    p.add_argument("--window", type=int,
                   help="analyse the variants within this many bp of --center (default: all of a phenotype's)")
    p.add_argument("--center", metavar="VARIANT",
                   help="window centre, CHROM:POS or CHROM_POS_REF_ALT (default: each phenotype's lead QTL variant)")
    p.add_argument("--match-by", default="auto", choices=("auto", "position", "id"),
                   help="match variants by position and alleles, or by id and alleles (default: position when "
                        "both files have positions)")
    p.add_argument("--out", required=True, help="output TSV")
    p.set_defaults(func=cmd_abf)


def _options(args: argparse.Namespace):
    from ..coloc.abf import AbfOptions
    from ..engine.coloc import check_priors

    problem = check_priors(args.p1, args.p2, args.p12)
    if problem:
        raise ConfigError("--p1/--p2/--p12", problem)
    for name in ("n_gwas", "n_qtl", "sdy_gwas", "sdy_qtl"):
        value = getattr(args, name)
        if value is not None and not value > 0:
            raise ConfigError(f"--{name.replace('_', '-')}", f"must be positive, not {value}")
    if args.case_fraction is not None and not 0 < args.case_fraction < 1:
        raise ConfigError("--case-fraction", f"must be in (0, 1), not {args.case_fraction}")
    if args.window is not None and args.window < 0:
        raise ConfigError("--window", f"must be ≥ 0, not {args.window}")
    if args.center is not None and args.window is None:
        raise ConfigError("--center", "needs --window, the half-width of the region around it")
    return AbfOptions(p1=args.p1, p2=args.p2, p12=args.p12, window=args.window, center=parse_center(args.center),
                      n_gwas=args.n_gwas, n_qtl=args.n_qtl, sdy_gwas=args.sdy_gwas, sdy_qtl=args.sdy_qtl,
                      gwas_type=args.gwas_type, case_fraction=args.case_fraction, match_by=args.match_by)


def parse_center(text: str | None) -> tuple[str, int] | None:
    """``CHROM:POS`` or a variant id ``CHROM_POS_REF_ALT`` as ``(chrom, pos)``; None for None.

    Raises:
        InvalidRegionError: anything else.
    """
    if text is None:
        return None
    m = _VARIANT.match(text.strip())
    if not m or int(m.group(2)) < 1:
        raise InvalidRegionError(f"--center: {text!r} is neither CHROM:POS nor a variant id CHROM_POS_REF_ALT")
    return m.group(1), int(m.group(2))


def cmd_abf(args: argparse.Namespace) -> int:
    from ..coloc.abf import coloc_gwas_qtl, qtl_regions
    from ..io.gwas import read_gwas
    from ..io.qtl_sumstats import read_qtl_sumstats

    t0 = time.perf_counter()
    options = _options(args)
    with console.status("Reading the QTL statistics…"):
        qtl = read_qtl_sumstats(args.qtl, phenotypes=args.phenotype)
    with console.status("Reading the GWAS…"):
        gwas = read_gwas(args.gwas, fmt=args.gwas_format, sample=args.gwas_sample, regions=qtl_regions(qtl, options))
    if missing := sorted(set(args.phenotype or ()) - set(qtl.phenotypes)):
        err_console.print(f"[yellow]not in {args.qtl}:[/] {', '.join(missing)}")
    for what, dropped in (("GWAS", gwas.dropped), ("QTL", qtl.dropped)):
        for reason, count in dropped.items():
            console.print(f"{what}: {count:,} rows dropped ({reason})")
    run = coloc_gwas_qtl(gwas, qtl, options)
    for note in run.notes:
        console.print(note)
    write_results(run.table, args.out)
    done = int(run.table["PP.H4.abf"].notna().sum())
    console.print(f"{done:,} of {len(run.table):,} phenotypes colocalised with {gwas.trait} in "
                  f"{time.perf_counter() - t0:.1f} s; wrote {args.out}")
    return 0


def write_results(table, path: str) -> None:
    """The results as TSV (``NA`` for missing values, numbers to 10 significant digits), written atomically."""
    tmp = f"{path}.part"
    table.to_csv(tmp, sep="\t", index=False, na_rep="NA", float_format="%.10g", lineterminator="\n")
    os.replace(tmp, path)
