"""TMM scale factors (edgeR's ``calcNormFactors``) and the ``tmm`` / ``rank`` normalisations.

The factors are compared with edgeR itself (Debian's ``r-bioc-edger``, installed when missing, as the LD tests
install plink1.9) on the GEUVADIS chr22 expression values of ``../shared/reference/geuvadis22`` and on
simulated read counts with a planted composition difference.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from qtlatlas.demo.realism import distinct_fraction
from qtlatlas.engine.normalize import prepare_phenotypes, tmm_factors
from qtlatlas.io.phenotypes import read_phenotype_bed

GEUVADIS = Path(__file__).resolve().parents[2] / "shared" / "reference" / "geuvadis22"


@pytest.fixture(scope="session")
def rscript() -> str:
    """``Rscript`` with edgeR (Debian's r-bioc-edger), installed with apt-get when missing (never skipped)."""
    def has_edger() -> bool:
        found = shutil.which("Rscript")
        return bool(found) and subprocess.run([found, "-e", "suppressMessages(library(edgeR))"],
                                              capture_output=True).returncode == 0

    if not has_edger():
        sudo = [] if os.geteuid() == 0 else ["sudo"]
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run([*sudo, "apt-get", "update", "-q"], check=True, env=env)
        subprocess.run([*sudo, "apt-get", "install", "-y", "-q", "r-bioc-edger"], check=True, env=env)
    assert has_edger(), "edgeR could not be installed"
    return shutil.which("Rscript")


def edger_factors(rscript: str, counts: np.ndarray, tmp: Path) -> np.ndarray:
    """edgeR ``calcNormFactors(counts, method = "TMM")`` of a (features, samples) matrix."""
    np.savetxt(tmp / "counts.txt", counts, delimiter="\t", fmt="%.10g")
    code = (f'suppressMessages(library(edgeR)); x <- as.matrix(read.table("{tmp / "counts.txt"}", sep = "\\t")); '
            f'write(format(calcNormFactors(x, method = "TMM"), digits = 15), "{tmp / "factors.txt"}", ncolumns = 1)')
    subprocess.run([rscript, "-e", code], check=True, capture_output=True)
    return np.loadtxt(tmp / "factors.txt")


def test_tmm_factors_equal_edger_on_geuvadis(rscript, tmp_path):
    values = read_phenotype_bed(GEUVADIS / "phenotypes.raw.bed.gz").values
    ours = tmm_factors(values)
    theirs = edger_factors(rscript, values, tmp_path)
    assert ours.shape == theirs.shape == (values.shape[1],)
    assert np.abs(ours.std()) > 0.01  # the samples do differ
    np.testing.assert_allclose(ours, theirs, rtol=1e-9)


def test_tmm_factors_equal_edger_on_counts_with_a_composition_shift(rscript, tmp_path):
    rng = np.random.default_rng(7)
    mean = np.exp(rng.normal(3, 2, 800))
    counts = rng.poisson(mean[:, None] * rng.uniform(0.5, 2, 40)[None, :]).astype(float)
    counts[:80, :20] *= 4  # 10% of the genes four times as abundant in half the samples
    counts[5, :] = 0  # a gene never counted
    ours = tmm_factors(counts)
    np.testing.assert_allclose(ours, edger_factors(rscript, counts, tmp_path), rtol=1e-9)
    # in the shifted samples the other 90% of the genes take a smaller share of the reads: a smaller factor
    # (effective library size) puts them back on the scale of the other samples, whatever the library sizes
    assert ours[:20].max() < ours[20:].min()


def test_tmm_factors_ignore_library_size_and_have_geometric_mean_one():
    rng = np.random.default_rng(3)
    counts = rng.poisson(np.exp(rng.normal(3, 1.5, 500))[:, None] * np.ones(12)).astype(float)
    base = tmm_factors(counts)
    assert np.exp(np.log(base).mean()) == pytest.approx(1.0)
    scaled = counts * np.linspace(0.5, 5, 12)[None, :]
    np.testing.assert_allclose(tmm_factors(scaled), base, rtol=0.05)
    with pytest.raises(ValueError, match="non-negative"):
        tmm_factors(-counts)
    with pytest.raises(ValueError, match="positive total"):
        tmm_factors(np.zeros((5, 3)))


@pytest.mark.parametrize("method", ["tmm", "rank"])
def test_tmm_and_rank_keep_every_distinct_value_where_quantile_ties(method):
    """Few genes far apart in level: each keeps its rank among the genes of every sample, so quantile
    normalisation gives it one value; TMM and ranks keep the samples' values apart."""
    rng = np.random.default_rng(11)
    level = np.exp2(np.linspace(1, 12, 30))
    X = level[:, None] * np.exp2(rng.normal(0, 0.3, (30, 200)))
    assert distinct_fraction(prepare_phenotypes(X).values).min() < 0.1
    assert distinct_fraction(prepare_phenotypes(X, method=method).values).min() == 1.0


def test_tmm_with_given_factors_divides_each_sample():
    X = np.arange(1, 41, dtype=float).reshape(4, 10)[:, ::-1].copy()  # every gene falls from sample 0 to 9
    factors = np.exp2(-2 * np.arange(10.0))  # ... and the factors turn that around
    out = prepare_phenotypes(X, method="tmm", factors=factors).values
    assert (np.diff(out, axis=1) > 0).all()
    with pytest.raises(ValueError, match="10 positive"):
        prepare_phenotypes(X, method="tmm", factors=np.ones(3))
    with pytest.raises(ValueError, match="unknown normalisation"):
        prepare_phenotypes(X, method="vst")
