"""Every tested cis pair of a tissue × modality in releases built before the all-pairs store
(:mod:`qtlatlas.store.all_pairs`), from their look-up file
``tables/nominal/{tissue}.{modality}.arrow``: the rows of one phenotype are one run, so "this variant's
p-value for this gene" decodes that phenotype's rows only (see :mod:`qtlatlas.release.pair_streams`)."""

from __future__ import annotations

import threading

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .batched import RunRows


class NominalPairs:
    """The nominal look-up files of a release, opened on first use (thread-safe)."""

    def __init__(self, path_of):
        self._path_of = path_of
        self._readers: dict[tuple[str, str], RunRows | None] = {}
        self._lock = threading.Lock()

    def _reader(self, tissue: str, modality: str) -> RunRows | None:
        key = (tissue, modality)
        if key not in self._readers:
            with self._lock:
                if key not in self._readers:
                    path = self._path_of(tissue, modality)
                    self._readers[key] = RunRows(str(path)) if path.is_file() else None
        return self._readers[key]

    def available(self, tissue: str, modality: str) -> bool:
        return self._reader(tissue, modality) is not None

    def rows(self, tissue: str, modality: str, phenotype_id: str) -> pa.Table | None:
        """Every tested pair of a phenotype (None when the release has no nominal pass for the tissue × modality)."""
        reader = self._reader(tissue, modality)
        if reader is None:
            return None
        parts = reader.read(phenotype_id)
        if not parts:
            return reader.file.schema.empty_table()
        return pa.concat_tables(parts)

    def pair(self, tissue: str, modality: str, phenotype_id: str, variant_id: str) -> dict | None:
        """The nominal row of one phenotype × variant, or None when it was not tested (or is not published)."""
        rows = self.rows(tissue, modality, phenotype_id)
        if rows is None or rows.num_rows == 0:
            return None
        hit = np.flatnonzero(pc.equal(rows.column("variant_id"), variant_id).to_numpy(zero_copy_only=False))
        if not len(hit):
            return None
        return rows.slice(int(hit[0]), 1).to_pylist()[0]
