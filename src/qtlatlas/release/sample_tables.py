"""The published sample and individual tables of a release (atlas.yaml ``releases[].samples`` / ``individuals``;
formats in :mod:`qtlatlas.io.sample_metadata`).

When the release names either table, the build publishes:

- ``downloads/samples.{release}.tsv``: every sample row (``sample_id, individual_id, tissue, accession, fastq,
  batch``, then the free columns), in the input's order;
- ``downloads/individuals.{release}.tsv``: ``individual_id, sex, batch``, free columns, then ``n_tissues`` and
  ``tissues`` (comma-separated, in the atlas's tissue order) derived from the samples;
- ``downloads/fastq.{tissue}.{release}.tsv`` per tissue with FASTQ files (RatGTEx's FASTQ lists): ``fastq,
  sample_id, individual_id``, one row per file;
- ``tables/sample_metadata.parquet`` and ``tables/individuals.parquet``: the same rows for the portal.

A release that names neither publishes none of these; the portal derives its samples from
``tables/samples.parquet`` (:mod:`qtlatlas.store.samples`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa

from ..config import Atlas, Release
from ..errors import QtlAtlasError
from ..io.genotypes import open_genotypes
from ..io.phenotypes import read_bed_samples
from ..io.sample_metadata import (
    Reconciliation,
    SampleMetadata,
    fastq_files,
    load_sample_metadata,
    reconcile,
)
from . import layout
from .tables import write_table

#: Columns of a FASTQ list (``downloads/fastq.{tissue}.{release}.tsv``).
FASTQ_COLUMNS = ["fastq", "sample_id", "individual_id"]


def bed_columns_of(release: Release) -> dict[str, list[str]]:
    """tissue -> the sample columns of its phenotype BEDs (every modality; ``bed``, else the imported
    ``results.phenotypes``), first seen first. BEDs that cannot be read are skipped (reported elsewhere)."""
    out: dict[str, list[str]] = {}
    for tissue, _modality, inp in release.inputs():
        bed = inp.bed if inp.bed is not None else (inp.results.phenotypes if inp.results is not None else None)
        if bed is None:
            continue
        try:
            columns = read_bed_samples(bed)
        except QtlAtlasError:
            continue
        out[tissue] = list(dict.fromkeys([*out.get(tissue, []), *columns]))
    return out


def release_sample_metadata(atlas: Atlas, release: Release,
                            genotyped: set[str] | None = None) -> tuple[SampleMetadata | None, Reconciliation]:
    """The release's sample tables (None when it names none) and their reconciliation with its phenotype BEDs and
    ``genotyped`` samples (read from the first genotype file when None). Raises InputFileError for a malformed
    table."""
    if release.samples is None and release.individuals is None:
        return None, Reconciliation()
    beds = bed_columns_of(release)
    meta = load_sample_metadata(release.samples, release.individuals, [t.id for t in atlas.tissues], beds)
    assert meta is not None
    if genotyped is None:
        try:
            genotyped = set(open_genotypes(release.genotypes[0]).samples)
        except QtlAtlasError:
            genotyped = None
    return meta, reconcile(meta, beds, genotyped, list(release.tissues))


def checked_sample_metadata(atlas: Atlas, release: Release) -> SampleMetadata | None:
    """:func:`release_sample_metadata` for a build: QtlAtlasError listing every reconciliation error."""
    meta, found = release_sample_metadata(atlas, release)
    if found.errors:
        raise QtlAtlasError(f"release {release.id}: the sample tables disagree with the data:\n  "
                            + "\n  ".join(found.errors))
    return meta


def individual_rows(meta: SampleMetadata, tissue_order: Sequence[str]) -> pd.DataFrame:
    """The individual table (the given one, or one row per individual of the samples with unknown sex) plus
    ``n_tissues`` (int) and ``tissues`` (comma-separated, in ``tissue_order``; tissues not in it after, by name)."""
    samples = meta.samples
    if meta.individuals is not None:
        people = meta.individuals.copy()
    else:
        ids = list(dict.fromkeys(samples["individual_id"]))
        people = pd.DataFrame({"individual_id": ids, "sex": [""] * len(ids), "batch": [""] * len(ids)}, dtype=object)
    rank = {t: i for i, t in enumerate(tissue_order)}
    by_person = samples.groupby("individual_id", sort=False)["tissue"].agg(
        lambda ts: sorted(set(ts), key=lambda t: (rank.get(t, len(rank)), t)))
    tissues = [by_person.get(p, []) for p in people["individual_id"]]
    people["n_tissues"] = pd.Series([len(t) for t in tissues], index=people.index, dtype="int32")
    people["tissues"] = pd.Series([",".join(t) for t in tissues], index=people.index, dtype=object)
    return people.reset_index(drop=True)


def fastq_rows(samples: pd.DataFrame, tissue: str) -> pd.DataFrame:
    """The FASTQ list of a tissue (:data:`FASTQ_COLUMNS`): one row per file of its samples, in sample order."""
    part = samples[samples["tissue"] == tissue]
    rows = [(f, s, p) for s, p, cell in zip(part["sample_id"], part["individual_id"], part["fastq"], strict=True)
            for f in fastq_files(cell)]
    return pd.DataFrame(rows, columns=FASTQ_COLUMNS, dtype=object)


def _write_tsv(frame: pd.DataFrame, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(dest, sep="\t", index=False, lineterminator="\n")


def _text_table(frame: pd.DataFrame) -> pa.Table:
    """``frame`` as Arrow, text columns as large strings (as the release's other tables)."""
    fields = [pa.field(c, pa.int32() if c == "n_tissues" else pa.large_string()) for c in frame.columns]
    return pa.Table.from_pandas(frame, schema=pa.schema(fields), preserve_index=False)


def publish_sample_tables(meta: SampleMetadata | None, tissue_order: Sequence[str], tissue_names: dict[str, str],
                          table: Callable[[str, str], Path], download: Callable[..., Path]) -> None:
    """Write the downloads and query tables of the module docstring (nothing when ``meta`` is None).

    Args:
        meta: the release's sample tables.
        tissue_order: tissue ids in the atlas's order.
        tissue_names: tissue id -> display name (for the manifest descriptions).
        table: records a query table and returns its path (``_ReleaseBuilder._table``).
        download: records a download of a kind and returns its path (``_ReleaseBuilder._download``).
    """
    if meta is None:
        return
    samples = meta.samples
    people = individual_rows(meta, tissue_order)
    source = "the atlas's sample table" if meta.samples_given else "the phenotype BED columns (no sample table)"
    _write_tsv(samples, download("sample_table", f"every RNA sample of the release: sample_id, individual_id, tissue, "
                                 f"accession, fastq, batch and further metadata (from {source})"))
    _write_tsv(people, download("individuals", "every individual of the release: individual_id, sex, batch, further "
                                "metadata, and the tissues sampled (n_tissues, tissues)"))
    write_table(_text_table(samples), table(layout.table_path("sample_metadata"),
                                            "RNA samples with their individual, tissue, accession, FASTQ files and "
                                            "metadata"))
    write_table(_text_table(people), table(layout.table_path("individuals"),
                                           "individuals with sex, batch, metadata and the tissues sampled"))
    in_order = [t for t in tissue_order if t in set(samples["tissue"])]
    for tissue in in_order + sorted(set(samples["tissue"]) - set(in_order)):
        files = fastq_rows(samples, tissue)
        if len(files):
            name = tissue_names.get(tissue, tissue)
            _write_tsv(files, download("fastq", f"RNA-seq FASTQ files of {name}: fastq, sample_id, individual_id, one "
                                       "row per file", tissue=tissue))

