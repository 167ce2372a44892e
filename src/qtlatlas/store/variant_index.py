"""Look-ups by variant id through a release's ``variant_index`` (see :mod:`qtlatlas.release.batched`).

The index is sorted by ``variant_key`` (the lower-cased id) in small batches whose first keys are kept in
memory; a look-up decodes the one or two batches that can hold the id — well under a millisecond whatever
the number of variants.
"""

from __future__ import annotations

from .batched import KeyedRows


class VariantIndexReader:
    """Exact and case-insensitive id look-ups (thread-safe)."""

    def __init__(self, path: str):
        self._rows = KeyedRows(path, "variant_key")

    def lookup(self, variant: str) -> dict | None:
        """The row of ``variant`` (an exact id match first, else the first id equal ignoring case), as a
        dict of ``variant_id, chrom, pos, ref, alt, af, same_position``; None when absent."""
        rows = self._rows.rows(variant.lower())
        if not rows:
            return None
        exact = [r for r in rows if r["variant_id"] == variant]
        row = (exact or sorted(rows, key=lambda r: r["variant_id"]))[0]
        row.pop("variant_key", None)
        row["same_position"] = list(row.get("same_position") or [])
        return row

    def with_prefix(self, prefix: str, limit: int) -> list[dict]:
        """Up to ``limit`` rows whose id starts with ``prefix`` (ignoring case), in the index's key order."""
        rows = self._rows.prefix_rows(prefix.lower(), limit)
        for row in rows:
            row.pop("variant_key", None)
            row["same_position"] = list(row.get("same_position") or [])
        return rows
