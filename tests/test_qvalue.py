"""q-values and π̂₀ against R qvalue 2.30.0 (../shared/reference/qvalue/), to 1e-6."""

import numpy as np
import pandas as pd
import pytest
from conftest import SHARED

from qtlatlas.engine.qvalue import pi0_estimate, qvalues

QREF = SHARED / "reference" / "qvalue"
SETS = ["geuvadis22_pval_beta", "null_uniform_2000", "mixture_5000", "ties_and_ones_1000"]


def _pi0_reference() -> dict[str, tuple[float, float]]:
    out = {}
    for line in (QREF / "pi0.txt").read_text().splitlines():
        f = line.split()
        out[f[0]] = (float(f[f.index("pi0_lambda085") + 1]), float(f[f.index("pi0_default") + 1]))
    return out


@pytest.mark.shared
@pytest.mark.parametrize("name", SETS)
def test_fixed_lambda_matches_r(shared, name):
    d = pd.read_csv(QREF / f"{name}.tsv", sep="\t")
    q, pi0 = qvalues(d["p"].to_numpy(), lambda_=0.85)
    assert abs(pi0 - _pi0_reference()[name][0]) <= 1e-6
    np.testing.assert_allclose(q, d["qval_lambda085"].to_numpy(), rtol=0, atol=1e-6)


@pytest.mark.shared
@pytest.mark.parametrize("name", SETS)
def test_default_smoother_matches_r(shared, name):
    d = pd.read_csv(QREF / f"{name}.tsv", sep="\t")
    q, pi0 = qvalues(d["p"].to_numpy(), lambda_=None)
    assert abs(pi0 - _pi0_reference()[name][1]) <= 1e-6
    np.testing.assert_allclose(q, d["qval_default"].to_numpy(), rtol=0, atol=1e-6)


def test_qvalues_monotone_in_p_and_nan_passthrough():
    rng = np.random.default_rng(3)
    p = np.concatenate([rng.uniform(size=500), rng.beta(0.2, 5, size=100), [np.nan]])
    q, pi0 = qvalues(p)
    assert np.isnan(q[-1]) and 0 < pi0 <= 1
    order = np.argsort(p[:-1])
    assert np.all(np.diff(q[:-1][order]) >= -1e-15)
    assert np.all(q[:-1] >= p[:-1] * pi0 - 1e-15)


def test_invalid_p_values():
    with pytest.raises(ValueError, match="within"):
        pi0_estimate(np.array([0.5, 1.5]))
    with pytest.raises(ValueError, match="below lambda"):
        pi0_estimate(np.array([0.1, 0.2]), 0.85)


def test_pi0_fallback_when_no_p_value_reaches_lambda():
    import pandas as pd

    from qtlatlas.engine.significance import add_qvalues

    p = np.array([1e-8, 1e-4, 0.01, 0.2, 0.5])
    table = pd.DataFrame({"pval_beta": p, "pval_perm": p, "beta_shape1": 1.0, "beta_shape2": 50.0})
    out, summary = add_qvalues(table, 0.05, 0.85)
    assert summary.pi0_fallback and summary.pi0 == 1.0
    bh = np.minimum.accumulate((p * 5 / np.arange(1, 6))[::-1])[::-1]
    np.testing.assert_allclose(out["qval"], bh)
