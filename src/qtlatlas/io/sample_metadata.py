"""The sample and individual tables of a release (atlas.yaml ``releases[].samples`` / ``releases[].individuals``):
reading, validation and reconciliation with the phenotype BEDs and the genotypes.

``samples.tsv`` (one row per RNA sample; tab-separated, a header, ``#`` comment lines allowed above it):

================ ========= ===============================================================================
column           required  content
================ ========= ===============================================================================
sample_id        yes       the RNA sample's id: one row per tissue and sample id, and one individual per
                           sample id (RatGTEx names every tissue's samples by the rat: an id may recur
                           across tissues when it names the same individual)
individual_id    yes       the individual (genotype) it was taken from; at most one sample per tissue
tissue           yes       a tissue id of the atlas
accession        no        archive accession (SRR/SRS/ERR…)
fastq            no        FASTQ file names separated by ``;`` (``S1_R1.fastq.gz;S1_R2.fastq.gz``)
batch            no        sequencing or processing batch
(any other)      no        free metadata, kept as text
================ ========= ===============================================================================

``individuals.tsv`` (one row per individual): ``individual_id`` (required, unique), ``sex`` (``female``/``male``,
``F``/``M``, PLINK's ``2``/``1``, case-insensitive; empty, ``NA`` or PLINK's ``0``: unknown; normalised to
``female``, ``male`` or an empty string), ``batch`` and free columns.

Every value is read as text (surrounding whitespace stripped). A problem raises :class:`InputFileError` naming the
file, the 1-based physical line (comment lines counted) and the column. :func:`reconcile` compares the tables with
the data by name: a phenotype BED column matches a row of its tissue by ``sample_id`` or by ``individual_id``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..errors import InputFileError, require_file
from .text import open_text

SAMPLE_REQUIRED = ("sample_id", "individual_id", "tissue")
SAMPLE_OPTIONAL = ("accession", "fastq", "batch")
INDIVIDUAL_REQUIRED = ("individual_id",)
INDIVIDUAL_OPTIONAL = ("sex", "batch")
#: Columns of the published individual table derived from the samples (not allowed in individuals.tsv).
INDIVIDUAL_DERIVED = ("n_tissues", "tissues")
#: Separator of the FASTQ files of a sample in the ``fastq`` column.
FASTQ_SEPARATOR = ";"
#: Spellings of sex (lower-cased) -> the normalised value ("" = unknown).
SEX_VALUES = {"female": "female", "f": "female", "2": "female", "male": "male", "m": "male", "1": "male",
              "": "", "na": "", "0": ""}
#: Ids named in a reconciliation message before "… (+n)".
PREVIEW = 5


@dataclass(frozen=True)
class TextTable:
    """A TSV read as text: ``frame`` (every column ``object`` of ``str``) and ``lines``: the 1-based physical line
    of each row of ``frame``, in order; ``header_line``: the header's."""

    path: str
    frame: pd.DataFrame
    lines: list[int]
    header_line: int = 1

    def line(self, row: int) -> int:
        return self.lines[row]


@dataclass
class SampleMetadata:
    """The sample and individual tables of a release, validated against each other.

    ``samples``: columns ``sample_id, individual_id, tissue, accession, fastq, batch`` (empty strings where the
    file has no such column), then the file's free columns; ``individuals``: ``individual_id, sex, batch`` then
    free columns, or None when the release names no individual table. ``samples_given``: whether the sample table
    came from a file (else it was derived from the phenotype BEDs, one sample per BED column)."""

    samples: pd.DataFrame
    individuals: pd.DataFrame | None
    samples_path: str | None = None
    individuals_path: str | None = None
    sample_lines: list[int] = field(default_factory=list)

    @property
    def samples_given(self) -> bool:
        return self.samples_path is not None


def _preview(ids: Sequence[str]) -> str:
    ids = list(ids)
    return ", ".join(ids[:PREVIEW]) + (f" … (+{len(ids) - PREVIEW})" if len(ids) > PREVIEW else "")


def read_text_table(path: str | os.PathLike[str], required: Sequence[str], what: str) -> TextTable:
    """Read a tab-separated table with a header line (``#`` comment lines and blank lines above it skipped, blank
    lines after it too); every column as text. InputFileError for a missing file, a missing required column, a
    repeated or empty column name, a row with another number of fields than the header, or an empty required
    value (naming line and column)."""
    path = os.fspath(path)
    require_file(path, what)
    header: list[str] | None = None
    header_line = 0
    rows: list[list[str]] = []
    lines: list[int] = []
    try:
        with open_text(path) as fh:
            for number, raw in enumerate(fh, start=1):
                text = raw.rstrip("\n\r")
                if header is None:
                    if not text.strip() or text.startswith("#"):
                        continue
                    header, header_line = [c.strip() for c in text.split("\t")], number
                    continue
                if not text.strip():
                    continue
                fields = [v.strip() for v in text.split("\t")]
                if len(fields) != len(header):
                    raise InputFileError(path, f"{len(fields)} fields, the header has {len(header)} (tab-separated)",
                                         number)
                rows.append(fields)
                lines.append(number)
    except (OSError, UnicodeDecodeError, EOFError) as e:
        raise InputFileError(path, f"cannot read {what} ({e})") from None
    if header is None:
        raise InputFileError(path, f"empty {what}: no header line")
    for i, name in enumerate(header):
        if not name:
            raise InputFileError(path, f"column {i + 1} of the header has no name", header_line)
        if name in header[:i]:
            raise InputFileError(path, f"column {name!r} appears twice in the header", header_line)
    missing = [c for c in required if c not in header]
    if missing:
        raise InputFileError(path, f"missing required column(s) {', '.join(missing)} (header: {', '.join(header)})",
                             header_line)
    frame = pd.DataFrame(rows, columns=header, dtype=object) if rows else pd.DataFrame(
        {c: pd.Series(dtype=object) for c in header})
    for column in required:
        empty = [i for i, v in enumerate(frame[column]) if not v]
        if empty:
            raise InputFileError(path, f"column {column}: empty value", lines[empty[0]])
    return TextTable(path, frame, lines, header_line)


def normalise_sex(value: str) -> str | None:
    """``female``, ``male`` or ``""`` (unknown) for a spelling of :data:`SEX_VALUES`; None when unrecognised."""
    return SEX_VALUES.get(value.strip().lower())


def read_individuals(path: str | os.PathLike[str]) -> TextTable:
    """The individual table: ``individual_id, sex, batch`` (empty strings where absent) then free columns, sex
    normalised. InputFileError naming the line for a duplicate id or an unrecognised sex."""
    table = read_text_table(path, INDIVIDUAL_REQUIRED, "individual table")
    frame = table.frame
    reserved = [c for c in INDIVIDUAL_DERIVED if c in frame.columns]
    if reserved:
        raise InputFileError(table.path, f"column(s) {', '.join(reserved)} are derived from the sample table when the "
                             "release is built; rename them", table.header_line)
    _check_unique(table, "individual_id", "individual")
    if "sex" in frame.columns:
        normalised = []
        for row, value in enumerate(frame["sex"]):
            sex = normalise_sex(value)
            if sex is None:
                raise InputFileError(table.path, f"column sex: unrecognised value {value!r} (female/male, F/M, 2/1 as "
                                     "in PLINK, or empty/NA for unknown)", table.line(row))
            normalised.append(sex)
        frame["sex"] = pd.Series(normalised, index=frame.index, dtype=object)
    return TextTable(table.path, _ordered(frame, INDIVIDUAL_REQUIRED + INDIVIDUAL_OPTIONAL), table.lines,
                     table.header_line)


def read_samples(path: str | os.PathLike[str], tissues: Sequence[str],
                 individuals: pd.DataFrame | None = None, individuals_path: str | None = None) -> TextTable:
    """The sample table: ``sample_id, individual_id, tissue, accession, fastq, batch`` (empty strings where absent)
    then free columns. InputFileError naming the line for a sample id twice in a tissue, a sample id of two
    individuals, two samples of one individual in one tissue, a tissue not in ``tissues`` (the atlas's), or an individual absent from ``individuals`` (when
    given)."""
    table = read_text_table(path, SAMPLE_REQUIRED, "sample table")
    frame = table.frame
    known = set(tissues)
    seen: dict[tuple[str, str], int] = {}
    sample_rows: dict[tuple[str, str], int] = {}
    owner: dict[str, int] = {}
    people = set(individuals["individual_id"]) if individuals is not None else None
    for row, (sample, person, tissue) in enumerate(zip(frame["sample_id"], frame["individual_id"], frame["tissue"],
                                                       strict=True)):
        line = table.line(row)
        if tissue not in known:
            raise InputFileError(table.path, f"column tissue: unknown tissue {tissue!r} (tissues of the atlas: "
                                 f"{', '.join(tissues)})", line)
        first = sample_rows.setdefault((sample, tissue), row)
        if first != row:
            raise InputFileError(table.path, f"column sample_id: sample {sample} of tissue {tissue} appears twice "
                                 f"(first on line {table.line(first)})", line)
        first = owner.setdefault(sample, row)
        if frame["individual_id"].iat[first] != person:
            raise InputFileError(table.path, f"column individual_id: sample {sample} is of individual "
                                 f"{frame['individual_id'].iat[first]} on line {table.line(first)}, of {person} here",
                                 line)
        first = seen.setdefault((person, tissue), row)
        if first != row:
            raise InputFileError(table.path, f"individual {person} has two samples of tissue {tissue}: "
                                 f"{frame['sample_id'].iat[first]} (line {table.line(first)}) and {sample}", line)
        if people is not None and person not in people:
            raise InputFileError(table.path, f"column individual_id: {person} (sample {sample}) is not in the "
                                 f"individual table {individuals_path}", line)
    return TextTable(table.path, _ordered(frame, SAMPLE_REQUIRED + SAMPLE_OPTIONAL), table.lines, table.header_line)


def load_sample_metadata(samples_path: Path | None, individuals_path: Path | None, tissues: Sequence[str],
                         bed_columns: Mapping[str, Iterable[str]]) -> SampleMetadata | None:
    """The release's sample and individual tables, or None when it names neither. Without a sample table, the
    samples are the phenotype BED columns of each tissue (``bed_columns``: tissue -> column names), each its own
    individual; they must then all be in the individual table. Raises InputFileError (see the readers)."""
    if samples_path is None and individuals_path is None:
        return None
    individuals = read_individuals(individuals_path) if individuals_path is not None else None
    people = individuals.frame if individuals is not None else None
    if samples_path is not None:
        samples = read_samples(samples_path, tissues, people, individuals.path if individuals else None)
        return SampleMetadata(samples.frame, people, samples.path, individuals.path if individuals else None,
                              samples.lines)
    derived = derived_samples(bed_columns)
    assert individuals is not None and people is not None
    absent = sorted(set(derived["individual_id"]) - set(people["individual_id"]))
    if absent:
        raise InputFileError(individuals.path, f"{len(absent)} phenotype BED sample(s) (no sample table: each BED "
                             f"column is an individual) are not in the individual table: {_preview(absent)}")
    return SampleMetadata(derived, people, None, individuals.path)


def derived_samples(bed_columns: Mapping[str, Iterable[str]]) -> pd.DataFrame:
    """A sample table without metadata: one row per tissue and BED column (tissue -> column names, first seen
    first), the column as both ``sample_id`` and ``individual_id``, other columns empty strings."""
    rows = [(s, s, t) for t, columns in bed_columns.items() for s in dict.fromkeys(columns)]
    frame = pd.DataFrame(rows, columns=list(SAMPLE_REQUIRED), dtype=object)
    return _ordered(frame, SAMPLE_REQUIRED + SAMPLE_OPTIONAL)


@dataclass
class Reconciliation:
    """What :func:`reconcile` found: ``errors`` (the published tables would be wrong) and ``warnings``."""

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def reconcile(meta: SampleMetadata, bed_columns: Mapping[str, Iterable[str]],
              genotyped: set[str] | None, release_tissues: Sequence[str]) -> Reconciliation:
    """Compare the tables with the data of a release, by name.

    Args:
        meta: the release's tables.
        bed_columns: tissue -> the sample columns of its phenotype BEDs (every modality together).
        genotyped: the sample ids of the release genotypes (None: unknown, not compared).
        release_tissues: the tissues with phenotypes in the release.

    Errors: BED columns of a tissue that match no row of that tissue by sample or individual id (they would be
    missing from the published sample table). Warnings: rows of a tissue that match no BED column of it (published,
    not mapped), tissues of the sample table the release has no phenotypes of, individuals not genotyped.
    """
    out = Reconciliation()
    if meta.samples_given:  # (a table derived from the BEDs agrees with them)
        _reconcile_samples(meta, bed_columns, release_tissues, out)
    if genotyped is not None:
        people = meta.individuals["individual_id"] if meta.individuals is not None else meta.samples["individual_id"]
        missing = [p for p in dict.fromkeys(people) if p not in genotyped]
        source = meta.individuals_path or meta.samples_path
        if missing:
            out.warnings.append(f"{source}: {len(missing)} individual(s) are not in the release genotypes (not "
                                f"mapped): {_preview(missing)}")
    return out


def _reconcile_samples(meta: SampleMetadata, bed_columns: Mapping[str, Iterable[str]],
                       release_tissues: Sequence[str], out: Reconciliation) -> None:
    """The sample-table part of :func:`reconcile`."""
    where, samples = meta.samples_path, meta.samples
    for tissue, columns in bed_columns.items():
        rows = samples[samples["tissue"] == tissue]
        names = set(rows["sample_id"]) | set(rows["individual_id"])
        columns = list(dict.fromkeys(columns))
        unlisted = [c for c in columns if c not in names]
        if unlisted:
            out.errors.append(f"{where}: {len(unlisted)} phenotype BED sample(s) of {tissue} match no row of "
                              f"tissue {tissue} by sample_id or individual_id: {_preview(unlisted)}")
        present = set(columns)
        unused = [f"{s} (line {meta.sample_lines[i]})" for i, s, p in zip(rows.index, rows["sample_id"],
                                                                          rows["individual_id"], strict=True)
                  if s not in present and p not in present]
        if unused:
            out.warnings.append(f"{where}: {len(unused)} sample(s) of {tissue} are in no phenotype BED of {tissue} "
                                f"(published in the sample table, not mapped): {_preview(unused)}")
    elsewhere = [t for t in dict.fromkeys(samples["tissue"]) if t not in set(release_tissues)]
    if elsewhere:
        out.warnings.append(f"{where}: tissue(s) {', '.join(elsewhere)} have no phenotypes in this release (their "
                            "samples are published in the sample table only)")


def fastq_files(value: str) -> list[str]:
    """The file names of a ``fastq`` cell (``;``-separated; empty parts dropped)."""
    return [f.strip() for f in value.split(FASTQ_SEPARATOR) if f.strip()]


def _ordered(frame: pd.DataFrame, known: Sequence[str]) -> pd.DataFrame:
    """``frame`` with the ``known`` columns first (added as empty strings where absent), then its others."""
    frame = frame.copy()
    for column in known:
        if column not in frame.columns:
            frame[column] = pd.Series([""] * len(frame), index=frame.index, dtype=object)
    return frame[list(known) + [c for c in frame.columns if c not in known]].reset_index(drop=True)


def _check_unique(table: TextTable, column: str, what: str) -> None:
    first: dict[str, int] = {}
    for row, value in enumerate(table.frame[column]):
        at = first.setdefault(value, row)
        if at != row:
            raise InputFileError(table.path, f"column {column}: {what} {value} appears twice (first on line "
                                 f"{table.line(at)})", table.line(row))

