import textwrap
from pathlib import Path

import pytest

from qtlatlas.config import DEFAULT_MODALITIES, format_location, load_atlas, parse_atlas
from qtlatlas.errors import ConfigError

BASE = textwrap.dedent(
    """\
    atlas: {name: Test atlas, description: d}
    data_access:
      raw_reads: [{label: SRA BioProject, accession: PRJNA000001}]
      archives: [{label: Processed data, doi: 10.5281/zenodo.1}]
      citation: Someone et al.
    tissues:
      - {id: BLA, name: Basolateral amygdala, colour: "#1F77B4", ontology_id: UBERON:0006107}
      - {id: IL, name: Infralimbic cortex}
    releases:
      - id: v1
        genome: rn6
        date: 2023-01-31
        annotation: genes.gtf.gz
        genotypes: geno.vcf.gz
        tissues:
          BLA:
            expression: {bed: BLA.expr.bed.gz, counts: BLA.counts.bed.gz}
            isoforms: {bed: BLA.iso.bed.gz, groups: BLA.iso.groups.txt}
    studies:
      - id: s2023
        title: A study
        files: [{path: study/table.tsv, description: A table}]
    twas:
      traits:
        - {id: bmi, name: Body mass index, n: 3000, sumstats: gwas/bmi.tsv.gz, tags: [body]}
    """
)


def test_valid_atlas_resolves_paths(tmp_path):
    (tmp_path / "atlas.yaml").write_text(BASE)
    atlas = load_atlas(tmp_path / "atlas.yaml")
    rel = atlas.release()
    assert rel.id == "v1" and str(rel.date) == "2023-01-31"
    assert rel.genotypes == [tmp_path / "geno.vcf.gz"]
    assert rel.tissues["BLA"]["expression"].counts == tmp_path / "BLA.counts.bed.gz"
    assert atlas.studies[0].files[0].path == tmp_path / "study" / "table.tsv"
    assert atlas.twas.traits[0].sumstats == tmp_path / "gwas" / "bmi.tsv.gz"
    assert atlas.tissue("BLA").colour == "#1f77b4"
    assert [m.id for m in atlas.all_modalities] == [m.id for m in DEFAULT_MODALITIES]
    assert atlas.modality("isoforms").grouped and not atlas.modality("expression").grouped
    assert [(t, m) for t, m, _ in rel.inputs()] == [("BLA", "expression"), ("BLA", "isoforms")]
    assert atlas.mapping.window == 1_000_000 and atlas.mapping.qvalue_lambda == 0.85


def test_user_modality_added_and_default_overridden():
    text = BASE + "modalities:\n  - {id: RNA_editing, name: RNA editing, grouped: true}\n  - {id: expression, name: Gene expression}\n"
    atlas = parse_atlas(text)
    ids = [m.id for m in atlas.all_modalities]
    assert ids[-1] == "RNA_editing" and ids.count("expression") == 1
    assert atlas.modality("expression").name == "Gene expression"


def _error(text: str) -> str:
    with pytest.raises(ConfigError) as e:
        parse_atlas(text, source="atlas.yaml")
    return str(e.value)


def test_unknown_tissue_names_yaml_path_and_line():
    msg = _error(BASE.replace("      BLA:\n", "      BLX:\n"))
    assert msg.startswith("atlas.yaml:16: releases[0].tissues.BLX: unknown tissue 'BLX'")


def test_unknown_modality():
    msg = _error(BASE.replace("isoforms: {bed", "isoform: {bed"))
    assert "releases[0].tissues.BLA.isoform: unknown modality 'isoform'" in msg


def test_malformed_yaml_has_line():
    msg = _error("atlas: {name: x\ntissues: [")
    assert msg.startswith("atlas.yaml:2: malformed YAML")


def test_missing_key_and_typo_reported_together():
    text = BASE.replace("    genome: rn6\n", "").replace("colour: \"#1F77B4\"", "color: red")
    msg = _error(text)
    assert "2 problems" in msg
    assert "releases[0].genome: required key is missing" in msg
    assert "tissues[0].color: unknown key" in msg


def test_bad_colour_and_id():
    assert "must be a hex colour" in _error(BASE.replace('"#1F77B4"', "blue"))
    assert "tissues[1].id: tissue id 'I.L' may contain only" in _error(BASE.replace("id: IL,", "id: I.L,"))


def test_duplicate_ids():
    text = BASE.replace("{id: IL, name: Infralimbic cortex}", "{id: BLA, name: again}")
    assert "tissues[1].id: duplicate tissue id 'BLA'" in _error(text)


def test_not_a_mapping():
    assert "must be a YAML mapping" in _error("- a\n- b\n")


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="configuration file not found"):
        load_atlas(tmp_path / "absent.yaml")


def test_unknown_release():
    with pytest.raises(ConfigError, match="no release 'v9'; releases defined: v1"):
        parse_atlas(BASE).release("v9")


def test_format_location():
    assert format_location(("releases", 0, "tissues", "BLA")) == "releases[0].tissues.BLA"
    assert format_location(()) == ""


def test_paths_are_paths():
    atlas = parse_atlas(BASE, base_dir=Path("/x"))
    assert atlas.release().annotation == Path("/x/genes.gtf.gz")


def test_twas_settings_defaults_paths_and_errors(tmp_path):
    atlas = parse_atlas(BASE)
    assert atlas.twas.models == ["top1", "lasso", "enet", "blup"] and atlas.twas.window == 500_000
    assert atlas.twas.hsq_p == 0.01 and atlas.twas.ld_reference == [] and atlas.twas.modalities is None
    text = BASE + "  ld_reference: ref/g1000_chr22\n  modalities: [expression]\n  models: [enet, top1]\n"
    (tmp_path / "atlas.yaml").write_text(text)
    atlas = load_atlas(tmp_path / "atlas.yaml")
    assert atlas.twas.ld_reference == [tmp_path / "ref" / "g1000_chr22"]
    assert atlas.twas.modalities == ["expression"] and atlas.twas.models == ["enet", "top1"]
    assert "twas.models: " in _error(BASE + "  models: [enet, susie]\n") and "susie" in _error(BASE + "  models: [susie]\n")
    assert "twas.modalities[0]: unknown modality 'splice'" in _error(BASE + "  modalities: [splice]\n")
    assert "twas.tissues[1]: unknown tissue 'XX'" in _error(BASE + "  tissues: [BLA, XX]\n")


def test_normalised_bed_and_pcs_per_entry():
    text = BASE.replace("expression: {bed: BLA.expr.bed.gz, counts: BLA.counts.bed.gz}",
                        "expression: {bed: BLA.expr.bed.gz, normalised: true, covariates: c.txt, genotype_pcs: 0, "
                        "phenotype_pcs: 0}") + "mapping: {genotype_pcs: 3}\n"
    atlas = parse_atlas(text)
    expr, iso = atlas.release().tissues["BLA"]["expression"], atlas.release().tissues["BLA"]["isoforms"]
    assert expr.normalised and not iso.normalised
    assert expr.pcs(atlas.mapping) == (0, 0)
    assert iso.pcs(atlas.mapping) == (3, 20)  # the atlas-wide defaults, one of them set
    assert parse_atlas(BASE).release().tissues["BLA"]["isoforms"].pcs(parse_atlas(BASE).mapping) == (5, 20)


def test_normalization_per_entry():
    assert parse_atlas(BASE).release().tissues["BLA"]["expression"].normalization == "quantile"  # Pantry's
    text = BASE.replace("expression: {bed: BLA.expr.bed.gz, counts: BLA.counts.bed.gz}",
                        "expression: {bed: BLA.expr.bed.gz, counts: BLA.counts.bed.gz, normalization: tmm}")
    assert parse_atlas(text).release().tissues["BLA"]["expression"].normalization == "tmm"
    msg = _error(BASE.replace("counts: BLA.counts.bed.gz}", "counts: BLA.counts.bed.gz, normalization: vst}"))
    assert "releases[0].tissues.BLA.expression.normalization: Input should be 'quantile', 'tmm' or 'rank'" in msg
    msg = _error(BASE.replace("counts: BLA.counts.bed.gz}", "counts: BLA.counts.bed.gz, normalised: true, "
                              "normalization: quantile}"))
    assert "'normalization' says how qtlatlas normalises the BED" in msg


def test_normalised_needs_a_bed_and_pcs_are_counts():
    text = BASE.replace("expression: {bed: BLA.expr.bed.gz, counts: BLA.counts.bed.gz}",
                        "expression: {normalised: true, results: {cis: top.tsv}}")
    msg = _error(text)
    assert msg.startswith("atlas.yaml:17: releases[0].tissues.BLA.expression: 'normalised' describes the phenotype BED")
    msg = _error(BASE.replace("groups: BLA.iso.groups.txt}", "groups: BLA.iso.groups.txt, phenotype_pcs: -1}"))
    assert "releases[0].tissues.BLA.isoforms.phenotype_pcs: Input should be greater than or equal to 0" in msg


def _two_tissues(bla_expression: str, il_expression: str) -> str:
    """BASE with BLA's expression entry replaced and an IL expression entry added (``{...}`` flow mappings)."""
    iso = "isoforms: {bed: BLA.iso.bed.gz, groups: BLA.iso.groups.txt}"
    return BASE.replace("expression: {bed: BLA.expr.bed.gz, counts: BLA.counts.bed.gz}", f"expression: {bla_expression}") \
        .replace(iso, f"{iso}\n      IL:\n        expression: {il_expression}")


def test_expression_unit_declared_per_entry():
    assert parse_atlas(BASE).release().unit("expression") == "TPM"  # the default
    assert parse_atlas(BASE).release().unit("isoforms") is None  # only expression levels are shown unnormalised
    atlas = parse_atlas(_two_tissues("{bed: BLA.expr.bed.gz, unit: RPKM}", "{bed: IL.expr.bed.gz}"))
    assert atlas.release().unit("expression") == "RPKM"  # a tissue that does not say takes the release's
    msg = _error(_two_tissues("{bed: BLA.expr.bed.gz, unit: RPKM}", "{bed: IL.expr.bed.gz, unit: FPKM}"))
    assert msg.startswith("atlas.yaml:")
    assert "releases[0].tissues.IL.expression.unit: unit 'FPKM' differs from 'RPKM' of tissue BLA" in msg
    msg = _error(_two_tissues("{bed: BLA.expr.bed.gz, normalised: true, unit: TPM}", "{bed: IL.expr.bed.gz}"))
    assert "releases[0].tissues.BLA.expression: 'unit' names the unit of unnormalised values" in msg
