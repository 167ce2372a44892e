"""The release's genotype matrix: a random-access copy of its genotypes for LD queries.

``tables/genotype_matrix.bed`` is a PLINK 1 ``.bed`` file (variant-major): the 3 magic bytes ``6c 1b 01``,
then one row of ``ceil(n / 4)`` bytes per variant, 2 bits per sample (``00`` two copies of the ALT allele,
``10`` one, ``11`` none, ``01`` missing; the last byte padded with ``00``). Row i is the i-th variant of
``variants_by_position`` (every genotyped variant, sorted by chromosome and position: a region's variants are
a contiguous range of rows), so row i starts at byte ``3 + i · ceil(n / 4)``. The columns are the samples of
``tables/genotype_matrix.samples.txt`` (one id a line, the genotype files' order).

Why this layout (measured at 10× RatGTEx's density, 3,700 variants × 2,000 samples per Mb): a 1 Mb window
is 1.85 MB to read, and r against one variant is computed from the packed bytes in about 10 ms
(:func:`qtlatlas.engine.ld.ld_r_packed`); int8 rows would be 4× the bytes (and the disk: 20 GB at 10 M
variants × 2,000 samples, not 5), and decoding the same window from the bgzipped VCF takes seconds.

The file is written a chunk of variants at a time (:data:`CHUNK_BYTES` of decoded calls): the build's memory
does not grow with the number of variants. Each chunk (one chromosome) is read by region from the genotype
files — or, when one of them cannot be read by region quickly (an unindexed VCF), from the release's own
bgzipped, tabix-indexed VCF download, which holds the same calls.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa

from ..engine.ld import pack
from ..errors import QtlAtlasError

if TYPE_CHECKING:  # the genotype readers are imported when writing (the portal reads only the layout here)
    from ..io.genotypes import GenotypeReader

#: The first bytes of a variant-major PLINK 1 ``.bed`` file.
MAGIC = bytes([0x6C, 0x1B, 0x01])
#: Decoded (int8) calls held per chunk: 16,384 variants at 2,000 samples.
CHUNK_BYTES = 32 << 20
_KEY = ["id", "chrom", "pos", "ref", "alt"]


def samples_path(path: str | os.PathLike[str]) -> Path:
    """The sample list beside a matrix: ``genotype_matrix.bed`` -> ``genotype_matrix.samples.txt``."""
    p = Path(path)
    return p.with_name(p.name.removesuffix(".bed") + ".samples.txt")


def row_bytes(n_samples: int) -> int:
    """Bytes of one variant's row: ``ceil(n_samples / 4)``."""
    return -(-int(n_samples) // 4)


@dataclass(frozen=True)
class MatrixSummary:
    """What :func:`write_genotype_matrix` wrote: rows (variants), columns (samples), missing calls."""

    n_variants: int
    n_samples: int
    n_missing: int


def _random_access(reader: GenotypeReader) -> bool:
    """Whether a region of ``reader`` is read without scanning the file (PLINK, or an indexed VCF/BCF)."""
    return reader.format != "vcf" or bool(getattr(reader, "indexed", False))


def matrix_sources(paths: Sequence[str | os.PathLike[str]], release_vcf: str | os.PathLike[str]) -> list[GenotypeReader]:
    """The readers to write the matrix from: the release's genotype files when each is read by region without a
    scan, else its VCF download (``release_vcf``, bgzipped and tabix-indexed, the same calls)."""
    from ..io.genotypes import open_genotypes

    readers = [open_genotypes(p) for p in paths]
    if readers and all(_random_access(r) for r in readers):
        return readers
    return [open_genotypes(release_vcf)]


def _runs(batch: pa.RecordBatch) -> Iterator[tuple[str, pa.Table]]:
    """``(chromosome, rows)`` of each run of one chromosome in a batch (a batch holds one; be safe anyway)."""
    table = pa.Table.from_batches([batch]).select(["variant_id", "chrom", "pos", "ref", "alt"])
    chroms = table.column("chrom").to_numpy(zero_copy_only=False)
    bounds = [0, *(np.flatnonzero(chroms[1:] != chroms[:-1]) + 1).tolist(), len(chroms)]
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        if b > a:
            yield str(chroms[a]), table.slice(a, b - a)


def _chunks(order: str | os.PathLike[str], size: int) -> Iterator[pa.Table]:
    """The rows of a ``variants_by_position`` file (``variant_id, chrom, pos, ref, alt``) in file order, in
    tables of at most ``size`` rows of one chromosome each."""
    pending: list[pa.Table] = []
    n, chrom = 0, None
    with pa.ipc.open_file(pa.OSFile(os.fspath(order))) as f:
        for i in range(f.num_record_batches):
            for run_chrom, run in _runs(f.get_batch(i)):
                if pending and run_chrom != chrom:
                    yield pa.concat_tables(pending)
                    pending, n = [], 0
                chrom = run_chrom
                start = 0
                while start < run.num_rows:
                    take = min(size - n, run.num_rows - start)
                    pending.append(run.slice(start, take))
                    n, start = n + take, start + take
                    if n >= size:
                        yield pa.concat_tables(pending)
                        pending, n = [], 0
    if pending:
        yield pa.concat_tables(pending)


def _key_index(frame: pd.DataFrame) -> pd.MultiIndex:
    return pd.MultiIndex.from_arrays([frame[c].astype(np.int64 if c == "pos" else object).to_numpy() for c in _KEY])


def _chunk_calls(readers: Sequence[GenotypeReader], samples: list[str], chunk: pa.Table) -> np.ndarray:
    """``(len(chunk), len(samples))`` int8 calls of the chunk's variants: each is the first row of the readers
    (in order) with its id, chromosome, position and alleles — the row the variant tables kept."""
    from ..io.chromosomes import Region
    from ..io.genotypes import MISSING_INT8

    want = pd.DataFrame({"id": chunk.column("variant_id").to_pylist(), "chrom": chunk.column("chrom").to_pylist(),
                         "pos": chunk.column("pos").to_numpy(), "ref": chunk.column("ref").to_pylist(),
                         "alt": chunk.column("alt").to_pylist()})
    pos = want["pos"].to_numpy()
    region = Region(str(want["chrom"].iloc[0]), int(pos.min()), int(pos.max()))
    calls = np.full((len(want), len(samples)), MISSING_INT8, dtype=np.int8)
    found = np.zeros(len(want), dtype=bool)
    wanted = _key_index(want)
    for reader in readers:
        data = reader.read(region, samples=samples, dtype="int8")
        got = data.variants[_KEY]
        first = ~got.duplicated(keep="first").to_numpy()
        rows = np.flatnonzero(first)
        at = _key_index(got.iloc[rows]).get_indexer(wanted)
        hit = (at >= 0) & ~found
        calls[hit] = data.dosages[rows[at[hit]]]
        found |= hit
        del data
        if found.all():
            break
    if not found.all():
        missing = want.loc[~found, "id"].head(5).tolist()
        raise QtlAtlasError(f"genotype matrix: {int((~found).sum())} variant(s) of {region} not found in the "
                            f"genotype files (e.g. {', '.join(map(str, missing))})")
    return calls


def write_genotype_matrix(readers: Sequence[GenotypeReader], order: str | os.PathLike[str],
                          dest: str | os.PathLike[str], *, chunk_variants: int | None = None) -> MatrixSummary:
    """Write the matrix of the module docstring at ``dest`` and its sample list beside it.

    Args:
        readers: the genotype files (same samples; the first one's order is kept), e.g. :func:`matrix_sources`.
        order: the release's ``variants_by_position`` file: the rows, in order, that the matrix holds.
        dest: the ``.bed`` file to write.
        chunk_variants: variants decoded at once (default: :data:`CHUNK_BYTES` of int8 calls); any value
            writes the same file.

    Raises:
        QtlAtlasError: a variant of ``order`` is in none of the genotype files.
    """
    if not readers:
        raise QtlAtlasError("genotype matrix: no genotype files")
    samples = list(readers[0].samples)
    size = int(chunk_variants) if chunk_variants else max(1024, CHUNK_BYTES // max(len(samples), 1))
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    n_variants = n_missing = 0
    with open(dest, "wb") as out:
        out.write(MAGIC)
        for chunk in _chunks(order, size):
            calls = _chunk_calls(readers, samples, chunk)
            n_missing += int(np.count_nonzero(calls < 0))
            out.write(pack(calls).tobytes())
            n_variants += calls.shape[0]
    samples_path(dest).write_text("".join(f"{s}\n" for s in samples), encoding="utf-8")
    return MatrixSummary(n_variants, len(samples), n_missing)
