import numpy as np
import pandas as pd
import pytest

from qtlatlas.errors import SampleMismatchError
from qtlatlas.io.groups import gene_of
from qtlatlas.io.phenotypes import PhenotypeTable
from qtlatlas.mapping.crossmodal import concatenate_modalities


def _table(rows, samples):
    pos = pd.DataFrame([r[:4] for r in rows], columns=["chrom", "start", "end", "phenotype_id"])
    return PhenotypeTable(np.array([r[4:] for r in rows], dtype=float), pos, samples)


def test_gene_rule():
    assert gene_of("ENSG1__chr1:10:20:clu_1") == "ENSG1" and gene_of("ENSG2") == "ENSG2"


def test_concatenation_prefixes_sorts_and_groups():
    expr = _table([("chr1", 99, 100, "G1", 1, 2, 3), ("chr2", 49, 50, "G2", 4, 5, 6)], ["a", "b", "c"])
    iso = _table([("chr1", 99, 100, "G1__T1", 7, 8, 9), ("chr1", 499, 500, "G3__T9", 1, 1, 2)], ["c", "a", "b"])
    table, groups = concatenate_modalities({"expression": expr, "isoforms": iso},
                                           {"isoforms": pd.Series({"G3__T9": "GENE3"})})
    assert table.samples == ["a", "b", "c"]
    assert table.phenotype_ids == ["expression:G1", "isoforms:G1__T1", "isoforms:G3__T9", "expression:G2"]
    assert list(groups) == ["G1", "G1", "GENE3", "G2"]
    np.testing.assert_array_equal(table.values[1], [8, 9, 7])  # reordered to the common sample order


def test_no_shared_sample():
    a = _table([("chr1", 9, 10, "G1", 1)], ["a"])
    b = _table([("chr1", 9, 10, "G1", 1)], ["b"])
    with pytest.raises(SampleMismatchError):
        concatenate_modalities({"x": a, "y": b})
