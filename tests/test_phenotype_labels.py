"""Readable phenotype labels (qtlatlas.web.pages.phenotype_labels) per modality, as the plots name phenotypes."""

from __future__ import annotations

import pytest

from qtlatlas.web.pages.phenotype_labels import phenotype_label

CASES = [
    ("expression", "ENSDEMG00000000118", "Ppp44d", "Ppp44d"),
    ("expression", "ENSDEMG00000000118", None, "ENSDEMG00000000118"),
    ("stability", "ENSDEMG00000000118", "Ppp44d", "Ppp44d · stability"),
    ("isoforms", "ENSDEMG00000000001__ENSDEMT00000000002", "Abc1", "Abc1 · ENSDEMT00000000002"),
    ("splicing", "ENSDEMG00000000001__chr1:682920:686663:clu_1", "Abc1", "Abc1 · intron 682,920–686,663"),
    ("splicing", "ENSRNOG00000000001__1:1200:1900:clu_12_+", "Abc1", "Abc1 · intron 1,200–1,900"),
    ("splicing", "G__odd", "Abc1", "Abc1 · intron odd"),
    ("alt_TSS", "ENSDEMG00000000118__TSS_2", "Ppp44d", "Ppp44d · TSS_2 usage"),
    ("alt_TSS", "G__ENST7", "Sym", "Sym · TSS ENST7 usage"),
    ("alt_polyA", "ENSDEMG00000000001__PAS_3", "Abc1", "Abc1 · polyA site 3 usage"),
    ("alt_polyA", "G__ENST7", "Sym", "Sym · polyA site ENST7 usage"),
    ("cross_modality", "alt_polyA:ENSDEMG00000000001__PAS_3", "Abc1", "Abc1 · polyA site 3 usage (alt_polyA)"),
    ("cross_modality", "expression:ENSDEMG00000000001", "Abc1", "Abc1 (expression)"),
    ("other", "G__feature_x", "Sym", "Sym · feature_x"),
]


@pytest.mark.parametrize("modality, phenotype_id, gene_name, label", CASES)
def test_phenotype_label(modality, phenotype_id, gene_name, label):
    assert phenotype_label(modality, phenotype_id, gene_name) == label

