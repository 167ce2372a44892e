"""``qtlatlas import``: write an atlas.yaml that names a lab's published results in place."""

from __future__ import annotations

import argparse
from pathlib import Path

from .console import console


def _add_import(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "import",
        help="write an atlas.yaml naming an atlas's published files in place (RatGTEx or GTEx layout)",
        description="Write an atlas.yaml that names the files of an atlas already published in the RatGTEx "
        "portal's or GTEx's layout, where they are (nothing is copied or converted): `qtlatlas validate` and "
        "`qtlatlas build` then take it as it is. See docs/import.md for the file-by-file mapping.",
    )
    layouts = p.add_subparsers(dest="layout", metavar="LAYOUT", required=True)

    r = layouts.add_parser("ratgtex", help="a RatGTEx release directory (tissue_info, gene, eqtl/, xqtl/, …)",
                           description="Import a release directory in the RatGTEx portal's layout (e.g. .../v4): "
                           "tissues, gene and exon tables, genotypes, expression, multi-tissue top and "
                           "independent eQTL/xQTL tables, per-gene significant-pair and cis p-value archives.")
    r.add_argument("directory", type=Path, help="the release directory (holding tissue_info.{release}.tsv)")
    r.add_argument("--release", required=True, help="release id to give it in atlas.yaml")
    r.add_argument("--out", type=Path, required=True, help="atlas.yaml to write")
    r.add_argument("--name", help="atlas name (default: 'RatGTEx {release}')")
    r.add_argument("--force", action="store_true", help="overwrite --out when it exists")
    r.set_defaults(func=cmd_import_ratgtex)

    g = layouts.add_parser("gtex", help="per-tissue GTEx files ({tissue}.v8.egenes.txt.gz, …)",
                           description="Import per-tissue results in GTEx's layout: {tissue}.{v}.egenes.txt.gz "
                           "(top association per gene with q-values), {tissue}.{v}.signif_variant_gene_pairs.txt.gz, "
                           "{tissue}.{v}.independent_eqtls.txt.gz, {tissue}.allpairs.txt.gz (nominal pass), "
                           "{tissue}.{v}.normalized_expression.bed.gz and {tissue}.{v}.covariates.txt, found "
                           "anywhere under DIRECTORY. GTEx does not publish genotypes or its annotation with them: "
                           "name them.")
    g.add_argument("directory", type=Path, help="directory holding the per-tissue files (searched recursively)")
    g.add_argument("--release", required=True, help="release id to give it in atlas.yaml")
    g.add_argument("--out", type=Path, required=True, help="atlas.yaml to write")
    g.add_argument("--genotypes", type=Path, required=True, action="append",
                   help="genotypes (VCF/BCF or PLINK prefix; repeat for one file per chromosome)")
    g.add_argument("--annotation", type=Path, required=True, help="the gene annotation GTF the results used")
    g.add_argument("--genome", default="GRCh38", help="genome build (default GRCh38)")
    g.add_argument("--name", help="atlas name (default: 'GTEx {version}')")
    g.add_argument("--force", action="store_true", help="overwrite --out when it exists")
    g.set_defaults(func=cmd_import_gtex)


def cmd_import_ratgtex(args: argparse.Namespace) -> int:
    from ..importing.ratgtex import import_ratgtex

    path = import_ratgtex(args.directory, args.release, args.out, name=args.name, overwrite=args.force)
    console.print(f"Wrote {path}: check it with `qtlatlas validate {path}`, then "
                  f"`qtlatlas build {path} --release {args.release} --site SITE`.")
    return 0


def cmd_import_gtex(args: argparse.Namespace) -> int:
    from ..importing.gtex import import_gtex

    path = import_gtex(args.directory, args.release, args.out, genotypes=args.genotypes,
                       annotation=args.annotation, genome=args.genome, name=args.name, overwrite=args.force)
    console.print(f"Wrote {path}: check it with `qtlatlas validate {path}`, then "
                  f"`qtlatlas build {path} --release {args.release} --site SITE`.")
    return 0
