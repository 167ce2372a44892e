"""The list envelope's row encoder (``web.responses._rows_json``): Arrow formats each column and joins the rows
in C++; the text must parse to exactly what the rows hold, whatever the values."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from qtlatlas.web.responses import _rows_json

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
