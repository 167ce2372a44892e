"""Genotypes from PLINK 1 (.bed/.bim/.fam), PLINK 2 (.pgen/.pvar/.psam) and VCF/BCF, in one representation.

Every reader returns a :class:`GenotypeData`: a ``(n_variants, n_samples)`` matrix of ALT-allele counts, the
variant table (``chrom, pos, id, ref, alt``) and the sample ids.

Allele convention: **ALT is the counted allele** in every format.

* PLINK 1: ALT is ``.bim`` column 5 (A1) and REF is column 6 (A2); a call's value is the number of A1 copies.
* PLINK 2: the ``.pvar`` ALT allele is counted (what pgenlib counts).
* VCF/BCF: ALT is counted; ``0/1`` -> 1, ``1|1`` -> 2, a call with any missing allele (``./1``) is missing.
  A haploid call counts ALT copies times two (``1`` -> 2, ``0`` -> 0) so that hemizygous chrX calls sit on
  the same 0..2 scale as diploid homozygotes.

Values are ``int8`` hard calls 0/1/2 with :data:`MISSING_INT8` for missing calls, or ``float32`` dosages in
[0, 2] with NaN for missing (``dtype="float32"``: the VCF ``DS`` field where the header declares it, else
the GT calls; PLINK 2 dosages where the .pgen stores them, else hard calls).

Chromosome names keep the file's spelling; regions match them through
:func:`qtlatlas.io.chromosomes.chrom_key`, so ``22:1-100`` finds ``chr22``. A region read decodes only the
variants inside the region (PLINK 1 memory-maps and decodes only those rows, PLINK 2 asks pgenlib for
those variant indices, an indexed VCF/BCF is queried through its tabix/CSI index; an unindexed VCF is
streamed once).

VCF records with more than one ALT allele are dropped (``multiallelic="skip"``, the default) or split into
one biallelic row per ALT (``multiallelic="split"``; the other ALT alleles then count as not counted); the
number of such records is reported as ``multiallelic_records`` either way. The same policy applies to
multi-allelic ``.pvar`` rows.
"""

from __future__ import annotations

import gzip
import math
import os
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from qtlatlas.errors import InputFileError, InvalidRegionError, QtlAtlasError
from qtlatlas.io.chromosomes import Region, chrom_key, parse_region
from qtlatlas.io.text import open_text

__all__ = [
    "MISSING_INT8",
    "VARIANT_COLUMNS",
    "GenotypeData",
    "GenotypeReader",
    "InvalidRegionError",
    "Plink1Reader",
    "Plink2Reader",
    "VcfReader",
    "open_genotypes",
    "read_bim",
    "read_fam",
    "read_genotypes",
    "read_psam",
    "read_pvar",
]

MISSING_INT8: int = -9
"""Value of a missing call in an ``int8`` genotype matrix (the PLINK convention)."""

VARIANT_COLUMNS = ("chrom", "pos", "id", "ref", "alt")
"""Columns of every variant table: chromosome (file spelling), 1-based position, id, REF, counted ALT."""

MULTIALLELIC_MODES = ("skip", "split")

_VCF_SUFFIXES = (".vcf", ".vcf.gz", ".vcf.bgz", ".bcf")
_PREVIEW = 5
_VCF_CHUNK = 2048
_HTSLIB_MAX_POS = 2**31 - 1


# ----------------------------------------------------------------------------------------------------------
# Result
# ----------------------------------------------------------------------------------------------------------


@dataclass
class GenotypeData:
    """Genotypes of ``n_variants`` variants × ``n_samples`` samples.

    Attributes:
        dosages: ``(n_variants, n_samples)`` ALT-allele counts; ``int8`` 0/1/2 with :data:`MISSING_INT8` for
            missing calls, or ``float32`` dosages in [0, 2] with NaN for missing.
        variants: one row per matrix row, columns :data:`VARIANT_COLUMNS` (``pos`` int64, 1-based), RangeIndex.
        samples: ``n_samples`` sample ids, one per matrix column.
        n_missing: number of missing calls in ``dosages``.
        multiallelic_records: multi-allelic source records met by the read (dropped under
            ``multiallelic="skip"``, split into one row per ALT under ``"split"``).
    """

    dosages: np.ndarray
    variants: pd.DataFrame
    samples: list[str]
    n_missing: int
    multiallelic_records: int = 0

    @property
    def n_variants(self) -> int:
        return int(self.dosages.shape[0])

    @property
    def n_samples(self) -> int:
        return int(self.dosages.shape[1])

    def to_float(self) -> np.ndarray:
        """A new ``(n_variants, n_samples)`` float32 array of ALT dosages with NaN for missing calls."""
        return _to_float32(self.dosages)

    def mean_impute(self) -> np.ndarray:
        """A new ``(n_variants, n_samples)`` float32 array, missing calls replaced by the variant's mean.

        The mean is over the variant's observed calls; a variant with no observed call is filled with 0.
        """
        x = self.to_float()
        missing = np.isnan(x)
        if not missing.any():
            return x
        observed = (~missing).sum(axis=1)
        sums = np.where(missing, 0.0, x).sum(axis=1, dtype=np.float64)
        means = np.divide(sums, observed, out=np.zeros_like(sums), where=observed > 0).astype(np.float32)
        rows = np.nonzero(missing)[0]
        x[missing] = means[rows]
        return x


def _to_float32(dosages: np.ndarray) -> np.ndarray:
    """Float32 copy of an int8 (MISSING_INT8 -> NaN) or float dosage matrix, same shape."""
    if dosages.dtype == np.int8:
        out = dosages.astype(np.float32)
        out[dosages == MISSING_INT8] = np.nan
        return out
    return dosages.astype(np.float32, copy=True)


def _count_missing(dosages: np.ndarray) -> int:
    if dosages.dtype == np.int8:
        return int(np.count_nonzero(dosages == MISSING_INT8))
    return int(np.count_nonzero(np.isnan(dosages)))


def _variant_frame(chrom, pos, vid, ref, alt) -> pd.DataFrame:
    """The variant table from column sequences; string columns as ``str``, ``pos`` as int64."""
    frame = pd.DataFrame(
        {
            "chrom": pd.Series(chrom, dtype=object),
            "pos": np.asarray(pos, dtype=np.int64),
            "id": pd.Series(vid, dtype=object),
            "ref": pd.Series(ref, dtype=object),
            "alt": pd.Series(alt, dtype=object),
        }
    )
    return frame.astype({"chrom": str, "id": str, "ref": str, "alt": str})


# ----------------------------------------------------------------------------------------------------------
# Reader base
# ----------------------------------------------------------------------------------------------------------


class GenotypeReader:
    """An opened genotype file: samples and variants known, genotypes decoded on :meth:`read`.

    Attributes:
        path: the file read (``.bed``, ``.pgen`` or the VCF/BCF).
        format: ``"plink1"``, ``"plink2"`` or ``"vcf"``.
        samples: sample ids in file order.
        multiallelic: ``"skip"`` or ``"split"``.
    """

    format: str = ""

    def __init__(self, path: str, samples: list[str], multiallelic: str):
        self.path = path
        self.samples = samples
        self.multiallelic = multiallelic
        self._sample_index = {s: i for i, s in enumerate(samples)}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.path!r}, {len(self.samples)} samples)"

    @property
    def variants(self) -> pd.DataFrame:
        """All variants (rows :meth:`read` returns without a region), columns :data:`VARIANT_COLUMNS`."""
        raise NotImplementedError

    @property
    def multiallelic_records(self) -> int:
        """Number of multi-allelic records in the whole file (skipped or split per ``multiallelic``)."""
        raise NotImplementedError

    def chromosomes(self) -> list[str]:
        """Chromosome names in the file's spelling, in file order."""
        return [str(c) for c in pd.unique(self.variants["chrom"])]

    def iter_variants(self, chunk_rows: int = 262_144) -> Iterator[pd.DataFrame]:
        """The rows of :attr:`variants` in file order, as frames of at most ``chunk_rows`` rows (same columns).
        Readers that scan a file for its variants yield them as they are read, without holding the whole table."""
        table = self.variants
        for start in range(0, len(table), chunk_rows):
            yield table.iloc[start:start + chunk_rows].reset_index(drop=True)

    def read(
        self,
        region: str | Region | None = None,
        *,
        samples: Sequence[str] | None = None,
        dtype: str = "int8",
    ) -> GenotypeData:
        """Decode the genotypes of ``region`` (all variants when None) for ``samples`` (all when None).

        Args:
            region: a chromosome name or ``chrom:start-end`` (1-based, inclusive), matched by ``chrom_key``.
            samples: sample ids giving the subset and order of the output columns.
            dtype: ``"int8"`` hard calls (missing = MISSING_INT8) or ``"float32"`` dosages (missing = NaN).

        Returns:
            :class:`GenotypeData` with a ``(n_variants_in_region, len(samples))`` matrix, rows in file order.
        """
        reg = _as_region(region)
        kind = _check_dtype(dtype)
        columns = self._sample_columns(samples)
        return self._read(reg, columns, kind)

    def _read(self, region: Region | None, columns: np.ndarray | None, dtype: np.dtype) -> GenotypeData:
        raise NotImplementedError

    def _sample_columns(self, samples: Sequence[str] | None) -> np.ndarray | None:
        """File column of each requested sample, in request order (None = all samples in file order)."""
        if samples is None:
            return None
        if isinstance(samples, str):
            samples = [samples]
        wanted = [str(s) for s in samples]
        if not wanted:
            raise QtlAtlasError(
                f"{self.path}: an empty sample list was requested (pass None for all samples)"
            )
        unknown = [s for s in wanted if s not in self._sample_index]
        if unknown:
            raise InputFileError(
                self.path, f"{len(unknown)} requested sample id(s) not in the file: {_preview(unknown)}"
            )
        repeated = _duplicates(wanted)
        if repeated:
            raise QtlAtlasError(f"{self.path}: sample id(s) requested more than once: {_preview(repeated)}")
        columns = np.fromiter((self._sample_index[s] for s in wanted), dtype=np.int64, count=len(wanted))
        if len(columns) == len(self.samples) and np.array_equal(columns, np.arange(len(columns))):
            return None
        return columns

    def _sample_ids(self, columns: np.ndarray | None) -> list[str]:
        if columns is None:
            return list(self.samples)
        return [self.samples[i] for i in columns]


def _as_region(region: str | Region | None) -> Region | None:
    if region is None or isinstance(region, Region):
        return region
    try:
        return parse_region(region)
    except ValueError as exc:
        raise InvalidRegionError(str(exc)) from None


def _check_dtype(dtype) -> np.dtype:
    try:
        kind = np.dtype(dtype)
    except TypeError:
        kind = None
    if kind not in (np.dtype(np.int8), np.dtype(np.float32)):
        raise ValueError(f"dtype must be 'int8' or 'float32', not {dtype!r}")
    return kind


def _preview(items: Sequence[str]) -> str:
    shown = ", ".join(str(x) for x in items[:_PREVIEW])
    return shown + (f", … ({len(items)} in all)" if len(items) > _PREVIEW else "")


def _duplicates(ids: Sequence[str]) -> list[str]:
    seen: set[str] = set()
    dups: dict[str, None] = {}
    for s in ids:
        if s in seen:
            dups[s] = None
        seen.add(s)
    return list(dups)


def _check_unique_samples(ids: list[str], path: str) -> None:
    dups = _duplicates(ids)
    if dups:
        raise InputFileError(path, f"duplicate sample id(s): {_preview(dups)}")


def _sorted_with_order(columns: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Sorted file columns to decode, and the permutation putting them back in request order (None = same)."""
    ordered = np.sort(columns)
    perm = np.searchsorted(ordered, columns)
    return ordered, (None if np.array_equal(perm, np.arange(len(perm))) else perm)


# ----------------------------------------------------------------------------------------------------------
# Text tables (.bim, .fam, .pvar, .psam)
# ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _TableSpec:
    """How to read a delimited text table.

    ``n_fields`` fields per line (exactly, or at least when ``exact`` is False), of which ``usecols`` are kept
    (all fields are read when ``exact``), ``int_cols`` parsed as int64; ``skip`` header lines.
    """

    n_fields: int
    usecols: tuple[int, ...]
    int_cols: tuple[int, ...] = ()
    whitespace: bool = True
    exact: bool = True
    skip: int = 0

    @property
    def columns(self) -> tuple[int, ...]:
        """The fields pandas reads (and that must be non-empty)."""
        return tuple(range(self.n_fields)) if self.exact else self.usecols


def _read_table(path: str, spec: _TableSpec, what: str) -> pd.DataFrame:
    """Read the table fast with pandas; on any problem find the first bad line and raise InputFileError."""
    try:
        frame = _pandas_table(path, spec)
    except pd.errors.EmptyDataError:
        raise InputFileError(path, f"{what} contains no data lines") from None
    except (ValueError, OverflowError) as exc:  # ParserError and UnicodeDecodeError are ValueErrors
        _diagnose_table(path, spec, what)
        raise InputFileError(path, f"cannot parse {what}: {exc}") from None
    if frame.shape[0] == 0:
        raise InputFileError(path, f"{what} contains no data lines")
    if (spec.exact and frame.shape[1] != spec.n_fields) or _has_empty_field(frame, spec):
        _diagnose_table(path, spec, what)
        raise InputFileError(path, f"malformed {what}: expected {spec.n_fields} non-empty fields per line")
    return frame


def _pandas_table(path: str, spec: _TableSpec) -> pd.DataFrame:
    return pd.read_csv(
        path,
        sep=r"\s+" if spec.whitespace else "\t",
        header=None,
        skiprows=spec.skip,
        usecols=None if spec.exact else list(spec.usecols),
        dtype={c: (np.int64 if c in spec.int_cols else str) for c in spec.columns},
        na_filter=False,
        engine="c",
    )


def _has_empty_field(frame: pd.DataFrame, spec: _TableSpec) -> bool:
    return any((frame[c] == "").any() for c in frame.columns if c not in spec.int_cols)


def _diagnose_table(path: str, spec: _TableSpec, what: str) -> None:
    """Raise InputFileError at the first line with a wrong field count or a non-integer integer field."""
    with open_text(path) as handle:
        for number, line in enumerate(handle, start=1):
            if number <= spec.skip or not line.strip():
                continue
            fields = line.split() if spec.whitespace else line.rstrip("\r\n").split("\t")
            problem = _line_problem(fields, spec)
            if problem:
                raise InputFileError(path, f"malformed {what} line: {problem}", line=number)


def _line_problem(fields: list[str], spec: _TableSpec) -> str | None:
    n = len(fields)
    if (spec.exact and n != spec.n_fields) or n < spec.n_fields:
        need = f"{spec.n_fields}" if spec.exact else f"at least {spec.n_fields}"
        return f"expected {need} fields, found {n}"
    for c in spec.columns:
        if c not in spec.int_cols and fields[c] == "":
            return f"field {c + 1} is empty"
    for c in spec.int_cols:
        try:
            int(fields[c])
        except ValueError:
            return f"field {c + 1} is not an integer: {fields[c]!r}"
    return None


def _header_lines(path: str) -> tuple[int, list[str] | None]:
    """PLINK 2 header: (number of lines before the data, column names of the ``#`` line or None)."""
    skip = 0
    with open_text(path) as handle:
        for line in handle:
            if line.startswith("##"):
                skip += 1
                continue
            if line.startswith("#"):
                return skip + 1, line[1:].split()
            return skip, None
    return skip, None


# ----------------------------------------------------------------------------------------------------------
# PLINK (shared)
# ----------------------------------------------------------------------------------------------------------


class _PlinkReader(GenotypeReader):
    """Shared region selection over an in-memory variant table."""

    def __init__(self, path: str, samples: list[str], variants: pd.DataFrame, multiallelic: str):
        super().__init__(path, samples, multiallelic)
        self._variants = variants
        self._codes, cats = pd.factorize(variants["chrom"])
        self._cat_keys = np.array([chrom_key(c) for c in cats], dtype=object)
        self._pos = variants["pos"].to_numpy()

    @property
    def variants(self) -> pd.DataFrame:
        return self._variants

    def _rows(self, region: Region | None) -> np.ndarray | slice:
        """Variant-table rows inside ``region``: a slice when contiguous, else int64 indices (file order)."""
        if region is None:
            return slice(0, len(self._variants))
        rows = np.flatnonzero(_region_mask(self._codes, self._cat_keys, self._pos, region))
        if len(rows) == 0:
            return slice(0, 0)
        if rows[-1] - rows[0] + 1 == len(rows):
            return slice(int(rows[0]), int(rows[-1]) + 1)
        return rows

    def read_rows(self, rows: np.ndarray, *, dtype: str = "int8") -> np.ndarray:
        """``(len(rows), n_samples)`` counts of the counted allele at rows ``rows`` (ascending) of
        :attr:`variants`, every sample in file order (missing as in :meth:`read`); only those rows are decoded."""
        rows = np.asarray(rows, dtype=np.int64)
        return self._decode_rows(rows, _check_dtype(dtype))

    def _decode_rows(self, rows: np.ndarray, dtype: np.dtype) -> np.ndarray:
        raise NotImplementedError

    def _result(self, rows, dosages: np.ndarray, columns, multi: int) -> GenotypeData:
        table = self._variants.iloc[rows].reset_index(drop=True)
        return GenotypeData(dosages, table, self._sample_ids(columns), _count_missing(dosages), multi)


def _region_mask(codes: np.ndarray, cat_keys: np.ndarray, pos: np.ndarray, region: Region) -> np.ndarray:
    """Boolean mask of rows on ``region``'s chromosome (by chrom_key) with ``start <= pos <= end``."""
    hits = np.flatnonzero(cat_keys == region.key)
    mask = np.isin(codes, hits) & (pos >= region.start)
    if region.end is not None:
        mask &= pos <= region.end
    return mask


def _missing_fileset(prefix: str, suffixes: Sequence[str], label: str) -> None:
    names = [prefix + s for s in suffixes]
    for name in names:
        if not os.path.isfile(name):
            others = ", ".join(os.path.basename(n) for n in names if n != name)
            raise InputFileError(name, f"not found; a {label} fileset needs it next to {others}")


# ----------------------------------------------------------------------------------------------------------
# PLINK 1
# ----------------------------------------------------------------------------------------------------------

_BED_MAGIC = (0x6C, 0x1B)
_BIM_SPEC = _TableSpec(n_fields=6, usecols=(0, 1, 3, 4, 5), int_cols=(3,))
_FAM_SPEC = _TableSpec(n_fields=6, usecols=(0, 1, 2, 3, 4, 5))
# PLINK 1 2-bit codes -> copies of A1: 00 hom A1, 01 missing, 10 het, 11 hom A2.
_BED_CODE_TO_A1 = np.array([2, MISSING_INT8, 1, 0], dtype=np.int8)


def _bed_lookup() -> np.ndarray:
    """(256,) uint32 whose 4 bytes are the int8 calls of the 4 samples packed in one .bed byte."""
    byte = np.arange(256)[:, None]
    shifts = 2 * np.arange(4)[None, :]
    calls = _BED_CODE_TO_A1[(byte >> shifts) & 3]
    return np.ascontiguousarray(calls).view(np.uint32).ravel()


_BED_LUT = _bed_lookup()


class Plink1Reader(_PlinkReader):
    """PLINK 1 binary fileset; ALT = ``.bim`` column 5 (A1), the counted allele."""

    format = "plink1"

    def __init__(self, prefix: str, multiallelic: str = "skip"):
        _missing_fileset(prefix, (".bed", ".bim", ".fam"), "PLINK 1")
        bed, bim, fam = prefix + ".bed", prefix + ".bim", prefix + ".fam"
        variants = read_bim(bim)
        samples = read_fam(fam)
        _check_bed(bed, bim, fam, len(variants), len(samples))
        super().__init__(bed, samples, variants, multiallelic)
        self._bytes_per_variant = math.ceil(len(samples) / 4)

    @property
    def multiallelic_records(self) -> int:
        return 0

    def _read(self, region, columns, dtype) -> GenotypeData:
        rows = self._rows(region)
        calls = self._decode(rows, columns)
        dosages = calls if dtype == np.int8 else _to_float32(calls)
        return self._result(rows, dosages, columns, 0)

    def _decode_rows(self, rows: np.ndarray, dtype: np.dtype) -> np.ndarray:
        calls = self._decode(rows, None)
        return calls if dtype == np.int8 else _to_float32(calls)

    def _decode(self, rows, columns: np.ndarray | None) -> np.ndarray:
        """int8 ``(n_rows, n_columns)`` A1 counts of the selected rows, reading only those rows' bytes."""
        n_rows = len(range(*rows.indices(len(self._variants)))) if isinstance(rows, slice) else len(rows)
        n_out = len(self.samples) if columns is None else len(columns)
        if n_rows == 0:
            return np.empty((0, n_out), dtype=np.int8)
        packed = np.memmap(
            self.path,
            dtype=np.uint8,
            mode="r",
            offset=3,
            shape=(len(self._variants), self._bytes_per_variant),
        )[rows]
        if columns is None:
            return _unpack_all(packed, len(self.samples))
        return _unpack_columns(packed, columns)


def _unpack_all(packed: np.ndarray, n_samples: int) -> np.ndarray:
    """``(n, bytes_per_variant)`` uint8 .bed rows -> ``(n, n_samples)`` int8 A1 counts."""
    calls = _BED_LUT[packed].view(np.int8)
    return calls if calls.shape[1] == n_samples else np.ascontiguousarray(calls[:, :n_samples])


def _unpack_columns(packed: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """``(n, bytes_per_variant)`` uint8 .bed rows -> ``(n, len(columns))`` int8 A1 counts of those samples."""
    shifts = (2 * (columns & 3)).astype(np.uint8)
    codes = (packed[:, columns >> 2] >> shifts) & 3
    return _BED_CODE_TO_A1[codes]


def read_bim(path: str | os.PathLike) -> pd.DataFrame:
    """Variant table of a ``.bim`` (tab- or space-separated): ALT = column 5 (A1), REF = column 6 (A2)."""
    path = str(path)
    frame = _read_table(path, _BIM_SPEC, ".bim")
    return _variant_frame(frame[0], frame[3], frame[1], frame[5], frame[4])


def read_fam(path: str | os.PathLike) -> list[str]:
    """Sample ids (IID, column 2) of a ``.fam``; duplicates raise InputFileError."""
    path = str(path)
    ids = _read_table(path, _FAM_SPEC, ".fam")[1].tolist()
    _check_unique_samples(ids, path)
    return ids


def _check_bed(bed: str, bim: str, fam: str, n_variants: int, n_samples: int) -> None:
    """Check the magic bytes, SNP-major mode and size ``3 + n_variants * ceil(n_samples / 4)``."""
    size = os.path.getsize(bed)
    with open(bed, "rb") as handle:
        head = handle.read(3)
    if len(head) < 3:
        raise InputFileError(bed, f"truncated: {size} bytes, a .bed file starts with 3 magic bytes")
    if (head[0], head[1]) != _BED_MAGIC:
        raise InputFileError(
            bed, f"not a PLINK 1 .bed file: magic bytes 6c 1b expected, found {head[0]:02x} {head[1]:02x}"
        )
    if head[2] != 1:
        mode = "individual-major" if head[2] == 0 else f"unknown mode {head[2]:#04x}"
        raise InputFileError(bed, f"{mode} .bed is not supported; rewrite it SNP-major with plink --make-bed")
    per_variant = math.ceil(n_samples / 4)
    expected = 3 + n_variants * per_variant
    if size != expected:
        held = (size - 3) / per_variant
        holds = f"{int(held)} variants" if held == int(held) else f"{held:.2f} variants (truncated?)"
        raise InputFileError(
            bed,
            f"size {size} bytes does not match {os.path.basename(bim)} ({n_variants} variants) and "
            f"{os.path.basename(fam)} ({n_samples} samples): expected 3 + {n_variants} × {per_variant} = "
            f"{expected} bytes; the file holds {holds}",
        )


# ----------------------------------------------------------------------------------------------------------
# PLINK 2
# ----------------------------------------------------------------------------------------------------------

_PVAR_REQUIRED = ("CHROM", "POS", "ID", "REF", "ALT")


class Plink2Reader(_PlinkReader):
    """PLINK 2 fileset read with pgenlib; ALT (the ``.pvar`` ALT column) is counted."""

    format = "plink2"

    def __init__(self, pgen: str, pvar: str, psam: str, multiallelic: str = "skip"):
        for name in (pgen, pvar, psam):
            if not os.path.isfile(name):
                raise InputFileError(name, "not found; a PLINK 2 fileset needs .pgen, .pvar and .psam")
        table = read_pvar(pvar)
        samples = read_psam(psam)
        n_alt = table["alt"].str.count(",").to_numpy() + 1
        self._offsets = _allele_offsets(n_alt) if (n_alt > 1).any() else None
        _check_pgen(pgen, pvar, psam, len(table), len(samples), self._offsets)
        variants, self._src, self._allele = _expand_alleles(table, n_alt, multiallelic)
        super().__init__(pgen, samples, variants, multiallelic)
        multi = n_alt > 1
        self._multi_chrom = table["chrom"].to_numpy()[multi]
        self._multi_pos = table["pos"].to_numpy()[multi]

    @property
    def multiallelic_records(self) -> int:
        return len(self._multi_pos)

    def _read(self, region, columns, dtype) -> GenotypeData:
        rows = self._rows(region)
        dosages = self._decode(self._src[rows], self._allele[rows], columns, dtype)
        return self._result(rows, dosages, columns, self._multi_in(region))

    def _decode_rows(self, rows: np.ndarray, dtype: np.dtype) -> np.ndarray:
        return self._decode(self._src[rows], self._allele[rows], None, dtype)

    def _multi_in(self, region: Region | None) -> int:
        """Multi-allelic .pvar records inside ``region`` (all of them when None)."""
        if region is None or len(self._multi_pos) == 0:
            return len(self._multi_pos)
        return sum(
            region.contains(c, int(p)) for c, p in zip(self._multi_chrom, self._multi_pos, strict=True)
        )

    def _decode(self, src: np.ndarray, allele: np.ndarray, columns, dtype) -> np.ndarray:
        """``(len(src), n_columns)`` counts of ALT ``allele[i]`` at .pgen variant ``src[i]`` (missing -9/NaN)."""
        n_out = len(self.samples) if columns is None else len(columns)
        out = np.empty((len(src), n_out), dtype=dtype)
        if len(src) == 0:
            return out
        subset, perm = (None, None) if columns is None else _sorted_with_order(columns)
        reader = _open_pgen(self.path, len(self.samples), subset, self._offsets)
        try:
            for k in np.unique(allele):
                sel = allele == k
                out[sel] = _pgen_rows(reader, self.path, src[sel], int(k), n_out, dtype)
        finally:
            reader.close()
        if dtype == np.float32:
            out[out == MISSING_INT8] = np.nan
        return out if perm is None else out[:, perm]


def _pgen_rows(reader, path: str, src: np.ndarray, allele_idx: int, n_out: int, dtype) -> np.ndarray:
    """``(len(src), n_out)`` counts of ALT ``allele_idx`` at sorted .pgen variants ``src`` (missing = -9)."""
    buf = np.empty((len(src), n_out), dtype=dtype)
    first, stop = int(src[0]), int(src[-1]) + 1
    contiguous = stop - first == len(src)
    try:
        if dtype == np.int8 and contiguous:
            reader.read_range(first, stop, buf, allele_idx=allele_idx)
        elif dtype == np.int8:
            reader.read_list(src.astype(np.uint32), buf, allele_idx=allele_idx)
        elif contiguous:
            reader.read_dosages_range(first, stop, buf, allele_idx=allele_idx)
        else:
            reader.read_dosages_list(src.astype(np.uint32), buf, allele_idx=allele_idx)
    except RuntimeError as exc:
        raise InputFileError(path, f"cannot decode genotypes: {_pgen_message(exc)}") from None
    return buf


def _open_pgen(path: str, n_samples: int, subset: np.ndarray | None, offsets: np.ndarray | None):
    """A pgenlib.PgenReader over the sorted sample ``subset`` (all when None); errors -> InputFileError."""
    import pgenlib

    kwargs: dict = {"raw_sample_ct": n_samples}
    if subset is not None:
        kwargs["sample_subset"] = subset.astype(np.uint32)
    if offsets is not None:
        kwargs["allele_idx_offsets"] = offsets
    try:
        return pgenlib.PgenReader(os.fsencode(path), **kwargs)
    except RuntimeError as exc:
        raise InputFileError(path, _pgen_message(exc)) from None


def _pgen_message(exc: Exception) -> str:
    text = exc.args[0] if exc.args else str(exc)
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return str(text).strip()


def _check_pgen(pgen: str, pvar: str, psam: str, n_variants: int, n_samples: int, offsets) -> None:
    """Open the .pgen once: magic, sample count and variant count must agree with .psam and .pvar."""
    reader = _open_pgen(pgen, n_samples, None, offsets)
    held = reader.get_variant_ct()
    reader.close()
    if held != n_variants:
        raise InputFileError(
            pgen,
            f"holds {held} variants but {os.path.basename(pvar)} lists {n_variants} "
            f"(and {os.path.basename(psam)} {n_samples} samples)",
        )


def _allele_offsets(n_alt: np.ndarray) -> np.ndarray:
    """pgenlib ``allele_idx_offsets``: ``(n_variants + 1,)`` cumulative allele counts (REF + ALTs)."""
    return np.concatenate([[0], np.cumsum(n_alt + 1)]).astype(np.uintp)


def _expand_alleles(table: pd.DataFrame, n_alt: np.ndarray, multiallelic: str):
    """Apply the multi-allelic policy: (variant table, source .pgen index, ALT index per row)."""
    if not (n_alt > 1).any():
        return table, np.arange(len(table), dtype=np.int64), np.ones(len(table), dtype=np.int64)
    if multiallelic == "skip":
        keep = np.flatnonzero(n_alt == 1)
        return table.iloc[keep].reset_index(drop=True), keep.astype(np.int64), np.ones(len(keep), np.int64)
    src = np.repeat(np.arange(len(table), dtype=np.int64), n_alt)
    starts = np.repeat(np.cumsum(n_alt) - n_alt, n_alt)
    allele = np.arange(len(src), dtype=np.int64) - starts + 1
    expanded = table.iloc[src].reset_index(drop=True)
    expanded["alt"] = [a for alts in table["alt"] for a in alts.split(",")]
    return expanded.astype({"alt": str}), src, allele


def read_pvar(path: str | os.PathLike) -> pd.DataFrame:
    """Variant table of a ``.pvar`` (or ``.pvar.gz``): ``#CHROM POS ID REF ALT …`` header, or .bim-like."""
    path = str(path)
    if path.endswith(".zst"):
        raise InputFileError(path, "zstd-compressed .pvar is not supported; decompress it (zstd -d)")
    skip, header = _header_lines(path)
    if header is None:
        return _read_headerless_pvar(path, skip)
    missing = [c for c in _PVAR_REQUIRED if c not in header]
    if missing:
        raise InputFileError(path, f"header lacks column(s) {', '.join(missing)}", line=skip)
    cols = tuple(header.index(c) for c in _PVAR_REQUIRED)
    spec = _TableSpec(
        max(cols) + 1, tuple(sorted(cols)), int_cols=(cols[1],), whitespace=False, exact=False, skip=skip
    )
    frame = _read_table(path, spec, ".pvar")
    return _variant_frame(*(frame[c] for c in cols))


def _read_headerless_pvar(path: str, skip: int) -> pd.DataFrame:
    """A .pvar without header: ``CHROM ID [CM] POS ALT REF`` (the .bim layout, CM optional)."""
    with open_text(path) as handle:
        lines = (line for i, line in enumerate(handle) if i >= skip and line.strip())
        first = next(lines, "")
    n = len(first.split())
    if n not in (5, 6):
        raise InputFileError(path, f"headerless .pvar needs 5 or 6 columns, found {n}", line=skip + 1)
    chrom, vid, pos, alt, ref = (0, 1, 2, 3, 4) if n == 5 else (0, 1, 3, 4, 5)
    spec = _TableSpec(n, (chrom, vid, pos, alt, ref), int_cols=(pos,), skip=skip)
    frame = _read_table(path, spec, ".pvar")
    return _variant_frame(frame[chrom], frame[pos], frame[vid], frame[ref], frame[alt])


def read_psam(path: str | os.PathLike) -> list[str]:
    """Sample ids (IID) of a ``.psam`` (``#FID IID …`` or ``#IID …`` header) or of a headerless .fam-like file."""
    path = str(path)
    skip, header = _header_lines(path)
    if header is None:
        return read_fam(path)
    if "IID" not in header:
        raise InputFileError(path, "header lacks the IID column", line=skip)
    iid = header.index("IID")
    spec = _TableSpec(iid + 1, (iid,), exact=False, skip=skip)
    ids = _read_table(path, spec, ".psam")[iid].tolist()
    _check_unique_samples(ids, path)
    return ids


# ----------------------------------------------------------------------------------------------------------
# VCF / BCF
# ----------------------------------------------------------------------------------------------------------


class VcfReader(GenotypeReader):
    """VCF / BCF read with cyvcf2; ALT is counted. Indexed (.tbi/.csi) files answer regions by index.

    Opening reads only the header; :attr:`variants` scans the records (without genotypes) on first use.
    """

    format = "vcf"

    def __init__(self, path: str, multiallelic: str = "skip"):
        vcf = _open_vcf(path)
        samples = list(vcf.samples)
        if not samples:
            raise InputFileError(path, "the VCF has no samples")
        _check_unique_samples(samples, path)
        super().__init__(path, samples, multiallelic)
        fields = _format_fields(vcf)
        self._has_gt = "GT" in fields
        self._ds_number = fields.get("DS")
        vcf.close()
        if not self._has_gt and self._ds_number is None:
            raise InputFileError(path, "the VCF declares neither a GT nor a DS FORMAT field")
        self._index = _vcf_index(path)
        self._variants: pd.DataFrame | None = None
        self._n_multi: int | None = None
        self._index_contigs: list[str] | None = None

    @property
    def indexed(self) -> bool:
        """Whether a tabix (.tbi) or CSI (.csi) index sits next to the file."""
        return self._index is not None

    @property
    def variants(self) -> pd.DataFrame:
        if self._variants is None:
            self._scan()
        return self._variants

    @property
    def multiallelic_records(self) -> int:
        if self._n_multi is None:
            self._scan()
        return self._n_multi

    def chromosomes(self) -> list[str]:
        """Chromosomes with records; from the index when there is one (a BCF's CSI may list empty contigs)."""
        if self.indexed:
            return list(self._contigs())
        return super().chromosomes()

    def iter_variants(self, chunk_rows: int = 262_144) -> Iterator[pd.DataFrame]:
        """The variant table in chunks of at most ``chunk_rows`` rows, read from the file as it goes (the
        whole table is never held) unless :attr:`variants` was already read."""
        if self._variants is not None:
            yield from super().iter_variants(chunk_rows)
            return
        vcf = _open_vcf(self.path)
        vcf.set_samples([])
        meta = _Meta()
        try:
            for rec in self._guarded(vcf, None):
                meta.add_record(rec, self.multiallelic)
                if len(meta.id) >= chunk_rows:
                    yield meta.frame()
                    meta = _Meta(n_multi=meta.n_multi)
        finally:
            vcf.close()
        if meta.id:
            yield meta.frame()
        self._n_multi = meta.n_multi

    def _scan(self) -> None:
        """Read the variant table of the whole file, skipping the sample columns."""
        chunks = list(self.iter_variants())
        self._variants = pd.concat(chunks, ignore_index=True) if chunks else _Meta().frame()

    def _read(self, region, columns, dtype) -> GenotypeData:
        subset, perm = (None, None) if columns is None else _sorted_with_order(columns)
        names = None if subset is None else [self.samples[i] for i in subset]
        vcf = _open_vcf(self.path, names)
        decoder = _VcfDecoder(
            len(self.samples) if subset is None else len(subset), dtype, self._has_gt, self._ds_number
        )
        meta = _Meta()
        try:
            for rec in self._guarded(vcf, region):
                for k in meta.add_record(rec, self.multiallelic):
                    decoder.add(rec, k)
        finally:
            vcf.close()
        dosages = decoder.result()
        if perm is not None:
            dosages = dosages[:, perm]
        return GenotypeData(
            dosages, meta.frame(), self._sample_ids(columns), _count_missing(dosages), meta.n_multi
        )

    def _records(self, vcf, region: Region | None) -> Iterator:
        """Records of ``region`` (POS inside it), by index query when indexed, else by a streaming scan."""
        if region is None:
            yield from vcf
            return
        if self.indexed:
            for name in self._contigs():
                if chrom_key(name) == region.key:
                    yield from _in_region(vcf(_htslib_region(name, region)), region)
            return
        keys: dict[str, str] = {}
        for rec in vcf:
            chrom = rec.CHROM
            key = keys.get(chrom) or keys.setdefault(chrom, chrom_key(chrom))
            if (
                key == region.key
                and rec.POS >= region.start
                and (region.end is None or rec.POS <= region.end)
            ):
                yield rec

    def _guarded(self, vcf, region: Region | None) -> Iterator:
        """Iterate records, turning htslib parse failures into InputFileError (with the line when known)."""
        it = self._records(vcf, region)
        count, last = 0, None
        while True:
            try:
                rec = next(it)
            except StopIteration:
                return
            except Exception as exc:  # cyvcf2 raises bare Exception on malformed records
                raise self._record_error(exc, count, last, region) from None
            count += 1
            last = f"{rec.CHROM}:{rec.POS}"
            yield rec

    def _record_error(self, exc: Exception, count: int, last: str | None, region) -> InputFileError:
        after = f" after {last}" if last else ""
        line = None
        if region is None and not self.path.endswith(".bcf"):
            header = _vcf_header_line_count(self.path)
            line = None if header is None else header + count + 1
        return InputFileError(self.path, f"malformed VCF record{after}: {exc}", line=line)

    def _contigs(self) -> list[str]:
        if self._index_contigs is None:
            self._index_contigs = _index_contigs(self.path, self._index)
        return self._index_contigs


class _Meta:
    """Accumulates the variant table of the rows a VCF read emits."""

    def __init__(self, n_multi: int = 0):
        self.chrom: list[str] = []
        self.pos: list[int] = []
        self.id: list[str] = []
        self.ref: list[str] = []
        self.alt: list[str] = []
        self.n_multi = n_multi

    def add_record(self, rec, multiallelic: str) -> list[int]:
        """Add the rows of one record; return the ALT indices (1-based) they count."""
        alts = rec.ALT or ["."]
        if len(alts) > 1:
            self.n_multi += 1
            if multiallelic == "skip":
                return []
        chrom, pos, vid, ref = rec.CHROM, rec.POS, rec.ID or ".", rec.REF
        for alt in alts:
            self.chrom.append(chrom)
            self.pos.append(pos)
            self.id.append(vid)
            self.ref.append(ref)
            self.alt.append(alt)
        return list(range(1, len(alts) + 1))

    def frame(self) -> pd.DataFrame:
        return _variant_frame(self.chrom, self.pos, self.id, self.ref, self.alt)


class _VcfDecoder:
    """Turns records into rows of ALT counts, decoding in vectorised chunks of ``_VCF_CHUNK`` rows."""

    def __init__(self, n_samples: int, dtype: np.dtype, has_gt: bool, ds_number: str | None):
        self.n_samples, self.dtype, self.has_gt = n_samples, dtype, has_gt
        self.use_ds = ds_number is not None and (dtype == np.float32 or not has_gt)
        self.ds_per_alt = ds_number == "A"
        self.blocks: list[np.ndarray] = []
        self._reset()

    def _reset(self) -> None:
        self.gts: list[np.ndarray | None] = []
        self.alleles: list[int] = []
        self.ds: list[np.ndarray | None] = []

    def add(self, rec, k: int) -> None:
        """Queue the row counting ALT allele ``k`` (1-based) of ``rec``."""
        self.gts.append(self._calls(rec) if self.has_gt else None)
        self.alleles.append(k)
        self.ds.append(self._ds_column(rec, k) if self.use_ds else None)
        if len(self.alleles) >= _VCF_CHUNK:
            self._flush()

    def _calls(self, rec) -> np.ndarray:
        """cyvcf2 ``genotype.array()``; a record without GT gives all-missing diploid calls."""
        try:
            return rec.genotype.array()
        except Exception:  # cyvcf2: "couldn't get genotypes for variant"
            calls = np.full((self.n_samples, 3), -1, dtype=np.int16)
            calls[:, 2] = 0
            return calls

    def _ds_column(self, rec, k: int) -> np.ndarray | None:
        """``(n_samples,)`` float32 DS of ALT ``k`` (NaN where absent), or None when DS cannot apply."""
        values = rec.format("DS")
        if values is None:
            return None
        if self.ds_per_alt and k <= values.shape[1]:
            return values[:, k - 1].astype(np.float32)
        if not self.ds_per_alt and len(rec.ALT) <= 1:
            return values[:, 0].astype(np.float32)
        return None

    def _flush(self) -> None:
        if not self.alleles:
            return
        counts = self._gt_counts()
        if self.dtype == np.float32:
            block = self._float_block(counts)
        else:
            block = counts if self.has_gt else self._int_from_ds()
        self.blocks.append(block)
        self._reset()

    def _gt_counts(self) -> np.ndarray:
        """``(rows, n_samples)`` int8 ALT counts from GT (missing = MISSING_INT8)."""
        if not self.has_gt:
            return np.full((len(self.alleles), self.n_samples), MISSING_INT8, dtype=np.int8)
        return _gt_allele_counts(self.gts, np.asarray(self.alleles))

    def _float_block(self, counts: np.ndarray) -> np.ndarray:
        block = _to_float32(counts)
        for i, ds in enumerate(self.ds):
            if ds is not None:
                block[i] = np.where(np.isnan(ds), block[i], ds)
        return block

    def _int_from_ds(self) -> np.ndarray:
        """Hard calls rounded from DS, for files without GT."""
        block = np.full((len(self.alleles), self.n_samples), MISSING_INT8, dtype=np.int8)
        for i, ds in enumerate(self.ds):
            if ds is not None:
                ok = ~np.isnan(ds)
                block[i, ok] = np.clip(np.rint(ds[ok]), 0, 2).astype(np.int8)
        return block

    def result(self) -> np.ndarray:
        """All queued rows: ``(n_rows, n_samples)`` of ``dtype``."""
        self._flush()
        if not self.blocks:
            return np.empty((0, self.n_samples), dtype=self.dtype)
        return self.blocks[0] if len(self.blocks) == 1 else np.concatenate(self.blocks)


def _gt_allele_counts(gts: Sequence[np.ndarray], alleles: np.ndarray) -> np.ndarray:
    """Copies of allele ``alleles[i]`` in each sample's GT; ``(len(gts), n_samples)`` int8.

    ``gts[i]`` is cyvcf2's ``genotype.array()``: ``(n_samples, ploidy + 1)`` int16 allele indices (-1 missing,
    -2 end of a shorter call) with the phase flag last. A call with any missing allele is MISSING_INT8; a
    haploid call counts twice (0 or 2).
    """
    calls = _stack_calls(gts)
    shape = calls.shape[:2]
    target = alleles.astype(np.int16)[:, None]
    counts = np.zeros(shape, dtype=np.int8)
    ploidy = np.zeros(shape, dtype=np.int8)
    missing = np.zeros(shape, dtype=bool)
    for j in range(calls.shape[2]):  # a loop over the (tiny) ploidy axis beats numpy reductions over it
        allele = calls[:, :, j]
        counts += allele == target
        ploidy += allele != -2
        missing |= allele == -1
    counts[ploidy == 1] *= 2
    counts[missing | (ploidy == 0)] = MISSING_INT8
    return counts


def _stack_calls(gts: Sequence[np.ndarray]) -> np.ndarray:
    """``(rows, n_samples, max_ploidy)`` int16 allele indices, shorter calls padded with -2."""
    widths = {g.shape[1] - 1 for g in gts}
    if len(widths) == 1:
        return np.stack(gts)[:, :, :-1]
    calls = np.full((len(gts), gts[0].shape[0], max(widths)), -2, dtype=np.int16)
    for i, g in enumerate(gts):
        calls[i, :, : g.shape[1] - 1] = g[:, :-1]
    return calls


def _open_vcf(path: str, samples: list[str] | None = None):
    """A cyvcf2.VCF (lazy FORMAT parsing), optionally restricted to ``samples``; errors -> InputFileError."""
    import cyvcf2

    try:
        return cyvcf2.VCF(path, lazy=True, samples=samples)
    except OSError as exc:
        raise InputFileError(path, f"not a readable VCF/BCF file ({_first_line(exc)})") from None
    except Exception as exc:  # cyvcf2 raises bare Exception for a header htslib rejects
        _check_header_samples(path)
        raise InputFileError(path, f"cannot parse the VCF header ({_first_line(exc)})") from None


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _check_header_samples(path: str) -> None:
    """For a text VCF htslib refused: name duplicate sample ids of the ``#CHROM`` line, if any."""
    if path.endswith(".bcf"):
        return
    try:
        with open_text(path) as handle:
            for number, line in enumerate(handle, start=1):
                if line.startswith("#CHROM"):
                    dups = _duplicates(line.rstrip("\r\n").split("\t")[9:])
                    if dups:
                        raise InputFileError(path, f"duplicate sample id(s): {_preview(dups)}", line=number)
                    return
                if not line.startswith("#"):
                    return
    except (OSError, EOFError, gzip.BadGzipFile):
        return


def _vcf_header_line_count(path: str) -> int | None:
    """Number of ``#`` header lines at the top of a text VCF (None when it cannot be read as text)."""
    count = 0
    try:
        with open_text(path) as handle:
            for line in handle:
                if not line.startswith("#"):
                    break
                count += 1
    except (OSError, EOFError):
        return None
    return count


def _format_fields(vcf) -> dict[str, str]:
    """FORMAT fields the header declares: ``{ID: Number}``."""
    fields = {}
    for line in vcf.header_iter():
        info = line.info()
        if info.get("HeaderType") == "FORMAT" and "ID" in info:
            fields[info["ID"]] = str(info.get("Number"))
    return fields


def _vcf_index(path: str) -> str | None:
    if not path.endswith((".gz", ".bgz", ".bcf")):
        return None
    for suffix in (".tbi", ".csi"):
        if os.path.isfile(path + suffix):
            return path + suffix
    return None


def _index_contigs(path: str, index: str | None) -> list[str]:
    """Contig names the tabix/CSI index knows, in index order."""
    import pysam

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pysam.VariantFile(path, index_filename=index) as handle:
                return [str(c) for c in handle.index.keys()]
    except (OSError, ValueError) as exc:
        raise InputFileError(index or path, f"cannot read the index ({exc})") from None


def _htslib_region(name: str, region: Region) -> str:
    if region.start <= 1 and region.end is None:
        return name
    end = region.end if region.end is not None else _HTSLIB_MAX_POS
    return f"{name}:{region.start}-{end}"


def _in_region(records: Iterable, region: Region) -> Iterator:
    """Keep records whose POS lies in the region (an index query also returns overlapping deletions)."""
    for rec in records:
        if rec.POS >= region.start and (region.end is None or rec.POS <= region.end):
            yield rec


# ----------------------------------------------------------------------------------------------------------
# Opening
# ----------------------------------------------------------------------------------------------------------


def open_genotypes(path_or_prefix: str | os.PathLike, *, multiallelic: str = "skip") -> GenotypeReader:
    """Open genotypes: a PLINK prefix, a ``.bed``/``.bim``/``.fam`` or ``.pgen``/``.pvar``/``.psam`` path, or a
    VCF/BCF file. Only the variant table and samples are read (for VCF, the header only).

    A bare prefix with both filesets prefers PLINK 2 (``prefix.pgen``), then PLINK 1 (``prefix.bed``).
    ``multiallelic``: ``"skip"`` (drop records with several ALT alleles) or ``"split"`` (one row per ALT).
    """
    if multiallelic not in MULTIALLELIC_MODES:
        raise ValueError(f"multiallelic must be one of {MULTIALLELIC_MODES}, not {multiallelic!r}")
    path = os.fspath(path_or_prefix)
    if os.path.isdir(path):
        raise InputFileError(path, "is a directory, not a genotype file or PLINK prefix")
    lower = path.lower()
    for suffix in (".bed", ".bim", ".fam"):
        if lower.endswith(suffix):
            return Plink1Reader(path[: -len(suffix)], multiallelic)
    for suffix in (".pgen", ".pvar", ".psam", ".pvar.gz", ".pvar.zst"):
        if lower.endswith(suffix):
            return _open_plink2(path[: -len(suffix)], multiallelic)
    if lower.endswith(_VCF_SUFFIXES) or os.path.isfile(path):
        if not os.path.isfile(path):
            raise InputFileError(path, "not found")
        return VcfReader(path, multiallelic)
    return _open_prefix(path, multiallelic)


def _open_prefix(prefix: str, multiallelic: str) -> GenotypeReader:
    def exists(suffix: str) -> bool:
        return os.path.isfile(prefix + suffix)

    if exists(".pgen") or exists(".pvar") or exists(".psam"):
        return _open_plink2(prefix, multiallelic)
    if exists(".bed") or exists(".bim") or exists(".fam"):
        return Plink1Reader(prefix, multiallelic)
    raise InputFileError(
        prefix,
        "no genotypes found: expected a VCF/BCF file or a PLINK prefix with PREFIX.bed/.bim/.fam "
        "or PREFIX.pgen/.pvar/.psam",
    )


def _open_plink2(prefix: str, multiallelic: str) -> Plink2Reader:
    pvar = next(
        (prefix + s for s in (".pvar", ".pvar.gz", ".pvar.zst") if os.path.isfile(prefix + s)),
        prefix + ".pvar",
    )
    return Plink2Reader(prefix + ".pgen", pvar, prefix + ".psam", multiallelic)


def read_genotypes(
    path: str | os.PathLike,
    region: str | Region | None = None,
    *,
    samples: Sequence[str] | None = None,
    dtype: str = "int8",
    multiallelic: str = "skip",
) -> GenotypeData:
    """Open ``path`` (see :func:`open_genotypes`) and read ``region`` for ``samples`` (see :meth:`GenotypeReader.read`)."""
    return open_genotypes(path, multiallelic=multiallelic).read(region, samples=samples, dtype=dtype)
