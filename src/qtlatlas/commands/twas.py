"""``qtlatlas twas weights|assoc|post|predict|export-predictdb``: the TWAS commands (FUSION-compatible arguments)."""

from __future__ import annotations

import argparse

from .twas_assoc import add_assoc_command, add_post_command
from .twas_predict import add_predict_command
from .twas_predictdb import add_predictdb_command
from .twas_weights import add_weights_command


def _add_twas(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "twas",
        help="TWAS: fit expression weights, test them against GWAS summary statistics, post-process loci",
        description="Transcriptome-wide association: `weights` fits cis models per phenotype (FUSION "
        "compute_weights), `assoc` tests them against GWAS summary statistics (FUSION assoc_test, same "
        "arguments), `post` groups hits into loci with joint/conditional tests (FUSION post_process), `predict` applies the weights "
        "to any genotyped cohort (genetically predicted phenotypes), `export-predictdb` writes a release's weights as "
        "PredictDB databases for S-PrediXcan / MetaXcan.",
    )
    twas_sub = p.add_subparsers(dest="twas_command", metavar="STEP", required=True)
    add_weights_command(twas_sub)
    add_assoc_command(twas_sub)
    add_post_command(twas_sub)
    add_predict_command(twas_sub)
    add_predictdb_command(twas_sub)
