import numpy as np
import pytest

from qtlatlas.io.chromosomes import Region, chrom_key, chrom_sort_key, parse_region, region_mask


@pytest.mark.parametrize("name,key", [("chr22", "22"), ("22", "22"), ("Chr22", "22"), ("chrX", "X"), ("x", "X"),
                                      ("chrM", "MT"), ("MT", "MT"), ("chrMT", "MT"), ("scaffold_1", "scaffold_1")])
def test_chrom_key(name, key):
    assert chrom_key(name) == key


def test_sort_order():
    assert sorted(["chrX", "chr10", "chr2", "MT", "chrUn"], key=chrom_sort_key) == ["chr2", "chr10", "chrX", "MT", "chrUn"]


def test_parse_region():
    assert parse_region("chr1:1,000-2,000") == Region("chr1", 1000, 2000)
    assert parse_region("22") == Region("22", 1, None)
    assert parse_region("22:500") == Region("22", 500, 500)
    for bad in ("", "chr1:5-2", "chr1:0-3", "chr 1"):
        with pytest.raises(ValueError):
            parse_region(bad)


def test_region_mask_matches_either_spelling():
    m = region_mask(["chr1", "1", "chr2", "1"], [5, 50, 5, 500], "chr1:1-100")
    np.testing.assert_array_equal(m, [True, True, False, False])
