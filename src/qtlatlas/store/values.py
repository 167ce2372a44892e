"""Per-sample values of one phenotype from the value look-up files (``expression_index``: TPM per tissue;
``phenotype_index``: normalised values per tissue × modality), as float32 arrays with their sample ids.

One look-up decodes one small batch per part (see :class:`qtlatlas.release.values.ValuesIndexWriter`).
"""

from __future__ import annotations

import json

import numpy as np

from .batched import KeyedRows

#: Sidecar metadata key of a value look-up file (``qtlatlas.release.values.EXPRESSION_SAMPLES_KEY``; not
#: imported, to keep the portal's start light).
SAMPLES_KEY = b"qtlatlas.samples"


class ValueIndex:
    """Reader of one value look-up file (thread-safe)."""

    def __init__(self, path: str):
        self.rows = KeyedRows(path, "phenotype_id")
        meta = self.rows.file.ranges.schema.metadata or {}
        self.samples: dict[str, list[str]] = {str(p): [str(s) for s in ids]
                                              for p, ids in json.loads(meta.get(SAMPLES_KEY, b"{}")).items()}

    def parts(self) -> list[str]:
        return list(self.samples)

    def values(self, phenotype_id: str, part: str) -> np.ndarray | None:
        """The values (float32, in :attr:`samples` ``[part]`` order; NaN where missing) of a phenotype in a
        part, or None when the part does not hold it."""
        found = self.rows.slices(phenotype_id, part)
        if not found or part not in self.samples:
            return None
        column = found[0].column(1)[0].values
        return column.to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
