"""benchmarks.large_release writes a release with exactly the builder's tables, schemas, sort orders and row
groups (compared with a release built by ``qtlatlas demo``), and a manifest that verifies."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pysam
import pytest
from browser.portal_site import demo_site

from qtlatlas.cli import main
from qtlatlas.io.chromosomes import chrom_sort_key
from qtlatlas.release import layout
from qtlatlas.release.batched import sidecar_path
from qtlatlas.release.genotype_matrix import samples_path
from qtlatlas.release.manifest import read_manifest, verify_release
from qtlatlas.release.tables import QTL_ROW_GROUP_SIZE, ROW_GROUP_SIZE

_ROOT = str(Path(__file__).resolve().parents[1])  # benchmarks/ is a package beside src/, not installed
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)
from benchmarks.large_release import make_large_release  # noqa: E402

#: Tables a release has only when its atlas runs those analyses (TWAS traits, fine-mapping, colocalisation, sample
#: tables and sample QC): the simulated release has none of them.
OPTIONAL_TABLES = (*layout.TWAS_TABLES, "credible_sets", "lbf_variable", "coloc", "coloc_susie", "qtl_coloc",
                   "sample_metadata", "individuals", "sample_qc")


@pytest.fixture(scope="module")
def demo_release(tmp_path_factory) -> Path:
    """v1 of the small demo site (``qtlatlas demo``), shared with the page and API tests, which only read it."""
    return demo_site(tmp_path_factory) / "releases" / "v1"


@pytest.fixture(scope="module")
def large_site(tmp_path_factory) -> Path:
    site = tmp_path_factory.mktemp("large")
    make_large_release(site, "v1", scale=0.005, n_samples=40, seed=3)
    return site


@pytest.fixture(scope="module")
def large(large_site) -> Path:
    return layout.release_dir(large_site, "v1")


def _tables(release: Path) -> set[str]:
    """Tables and look-up files (with their sidecars) under ``tables/``."""
    return {p.relative_to(release / "tables").as_posix() for p in (release / "tables").rglob("*")
            if p.suffix in (".parquet", ".arrow", ".bed", ".txt")}


#: Tables the simulated release lacks: it lists no GWAS trait (TWAS, colocalisation) and fine-maps nothing.


def _schema(path: Path) -> pa.Schema:
    if path.suffix == ".arrow":
        with pa.OSFile(str(path)) as f:
            return pa.ipc.open_file(f).schema
    return pq.read_schema(path)


def test_same_tables_as_the_builder(demo_release, large):
    ours, theirs = _tables(large), _tables(demo_release)
    optional = {layout.TABLES[name] for name in OPTIONAL_TABLES}
    assert {t for t in ours if "/" not in t} == {t for t in theirs if "/" not in t} - optional
    sidecars = {sidecar_path(t).name for t in layout.TABLES.values() if t.endswith(".arrow")}
    matrix_samples = samples_path(layout.TABLES["genotype_matrix"]).name
    qtl_tables = {t for name, t in layout.TABLES.items() if name not in OPTIONAL_TABLES}
    assert qtl_tables | sidecars | {matrix_samples} == {t for t in ours if "/" not in t}
    for t in sidecars:  # the key ranges of the look-up files have the same columns
        assert _schema(large / "tables" / t).names == _schema(demo_release / "tables" / t).names
    # per-sample tables: one per tissue × modality and per tissue (the demo also has cross_modality)
    assert len([t for t in ours if t.startswith("phenotypes/")]) == 60
    assert len([t for t in ours if t.startswith("expression/")]) == 10


@pytest.mark.parametrize("name", [n for n in layout.TABLES if n not in OPTIONAL_TABLES and n != "genotype_matrix"])
def test_columns_and_types_match_the_builder(demo_release, large, name):
    ours = _schema(large / layout.table_path(name))
    theirs = _schema(demo_release / layout.table_path(name))
    if name == "genotypes":  # one column per sample
        assert ours.field("variant_id").type == theirs.field("variant_id").type
        assert {f.type for f in list(ours)[1:]} == {f.type for f in list(theirs)[1:]} == {pa.int8()}
        return
    assert ours.names == theirs.names
    for a, b in zip(ours, theirs, strict=True):
        if pa.types.is_null(b.type):  # an empty demo table (trans_pairs) has no string type to compare
            continue
        assert a.type == b.type, f"{name}.{a.name}: {a.type} != {b.type}"
        assert a.nullable == b.nullable
    assert ours.metadata == theirs.metadata


def test_per_sample_tables_match_the_builder(demo_release, large):
    for sub in ("phenotypes/Adipose.splicing.parquet", "expression/Brain.parquet"):
        ours, theirs = _schema(large / "tables" / sub), _schema(demo_release / "tables" / sub)
        assert ours.names[0] == theirs.names[0] == "phenotype_id"
        assert ours.field(0).type == theirs.field(0).type
        assert {f.type for f in list(ours)[1:]} == {f.type for f in list(theirs)[1:]} == {pa.float32()}
        ids = pq.read_table(large / "tables" / sub, columns=["phenotype_id"]).column(0).to_pylist()
        assert ids == sorted(ids) and len(set(ids)) == len(ids)


def _df(release: Path, name: str, columns=None):
    return pq.read_table(release / layout.table_path(name), columns=columns).to_pandas()


def _crank(chroms):
    names = sorted(set(chroms), key=chrom_sort_key)
    return chroms.map({c: i for i, c in enumerate(names)}).to_numpy()


def _is_sorted(df, keys) -> bool:
    """``df`` rows are in lexicographic order of ``keys`` (Python ordering of each column)."""
    rows = list(zip(*[df[k].tolist() for k in keys], strict=True))
    return all(a <= b for a, b in zip(rows, rows[1:], strict=False))


def test_sort_orders(large):
    genes = _df(large, "genes")
    tss = dict(zip(genes["gene_id"], genes["tss"], strict=True))
    genes["_c"] = _crank(genes["chrom"])
    assert _is_sorted(genes, ["_c", "tss", "gene_id"])
    assert _is_sorted(_df(large, "transcripts"), ["gene_id", "start", "transcript_id"])
    assert _is_sorted(_df(large, "exons"), ["gene_id", "transcript_id", "start"])
    assert _is_sorted(_df(large, "gene_status"), ["gene_id", "tissue", "modality"])
    assert _is_sorted(_df(large, "medians"), ["gene_id", "tissue"])
    variants = _df(large, "variants")
    variants["_c"] = _crank(variants["chrom"])
    assert _is_sorted(variants, ["_c", "pos", "variant_id"])
    assert variants["variant_id"].is_unique
    # genotypes: the VCF download, tabix-indexed, holding the top and independent QTL variants
    vcf = next((large / "downloads").glob("genotypes.*.vcf.gz"))
    assert Path(f"{vcf}.tbi").is_file()
    top = _df(large, "top_qtls", ["variant_id", "chrom", "pos"]).iloc[0]
    with pysam.VariantFile(str(vcf)) as f:
        assert [r.id for r in f.fetch(top["chrom"], int(top["pos"]) - 1, int(top["pos"]))] == [top["variant_id"]]
    # the genotype matrix: a row per variant, in variant order; the VCF's calls where it has the variant
    from qtlatlas.engine.ld import unpack
    from qtlatlas.io.genotypes import read_genotypes

    matrix = large / layout.table_path("genotype_matrix")
    samples = samples_path(matrix).read_text().split()
    width = -(-len(samples) // 4)
    assert matrix.stat().st_size == 3 + len(variants) * width
    calls = read_genotypes(str(vcf), f"{top['chrom']}:{int(top['pos'])}-{int(top['pos'])}")
    row = int(np.flatnonzero(variants["variant_id"].to_numpy() == top["variant_id"])[0])
    packed = np.fromfile(matrix, dtype=np.uint8, count=width, offset=3 + row * width)
    np.testing.assert_array_equal(unpack(packed[None], len(samples))[0], calls.dosages[0])
    assert calls.samples == samples
    for name in ("top_qtls", "independent_qtls"):
        q = _df(large, name)
        q["_c"], q["_tss"] = _crank(q["chrom"]), q["gene_id"].map(tss)
        assert _is_sorted(q, ["_c", "_tss", "gene_id", "tissue", "modality", "rank"]), name
    pairs = _df(large, "signif_pairs")
    pairs["_c"], pairs["_tss"] = _crank(pairs["chrom"]), pairs["gene_id"].map(tss)
    assert _is_sorted(pairs, ["_c", "_tss", "gene_id", "pos", "tissue", "modality", "phenotype_id"])
    assert not pairs.duplicated(["phenotype_id", "variant_id", "tissue", "modality"]).any()


def test_row_groups_like_the_builder(large):
    # significant pairs and QTL tables: row groups of their size, restarted at each chromosome (written one
    # chromosome at a time by SignifPairsWriter.finish)
    for name, size in (("signif_pairs", ROW_GROUP_SIZE), ("top_qtls", QTL_ROW_GROUP_SIZE),
                       ("independent_qtls", QTL_ROW_GROUP_SIZE)):
        meta = pq.ParquetFile(large / layout.table_path(name)).metadata
        chroms = pq.read_table(large / layout.table_path(name), columns=["chrom"]).column(0).to_pylist()
        sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
        counts = {}
        for c in chroms:
            counts[c] = counts.get(c, 0) + 1
        expected = []
        for c in dict.fromkeys(chroms):
            n = counts[c]
            expected += [size] * (n // size) + ([n % size] if n % size else [])
        assert sizes == expected, name
    # other tables: pq.write_table(row_group_size=ROW_GROUP_SIZE) of the whole table
    for name in ("variants", "gene_status", "genes", "tissues"):
        meta = pq.ParquetFile(large / layout.table_path(name)).metadata
        sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
        n = meta.num_rows
        assert sizes == [ROW_GROUP_SIZE] * (n // ROW_GROUP_SIZE) + ([n % ROW_GROUP_SIZE] if n % ROW_GROUP_SIZE else []), name
        assert meta.row_group(0).column(0).compression == "ZSTD"


def test_grouped_writer_cuts_row_groups_like_write_table(tmp_path):
    from benchmarks.large_release import _GroupedWriter

    rng = np.random.default_rng(0)
    pieces = [pa.table({"x": np.arange(n, dtype=np.int64), "s": [str(i) for i in range(n)]})
              for n in rng.integers(0, 40_000, 12)]
    pq.write_table(pa.concat_tables(pieces), tmp_path / "ref.parquet", row_group_size=ROW_GROUP_SIZE,
                   compression="zstd")
    w = _GroupedWriter(tmp_path / "ours.parquet", pieces[0].schema)
    for p in pieces:
        w.write(p)
    assert w.close() == sum(p.num_rows for p in pieces)

    def groups(path):
        meta = pq.ParquetFile(path).metadata
        return [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]

    assert groups(tmp_path / "ours.parquet") == groups(tmp_path / "ref.parquet")
    assert max(groups(tmp_path / "ours.parquet")) == ROW_GROUP_SIZE
    assert pq.read_table(tmp_path / "ours.parquet").equals(pq.read_table(tmp_path / "ref.parquet"))
    # an empty table: one empty row group, as pq.write_table writes
    w = _GroupedWriter(tmp_path / "empty.parquet", pieces[0].schema)
    w.close()
    pq.write_table(pieces[0].schema.empty_table(), tmp_path / "empty_ref.parquet")
    assert groups(tmp_path / "empty.parquet") == groups(tmp_path / "empty_ref.parquet")


def test_contents_are_consistent(large):
    top = _df(large, "top_qtls")
    indep = _df(large, "independent_qtls")
    status = _df(large, "gene_status")
    pairs = _df(large, "signif_pairs")
    variants = _df(large, "variants")
    assert (top["rank"] == 1).all() and top["variant_id"].str.startswith("rs").all()
    assert not top.duplicated(["gene_id", "tissue", "modality"]).any()
    egenes = top[top["qval"] <= 0.05]
    # every QTL variant and pair variant is in the variants table, with its position
    known = variants.set_index("variant_id")["pos"]
    for df in (top, indep, pairs):
        assert df["variant_id"].isin(known.index).all()
        assert (df["variant_id"].map(known).to_numpy() == df["pos"].to_numpy()).all()
    # has_qtl == eGene (qval ≤ FDR); independent rows per eGene match n_independent
    flagged = status[status["has_qtl"]].set_index(["gene_id", "tissue", "modality"])
    assert set(flagged.index) == set(map(tuple, egenes[["gene_id", "tissue", "modality"]].to_numpy()))
    n = indep.groupby(["gene_id", "tissue", "modality"]).size()
    assert (n.reindex(flagged.index).to_numpy() == flagged["n_independent"].to_numpy()).all()
    # pairs only for eGenes, below the threshold, with the lead (top) pair the smallest p-value
    assert (pairs["pval_nominal"] < pairs["pval_nominal_threshold"]).all()
    best = pairs.groupby(["gene_id", "tissue", "modality"])["pval_nominal"].min()
    lead = egenes.set_index(["gene_id", "tissue", "modality"])["pval_nominal"]
    assert set(best.index) == set(lead.index)
    assert np.allclose(best.reindex(lead.index).to_numpy(), lead.to_numpy())
    assert len(pairs) > 50 * len(egenes) * 0.5
    # grouped modalities carry group_id = gene_id
    grouped = top["modality"].isin(["isoforms", "splicing", "alt_TSS", "alt_polyA"])
    assert (top.loc[grouped, "group_id"] == top.loc[grouped, "gene_id"]).all()
    assert top.loc[~grouped, "group_id"].isna().all()


def test_manifest_and_metadata(large_site, large):
    assert verify_release(large) == []
    listed = {r["path"]: r["kind"] for r in read_manifest(large)}
    assert listed["tables/signif_pairs.parquet"] == "table"
    assert listed["release.json"] == "metadata"
    meta = json.loads((large / "release.json").read_text())
    assert meta["id"] == "v1" and meta["format_version"] == 1
    assert len(meta["tissues"]) == 10 and all(len(t["modalities"]) == 6 for t in meta["tissues"])
    assert meta["counts"]["n_signif_pairs"] == pq.ParquetFile(large / layout.table_path("signif_pairs")).metadata.num_rows
    assert len(meta["counts"]["tissue_modality"]) == 60
    atlas = json.loads(layout.atlas_json(large_site).read_text())
    assert atlas["releases"] == ["v1"]
    assert main(["verify", str(large_site)]) == 0
    # no building directory left behind
    assert [p.name for p in layout.releases_dir(large_site).iterdir()] == ["v1"]


def test_scale_and_reproducibility(tmp_path):
    a = make_large_release(tmp_path / "a", "v2", scale=0.002, n_tissues=2, n_modalities=2, n_samples=10, seed=1)
    b = make_large_release(tmp_path / "b", "v2", scale=0.002, n_tissues=2, n_modalities=2, n_samples=10, seed=1)
    for name in (n for n in layout.TABLES if n not in OPTIONAL_TABLES):  # same seed, same bytes
        assert (a / layout.table_path(name)).read_bytes() == (b / layout.table_path(name)).read_bytes(), name
    assert pq.ParquetFile(a / layout.table_path("genes")).metadata.num_rows == 40
    with pytest.raises(FileExistsError):
        make_large_release(tmp_path / "a", "v2", scale=0.002, n_tissues=2, n_modalities=2, n_samples=10)
    make_large_release(tmp_path / "a", "v3", scale=0.002, n_tissues=2, n_modalities=2, n_samples=10)
    assert json.loads(layout.atlas_json(tmp_path / "a").read_text())["releases"] == ["v2", "v3"]
    assert verify_release(a) == []


def test_gene_runs_hold_each_genes_rows_in_page_order(large):
    """associations_by_gene answers a gene's rows of each table exactly as SQL over that table does."""
    from qtlatlas.store.release import ReleaseStore

    store = ReleaseStore(large)
    pairs = _df(large, "signif_pairs", ["gene_id"])
    genes = list(pairs["gene_id"].value_counts().index[:4]) + list(_df(large, "genes")["gene_id"].sample(6, random_state=2))
    checked = 0
    for gene_id in dict.fromkeys(genes):
        gene = store.gene(gene_id)
        for kind, table in (("top", "top_qtls"), ("independent", "independent_qtls"), ("significant", "signif_pairs")):
            rows, total = store.gene_rows(gene, kind, limit=50 if kind == "significant" else None)
            every = _df(large, table)
            every = every[every["gene_id"] == gene_id]
            ties = [c for c in ("tissue", "modality", "phenotype_id", "rank", "variant_id") if c in every]
            expected = every.sort_values(["pval_nominal", *ties], kind="stable", na_position="last")
            assert total == len(every)
            assert list(rows["variant_id"]) == list(expected["variant_id"][:50 if kind == "significant" else None])
            assert np.array_equal(rows["pval_nominal"].to_numpy(), expected["pval_nominal"].to_numpy()[:len(rows)])
            checked += len(rows)
    assert checked > 100
