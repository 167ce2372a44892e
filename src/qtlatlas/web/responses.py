"""Response helpers: the list envelope, TSV/CSV output, JSON-safe values and caching headers.

List endpoints answer ``{"data": [...], "meta": {"release", "total", "next_cursor"}}`` by default, the
columns layout ``{"data": {column: [...]}, "constant": {column: value}, "meta": {..., "rows"}}`` where asked
(:class:`Layout`), and the same rows as TSV or CSV with ``format=tsv|csv``. Releases are immutable, so responses carry an ETag
derived from the release and the request, and a Cache-Control that is long for a pinned ``release=`` and
short when the latest release is implied (a new release may be published).
"""

from __future__ import annotations

import hashlib
import io
import json
from enum import StrEnum
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
from fastapi import Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from .json_text import columns_json, rows_json_pieces

LONG_CACHE = "public, max-age=86400"
SHORT_CACHE = "public, max-age=60"


class Format(StrEnum):
    json = "json"
    tsv = "tsv"
    csv = "csv"


class Layout(StrEnum):
    """The JSON layout of a list: ``rows`` (one object per row) or ``columns`` (one array per column whose value
    varies, the others once in ``constant``: a third or less of the bytes for pages of thousands of rows)."""
    rows = "rows"
    columns = "columns"


class Meta(BaseModel):
    release: str = Field(description="release the rows come from")
    total: int = Field(description="number of rows matching the query (all pages)")
    next_cursor: str | None = Field(default=None, description="pass as cursor= to get the next page; null on the last page")
    significant: int | None = Field(default=None, description="QTL lists: how many of the rows matching the query "
                                    "(all pages) have q ≤ the release's FDR")
    fdr: float | None = Field(default=None, description="QTL lists: the release's false discovery rate "
                              "(atlas.yaml's mapping.fdr)")
    rows: int | None = Field(default=None, description="layout=columns: the page's number of rows")


class ListResponse(BaseModel):
    data: list[dict[str, Any]] | dict[str, list[Any]] = Field(
        description="rows (one object each), or with layout=columns one array per varying column")
    constant: dict[str, Any] | None = Field(default=None, description="layout=columns: the columns of one value")
    meta: Meta


class ErrorResponse(BaseModel):
    error: str = Field(description="error class: bad_request, not_found, invalid_parameter")
    detail: Any = Field(description="what is wrong, naming the parameter or the unknown item")


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


def _envelope(release: str, frame: pd.DataFrame | pa.Table, total: int, next_cursor: str | None,
              layout: Layout = Layout.rows, float32=(), meta_extra: dict | None = None) -> bytes:
    """``{"data": rows, "meta": {release, total, next_cursor}}``, or in the columns layout ``{"data": columns,
    "constant": values, "meta": {release, total, next_cursor, rows}}``: the values encoded column by column
    (:mod:`.json_text`; the float64 columns named in ``float32`` at float32's precision); only the small
    envelope goes through json."""
    meta = {"release": release, "total": total, "next_cursor": next_cursor, **(meta_extra or {})}
    if Layout(layout) is Layout.columns:
        pieces, constant = columns_json(frame, float32)
        meta["rows"] = frame.num_rows if isinstance(frame, pa.Table) else len(frame)
        return b"".join([b'{"data":', *pieces, b',"constant":', constant, b',"meta":', json.dumps(meta).encode(),
                         b"}"])
    return b"".join([b'{"data":', *rows_json_pieces(frame, float32), b',"meta":', json.dumps(meta).encode(), b"}"])


def _frame_of(table: pa.Table) -> pd.DataFrame:
    """An Arrow table as pandas: dictionary columns decoded, integers with missing values as ``Int64``."""
    columns = {name: (col.cast(col.type.value_type) if pa.types.is_dictionary(col.type) else col)
               for name, col in zip(table.column_names, table.columns, strict=True)}
    ints = {t: pd.Int64Dtype() for t in (pa.int8(), pa.int16(), pa.int32(), pa.int64())}
    return pa.table(columns).to_pandas(types_mapper=ints.get)


def list_response(request: Request, release: str, frame: pd.DataFrame | pa.Table, total: int | None = None,
                  next_cursor: str | None = None, fmt: Format = Format.json, name: str = "rows",
                  layout: Layout = Layout.rows, float32=(), meta_extra: dict | None = None) -> Response:
    """The list envelope (JSON, in ``layout``) or the rows as TSV/CSV (with ``X-Total-Count`` and
    ``X-Next-Cursor`` headers); ``frame`` may be an Arrow table (encoded to JSON without a detour through
    pandas). ``float32`` names float64 columns whose values carry no more than float32's 7 digits (written so
    in JSON; TSV/CSV write 6 significant digits). ``meta_extra`` adds fields of :class:`Meta` to the JSON's
    ``meta`` (and, as ``X-<Field>`` headers, to TSV/CSV)."""
    fmt = Format(fmt)
    total = len(frame) if total is None else int(total)
    if fmt is Format.json:
        return cached(request, release, Response(_envelope(release, frame, total, next_cursor, layout, float32,
                                                           meta_extra), media_type="application/json"))
    if isinstance(frame, pa.Table):
        frame = _frame_of(frame)
    buffer = io.StringIO()
    frame.to_csv(buffer, sep="\t" if fmt is Format.tsv else ",", index=False, na_rep="NA", float_format="%.6g")
    media = "text/tab-separated-values" if fmt is Format.tsv else "text/csv"
    headers = {"Content-Disposition": f'attachment; filename="{name}.{release}.{fmt.value}"', "X-Total-Count": str(total)}
    if next_cursor:
        headers["X-Next-Cursor"] = next_cursor
    for key, value in (meta_extra or {}).items():
        if value is not None:
            headers[f"X-{key.replace('_', '-').title()}"] = f"{value:g}" if isinstance(value, float) else str(value)
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

