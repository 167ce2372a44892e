import numpy as np
import pytest
from atlas_factory import SAMPLES, make_atlas
from conftest import bed_text, write_text

from qtlatlas.config import load_atlas
from qtlatlas.validate import validate_atlas


def _report(path):
    return validate_atlas(load_atlas(path))


def test_valid_atlas_counts(tmp_path):
    report = _report(make_atlas(tmp_path))
    assert report.ok, report.all_errors()
    rel = report.releases[0]
    assert (rel.n_variants, rel.n_genotyped_samples) == (40, 30)
    expr = rel.inputs[0]
    assert (expr.tissue, expr.modality, expr.n_phenotypes, expr.n_bed_samples, expr.n_used) == ("T1", "expression", 2, 27, 27)
    assert rel.inputs[1].n_phenotypes == 4


def test_samples_not_genotyped_are_reported_and_left_out(tmp_path):
    samples = SAMPLES[:25] + ["X1", "X2"]
    report = _report(make_atlas(tmp_path, bed_samples=samples))
    assert report.ok
    expr = report.releases[0].inputs[0]
    assert expr.n_used == 25 and expr.not_genotyped == ["X1", "X2"]
    assert any("2 BED sample(s) not genotyped, left out: X1, X2" in w for w in report.releases[0].warnings)


def test_no_sample_genotyped_is_an_error(tmp_path):
    report = _report(make_atlas(tmp_path, bed_samples=[f"Z{i}" for i in range(5)]))
    assert not report.ok
    assert any("none of its 5 samples is genotyped" in e for e in report.all_errors())


def test_samples_absent_from_covariates(tmp_path):
    path = make_atlas(tmp_path)
    write_text(tmp_path / "cov.txt", "id\t" + "\t".join(SAMPLES[:20]) + "\nPC1\t" + "\t".join(["1"] * 20) + "\n")
    text = path.read_text().replace("expression: {bed: T1.expression.bed}", "expression: {bed: T1.expression.bed, covariates: cov.txt}")
    path.write_text(text)
    report = _report(path)
    errors = report.all_errors()
    assert any("cov.txt: 7 sample(s) of r1 T1/expression are absent from the covariates: S21, S22" in e for e in errors)
    assert report.releases[0].inputs[0].failed


def test_every_problem_is_collected(tmp_path):
    path = make_atlas(tmp_path)
    (tmp_path / "study" / "table.tsv").unlink()
    (tmp_path / "T1.isoforms.groups.txt").write_text("G1__G1.t1\tG1\n")
    bed = (tmp_path / "T1.expression.bed").read_text().splitlines()
    (tmp_path / "T1.expression.bed").write_text("\n".join([bed[0], bed[2], bed[1]]) + "\n")
    errors = _report(path).all_errors()
    assert len(errors) == 3
    assert any("T1.expression.bed:3: rows are not sorted" in e for e in errors)
    assert any("3 phenotype(s) of" in e and "have no group" in e for e in errors)
    assert any("studies[0].files[0]" in e and "file not found" in e for e in errors)


def test_missing_genotype_file(tmp_path):
    path = make_atlas(tmp_path)
    (tmp_path / "genotypes.vcf").unlink()
    errors = _report(path).all_errors()
    assert any(e.startswith("releases[0].genotypes[0]:") and "genotypes.vcf" in e for e in errors)


def test_wrong_genome_build_detected(tmp_path):
    path = make_atlas(tmp_path)
    rng = np.random.default_rng(0)
    rows = [("chr1", 9999, 10000, "G1", *rng.normal(size=27)), ("chr1", 89999, 90000, "G2", *rng.normal(size=27))]
    write_text(tmp_path / "T1.expression.bed", bed_text(rows, SAMPLES[:27]))
    errors = _report(path).all_errors()
    assert any("only 0% of phenotypes have their BED end at the TSS" in e and "another genome build" in e for e in errors)


def test_grouped_modality_without_group_file_uses_id_prefix(tmp_path):
    path = make_atlas(tmp_path)
    path.write_text(path.read_text().replace(", groups: T1.isoforms.groups.txt", ""))
    report = _report(path)
    assert report.ok
    assert any("grouped by the gene id before '__'" in w for w in report.releases[0].warnings)


def test_bad_sumstats(tmp_path):
    path = make_atlas(tmp_path)
    write_text(tmp_path / "gwas.tsv", "SNP\tA1\tZ\nrs1\tG\t1\n")
    errors = _report(path).all_errors()
    assert any(e.startswith("twas.traits[0].sumstats:") and "missing column(s) A2" in e for e in errors)


def test_ld_reference_is_checked(tmp_path):
    path = make_atlas(tmp_path)
    text = path.read_text()
    path.write_text(text.replace("twas:\n", "twas:\n  ld_reference: [genotypes.vcf, no_such_panel]\n"))
    errors = _report(path).all_errors()
    assert [e for e in errors if e.startswith("twas.ld_reference")] == [
        e for e in errors if e.startswith("twas.ld_reference[1]:") and "no_such_panel" in e]
    assert any(e.startswith("twas.ld_reference[1]:") for e in errors)
    path.write_text(text.replace("twas:\n", "twas:\n  ld_reference: genotypes.vcf\n"))
    assert _report(path).ok


@pytest.mark.parametrize("release", ["r1"])
def test_release_selection(tmp_path, release):
    report = validate_atlas(load_atlas(make_atlas(tmp_path)), [release])
    assert [r.release for r in report.releases] == [release]


def test_multiallelic_records_reported(tmp_path):
    path = make_atlas(tmp_path)
    vcf = (tmp_path / "genotypes.vcf").read_text().splitlines()
    fields = vcf[5].split("\t")
    fields[4] = "G,T"
    vcf[5] = "\t".join(fields)
    (tmp_path / "genotypes.vcf").write_text("\n".join(vcf) + "\n")
    report = _report(path)
    assert report.ok and report.releases[0].n_variants == 39
    assert any("1 multi-allelic record(s) skipped" in w for w in report.releases[0].warnings)


def test_import_only_entry(tmp_path, shared):
    from conftest import GEUVADIS22

    path = make_atlas(tmp_path)
    tq = GEUVADIS22 / "tensorqtl"
    path.write_text(path.read_text().replace(
        "        isoforms: {bed: T1.isoforms.bed, groups: T1.isoforms.groups.txt}",
        f"        isoforms:\n          results:\n            cis: {tq / 'g22.cis_qtl.txt.gz'}\n"
        f"            independent: {tq / 'g22.cis_independent_qtl.txt.gz'}\n            nominal: {tq / 'g22.cis_qtl_pairs.*.parquet'}"))
    report = _report(path)
    assert report.ok, report.all_errors()
    assert report.releases[0].inputs[1].n_phenotypes == 608
    path.write_text(path.read_text().replace("g22.cis_independent_qtl.txt.gz", "absent.txt.gz"))
    assert any("results.independent" in e and "file not found" in e for e in _report(path).all_errors())


def test_neither_bed_nor_results(tmp_path):
    from qtlatlas.errors import ConfigError

    path = make_atlas(tmp_path)
    path.write_text(path.read_text().replace("expression: {bed: T1.expression.bed}", "expression: {groups: x.txt}"))
    with pytest.raises(ConfigError, match="give the phenotype BED"):
        load_atlas(path)


def _declare_normalised(path, covariates: str | None = None) -> None:
    entry = "expression: {bed: T1.expression.bed, normalised: true" + (f", covariates: {covariates}" if covariates else "")
    path.write_text(path.read_text().replace("expression: {bed: T1.expression.bed}", entry + "}"))


@pytest.mark.parametrize("value, problem", [("7", "is constant (7) across the 27 mapped samples"),
                                            ("NA", "has a missing value (sample 'S1')")])
def test_declared_normalised_bed_with_a_constant_or_incomplete_row(tmp_path, value, problem):
    path = make_atlas(tmp_path)
    _declare_normalised(path)
    assert _report(path).ok  # the factory's BED has neither
    bed = (tmp_path / "T1.expression.bed").read_text().splitlines()
    fields = bed[1].split("\t")
    bed[1] = "\t".join(fields[:4] + [value] * (len(fields) - 4))
    (tmp_path / "T1.expression.bed").write_text("\n".join(bed) + "\n")
    errors = _report(path).all_errors()
    assert len(errors) == 1
    assert errors[0].startswith("releases[0].tissues.T1.expression.bed (normalised: true): ")
    assert f"T1.expression.bed:2: phenotype 'G1' {problem}" in errors[0]
    # the same values to be normalised: a constant row is dropped and missing values imputed, no error
    path.write_text(path.read_text().replace(", normalised: true", ""))
    assert _report(path).ok


def test_declared_normalised_bed_is_checked_on_the_mapped_samples_only(tmp_path):
    path = make_atlas(tmp_path, bed_samples=SAMPLES[:26] + ["X1"])
    _declare_normalised(path)
    bed = (tmp_path / "T1.expression.bed").read_text().splitlines()
    bed[1] = bed[1].rsplit("\t", 1)[0] + "\tNA"  # missing only in the sample that is not genotyped
    (tmp_path / "T1.expression.bed").write_text("\n".join(bed) + "\n")
    assert _report(path).ok


def _covariates(tmp_path, names: list[str], samples: list[str]) -> str:
    rng = np.random.default_rng(0)
    rows = [f"{n}\t" + "\t".join(f"{x:.4f}" for x in rng.normal(size=len(samples))) for n in names]
    write_text(tmp_path / "cov.txt", "id\t" + "\t".join(samples) + "\n" + "\n".join(rows) + "\n")
    return "cov.txt"


def test_covariate_problems_name_the_yaml_path_and_the_file(tmp_path):
    path = make_atlas(tmp_path)
    _declare_normalised(path, _covariates(tmp_path, ["age", "batch", "age"], SAMPLES[:27]))
    errors = _report(path).all_errors()
    assert len(errors) == 1 and errors[0].startswith("releases[0].tissues.T1.expression.covariates: ")
    assert "cov.txt:4: duplicate covariate 'age'" in errors[0]
    _covariates(tmp_path, [f"c{i}" for i in range(25)], SAMPLES[:27])  # 27 samples: at most 24 covariates
    errors = _report(path).all_errors()
    assert len(errors) == 1 and errors[0].startswith("releases[0].tissues.T1.expression.covariates: ")
    assert "cov.txt: 25 covariates for the 27 mapped samples of r1 T1/expression leave no residual degree of " \
           "freedom (n − 2 − covariates = 0); give at most 24" in errors[0]
    _covariates(tmp_path, [f"c{i}" for i in range(24)], SAMPLES[:27])
    assert _report(path).ok


def _lab_file(tmp_path, rows: dict[str, np.ndarray], samples: list[str]) -> str:
    text = "id\t" + "\t".join(samples) + "\n" + "".join(
        f"{name}\t" + "\t".join(repr(float(x)) for x in values) + "\n" for name, values in rows.items())
    write_text(tmp_path / "cov.txt", text)
    return "cov.txt"


def _first_genotype_pc(tmp_path, samples: list[str]) -> np.ndarray:
    """The first genotype PC the pipeline computes for ``samples`` of the factory atlas."""
    from qtlatlas.engine.pca import principal_components
    from qtlatlas.io.genotype_set import open_genotype_files
    from qtlatlas.mapping.prepare import pruned_dosages, pruned_variant_ids

    reader = open_genotype_files([tmp_path / "genotypes.vcf"])
    return principal_components(pruned_dosages(reader, pruned_variant_ids(reader), samples), 1)[0]


def _set_entry(path, extra: str) -> None:
    path.write_text(path.read_text().replace("covariates: cov.txt}", f"covariates: cov.txt, {extra}}}"))


def test_lab_pcs_named_as_such_replace_the_default_pcs(tmp_path):
    path = make_atlas(tmp_path)
    rng = np.random.default_rng(3)
    _declare_normalised(path, _lab_file(tmp_path, {n: rng.normal(size=27) for n in ("gPC1", "gPC2", "ePC1", "age")},
                                        SAMPLES[:27]))
    report = _report(path)
    assert report.ok, report.all_errors()
    rel = report.releases[0]
    assert rel.notes == ["releases[0].tissues.T1.expression.covariates: r1 T1/expression: the lab's covariates already "
                         "hold genotype PCs (gPC1–2, by name) and phenotype PCs (ePC1, by name): no genotype or "
                         "phenotype PC is computed (set genotype_pcs / phenotype_pcs in atlas.yaml to compute them "
                         "anyway)"]
    assert rel.inputs[0].model == "4 lab" and not rel.warnings
    # an explicit count is honoured: the computed PCs are renamed around the lab's names, with a warning
    _set_entry(path, "genotype_pcs: 2")
    report = _report(path)
    assert report.ok
    rel = report.releases[0]
    assert rel.inputs[0].model == "6: 4 lab + 2 + 0 PCs"
    assert rel.notes == ["releases[0].tissues.T1.expression.covariates: r1 T1/expression: the lab's covariates already "
                         "hold phenotype PCs (ePC1, by name): no phenotype PC is computed (set genotype_pcs / "
                         "phenotype_pcs in atlas.yaml to compute them anyway)"]
    assert rel.warnings == ["releases[0].tissues.T1.expression.covariates: r1 T1/expression: the lab's covariates "
                            "already use names of computed PCs, which usually means they hold the PCs to use; as "
                            "genotype_pcs: 2 is set, the computed ones are added, named computed_gPC1–2 (set it to 0 "
                            "to map with the lab's alone)"]


def test_lab_pcs_recognised_by_correlation(tmp_path):
    path = make_atlas(tmp_path)
    rng = np.random.default_rng(4)
    g1 = _first_genotype_pc(tmp_path, SAMPLES[:27])
    sex = (rng.uniform(size=27) < 0.5).astype(float)
    rows = {"C1": 3 * g1 + rng.normal(scale=0.05 * g1.std(), size=27), "sex": sex, "age": rng.normal(size=27)}
    _declare_normalised(path, _lab_file(tmp_path, rows, SAMPLES[:27]))
    rel = _report(path).releases[0]
    assert rel.inputs[0].model.startswith("5: 3 lab + 0 + ")  # the phenotype PCs still computed (2 phenotypes: 2)
    [note] = [n for n in rel.notes if "already hold" in n]
    assert note.startswith("releases[0].tissues.T1.expression.covariates: ")
    assert "genotype PCs (C1, |r| = 1.00 with the first computed genotype PC)" in note and "phenotype PCs" not in note
    # an indicator is never taken for a PC, however it correlates
    _lab_file(tmp_path, {"sex": (g1 > 0).astype(float), "age": rng.normal(size=27)}, SAMPLES[:27])
    rel = _report(path).releases[0]
    assert not [n for n in rel.notes if "already hold" in n] and rel.inputs[0].model.startswith("9: 2 lab + 5 + ")


def test_explicit_pcs_clashing_with_the_labs_are_reported_with_the_yaml_path(tmp_path):
    path = make_atlas(tmp_path)
    g1 = _first_genotype_pc(tmp_path, SAMPLES[:27])
    rng = np.random.default_rng(5)
    _declare_normalised(path, _lab_file(tmp_path, {"gPC1": g1 + rng.normal(scale=0.01, size=27)}, SAMPLES[:27]))
    _set_entry(path, "genotype_pcs: 3, phenotype_pcs: 0")
    report = _report(path)
    assert report.ok, report.all_errors()
    renamed, same = report.releases[0].warnings
    assert renamed.startswith("releases[0].tissues.T1.expression.covariates: r1 T1/expression: the lab's covariates "
                              "already use names of computed PCs") and "named computed_gPC1–3" in renamed
    assert same.startswith("releases[0].tissues.T1.expression.covariates: r1 T1/expression: the computed "
                           "computed_gPC1 and the lab's gPC1 correlate (|r| = 1.00): the same axis twice")
    assert "set genotype_pcs: 0 or leave it unset" in same
    # the very same PC twice: the matrix is not of full rank, which mapping would refuse
    _lab_file(tmp_path, {"gPC1": g1}, SAMPLES[:27])
    [error] = _report(path).all_errors()
    assert error.startswith("releases[0].tissues.T1.expression.covariates: ") and "cov.txt: the covariates r1 " \
        "T1/expression would be mapped with (computed_gPC1–3, gPC1)" in error
    assert "covariate(s) 'gPC1' are linear combinations of the covariates listed before them" in error


@pytest.mark.parametrize("rows, problem", [
    ({"age": None, "site": 1.0}, "covariate(s) 'site' constant across the 27 mapped samples"),
    ({"a": None, "b": None, "a_plus_b": "sum"}, "covariate(s) 'a_plus_b' are linear combinations"),
])
def test_final_covariate_matrix_problems_fail_validate(tmp_path, rows, problem):
    path = make_atlas(tmp_path)
    rng = np.random.default_rng(6)
    values = {}
    for name, spec in rows.items():
        values[name] = rng.normal(size=27) if spec is None else values["a"] + values["b"] if spec == "sum" else \
            np.full(27, spec)
    _declare_normalised(path, _lab_file(tmp_path, values, SAMPLES[:27]))
    errors = _report(path).all_errors()
    assert len(errors) == 1 and errors[0].startswith("releases[0].tissues.T1.expression.covariates: ")
    assert problem in errors[0]


def test_phenotypes_that_cannot_be_tested(tmp_path):
    path = make_atlas(tmp_path)
    rng = np.random.default_rng(7)
    rows = [("chr1", 999, 1000, "G1"), ("chr1", 49999, 50000, "G2"), ("chr1", 5_000_000, 5_000_001, "FAR1"),
            ("chr2", 999, 1000, "X1"), ("chr2", 1999, 2000, "X2")]
    write_text(tmp_path / "T1.expression.bed", bed_text([(*r, *rng.normal(size=27)) for r in rows], SAMPLES[:27]))
    report = _report(path)
    assert report.ok, report.all_errors()
    assert report.releases[0].inputs[0].n_testable == 2
    [warning] = [w for w in report.releases[0].warnings if "cannot be tested" in w]
    assert warning == ("releases[0].tissues.T1.expression.bed: r1 T1/expression: 3 of 5 phenotype(s) cannot be "
                       "tested: 2 on chromosome(s) without genotypes (chr2: X1, X2); 1 without any variant within "
                       "1,000,000 bp of their TSS (FAR1); they are not mapped")
    write_text(tmp_path / "T1.expression.bed", bed_text([(*r, *rng.normal(size=27)) for r in rows[2:]], SAMPLES[:27]))
    errors = _report(path).all_errors()
    assert any(e.startswith("releases[0].tissues.T1.expression.bed: ") and "no phenotype can be tested" in e
               for e in errors), errors
