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


def test_lab_covariates_named_like_computed_pcs(tmp_path):
    path = make_atlas(tmp_path)
    _declare_normalised(path, _covariates(tmp_path, ["gPC1", "gPC2", "ePC1"], SAMPLES[:27]))
    report = _report(path)
    assert report.ok
    warning = [w for w in report.releases[0].warnings if "computed_gPC1" in w]
    assert len(warning) == 1 and warning[0].startswith("releases[0].tissues.T1.expression.covariates: ")
    assert "already names covariate(s) gPC1, gPC2 like the PCs" in warning[0]
    assert "set genotype_pcs: 0 and phenotype_pcs: 0 in releases[0].tissues.T1.expression" in warning[0]
    path.write_text(path.read_text().replace("covariates: cov.txt}", "covariates: cov.txt, genotype_pcs: 0, phenotype_pcs: 0}"))
    assert not any("computed_gPC1" in w for w in _report(path).releases[0].warnings)
