"""JSON text of tables, column by column: Arrow formats each column in C++ and the rows (or the columns) are
joined without Python work per value.

Two layouts of a table of ``n`` rows:

- rows: ``[{"col": value, ...}, ...]``, the list envelope's ``data``;
- columns: ``{"col": [value, ...], ...}`` for the columns whose value varies over the rows, and the others
  (one value on every row: a tissue, a gene, a column that is all null) given once, apart.

Numbers are written in their shortest round-trip form, float32 at float32's precision, NaN and infinities as
``null``; a float64 column named in ``float32`` is written at float32's precision where its values are float32
normal numbers (a p-value derived from a float32 −log10 p has no more digits to give), in full below that.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

#: the smallest positive normal float32; below it a float32 loses digits, so such values are written in full
FLOAT32_TINY = float(np.finfo(np.float32).tiny)
FLOAT32_MAX = float(np.finfo(np.float32).max)


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


class _Quoted:
    """Strings that are JSON once put between quotes (no null, nothing to escape): the joiners add the quotes
    around each value as part of the join, which costs nothing, instead of quoting each value first."""

    __slots__ = ("values",)

    def __init__(self, values: pa.Array):
        self.values = values

    def text(self) -> pa.Array:
        return pc.binary_join_element_wise('"', self.values, '"', "")


Text = pa.Array | str | _Quoted


def _constant_string(values: pa.Array) -> str | None:
    """The one value of a string array without nulls when every value is the same (two or more), else None;
    values of differing lengths are told apart from the offsets alone."""
    n = len(values)
    if n < 2 or values.null_count:
        return None
    offsets = np.frombuffer(values.buffers()[1], np.int32, n + 1, values.offset * 4)
    size = int(offsets[1] - offsets[0])
    if not (np.diff(offsets) == size).all():
        return None
    data = np.frombuffer(values.buffers()[2], np.uint8)[offsets[0]:offsets[-1]]
    if size and not (data.reshape(n, size) == data[:size]).all():
        return None
    return bytes(data[:size]).decode()


def _numbers_json(values: pa.Array, float32: bool = False) -> bytes | None:
    """The JSON array text of a column of numbers or booleans, written by orjson from the numpy values (four
    times faster than Arrow's formatting): shortest round-trip form, float32 at float32's precision, NaN,
    infinities and nulls as ``null``. With ``float32``, a float64 column whose values all lie in float32's
    normal range (or are 0) is written at float32's precision. None where orjson cannot write it so
    (integers or booleans with nulls, float16, a ``float32`` column with values outside that range)."""
    t = values.type
    if pa.types.is_float32(t) or pa.types.is_float64(t):
        a = values.to_numpy(zero_copy_only=False)  # nulls as NaN
        if float32 and a.dtype == np.float64:
            size = np.abs(a[np.isfinite(a)])
            if not (((size >= FLOAT32_TINY) | (size == 0)) & (size <= FLOAT32_MAX)).all():
                return None
            a = a.astype(np.float32)
        return orjson.dumps(a, option=orjson.OPT_SERIALIZE_NUMPY)
    if (pa.types.is_integer(t) or pa.types.is_boolean(t)) and not values.null_count:
        return orjson.dumps(values.to_numpy(zero_copy_only=False), option=orjson.OPT_SERIALIZE_NUMPY)
    return None


def _split(array_text: bytes) -> pa.Array:
    """The elements of the JSON array text of numbers ``array_text`` (``[1,2.5,null]``) as a string array."""
    inner = pa.array([array_text[1:-1]], pa.binary()).cast(pa.string())
    return pc.split_pattern(inner, ",").flatten()


def _text(values: pa.Array, float32: bool = False) -> Text:
    """The JSON text of each value of an array of :func:`_plain`: a string array, one text when every value is
    the same, or :class:`_Quoted` strings. Numbers in their shortest round-trip form (every significant digit
    of a p-value of 7.6e-11 is kept; a float32 at float32's precision, 0.468708 rather than 0.46870803833; with
    ``float32``, a float64 value in float32's normal range too), missing and non-finite values as ``null``; a
    dictionary's values are formatted once. Formatting runs in orjson or Arrow (C++); only text that needs
    escaping goes through Python."""
    if pa.types.is_dictionary(values.type):
        dictionary = _text(values.dictionary)
        if isinstance(dictionary, str):
            return dictionary
        if isinstance(dictionary, _Quoted):
            dictionary = dictionary.text()
        if not values.null_count and len(values) and pc.min_max(values.indices)["min"] == pc.min_max(values.indices)["max"]:
            return dictionary[values.indices[0].as_py()].as_py()
        return pc.fill_null(dictionary.take(values.indices), "null")
    if pa.types.is_null(values.type) or values.null_count == len(values):
        return "null"
    if pa.types.is_string(values.type):
        if _needs_escape(values):
            return pa.array(_python_json(values.to_pylist()), pa.string())
        same = _constant_string(values)
        if same is not None:
            return _encode_string(same)
        if not values.null_count:
            return _Quoted(values)
        return pc.fill_null(pc.binary_join_element_wise('"', values, '"', ""), "null")
    numbers = _numbers_json(values, float32)
    if numbers is not None:
        return _split(numbers)
    if pa.types.is_floating(values.type):
        values = pc.if_else(pc.is_finite(values), values, pa.scalar(None, values.type))
    if float32 and pa.types.is_float64(values.type):
        size = pc.abs(values)
        normal = pc.and_(pc.greater_equal(size, FLOAT32_TINY), pc.less_equal(size, FLOAT32_MAX))
        text = pc.if_else(normal, pc.cast(pc.cast(values, pa.float32(), safe=False), pa.string()),
                          pc.cast(values, pa.string()))
    else:
        text = pc.cast(values, pa.string())
    return pc.fill_null(text, "null")


def _join_rows(names: list[str], texts: list[Text], n: int) -> list[bytes | memoryview]:
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
        elif isinstance(text, _Quoted):
            pieces[-1] += '"'
            pieces += [text.values, '"']
        else:
            pieces += [text, ""]
    pieces[-1] += "},"
    if len(pieces) == 1:  # every column holds one value
        return [("[" + pieces[0] * n)[:-1].encode() + b"]"]
    rows = pc.binary_join_element_wise(*pieces, "")
    offsets = np.frombuffer(rows.buffers()[1], np.int32, len(rows) + 1, rows.offset * 4)
    body = memoryview(rows.buffers()[2])[offsets[0]:offsets[-1] - 1]  # the last row's trailing comma dropped
    return [b"[", body, b"]"]


def _series_values(column: pd.Series) -> pa.Array | None:
    """A pandas column as a :func:`_plain` Arrow array; None when it holds what Arrow cannot hold plainly."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        column = column.astype(object)
    try:
        return _plain(pa.array(column, from_pandas=True))
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError):
        return None


def _columns(frame: pd.DataFrame | pa.Table) -> list[tuple[str, pa.Array | None, list]]:
    """``(name, values, python)`` of each column: the :func:`_plain` Arrow values, or None and the column's
    Python values where it holds nested lists, dicts or other objects."""
    if isinstance(frame, pa.Table):
        out = []
        for name, column in zip(frame.column_names, frame.columns, strict=True):
            values = _plain(column)
            out.append((str(name), values, None if values is not None else column.to_pylist()))
        return out
    out = []
    for i in range(frame.shape[1]):
        values = _series_values(frame.iloc[:, i])
        out.append((str(frame.columns[i]), values, None if values is not None else frame.iloc[:, i].to_numpy().tolist()))
    return out


def column_texts(frame: pd.DataFrame | pa.Table, float32=()) -> list[Text]:
    """The JSON text of each column of ``frame`` (:func:`_text`); the float64 columns named in ``float32`` at
    float32's precision."""
    return [_text(values, name in float32) if values is not None else pa.array(_python_json(python), pa.string())
            for name, values, python in _columns(frame)]


def rows_json_pieces(frame: pd.DataFrame | pa.Table, float32=()) -> list[bytes | memoryview]:
    """The rows of ``frame`` (pandas, or Arrow) as a JSON array of objects (NaN/None → null, nested lists and
    dicts kept), as pieces to join (:func:`column_texts`, :func:`_join_rows`)."""
    n = frame.num_rows if isinstance(frame, pa.Table) else len(frame)
    if not n:
        return [b"[]"]
    return _join_rows([str(c) for c in (frame.column_names if isinstance(frame, pa.Table) else frame.columns)],
                      column_texts(frame, float32), n)


def _rows_json(frame: pd.DataFrame | pa.Table) -> bytes:
    """:func:`rows_json_pieces`, joined."""
    return b"".join(rows_json_pieces(frame))


def _joined(text: pa.Array, separator: str) -> memoryview:
    """The values of a string array joined with ``separator``, as a view of the one Arrow buffer that holds
    them."""
    joined = pc.binary_join(pa.ListArray.from_arrays(pa.array([0, len(text)], pa.int32()), text), separator)
    offsets = np.frombuffer(joined.buffers()[1], np.int32, 2, joined.offset * 4)
    return memoryview(joined.buffers()[2])[offsets[0]:offsets[1]]


def columns_json(frame: pd.DataFrame | pa.Table, float32=()) -> tuple[list[bytes | memoryview], bytes]:
    """``frame`` in the columns layout: ``(pieces, constant)``, where the pieces join to the JSON object
    ``{"col": [values], ...}`` of the columns whose value varies over the rows and ``constant`` is the JSON
    object ``{"col": value, ...}`` of the others (the float64 columns named in ``float32`` at float32's
    precision). An empty frame has every column in the first, as ``[]``."""
    columns = _columns(frame)
    n = frame.num_rows if isinstance(frame, pa.Table) else len(frame)
    if not n:
        return [("{" + ",".join(f"{json.dumps(c)}:[]" for c, _, _ in columns) + "}").encode()], b"{}"
    pieces: list[bytes | memoryview] = []
    constant = []
    for name, values, python in columns:
        key = ("," if pieces else "{").encode() + json.dumps(name).encode() + b":"
        numbers = None if values is None or values.null_count == n else _numbers_json(values, name in float32)
        if numbers is not None:
            pieces += [key, numbers]
            continue
        text = _text(values, name in float32) if values is not None else pa.array(_python_json(python), pa.string())
        if isinstance(text, str):
            constant.append(f"{json.dumps(name)}:{text}")
        elif isinstance(text, _Quoted):
            pieces += [key + b'["', _joined(text.values, '","'), b'"]']
        else:
            pieces += [key + b"[", _joined(text, ","), b"]"]
    pieces.append(b"}" if pieces else b"{}")
    return pieces, ("{" + ",".join(constant) + "}").encode()
