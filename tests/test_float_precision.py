"""Mantissa rounding keeps each value within the error bound asked of it."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from qtlatlas.release.float_precision import bits_for_abs_error, round_mantissa

finite = st.floats(min_value=-1048576.0, max_value=1048576.0, allow_nan=False, width=32)


@settings(max_examples=300, deadline=None)
@given(st.lists(finite, min_size=1, max_size=50), st.floats(min_value=1e-6, max_value=1.0))
def test_rounding_stays_within_the_absolute_bound(values, bound):
    x = np.asarray(values, dtype=np.float32)
    rounded = round_mantissa(x, bits_for_abs_error(x, bound))
    assert np.all(np.abs(rounded.astype(np.float64) - x.astype(np.float64)) <= bound / 2 + 1e-300)


def test_fewer_bits_mean_trailing_zeros_and_specials_pass():
    x = np.array([np.pi, -np.e, np.nan, np.inf, -np.inf, 0.0], dtype=np.float32)
    r = round_mantissa(x, 8)
    assert np.all(r[:2].view(np.uint32) & np.uint32((1 << 15) - 1) == 0)
    assert np.isnan(r[2]) and r[3] == np.inf and r[4] == -np.inf and r[5] == 0
    assert abs(r[0] - np.pi) <= np.pi * 2.0 ** -9
    np.testing.assert_array_equal(round_mantissa(x[:2], 23), x[:2])


def test_bits_follow_the_ratio_of_value_to_bound():
    bits = bits_for_abs_error(np.array([1.0, 1000.0, 0.0, np.nan, 1e-9]), 1e-4)
    assert bits.tolist() == [14, 24 - 1, 23, 23, 0]
