import numpy as np
import pytest
from conftest import GEUVADIS22

from qtlatlas.engine.residualize import Residualizer, center_normalize
from qtlatlas.engine.stats import pval_from_r2
from qtlatlas.engine.trans import GenotypeChunk, r2_threshold, trans_scan
from qtlatlas.mapping.inputs import load_mapping_inputs


def test_r2_threshold_inverts_pvalue():
    t = r2_threshold(1e-5, 300)
    assert pval_from_r2(t, 300) == pytest.approx(1e-5, rel=1e-9)


@pytest.mark.shared
def test_trans_scan_equals_brute_force(shared):
    inputs = load_mapping_inputs(GEUVADIS22 / "genotypes.bed", GEUVADIS22 / "phenotypes.int.bed.gz",
                                 GEUVADIS22 / "covariates.txt")
    problem = inputs.cis_problem("chr22")
    args = dict(phenotypes=problem.phenotypes, phenotype_ids=problem.phenotype_ids, phenotype_chrom=problem.phenotype_chrom,
                phenotype_tss=problem.phenotype_end, covariates=problem.covariates, pval_threshold=1e-5, cis_window=5_000_000)

    def chunks(size):
        for v0 in range(0, len(problem.variant_ids), size):
            s = slice(v0, v0 + size)
            yield GenotypeChunk(problem.genotypes[s], problem.variant_ids[s], problem.variant_chrom[s], problem.variant_pos[s])

    ours = trans_scan(chunks(4000), **args)
    again = trans_scan(chunks(len(problem.variant_ids)), **args)
    assert ours.equals(again)

    res = Residualizer(problem.covariates)
    G = problem.genotypes.astype(float)
    const = G.max(1) == G.min(1)
    Gn, _ = center_normalize(res.transform(G))
    Y, _ = center_normalize(res.transform(problem.phenotypes))
    R = Gn @ Y.T
    P = pval_from_r2(R * R, res.dof)
    P[const] = 1
    far = np.abs(problem.variant_pos[:, None] - problem.phenotype_end[None, :]) > 5_000_000
    vi, pi = np.nonzero((P < 1e-5) & far)
    assert len(ours) == len(vi) > 0
    expected = {(problem.variant_ids[v], problem.phenotype_ids[p]): P[v, p] for v, p in zip(vi, pi, strict=True)}
    got = dict(zip(zip(ours["variant_id"], ours["phenotype_id"], strict=True), ours["pval"], strict=True))
    assert set(got) == set(expected)
    for key, p in expected.items():
        assert got[key] == pytest.approx(p, rel=1e-9)
