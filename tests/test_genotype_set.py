import numpy as np
import pytest
from conftest import G1000

from qtlatlas.errors import InputFileError
from qtlatlas.io.genotype_set import open_genotype_files
from qtlatlas.io.genotypes import read_genotypes


@pytest.mark.shared
def test_per_chromosome_files_read_as_one(shared):
    files = [G1000 / "g1000_eur_hm3_chr21.bed", G1000 / "g1000_eur_hm3_chr22.bed"]
    reader = open_genotype_files([str(f) for f in files])
    assert len(reader.variants) == 17_206 + 17_752
    assert reader.chromosomes() == ["21", "22"]
    g22 = reader.read("chr22:20000000-21000000")
    direct = read_genotypes(files[1], "22:20000000-21000000")
    np.testing.assert_array_equal(g22.dosages, direct.dosages)
    assert reader.read().dosages.shape == (34_958, 503)


def test_samples_must_match(tmp_path):
    from atlas_factory import SAMPLES, vcf_text
    from conftest import write_text

    a = write_text(tmp_path / "a.vcf", vcf_text(SAMPLES))
    b = write_text(tmp_path / "b.vcf", vcf_text(SAMPLES[::-1]))
    with pytest.raises(InputFileError, match="samples differ"):
        open_genotype_files([str(a), str(b)])
