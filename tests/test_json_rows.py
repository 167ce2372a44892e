"""The list envelope's encoders (``web.json_text``): orjson or Arrow formats each column and the rows (or the
columns) are joined in C++; the text must parse to exactly what the rows hold, whatever the values."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qtlatlas.web.json_text import _rows_json, columns_json, rows_json_pieces

TEXT = st.one_of(st.none(), st.text(max_size=12))  # any character: quotes, backslashes, controls, non-ASCII
FLOAT = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True, width=64))
INT = st.one_of(st.none(), st.integers(-2**62, 2**62))


def _expected(value):
    """What a JSON reader must get back for a cell."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(TEXT, FLOAT, INT, st.booleans()), min_size=1, max_size=30))
def test_rows_parse_back_to_their_values(rows):
    frame = pd.DataFrame({
        "name": pd.Series([r[0] for r in rows], dtype=object),
        "x": pd.Series([np.nan if r[1] is None else r[1] for r in rows], dtype="float64"),
        "n": pd.array([r[2] for r in rows], dtype="Int64"),
        "flag": [r[3] for r in rows],
    })
    got = json.loads(_rows_json(frame))
    assert [list(g) for g in got] == [["name", "x", "n", "flag"]] * len(rows)
    for g, r in zip(got, rows, strict=True):
        assert g["name"] == r[0]
        assert g["x"] == _expected(r[1])  # the shortest round-trip text gives back the same double
        assert g["n"] == r[2]
        assert g["flag"] is r[3]


def test_float32_keeps_float32_digits_and_nested_values_stay_json():
    frame = pd.DataFrame({"p": np.array([0.4687080383300781, 1e-30, np.nan], np.float32),
                          "nested": [[1, 2], {"k": "v"}, None],
                          "tissue": pd.Categorical(["Liver", "Liver", "Brain"])})
    text = _rows_json(frame).decode()
    assert '"p":0.46870804,' in text  # float32's shortest form, not float64's 0.46870803833007810
    assert json.loads(text) == [{"p": 0.46870804, "nested": [1, 2], "tissue": "Liver"},
                                {"p": 1e-30, "nested": {"k": "v"}, "tissue": "Liver"},
                                {"p": None, "nested": None, "tissue": "Brain"}]


def test_arrow_tables_with_dictionaries_of_several_chunks():
    """Tables concatenated from pages of several tissues hold one dictionary per chunk (and a column of one value
    is written as a literal); each row keeps its own value."""
    def page(tissue: str, phenotypes: list[str], values: list[float]) -> pa.Table:
        codes = pa.array(np.arange(len(phenotypes), dtype=np.int32))
        return pa.table({"tissue": pa.DictionaryArray.from_arrays(pa.array(np.zeros(len(phenotypes), np.int32)),
                                                                  pa.array([tissue])),
                         "phenotype_id": pa.DictionaryArray.from_arrays(codes, pa.array(phenotypes)),
                         "nlog10p": pa.array(values, pa.float32())})

    table = pa.concat_tables([page("Liver", ["g1", 'g"2'], [1.5, 2.25]), page("Brain", ["g3"], [float("nan")])])
    assert json.loads(_rows_json(table)) == [{"tissue": "Liver", "phenotype_id": "g1", "nlog10p": 1.5},
                                             {"tissue": "Liver", "phenotype_id": 'g"2', "nlog10p": 2.25},
                                             {"tissue": "Brain", "phenotype_id": "g3", "nlog10p": None}]
    one = page("Liver", ["g1", "g1"], [1.0, 1.0])
    assert json.loads(_rows_json(one)) == [{"tissue": "Liver", "phenotype_id": "g1", "nlog10p": 1.0}] * 2
    assert _rows_json(one.slice(0, 0)) == b"[]"


def _from_columns(pieces, constant: bytes, n: int) -> list[dict]:
    """Rows rebuilt from the columns layout, the way a client reads it."""
    data = json.loads(b"".join(pieces))
    fixed = json.loads(constant)
    assert not set(data) & set(fixed) and all(len(v) == n for v in data.values())
    return [{**{k: v[i] for k, v in data.items()}, **fixed} for i in range(n)]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(TEXT, FLOAT, INT, st.booleans(), st.sampled_from(["A", "C", "GT"])), min_size=1, max_size=30))
def test_columns_layout_parses_back_to_the_rows(rows):
    frame = pd.DataFrame({
        "name": pd.Series([r[0] for r in rows], dtype=object),
        "x": pd.Series([np.nan if r[1] is None else r[1] for r in rows], dtype="float64"),
        "n": pd.array([r[2] for r in rows], dtype="Int64"),
        "flag": [r[3] for r in rows],
        "ref": [r[4] for r in rows],
        "tissue": pd.Categorical(["Liver"] * len(rows)),
    })
    for table in (frame, pa.Table.from_pandas(frame, preserve_index=False)):
        pieces, constant = columns_json(table)
        got = _from_columns(pieces, constant, len(rows))
        assert got == json.loads(_rows_json(frame))  # the same values as the rows layout
        assert [g["x"] for g in got] == [_expected(r[1]) for r in rows]
        assert "tissue" in json.loads(constant) or len(rows) == 1


def test_columns_layout_folds_constant_columns_and_keeps_empty_ones():
    table = pa.table({"tissue": pa.array(["Liver"] * 3), "af": pa.nulls(3, pa.float32()),
                      "pos": pa.array([5, 7, 9], pa.int64()), "variant_id": pa.array(["a", "b", "c"])})
    pieces, constant = columns_json(table)
    assert json.loads(b"".join(pieces)) == {"pos": [5, 7, 9], "variant_id": ["a", "b", "c"]}
    assert json.loads(constant) == {"tissue": "Liver", "af": None}
    pieces, constant = columns_json(table.slice(0, 0))
    assert json.loads(b"".join(pieces)) == {"tissue": [], "af": [], "pos": [], "variant_id": []}
    assert json.loads(constant) == {}


@pytest.mark.parametrize("layout", ["rows", "columns"])
def test_float32_columns_keep_float32_digits_in_range_and_every_digit_below(layout):
    """A p-value derived from a float32 −log10 p is written with float32's digits while float32 holds it as a
    normal number; below 1.2e-38 (where float32 would lose digits or underflow) in full float64."""
    p = np.array([0.7620588752003171, 3.1e-20, 1.23456789e-200, 0.0, np.nan])
    table = pa.table({"pval_nominal": p})
    if layout == "rows":
        got = [r["pval_nominal"] for r in json.loads(b"".join(rows_json_pieces(table, ("pval_nominal",))))]
        plain = [r["pval_nominal"] for r in json.loads(_rows_json(table))]
    else:
        got = json.loads(b"".join(columns_json(table, ("pval_nominal",))[0]))["pval_nominal"]
        plain = json.loads(b"".join(columns_json(table)[0]))["pval_nominal"]
    assert got[0] == float(str(np.float32(p[0]))) == 0.76205885  # float32's shortest text
    assert got[1] == float(str(np.float32(3.1e-20)))
    assert got[2] == 1.23456789e-200 and got[3] == 0 and got[4] is None
    assert plain[:3] == p[:3].tolist()  # without the option every float64 digit is kept
