"""LD from a release's genotypes: the genotype matrix written by the build, r and r² equal to PLINK 1.9's
``--r2`` on the real GEUVADIS chr22 genotypes, the numerics against a direct computation (missing calls,
monomorphic variants), the API's errors, and concurrent requests."""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from qtlatlas.config import load_atlas
from qtlatlas.engine.ld import ld_r, ld_r_matrix, ld_r_packed, mask_packed, pack, unpack
from qtlatlas.io.genotypes import open_genotypes, read_bim, read_fam
from qtlatlas.release import build_release, layout, verify_release
from qtlatlas.release.genotype_matrix import MAGIC, matrix_sources, samples_path, write_genotype_matrix
from qtlatlas.results import ResultFiles
from qtlatlas.store import ReleaseStore
from qtlatlas.store.errors import BadQuery, NotFound

pytestmark = pytest.mark.shared

N_TISSUE_SAMPLES = 300  # the tissue's phenotypes hold the first 300 of the 358 genotyped samples
N_GENES = 6


# ------------------------------------------------------------------------------------------------
# PLINK 1.9 (Debian's plink1.9, installed like the Makefile installs chromium)
# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def plink() -> str:
    """The path of Debian's ``plink1.9``, installed with apt-get when missing (never skipped)."""
    found = shutil.which("plink1.9")
    if found is None:
        sudo = [] if os.geteuid() == 0 else ["sudo"]
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run([*sudo, "apt-get", "update", "-q"], check=True, env=env)
        subprocess.run([*sudo, "apt-get", "install", "-y", "-q", "plink1.9"], check=True, env=env)
        found = shutil.which("plink1.9")
    assert found, "plink1.9 could not be installed"
    return found


def run_plink(plink: str, out: Path, *args: str) -> Path:
    subprocess.run([plink, "--out", str(out), "--threads", "1", "--allow-no-sex", *args], check=True,
                   stdout=subprocess.DEVNULL)
    return out


# ------------------------------------------------------------------------------------------------
# A release of the GEUVADIS chr22 genotypes, one tissue, a few phenotypes
# ------------------------------------------------------------------------------------------------


def write_atlas(directory: Path, geu: Path, gtf: Path, genotypes: Path) -> Path:
    """An atlas.yaml of one tissue (LCL, expression of the first genes, the first 300 samples) importing
    tensorQTL's cis results of those genes, with ``genotypes`` as the release genotypes."""
    with gzip.open(geu / "phenotypes.int.bed.gz", "rt") as f:
        bed = pd.read_csv(f, sep="\t", nrows=N_GENES)
    bed = bed.iloc[:, : 4 + N_TISSUE_SAMPLES]
    bed.to_csv(directory / "LCL.bed", sep="\t", index=False)
    cis = pd.read_csv(geu / "tensorqtl" / "g22.cis_qtl.txt.gz", sep="\t")
    cis[cis["phenotype_id"].isin(bed["phenotype_id"])].to_csv(directory / "cis.txt", sep="\t", index=False)
    text = f"""
atlas: {{name: GEUVADIS chr22 LD}}
tissues:
  - {{id: LCL, name: Lymphoblastoid cell lines}}
releases:
  - id: v1
    genome: GRCh37
    annotation: {gtf}
    genotypes: {genotypes}
    tissues:
      LCL:
        expression:
          bed: {directory / "LCL.bed"}
          results:
            cis: {directory / "cis.txt"}
            phenotypes: {directory / "LCL.bed"}
"""
    path = directory / "atlas.yaml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def geu(shared) -> Path:
    return shared / "reference" / "geuvadis22"


@pytest.fixture(scope="module")
def built(tmp_path_factory, shared, geu):
    """``(site, release dir)`` of release v1 built by the project's build from the PLINK 1 genotypes."""
    tmp = tmp_path_factory.mktemp("ld")
    atlas = load_atlas(write_atlas(tmp, geu, shared / "data" / "geuvadis-chr22-qtltools" /
                                   "gencode.v19.annotation.chr22.gtf.gz", geu / "genotypes.bed"))
    results = {(t, m): ResultFiles.from_import(inp.results, t, m) for t, m, inp in atlas.release("v1").inputs()}
    site = tmp / "site"
    return site, build_release(atlas, "v1", site, results)


@pytest.fixture(scope="module")
def store(built) -> ReleaseStore:
    return ReleaseStore(built[1])


@pytest.fixture(scope="module")
def client(built):
    from qtlatlas.web.app import create_app

    return TestClient(create_app(built[0]))


@pytest.fixture(scope="module")
def bim(geu) -> pd.DataFrame:
    return read_bim(geu / "genotypes.bim")


def write_order(variants: pd.DataFrame, path: Path) -> Path:
    """A ``variants_by_position``-like file of ``variants`` (columns of a .bim read by ``read_bim``), in their
    order, in batches of 2,048 rows."""
    import pyarrow as pa

    table = pa.table({"variant_id": variants["id"].astype(str), "chrom": variants["chrom"].astype(str),
                      "pos": variants["pos"].astype(np.int64), "ref": variants["ref"].astype(str),
                      "alt": variants["alt"].astype(str)})
    with pa.ipc.new_file(str(path), table.schema) as writer:
        for batch in table.to_batches(max_chunksize=2048):
            writer.write_batch(batch)
    return path


def plink_table(path: Path) -> pd.DataFrame:
    """A PLINK ``.ld`` table (whitespace-aligned)."""
    return pd.read_csv(path, sep=r"\s+")


def monomorphic(plink: str, tmp: Path, bfile: Path) -> set[str]:
    freq = plink_table(run_plink(plink, tmp / "freq", "--bfile", str(bfile), "--freq").with_suffix(".frq"))
    return set(freq.loc[freq["MAF"] == 0, "SNP"])


# ------------------------------------------------------------------------------------------------
# (a) r² of the store and of the API equal PLINK 1.9's --r2 on the real genotypes
# ------------------------------------------------------------------------------------------------


def _focal_variants(bim: pd.DataFrame) -> list[str]:
    """rs5748850 (a cis-QTL near the start of chr22's genotypes, its window clipped) and the first variant after
    36.15 Mb (its window holds variants monomorphic in these samples)."""
    return ["rs5748850", str(bim.loc[bim["pos"] > 36_150_000, "id"].iloc[0])]


@pytest.mark.parametrize("which", [0, 1])
def test_ld_of_a_variant_equals_plink_r2(which, store, client, plink, geu, bim, tmp_path):
    focal = _focal_variants(bim)[which]
    mono = monomorphic(plink, tmp_path, geu / "genotypes")
    window = ["--ld-snp", focal, "--ld-window-kb", "1000", "--ld-window", "99999", "--ld-window-r2", "0"]
    r2 = plink_table(run_plink(plink, tmp_path / "r2", "--bfile", str(geu / "genotypes"), "--r2", *window)
                     .with_suffix(".ld")).set_index("SNP_B")["R2"]
    r = plink_table(run_plink(plink, tmp_path / "r", "--bfile", str(geu / "genotypes"), "--r", "--keep-allele-order",
                              *window).with_suffix(".ld")).set_index("SNP_B")["R"]
    rows = store.ld(focal)
    pos = int(bim.loc[bim["id"] == focal, "pos"].iloc[0])
    in_window = bim[(bim["pos"] >= pos - 500_000) & (bim["pos"] <= pos + 500_000)]
    assert rows["variant_id"].tolist() == in_window["id"].tolist()  # every variant of the window, by position
    assert rows[["chrom", "pos", "ref", "alt"]].to_numpy().tolist() == \
        in_window[["chrom", "pos", "ref", "alt"]].to_numpy().tolist()
    undefined = rows["r2"].isna().to_numpy()
    assert set(rows.loc[undefined, "variant_id"]) == set(rows["variant_id"]) & mono  # NaN: monomorphic only
    if which == 1:
        assert undefined.any()
    defined = rows[~undefined].set_index("variant_id")
    assert set(defined.index) <= set(r2.index) and len(defined) > 300
    np.testing.assert_allclose(defined["r2"], r2.loc[defined.index], rtol=0, atol=1e-6)
    np.testing.assert_allclose(defined["r"], r.loc[defined.index], rtol=0, atol=1e-6)  # ALT-counted sign
    assert defined.loc[focal, "r2"] == pytest.approx(1.0)
    api = client.get("/api/v1/ld", params={"variant": focal})
    assert api.status_code == 200
    body = api.json()
    assert body["meta"]["total"] == len(rows) and [d["variant_id"] for d in body["data"]] == rows["variant_id"].tolist()
    got = pd.DataFrame(body["data"]).set_index("variant_id")
    assert got["r2"].isna().to_numpy().tolist() == undefined.tolist()  # null in JSON
    np.testing.assert_allclose(got.loc[defined.index, "r2"].astype(float), r2.loc[defined.index], rtol=0, atol=1e-6)


def test_ld_over_the_samples_of_a_tissue_equals_plink_keep(store, plink, geu, bim, tmp_path):
    focal = _focal_variants(bim)[0]
    fam = pd.read_csv(geu / "genotypes.fam", sep=r"\s+", header=None, dtype=str)
    keep = tmp_path / "keep.txt"
    fam.iloc[:N_TISSUE_SAMPLES, :2].to_csv(keep, sep="\t", header=False, index=False)
    r2 = plink_table(run_plink(plink, tmp_path / "tissue", "--bfile", str(geu / "genotypes"), "--keep", str(keep),
                               "--r2", "--ld-snp", focal, "--ld-window-kb", "1000", "--ld-window", "99999",
                               "--ld-window-r2", "0").with_suffix(".ld")).set_index("SNP_B")["R2"]
    rows = store.ld(focal, tissue="LCL").dropna().set_index("variant_id")
    assert set(rows.index) <= set(r2.index) and len(rows) > 300
    np.testing.assert_allclose(rows["r2"], r2.loc[rows.index], rtol=0, atol=1e-6)
    everyone = store.ld(focal).dropna().set_index("variant_id")["r2"]
    assert not np.allclose(everyone.loc[rows.index], rows["r2"], atol=1e-6)  # the subset matters
    assert store.ld_matrix([focal], tissue="LCL")["n_samples"] == N_TISSUE_SAMPLES


def test_ld_matrix_equals_plink_r2_square(store, client, plink, geu, bim, tmp_path):
    mono = sorted(monomorphic(plink, tmp_path, geu / "genotypes"))
    chosen = bim.iloc[::120]
    ids = list(dict.fromkeys([*chosen["id"], mono[0], *_focal_variants(bim)]))
    assert len(ids) > 140
    (tmp_path / "ids.txt").write_text("\n".join(ids) + "\n")
    out = run_plink(plink, tmp_path / "square", "--bfile", str(geu / "genotypes"), "--extract",
                    str(tmp_path / "ids.txt"), "--r2", "square", "bin")
    in_file_order = bim.loc[bim["id"].isin(ids), "id"].tolist()
    expected = pd.DataFrame(np.fromfile(out.with_suffix(".ld.bin")).reshape(len(ids), len(ids)),
                            index=in_file_order, columns=in_file_order)
    rng = np.random.default_rng(5)
    asked = [ids[i] for i in rng.permutation(len(ids))]
    # any syntax of variant(): the first one by chr:pos, the second by chr_pos_ref_alt
    row = bim.set_index("id")
    first, second = row.loc[asked[0]], row.loc[asked[1]]
    queries = [f"{first['chrom']}:{first['pos']}", f"{second['chrom']}_{second['pos']}_{second['ref']}_{second['alt']}",
               *asked[2:]]
    found = store.ld_matrix(queries)
    assert found["variants"] == asked and found["n_samples"] == 358
    want = expected.loc[asked, asked].to_numpy()
    assert (np.isnan(found["r2"]) == np.isnan(want)).all() and np.isnan(want).any()
    np.testing.assert_allclose(found["r2"][~np.isnan(want)], want[~np.isnan(want)], rtol=0, atol=1e-6)
    api = client.get("/api/v1/ld/matrix", params={"variants": ",".join(asked[:60]), "tissue": ""})
    assert api.status_code == 200
    data = api.json()["data"]
    assert data["variants"] == asked[:60]
    got = np.array([[np.nan if v is None else v for v in line] for line in data["r2"]])
    sub = expected.loc[asked[:60], asked[:60]].to_numpy()
    assert (np.isnan(got) == np.isnan(sub)).all()
    np.testing.assert_allclose(got[~np.isnan(sub)], sub[~np.isnan(sub)], rtol=0, atol=1e-6)
    repeated = client.get("/api/v1/ld/matrix", params=[("variants", v) for v in asked[:5]])
    assert repeated.json()["data"]["variants"] == asked[:5]


def test_missing_calls_are_left_out_pairwise_as_plink_does(plink, geu, bim, tmp_path):
    """A copy of the first 400 GEUVADIS variants with up to 10% of calls set missing (and one variant
    monomorphic): the matrix writer and the packed numerics give PLINK's --r, pair by pair."""
    n_samples = len(read_fam(geu / "genotypes.fam"))
    width = -(-n_samples // 4)
    rows = np.fromfile(geu / "genotypes.bed", dtype=np.uint8)[3:].reshape(-1, width)[:400].copy()
    calls = unpack(rows, n_samples)
    rng = np.random.default_rng(11)
    calls[rng.random(calls.shape) < rng.uniform(0, 0.1, (len(calls), 1))] = -9
    calls[7] = np.where(calls[7] < 0, -9, 1)  # every genotyped sample heterozygous: monomorphic
    prefix = tmp_path / "missing"
    (prefix.with_suffix(".bed")).write_bytes(MAGIC + pack(calls).tobytes())
    shutil.copyfile(geu / "genotypes.fam", prefix.with_suffix(".fam"))
    variants = bim.iloc[:400]
    variants[["chrom", "id"]].assign(cm=0, pos=variants["pos"], a1=variants["alt"], a2=variants["ref"]).to_csv(
        prefix.with_suffix(".bim"), sep="\t", header=False, index=False)
    out = run_plink(plink, tmp_path / "plink_missing", "--bfile", str(prefix), "--r", "square", "bin",
                    "--keep-allele-order")
    expected = np.fromfile(out.with_suffix(".ld.bin")).reshape(400, 400)
    dest = tmp_path / "matrix.bed"
    write_genotype_matrix([open_genotypes(prefix)], write_order(variants, tmp_path / "order.arrow"), dest,
                          chunk_variants=150)
    packed = np.fromfile(dest, dtype=np.uint8)[3:].reshape(400, width)
    for i in (0, 7, 33, 399):
        got = ld_r_packed(packed[i], packed, n_samples)
        assert (np.isnan(got) == np.isnan(expected[i])).all()
        np.testing.assert_allclose(got[~np.isnan(got)], expected[i][~np.isnan(got)], rtol=0, atol=1e-12)
    full = ld_r_matrix(unpack(packed, n_samples))
    assert (np.isnan(full) == np.isnan(expected)).all() and np.isnan(full[7]).all()
    np.testing.assert_allclose(full[~np.isnan(full)], expected[~np.isnan(full)], rtol=0, atol=1e-12)


# ------------------------------------------------------------------------------------------------
# (b) the numerics against a direct computation
# ------------------------------------------------------------------------------------------------


def direct_r(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson r of two dosage vectors over the samples observed in both (NaN missing), NaN when undefined."""
    both = ~np.isnan(x) & ~np.isnan(y)
    a, b = x[both], y[both]
    if len(a) < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def random_calls(rng, m: int, n: int) -> np.ndarray:
    """``(m, n)`` int8 calls with up to 30% missing, a monomorphic row, an all-missing row, a row of one call
    and a row equal to the first."""
    calls = rng.integers(0, 3, (m, n)).astype(np.int8)
    calls[rng.random((m, n)) < rng.uniform(0, 0.3, (m, 1))] = -9
    calls[1] = np.where(calls[1] < 0, -9, 2)
    calls[2] = -9
    calls[3] = -9
    calls[3, 0] = 1
    calls[4] = calls[0]
    return calls


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 97, 358])
def test_numerics_equal_a_direct_computation(n):
    rng = np.random.default_rng(n)
    calls = random_calls(rng, 40, n) if n >= 4 else rng.integers(-1, 3, (40, n)).astype(np.int8)
    floats = np.where(calls < 0, np.nan, calls).astype(np.float64)
    expected = np.array([[direct_r(a, b) for b in floats] for a in floats])
    packed = pack(calls)
    assert packed.shape == (40, -(-n // 4)) and (unpack(packed, n) == np.where(calls < 0, -9, calls)).all()
    for i in range(len(calls)):
        for got in (ld_r(calls[i], calls), ld_r(floats[i], floats), ld_r_packed(packed[i], packed, n)):
            assert (np.isnan(got) == np.isnan(expected[i])).all()
            np.testing.assert_allclose(got[~np.isnan(got)], expected[i][~np.isnan(got)], rtol=0, atol=1e-12)
    for matrix in (ld_r_matrix(calls), ld_r_matrix(floats)):
        assert (np.isnan(matrix) == np.isnan(expected)).all() and (matrix[~np.isnan(matrix)] ==
                                                                  matrix.T[~np.isnan(matrix)]).all()
        np.testing.assert_allclose(matrix[~np.isnan(matrix)], expected[~np.isnan(matrix)], rtol=0, atol=1e-12)
    if n >= 5:
        assert np.isnan(ld_r_matrix(calls)[[1, 2, 3]]).all()  # monomorphic, no call, one call: undefined
        assert ld_r_matrix(calls)[0, 4] == pytest.approx(1.0) and ld_r_matrix(calls)[0, 0] == pytest.approx(1.0)


def test_fractional_dosages_and_no_missing_call():
    rng = np.random.default_rng(3)
    dosages = rng.uniform(0, 2, (30, 50))
    dosages[5] = 0.3  # constant
    expected = np.array([[direct_r(a, b) for b in dosages] for a in dosages])
    for got in (ld_r_matrix(dosages), np.array([ld_r(row, dosages) for row in dosages])):
        assert (np.isnan(got) == np.isnan(expected)).all()
        np.testing.assert_allclose(got[~np.isnan(got)], expected[~np.isnan(got)], rtol=0, atol=1e-12)
    calls = rng.integers(0, 3, (20, 64)).astype(np.int8)  # the no-missing shortcut of the matrix
    floats = calls.astype(np.float64)
    np.testing.assert_allclose(ld_r_matrix(calls), [[direct_r(a, b) for b in floats] for a in floats], atol=1e-12)


def test_masked_focal_row_restricts_every_pair_to_the_kept_samples():
    rng = np.random.default_rng(8)
    calls = random_calls(rng, 25, 101)
    keep = rng.random(101) < 0.6
    floats = np.where(calls < 0, np.nan, calls).astype(np.float64)
    packed = pack(calls)
    for i in (0, 6, 24):
        got = ld_r_packed(mask_packed(packed[i], keep), packed, 101)
        expected = np.array([direct_r(floats[i, keep], row[keep]) for row in floats])
        assert (np.isnan(got) == np.isnan(expected)).all()
        np.testing.assert_allclose(got[~np.isnan(got)], expected[~np.isnan(got)], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(unpack(mask_packed(packed[0], keep)[None], 101)[0], np.where(keep, np.where(
        calls[0] < 0, -9, calls[0]), -9))
    with pytest.raises(ValueError):
        ld_r_packed(packed[0], packed[:, :-1], 101)
    with pytest.raises(ValueError):
        ld_r(calls[0], calls[:, :-1])


# ------------------------------------------------------------------------------------------------
# (d) the matrix in the release, and its writer
# ------------------------------------------------------------------------------------------------


def test_the_release_holds_the_matrix_in_variant_order(built, geu, bim):
    _, out = built
    assert verify_release(out) == []
    manifest = pd.read_csv(out / "MANIFEST.tsv", sep="\t").set_index("path")
    matrix = out / layout.table_path("genotype_matrix")
    assert manifest.loc[layout.table_path("genotype_matrix"), "kind"] == "table"
    assert manifest.loc[str(samples_path(layout.table_path("genotype_matrix"))), "kind"] == "index"
    assert samples_path(matrix).read_text().split() == read_fam(geu / "genotypes.fam")
    variants = pd.read_parquet(out / layout.table_path("variants"))
    # the .bim is sorted by position with unique ids: the release's variant order is the file's, and the
    # matrix its .bed byte for byte
    assert variants["variant_id"].tolist() == bim["id"].tolist()
    assert matrix.read_bytes() == (geu / "genotypes.bed").read_bytes()


class CountingReader:
    """A genotype reader that records the rows each region read decoded."""

    def __init__(self, reader):
        self.reader, self.rows = reader, []
        self.samples, self.format = reader.samples, reader.format

    def read(self, region, **kw):
        data = self.reader.read(region, **kw)
        self.rows.append(data.n_variants)
        return data


def test_writer_is_streamed_and_any_chunk_size_writes_the_same_file(geu, bim, tmp_path):
    order = write_order(bim, tmp_path / "order.arrow")
    reference = (geu / "genotypes.bed").read_bytes()
    vcf = CountingReader(open_genotypes(geu / "genotypes.vcf.gz"))
    summary = write_genotype_matrix([vcf], order, tmp_path / "vcf.bed", chunk_variants=997)
    assert (tmp_path / "vcf.bed").read_bytes() == reference  # the VCF's calls, the .bed's bytes
    assert summary.n_variants == len(bim) and summary.n_samples == 358 and summary.n_missing == 0
    assert len(vcf.rows) == -(-len(bim) // 997) and max(vcf.rows) <= 997  # one region of ≤ 997 variants at a time
    for chunk in (1000, 4096, 10**9):
        plink1 = CountingReader(open_genotypes(geu / "genotypes.bed"))
        write_genotype_matrix([plink1], order, tmp_path / f"{chunk}.bed", chunk_variants=chunk)
        assert (tmp_path / f"{chunk}.bed").read_bytes() == reference and max(plink1.rows) <= chunk


def test_matrix_rows_follow_the_release_order_whatever_the_files_order(tmp_path):
    """Two VCFs, records out of position order, an id repeated (the first one kept, as the variant tables keep
    it) and two variants at one position: each matrix row holds the calls of its variant."""
    from qtlatlas.release.variant_store import VariantStore
    from qtlatlas.release.variant_tables import write_variant_tables

    samples = [f"S{i}" for i in range(7)]
    rng = np.random.default_rng(2)
    records = [("chr2", 500, "b", "A", "G"), ("chr2", 100, "a", "C", "T"), ("chr1", 900, "c", "G", "A"),
               ("chr2", 100, "d", "C", "G"), ("chr10", 5, "e", "T", "C"), ("chr10", 50, "a", "A", "C")]
    calls = rng.integers(-1, 3, (len(records), len(samples)))
    gt = {-1: "./.", 0: "0/0", 1: "0/1", 2: "1/1"}
    header = "##fileformat=VCFv4.2\n" + "".join(f"##contig=<ID={c}>\n" for c in ("chr1", "chr2", "chr10")) + \
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n' + \
        "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", *samples]) + "\n"
    files = []
    for name, part in (("one.vcf", range(0, 4)), ("two.vcf", range(4, 6))):
        lines = ["\t".join([c, str(p), i, r, a, ".", "PASS", ".", "GT", *(gt[int(x)] for x in calls[k])])
                 for k, (c, p, i, r, a) in ((k, records[k]) for k in part)]
        (tmp_path / name).write_text(header + "\n".join(lines) + "\n")
        files.append(str(tmp_path / name))
    readers = [open_genotypes(f) for f in files]
    store = VariantStore((chunk for r in readers for chunk in r.iter_variants()), tmp_path / "scratch")
    out = tmp_path / "release"

    def table(rel: str, _description: str) -> Path:
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        return out / rel

    write_variant_tables(store, out, table, lambda *_: None)
    order = out / layout.table_path("variants_by_position")
    from qtlatlas.release.downloads import genotypes_download

    genotypes_download(files, tmp_path / "release.vcf.gz")
    sources = matrix_sources(files, tmp_path / "release.vcf.gz")
    assert [s.path for s in sources] == [str(tmp_path / "release.vcf.gz")]  # unindexed VCFs: the release's VCF
    for readers_used in (sources, readers):
        write_genotype_matrix(readers_used, order, tmp_path / "m.bed", chunk_variants=2)
        written = pd.read_parquet(out / layout.table_path("variants"))
        assert written["variant_id"].tolist() == ["c", "a", "d", "b", "e"]  # chr1:900 c, then chr2 100 a/d ...
        source_row = {"c": 2, "a": 1, "d": 3, "b": 0, "e": 4}  # a: the first 'a' read (chr2:100), not chr10:50
        got = unpack(np.fromfile(tmp_path / "m.bed", dtype=np.uint8)[3:].reshape(5, 2), len(samples))
        expected = np.where(calls < 0, -9, calls)[[source_row[i] for i in written["variant_id"]]]
        np.testing.assert_array_equal(got, expected)
    assert samples_path(tmp_path / "m.bed").read_text().split() == samples


# ------------------------------------------------------------------------------------------------
# (c) errors, formats, releases without the matrix, concurrency
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("params", "status"), [
    ({"variant": "rs0000000"}, 404),  # unknown variant
    ({"variant": "chr22:1"}, 404),  # a position without a variant
    ({"variant": "rs5748850", "region": "chr22:16000000-18000001"}, 400),  # wider than 2 Mb
    ({"variant": "rs5748850", "region": "chr21:17000000-18000000"}, 400),  # another chromosome
    ({"variant": "rs5748850", "region": "chr22:20000000-21000000"}, 400),  # without the variant
    ({"variant": "rs5748850", "region": "chr22:18000000-17000000"}, 400),  # reversed
    ({"variant": "rs5748850", "region": "chr22:abc-def"}, 422),  # not a region
    ({"variant": "rs5748850", "tissue": "Liver"}, 404),  # unknown tissue
    ({"variant": "rs5748850", "format": "xml"}, 422),
    ({"variant": ""}, 422),  # empty
    ({}, 422),  # missing
    ({"variant": "x" * 201}, 422),
    ({"variant": "'; DROP TABLE variants; --"}, 404),
    ({"variant": "<script>alert(1)</script>"}, 404),
    ({"variant": "rs5748850\x00"}, 404),
    ("variant=%ED%A0%80", 404),  # an unpaired surrogate, as UTF-8 bytes
    ("variant=%FF%FE", 404),  # not UTF-8
    ({"variant": "rs5748850", "tissue": "../../etc/passwd"}, 404),
])
def test_ld_errors_are_4xx_never_500(client, params, status):
    r = client.get(f"/api/v1/ld?{params}") if isinstance(params, str) else client.get("/api/v1/ld", params=params)
    assert r.status_code == status, (params, r.status_code, r.text)
    assert set(r.json()) >= {"error", "detail"}


@pytest.mark.parametrize(("params", "status"), [
    ([], 422),  # missing
    ([("variants", "")], 400),  # empty
    ([("variants", " , ")], 400),
    ([("variants", "rs5748850,rs0000000")], 404),  # one unknown
    ([("variants", "rs5748850")] * 501, 422),  # more than 500, repeated
    ([("variants", ",".join(f"rs{i}" for i in range(501)))], 400),  # more than 500, comma-separated
    ([("variants", "rs5748850"), ("tissue", "nope")], 404),
    ([("variants", "rs5748850"), ("release", "../v1")], 422),
    ([("variants", "\x00")], 400),  # a control character
])
def test_ld_matrix_errors_are_4xx_never_500(client, params, status):
    r = client.get("/api/v1/ld/matrix", params=params)
    assert r.status_code == status, (params, r.status_code, r.text[:300])
    assert set(r.json()) >= {"error", "detail"}


def test_windows_formats_and_the_store_api(store, client, bim):
    rows = store.ld("rs5748850", region="22:17,054,354-17,554,354")  # either spelling, commas
    assert rows["pos"].between(17_054_354, 17_554_354).all() and rows["pos"].max() == 17_554_354
    assert rows.columns.tolist() == ["variant_id", "chrom", "pos", "ref", "alt", "r", "r2"]
    edge = store.ld(str(bim["id"].iloc[0]))  # the window clipped at 1
    assert edge["pos"].min() == bim["pos"].iloc[0]
    tsv = client.get("/api/v1/ld", params={"variant": "rs5748850", "format": "tsv"})
    assert tsv.status_code == 200 and tsv.headers["content-type"].startswith("text/tab-separated-values")
    assert tsv.text.splitlines()[0].split("\t") == ["variant_id", "chrom", "pos", "ref", "alt", "r", "r2"]
    csv = client.get("/api/v1/ld", params={"variant": "rs5748850", "format": "csv", "tissue": "LCL"})
    assert csv.status_code == 200 and len(csv.text.splitlines()) == len(store.ld("rs5748850")) + 1
    for bad in ({"region": "chr22:1-3000000"}, {"region": "chr1:1-100"}, {"region": "chr22:1-100"}):
        with pytest.raises(BadQuery):
            store.ld("rs5748850", **bad)
    with pytest.raises(NotFound):
        store.ld("rs5748850", tissue="Liver")
    with pytest.raises(BadQuery):
        store.ld_matrix([])
    schema = client.get("/api/openapi.json").json()
    assert {"/api/v1/ld", "/api/v1/ld/matrix"} <= set(schema["paths"])


def test_columns_layout_is_the_rows_at_float32_precision(client):
    params = {"variant": "rs5748850", "fields": "variant_id,chrom,r2"}
    rows = client.get("/api/v1/ld", params=params).json()
    body = client.get("/api/v1/ld", params={**params, "layout": "columns"}).json()
    assert body["meta"]["rows"] == len(rows["data"]) == len(body["data"]["variant_id"]) > 100
    assert body["constant"] == {"chrom": rows["data"][0]["chrom"]}  # one chromosome: written once
    assert body["data"]["variant_id"] == [r["variant_id"] for r in rows["data"]]
    r2 = np.array([np.nan if r["r2"] is None else r["r2"] for r in rows["data"]])
    got = np.array([np.nan if x is None else x for x in body["data"]["r2"]])
    assert np.array_equal(np.isnan(got), np.isnan(r2))
    assert np.allclose(got, r2, rtol=1e-6, atol=1e-7, equal_nan=True)


def test_a_release_without_the_matrix_answers_404(built, tmp_path):
    site, out = built
    old = tmp_path / "site"
    shutil.copytree(site, old)
    release = old / "releases" / out.name
    for path in (release / layout.table_path("genotype_matrix"),
                 samples_path(release / layout.table_path("genotype_matrix"))):
        path.unlink()
    with pytest.raises(NotFound, match="genotype matrix"):
        ReleaseStore(release).ld("rs5748850")
    from qtlatlas.web.app import create_app

    with TestClient(create_app(old)) as c:
        for path, params in (("/api/v1/ld", {"variant": "rs5748850"}), ("/api/v1/ld/matrix", {"variants": "rs5748850"})):
            r = c.get(path, params=params)
            assert r.status_code == 404 and "genotype matrix" in r.json()["detail"]
        assert c.get("/api/v1/variants/rs5748850").status_code == 200  # the rest of the release still answers


def test_sixteen_threads_at_once(built, bim):
    """16 threads, each with its own queries, on a fresh app (its caches filled while they race): no error,
    and the answers of a single thread."""
    from qtlatlas.web.app import create_app

    ids = bim["id"].iloc[np.linspace(100, len(bim) - 100, 16).astype(int)].tolist()
    queries = [("/api/v1/ld", {"variant": v, **({"tissue": "LCL"} if i % 2 else {})}) for i, v in enumerate(ids)]
    queries += [("/api/v1/ld/matrix", {"variants": ",".join(ids[i:i + 8]), "tissue": "LCL"}) for i in range(0, 16, 4)]
    with TestClient(create_app(built[0])) as alone:
        expected = [alone.get(p, params=q).json() for p, q in queries]
    results: dict[tuple[int, int], object] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(16)

    def work(t: int) -> None:
        try:
            start.wait()
            for k in range(len(queries)):
                i = (t + k) % len(queries)
                r = client.get(queries[i][0], params=queries[i][1])
                results[(t, i)] = (r.status_code, r.json())
        except BaseException as exc:  # reported below
            errors.append(exc)

    with TestClient(create_app(built[0])) as client:
        threads = [threading.Thread(target=work, args=(t,)) for t in range(16)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    assert not errors and len(results) == 16 * len(queries)
    for (_, i), (status, body) in results.items():
        assert status == 200 and body == expected[i]


def test_one_store_shared_by_sixteen_threads(built, bim):
    """The store itself, fresh (its matrix, offsets and sample sets loaded while 16 threads race)."""
    ids = bim["id"].iloc[np.linspace(100, len(bim) - 100, 16).astype(int)].tolist()
    expected = {v: ReleaseStore(built[1]).ld(v, tissue="LCL") for v in ids}
    shared_store = ReleaseStore(built[1])
    got: dict[str, pd.DataFrame] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(16)

    def work(v: str) -> None:
        try:
            start.wait()
            got[v] = shared_store.ld(v, tissue="LCL")
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(v,)) for v in ids]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    for v in ids:
        pd.testing.assert_frame_equal(got[v], expected[v])
