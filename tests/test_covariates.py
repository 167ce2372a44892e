import numpy as np
import pandas as pd
import pytest
from conftest import GEUVADIS22, write_text

from qtlatlas.errors import InputFileError, SampleMismatchError
from qtlatlas.io.covariates import (
    read_covariates,
    read_covariates_of,
    read_plink_covariates,
    write_covariates,
)


def test_tensorqtl_layout_and_sample_order(tmp_path):
    p = write_text(tmp_path / "c.txt", "id\ta\tb\tc\nPC1\t1\t2\t3\nPC2\t0.5\t0\t-1\n")
    c = read_covariates(p, samples=["c", "a"])
    assert list(c.columns) == ["c", "a"] and list(c.index) == ["PC1", "PC2"]
    np.testing.assert_array_equal(c.to_numpy(), [[3, 1], [-1, 0.5]])


def test_transposed_layout_recognised(tmp_path):
    p = write_text(tmp_path / "t.txt", "sample\tPC1\tPC2\na\t1\t0.5\nb\t2\t0\n")
    c = read_covariates(p, samples=["a", "b"])
    assert list(c.index) == ["PC1", "PC2"]
    np.testing.assert_array_equal(c.to_numpy(), [[1, 2], [0.5, 0]])


def test_categorical_covariates_expand_to_indicators(tmp_path):
    p = write_text(tmp_path / "c.txt", "id a b c d\nsex M F F M\nbatch b1 b2 b3 b1\nlane x x x x\nage 1 2 3 4\n")
    c = read_covariates(p)
    assert list(c.index) == ["sex_F", "batch_b2", "batch_b3", "age"]
    np.testing.assert_array_equal(c.loc["sex_F"].to_numpy(), [0, 1, 1, 0])


def test_samples_absent_from_covariates(tmp_path):
    p = write_text(tmp_path / "c.txt", "id\ta\tb\nPC1\t1\t2\n")
    with pytest.raises(SampleMismatchError, match=r"c\.txt: 2 of 3 samples are absent from the covariates: x, y"):
        read_covariates(p, samples=["a", "x", "y"])


def test_missing_value_named(tmp_path):
    p = write_text(tmp_path / "c.txt", "id\ta\tb\nPC1\t1\t2\nPC2\t1\tNA\n")
    with pytest.raises(InputFileError, match=r"c\.txt:3: missing value for covariate 'PC2', sample 'b'"):
        read_covariates(p)


def test_duplicate_covariate(tmp_path):
    p = write_text(tmp_path / "c.txt", "id\ta\tb\nPC1\t1\t2\nPC1\t1\t3\n")
    with pytest.raises(InputFileError, match=r"c\.txt:3: duplicate covariate 'PC1'"):
        read_covariates(p)


def test_round_trip(tmp_path):
    p = write_text(tmp_path / "c.txt", "id\ta\tb\nPC1\t1.25\t2\n")
    c = read_covariates(p)
    write_covariates(c, tmp_path / "out.txt")
    assert (tmp_path / "out.txt").read_text().splitlines()[0] == "id\ta\tb"
    assert read_covariates(tmp_path / "out.txt").equals(c)


@pytest.mark.shared
def test_real_covariates_both_layouts_agree(shared):
    a = read_covariates(GEUVADIS22 / "covariates.txt")
    b = read_covariates(shared / "data" / "geuvadis-chr22-qtltools" / "genes.covariates.pc50.txt.gz")
    assert a.shape == b.shape == (53, 358)
    np.testing.assert_allclose(a.to_numpy(), b.loc[:, a.columns].to_numpy(), rtol=1e-5)


def test_plink_layout(tmp_path):
    p = write_text(tmp_path / "covar.txt", "FID IID pc1 age\nf1 s1 0.5 30\nf2 s2 -1 41\nf3 s3 2e-3 -9.5\n")
    c = read_plink_covariates(p)
    assert list(c.columns) == ["s1", "s2", "s3"] and list(c.index) == ["pc1", "age"]
    np.testing.assert_array_equal(c.to_numpy(), [[0.5, -1, 0.002], [30, 41, -9.5]])
    # any layout, restricted to the samples asked for that the file has (file order)
    assert list(read_covariates_of(p, ["s3", "s1", "zz"]).columns) == ["s1", "s3"]
    t = write_text(tmp_path / "tensorqtl.txt", "id\ts1\ts2\ts3\npc1\t0.5\t-1\t0.002\n")
    assert list(read_covariates_of(t, ["s3", "s2"]).columns) == ["s2", "s3"]
    tr = write_text(tmp_path / "transposed.txt", "sample\tpc1\ns1\t0.5\ns2\t-1\n")
    got = read_covariates_of(tr, ["s2", "s1"])
    assert list(got.columns) == ["s1", "s2"] and list(got.index) == ["pc1"]


@pytest.mark.parametrize("text, message, line", [
    ("FID IID pc1\nf1 s1 0.5\nf2 s1 1\n", "listed twice", 3),
    ("FID IID pc1\nf1 s1 NA\n", "missing or not a number", 2),
    ("FID IID pc1\nf1 s1 0.1\nf2 s2 abc\n", "not a number", 3),
])
def test_plink_layout_errors_name_the_line(tmp_path, text, message, line):
    p = write_text(tmp_path / "covar.txt", text)
    with pytest.raises(InputFileError, match=message) as err:
        read_plink_covariates(p)
    assert err.value.line == line


def test_categorical_indicator_clashing_with_a_covariate_refused(tmp_path):
    p = write_text(tmp_path / "c.txt", "id\ta\tb\tc\nsex\tM\tF\tF\nsex_F\t1\t0\t2\n")
    with pytest.raises(InputFileError, match=r"c\.txt: duplicate covariate 'sex_F' once categorical covariates"):
        read_covariates(p)


def test_exact_writing_keeps_every_digit(tmp_path):
    p = write_text(tmp_path / "c.txt", "id\ta\tb\nPC1\t0.123456789012\t-15\nage\t1e-12\t3\n")
    c = read_covariates(p)
    write_covariates(c, tmp_path / "rounded.txt")
    write_covariates(c, tmp_path / "exact.txt", exact=True)
    assert not read_covariates(tmp_path / "rounded.txt").equals(c)
    assert read_covariates(tmp_path / "exact.txt").equals(c)


def test_no_covariate_row_only_when_allowed(tmp_path):
    p = write_text(tmp_path / "c.txt", "id\ta\tb\n")
    with pytest.raises(InputFileError, match="no covariates found"):
        read_covariates(p)
    empty = read_covariates(p, ["b", "a"], allow_empty=True)
    assert empty.shape == (0, 2) and list(empty.columns) == ["b", "a"]


def test_computed_pcs_never_take_a_lab_covariate_name():
    from qtlatlas.engine.pca import pca_covariates

    rng = np.random.default_rng(3)
    samples = [f"s{i}" for i in range(30)]
    G, P = rng.binomial(2, 0.3, (40, 30)).astype(float), rng.normal(size=(20, 30))
    lab = pd.DataFrame(rng.normal(size=(2, 30)), index=["gPC1", "age"], columns=samples)
    cov = pca_covariates(samples, G, P, 2, 2, lab)
    assert list(cov.index) == ["computed_gPC1", "computed_gPC2", "computed_pPC1", "computed_pPC2", "gPC1", "age"]
    assert cov.loc[["gPC1", "age"]].equals(lab)
    lab.index = ["sex", "age"]  # no clash: the usual names
    assert list(pca_covariates(samples, G, P, 2, 2, lab).index) == ["gPC1", "gPC2", "pPC1", "pPC2", "sex", "age"]
    assert list(pca_covariates(samples, G, P, 0, 0, lab).index) == ["sex", "age"]
