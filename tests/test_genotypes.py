"""Genotype readers: PLINK 1, PLINK 2 and VCF/BCF give one representation (qtlatlas.io.genotypes)."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from genotype_files import write_plink1

from qtlatlas.errors import InputFileError
from qtlatlas.io.chromosomes import Region
from qtlatlas.io.genotypes import (
    MISSING_INT8,
    VARIANT_COLUMNS,
    GenotypeData,
    open_genotypes,
    read_genotypes,
)

FORMATS = ("plink1", "plink2", "vcf")
REGIONS = ("chr22:20000000-21000000", "22:20000000-21000000")


@pytest.fixture(scope="module")
def geuvadis(shared) -> dict[str, str]:
    base = shared / "reference" / "geuvadis22" / "genotypes"
    return {"plink1": f"{base}.bed", "plink2": f"{base}.pgen", "vcf": f"{base}.vcf.gz"}


@pytest.fixture(scope="module")
def geuvadis_full(geuvadis) -> dict[str, GenotypeData]:
    return {fmt: read_genotypes(path) for fmt, path in geuvadis.items()}


@pytest.fixture(scope="module")
def g1000(shared) -> Path:
    return shared / "data" / "1000g-eur-hm3-chr21-22"


# --------------------------------------------------------------------------------------------------------
# Synthetic files
# --------------------------------------------------------------------------------------------------------

VCF_HEADER = """##fileformat=VCFv4.2
##contig=<ID=chr1>
##contig=<ID=chr2>
##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">
{ds}#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t{samples}
"""
DS_LINE = '##FORMAT=<ID=DS,Number=A,Type=Float,Description="ALT dosage">\n'


def write_vcf(path: Path, records: list[str], samples=("s1", "s2", "s3", "s4"), ds: bool = False) -> Path:
    header = VCF_HEADER.format(ds=DS_LINE if ds else "", samples="\t".join(samples))
    path.write_text(header + "".join(r.replace(" ", "\t") + "\n" for r in records))
    return path


def bgzip_index(path: Path, csi: bool = False) -> Path:
    import pysam

    out = Path(str(path) + ".gz")
    pysam.tabix_compress(str(path), str(out), force=True)
    pysam.tabix_index(str(out), preset="vcf", force=True, csi=csi)
    return out


def filter_rows(data: GenotypeData, region: Region) -> tuple[np.ndarray, pd.DataFrame]:
    mask = np.array(
        [region.contains(c, p) for c, p in zip(data.variants.chrom, data.variants.pos, strict=True)]
    )
    return data.dosages[mask], data.variants[mask].reset_index(drop=True)


# --------------------------------------------------------------------------------------------------------
# Real data: GEUVADIS chr22 in three formats
# --------------------------------------------------------------------------------------------------------


@pytest.mark.shared
def test_three_formats_read_identically(geuvadis_full):
    ref = geuvadis_full["plink1"]
    assert ref.dosages.shape == (17752, 358)
    assert ref.dosages.dtype == np.int8
    assert list(ref.variants.columns) == list(VARIANT_COLUMNS)
    assert isinstance(ref.variants.index, pd.RangeIndex)
    assert ref.variants["pos"].dtype == np.int64
    assert set(ref.variants["chrom"]) == {"chr22"}
    for fmt in ("plink2", "vcf"):
        other = geuvadis_full[fmt]
        np.testing.assert_array_equal(other.dosages, ref.dosages)
        pd.testing.assert_frame_equal(other.variants, ref.variants)
        assert other.samples == ref.samples
        assert other.n_missing == ref.n_missing == 0


@pytest.mark.shared
def test_samples_match_samples_txt(shared, geuvadis_full):
    lines = (shared / "reference" / "geuvadis22" / "samples.txt").read_text().splitlines()
    listed = [line.split()[0] for line in lines if line.strip()]
    assert geuvadis_full["plink1"].samples == listed


@pytest.mark.shared
def test_counted_allele_is_bim_column_5(shared, geuvadis_full):
    bim = pd.read_csv(shared / "reference" / "geuvadis22" / "genotypes.bim", sep="\t", header=None, dtype=str)
    variants = geuvadis_full["vcf"].variants
    assert (variants["alt"].to_numpy() == bim[4].to_numpy()).all()
    assert (variants["ref"].to_numpy() == bim[5].to_numpy()).all()


@pytest.mark.shared
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("text", REGIONS)
def test_region_equals_filtered_full_read(geuvadis, geuvadis_full, fmt, text):
    reader = open_genotypes(geuvadis[fmt])
    part = reader.read(text)
    want_dosages, want_variants = filter_rows(geuvadis_full[fmt], Region("22", 20_000_000, 21_000_000))
    assert 0 < part.dosages.shape[0] < 17752
    np.testing.assert_array_equal(part.dosages, want_dosages)
    pd.testing.assert_frame_equal(part.variants, want_variants)
    assert part.samples == geuvadis_full[fmt].samples


@pytest.mark.shared
@pytest.mark.parametrize("fmt", FORMATS)
def test_whole_chromosome_and_absent_chromosome(geuvadis, fmt):
    reader = open_genotypes(geuvadis[fmt])
    assert reader.chromosomes() == ["chr22"]
    assert reader.read("22").dosages.shape == (17752, 358)
    empty = reader.read("chr21")
    assert empty.dosages.shape == (0, 358)
    assert list(empty.variants.columns) == list(VARIANT_COLUMNS)


@pytest.mark.shared
@pytest.mark.parametrize("fmt", FORMATS)
def test_sample_subset_in_custom_order(geuvadis, geuvadis_full, fmt):
    full = geuvadis_full[fmt]
    picks = [200, 3, 357, 0, 41]
    names = [full.samples[i] for i in picks]
    part = open_genotypes(geuvadis[fmt]).read(REGIONS[0], samples=names)
    want, _ = filter_rows(full, Region("22", 20_000_000, 21_000_000))
    assert part.samples == names
    np.testing.assert_array_equal(part.dosages, want[:, picks])


@pytest.mark.shared
@pytest.mark.parametrize("fmt", FORMATS)
def test_float32_equals_int8_for_hard_calls(geuvadis, geuvadis_full, fmt):
    floats = open_genotypes(geuvadis[fmt]).read(REGIONS[0], dtype="float32", samples=["HG00100", "HG00096"])
    ints = open_genotypes(geuvadis[fmt]).read(REGIONS[0], samples=["HG00100", "HG00096"])
    assert floats.dosages.dtype == np.float32
    np.testing.assert_array_equal(floats.dosages, ints.dosages.astype(np.float32))


@pytest.mark.shared
def test_prefix_prefers_plink2(shared):
    prefix = shared / "reference" / "geuvadis22" / "genotypes"
    assert open_genotypes(prefix).format == "plink2"
    assert open_genotypes(f"{prefix}.bed").format == "plink1"
    assert open_genotypes(f"{prefix}.vcf.gz").format == "vcf"


@pytest.mark.shared
def test_pinned_calls_from_vcf_text(geuvadis_full):
    # chr22 16061016 rs9617528 T>C: HG00096 0/0, HG00100 0/1, HG00108 1/1 (first data line of the VCF).
    for fmt in FORMATS:
        data = geuvadis_full[fmt]
        row = data.variants.index[data.variants["id"] == "rs9617528"][0]
        got = [data.dosages[row, data.samples.index(s)] for s in ("HG00096", "HG00100", "HG00108")]
        assert got == [0, 1, 2]
        assert tuple(data.variants.loc[row, ["ref", "alt"]]) == ("T", "C")


# --------------------------------------------------------------------------------------------------------
# Real data: 1000 Genomes EUR HapMap3 (PLINK 1)
# --------------------------------------------------------------------------------------------------------


@pytest.mark.shared
@pytest.mark.parametrize(("chrom", "n_variants"), [("21", 17206), ("22", 17752)])
def test_1000g_counts(g1000, chrom, n_variants):
    reader = open_genotypes(g1000 / f"g1000_eur_hm3_chr{chrom}")
    assert reader.format == "plink1"
    assert len(reader.samples) == 503
    assert len(reader.variants) == n_variants
    assert reader.chromosomes() == [chrom]
    data = reader.read()
    assert data.dosages.shape == (n_variants, 503)
    assert data.n_missing == 0
    assert set(np.unique(data.dosages)) <= {0, 1, 2}


@pytest.mark.shared
def test_1000g_agrees_with_geuvadis_vcf(g1000, geuvadis_full):
    vcf = geuvadis_full["vcf"]
    g = read_genotypes(g1000 / "g1000_eur_hm3_chr22.bed", samples=vcf.samples)
    by_id = pd.Series(np.arange(len(g.variants)), index=g.variants["id"])
    rows = by_id.loc[vcf.variants["id"]].to_numpy()
    # the counted allele is the same .bim column-5 allele in both files
    assert (g.variants["alt"].to_numpy()[rows] == vcf.variants["alt"].to_numpy()).all()
    assert (g.variants["pos"].to_numpy()[rows] == vcf.variants["pos"].to_numpy()).all()
    np.testing.assert_array_equal(g.dosages[rows], vcf.dosages)
    # spot checks of single (variant, sample) pairs, read each through a region query
    for vid, sample in [("rs9617528", "HG00100"), ("rs9617528", "HG00108"), ("rs4911642", "NA20828")]:
        i = vcf.variants.index[vcf.variants["id"] == vid][0]
        pos = int(vcf.variants.loc[i, "pos"])
        one = read_genotypes(g1000 / "g1000_eur_hm3_chr22", f"chr22:{pos}-{pos}", samples=[sample])
        assert one.dosages.shape == (1, 1)
        assert one.dosages[0, 0] == vcf.dosages[i, vcf.samples.index(sample)]


@pytest.mark.shared
def test_plink1_decoder_matches_bed_reader(g1000):
    from bed_reader import open_bed

    path = g1000 / "g1000_eur_hm3_chr21.bed"
    with open_bed(path, count_A1=True) as bed:
        want = bed.read(dtype="int8").T
    np.testing.assert_array_equal(read_genotypes(path).dosages, want)


# --------------------------------------------------------------------------------------------------------
# Synthetic PLINK 1
# --------------------------------------------------------------------------------------------------------


def test_plink1_synthetic_with_missing_and_odd_sample_count(tmp_path):
    rng = np.random.default_rng(1)
    calls = rng.choice(np.array([0, 1, 2, MISSING_INT8], dtype=np.int8), size=(13, 7))
    write_plink1(tmp_path / "x", calls)
    reader = open_genotypes(tmp_path / "x")
    data = reader.read()
    np.testing.assert_array_equal(data.dosages, calls)
    assert data.n_missing == int((calls == MISSING_INT8).sum())
    assert data.samples == [f"s{j}" for j in range(7)]
    assert list(data.variants["alt"].unique()) == ["A"]
    order = ["s6", "s0", "s3"]
    sub = reader.read("1:300-900", samples=order)
    np.testing.assert_array_equal(sub.dosages, calls[2:9][:, [6, 0, 3]])
    assert sub.variants["pos"].tolist() == list(range(300, 1000, 100))


def test_plink1_float_and_mean_impute(tmp_path):
    calls = np.array([[0, 1, MISSING_INT8, 2], [MISSING_INT8] * 4, [2, 2, 2, 2]], dtype=np.int8)
    write_plink1(tmp_path / "x", calls)
    data = read_genotypes(tmp_path / "x.bed", dtype="float32")
    assert data.dosages.dtype == np.float32
    assert np.isnan(data.dosages[0, 2]) and data.n_missing == 5
    imputed = data.mean_impute()
    np.testing.assert_allclose(imputed[0], [0, 1, 1, 2])
    np.testing.assert_allclose(imputed[1], [0, 0, 0, 0])
    np.testing.assert_allclose(imputed[2], [2, 2, 2, 2])


def test_genotype_data_helpers():
    dosages = np.array([[0, MISSING_INT8, 2], [1, 1, MISSING_INT8]], dtype=np.int8)
    data = GenotypeData(dosages, pd.DataFrame(columns=list(VARIANT_COLUMNS)), ["a", "b", "c"], 2)
    as_float = data.to_float()
    assert as_float.dtype == np.float32
    np.testing.assert_array_equal(np.isnan(as_float), dosages == MISSING_INT8)
    np.testing.assert_allclose(data.mean_impute(), [[0, 1, 2], [1, 1, 1]])
    assert data.dosages[0, 1] == MISSING_INT8  # inputs untouched
    assert (data.n_variants, data.n_samples) == (2, 3)


def test_unsorted_bim_region_rows_in_file_order(tmp_path):
    calls = np.arange(12, dtype=np.int8).reshape(6, 2) % 3
    write_plink1(tmp_path / "x", calls)
    bim = tmp_path / "x.bim"
    lines = bim.read_text().splitlines()
    lines[1] = lines[1].replace("1\t", "2\t", 1)  # variant 1 on chromosome 2
    bim.write_text("\n".join(lines) + "\n")
    data = read_genotypes(tmp_path / "x", "chr1")
    np.testing.assert_array_equal(data.dosages, calls[[0, 2, 3, 4, 5]])
    assert open_genotypes(tmp_path / "x").chromosomes() == ["1", "2"]


def test_bim_space_separated(tmp_path):
    calls = np.array([[0, 1], [2, 0]], dtype=np.int8)
    write_plink1(tmp_path / "x", calls)
    bim = tmp_path / "x.bim"
    bim.write_text(bim.read_text().replace("\t", " "))
    data = read_genotypes(tmp_path / "x")
    assert data.variants["id"].tolist() == ["v0", "v1"]
    np.testing.assert_array_equal(data.dosages, calls)


# --------------------------------------------------------------------------------------------------------
# Synthetic PLINK 2 (written with pgenlib)
# --------------------------------------------------------------------------------------------------------


def write_plink2(prefix: Path) -> None:
    import pgenlib

    writer = pgenlib.PgenWriter(
        bytes(str(prefix) + ".pgen", "utf8"),
        4,
        variant_ct=3,
        nonref_flags=False,
        hardcall_phase_present=False,
        dosage_present=True,
        allele_ct_limit=3,
    )
    writer.append_biallelic(np.array([0, 1, 2, -9], np.int8))
    writer.append_dosages(np.array([0.5, 1.25, 2, -9], np.float32))
    writer.append_alleles(np.array([0, 1, 0, 2, 2, 2, -9, -9], np.int32), allele_ct=3)
    writer.close()
    pvar = "##source=test\n#CHROM\tPOS\tID\tREF\tALT\n1\t10\ta\tC\tT\n1\t20\tb\tG\tA\n1\t30\tc\tA\tG,T\n"
    Path(str(prefix) + ".pvar").write_text(pvar)
    Path(str(prefix) + ".psam").write_text("#IID\tSEX\np1\t1\np2\t2\np3\tNA\np4\t1\n")


def test_plink2_dosages_and_multiallelic(tmp_path):
    write_plink2(tmp_path / "p")
    skip = open_genotypes(tmp_path / "p")
    assert skip.format == "plink2" and skip.multiallelic_records == 1
    data = skip.read()
    assert data.variants["id"].tolist() == ["a", "b"]
    assert data.multiallelic_records == 1
    np.testing.assert_array_equal(data.dosages[0], [0, 1, 2, MISSING_INT8])
    floats = skip.read(dtype="float32", samples=["p2", "p1"])
    np.testing.assert_allclose(floats.dosages[1], [1.25, 0.5])

    split = open_genotypes(tmp_path / "p.pgen", multiallelic="split")
    data = split.read("1:25-35")
    assert data.variants[["id", "alt"]].values.tolist() == [["c", "G"], ["c", "T"]]
    np.testing.assert_array_equal(data.dosages, [[1, 0, 0, MISSING_INT8], [0, 1, 2, MISSING_INT8]])
    assert data.multiallelic_records == 1 and data.n_missing == 2
    assert split.read("1:1-15").multiallelic_records == 0


def test_headerless_psam_and_pvar_gz(tmp_path):
    write_plink2(tmp_path / "p")
    psam = tmp_path / "p.psam"
    psam.write_text("".join(f"f{i} p{i} 0 0 1 -9\n" for i in range(1, 5)))
    pvar = tmp_path / "p.pvar"
    with gzip.open(str(pvar) + ".gz", "wt") as out:
        out.write(pvar.read_text())
    pvar.unlink()
    reader = open_genotypes(tmp_path / "p")
    assert reader.samples == ["p1", "p2", "p3", "p4"]
    assert reader.variants["pos"].tolist() == [10, 20]


# --------------------------------------------------------------------------------------------------------
# Synthetic VCF
# --------------------------------------------------------------------------------------------------------

RECORDS = [
    "chr1 100 rs1 A G . . . GT:DS 0/0:0.1 0|1:0.9 1/1:1.8 ./.:.",
    "chr1 200 rs2 C T . . . GT:DS 0/1:1.2 ./1:1.0 1:. 0:0",
    "chr1 300 rs3 G A,C . . . GT:DS 0/2:0,1 1/2:1,1 2/2:0,2 ./.:.,.",
    "chr2 150 . T C . . . GT:DS 1/1:2 0/0:0 0/1:1 1|0:1",
]


def test_vcf_hard_calls_missing_and_haploid(tmp_path):
    reader = open_genotypes(write_vcf(tmp_path / "x.vcf", RECORDS, ds=True))
    assert reader.format == "vcf" and not reader.indexed
    data = reader.read()
    assert data.variants["id"].tolist() == ["rs1", "rs2", "."]
    assert data.multiallelic_records == 1
    np.testing.assert_array_equal(
        data.dosages,
        [[0, 1, 2, MISSING_INT8], [1, MISSING_INT8, 2, 0], [2, 0, 1, 1]],
    )
    assert data.n_missing == 2
    assert reader.multiallelic_records == 1
    assert reader.chromosomes() == ["chr1", "chr2"]


def test_vcf_ds_dosages(tmp_path):
    data = read_genotypes(write_vcf(tmp_path / "x.vcf", RECORDS, ds=True), dtype="float32")
    assert data.dosages.dtype == np.float32
    # DS where present; where DS is missing the GT count is used (rs2 s3: haploid 1 -> 2)
    np.testing.assert_allclose(
        data.dosages,
        [[0.1, 0.9, 1.8, np.nan], [1.2, 1.0, 2.0, 0.0], [2, 0, 1, 1]],
    )
    assert data.n_missing == 1
    np.testing.assert_allclose(data.mean_impute()[0], [0.1, 0.9, 1.8, 2.8 / 3], rtol=1e-6)


def test_vcf_without_ds_float_equals_int(tmp_path):
    records = [r.replace("GT:DS", "GT").split(" ") for r in RECORDS]
    records = [" ".join(f[:9] + [x.split(":")[0] for x in f[9:]]) for f in records]
    path = write_vcf(tmp_path / "x.vcf", records)
    ints = read_genotypes(path)
    floats = read_genotypes(path, dtype="float32")
    np.testing.assert_array_equal(floats.dosages, ints.to_float())


def test_vcf_multiallelic_split(tmp_path):
    path = write_vcf(tmp_path / "x.vcf", RECORDS, ds=True)
    reader = open_genotypes(path, multiallelic="split")
    assert len(reader.variants) == 5 and reader.multiallelic_records == 1
    data = reader.read("chr1:300-300")
    assert data.variants[["pos", "ref", "alt"]].values.tolist() == [[300, "G", "A"], [300, "G", "C"]]
    np.testing.assert_array_equal(data.dosages, [[0, 1, 0, MISSING_INT8], [1, 1, 2, MISSING_INT8]])
    floats = reader.read("chr1:300-300", dtype="float32")
    np.testing.assert_allclose(floats.dosages, [[0, 1, 0, np.nan], [1, 1, 2, np.nan]])
    assert data.multiallelic_records == 1
    skipped = read_genotypes(path, "chr1:300-300")
    assert skipped.dosages.shape == (0, 4) and skipped.multiallelic_records == 1


def test_vcf_sample_subset_order(tmp_path):
    path = write_vcf(tmp_path / "x.vcf", RECORDS)
    full = read_genotypes(path)
    part = read_genotypes(path, samples=["s4", "s2"])
    assert part.samples == ["s4", "s2"]
    np.testing.assert_array_equal(part.dosages, full.dosages[:, [3, 1]])


@pytest.mark.parametrize("csi", [False, True])
def test_indexed_vcf_region_queries(tmp_path, csi):
    plain = write_vcf(tmp_path / "x.vcf", RECORDS, ds=True)
    indexed = open_genotypes(bgzip_index(plain, csi=csi))
    assert indexed.indexed
    assert indexed.chromosomes() == ["chr1", "chr2"]
    unindexed = open_genotypes(plain)
    for text in ("chr1:150-300", "1:150-300", "2", "chr1:101-199", "chrX"):
        got, want = indexed.read(text, dtype="float32"), unindexed.read(text, dtype="float32")
        np.testing.assert_array_equal(got.dosages, want.dosages)
        pd.testing.assert_frame_equal(got.variants, want.variants)
    assert indexed.read("1:150-300").variants["id"].tolist() == ["rs2"]


def test_indexed_region_query_does_not_scan_the_file(tmp_path):
    """A malformed record outside the region is never parsed by an index query (so the file is not scanned)."""
    bad = "chr2 150 bad T C . . . GT 0/1"  # too few sample columns: htslib rejects it, tabix indexes it
    reader = open_genotypes(bgzip_index(write_vcf(tmp_path / "x.vcf", [*RECORDS[:2], bad])))
    assert reader.read("chr1:1-250").dosages.shape == (2, 4)
    with pytest.raises(InputFileError, match="malformed VCF record after chr1:200"):
        reader.read()


def test_bcf_with_csi(tmp_path):
    import cyvcf2
    import pysam

    plain = write_vcf(tmp_path / "x.vcf", RECORDS, ds=True)
    source = cyvcf2.VCF(str(plain))
    bcf = tmp_path / "x.bcf"
    writer = cyvcf2.Writer(str(bcf), source, mode="wb")
    for rec in source:
        writer.write_record(rec)
    writer.close()
    source.close()
    pysam.tabix_index(str(bcf), preset="vcf", csi=True, force=True, keep_original=True)
    reader = open_genotypes(bcf)
    assert reader.indexed
    want = read_genotypes(plain, dtype="float32")
    got = reader.read(dtype="float32")
    np.testing.assert_array_equal(got.dosages, want.dosages)
    pd.testing.assert_frame_equal(got.variants, want.variants)
    np.testing.assert_array_equal(reader.read("chr2").dosages, [[2, 0, 1, 1]])


@pytest.mark.parametrize("fmt", FORMATS)
def test_variants_in_chunks_equal_the_variant_table(geuvadis, fmt):
    """``iter_variants`` yields the variant table in file order, chunk by chunk, for every format; a VCF is
    scanned as it goes and counts its multi-allelic records the same way."""
    whole = open_genotypes(geuvadis[fmt]).variants
    reader = open_genotypes(geuvadis[fmt])
    chunks = list(reader.iter_variants(chunk_rows=1000))
    assert len(chunks) == -(-len(whole) // 1000) and all(len(c) <= 1000 for c in chunks)
    pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True), whole)
    if fmt == "vcf":
        assert reader._variants is None  # never held whole
        assert reader.multiallelic_records == open_genotypes(geuvadis[fmt]).multiallelic_records


def test_vcf_chunks_split_multiallelic_records(tmp_path):
    path = write_vcf(tmp_path / "x.vcf", RECORDS, ds=True)
    whole = open_genotypes(path, multiallelic="split").variants
    reader = open_genotypes(path, multiallelic="split")
    chunks = list(reader.iter_variants(chunk_rows=1))
    # a record's rows stay together: the split one is a chunk of two
    sizes = [len(c) for c in chunks]
    assert sorted(sizes) == [1] * (len(whole) - 2) + [2]
    split = chunks[sizes.index(2)]
    assert split["pos"].tolist() == [300, 300] and split["alt"].tolist() == ["A", "C"]
    pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True), whole)
    assert reader.multiallelic_records == 1
