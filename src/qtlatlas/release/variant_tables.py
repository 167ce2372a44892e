"""The variant tables of a release: every genotyped variant, found by id or by position.

* ``variants.parquet``: ``variant_id, chrom, pos, ref, alt, af`` sorted by chrom, pos (``af``, the ALT allele
  frequency, where a QTL table gives it);
* ``variant_index.arrow``: the same rows keyed by lower-cased id, with ``same_position`` (look-up file);
* ``variants_by_position.arrow``: the same rows by chromosome and position (look-up file).

Genotypes themselves are read from the release's bgzipped, tabix-indexed VCF download by position.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..io.chromosomes import chrom_sort_key
from . import layout
from .batched import PositionBatchWriter
from .tables import VariantIndex, write_table, write_variant_index

VARIANT_SCHEMA = pa.schema([("variant_id", pa.string()), ("chrom", pa.string()), ("pos", pa.int64()),
                            ("ref", pa.string()), ("alt", pa.string()), ("af", pa.float64())])
#: Rows per batch of ``variants_by_position`` (a position look-up decodes one).
POSITION_BATCH_ROWS = 2048


def write_variant_tables(variants: VariantIndex, out: Path, table: Callable[[str, str], Path],
                         index: Callable[[str, str], None]) -> None:
    """Write the three tables of the module docstring into the release directory ``out``; ``table`` and
    ``index`` record a file (and a look-up file's sidecar) in the manifest and return its path. Built in Arrow,
    one chromosome at a time for the position file."""
    t = variants.table
    chrom = pa.array(t["chrom"].astype(str).to_numpy(object), pa.string())
    encoded = pc.dictionary_encode(chrom)
    names = encoded.dictionary.to_pylist()
    natural = {c: i for i, c in enumerate(sorted(names, key=chrom_sort_key))}
    rank = np.array([natural[c] for c in names], dtype=np.int64)[encoded.indices.to_numpy(zero_copy_only=False)]
    arrow = pa.table({"variant_id": pa.array(t["id"].astype(str).to_numpy(object), pa.string()), "chrom": chrom,
                      "pos": pa.array(t["pos"].to_numpy(np.int64)),
                      "ref": pa.array(t["ref"].astype(str).to_numpy(object), pa.string()),
                      "alt": pa.array(t["alt"].astype(str).to_numpy(object), pa.string()),
                      "af": pa.array(variants.af, pa.float64(), from_pandas=True)}, schema=VARIANT_SCHEMA)
    order = pa.table({"r": rank, "pos": arrow.column("pos"), "id": arrow.column("variant_id")})
    arrow = arrow.take(pc.sort_indices(order, sort_keys=[("r", "ascending"), ("pos", "ascending"),
                                                         ("id", "ascending")]))
    del order
    write_table(arrow, table(layout.table_path("variants"), "every genotyped variant (id, position, alleles)"))
    write_variant_index(arrow, table(layout.table_path("variant_index"),
                                     "variants keyed by lower-cased id (Arrow IPC batches for id look-ups)"))
    index(layout.table_path("variant_index"), "key range of each batch of variant_index")
    rel = layout.table_path("variants_by_position")
    writer = PositionBatchWriter(table(rel, "variants by chromosome and position (Arrow IPC batches for position "
                                       "look-ups)"), VARIANT_SCHEMA, batch_rows=POSITION_BATCH_ROWS)
    sorted_chrom = arrow.column("chrom").combine_chunks()
    codes = pc.dictionary_encode(sorted_chrom).indices.to_numpy(zero_copy_only=False)
    bounds = np.flatnonzero(codes[1:] != codes[:-1]) + 1 if len(codes) else np.array([], dtype=np.int64)
    for a, b in zip(np.concatenate([[0], bounds]), np.concatenate([bounds, [len(codes)]]), strict=True):
        if b > a:
            writer.write(arrow.slice(int(a), int(b - a)))
    writer.close()
    index(rel, "position range of each batch of variants_by_position")
