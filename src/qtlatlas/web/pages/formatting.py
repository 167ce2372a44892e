"""Number and text formatting for the templates (registered as Jinja2 filters by :mod:`.templating`).

Every filter accepts missing values (None, NaN) and shows them as an en dash, so that templates never need
to test for them.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

MISSING = "–"


def _number(value: Any) -> float | None:
    """``value`` as a finite float, or None (missing, NaN, infinite, not a number)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def pvalue(value: Any) -> str:
    """A p- or q-value: ``0.0123``, ``3.2e-05`` below 0.001, ``< 1e-300`` for 0."""
    x = _number(value)
    if x is None:
        return MISSING
    if x == 0:
        return "< 1e-300"
    if x >= 0.001:
        return f"{x:.3g}"
    return f"{x:.2e}".replace("e-0", "e-")


def number(value: Any, digits: int = 3) -> str:
    """A real number with ``digits`` significant digits (integers keep thousands separators)."""
    x = _number(value)
    if x is None:
        return MISSING
    if float(x).is_integer() and abs(x) < 1e15:
        return f"{int(x):,}"
    return f"{x:.{digits}g}"


def fixed(value: Any, decimals: int = 3) -> str:
    """A real number with a fixed number of decimals (``-0.412``)."""
    x = _number(value)
    return MISSING if x is None else f"{x:.{decimals}f}"


def integer(value: Any) -> str:
    """An integer with thousands separators (``1,019,583``)."""
    x = _number(value)
    return MISSING if x is None else f"{int(round(x)):,}"


def filesize(value: Any) -> str:
    """Bytes in binary units (``148 B``, ``11.7 KiB``, ``2.3 GiB``)."""
    x = _number(value)
    if x is None:
        return MISSING
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(x) < 1024 or unit == "TiB":
            return f"{int(x)} {unit}" if unit == "B" else f"{x:.1f} {unit}"
        x /= 1024
    return MISSING  # pragma: no cover - the loop always returns


def signed_distance(value: Any) -> str:
    """A TSS distance in bp with its sign (``+12,340``, ``-5,002``)."""
    x = _number(value)
    return MISSING if x is None else f"{int(round(x)):+,}"


def text(value: Any) -> str:
    """A possibly missing text value."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    s = str(value)
    return s if s else MISSING


def http_url(value: Any) -> str | None:
    """``value`` when it is an http(s) URL (safe as a link target), else None."""
    if not isinstance(value, str):
        return None
    s = value.strip()
    return s if s.lower().startswith(("https://", "http://")) and not any(c.isspace() for c in s) else None


def plain(value: Any) -> Any:
    """A JSON-safe version of ``value``: NaN/inf → None, numpy scalars and arrays → Python values."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return [plain(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is not None and not isinstance(value, (str, int, float, bool)):
        try:
            import pandas as pd

            if pd.isna(value):
                return None
        except (TypeError, ValueError):
            pass
        return str(value)
    return value


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(type(obj).__name__)


def script_json(value: Any) -> str:
    """``value`` as compact JSON that is safe inside ``<script type="application/json">`` (``<``, ``>``, ``&``
    and line separators escaped). NaN and infinities become null (the fast path serialises ``value`` as it
    is and falls back to :func:`plain` when it holds one)."""
    try:
        raw = json.dumps(value, separators=(",", ":"), allow_nan=False, ensure_ascii=False, default=_json_default)
    except (ValueError, TypeError):
        raw = json.dumps(plain(value), separators=(",", ":"), allow_nan=False, ensure_ascii=False)
    return (raw.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def finite_list(values) -> list:
    """A list of ``values`` (a Series or an array) with NaN as None, for JSON."""
    return [None if isinstance(x, float) and x != x else x for x in list(values)]


def significant_list(values, digits: int = 6) -> list:
    """``values`` rounded to ``digits`` significant digits (a float32 quantity needs no more), NaN as None:
    a compact JSON list."""
    a = np.asarray(values, dtype=np.float64)
    text = np.char.mod(f"%.{int(digits)}g", a)
    return [float(t) if v == v else None for t, v in zip(text.tolist(), a.tolist(), strict=True)]


def json_records(frame) -> list[dict]:
    """Rows of a DataFrame as dicts with missing values as None, for JSON."""
    if frame is None or len(frame) == 0:
        return []
    return [{k: (None if isinstance(v, float) and v != v else v) for k, v in row.items()}
            for row in frame.to_dict("records")]


FILTERS = {"pvalue": pvalue, "number": number, "fixed": fixed, "integer": integer, "filesize": filesize,
           "distance": signed_distance, "text": text, "http_url": http_url}
