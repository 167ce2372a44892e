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
import pyarrow as pa
import pyarrow.compute as pc
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


def _python_json(items: list) -> list[str]:
    """The JSON text of each of ``items`` (Python objects; nested lists and dicts kept)."""
    if all(isinstance(v, str) or v is None or v is pd.NA for v in items):
        return ["null" if v is None or v is pd.NA else _encode_string(v) for v in items]
    return [json.dumps(clean(v), allow_nan=False) for v in items]


def _needs_escape(values: pa.Array) -> bool:
    """Whether any string of ``values`` (``pa.string()``) holds a character JSON must escape (``"``, ``\\``,
    a control character), looked for in the raw UTF-8 bytes (no byte of a multi-byte character is below 0x80)."""
    data = values.buffers()[2]
    if data is None:
        return False
    raw = np.frombuffer(data, np.uint8)
    return bool(((raw < 0x20) | (raw == 0x22) | (raw == 0x5C)).any())


def _plain(values: pa.Array | pa.ChunkedArray) -> pa.Array | None:
    """One Arrow array of numbers, booleans, strings (``pa.string()``) or nulls, or a dictionary array of such
    values; None for anything else (nested lists, structs, dates)."""
    if isinstance(values, pa.ChunkedArray):
        if pa.types.is_dictionary(values.type) and values.num_chunks > 1:
            values = values.cast(values.type.value_type)  # differing dictionaries: decoded
        values = values.combine_chunks()
    t = values.type
    if pa.types.is_dictionary(t):
        dictionary = _plain(values.dictionary)
        if dictionary is None:
            return None
        return pa.DictionaryArray.from_arrays(values.indices, dictionary)
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return values.cast(pa.string())
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t) or pa.types.is_string(t) \
            or pa.types.is_null(t):
        return values
    return None


def _text(values: pa.Array) -> pa.Array | str:
    """The JSON text of each value of an array of :func:`_plain` (a string array, or one text when every value
    is the same): numbers in their shortest round-trip form (every significant digit of a p-value of 7.6e-11
    is kept; a float32 at float32's precision, 0.468708 rather than 0.46870803833), missing and non-finite
    values as ``null``; a dictionary's values are formatted once. Formatting runs in Arrow (C++); only text
    that needs escaping goes through Python."""
    if pa.types.is_dictionary(values.type):
        dictionary = _text(values.dictionary)
        if isinstance(dictionary, str):
            return dictionary
        if not values.null_count and len(values) and pc.min_max(values.indices)["min"] == pc.min_max(values.indices)["max"]:
            return dictionary[values.indices[0].as_py()].as_py()
        return pc.fill_null(dictionary.take(values.indices), "null")
    if pa.types.is_null(values.type) or values.null_count == len(values):
        return "null"
    if pa.types.is_floating(values.type):
        values = pc.if_else(pc.is_finite(values), values, pa.scalar(None, values.type))
    if pa.types.is_string(values.type):
        if _needs_escape(values):
            return pa.array(_python_json(values.to_pylist()), pa.string())
        if not values.null_count and len(values) > 1:
            bounds = pc.min_max(values)
            if bounds["min"] == bounds["max"]:
                return _encode_string(bounds["min"].as_py())
        text = pc.binary_join_element_wise('"', values, '"', "")
    else:
        text = pc.cast(values, pa.string())
    return pc.fill_null(text, "null")


def _join_rows(names: list[str], texts: list[pa.Array | str], n: int) -> list[bytes | memoryview]:
    """A JSON array of ``n`` objects from the JSON text of each column (:func:`_text`), as pieces to join: every
    row assembled by one element-wise string join in Arrow (a column of one text is joined as a literal), whose
    contiguous value buffer is the body: no Python work per row, and the body is copied once, when joined."""
    if not n:
        return [b"[]"]
    pieces: list[pa.Array | str] = [""]
    for i, (name, text) in enumerate(zip(names, texts, strict=True)):
        pieces[-1] += ("{" if i == 0 else ",") + json.dumps(str(name)) + ":"
        if isinstance(text, str):
            pieces[-1] += text
        else:
            pieces += [text, ""]
    pieces[-1] += "},"
    if len(pieces) == 1:  # every column holds one value
        return [("[" + pieces[0] * n)[:-1].encode() + b"]"]
    rows = pc.binary_join_element_wise(*pieces, "")
    offsets = np.frombuffer(rows.buffers()[1], np.int32, len(rows) + 1, rows.offset * 4)
    body = memoryview(rows.buffers()[2])[offsets[0]:offsets[-1] - 1]  # the last row's trailing comma dropped
    return [b"[", body, b"]"]


def _series_text(column: pd.Series) -> pa.Array | str:
    if isinstance(column.dtype, pd.CategoricalDtype):
        column = column.astype(object)
    try:
        values = _plain(pa.array(column, from_pandas=True))
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError):
        values = None
    if values is None:
        return pa.array(_python_json(column.to_numpy().tolist()), pa.string())
    return _text(values)


def _rows_json(frame: pd.DataFrame | pa.Table) -> bytes:
    """The rows of ``frame`` (pandas, or Arrow) as a JSON array of objects (NaN/None → null, nested lists and
    dicts kept), encoded column by column (:func:`_text`, :func:`_join_rows`)."""
    return b"".join(_rows_json_pieces(frame))


def _rows_json_pieces(frame: pd.DataFrame | pa.Table) -> list[bytes | memoryview]:
    if isinstance(frame, pa.Table):
        texts = []
        for i in range(frame.num_columns):
            values = _plain(frame.column(i))
            texts.append(_text(values) if values is not None
                         else pa.array(_python_json(frame.column(i).to_pylist()), pa.string()))
        return _join_rows(frame.column_names, texts, frame.num_rows)
    if frame.empty:
        return [b"[]"]
    return _join_rows(list(frame.columns), [_series_text(frame.iloc[:, i]) for i in range(frame.shape[1])], len(frame))


def _cache_headers(request: Request, release: str, body: bytes) -> dict[str, str]:
    digest = hashlib.sha1(release.encode() + b"\0" + str(request.url).encode() + b"\0")
    digest.update(body)  # not concatenated: a body of megabytes is not copied
    etag = digest.hexdigest()[:32]
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


def _envelope(release: str, frame: pd.DataFrame | pa.Table, total: int, next_cursor: str | None) -> bytes:
    """``{"data": rows, "meta": {release, total, next_cursor}}``: the rows encoded column by column
    (:func:`_rows_json`); only the small envelope goes through json."""
    meta = json.dumps({"release": release, "total": total, "next_cursor": next_cursor})
    return b"".join([b'{"data":', *_rows_json_pieces(frame), b',"meta":', meta.encode(), b"}"])


def _frame_of(table: pa.Table) -> pd.DataFrame:
    """An Arrow table as pandas: dictionary columns decoded, integers with missing values as ``Int64``."""
    columns = {name: (col.cast(col.type.value_type) if pa.types.is_dictionary(col.type) else col)
               for name, col in zip(table.column_names, table.columns, strict=True)}
    ints = {t: pd.Int64Dtype() for t in (pa.int8(), pa.int16(), pa.int32(), pa.int64())}
    return pa.table(columns).to_pandas(types_mapper=ints.get)


def list_response(request: Request, release: str, frame: pd.DataFrame | pa.Table, total: int | None = None,
                  next_cursor: str | None = None, fmt: Format = Format.json, name: str = "rows") -> Response:
    """The list envelope (JSON) or the rows as TSV/CSV (with ``X-Total-Count`` and ``X-Next-Cursor`` headers);
    ``frame`` may be an Arrow table (encoded to JSON without a detour through pandas)."""
    fmt = Format(fmt)
    total = len(frame) if total is None else int(total)
    if fmt is Format.json:
        return cached(request, release, Response(_envelope(release, frame, total, next_cursor),
                                                 media_type="application/json"))
    if isinstance(frame, pa.Table):
        frame = _frame_of(frame)
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

