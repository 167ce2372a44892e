"""Per-sample values of a release: wide tables (one float32 column per sample) and the value look-up files
(``expression_index``, ``phenotype_index``) that hold the same values keyed by phenotype id."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pyarrow as pa

from .batched import KeyedBatchWriter


def values_table(phenotype_ids: list[str], values: np.ndarray, samples: list[str]) -> pa.Table:
    """``phenotype_id`` + one float32 column per sample, sorted by phenotype id."""
    order = np.argsort(np.asarray(phenotype_ids, dtype=object), kind="stable")
    arrays = [pa.array(np.asarray(phenotype_ids, dtype=object)[order], pa.string())]
    vals = np.asarray(values, dtype=np.float32)[order]
    arrays += [pa.array(vals[:, j]) for j in range(vals.shape[1])]
    return pa.Table.from_arrays(arrays, names=["phenotype_id", *samples])


#: Columns of ``expression_index``: a phenotype (gene) id and its values in the sample order of its tissue.
EXPRESSION_INDEX_SCHEMA = pa.schema([("phenotype_id", pa.string()), ("tpm", pa.list_(pa.float32()))])
#: Columns of ``phenotype_index``: a phenotype id and its normalised values in its tissue × modality's sample order.
PHENOTYPE_INDEX_SCHEMA = pa.schema([("phenotype_id", pa.string()), ("values", pa.list_(pa.float32()))])
#: Rows per batch of the value look-up files: a look-up decodes one short batch (16 rows × the samples) per part.
VALUE_INDEX_BATCH = 16
#: Sidecar metadata key of a value look-up file: JSON ``{part: [sample ids in value order]}``.
EXPRESSION_SAMPLES_KEY = b"qtlatlas.samples"


class ValuesIndexWriter:
    """Writes a value look-up file: wide tables of values (:func:`values_table`: ``phenotype_id`` + one float32
    column per sample) as rows ``phenotype_id, <values>`` (a list in the table's sample order), one part per
    table (:class:`qtlatlas.release.batched.KeyedBatchWriter`), so that one phenotype's values in a part are one
    small batch to decode instead of one scan of a wide table. ``expression_index`` (parts: tissues, values:
    ``tpm``) and ``phenotype_index`` (parts: ``tissue/modality``, values: ``values``) are written so."""

    def __init__(self, path: str | os.PathLike[str], schema: pa.Schema = EXPRESSION_INDEX_SCHEMA):
        self.schema = schema
        # uncompressed: per-sample values barely compress, and a look-up then only reads its batch's bytes
        self._writer = KeyedBatchWriter(path, schema, "phenotype_id", VALUE_INDEX_BATCH, compression=None)
        self._samples: dict[str, list[str]] = {}

    def add(self, part: str, table: pa.Table) -> None:
        """Append one table (``phenotype_id`` + one float32 column per sample, sorted by id) as ``part``."""
        if part in self._samples:
            raise ValueError(f"part {part!r} added twice")
        samples = table.column_names[1:]
        n = table.num_rows
        values = (np.column_stack([table.column(c).to_numpy(zero_copy_only=False) for c in samples])
                  if samples else np.zeros((n, 0))).astype(np.float32, copy=False)
        offsets = pa.array(np.arange(n + 1, dtype=np.int32) * len(samples))
        lists = pa.ListArray.from_arrays(offsets, pa.array(values.ravel(), pa.float32()))
        self._writer.write(pa.table({"phenotype_id": table.column("phenotype_id"), self.schema.names[1]: lists},
                                    schema=self.schema), part=part)
        self._samples[part] = [str(c) for c in samples]

    def close(self) -> Path:
        return self._writer.close({EXPRESSION_SAMPLES_KEY: json.dumps(self._samples).encode()})


#: The expression look-up file's writer (parts: tissues).
ExpressionIndexWriter = ValuesIndexWriter


def phenotype_part(tissue: str, modality: str) -> str:
    """The part of ``phenotype_index`` holding a tissue × modality."""
    return f"{tissue}/{modality}"
