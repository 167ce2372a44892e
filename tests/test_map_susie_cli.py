"""``qtlatlas map cis_susie`` on GEUVADIS chr22: which phenotypes it fine-maps (a list, a cis output, groups),
what it writes, and the errors it reports without a traceback."""

import pandas as pd
import pytest
from conftest import GEUVADIS22

from qtlatlas.cli import main

pytestmark = pytest.mark.shared
CIS = GEUVADIS22 / "tensorqtl" / "g22.cis_qtl.txt.gz"


def _map(prefix, *extra):
    return main(["map", "cis_susie", str(GEUVADIS22 / "genotypes"), str(GEUVADIS22 / "phenotypes.int.bed.gz"),
                 str(prefix), "--covariates", str(GEUVADIS22 / "covariates.txt"), "--threads", "1", *extra])


@pytest.fixture(scope="module")
def egenes(shared):
    cis = pd.read_csv(CIS, sep="\t")
    return cis, list(cis.loc[cis["qval"] <= 0.05, "phenotype_id"])


def test_phenotype_list_is_fine_mapped_alone(tmp_path, egenes, capsys):
    _, significant = egenes
    chosen = significant[:3]
    (tmp_path / "ids.txt").write_text("# three eGenes\n" + "\n".join(chosen) + "\n\n")
    assert _map(tmp_path / "x", "--phenotypes", str(tmp_path / "ids.txt")) == 0
    pips = pd.read_parquet(tmp_path / "x.susie_pip.parquet")
    sets = pd.read_parquet(tmp_path / "x.susie_credible_sets.parquet")
    assert set(pips["phenotype_id"]) == set(chosen)
    assert list(pips.columns) == ["phenotype_id", "variant_id", "pip"] + [f"lbf_{k}" for k in range(1, 11)]
    assert list(sets.columns[:11]) == ["phenotype_id", "variant_id", "cs_id", "cs_size", "pip", "cs_log10bf",
                                       "cs_min_r2", "cs_avg_r2", "posterior_mean", "posterior_sd", "z"]
    assert set(sets["phenotype_id"]) <= set(chosen)
    # every member's pip is the variant's PIP of the PIP table
    both = sets.merge(pips, on=["phenotype_id", "variant_id"], suffixes=("", "_all"))
    assert len(both) == len(sets) and (both["pip"] == both["pip_all"]).all()
    assert (sets.groupby("cs_id")["pip"].sum() > 0).all()
    assert "credible set(s) in" in capsys.readouterr().out


def test_groups_fine_map_every_member_of_a_significant_group(tmp_path, egenes):
    cis, significant = egenes
    other = [p for p in cis["phenotype_id"] if p not in set(significant)]
    # two groups: one of a significant gene and two others, one of non-significant genes only
    groups = {significant[0]: "A", other[0]: "A", other[1]: "A", other[2]: "B", other[3]: "B"}
    (tmp_path / "groups.txt").write_text("".join(f"{p}\tG{g}\n" for p, g in groups.items()))
    bed = pd.read_csv(GEUVADIS22 / "phenotypes.int.bed.gz", sep="\t")
    bed[bed["phenotype_id"].isin(groups)].to_csv(tmp_path / "five.bed.gz", sep="\t", index=False)
    table = pd.DataFrame({"phenotype_id": [significant[0], other[2]], "variant_id": ["x", "y"],
                          "pval_beta": [1e-9, 0.5], "qval": [1e-6, 0.6], "group_id": ["GA", "GB"]})
    table.to_csv(tmp_path / "grouped.cis_qtl.txt.gz", sep="\t", index=False)
    code = main(["map", "cis_susie", str(GEUVADIS22 / "genotypes"), str(tmp_path / "five.bed.gz"), str(tmp_path / "g"),
                 "--covariates", str(GEUVADIS22 / "covariates.txt"), "--groups", str(tmp_path / "groups.txt"),
                 "--cis-output", str(tmp_path / "grouped.cis_qtl.txt.gz")])
    assert code == 0
    pips = pd.read_parquet(tmp_path / "g.susie_pip.parquet")
    assert set(pips["phenotype_id"]) == {significant[0], other[0], other[1]}


@pytest.mark.parametrize("extra, message", [
    (["--phenotypes", "MISSING"], "phenotype list not found"),
    (["--cis-output", str(CIS), "--phenotypes", str(CIS)], "not both"),
    (["--cis-output", str(CIS), "--fdr", "1e-300"], "nothing to fine-map"),
])
def test_bad_selections_are_reported(tmp_path, capsys, extra, message):
    assert _map(tmp_path / "x", *extra) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "x.susie_pip.parquet").exists()


def test_unknown_ids_are_named(tmp_path, capsys):
    (tmp_path / "ids.txt").write_text("ENSG_NOT_A_GENE\n")
    assert _map(tmp_path / "x", "--phenotypes", str(tmp_path / "ids.txt")) == 2
    assert "ENSG_NOT_A_GENE" in capsys.readouterr().err


def test_phenotype_list_belongs_to_cis_susie(tmp_path, capsys):
    code = main(["map", "cis", str(GEUVADIS22 / "genotypes"), str(GEUVADIS22 / "phenotypes.int.bed.gz"),
                 str(tmp_path / "x"), "--phenotypes", "ids.txt"])
    assert code == 2
    assert "--phenotypes is not used by mode cis" in capsys.readouterr().err
