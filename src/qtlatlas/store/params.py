"""Validation of query parameters: text, lists, limits, regions and page cursors.

Every function raises :class:`~qtlatlas.store.errors.BadQuery` naming the parameter, so that no hostile or
malformed value reaches DuckDB (where a NUL or an unpaired surrogate would raise a driver error).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

from ..io.chromosomes import chrom_key
from .errors import BadQuery

#: Longest text accepted for a gene, variant, phenotype, tissue… (longer values cannot be ids).
MAX_TEXT = 200
#: Widest region accepted by region queries of significant pairs and QTLs, bp.
MAX_REGION_BP = 2_000_000
#: Largest page of rows.
MAX_LIMIT = 10_000
#: Most values accepted in a list parameter (tissues, modalities, genes).
MAX_LIST = 1_000


def is_clean(text: object, max_len: int = MAX_TEXT) -> bool:
    """Whether ``text`` is a string that can be looked up: not too long, encodable, no control characters."""
    if not isinstance(text, str) or len(text) > max_len:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return not any(ord(c) < 32 or ord(c) == 127 for c in text)


def text(value: object, param: str, *, max_len: int = MAX_TEXT) -> str:
    """``value`` stripped; BadQuery unless it is a clean, non-empty string."""
    if not isinstance(value, str):
        raise BadQuery(param, f"expected text, not {type(value).__name__}")
    s = value.strip()
    if not s:
        raise BadQuery(param, "may not be empty")
    if len(s) > max_len:
        raise BadQuery(param, f"longer than {max_len} characters")
    if not is_clean(s, max_len):
        raise BadQuery(param, "contains characters that cannot appear in it")
    return s


def text_list(values: str | Iterable[str] | None, param: str) -> list[str] | None:
    """``None`` (no filter) or a de-duplicated list of clean strings; a comma-separated string is split, and empty
    values are left out (``?tissue=`` filters nothing, as if absent)."""
    if values is None:
        return None
    if isinstance(values, str):
        values = [values]
    parts = [p for v in values for p in (v.split(",") if isinstance(v, str) else [v])]
    out: list[str] = []
    for v in parts:
        if isinstance(v, str) and not v.strip():
            continue
        s = text(v, param)
        if s not in out:
            out.append(s)
        if len(out) > MAX_LIST:
            raise BadQuery(param, f"more than {MAX_LIST} values")
    return out or None


def limit(value: object, param: str = "limit", *, maximum: int = MAX_LIMIT) -> int:
    """An integer page size in ``1..maximum``."""
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            value = int(str(value))
        except ValueError:
            raise BadQuery(param, f"expected an integer, not {str(value)[:40]!r}") from None
    if value < 1 or value > maximum:
        raise BadQuery(param, f"must be between 1 and {maximum:,}")
    return value


def number(value: object, param: str) -> float | None:
    """``None`` or a finite, non-negative float."""
    if value is None:
        return None
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise BadQuery(param, f"expected a number, not {str(value)[:40]!r}") from None
    if x != x or x in (float("inf"), float("-inf")) or x < 0:
        raise BadQuery(param, "must be a finite number >= 0")
    return x


# ------------------------------------------------------------------------------------------------
# Cursors
# ------------------------------------------------------------------------------------------------


def encode_cursor(offset: int, kind: str) -> str:
    """An opaque page cursor: URL-safe base64 of ``{"k": kind, "o": offset}``."""
    raw = json.dumps({"k": kind, "o": int(offset)}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, kind: str) -> int:
    """The row offset of a cursor from :func:`encode_cursor` (0 for ``None``); BadQuery when malformed or
    issued by another kind of query."""
    if cursor is None or cursor == "":
        return 0
    if not isinstance(cursor, str) or len(cursor) > 200:
        raise BadQuery("cursor", "not a cursor returned by this query")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        offset = data["o"]
        ok = data.get("k") == kind and isinstance(offset, int) and not isinstance(offset, bool) and offset >= 0
    except (binascii.Error, ValueError, TypeError, KeyError, AttributeError, UnicodeDecodeError):
        ok = False
    if not ok:
        raise BadQuery("cursor", "not a cursor returned by this query")
    return offset


def next_cursor(offset: int, n_rows: int, total: int, kind: str) -> str | None:
    end = offset + n_rows
    return encode_cursor(end, kind) if n_rows and end < total else None


# ------------------------------------------------------------------------------------------------
# Regions
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Span:
    """A closed 1-based interval on a chromosome; ``key`` is :func:`chrom_key` of its name."""

    chrom: str
    start: int
    end: int

    @property
    def key(self) -> str:
        return chrom_key(self.chrom)


_REGION = re.compile(r"^([A-Za-z0-9_.]{1,40}):([\d,]{1,15})-([\d,]{1,15})$")


def region(value: object, param: str = "region", *, max_bp: int = MAX_REGION_BP) -> Span:
    """Parse ``chrom:start-end`` (commas allowed in numbers); BadQuery when malformed, reversed or wider
    than ``max_bp``."""
    s = text(value, param, max_len=100).replace(" ", "")
    m = _REGION.match(s)
    if not m:
        raise BadQuery(param, f"expected CHROM:START-END (e.g. chr1:1000000-1500000), not {s[:60]!r}")
    digits = m.group(2).replace(",", ""), m.group(3).replace(",", "")
    if not all(digits):
        raise BadQuery(param, f"expected CHROM:START-END with numbers, not {s[:60]!r}")
    start, end = int(digits[0]), int(digits[1])
    if start < 1 or end < start:
        raise BadQuery(param, "start must be >= 1 and end >= start")
    if end - start + 1 > max_bp:
        raise BadQuery(param, f"wider than the maximum of {max_bp:,} bp ({end - start + 1:,} bp asked)")
    return Span(m.group(1), start, end)
