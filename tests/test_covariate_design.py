"""The covariate matrix of a tissue × modality (:mod:`qtlatlas.mapping.covariate_design`) and which phenotypes
can be tested (:mod:`qtlatlas.mapping.untestable`)."""

import numpy as np
import pandas as pd
import pytest

from qtlatlas.engine.pca import principal_components
from qtlatlas.mapping.covariate_design import (
    GENOTYPE,
    PHENOTYPE,
    PcRequest,
    check_covariate_matrix,
    design_covariates,
    name_runs,
    pc_kind,
)
from qtlatlas.mapping.untestable import find_untestable

N = 60
SAMPLES = [f"s{i}" for i in range(N)]


@pytest.mark.parametrize("name, kind", [
    ("gPC1", GENOTYPE), ("PC3", GENOTYPE), ("genotype_PC2", GENOTYPE), ("genoPC1", GENOTYPE), ("PC_4", GENOTYPE),
    ("genotypes_1_1_svd_PC1", GENOTYPE), ("computed_gPC1", GENOTYPE),
    ("ePC1", PHENOTYPE), ("pPC12", PHENOTYPE), ("expression_PC3", PHENOTYPE), ("PEER1", PHENOTYPE),
    ("peer_factor_2", PHENOTYPE), ("InferredCov7", PHENOTYPE), ("genes_1_1_svd_PC50", PHENOTYPE),
    ("age", None), ("sex", None), ("batch2", None), ("PCR_cycles", None), ("C1", None), ("RIN", None),
])
def test_pc_kind_by_name(name, kind):
    assert pc_kind(name) == kind


def test_name_runs():
    assert name_runs(["gPC1", "gPC2", "gPC3", "ePC1", "ePC2", "age", "ePC4"]) == "gPC1–3, ePC1–2, age, ePC4"
    assert name_runs([]) == "none"


def _data(seed=0):
    rng = np.random.default_rng(seed)
    G = rng.binomial(2, 0.3, (300, N)).astype(float)
    P = rng.normal(size=(200, N)) + np.outer(rng.normal(size=200), rng.normal(size=N))
    return G, P


def _never():
    raise AssertionError("read although no PC of this kind is computed")


def test_default_counts_yield_to_the_labs_pcs_and_read_nothing():
    rng = np.random.default_rng(1)
    lab = pd.DataFrame(rng.normal(size=(4, N)), index=["gPC1", "gPC2", "PEER1", "age"], columns=SAMPLES)
    design = design_covariates(SAMPLES, lab, PcRequest(5, 20, False, False), _never, _never)
    assert list(design.frame.index) == ["gPC1", "gPC2", "PEER1", "age"] and design.computed == []
    assert design.lab_pcs == {GENOTYPE: {"covariates": ["gPC1", "gPC2"], "by": "name"},
                              PHENOTYPE: {"covariates": ["PEER1"], "by": "name"}}
    assert design.notes[0].startswith("the lab's covariates already hold genotype PCs (gPC1–2, by name) and phenotype "
                                      "PCs (PEER1, by name): no genotype or phenotype PC is computed")
    assert design.to_json()["lab_pcs"] == design.lab_pcs


def test_explicit_counts_are_honoured_and_renamed():
    G, P = _data()
    rng = np.random.default_rng(2)
    lab = pd.DataFrame(rng.normal(size=(2, N)), index=["gPC1", "age"], columns=SAMPLES)
    design = design_covariates(SAMPLES, lab, PcRequest(3, 2), lambda: G, lambda: P)
    assert list(design.frame.index) == ["computed_gPC1", "computed_gPC2", "computed_gPC3", "computed_pPC1",
                                        "computed_pPC2", "gPC1", "age"]
    assert design.lab_pcs == {} and design.warnings[0] == (
        "the lab's covariates already use names of computed PCs, which usually means they hold the PCs to use; as "
        "genotype_pcs: 3 and phenotype_pcs: 2 is set, the computed ones are added, named computed_gPC1–3, "
        "computed_pPC1–2 (set it to 0 to map with the lab's alone)")


def test_lab_pc_found_by_correlation_with_the_first_computed_pc():
    G, P = _data(3)
    first = principal_components(G, 1)[0]
    rng = np.random.default_rng(3)
    lab = pd.DataFrame([-first + rng.normal(scale=0.2 * first.std(), size=N), rng.normal(size=N)],
                       index=["mds1", "age"], columns=SAMPLES)
    r = abs(np.corrcoef(lab.loc["mds1"], first)[0, 1])
    assert 0.9 <= r < 0.999
    design = design_covariates(SAMPLES, lab, PcRequest(5, 3, False, False), lambda: G, lambda: P)
    assert design.computed == ["pPC1", "pPC2", "pPC3"]
    assert design.lab_pcs == {GENOTYPE: {"covariates": ["mds1"], "by": "correlation", "r": round(r, 4)}}
    assert design.notes[0].startswith(f"the lab's covariates already hold genotype PCs (mds1, |r| = {r:.2f} with the "
                                      "first computed genotype PC): no genotype PC is computed")
    # below the bound, the lab's covariate is not taken for a PC
    lab.loc["mds1"] = -first + rng.normal(scale=1.5 * first.std(), size=N)
    assert abs(np.corrcoef(lab.loc["mds1"], first)[0, 1]) < 0.9
    design = design_covariates(SAMPLES, lab, PcRequest(5, 3, False, False), lambda: G, lambda: P)
    assert design.lab_pcs == {} and len(design.computed) == 8


def test_pcs_capped_to_leave_a_residual_degree_of_freedom():
    G, P = _data(4)
    rng = np.random.default_rng(4)
    lab = pd.DataFrame(rng.normal(size=(50, N)), index=[f"c{i}" for i in range(50)], columns=SAMPLES)
    design = design_covariates(SAMPLES, lab, PcRequest(5, 20), lambda: G, lambda: P)
    assert len(design.frame) == N - 3 and design.computed == [f"gPC{i}" for i in range(1, 6)] + ["pPC1", "pPC2"]
    assert any("2 of the 20 phenotype PCs asked for are computed" in n for n in design.notes)
    assert check_covariate_matrix(design.frame) == []


def test_check_covariate_matrix():
    rng = np.random.default_rng(5)
    ok = pd.DataFrame(rng.normal(size=(3, 20)), index=["a", "b", "c"])
    assert check_covariate_matrix(ok) == []
    collinear = pd.concat([ok, pd.DataFrame([ok.loc["a"] - 2 * ok.loc["c"] + 1], index=["d"])])
    assert check_covariate_matrix(collinear) == [
        "covariate(s) 'd' are linear combinations of the covariates listed before them (and the intercept): the "
        "matrix is not of full rank"]
    constant = pd.concat([ok, pd.DataFrame([np.full(20, 2.0)], index=["site"])])
    assert check_covariate_matrix(constant) == [
        "covariate(s) 'site' constant across the 20 mapped samples (collinear with the intercept)"]
    many = pd.DataFrame(rng.normal(size=(18, 20)), index=[f"c{i}" for i in range(18)])
    assert check_covariate_matrix(many) == [
        "18 covariates for 20 mapped samples leave no residual degree of freedom (n − 2 − covariates = 0); at most 17"]
    assert check_covariate_matrix(many.iloc[:17]) == []


def test_testability_names_chromosomes_and_counts_phenotypes_without_cis_variants():
    positions = pd.DataFrame({"chrom": ["chr1", "chr1", "chr1", "chr2", "chrX"],
                              "start": [999, 2_999_999, 5_000_000, 99, 99], "end": [1000, 3_000_000, 5_000_001, 100, 100],
                              "phenotype_id": ["a", "b", "far", "x2", "xx"]})
    variants = pd.DataFrame({"chrom": ["1", "1", "X"], "pos": [2_000_000, 1_500, 1_000_100]})
    found = find_untestable(positions, variants, 1_000_000)
    assert found.no_genotypes == {"chr2": ["x2"]} and found.no_cis_variant == ["far"]
    assert found.n_testable == 3  # a (1,500), b (2,000,000 at exactly 1 Mb), xx (chrX within the window edge)
    assert found.message() == ("2 of 5 phenotype(s) cannot be tested: 1 on chromosome(s) without genotypes (chr2: x2); "
                               "1 without any variant within 1,000,000 bp of their TSS (far)")
    assert find_untestable(positions.iloc[:2], variants, 1_000_000).message() == ""
