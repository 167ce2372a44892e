"""RNA sample ids that differ from the genotype ids: with a samples table naming each BED column's
individual, the pipeline maps a tissue whose BED, counts and covariates name RNA samples exactly as it maps
the same data named by individual; validate counts them as genotyped; two samples of one individual in a
tissue are refused by name."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest

from qtlatlas.config import load_atlas
from qtlatlas.demo import DemoConfig, generate_demo
from qtlatlas.errors import SampleMismatchError
from qtlatlas.io.phenotypes import read_phenotype_bed
from qtlatlas.io.sample_labels import relabel_names, sample_individuals
from qtlatlas.pipeline.plan import plan_release
from qtlatlas.pipeline.runner import run_graph
from qtlatlas.validate import validate_atlas

SMALL = DemoConfig(seed=5, n_individuals=120, n_variants_per_chrom=600, n_genes_per_chrom=15, n_traits=0)
TISSUE = "Adipose"  # the demo's covariates tissue: BED, counts and the lab's covariates are all renamed


def _rename_columns(path: Path, names: dict[str, str], first: int) -> None:
    """Rename the sample columns (from column ``first``) of a (gzipped) TSV in place."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as f:
        lines = f.read().split("\n")
    head = lines[0].split("\t")
    lines[0] = "\t".join(head[:first] + [names.get(c, c) for c in head[first:]])
    text = "\n".join(lines)
    if path.suffix == ".gz":
        import pysam

        plain = path.with_suffix("")
        plain.write_text(text)
        pysam.tabix_compress(str(plain), str(path), force=True)
        plain.unlink()
        pysam.tabix_index(str(path), preset="bed", force=True)
    else:
        path.write_text(text)


@pytest.fixture(scope="module")
def atlases(tmp_path_factory) -> tuple[Path, Path]:
    """The small demo twice: as generated (columns named by individual) and with the expression BED, counts
    and covariates of one tissue naming RNA samples ``RNA-<individual>`` listed in samples.tsv."""
    plain = tmp_path_factory.mktemp("labels-plain")
    generate_demo(plain, SMALL)
    renamed = tmp_path_factory.mktemp("labels-rna")
    generate_demo(renamed, SMALL)
    atlas = load_atlas(renamed / "atlas.yaml")
    release = atlas.release("v2")
    inp = release.tissues[TISSUE]["expression"]
    columns = list(pd.read_csv(inp.bed, sep="\t", nrows=0).columns[4:])
    names = {c: f"RNA-{c}" for c in columns}
    for path, first in ((inp.bed, 4), (inp.counts, 4), (inp.covariates, 1)):
        _rename_columns(Path(path), names, first)
    sheet = pd.read_csv(release.samples, sep="\t", dtype=str)
    rows = sheet["tissue"] == TISSUE
    sheet.loc[rows, "sample_id"] = "RNA-" + sheet.loc[rows, "individual_id"]
    sheet.to_csv(release.samples, sep="\t", index=False)
    return plain, renamed


def _run(root: Path) -> Path:
    atlas = load_atlas(root / "atlas.yaml")
    wanted = ("v2/prune", *(f"v2/{TISSUE}/expression/{s}" for s in ("prepare", "cis", "independent", "afc")))
    tasks = [t for t in plan_release(atlas, "v2", root / "work") if t.id in wanted]
    assert len(tasks) == len(wanted)
    assert run_graph(tasks, root / "work" / "v2" / ".state", cores=2, progress=False).ok
    return root / "work" / "v2" / TISSUE / "expression"


def test_mapping_rna_sample_ids_equals_mapping_individual_ids(atlases):
    plain, renamed = atlases
    assert sample_individuals(load_atlas(renamed / "atlas.yaml").release("v2").samples, TISSUE)
    a, b = _run(plain), _run(renamed)
    pa, pb = read_phenotype_bed(a / "phenotypes.bed.gz"), read_phenotype_bed(b / "phenotypes.bed.gz")
    assert pb.samples == pa.samples and not any(s.startswith("RNA-") for s in pb.samples)
    assert (pa.values == pb.values).all()
    for name in ("cis_qtl.txt.gz", "cis_independent_qtl.txt.gz", "aFC.txt.gz"):
        ta, tb = pd.read_csv(a / name, sep="\t"), pd.read_csv(b / name, sep="\t")
        assert len(ta) > 0, name
        pd.testing.assert_frame_equal(ta, tb, check_exact=False, rtol=1e-9)
    assert pd.read_csv(a / "covariates.txt", sep="\t").equals(pd.read_csv(b / "covariates.txt", sep="\t"))


def test_validate_counts_rna_samples_as_their_individuals(atlases):
    _, renamed = atlases
    report = validate_atlas(load_atlas(renamed / "atlas.yaml"), ["v2"])
    check = next(c for c in report.releases[0].inputs if c.tissue == TISSUE and c.modality == "expression")
    assert check.n_bed_samples == check.n_genotyped > 0 and not check.not_genotyped
    assert not check.not_in_covariates and not report.all_errors()


def test_two_samples_of_one_individual_in_a_tissue_are_refused_by_name():
    with pytest.raises(SampleMismatchError, match=r"file.bed: columns RNA-1 and RNA-1b are both individual IND1"):
        relabel_names(["RNA-1", "RNA-2", "RNA-1b"], {"RNA-1": "IND1", "RNA-2": "IND2", "RNA-1b": "IND1"}, "file.bed")
    assert relabel_names(["RNA-1", "IND3"], {"RNA-1": "IND1"}, "f") == ["IND1", "IND3"]


def test_sample_table_without_its_columns_is_an_error_naming_the_file(tmp_path):
    path = tmp_path / "samples.tsv"
    path.write_text("sample\tindividual\nA\tB\n")
    with pytest.raises(Exception, match=r"samples.tsv.*individual_id"):
        sample_individuals(path, "Liver")
