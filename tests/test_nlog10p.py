"""Exact −log10 p from t statistics, finite where the p-value underflows (qtlatlas.engine.stats)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from qtlatlas.engine import stats as engine_stats
from qtlatlas.engine.stats import nlog10p_from_t


@pytest.mark.parametrize("dof", [2, 5, 50, 400, 2000])
def test_equals_the_t_distribution_where_p_is_representable(dof):
    t = np.concatenate([np.linspace(-30, 30, 241), np.geomspace(30, 400, 60)])
    p = 2 * stats.t.sf(np.abs(t), dof)
    ok = p > 1e-295
    np.testing.assert_allclose(nlog10p_from_t(t[ok], dof), -np.log10(p[ok]), rtol=1e-10, atol=1e-13)
    assert nlog10p_from_t(0.0, dof) == 0.0


@pytest.mark.parametrize("dof", [3, 60, 400, 2000])
def test_series_agrees_with_betainc_where_both_hold(dof, monkeypatch):
    t = np.geomspace(5, 400, 400)
    direct = nlog10p_from_t(t, dof)
    monkeypatch.setattr(engine_stats, "_SERIES_BELOW_P", 1.0)  # the series everywhere
    series = nlog10p_from_t(t, dof)
    both = (direct > 3) & (direct < 295)
    assert both.sum() > 20
    np.testing.assert_allclose(series[both], direct[both], rtol=1e-11)


def test_closed_forms_far_below_float64():
    # two degrees of freedom: p = 2 / ((sqrt(t² + 2) + t) · sqrt(t² + 2)) -> 1/t² for large t
    assert nlog10p_from_t(1e100, 2) == pytest.approx(200.0, abs=1e-9)
    # one degree of freedom (Cauchy): p = (2/π)·arctan(1/t) -> 2/(π t)
    assert nlog10p_from_t(1e150, 1) == pytest.approx(150 - np.log10(2 / np.pi), abs=1e-9)


def test_finite_monotone_and_symmetric_at_atlas_sizes():
    t = np.geomspace(1, 1e4, 2000)
    v = nlog10p_from_t(t, 400)
    assert np.isfinite(v).all() and (np.diff(v) > 0).all()
    # leading order far out: p ~ x^(dof/2) with x = dof / t², i.e. ~1,080 decades at t = 10,000
    assert abs(v[-1] + 200 * np.log10(400 / 1e8)) < 2
    np.testing.assert_array_equal(nlog10p_from_t(-t, 400), v)
    edge = nlog10p_from_t(np.array([np.inf, -np.inf, np.nan]), 400)
    assert edge[0] == edge[1] == np.inf and np.isnan(edge[2])
