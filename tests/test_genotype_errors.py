"""Bad genotype inputs raise InputFileError / QtlAtlasError naming the file (and line), never a raw traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from genotype_files import write_plink1

from qtlatlas.errors import InputFileError, QtlAtlasError
from qtlatlas.io.genotypes import InvalidRegionError, open_genotypes, read_genotypes


def edit_line(path: Path, number: int, new: str) -> None:
    lines = path.read_text().splitlines()
    lines[number - 1] = new
    path.write_text("\n".join(lines) + "\n")


def write_vcf(path: Path, samples: list[str], records: list[str]) -> Path:
    columns = ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO"] + (
        ["FORMAT", *samples] if samples else []
    )
    header = (
        "##fileformat=VCFv4.2\n##contig=<ID=1>\n"
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n' + "\t".join(columns) + "\n"
    )
    path.write_text(header + "".join(r.replace(" ", "\t") + "\n" for r in records))
    return path


# --------------------------------------------------------------------------------------------------------
# PLINK 1
# --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".bed", ".bim", ".fam"])
def test_missing_member_of_plink1_fileset(tmp_path, suffix):
    prefix = write_plink1(tmp_path / "geno")
    prefix.with_suffix(suffix).unlink()
    with pytest.raises(InputFileError, match=f"geno\\{suffix}: not found"):
        open_genotypes(prefix)


def test_missing_fam_with_explicit_bed_path(tmp_path):
    prefix = write_plink1(tmp_path / "geno")
    prefix.with_suffix(".fam").unlink()
    with pytest.raises(InputFileError) as info:
        open_genotypes(prefix.with_suffix(".bed"))
    assert info.value.path.endswith("geno.fam")


def test_nothing_at_prefix(tmp_path):
    with pytest.raises(InputFileError, match="no genotypes found"):
        open_genotypes(tmp_path / "nothing")


def test_missing_vcf(tmp_path):
    with pytest.raises(InputFileError, match="absent.vcf.gz: not found"):
        open_genotypes(tmp_path / "absent.vcf.gz")


def test_truncated_bed(tmp_path):
    prefix = write_plink1(tmp_path / "geno")
    bed = prefix.with_suffix(".bed")
    bed.write_bytes(bed.read_bytes()[:-1])
    with pytest.raises(InputFileError, match=r"geno\.bed: size 12 bytes .* expected 3 \+ 5 × 2 = 13 bytes"):
        open_genotypes(prefix)


def test_bed_shorter_than_magic(tmp_path):
    prefix = write_plink1(tmp_path / "geno")
    prefix.with_suffix(".bed").write_bytes(b"\x6c")
    with pytest.raises(InputFileError, match=r"geno\.bed: truncated"):
        open_genotypes(prefix)


def test_bim_with_one_extra_line(tmp_path):
    prefix = write_plink1(tmp_path / "geno")
    bim = prefix.with_suffix(".bim")
    bim.write_text(bim.read_text() + "1\tv5\t0\t600\tA\tG\n")
    with pytest.raises(InputFileError) as info:
        open_genotypes(prefix)
    message = str(info.value)
    assert "geno.bed" in message and "geno.bim (6 variants)" in message and "geno.fam (6 samples)" in message
    assert "holds 5 variants" in message


def test_bad_magic(tmp_path):
    prefix = write_plink1(tmp_path / "geno")
    bed = prefix.with_suffix(".bed")
    bed.write_bytes(b"BED" + bed.read_bytes()[3:])
    with pytest.raises(InputFileError, match=r"geno\.bed: not a PLINK 1 \.bed file"):
        open_genotypes(prefix)


def test_individual_major_bed(tmp_path):
    prefix = write_plink1(tmp_path / "geno")
    bed = prefix.with_suffix(".bed")
    bed.write_bytes(b"\x6c\x1b\x00" + bed.read_bytes()[3:])
    with pytest.raises(InputFileError, match=r"geno\.bed: individual-major"):
        open_genotypes(prefix)


@pytest.mark.parametrize(
    ("bad_line", "problem"),
    [
        ("1\tv2\t0\t300\tA", "expected 6 fields, found 5"),
        ("1\tv2\t0\t300\tA\tG\tX", "expected 6 fields, found 7"),
        ("1\tv2\t0\t30x0\tA\tG", "field 4 is not an integer: '30x0'"),
    ],
)
def test_malformed_bim_line(tmp_path, bad_line, problem):
    prefix = write_plink1(tmp_path / "geno")
    edit_line(prefix.with_suffix(".bim"), 3, bad_line)
    with pytest.raises(InputFileError) as info:
        open_genotypes(prefix)
    assert info.value.line == 3
    assert f"geno.bim:3: malformed .bim line: {problem}" in str(info.value)


def test_malformed_first_bim_line(tmp_path):
    prefix = write_plink1(tmp_path / "geno")
    edit_line(prefix.with_suffix(".bim"), 1, "1 v0 0 100 A G extra")
    with pytest.raises(InputFileError, match=r"geno\.bim:1: malformed"):
        open_genotypes(prefix)


def test_malformed_fam_line(tmp_path):
    prefix = write_plink1(tmp_path / "geno")
    edit_line(prefix.with_suffix(".fam"), 4, "f3 s3 0 0")
    with pytest.raises(
        InputFileError, match=r"geno\.fam:4: malformed \.fam line: expected 6 fields, found 4"
    ):
        open_genotypes(prefix)


def test_empty_bim(tmp_path):
    prefix = write_plink1(tmp_path / "geno")
    prefix.with_suffix(".bim").write_text("")
    with pytest.raises(InputFileError, match=r"geno\.bim: \.bim contains no data lines"):
        open_genotypes(prefix)


def test_duplicate_fam_samples(tmp_path):
    prefix = write_plink1(tmp_path / "geno")
    edit_line(prefix.with_suffix(".fam"), 5, "f9 s1 0 0 0 -9")
    with pytest.raises(InputFileError, match=r"geno\.fam: duplicate sample id\(s\): s1"):
        open_genotypes(prefix)


# --------------------------------------------------------------------------------------------------------
# PLINK 2
# --------------------------------------------------------------------------------------------------------


def copy_plink2(shared: Path, tmp_path: Path) -> Path:
    """A writable copy of the small GEUVADIS PLINK 2 fileset in tmp_path (never in the repository)."""
    src = shared / "reference" / "geuvadis22" / "genotypes"
    for suffix in (".pgen", ".pvar", ".psam"):
        (tmp_path / f"g{suffix}").write_bytes(Path(f"{src}{suffix}").read_bytes())
    return tmp_path / "g"


@pytest.mark.shared
def test_missing_psam(shared, tmp_path):
    prefix = copy_plink2(shared, tmp_path)
    Path(f"{prefix}.psam").unlink()
    with pytest.raises(InputFileError, match=r"g\.psam: not found"):
        open_genotypes(prefix)


@pytest.mark.shared
def test_malformed_pvar_line_counts_header_lines(shared, tmp_path):
    prefix = copy_plink2(shared, tmp_path)
    pvar = Path(f"{prefix}.pvar")
    edit_line(pvar, 10, "chr22\tnot_a_position\trsX\tA\tG")
    with pytest.raises(InputFileError) as info:
        open_genotypes(prefix)
    assert info.value.line == 10
    assert "g.pvar:10: malformed .pvar line: field 2 is not an integer: 'not_a_position'" in str(info.value)


@pytest.mark.shared
def test_pvar_with_extra_line(shared, tmp_path):
    prefix = copy_plink2(shared, tmp_path)
    pvar = Path(f"{prefix}.pvar")
    pvar.write_text(pvar.read_text() + "chr22\t51000000\trsX\tA\tG\n")
    with pytest.raises(InputFileError, match=r"g\.pgen: holds 17752 variants but g\.pvar lists 17753"):
        open_genotypes(prefix)


@pytest.mark.shared
def test_psam_with_extra_sample(shared, tmp_path):
    prefix = copy_plink2(shared, tmp_path)
    psam = Path(f"{prefix}.psam")
    psam.write_text(psam.read_text() + "X1\tX1\t1\n")
    with pytest.raises(InputFileError, match=r"g\.pgen: .*359"):
        open_genotypes(prefix)


@pytest.mark.shared
def test_duplicate_psam_samples(shared, tmp_path):
    prefix = copy_plink2(shared, tmp_path)
    psam = Path(f"{prefix}.psam")
    edit_line(psam, 3, "HG00096\tHG00096\t1")
    with pytest.raises(InputFileError, match=r"g\.psam: duplicate sample id\(s\): HG00096"):
        open_genotypes(prefix)


@pytest.mark.shared
def test_pvar_header_lacks_columns(shared, tmp_path):
    prefix = copy_plink2(shared, tmp_path)
    edit_line(Path(f"{prefix}.pvar"), 1, "#CHROM\tPOS\tID\tREF")
    with pytest.raises(InputFileError, match=r"g\.pvar:1: header lacks column\(s\) ALT"):
        open_genotypes(prefix)


def test_not_a_pgen(tmp_path):
    (tmp_path / "g.pgen").write_bytes(b"garbage")
    (tmp_path / "g.pvar").write_text("#CHROM\tPOS\tID\tREF\tALT\n1\t10\ta\tA\tG\n")
    (tmp_path / "g.psam").write_text("#IID\ns1\n")
    with pytest.raises(InputFileError, match=r"g\.pgen: .*not a \.pgen file"):
        open_genotypes(tmp_path / "g")


# --------------------------------------------------------------------------------------------------------
# VCF
# --------------------------------------------------------------------------------------------------------


def test_not_a_vcf(tmp_path):
    path = tmp_path / "junk.vcf"
    path.write_text("hello\nworld\n")
    with pytest.raises(InputFileError, match=r"junk\.vcf: not a readable VCF/BCF file"):
        open_genotypes(path)


def test_vcf_without_samples(tmp_path):
    path = write_vcf(tmp_path / "nos.vcf", [], ["1 100 rs1 A G . . ."])
    with pytest.raises(InputFileError, match=r"nos\.vcf: the VCF has no samples"):
        open_genotypes(path)


def test_duplicate_vcf_samples(tmp_path):
    path = write_vcf(tmp_path / "dup.vcf", ["a", "b", "a"], ["1 100 rs1 A G . . . GT 0/0 0/1 1/1"])
    with pytest.raises(InputFileError) as info:
        open_genotypes(path)
    assert "dup.vcf:4: duplicate sample id(s): a" in str(info.value)


@pytest.mark.parametrize("bad", ["1 200 rs2 A G . . . GT 0/x 0/1", "1 2x0 rs2 A G . . . GT 0/1 0/1"])
def test_malformed_vcf_record_names_line(tmp_path, bad):
    path = write_vcf(tmp_path / "bad.vcf", ["a", "b"], ["1 100 rs1 A G . . . GT 0/0 0/1", bad])
    reader = open_genotypes(path)
    with pytest.raises(InputFileError) as info:
        reader.read()
    assert info.value.line == 6
    assert "bad.vcf:6: malformed VCF record after 1:100" in str(info.value)


def test_malformed_vcf_position_in_variant_scan(tmp_path):
    path = write_vcf(
        tmp_path / "bad.vcf", ["a"], ["1 100 rs1 A G . . . GT 0/0", "1 2x0 rs2 A G . . . GT 0/1"]
    )
    with pytest.raises(InputFileError, match=r"bad\.vcf:6: malformed VCF record"):
        _ = open_genotypes(path).variants  # the lazy variant table scan reports it too


# --------------------------------------------------------------------------------------------------------
# Requests
# --------------------------------------------------------------------------------------------------------


def test_unknown_requested_samples(tmp_path):
    prefix = write_plink1(tmp_path / "geno")
    with pytest.raises(InputFileError) as info:
        read_genotypes(prefix, samples=["s1", "nobody", "ghost"])
    message = str(info.value)
    assert "geno.bed" in message and "2 requested sample id(s) not in the file: nobody, ghost" in message


def test_unknown_requested_samples_vcf(tmp_path):
    path = write_vcf(tmp_path / "x.vcf", ["a", "b"], ["1 100 rs1 A G . . . GT 0/0 0/1"])
    with pytest.raises(InputFileError, match=r"x\.vcf: 1 requested sample id\(s\) not in the file: c"):
        read_genotypes(path, samples=["c"])


def test_sample_requested_twice(tmp_path):
    prefix = write_plink1(tmp_path / "geno")
    with pytest.raises(QtlAtlasError, match="more than once: s1"):
        read_genotypes(prefix, samples=["s1", "s2", "s1"])


@pytest.mark.parametrize("text", ["chr22:abc-def", "chr22:200-100", "chr 22", ""])
def test_bad_region(tmp_path, text):
    prefix = write_plink1(tmp_path / "geno")
    reader = open_genotypes(prefix)
    with pytest.raises(InvalidRegionError) as info:
        reader.read(text)
    assert isinstance(info.value, QtlAtlasError) and isinstance(info.value, ValueError)
    assert repr(text) in str(info.value)


def test_bad_dtype_and_mode(tmp_path):
    prefix = write_plink1(tmp_path / "geno")
    with pytest.raises(ValueError, match="dtype"):
        read_genotypes(prefix, dtype="float64")
    with pytest.raises(ValueError, match="multiallelic"):
        open_genotypes(prefix, multiallelic="keep")
