"""A release's gene annotation, from a GTF or from gene and exon tables (RatGTEx layout)."""

from __future__ import annotations

import os

import pandas as pd

from .gtf import Annotation, read_gtf
from .ratgtex import read_exon_table, read_gene_table


def read_annotation(spec) -> Annotation:
    """Read ``spec``: a GTF path, or an object with ``genes`` and ``exons`` paths
    (:class:`qtlatlas.config.GeneTables`; ``exons`` may be None). Gene tables also give the per-tissue flags
    they publish (:attr:`Annotation.gene_flags`).

    Raises:
        InputFileError: a missing or malformed file (naming the file and line).
    """
    if isinstance(spec, (str, os.PathLike)):
        return read_gtf(spec)
    table = read_gene_table(spec.genes)
    if spec.exons is not None:
        transcripts, exons = read_exon_table(spec.exons)
    else:
        transcripts = pd.DataFrame({c: pd.Series(dtype=object) for c in (
            "transcript_id", "gene_id", "transcript_name", "transcript_type", "chrom", "start", "end", "strand")})
        exons = pd.DataFrame({c: pd.Series(dtype=object) for c in (
            "gene_id", "transcript_id", "exon_number", "chrom", "start", "end", "strand", "exon_id", "feature_type")})
    flags = table.flags if len(table.flags) else None
    if flags is not None and table.has_eqtl is not None:
        flags = flags.assign(any_signif=flags["gene_id"].map(table.has_eqtl).fillna(False).astype(bool))
    return Annotation(genes=table.genes, transcripts=transcripts, exons=exons, gene_flags=flags)


def annotation_files(spec) -> list[str]:
    """The files of an annotation ``spec`` (see :func:`read_annotation`)."""
    if isinstance(spec, (str, os.PathLike)):
        return [os.fspath(spec)]
    return [os.fspath(p) for p in (spec.genes, spec.exons) if p is not None]
