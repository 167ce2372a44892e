"""Response helpers: the list envelope, TSV/CSV output, JSON-safe values and caching headers.

List endpoints answer ``{"data": [...], "meta": {"release", "total", "next_cursor"}}`` by default and
the same rows as TSV or CSV with ``format=tsv|csv``. Releases are immutable, so responses carry an ETag
derived from the release and the request, and a Cache-Control that is long for a pinned ``release=`` and
short when the latest release is implied (a new release may be published).
"""

from __future__ import annotations

import hashlib
import io
import json
import math
from enum import StrEnum
from typing import Any

import numpy as np
import orjson
import pandas as pd
from fastapi import Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

LONG_CACHE = "public, max-age=86400"
SHORT_CACHE = "public, max-age=60"


class Format(StrEnum):
    json = "json"
    tsv = "tsv"
    csv = "csv"


class Meta(BaseModel):
    release: str = Field(description="release the rows come from")
    total: int = Field(description="number of rows matching the query (all pages)")
    next_cursor: str | None = Field(default=None, description="pass as cursor= to get the next page; null on the last page")


class ListResponse(BaseModel):
    data: list[dict[str, Any]]
    meta: Meta


class ErrorResponse(BaseModel):
    error: str = Field(description="error class: bad_request, not_found, invalid_parameter")
    detail: Any = Field(description="what is wrong, naming the parameter or the unknown item")


def clean(value: Any) -> Any:
    """A JSON-safe version of ``value``: NaN/inf → None, numpy scalars → Python, arrays → lists."""
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return [clean(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of ``frame`` as JSON-safe dicts."""
    return [clean(r) for r in frame.to_dict(orient="records")]


_encode_string = json.encoder.c_encode_basestring or json.encoder.py_encode_basestring


def _column_json(column: pd.Series) -> list[str]:
    """The JSON text of each value of a column: floats in their shortest round-trip form (``repr``: every
    significant digit of a p-value of 7.6e-11 is kept), missing values as ``null``."""
    values = column.to_numpy()
    kind = values.dtype.kind
    if kind in "fiu":
        if not len(values):
            return []
        # orjson writes each number in its shortest round-trip form and NaN/inf as null; a comma never occurs
        # inside a number, so the array splits into its values
        return orjson.dumps(values, option=orjson.OPT_SERIALIZE_NUMPY).decode()[1:-1].split(",")
    if kind == "b":
        return ["true" if v else "false" for v in values.tolist()]
    text = isinstance(column.dtype, pd.StringDtype)
    items = None if text else values.tolist()
    if text or all(isinstance(v, str) or v is None for v in items):  # text: the C string encoder, once per
        codes, uniques = pd.factorize(column, use_na_sentinel=True)  # distinct value (tissues repeat)
        encoded = [_encode_string(v) for v in uniques.tolist()] + ["null"]  # code -1 (missing) picks "null"
        return [encoded[c] for c in codes.tolist()]
    return [json.dumps(clean(v), allow_nan=False) for v in items]


def _rows_json(frame: pd.DataFrame) -> bytes:
    """The rows of ``frame`` as a JSON array of objects (NaN/None → null, nested lists and dicts kept),
    encoded column by column."""
    if frame.empty:
        return b"[]"
    keys = [json.dumps(str(c)) + ":" for c in frame.columns]
    columns = [_column_json(frame[c]) for c in frame.columns]
    # one format string per row shape: '{"a":%s,"b":%s}' % values, done in C
    template = "{" + ",".join(k.replace("%", "%%") + "%s" for k in keys) + "}"
    return ("[" + ",".join([template % values for values in zip(*columns, strict=True)]) + "]").encode()


def _cache_headers(request: Request, release: str, body: bytes) -> dict[str, str]:
    etag = hashlib.sha1(release.encode() + b"\0" + str(request.url).encode() + b"\0" + body).hexdigest()[:32]
    pinned = "release" in request.query_params
    return {"ETag": f'"{etag}"', "Cache-Control": LONG_CACHE if pinned else SHORT_CACHE}


def cached(request: Request, release: str, response: Response) -> Response:
    """Add ETag/Cache-Control to ``response``; answer 304 when the client already has it."""
    headers = _cache_headers(request, release, response.body)
    if request.headers.get("if-none-match") == headers["ETag"]:
        return Response(status_code=304, headers=headers)
    response.headers.update(headers)
    return response


def _json_default(value: Any) -> Any:
    """orjson's fallback: pandas' missing values as null, numpy scalars and other sequences as their values."""
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, pd.DataFrame):
        return value.to_dict(orient="records")
    return str(value)


#: orjson options of JSON responses: numpy arrays written natively (a float32 array in float32's shortest form:
#: 12.3457, not 12.345700263977051), NaN and infinities as null.
JSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


def dumps(payload: Any) -> bytes:
    """``payload`` as JSON bytes (see :data:`JSON_OPTIONS`)."""
    return orjson.dumps(payload, default=_json_default, option=JSON_OPTIONS)


def json_response(request: Request, release: str, payload: Any) -> Response:
    """``payload`` as JSON (numbers in their shortest round-trip form, float32 arrays at float32 precision,
    missing values as null), with the release's caching headers."""
    return cached(request, release, Response(dumps(payload), media_type="application/json"))


def _envelope(release: str, frame: pd.DataFrame, total: int, next_cursor: str | None) -> bytes:
    """``{"data": rows, "meta": {release, total, next_cursor}}``: the rows encoded column by column
    (:func:`_rows_json`); only the small envelope goes through json."""
    meta = json.dumps({"release": release, "total": total, "next_cursor": next_cursor})
    return b'{"data":' + _rows_json(frame) + b',"meta":' + meta.encode() + b"}"


def list_response(request: Request, release: str, frame: pd.DataFrame, total: int | None = None,
                  next_cursor: str | None = None, fmt: Format = Format.json, name: str = "rows") -> Response:
    """The list envelope (JSON) or the rows as TSV/CSV (with ``X-Total-Count`` and ``X-Next-Cursor`` headers)."""
    fmt = Format(fmt)
    total = len(frame) if total is None else int(total)
    if fmt is Format.json:
        return cached(request, release, Response(_envelope(release, frame, total, next_cursor),
                                                 media_type="application/json"))
    buffer = io.StringIO()
    frame.to_csv(buffer, sep="\t" if fmt is Format.tsv else ",", index=False, na_rep="NA", float_format="%.6g")
    media = "text/tab-separated-values" if fmt is Format.tsv else "text/csv"
    headers = {"Content-Disposition": f'attachment; filename="{name}.{release}.{fmt.value}"', "X-Total-Count": str(total)}
    if next_cursor:
        headers["X-Next-Cursor"] = next_cursor
    return cached(request, release, Response(buffer.getvalue(), media_type=media, headers=headers))


def fixed_list_response(request: Request, store, key: str, rows, fmt: Format = Format.json,
                        name: str = "rows") -> Response:
    """:func:`list_response` of a list that never changes within a release (its tissues, its modalities):
    ``rows()`` (a DataFrame) is rendered to JSON once per release and ``key`` (kept with ``store.memo``)."""
    if Format(fmt) is not Format.json:
        return list_response(request, store.id, rows(), fmt=fmt, name=name)

    def render() -> bytes:
        frame = rows()
        return _envelope(store.id, frame, len(frame), None)

    body = store.memo(f"api-json:{key}", render)
    return cached(request, store.id, Response(body, media_type="application/json"))

