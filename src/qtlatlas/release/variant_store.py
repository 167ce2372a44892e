"""The variants of a release build, held on disk: every genotyped variant in one scratch Parquet file sorted
by chromosome and position, read through DuckDB (:mod:`.scratch_sql`) — so that a build's memory does not grow
with the number of variants.

* :meth:`VariantStore.lookup` answers ``chrom, pos, ref, alt`` of a set of ids (a QTL table's variants);
* significant pairs are joined to it one chromosome at a time (:data:`VariantStore.path`, its
  ``chrom_rank`` column, in :class:`~qtlatlas.release.associations.SignifPairsWriter`);
* :meth:`VariantStore.mark` records the allele frequency a QTL table or a pair gives a variant (the first
  one given is published, :meth:`VariantStore.allele_frequencies`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .scratch_sql import SpoolWriter, chrom_ranks, connect, copy_to_parquet, parquet, query_table

_RAW_SCHEMA = pa.schema([("variant_id", pa.string()), ("chrom", pa.string()), ("pos", pa.int64()),
                         ("ref", pa.string()), ("alt", pa.string()), ("seq", pa.int64())])
_MARK_SCHEMA = pa.schema([("variant_id", pa.string()), ("af", pa.float64()), ("seq", pa.int64())])


def _strings(values) -> pa.Array:
    if isinstance(values, pd.Series) and values.dtype != object:
        try:
            return pa.array(values, pa.string(), from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            pass
    return pa.array(pd.Series(values, dtype=object).where(pd.notna(values), None).to_numpy(object), pa.string())


class VariantStore:
    """Every genotyped variant of a release (``variant_id, chrom, chrom_rank, pos, ref, alt``), the first of
    each id kept, in the scratch file :attr:`path` sorted by ``chrom_rank, pos, variant_id``.

    Args:
        chunks: variant tables (columns ``chrom, pos, id, ref, alt``, as the genotype readers'
            :meth:`~qtlatlas.io.genotypes.GenotypeReader.iter_variants` yield them), read one at a time.
        scratch: a directory for the store's files.
        con: the build's scratch DuckDB connection (:func:`~qtlatlas.release.scratch_sql.connect`); one of its
            own when None.
    """

    def __init__(self, chunks: Iterable[pd.DataFrame], scratch: str | os.PathLike[str],
                 con: duckdb.DuckDBPyConnection | None = None):
        self.scratch = Path(scratch)
        self.scratch.mkdir(parents=True, exist_ok=True)
        self.con = con if con is not None else connect(self.scratch)
        raw = self.scratch / "variants.raw.parquet"
        n = 0
        with pq.ParquetWriter(raw, _RAW_SCHEMA, compression="lz4") as writer:
            for chunk in chunks:
                m = len(chunk)
                writer.write_table(pa.table({
                    "variant_id": _strings(chunk["id"]), "chrom": _strings(chunk["chrom"]),
                    "pos": pa.array(np.asarray(chunk["pos"], dtype=np.int64)), "ref": _strings(chunk["ref"]),
                    "alt": _strings(chunk["alt"]), "seq": pa.array(np.arange(n, n + m, dtype=np.int64))},
                    schema=_RAW_SCHEMA))
                n += m
        chroms = [r[0] for r in self.con.execute(f"SELECT DISTINCT chrom FROM {parquet(raw)}").fetchall()]
        self.con.register("_chrom_order", chrom_ranks(c for c in chroms if c is not None))
        self.path = self.scratch / "variants.sorted.parquet"
        # the first row of each id: only the ids seen twice are joined back
        unique = self.scratch / "variants.unique.parquet"
        copy_to_parquet(self.con, f"""
            WITH dup AS (SELECT variant_id, min(seq) AS keep FROM {parquet(raw)} GROUP BY variant_id
                         HAVING count(*) > 1)
            SELECT r.variant_id, r.chrom, o.chrom_rank, r.pos, r.ref, r.alt
            FROM {parquet(raw)} r JOIN _chrom_order o USING (chrom) LEFT JOIN dup d USING (variant_id)
            WHERE d.keep IS NULL OR r.seq = d.keep""", unique)
        self.con.unregister("_chrom_order")
        raw.unlink()
        # sorted, so that a chromosome's variants are a few row groups (pruned by their chrom_rank statistics)
        copy_to_parquet(self.con, f"SELECT * FROM {parquet(unique)} ORDER BY chrom_rank, pos, variant_id", self.path)
        unique.unlink()
        self.chroms = dict(self.con.execute(
            f"SELECT DISTINCT chrom, chrom_rank FROM {parquet(self.path)}").fetchall())
        self._marks = SpoolWriter(self.scratch / "variants.marks", _MARK_SCHEMA)
        self._n_marks = 0

    def lookup(self, variant_ids: pd.Series) -> pd.DataFrame:
        """``chrom, pos, ref, alt`` per variant id, in the order given (missing values for unknown ids)."""
        ids = pa.table({"i": pa.array(np.arange(len(variant_ids), dtype=np.int64)),
                        "variant_id": _strings(pd.Series(variant_ids).reset_index(drop=True))})
        self.con.register("_lookup_ids", ids)
        try:
            found = query_table(self.con, f"""
                SELECT q.i, v.chrom, v.pos, v.ref, v.alt FROM _lookup_ids q
                LEFT JOIN {parquet(self.path)} v USING (variant_id) ORDER BY q.i""")
        finally:
            self.con.unregister("_lookup_ids")
        out = pd.DataFrame({c: found.column(c).to_numpy(zero_copy_only=False) for c in ("chrom", "ref", "alt")})
        out.insert(1, "pos", pd.array(found.column("pos").to_pandas(), dtype="Int64"))
        return out

    def mark(self, variant_ids: pd.Series, af: pd.Series | None = None) -> None:
        """Record the allele frequency ``af`` given to each variant (rows without one are ignored); the first
        one recorded for a variant is the one published."""
        if af is None or not len(variant_ids):
            return
        values = pd.to_numeric(pd.Series(af).reset_index(drop=True), errors="coerce").to_numpy(np.float64)
        keep = ~np.isnan(values)
        if not keep.any():
            return
        ids = _strings(pd.Series(variant_ids).reset_index(drop=True)).filter(pa.array(keep))
        m = len(ids)
        self._marks.write(pa.table({"variant_id": ids, "af": pa.array(values[keep]),
                                          "seq": pa.array(np.arange(self._n_marks, self._n_marks + m, dtype=np.int64))},
                                         schema=_MARK_SCHEMA))
        self._n_marks += m

    def allele_frequencies(self) -> str:
        """SQL of ``variant_id, af``: the first allele frequency recorded for each marked variant."""
        self._marks.close()
        if not self._n_marks:
            return "SELECT NULL::VARCHAR AS variant_id, NULL::DOUBLE AS af WHERE false"
        return f"SELECT variant_id, arg_min(af, seq) AS af FROM {parquet(self._marks.paths)} GROUP BY variant_id"
