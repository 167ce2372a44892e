import numpy as np
import pytest
from conftest import GEUVADIS22, bed_text, write_text

from qtlatlas.errors import InputFileError
from qtlatlas.io.phenotypes import read_bed_samples, read_phenotype_bed

S = ["s1", "s2", "s3"]


def test_reads_tensorqtl_layout(tmp_path):
    p = write_text(tmp_path / "a.bed.gz", bed_text([("chr1", 99, 100, "g1", 1, 2, 3), ("chr1", 199, 200, "g2", 4, 5.5, -6)], S), gz=True)
    t = read_phenotype_bed(p)
    assert t.samples == S
    assert t.phenotype_ids == ["g1", "g2"]
    np.testing.assert_array_equal(t.values, [[1, 2, 3], [4, 5.5, -6]])
    np.testing.assert_array_equal(t.tss, [100, 200])
    assert read_bed_samples(p) == S


def test_reads_qtltools_layout(tmp_path):
    p = write_text(tmp_path / "q.bed", bed_text([("22", 9, 10, "t1", "gA", "-", 1, 2, 3)], S, qtltools=True))
    t = read_phenotype_bed(p)
    assert t.positions.loc[0, "gene_id"] == "gA" and t.positions.loc[0, "strand"] == "-"
    assert t.values.shape == (1, 3)


@pytest.mark.shared
def test_geuvadis_layouts_agree(shared):
    a = read_phenotype_bed(GEUVADIS22 / "phenotypes.int.bed.gz")
    b = read_phenotype_bed(GEUVADIS22 / "phenotypes.int.qtltools.bed.gz")
    assert a.values.shape == (608, 358)
    assert a.samples == b.samples
    np.testing.assert_array_equal(a.values, b.values)
    assert a.samples == [line.split("\t")[1] for line in (GEUVADIS22 / "samples.txt").read_text().splitlines()]
    # space-separated QTLtools example file with a 'length' 5th column
    c = read_phenotype_bed(shared / "data" / "geuvadis-chr22-qtltools" / "genes.50percent.chr22.bed.gz")
    assert c.values.shape == (608, 358) and "gene_id" not in c.positions


def test_region_selection_uses_chromosome_rule(tmp_path):
    p = write_text(tmp_path / "a.bed", bed_text([("chr1", 99, 100, "g1", 1, 2, 3), ("chr2", 199, 200, "g2", 4, 5, 6)], S))
    assert read_phenotype_bed(p, region="2").phenotype_ids == ["g2"]
    assert read_phenotype_bed(p, region="chr1:50-150").phenotype_ids == ["g1"]


def test_missing_file(tmp_path):
    with pytest.raises(InputFileError, match="not found"):
        read_phenotype_bed(tmp_path / "nope.bed.gz")


def test_unsorted_rows_named_by_line(tmp_path):
    p = write_text(tmp_path / "u.bed", bed_text([("chr1", 199, 200, "g1", 1, 2, 3), ("chr1", 99, 100, "g2", 1, 2, 3)], S))
    with pytest.raises(InputFileError, match=r"u\.bed:3: rows are not sorted"):
        read_phenotype_bed(p)


def test_chromosome_blocks_must_be_contiguous(tmp_path):
    rows = [("chr1", 9, 10, "a", 1, 2, 3), ("chr2", 9, 10, "b", 1, 2, 3), ("chr1", 99, 100, "c", 1, 2, 3)]
    with pytest.raises(InputFileError, match=r":4: rows are not sorted: chromosome chr1 appears again"):
        read_phenotype_bed(write_text(tmp_path / "c.bed", bed_text(rows, S)))


def test_duplicate_phenotype_id(tmp_path):
    rows = [("chr1", 9, 10, "g1", 1, 2, 3), ("chr1", 19, 20, "g1", 1, 2, 3)]
    with pytest.raises(InputFileError, match=r"d\.bed:3: duplicate phenotype id 'g1' \(also at 2\)"):
        read_phenotype_bed(write_text(tmp_path / "d.bed", bed_text(rows, S)))


def test_duplicate_sample_id(tmp_path):
    p = write_text(tmp_path / "s.bed", bed_text([("chr1", 9, 10, "g1", 1, 2, 3)], ["x", "y", "x"]))
    with pytest.raises(InputFileError, match=r"s\.bed:1: duplicate sample id 'x'"):
        read_phenotype_bed(p)


def test_non_numeric_value_named(tmp_path):
    p = write_text(tmp_path / "n.bed", bed_text([("chr1", 9, 10, "g1", 1, "abc", 3)], S))
    with pytest.raises(InputFileError, match=r"n\.bed:2: non-numeric value 'abc' for sample 's2'"):
        read_phenotype_bed(p)


def test_nan_rejected_unless_allowed(tmp_path):
    p = write_text(tmp_path / "m.bed", bed_text([("chr1", 9, 10, "g1", 1, "NA", 3), ("chr1", 19, 20, "g2", "nan", 1, 2)], S))
    with pytest.raises(InputFileError, match=r"m\.bed:2: missing value \(NA/NaN\) for sample 's2'.*2 missing"):
        read_phenotype_bed(p)
    t = read_phenotype_bed(p, allow_missing=True)
    assert np.isnan(t.values[0, 1]) and np.isnan(t.values[1, 0]) and np.isfinite(t.values).sum() == 4


def test_wrong_column_count(tmp_path):
    text = bed_text([("chr1", 9, 10, "g1", 1, 2, 3)], S) + "chr1\t19\t20\tg2\t1\t2\n"
    with pytest.raises(InputFileError, match=r"w\.bed"):
        read_phenotype_bed(write_text(tmp_path / "w.bed", text))


def test_missing_header(tmp_path):
    with pytest.raises(InputFileError, match=r"h\.bed:1: the first line must be a header"):
        read_phenotype_bed(write_text(tmp_path / "h.bed", "chr1\t9\t10\tg1\t1\n"))


def test_non_integer_coordinate(tmp_path):
    p = write_text(tmp_path / "i.bed", bed_text([("chr1", "x9", 10, "g1", 1, 2, 3)], S))
    with pytest.raises(InputFileError, match=r"i\.bed:2: column 2 \(start\) is not an integer"):
        read_phenotype_bed(p)
