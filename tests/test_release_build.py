"""Release build from imported GEUVADIS chr22 tensorQTL results: tables equal their inputs, downloads
follow the naming scheme, and releases are immutable and side by side."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pysam
import pytest

from qtlatlas.config import load_atlas
from qtlatlas.errors import QtlAtlasError
from qtlatlas.io.genotypes import read_genotypes
from qtlatlas.release import build_release, verify_release
from qtlatlas.release.layout import download_name
from qtlatlas.results import ResultFiles
from qtlatlas.store import ReleaseStore

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
GEU = SHARED / "reference" / "geuvadis22"
TQ = GEU / "tensorqtl"
GTF = SHARED / "data" / "geuvadis-chr22-qtltools" / "gencode.v19.annotation.chr22.gtf.gz"
FDR = 0.05

pytestmark = pytest.mark.shared


def write_atlas(directory: Path, studies: str = "") -> Path:
    """An atlas.yaml importing the GEUVADIS chr22 tensorQTL outputs: release v1 (VCF genotypes) and v2
    (PLINK genotypes), one tissue LCL, modality expression."""
    release = f"""
    genome: GRCh37
    annotation: {GTF}
    tissues:
      LCL:
        expression:
          bed: {GEU}/phenotypes.raw.bed.gz
          covariates: {GEU}/covariates.txt
          results:
            cis: {TQ}/g22.cis_qtl.txt.gz
            independent: {TQ}/g22.cis_independent_qtl.txt.gz
            nominal: {TQ}/g22.cis_qtl_pairs.chr22.parquet
            phenotypes: {GEU}/phenotypes.int.bed.gz
"""
    text = f"""
atlas: {{name: GEUVADIS chr22, description: test atlas, contact: someone@example.org}}
tissues:
  - {{id: LCL, name: Lymphoblastoid cell lines, colour: "#1f77b4"}}
mapping: {{fdr: {FDR}}}
releases:
  - id: v1
    genotypes: {GEU}/genotypes.vcf.gz
    notes: first release{release}
  - id: v2
    genotypes: {GEU}/genotypes.bed
    notes: second release{release}
{studies}"""
    path = directory / "atlas.yaml"
    path.write_text(text)
    return path


def import_results(atlas, release_id: str) -> dict[tuple[str, str], ResultFiles]:
    release = atlas.release(release_id)
    return {(t, m): ResultFiles.from_import(inp.results, t, m) for t, m, inp in release.inputs()}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("release")
    atlas = load_atlas(write_atlas(tmp))
    site = tmp / "site"
    steps: list[str] = []
    out = build_release(atlas, "v1", site, import_results(atlas, "v1"), on_step=steps.append)
    return atlas, site, out, steps


def gene_tss(out: Path, gene_ids: pd.Series) -> np.ndarray:
    """TSS of each gene: from the annotation, else (genes absent from GENCODE v19) the BED end."""
    genes = table(out, "genes").set_index("gene_id")["tss"]
    bed = pd.read_csv(GEU / "phenotypes.raw.bed.gz", sep="\t", usecols=[2, 3]).set_index("phenotype_id")["end"]
    return gene_ids.map(genes).fillna(gene_ids.map(bed)).to_numpy(np.int64)


def table(out: Path, name: str) -> pd.DataFrame:
    return pd.read_parquet(out / "tables" / f"{name}.parquet")


@pytest.fixture(scope="module")
def cis() -> pd.DataFrame:
    return pd.read_csv(TQ / "g22.cis_qtl.txt.gz", sep="\t")


def test_release_directory_and_steps(built):
    atlas, site, out, steps = built
    assert out == site / "releases" / "v1" and out.is_dir()
    assert not [p for p in (site / "releases").iterdir() if p.name.startswith(".")]
    assert "annotation" in steps and steps[-1] == "atlas.json"
    assert verify_release(out) == []
    for name in ("genes", "transcripts", "exons", "gene_status", "tissues", "tissue_modality", "top_qtls",
                 "independent_qtls", "signif_pairs", "variants", "medians", "samples"):
        assert (out / "tables" / f"{name}.parquet").is_file(), name
    for name in ("variant_index", "variants_by_position", "expression_index", "phenotype_index"):
        assert (out / "tables" / f"{name}.arrow").is_file(), name
    for part in ("pairs", "runs", "variants"):
        assert (out / "tables" / "all_pairs" / f"LCL.expression.{part}.parquet").is_file(), part
    assert not (out / "tables" / "genotypes.parquet").exists()  # genotypes are read from the VCF download
    assert (out / "tables" / "phenotypes" / "LCL.expression.parquet").is_file()
    assert (out / "tables" / "expression" / "LCL.parquet").is_file()
    assert not (out / "tables" / "trans_pairs.parquet").exists()  # no trans results imported


def test_release_json(built):
    atlas, site, out, _ = built
    meta = json.loads((out / "release.json").read_text())
    assert meta["id"] == "v1" and meta["genome"] == "GRCh37" and meta["notes"] == "first release"
    assert meta["annotation"]["file"] == GTF.name and len(meta["annotation"]["sha256"]) == 64
    assert [t["id"] for t in meta["tissues"]] == ["LCL"] and meta["tissues"][0]["modalities"] == ["expression"]
    assert meta["mapping"]["fdr"] == FDR and meta["mapping"]["window"] == 1_000_000
    assert set(meta["software"]) >= {"qtlatlas", "numpy", "scipy", "pandas", "pyarrow"}
    assert meta["built_at"].endswith("+00:00")
    site_meta = json.loads((site / "atlas.json").read_text())
    assert site_meta["atlas"]["name"] == "GEUVADIS chr22"
    assert [t["id"] for t in site_meta["tissues"]] == ["LCL"]
    assert "expression" in [m["id"] for m in site_meta["modalities"]]


def test_genes_table(built):
    genes = table(built[2], "genes")
    assert len(genes) == 1206 and genes["gene_id"].is_unique
    assert list(genes.columns) == ["gene_id", "gene_name", "gene_type", "chrom", "start", "end", "strand", "tss",
                                   "description"]
    assert genes["tss"].is_monotonic_increasing
    minus = genes[genes["strand"] == "-"]
    assert (minus["tss"] == minus["end"]).all()


def test_top_qtls_equal_cis_file(built, cis):
    top = table(built[2], "top_qtls")
    assert len(top) == len(cis) == 608
    merged = cis.merge(top, on="phenotype_id", suffixes=("", "_rel"))
    assert len(merged) == 608
    for col in ("qval", "pval_beta", "pval_nominal", "slope", "slope_se", "pval_nominal_threshold", "af",
                "true_df", "beta_shape1", "beta_shape2", "pval_perm", "num_var"):
        np.testing.assert_array_equal(merged[col].to_numpy(float), merged[f"{col}_rel"].to_numpy(float), err_msg=col)
    assert (merged["variant_id"] == merged["variant_id_rel"]).all()
    assert (top["rank"] == 1).all() and (top["gene_id"] == top["phenotype_id"]).all()
    assert top["log2_aFC"].isna().all()
    # sorted by gene TSS (one chromosome)
    assert pd.Series(gene_tss(built[2], top["gene_id"])).is_monotonic_increasing


def test_positions_and_strand_aware_tss_distance(built, cis):
    out = built[2]
    top = table(out, "top_qtls").set_index("phenotype_id")
    genes = table(out, "genes").set_index("gene_id")
    bim = pd.read_csv(GEU / "genotypes.bim", sep="\t", header=None, names=["chrom", "id", "cm", "pos", "a1", "a2"])
    bim = bim.set_index("id")
    np.testing.assert_array_equal(top["pos"].to_numpy(int), bim.loc[top["variant_id"], "pos"].to_numpy(int))
    assert (top["alt"].to_numpy() == bim.loc[top["variant_id"], "a1"].to_numpy()).all()
    strand = top.index.map(genes["strand"])
    c = cis.set_index("phenotype_id").loc[top.index]
    # tensorQTL's start_distance is pos - TSS whatever the strand; genes absent from the annotation
    # (newer than GENCODE v19) are placed at their BED TSS and read as + strand
    plus, minus = (strand != "-"), (strand == "-")
    assert plus.any() and minus.any() and strand.isna().sum() > 0
    np.testing.assert_array_equal(top["tss_distance"].to_numpy(int)[plus], c["start_distance"].to_numpy(int)[plus])
    np.testing.assert_array_equal(top["tss_distance"].to_numpy(int)[minus], -c["start_distance"].to_numpy(int)[minus])
    gid = top.index[minus][0]
    row = top.loc[gid]
    assert row["tss_distance"] == genes.loc[gid, "tss"] - row["pos"]


def test_independent_qtls_equal_file(built, cis):
    ind = table(built[2], "independent_qtls")
    ref = pd.read_csv(TQ / "g22.cis_independent_qtl.txt.gz", sep="\t")
    key = ["phenotype_id", "rank"]
    a = ref.sort_values(key).reset_index(drop=True)
    b = ind.sort_values(key).reset_index(drop=True)
    assert len(a) == len(b) == 555
    assert (a["phenotype_id"] == b["phenotype_id"]).all() and (a["rank"] == b["rank"]).all()
    assert (a["variant_id"] == b["variant_id"]).all()
    for col in ("pval_nominal", "slope", "pval_beta", "af"):
        np.testing.assert_array_equal(a[col].to_numpy(float), b[col].to_numpy(float))
    # qval of the gene, from the cis table
    qv = cis.set_index("phenotype_id")["qval"]
    np.testing.assert_array_equal(b["qval"].to_numpy(float), qv.loc[b["phenotype_id"]].to_numpy(float))


def test_signif_pairs_equal_direct_filter(built, cis):
    out = built[2]
    sig = table(out, "signif_pairs")
    nominal = pd.read_parquet(TQ / "g22.cis_qtl_pairs.chr22.parquet")
    thr = cis.loc[cis["qval"] <= FDR].set_index("phenotype_id")["pval_nominal_threshold"]
    expected = nominal[nominal["phenotype_id"].isin(thr.index)]
    expected = expected[expected["pval_nominal"] < expected["phenotype_id"].map(thr)]
    assert len(sig) == len(expected) > 1000
    key = ["phenotype_id", "variant_id"]
    m = expected.merge(sig, on=key, suffixes=("", "_rel"), validate="one_to_one")
    assert len(m) == len(expected)
    for col in ("pval_nominal", "slope", "slope_se", "af"):
        np.testing.assert_array_equal(m[col].to_numpy(float), m[f"{col}_rel"].to_numpy(float))
    assert list(sig.columns) == ["tissue", "modality", "phenotype_id", "gene_id", "variant_id", "chrom", "pos",
                                 "tss_distance", "af", "pval_nominal", "slope", "slope_se", "pval_nominal_threshold"]
    # sorted by gene TSS, gene, position: each gene is one contiguous block with increasing positions
    tss = gene_tss(out, sig["gene_id"])
    assert (np.diff(tss) >= 0).all()
    assert sig.groupby("gene_id", sort=False)["pos"].apply(lambda s: s.is_monotonic_increasing).all()
    assert (sig.groupby("gene_id", sort=False).ngroup().diff().fillna(0) >= 0).all()
    # the download holds the same pairs
    with gzip.open(out / "downloads" / download_name("signif_pairs", "v1", "GRCh37", tissue="LCL",
                                                     modality="expression"), "rt") as f:
        dl = pd.read_csv(f, sep="\t")
    assert len(dl) == len(sig)


def test_gene_status_and_counts(built, cis):
    out = built[2]
    status = table(out, "gene_status")
    assert len(status) == 608 and status["expressed"].all() and status["tested"].all()
    egenes = set(cis.loc[cis["qval"] <= FDR, "phenotype_id"])
    assert set(status.loc[status["has_qtl"], "gene_id"]) == egenes and len(egenes) == 360
    ref = pd.read_csv(TQ / "g22.cis_independent_qtl.txt.gz", sep="\t").groupby("phenotype_id").size()
    got = status.set_index("gene_id")["n_independent"]
    assert (got.loc[ref.index] == ref).all() and (got.drop(ref.index) == 0).all()
    tm = table(out, "tissue_modality").iloc[0]
    assert (tm["tissue"], tm["modality"], tm["n_samples"], tm["n_tested"], tm["n_egenes"], tm["n_independent"]) == (
        "LCL", "expression", 358, 608, 360, 555)
    tissues = table(out, "tissues").iloc[0]
    assert (tissues["tissue_id"], tissues["colour"], tissues["n_samples"], tissues["n_expressed_genes"]) == (
        "LCL", "#1f77b4", 358, 608)
    samples = table(out, "samples")
    assert len(samples) == 358 and all(list(m) == ["expression"] for m in samples["modalities"])


def test_variants_genotypes_and_values(built):
    out = built[2]
    variants = table(out, "variants")
    top, ind, sig = table(out, "top_qtls"), table(out, "independent_qtls"), table(out, "signif_pairs")
    used = set(top["variant_id"]) | set(ind["variant_id"]) | set(sig["variant_id"])
    ref = read_genotypes(GEU / "genotypes.vcf.gz")
    # every genotyped variant is in the variant tables (not only those of the QTL tables), in genome order
    assert set(variants["variant_id"]) == set(ref.variants["id"]) and used <= set(variants["variant_id"])
    assert variants["pos"].is_monotonic_increasing
    assert variants.set_index("variant_id").loc[sorted(used), "af"].notna().all()
    # genotypes of any variant come from the release's VCF, equal to the input's
    store = ReleaseStore(out)
    rng = np.random.default_rng(3)
    for i in rng.choice(len(ref.variants), 25, replace=False):
        v = store.variant(ref.variants["id"].iat[i])
        np.testing.assert_array_equal(store.dosages(v, ref.samples), ref.dosages[i].astype(np.int64))
    # phenotype values equal the normalised BED (float32); medians of the raw BED
    pheno = pd.read_parquet(out / "tables" / "phenotypes" / "LCL.expression.parquet").set_index("phenotype_id")
    bed = pd.read_csv(GEU / "phenotypes.int.bed.gz", sep="\t").set_index("phenotype_id").iloc[:, 3:]
    np.testing.assert_allclose(pheno.loc[bed.index].to_numpy(), bed.to_numpy(), rtol=1e-6)
    raw = pd.read_csv(GEU / "phenotypes.raw.bed.gz", sep="\t").set_index("phenotype_id").iloc[:, 3:]
    med = table(out, "medians").set_index("gene_id")["median"]
    np.testing.assert_allclose(med.loc[raw.index].to_numpy(), np.median(raw.to_numpy(), axis=1))
    parquet = pq.ParquetFile(out / "tables" / "signif_pairs.parquet")
    assert parquet.metadata.row_group(0).column(0).statistics is not None


def test_nominal_pass_is_looked_up_pair_by_pair(built):
    """The all-pairs store answers every tested pair with the nominal pass's statistics (to the precision it
    keeps), and nothing else."""
    store = ReleaseStore(built[2])
    nominal = pd.read_parquet(TQ / "g22.cis_qtl_pairs.chr22.parquet")
    rng = np.random.default_rng(5)
    for i in rng.choice(len(nominal), 40, replace=False):
        row = nominal.iloc[i]
        got = store.nominal_pair("LCL", "expression", row["phenotype_id"], row["variant_id"])
        assert got is not None and got["pval_nominal"] == pytest.approx(row["pval_nominal"], rel=3e-4)
        assert abs(got["slope"] - row["slope"]) <= 1e-4 * row["slope_se"]
        assert got["af"] == pytest.approx(row["af"], rel=1e-6)
    pid = nominal["phenotype_id"].iat[0]
    outside = set(nominal["variant_id"]) - set(nominal.loc[nominal["phenotype_id"] == pid, "variant_id"])
    assert store.nominal_pair("LCL", "expression", pid, sorted(outside)[0]) is None
    assert store.nominal_pair("LCL", "expression", "no-such-gene", nominal["variant_id"].iat[0]) is None


def test_download_names_and_tabix(built):
    out = built[2]
    names = sorted(p.name for p in (out / "downloads").iterdir())
    assert names == sorted([
        "covariates.LCL.expression.v1.txt",
        "genotypes.v1_GRCh37.vcf.gz", "genotypes.v1_GRCh37.vcf.gz.tbi",
        "indep_assoc.LCL.expression.v1_GRCh37.tsv.gz",
        "indep_assoc.expression.v1_GRCh37.tsv.gz",  # every tissue (here one)
        "median_tpm.v1.tsv.gz",
        "nominal.LCL.expression.v1_GRCh37.tsv.gz", "nominal.LCL.expression.v1_GRCh37.tsv.gz.tbi",
        "phenotypes.LCL.expression.norm.v1_GRCh37.bed.gz", "phenotypes.LCL.expression.norm.v1_GRCh37.bed.gz.tbi",
        "phenotypes.LCL.expression.raw.v1_GRCh37.bed.gz", "phenotypes.LCL.expression.raw.v1_GRCh37.bed.gz.tbi",
        "samples.LCL.v1.txt",
        "signif_pairs.LCL.expression.v1_GRCh37.tsv.gz",
        "top_assoc.LCL.expression.v1_GRCh37.tsv.gz",
        "top_assoc.expression.v1_GRCh37.tsv.gz",
    ])
    for norm in ("norm", "raw"):
        tbx = pysam.TabixFile(str(out / "downloads" / f"phenotypes.LCL.expression.{norm}.v1_GRCh37.bed.gz"))
        rows = list(tbx.fetch("chr22", 16_000_000, 17_000_000))
        assert rows and rows[0].split("\t")[3] == "ENSG00000215270.3"
    vcf = pysam.VariantFile(str(out / "downloads" / "genotypes.v1_GRCh37.vcf.gz"))
    assert len(list(vcf.fetch("chr22", 17_000_000, 17_100_000))) > 0
    top = pd.read_csv(out / "downloads" / "top_assoc.LCL.expression.v1_GRCh37.tsv.gz", sep="\t")
    assert len(top) == 608 and {"qval", "gene_id", "tss_distance", "ref", "alt"} <= set(top.columns)
    # the gene's symbol beside its id, after tensorQTL's own columns
    symbols = pd.read_parquet(out / "tables" / "genes.parquet").set_index("gene_id")["gene_name"]
    columns = list(top.columns)
    assert columns[0] == "phenotype_id" and columns.index("gene_name") == columns.index("gene_id") + 1
    known = top["gene_id"].isin(symbols.index)  # a few phenotypes' genes are not in the annotation: no symbol
    assert known.mean() > 0.95 and top.loc[~known, "gene_name"].isna().all()
    assert (top.loc[known, "gene_name"] == top.loc[known, "gene_id"].map(symbols)).all()
    assert (out / "downloads" / "samples.LCL.v1.txt").read_text().split() == (
        pd.read_csv(GEU / "samples.txt", sep="\t", header=None)[0].tolist())
    med = pd.read_csv(out / "downloads" / "median_tpm.v1.tsv.gz", sep="\t")
    assert list(med.columns) == ["gene_id", "LCL"] and len(med) == 608


def test_download_name_scheme():
    assert download_name("phenotypes", "v1", "demo1", tissue="Adipose", modality="expression", norm="norm") == (
        "phenotypes.Adipose.expression.norm.v1_demo1.bed.gz")
    assert download_name("covariates", "v1", "demo1", tissue="Adipose", modality="expression") == (
        "covariates.Adipose.expression.v1.txt")
    assert download_name("median_tpm", "v1", "demo1") == "median_tpm.v1.tsv.gz"
    with pytest.raises(ValueError):
        download_name("nonsense", "v1", "g")


def test_rebuild_refused_and_second_release_side_by_side(built):
    atlas, site, out, _ = built
    before = (out / "MANIFEST.tsv").read_bytes()
    with pytest.raises(QtlAtlasError, match="already published.*immutable.*errata"):
        build_release(atlas, "v1", site, import_results(atlas, "v1"))
    assert (out / "MANIFEST.tsv").read_bytes() == before and verify_release(out) == []
    v2 = build_release(atlas, "v2", site, import_results(atlas, "v2"))
    assert v2 == site / "releases" / "v2" and verify_release(v2) == [] and verify_release(out) == []
    assert (v2 / "downloads" / "top_assoc.LCL.expression.v2_GRCh37.tsv.gz").is_file()
    # PLINK genotypes: the VCF download is written from the .pgen/.bed and matches the genotypes
    vcf = v2 / "downloads" / "genotypes.v2_GRCh37.vcf.gz"
    got = read_genotypes(vcf, "chr22:17000000-17600000")
    ref = read_genotypes(GEU / "genotypes.vcf.gz", "chr22:17000000-17600000")
    assert got.n_variants == ref.n_variants > 0 and got.samples == ref.samples
    np.testing.assert_array_equal(got.dosages, ref.dosages)
    assert (got.variants["id"].to_numpy() == ref.variants["id"].to_numpy()).all()
    pd.testing.assert_frame_equal(table(v2, "top_qtls"), table(out, "top_qtls"))


def test_grouped_and_cross_modality_rows(tmp_path):
    """Cross-modality ids ``modality:phenotype`` resolve to genes; thresholds apply per group; the
    TSS distance is strand-aware, for QTL rows and for significant pairs once their variants are joined."""
    from qtlatlas.release.associations import SignifPairsWriter, signif_rows
    from qtlatlas.release.tables import GeneIndex, GeneResolver, qtl_table
    from qtlatlas.release.variant_store import VariantStore

    genes = GeneIndex(pd.DataFrame({"gene_id": ["G1", "G2"], "chrom": ["chr1", "chr1"], "tss": [1000, 5000],
                                    "strand": ["+", "-"]}))
    variants = VariantStore([pd.DataFrame({"chrom": ["chr1"] * 3, "pos": [900, 1100, 5200], "id": ["a", "b", "c"],
                                           "ref": ["A", "C", "G"], "alt": ["T", "G", "A"]})], tmp_path / "scratch")
    resolver = GeneResolver({"splicing": pd.Series({"clu1": "G2"})}, "cross_modality")
    cis = pd.DataFrame({"phenotype_id": ["expression:G1", "splicing:clu1"], "group_id": ["G1", "G2"],
                        "variant_id": ["b", "c"], "qval": [0.01, 0.5], "pval_nominal_threshold": [1e-3, 1e-3],
                        "pval_nominal": [1e-5, 1e-4], "group_size": [2, 1]})
    top = qtl_table(cis, "T", "cross_modality", resolver, genes, variants)
    assert top["gene_id"].tolist() == ["G1", "G2"] and top["tss_distance"].tolist() == [100, -200]
    assert top["pos"].tolist() == [1100, 5200] and top["ref"].tolist() == ["C", "G"]
    assert top["group_size"].tolist() == [2.0, 1.0]
    nominal = pd.DataFrame({"phenotype_id": ["expression:G1", "splicing:G1__x", "splicing:clu1", "expression:G1"],
                            "variant_id": ["a", "b", "c", "b"], "pval_nominal": [1e-4, 1e-4, 1e-9, 0.5],
                            "af": 0.3, "slope": 1.0, "slope_se": 0.1})
    thresholds = cis[cis["qval"] <= 0.05].set_index("group_id")["pval_nominal_threshold"]
    rows = signif_rows(nominal, "T", "cross_modality", resolver, genes, thresholds, True)
    assert rows["phenotype_id"].tolist() == ["expression:G1", "splicing:G1__x"]
    assert rows["gene_id"].tolist() == ["G1", "G1"]
    writer = SignifPairsWriter(tmp_path / "signif.parquet", tmp_path / "scratch", variants)
    writer.add(rows)
    pairs = pd.read_parquet(writer.finish())
    assert pairs["variant_id"].tolist() == ["a", "b"] and pairs["pos"].tolist() == [900, 1100]
    assert pairs["tss_distance"].tolist() == [-100, 100] and pairs["chrom"].tolist() == ["chr1", "chr1"]
