"""Query-string parameters of the pages, read and validated by hand so that any malformed or hostile value
becomes a 400 page naming the parameter (:class:`~qtlatlas.store.BadQuery`), never a 500.

Each function reads the last value of a parameter (``?x=1&x=2`` → ``2``) unless it reads a list.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

from fastapi import Request

from ...store import BadQuery
from ...store.params import is_clean

MAX_PARAM = 200


def _last(request: Request, name: str) -> str | None:
    values = request.query_params.getlist(name)
    if not values:
        return None
    value = values[-1].strip()
    return value or None


def text(request: Request, name: str, *, max_len: int = MAX_PARAM, default: str | None = None,
         multiline: bool = False) -> str | None:
    """A clean text parameter (no control characters, at most ``max_len`` characters), or ``default``;
    ``multiline`` accepts line breaks (of a textarea) and returns them as ``\n``."""
    value = _last(request, name)
    if value is None:
        return default
    if multiline:
        lines = value.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        for line in lines:
            if not is_clean(line, max_len):
                raise BadQuery(name, "contains characters that cannot appear in it")
        if len(value) > max_len:
            raise BadQuery(name, f"longer than {max_len} characters")
        return "\n".join(lines)
    if len(value) > max_len:
        raise BadQuery(name, f"longer than {max_len} characters")
    if not is_clean(value, max_len):
        raise BadQuery(name, "contains characters that cannot appear in it")
    return value


def choice(request: Request, name: str, allowed: Iterable[str], default: str | None = None) -> str | None:
    """One of ``allowed`` (BadQuery otherwise), or ``default``."""
    options = list(allowed)
    value = text(request, name, max_len=100)
    if value is None:
        return default
    if value not in options:
        shown = ", ".join(options[:20]) + (", …" if len(options) > 20 else "")
        raise BadQuery(name, f"must be one of {shown}, not {value[:40]!r}")
    return value


#: An integer as a query parameter: ASCII digits with an optional sign (``"+-5"`` or ``"²"`` are not).
_INTEGER = re.compile(r"[+-]?[0-9]{1,12}")


def integer(request: Request, name: str, default: int, *, minimum: int = 1, maximum: int = 1_000_000) -> int:
    """An integer in ``minimum..maximum``, or ``default``."""
    value = _last(request, name)
    if value is None:
        return default
    if not _INTEGER.fullmatch(value):
        raise BadQuery(name, f"expected an integer, not {value[:40]!r}")
    n = int(value)
    if n < minimum or n > maximum:
        raise BadQuery(name, f"must be between {minimum:,} and {maximum:,}")
    return n


def number(request: Request, name: str, *, minimum: float = 0.0, maximum: float = math.inf,
           default: float | None = None) -> float | None:
    """A finite number in ``minimum..maximum``, or ``default``."""
    value = _last(request, name)
    if value is None:
        return default
    try:
        x = float(value) if len(value) <= 40 else math.nan
    except ValueError:
        x = math.nan
    if not math.isfinite(x):
        raise BadQuery(name, f"expected a number, not {value[:40]!r}")
    if x < minimum or x > maximum:
        raise BadQuery(name, f"must be between {minimum:g} and {maximum:g}")
    return x


def flag(request: Request, name: str, default: bool = False) -> bool:
    """A yes/no parameter: ``1, true, yes, on`` or ``0, false, no, off``."""
    value = _last(request, name)
    if value is None:
        return default
    low = value.lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    raise BadQuery(name, f"expected yes or no (1/0), not {value[:40]!r}")


def text_list(request: Request, name: str, *, max_items: int = 100, max_len: int = MAX_PARAM) -> list[str]:
    """Every value of a repeatable parameter, each also split on commas, blanks and newlines; duplicates
    dropped; at most ``max_items`` values."""
    out: list[str] = []
    for raw in request.query_params.getlist(name):
        for part in raw.replace(",", " ").split():
            if len(part) > max_len or not is_clean(part, max_len):
                raise BadQuery(name, f"{part[:40]!r} is not a valid value")
            if part not in out:
                out.append(part)
            if len(out) > max_items:
                raise BadQuery(name, f"more than {max_items} values")
    return out
