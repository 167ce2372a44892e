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

import pyarrow as pa

from . import layout
from .batched import KeyedBatchWriter, PositionBatchWriter
from .scratch_sql import RowGroupWriter, copy_to_parquet, parquet, stream
from .tables import ROW_GROUP_SIZE, VARIANT_INDEX_BATCH, VARIANT_INDEX_SCHEMA
from .variant_store import VariantStore

VARIANT_SCHEMA = pa.schema([("variant_id", pa.string()), ("chrom", pa.string()), ("pos", pa.int64()),
                            ("ref", pa.string()), ("alt", pa.string()), ("af", pa.float64())])
#: Rows per batch of ``variants_by_position`` (a position look-up decodes one).
POSITION_BATCH_ROWS = 2048


def write_variant_tables(variants: VariantStore, out: Path, table: Callable[[str, str], Path],
                         index: Callable[[str, str], None]) -> None:
    """Write the three tables of the module docstring into the release directory ``out``; ``table`` and
    ``index`` record a file (and a look-up file's sidecar) in the manifest and return its path. Sorted and
    joined out of core (:mod:`.scratch_sql`) and written a batch at a time: memory does not grow with the
    number of variants."""
    con = variants.con
    final = variants.scratch / "variants.final.parquet"
    copy_to_parquet(con, f"""SELECT v.variant_id, v.chrom, v.chrom_rank, v.pos, v.ref, v.alt, a.af
                             FROM {parquet(variants.path)} v LEFT JOIN ({variants.allele_frequencies()}) a
                             USING (variant_id)""", final)
    names = VARIANT_SCHEMA.names
    rel = layout.table_path("variants_by_position")
    parquet_out = RowGroupWriter(table(layout.table_path("variants"), "every genotyped variant (id, position, alleles)"),
                                 VARIANT_SCHEMA, ROW_GROUP_SIZE)
    positions = PositionBatchWriter(table(rel, "variants by chromosome and position (Arrow IPC batches for position "
                                          "look-ups)"), VARIANT_SCHEMA, batch_rows=POSITION_BATCH_ROWS)
    for batch in stream(con, f"SELECT {', '.join(names)} FROM {parquet(final)} ORDER BY chrom_rank, pos, variant_id"):
        rows = pa.Table.from_batches([batch]).cast(VARIANT_SCHEMA)
        parquet_out.write(rows)
        positions.write(rows)
    parquet_out.close()
    positions.close()
    index(rel, "position range of each batch of variants_by_position")

    # keyed by lower-cased id, with the other ids at the same position (few positions hold several)
    keyed = KeyedBatchWriter(table(layout.table_path("variant_index"), "variants keyed by lower-cased id (Arrow IPC "
                                   "batches for id look-ups)"), VARIANT_INDEX_SCHEMA, "variant_key",
                             batch_rows=VARIANT_INDEX_BATCH)
    keyed_rows = variants.scratch / "variants.keyed.parquet"
    copy_to_parquet(con, f"""
            WITH shared AS (SELECT f.chrom_rank, f.pos, f.variant_id FROM {parquet(final)} f
                            SEMI JOIN (SELECT chrom_rank, pos FROM {parquet(final)} GROUP BY chrom_rank, pos
                                       HAVING count(*) > 1) d USING (chrom_rank, pos)),
                 others AS (SELECT a.variant_id, list(b.variant_id ORDER BY b.variant_id) AS ids
                            FROM shared a JOIN shared b USING (chrom_rank, pos)
                            WHERE a.variant_id <> b.variant_id GROUP BY a.variant_id)
            SELECT lower(f.variant_id) AS variant_key, f.variant_id, f.chrom, f.pos, f.ref, f.alt, f.af,
                   coalesce(o.ids, []::VARCHAR[]) AS same_position
            FROM {parquet(final)} f LEFT JOIN others o USING (variant_id)""", keyed_rows)
    final.unlink()
    for batch in stream(con, f"SELECT * FROM {parquet(keyed_rows)} ORDER BY variant_key, variant_id"):
        keyed.write(pa.Table.from_batches([batch]))
    keyed.close()
    index(layout.table_path("variant_index"), "key range of each batch of variant_index")
    keyed_rows.unlink()
