"""Files in the RatGTEx portal's own layout, read as they are published (see docs/import.md).

* ``gene.{v}.tsv``: one row per gene — ``geneId, chromosome, start, end, strand[, tss][, description]
  [, hasEqtl]`` and per tissue ``expr_{T}``, ``testedEqtl_{T}``, ``eqtl_{T}`` (``True``/``False``):
  :func:`read_gene_table`;
* ``exon.{v}.tsv``: ``chromosome, end, exonId, exonNumber, featureType, geneId, start, strand,
  transcriptId`` (a collapsed annotation): :func:`read_exon_table`;
* ``tissue_info.{v}.tsv``: ``tissueSiteDetailId, tissueSiteDetail, tissueSite, colorHex, …``:
  :func:`read_tissue_info`;
* ZIP archives of one text member per gene, ``{folder}/{gene}.txt`` (``eqtl/all_gene_esnps.{v}.zip``: the
  significant pairs of every tissue; ``cis_pvals/{T}.{v}.zip``: every cis p-value of a tissue):
  :func:`iter_gene_zip` streams them as tables with a ``gene`` column.

Coordinates are 1-based and inclusive, as in the files. Every error names the file (and the line or the
archive member) at fault.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from ..errors import InputFileError, require_file

#: Columns every gene table must have.
GENE_COLUMNS = ["geneId", "chromosome", "start", "end", "strand"]
#: Columns every exon table must have.
EXON_COLUMNS = ["geneId", "chromosome", "start", "end", "strand"]
#: Columns every tissue-information table must have.
TISSUE_INFO_COLUMNS = ["tissueSiteDetailId"]
_FLAGS = {"expr_": "expressed", "testedEqtl_": "tested", "eqtl_": "has_qtl"}
_TRUE = {"true", "1", "yes", "t"}
_FALSE = {"false", "0", "no", "f", ""}


@dataclass
class GeneTable:
    """A RatGTEx gene table.

    Attributes:
        genes: ``gene_id, gene_name, gene_type, chrom, start, end, strand, tss, description`` (1-based,
            inclusive; ``gene_name`` is the id, RatGTEx's ids being symbols; ``gene_type`` empty).
        flags: long table ``gene_id, tissue, expressed, tested, has_qtl`` (bool) from the ``expr_``,
            ``testedEqtl_`` and ``eqtl_`` columns; a flag without its column is False. Empty when the table
            has none.
        has_eqtl: ``gene_id`` -> bool, the ``hasEqtl`` column (a significant pair in some tissue); None when absent.
    """

    genes: pd.DataFrame
    flags: pd.DataFrame
    has_eqtl: pd.Series | None


def _read_tsv(path: str, what: str, required: list[str]) -> pd.DataFrame:
    require_file(path, what)
    try:
        df = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, compression="infer")
    except pd.errors.EmptyDataError:
        raise InputFileError(path, f"{what} is empty") from None
    except pd.errors.ParserError as e:
        raise InputFileError(path, f"malformed {what}: {str(e).split('C error: ')[-1]}") from None
    except (OSError, EOFError, UnicodeDecodeError) as e:
        raise InputFileError(path, f"cannot read file ({e})") from None
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise InputFileError(path, f"missing column(s) {', '.join(missing)} (found: {', '.join(df.columns[:12])})",
                             line=1)
    return df


def _integers(df: pd.DataFrame, column: str, path: str) -> np.ndarray:
    values = pd.to_numeric(df[column], errors="coerce")
    bad = values.isna() | (values != values.round())
    if bad.any():
        i = int(bad.to_numpy().argmax())
        raise InputFileError(path, f"{column} {df[column].iat[i]!r} is not an integer", line=i + 2)
    return values.astype(np.int64).to_numpy()


def _strands(df: pd.DataFrame, path: str) -> np.ndarray:
    bad = ~df["strand"].isin(["+", "-"])
    if bad.any():
        i = int(bad.to_numpy().argmax())
        raise InputFileError(path, f"strand {df['strand'].iat[i]!r} is not + or -", line=i + 2)
    return df["strand"].to_numpy(object)


def _booleans(column: pd.Series, name: str, path: str) -> np.ndarray:
    text = column.str.strip().str.lower()
    bad = ~text.isin(_TRUE | _FALSE)
    if bad.any():
        i = int(bad.to_numpy().argmax())
        raise InputFileError(path, f"{name} {column.iat[i]!r} is not True or False", line=i + 2)
    return text.isin(_TRUE).to_numpy(bool)


def read_gene_table(path: str | os.PathLike[str]) -> GeneTable:
    """Read a RatGTEx ``gene.{v}.tsv`` (see the module docstring).

    Raises:
        InputFileError: missing file or column, a non-integer coordinate, a bad strand or flag, a duplicate
            gene id (each naming the line).
    """
    path = os.fspath(path)
    df = _read_tsv(path, "gene table", GENE_COLUMNS)
    ids = df["geneId"].str.strip()
    if (ids == "").any():
        raise InputFileError(path, "empty geneId", line=int((ids == "").to_numpy().argmax()) + 2)
    dup = ids.duplicated()
    if dup.any():
        i = int(dup.to_numpy().argmax())
        raise InputFileError(path, f"gene {ids.iat[i]!r} is listed twice", line=i + 2)
    start, end = _integers(df, "start", path), _integers(df, "end", path)
    strand = _strands(df, path)
    tss = _integers(df, "tss", path) if "tss" in df else np.where(strand == "-", end, start)
    genes = pd.DataFrame({
        "gene_id": ids.to_numpy(object), "gene_name": ids.to_numpy(object), "gene_type": "",
        "chrom": df["chromosome"].str.strip().to_numpy(object), "start": start, "end": end, "strand": strand,
        "tss": tss.astype(np.int64),
        "description": df["description"].to_numpy(object) if "description" in df else "",
    })
    tissues = list(dict.fromkeys(c[len(p):] for c in df.columns for p in _FLAGS if c.startswith(p) and len(c) > len(p)))
    frames = []
    for tissue in tissues:
        part = {"gene_id": genes["gene_id"].to_numpy(object), "tissue": tissue}
        for prefix, name in _FLAGS.items():
            col = f"{prefix}{tissue}"
            part[name] = _booleans(df[col], col, path) if col in df else np.zeros(len(df), bool)
        frames.append(pd.DataFrame(part))
    flags = (pd.concat(frames, ignore_index=True) if frames else
             pd.DataFrame({"gene_id": pd.Series(dtype=object), "tissue": pd.Series(dtype=object),
                           "expressed": pd.Series(dtype=bool), "tested": pd.Series(dtype=bool),
                           "has_qtl": pd.Series(dtype=bool)}))
    has_eqtl = (pd.Series(_booleans(df["hasEqtl"], "hasEqtl", path), index=genes["gene_id"].to_numpy(object))
                if "hasEqtl" in df else None)
    return GeneTable(genes=genes, flags=flags, has_eqtl=has_eqtl)


def read_exon_table(path: str | os.PathLike[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read a RatGTEx ``exon.{v}.tsv`` into ``(transcripts, exons)`` in the annotation's columns:
    transcripts ``transcript_id, gene_id, transcript_name, transcript_type, chrom, start, end, strand`` (the
    span of their exons) and exons ``gene_id, transcript_id, exon_number, chrom, start, end, strand, exon_id,
    feature_type``. A row without ``transcriptId`` belongs to a transcript named after its gene."""
    path = os.fspath(path)
    df = _read_tsv(path, "exon table", EXON_COLUMNS)
    start, end = _integers(df, "start", path), _integers(df, "end", path)
    strand = _strands(df, path)
    gene = df["geneId"].str.strip().to_numpy(object)
    tx = (df["transcriptId"].where(df["transcriptId"].str.strip() != "", df["geneId"]).to_numpy(object)
          if "transcriptId" in df else gene)
    exons = pd.DataFrame({"gene_id": gene, "transcript_id": tx, "chrom": df["chromosome"].to_numpy(object),
                          "start": start, "end": end, "strand": strand})
    if "exonNumber" in df and (df["exonNumber"] != "").all():
        exons["exon_number"] = _integers(df, "exonNumber", path)
    else:  # number exons in transcription order
        order = exons.sort_values(["transcript_id", "start"]).index
        rank = exons.loc[order].groupby("transcript_id", sort=False).cumcount() + 1
        size = exons.loc[order].groupby("transcript_id", sort=False)["start"].transform("size")
        exons.loc[order, "exon_number"] = np.where(exons.loc[order, "strand"] == "-", size - rank + 1, rank)
        exons["exon_number"] = exons["exon_number"].astype(np.int64)
    exons["exon_id"] = df["exonId"].to_numpy(object) if "exonId" in df else None
    exons["feature_type"] = df["featureType"].to_numpy(object) if "featureType" in df else "exon"
    exons = exons[["gene_id", "transcript_id", "exon_number", "chrom", "start", "end", "strand", "exon_id",
                   "feature_type"]]
    transcripts = exons.groupby("transcript_id", sort=False).agg(
        gene_id=("gene_id", "first"), chrom=("chrom", "first"), start=("start", "min"), end=("end", "max"),
        strand=("strand", "first")).reset_index()
    transcripts.insert(2, "transcript_name", transcripts["transcript_id"])
    transcripts.insert(3, "transcript_type", "")
    return transcripts, exons.sort_values(["chrom", "start", "end"], kind="stable").reset_index(drop=True)


def read_tissue_info(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a RatGTEx ``tissue_info.{v}.tsv`` (every column as text; ids unique)."""
    path = os.fspath(path)
    df = _read_tsv(path, "tissue information table", TISSUE_INFO_COLUMNS)
    dup = df["tissueSiteDetailId"].duplicated()
    if dup.any():
        i = int(dup.to_numpy().argmax())
        raise InputFileError(path, f"tissue {df['tissueSiteDetailId'].iat[i]!r} is listed twice", line=i + 2)
    return df


# ------------------------------------------------------------------------------------------------
# Per-gene ZIP archives
# ------------------------------------------------------------------------------------------------

_MEMBER = re.compile(r"^(?:.*/)?([^/]+)\.(?:txt|tsv)$")


def is_gene_zip(path: str | os.PathLike[str]) -> bool:
    """True for a ``.zip`` file (an archive of one text member per gene)."""
    return os.fspath(path).lower().endswith(".zip")


def gene_zip_members(path: str | os.PathLike[str]) -> list[tuple[str, str]]:
    """``(member name, gene id)`` of every text member of a per-gene archive, archive order."""
    path = os.fspath(path)
    require_file(path, "archive")
    try:
        with zipfile.ZipFile(path) as zf:
            names = [i.filename for i in zf.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, OSError) as e:
        raise InputFileError(path, f"not a readable ZIP archive ({e})") from None
    out = []
    for name in names:
        m = _MEMBER.match(name)
        if m is None:
            raise InputFileError(path, f"member {name!r} is not a per-gene text file ({{folder}}/{{gene}}.txt)")
        out.append((name, m.group(1)))
    return out


def gene_zip_header(path: str | os.PathLike[str]) -> list[str]:
    """The column names of the first member of a per-gene archive ([] for an empty archive)."""
    path = os.fspath(path)
    members = gene_zip_members(path)
    if not members:
        return []
    with zipfile.ZipFile(path) as zf, zf.open(members[0][0]) as fh:
        line = fh.readline().decode("utf-8", "replace").rstrip("\r\n")
    return line.split("\t")


def iter_gene_zip(path: str | os.PathLike[str], batch_rows: int = 1_000_000,
                  genes: set[str] | None = None) -> Iterator[pd.DataFrame]:
    """Stream a per-gene archive as tables of about ``batch_rows`` rows: the members' columns (their shared
    header; numbers parsed, text kept as text) plus ``gene`` (the member's file stem), in archive order;
    the rows of a gene are never split across two tables. ``genes``: read only these genes' members.

    Raises:
        InputFileError: not a ZIP, a member not named ``{gene}.txt``, a member whose header differs from the
            first one's, or a malformed line (naming the member and its line).
    """
    path = os.fspath(path)
    members = gene_zip_members(path)
    header: bytes | None = None
    chunks: list[bytes] = []
    names: list[str] = []
    counts: list[int] = []
    pending = 0
    with zipfile.ZipFile(path) as zf:
        for member, gene in members:
            if genes is not None and gene not in genes:
                continue
            data = zf.read(member)
            end = data.find(b"\n")
            first = (data if end < 0 else data[:end]).rstrip(b"\r")
            if header is None:
                header = first
            elif first != header:
                raise InputFileError(f"{path}!{member}", f"header {first.decode(errors='replace')!r} differs from "
                                     f"the first member's {header.decode(errors='replace')!r}", line=1)
            body = b"" if end < 0 else data[end + 1:]
            if body and not body.endswith(b"\n"):
                body += b"\n"
            n = body.count(b"\n")
            if n == 0:
                continue
            chunks.append(body)
            names.append(gene)
            counts.append(n)
            pending += n
            if pending >= batch_rows:
                yield _parse_members(path, header, chunks, names, counts)
                chunks, names, counts, pending = [], [], [], 0
        if chunks:
            yield _parse_members(path, header, chunks, names, counts)


def _parse_members(path: str, header: bytes, chunks: list[bytes], names: list[str], counts: list[int]) -> pd.DataFrame:
    columns = header.decode("utf-8", "replace").split("\t")
    text_columns = {c: pa.string() for c in columns if c.lower() in _TEXT_COLUMNS}
    try:
        table = pacsv.read_csv(
            io.BytesIO(b"".join(chunks)),
            read_options=pacsv.ReadOptions(column_names=columns, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(delimiter="\t"),
            convert_options=pacsv.ConvertOptions(column_types=text_columns, null_values=["NA", "NaN", "nan", ""],
                                                 strings_can_be_null=True))
    except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
        raise InputFileError(path, f"malformed member among {names[0]} … {names[-1]}: {e}") from None
    if table.num_rows != sum(counts):
        raise InputFileError(path, f"members {names[0]} … {names[-1]}: {table.num_rows} rows parsed from "
                             f"{sum(counts)} lines (a malformed line)")
    df = table.to_pandas()
    df.insert(0, "gene", np.repeat(np.asarray(names, dtype=object), counts))
    return df


#: Columns of per-gene archives kept as text (ids and chromosome names), whatever their values look like.
_TEXT_COLUMNS = {"variantid", "variant_id", "chromosome", "chrom", "tissuesitedetailid", "tissue", "phenotype_id",
                 "gene_id", "geneid", "ref", "alt", "modality"}
