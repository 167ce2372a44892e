"""Dosages of chosen variants in a built release, read from its genotype matrix (for exports of its TWAS weights).

The release's ``tables/genotype_matrix.bed`` (:mod:`qtlatlas.release.genotype_matrix`) holds the ALT-allele
dosage (0, 1, 2 or missing) of every genotyped variant, one row per row of ``tables/variants_by_position.arrow``,
one column per line of ``genotype_matrix.samples.txt``. :class:`ReleaseGenotypes` finds the rows of given
variants (by id, position and allele pair, one pass over ``variants_by_position``), the columns of the samples
of one tissue × modality (``tables/samples.parquet``), and reads those rows as float64 dosages.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import InputFileError
from ..release import layout

#: Columns of :meth:`ReleaseGenotypes.locate`'s answer.
LOCATED_COLUMNS = ["variant_id", "chrom", "pos", "ref", "alt", "row"]


@dataclass(frozen=True)
class TrainingSamples:
    """The matrix columns a panel's weights were fitted on.

    Attributes:
        keep: ``(n_matrix_samples,)`` bool, the columns used.
        source: how they were chosen, in words (for messages and docs).
    """

    keep: np.ndarray
    source: str

    @property
    def n(self) -> int:
        return int(self.keep.sum())


class ReleaseGenotypes:
    """The genotype matrix of one release.

    Raises:
        InputFileError: the release has no genotype matrix (built before it was published) or the matrix does
            not have one row per variant of ``variants_by_position``.
    """

    def __init__(self, release_dir: str | os.PathLike[str]):
        from ..store.ld import GenotypeMatrix

        self.release_dir = os.fspath(release_dir)
        self.matrix_path = os.path.join(self.release_dir, layout.table_path("genotype_matrix"))
        self.positions_path = os.path.join(self.release_dir, layout.table_path("variants_by_position"))
        for path in (self.matrix_path, self.positions_path):
            if not os.path.isfile(path):
                raise InputFileError(path, "missing: the release has no genotype matrix (releases built before it "
                                           "was published cannot be exported; rebuild the release)")
        self.n_variants = self._count_rows()
        try:
            self.matrix = GenotypeMatrix(self.matrix_path, self.n_variants)
        except ValueError as e:
            raise InputFileError(self.matrix_path, f"does not match {layout.table_path('variants_by_position')}: "
                                                   f"{e}") from None
        self.samples: list[str] = self.matrix.samples

    def close(self) -> None:
        self.matrix.close()

    def __enter__(self) -> ReleaseGenotypes:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _batches(self) -> Iterable:
        import pyarrow as pa

        with pa.ipc.open_file(pa.memory_map(self.positions_path)) as f:
            for i in range(f.num_record_batches):
                yield f.get_batch(i)

    def _count_rows(self) -> int:
        return sum(b.num_rows for b in self._batches())

    def locate(self, variant_ids: Iterable[str]) -> pd.DataFrame:
        """The variants of the release whose id is one of ``variant_ids``: :data:`LOCATED_COLUMNS`, ``row`` the
        matrix row (every variant with such an id, in matrix order; one pass over ``variants_by_position``,
        holding only the matches)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        wanted = pa.array(sorted(set(map(str, variant_ids))), type=pa.string())
        parts, offset = [], 0
        for batch in self._batches():
            ids = batch.column(batch.schema.get_field_index("variant_id")).cast(pa.string())
            at = np.flatnonzero(pc.is_in(ids, value_set=wanted).to_numpy(zero_copy_only=False))
            if len(at):
                part = pa.Table.from_batches([batch]).select(LOCATED_COLUMNS[:5]).take(pa.array(at)).to_pandas()
                part["row"] = offset + at
                parts.append(part)
            offset += batch.num_rows
        if not parts:
            return pd.DataFrame({c: pd.Series(dtype=np.int64 if c in ("pos", "row") else object)
                                 for c in LOCATED_COLUMNS})
        out = pd.concat(parts, ignore_index=True)
        out["pos"] = out["pos"].astype(np.int64)
        out["row"] = out["row"].astype(np.int64)
        return out[LOCATED_COLUMNS]

    def training_samples(self, tissue: str, modality: str) -> TrainingSamples:
        """The samples of ``tissue`` measured for ``modality`` (``tables/samples.parquet``: sample ids are the
        genotype ids) that are genotyped; every genotyped sample when the release records no such sample."""
        path = os.path.join(self.release_dir, layout.table_path("samples"))
        everyone = TrainingSamples(np.ones(len(self.samples), dtype=bool), "every genotyped sample (the release "
                                   f"records no sample of {tissue} × {modality})")
        if not os.path.isfile(path):
            return everyone
        table = pd.read_parquet(path, columns=["sample_id", "tissue", "modalities"])
        mine = table[table["tissue"].astype(str) == tissue]
        measured = mine["modalities"].map(lambda ms: ms is not None and modality in list(ms))
        keep = self.matrix.keep(mine.loc[measured.to_numpy(bool), "sample_id"].astype(str).tolist())
        if not keep.any():
            return everyone
        return TrainingSamples(keep, f"the {int(keep.sum())} genotyped samples of {tissue} × {modality}")

    def dosages(self, rows: np.ndarray, keep: np.ndarray) -> np.ndarray:
        """``(len(rows), keep.sum())`` float64 ALT-allele dosages of matrix ``rows`` over the samples ``keep``,
        NaN for a missing call."""
        from ..engine.ld import unpack

        calls = unpack(self.matrix.take(np.asarray(rows, dtype=np.int64)), self.matrix.n_samples)[:, keep]
        x = calls.astype(np.float64)
        x[calls < 0] = np.nan
        return x
