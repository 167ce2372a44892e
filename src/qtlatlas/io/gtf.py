"""Gene annotation from GTF (GENCODE, Ensembl, RefSeq-style attributes; plain or gzipped).

Genes are taken from ``gene`` features when present, otherwise from the span of their exons. The TSS
is the 1-based start of a ``+`` strand gene and the end of a ``-`` strand gene.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import InputFileError, require_file

_GTF_COLUMNS = ["chrom", "source", "feature", "start", "end", "score", "strand", "frame", "attributes"]


@dataclass
class Annotation:
    """Genes, transcripts and exons of a GTF.

    Attributes:
        genes: ``gene_id, gene_name, gene_type, chrom, start, end, strand, tss, description`` (1-based,
            inclusive; ``description`` from the ``description`` attribute of RefSeq/NCBI GTFs, else empty).
        transcripts: ``transcript_id, gene_id, transcript_name, transcript_type, chrom, start, end, strand``.
        exons: ``gene_id, transcript_id, exon_number, chrom, start, end, strand`` (gene tables add ``exon_id``,
            ``feature_type``).
        gene_flags: per gene and tissue, flags published with an imported annotation (``gene_id, tissue,
            expressed, tested, has_qtl``; :mod:`qtlatlas.io.ratgtex`), else None.
    """

    genes: pd.DataFrame
    transcripts: pd.DataFrame
    exons: pd.DataFrame
    gene_flags: pd.DataFrame | None = None


def _attribute(attrs: pd.Series, key: str) -> pd.Series:
    return attrs.str.extract(rf'(?:^|;)\s*{key}\s+"?([^";]*)"?', expand=False)


def read_gtf(path: str | os.PathLike[str]) -> Annotation:
    """Read a GTF into an :class:`Annotation`.

    Raises:
        InputFileError: missing file, rows without 9 tab-separated columns, non-integer coordinates,
            bad strand, or no gene/exon features.
    """
    path = os.fspath(path)
    require_file(path, "annotation GTF")
    try:
        df = pd.read_csv(
            path, sep="\t", header=None, comment="#", names=_GTF_COLUMNS, dtype=str, compression="infer",
            usecols=range(9), quoting=3,
        )
    except pd.errors.ParserError as e:
        raise InputFileError(path, f"malformed GTF: {str(e).split('C error: ')[-1]}") from None
    except pd.errors.EmptyDataError:
        raise InputFileError(path, "GTF has no features") from None
    except (OSError, EOFError, UnicodeDecodeError) as e:
        raise InputFileError(path, f"cannot read file ({e})") from None
    if df["attributes"].isna().any():
        i = int(df["attributes"].isna().to_numpy().argmax())
        raise InputFileError(path, f"GTF feature #{i + 1} does not have 9 tab-separated columns")
    for col in ("start", "end"):
        num = pd.to_numeric(df[col], errors="coerce")
        if num.isna().any():
            i = int(num.isna().to_numpy().argmax())
            raise InputFileError(path, f"GTF feature #{i + 1}: {col} {df[col].iat[i]!r} is not an integer")
        df[col] = num.astype(np.int64)
    bad_strand = ~df["strand"].isin(["+", "-", "."])
    if bad_strand.any():
        i = int(bad_strand.to_numpy().argmax())
        raise InputFileError(path, f"GTF feature #{i + 1}: strand {df['strand'].iat[i]!r} is not +, - or .")
    df = df[df["feature"].isin(["gene", "transcript", "exon"])].reset_index(drop=True)
    if df.empty:
        raise InputFileError(path, "GTF has no gene, transcript or exon features")
    attrs = df["attributes"]
    df["gene_id"] = _attribute(attrs, "gene_id")
    df["transcript_id"] = _attribute(attrs, "transcript_id")
    df["gene_name"] = _attribute(attrs, "gene_name").fillna(_attribute(attrs, "gene"))
    df["gene_type"] = _attribute(attrs, "gene_type").fillna(_attribute(attrs, "gene_biotype"))
    df["description"] = _attribute(attrs, "description")
    if df["gene_id"].isna().any():
        i = int(df["gene_id"].isna().to_numpy().argmax())
        raise InputFileError(path, f"GTF feature #{i + 1} ({df['feature'].iat[i]}) has no gene_id attribute")
    exons = _exons(df)
    return Annotation(genes=_genes(df, exons), transcripts=_transcripts(df), exons=exons)


def _genes(df: pd.DataFrame, exons: pd.DataFrame) -> pd.DataFrame:
    genes = df[df["feature"] == "gene"]
    if genes.empty:  # derive from exons
        source = df[df["feature"] == "exon"]
        genes = source.groupby("gene_id", sort=False).agg(
            chrom=("chrom", "first"), start=("start", "min"), end=("end", "max"), strand=("strand", "first"),
            gene_name=("gene_name", "first"), gene_type=("gene_type", "first"), description=("description", "first"),
        ).reset_index()
    else:
        genes = genes[["gene_id", "gene_name", "gene_type", "chrom", "start", "end", "strand",
                       "description"]].drop_duplicates("gene_id")
    genes = genes.reset_index(drop=True)
    genes["gene_name"] = genes["gene_name"].fillna(genes["gene_id"])
    genes["gene_type"] = genes["gene_type"].fillna("")
    genes["description"] = genes["description"].fillna("")
    genes["tss"] = np.where(genes["strand"] == "-", genes["end"], genes["start"]).astype(np.int64)
    return genes[["gene_id", "gene_name", "gene_type", "chrom", "start", "end", "strand", "tss", "description"]]


def _transcripts(df: pd.DataFrame) -> pd.DataFrame:
    """Transcript features, plus transcripts known only from their exons (spans derived)."""
    tx = df[df["feature"] == "transcript"]
    ex = df[(df["feature"] == "exon") & df["transcript_id"].notna() & ~df["transcript_id"].isin(tx["transcript_id"])]
    derived = ex.groupby("transcript_id", sort=False).agg(
        gene_id=("gene_id", "first"), chrom=("chrom", "first"), start=("start", "min"), end=("end", "max"),
        strand=("strand", "first"), attributes=("attributes", "first"),
    ).reset_index()
    tx = pd.concat([tx, derived], ignore_index=True)
    tx["transcript_name"] = _attribute(tx["attributes"], "transcript_name").fillna(tx["transcript_id"])
    tx["transcript_type"] = _attribute(tx["attributes"], "transcript_type").fillna(
        _attribute(tx["attributes"], "transcript_biotype")).fillna("")
    cols = ["transcript_id", "gene_id", "transcript_name", "transcript_type", "chrom", "start", "end", "strand"]
    return tx[cols].reset_index(drop=True)


def _exons(df: pd.DataFrame) -> pd.DataFrame:
    ex = df[df["feature"] == "exon"].copy()
    ex["exon_number"] = pd.to_numeric(_attribute(ex["attributes"], "exon_number"), errors="coerce")
    if ex["exon_number"].isna().any():  # number exons in transcription order
        ex = ex.sort_values(["transcript_id", "start"])
        rank = ex.groupby("transcript_id", sort=False).cumcount() + 1
        size = ex.groupby("transcript_id", sort=False)["start"].transform("size")
        ex["exon_number"] = np.where(ex["strand"] == "-", size - rank + 1, rank)
    ex["exon_number"] = ex["exon_number"].astype(np.int64)
    ex["exon_id"] = _attribute(ex["attributes"], "exon_id")
    ex["feature_type"] = "exon"
    cols = ["gene_id", "transcript_id", "exon_number", "chrom", "start", "end", "strand", "exon_id", "feature_type"]
    return ex[cols].sort_values(["chrom", "start", "end"], kind="stable").reset_index(drop=True)
