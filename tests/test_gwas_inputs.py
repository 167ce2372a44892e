"""GWAS and nominal-QTL inputs of colocalisation: each format on small written files, malformed input named by
file and line, variant matching by position and alleles, and the genome-build checks."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from conftest import write_text

from qtlatlas.coloc.match import match_variants, unique_variants
from qtlatlas.errors import ConfigError, InputFileError
from qtlatlas.io.gwas import GwasSumstats, detect_format, finish_table, read_gwas
from qtlatlas.io.qtl_sumstats import read_qtl_sumstats

VCF_HEADER = """##fileformat=VCFv4.2
##FORMAT=<ID=ES,Number=A,Type=Float,Description="Effect size estimate relative to the alternative allele">
##FORMAT=<ID=SE,Number=A,Type=Float,Description="Standard error of effect size estimate">
##FORMAT=<ID=LP,Number=A,Type=Float,Description="-log10 p-value for effect estimate">
##FORMAT=<ID=AF,Number=A,Type=Float,Description="Alternate allele frequency in the association study">
##FORMAT=<ID=SS,Number=A,Type=Float,Description="Sample size used to estimate genetic effect">
##SAMPLE=<ID=T2D,TotalVariants=4,TotalControls=1000,TotalCases=500,StudyType=CaseControl>
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tT2D
"""


def _vcf(tmp_path, body: str, header: str = VCF_HEADER, name: str = "g.vcf"):
    return write_text(tmp_path / name, header + body.replace(" ", "\t"))


# ------------------------------------------------------------------------------------------------------------
# GWAS-VCF
# ------------------------------------------------------------------------------------------------------------


def test_gwas_vcf_fields_multiallelic_records_and_header_sample_size(tmp_path):
    body = ("1 100 rs1 A G . PASS AF=0.3 ES:SE:LP 0.1:0.02:5.5\n"
            "1 200 . C T,A . PASS . ES:SE:LP:AF:SS 0.1,-0.2:0.05,0.04:1,2:0.1,0.2:900,800\n"
            "chr1 300 rs3 G C . PASS . ES:SE:LP:AF 0.05:0.01:inf:0.4\n")
    gwas = read_gwas(_vcf(tmp_path, body, name="g.vcf.gz"))
    t = gwas.table
    assert gwas.format == "vcf" and gwas.trait == "T2D" and gwas.has_beta and gwas.has_positions
    assert t["effect_allele"].tolist() == ["G", "T", "A", "C"]
    assert t["other_allele"].tolist() == ["A", "C", "C", "G"]
    np.testing.assert_allclose(t["beta"], [0.1, 0.1, -0.2, 0.05])
    np.testing.assert_allclose(t["z"], [5.0, 2.0, -5.0, 5.0])
    np.testing.assert_allclose(t["p"], [10**-5.5, 0.1, 0.01, 0.0])
    np.testing.assert_allclose(t["af"], [0.3, 0.1, 0.2, 0.4])  # INFO AF where FORMAT has none
    np.testing.assert_allclose(t["n"], [1500, 900, 800, 1500])  # SS, else the header's cases + controls
    assert t["line"].tolist() == [9, 10, 10, 11]
    assert t["variant_id"].tolist() == ["rs1", "", "", "rs3"]
    assert gwas.study_type == "cc" and gwas.case_fraction == pytest.approx(1 / 3)


def test_gwas_vcf_regions_through_the_tabix_index(tmp_path):
    import pysam

    body = "".join(f"1 {p} . A G . PASS . ES:SE 0.1:0.05\n" for p in (100, 200, 300, 400))
    plain = _vcf(tmp_path, body)
    gz = str(plain) + ".gz"
    pysam.tabix_compress(str(plain), gz)
    pysam.tabix_index(gz, preset="vcf")
    gwas = read_gwas(gz, regions={"1": [(150, 300)]})
    assert gwas.table["pos"].tolist() == [200, 300]
    assert read_gwas(plain, regions={"1": [(150, 300)]}).table["pos"].tolist() == [200, 300]


@pytest.mark.parametrize("body, problem, line", [
    ("1 100 . A G . PASS . ES:SE:LP 0.1:abc:1\n", "SE: 'abc' is not a number", 9),
    ("1 100 . A G . PASS . ES:SE 0.1:0.05:7\n", "more values than FORMAT", 9),
    ("1 100 . A G . PASS . ES:SE 0.1:-0.05\n", "standard error must be positive", 9),
    ("1 1x0 . A G . PASS . ES:SE 0.1:0.05\n", "POS: '1x0' is not a number", 9),
    ("1 100 . A G,T . PASS . ES:SE 0.1,0.2,0.3:0.05\n", "ES has 3 values for 2 ALT alleles", 9),
])
def test_gwas_vcf_malformed_records_name_the_line(tmp_path, body, problem, line):
    path = _vcf(tmp_path, "1 50 . A G . PASS . ES:SE 0.1:0.05\n" + body)
    with pytest.raises(InputFileError, match=problem) as err:
        read_gwas(path)
    assert err.value.line == line + 1 and err.value.path == str(path)


def test_gwas_vcf_samples_and_header(tmp_path):
    two = VCF_HEADER.replace("\tT2D\n", "\tT2D\tBMI\n")
    path = _vcf(tmp_path, "1 100 . A G . PASS . ES:SE 0.1:0.05 0.2:0.02\n", header=two)
    with pytest.raises(ConfigError, match="holds 2 traits"):
        read_gwas(path)
    bmi = read_gwas(path, sample="BMI")
    assert bmi.trait == "BMI" and bmi.table["beta"].tolist() == [0.2]
    assert bmi.n_source == ""  # the header's totals belong to T2D
    with pytest.raises(ConfigError, match="'HDL' is not a sample"):
        read_gwas(path, sample="HDL")
    no_chrom = write_text(tmp_path / "bad.vcf", "##fileformat=VCFv4.2\n1\t100\t.\tA\tG\n")
    with pytest.raises(InputFileError, match="no #CHROM header line") as err:
        read_gwas(no_chrom)
    assert err.value.line == 2


# ------------------------------------------------------------------------------------------------------------
# GWAS-SSF, GCTA .mlma, FUSION .sumstats
# ------------------------------------------------------------------------------------------------------------

SSF = ("chromosome\tbase_pair_location\teffect_allele\tother_allele\tbeta\tstandard_error\t"
       "effect_allele_frequency\tp_value\trsid\tn\n"
       "1\t100\tg\ta\t0.1\t0.02\t0.3\t1e-6\trs1\t5000\n"
       "23\t200\tT\tC\t-0.2\t0.05\t0.1\t0.01\trs2\t5000\n"
       "2\t300\tT\tC\tNA\t0.05\t0.1\t0.01\trs3\t5000\n")


def test_ssf_columns_and_chromosome_numbers(tmp_path):
    gwas = read_gwas(write_text(tmp_path / "t.tsv.gz", SSF, gz=True))
    t = gwas.table
    assert gwas.format == "ssf" and gwas.has_beta and gwas.n_source == "the n column"
    assert t["chrom"].tolist() == ["1", "X"]  # SSF numbers X as 23
    assert t["effect_allele"].tolist() == ["G", "T"] and t["other_allele"].tolist() == ["A", "C"]
    np.testing.assert_allclose(t["z"], [5.0, -4.0])
    np.testing.assert_allclose(t["af"], [0.3, 0.1])
    assert gwas.dropped == {"no effect or standard error": 1}
    assert t["line"].tolist() == [2, 3]


def test_ssf_odds_ratios_become_log_odds(tmp_path):
    text = ("chromosome\tbase_pair_location\teffect_allele\tother_allele\todds_ratio\tstandard_error\tp_value\n"
            "1\t100\tG\tA\t1.5\t0.1\t0.01\n")
    t = read_gwas(write_text(tmp_path / "or.tsv", text)).table
    assert t["beta"].iat[0] == pytest.approx(math.log(1.5))


@pytest.mark.parametrize("row, problem, line", [
    ("1\t100\tG\tA\tx\t0.02\t0.3\t1e-6\trs9\t5000\n", "beta: 'x' is not a number", 4),
    ("1\t100\tG\tA\t0.1\t0\t0.3\t1e-6\trs9\t5000\n", "standard error must be positive", 4),
    ("1\t100\tG\tA\t0.1\t0.02\t1.3\t1e-6\trs9\t5000\n", "between 0 and 1", 4),
    ("1\t10.5\tG\tA\t0.1\t0.02\t0.3\t1e-6\trs9\t5000\n", "not a position", 4),
    ("1\t100\tG\tA\t0.1\t0.02\t0.3\t1e-6\trs9\t5000\textra\n", "malformed table", 4),
])
def test_ssf_malformed_rows_name_the_line(tmp_path, row, problem, line):
    path = write_text(tmp_path / "bad.tsv", SSF.split("2\t300")[0] + row)
    with pytest.raises(InputFileError, match=problem) as err:
        read_gwas(path, fmt="ssf")
    assert err.value.line == line


def test_ssf_missing_columns(tmp_path):
    path = write_text(tmp_path / "bad.tsv", "chromosome\tbase_pair_location\teffect_allele\tother_allele\tbeta\n"
                                            "1\t100\tG\tA\t0.1\n")
    with pytest.raises(InputFileError, match="missing column.*standard_error") as err:
        read_gwas(path)
    assert err.value.line == 1


def test_ssf_and_mlma_are_converted_in_chunks_with_file_lines(tmp_path, monkeypatch):
    """A text GWAS is converted a chunk of rows at a time: the same table as in one piece, and an error names
    the file's line whichever chunk holds it."""
    from qtlatlas.io import gwas_text

    head = "chromosome\tbase_pair_location\teffect_allele\tother_allele\tbeta\tstandard_error\tp_value\tn\n"
    rows = [f"{1 + i // 10}\t{100 + i}\tA\tG\t{0.01 * i:.2f}\t0.05\t{0.5 + i / 100:.2f}\t{900 + i}" for i in range(25)]
    rows[6] += "\textra"  # not in the first chunk
    bad = write_text(tmp_path / "bad.tsv", head + "\n".join(rows) + "\n")
    rows[6] = rows[6].removesuffix("\textra")
    rows[18] = rows[18].replace("\t0.05\t", "\t-1\t")
    negative = write_text(tmp_path / "negative.tsv", head + "\n".join(rows) + "\n")
    rows[18] = rows[18].replace("\t-1\t", "\t0.05\t")
    good = write_text(tmp_path / "good.tsv", head + "\n".join(rows) + "\n")
    whole = read_gwas(good).table
    monkeypatch.setattr(gwas_text, "CHUNK_ROWS", 4)
    chunked = read_gwas(good)
    pd.testing.assert_frame_equal(chunked.table, whole)
    assert chunked.table["line"].tolist() == list(range(2, 27)) and chunked.n_source == "the n column"
    with pytest.raises(InputFileError, match=r"bad\.tsv:8: malformed table"):
        read_gwas(bad)
    with pytest.raises(InputFileError, match=r"negative\.tsv:20: the standard error must be positive"):
        read_gwas(negative)
    mlma = write_text(tmp_path / "g.mlma", "Chr\tSNP\tbp\tA1\tA2\tFreq\tb\tse\tp\n" + "".join(
        f"1\trs{i}\t{100 + i}\tA\tG\t0.3\t0.1\t0.05\t0.04\n" for i in range(9)))
    assert read_gwas(mlma).table["line"].tolist() == list(range(2, 11))
    empty = write_text(tmp_path / "empty.tsv", head)
    assert read_gwas(empty).n_variants == 0


def test_mlma_effect_allele_is_a1(tmp_path):
    text = ("Chr\tSNP\tbp\tA1\tA2\tFreq\tb\tse\tp\n"
            "1\tchr1:100\t100\tT\tC\t0.2\t0.3\t0.1\t0.002\n"
            "1\tchr1:200\t200\tA\tG\t0.6\t-0.1\t0.05\t0.04\n")
    gwas = read_gwas(write_text(tmp_path / "rat.mlma", text))
    t = gwas.table
    assert gwas.format == "mlma" and gwas.n_source == ""
    assert t["effect_allele"].tolist() == ["T", "A"] and t["other_allele"].tolist() == ["C", "G"]
    np.testing.assert_allclose(t["z"], [3.0, -2.0])
    np.testing.assert_allclose(t["af"], [0.2, 0.6])
    bad = write_text(tmp_path / "bad.mlma", text + "1\tchr1:300\t300\tA\tG\t0.6\t-0.1\tse?\t0.04\n")
    with pytest.raises(InputFileError, match="se: 'se\\?' is not a number") as err:
        read_gwas(bad)
    assert err.value.line == 4


def test_fusion_z_only_and_with_frequency(tmp_path):
    gwas = read_gwas(write_text(tmp_path / "t.sumstats", "SNP\tA1\tA2\tZ\tN\nrs1\tA\tG\t2.5\t1000\n"
                                                         "rs2\tC\tT\tNA\t1000\n"))
    assert gwas.format == "fusion" and not gwas.has_beta and not gwas.has_positions
    assert gwas.table["z"].tolist() == [2.5] and gwas.dropped == {"no z-score": 1}
    assert np.isnan(gwas.table["beta"].iat[0]) and gwas.table["n"].iat[0] == 1000
    with_frq = read_gwas(write_text(tmp_path / "f.sumstats", "SNP CHR BP A1 A2 Z FRQ\nrs1 22 500 A G 2.5 0.2\n"))
    assert with_frq.has_positions and with_frq.table["af"].iat[0] == 0.2
    assert with_frq.table["chrom"].iat[0] == "22" and with_frq.table["pos"].iat[0] == 500


def test_detect_format_and_unknown_files(tmp_path):
    assert detect_format(str(_vcf(tmp_path, ""))) == "vcf"
    assert detect_format(str(write_text(tmp_path / "a", SSF))) == "ssf"
    assert detect_format(str(write_text(tmp_path / "b", "SNP A1 A2 Z\n"))) == "fusion"
    unknown = write_text(tmp_path / "c.tsv", "rsid\tpvalue\nrs1\t0.1\n")
    with pytest.raises(InputFileError, match="not a GWAS file"):
        read_gwas(unknown)
    with pytest.raises(InputFileError, match="not found"):
        read_gwas(tmp_path / "absent.vcf.gz")
    with pytest.raises(ConfigError, match="names a GWAS-VCF sample"):
        read_gwas(write_text(tmp_path / "d", SSF), sample="T2D")


# ------------------------------------------------------------------------------------------------------------
# nominal QTL statistics
# ------------------------------------------------------------------------------------------------------------

TENSORQTL = ("phenotype_id\tvariant_id\tstart_distance\taf\tma_samples\tma_count\tpval_nominal\tslope\tslope_se\n"
             "G1\tchr1_100_A_G_b38\t-50\t0.25\t80\t100\t0.01\t0.5\t0.2\n"
             "G1\tchr1_200_C_T_b38\t50\t0.9\t38\t40\t0.5\t0.1\t0.15\n"
             "G2\tchr1_100_A_G_b38\t-900\t0.25\t80\t100\t0.2\t-0.3\tNA\n")


def test_tensorqtl_pairs_text_and_parquet(tmp_path):
    text = read_qtl_sumstats(write_text(tmp_path / "pairs.txt.gz", TENSORQTL, gz=True))
    t = text.table
    assert text.layout == "tensorqtl" and text.has_positions
    assert t["chrom"].tolist() == ["1", "1"] and t["pos"].tolist() == [100, 200]
    assert t["ref"].tolist() == ["A", "C"] and t["alt"].tolist() == ["G", "T"]
    np.testing.assert_allclose(t["maf"], [0.25, 0.1])
    assert text.dropped == {"no effect or standard error": 1}
    assert text.n_inferred == 200  # ma_count / (2 · MAF) = 100 / 0.5
    frame = pd.read_csv(tmp_path / "pairs.txt.gz", sep="\t")
    frame.to_parquet(tmp_path / "pairs.parquet")
    parquet = read_qtl_sumstats(tmp_path / "pairs.parquet")
    pd.testing.assert_frame_equal(parquet.table, t)
    only = read_qtl_sumstats(tmp_path / "pairs.parquet", phenotypes=["G2", "G9"])
    assert only.table.empty  # G2's one row has no standard error
    with pytest.raises(InputFileError, match="none of the phenotypes"):
        read_qtl_sumstats(tmp_path / "pairs.parquet", phenotypes=["G9"])


def test_phenotype_filter_reads_text_in_chunks_and_keeps_line_numbers(tmp_path):
    from qtlatlas.io.gwas_text import read_text_table

    rows = "".join(f"G{k % 3}\tchr1_{100 + k}_A_G\t0\t0.2\t1\t1\t0.5\t0.1\t{'oops' if k == 7 else '0.05'}\n"
                   for k in range(10))
    path = write_text(tmp_path / "p.txt", TENSORQTL.splitlines(keepends=True)[0] + rows)
    frame, lines = read_text_table(str(path), "\t", keep=(("phenotype_id",), {"G1"}), chunk_rows=2)
    assert frame["variant_id"].tolist() == ["chr1_101_A_G", "chr1_104_A_G", "chr1_107_A_G"]
    assert lines.tolist() == [3, 6, 9]
    assert len(read_qtl_sumstats(path, phenotypes=["G0", "G2"]).table) == 7  # G1's bad value is not read
    with pytest.raises(InputFileError, match="slope_se: 'oops'") as err:
        read_qtl_sumstats(path, phenotypes=["G1"])
    assert err.value.line == 9


def test_tensorqtl_rsid_variant_ids_have_no_positions(tmp_path):
    text = TENSORQTL.replace("chr1_100_A_G_b38", "rs10").replace("chr1_200_C_T_b38", "rs20")
    qtl = read_qtl_sumstats(write_text(tmp_path / "p.txt", text))
    assert not qtl.has_positions and qtl.table["pos"].tolist() == [0, 0]


EQTL_CATALOGUE = ("molecular_trait_id\tchromosome\tposition\tref\talt\tvariant\tma_samples\tmaf\tpvalue\tbeta\tse\t"
                  "type\tac\tan\trsid\n"
                  "ENSG1\t5\t100\tG\tC\tchr5_100_G_C\t45\t0.08\t0.2\t0.02\t0.02\tSNP\t49\t576\trs1\n"
                  "ENSG1\t5\t100\tG\tC\tchr5_100_G_C\t45\t0.08\t0.2\t0.02\t0.02\tSNP\t49\t576\trs1b\n"
                  "ENSG1\t5\t150\tT\tTA\tchr5_150_T_TA\t45\t0.3\t0.2\t0.02\t0.02\tINDEL\t170\t576\trs2\n")


def test_eqtl_catalogue_rsid_repeats_and_sample_size(tmp_path):
    qtl = read_qtl_sumstats(write_text(tmp_path / "e.tsv", EQTL_CATALOGUE))
    assert qtl.layout == "eqtl_catalogue" and qtl.n_problem is None
    assert qtl.table["pos"].tolist() == [100, 150] and qtl.table["rsid"].tolist() == ["rs1", "rs2"]
    assert qtl.table["n"].tolist() == [288, 288]
    assert qtl.dropped == {"repeated phenotype × variant (e.g. one row per rsID)": 1}
    swapped = EQTL_CATALOGUE.replace("\t49\t576\t", "\t576\t49\t")
    assert "ac exceeds the allele number an (line 2" in read_qtl_sumstats(write_text(tmp_path / "s.tsv", swapped)).n_problem
    bad = write_text(tmp_path / "b.tsv", EQTL_CATALOGUE.replace("0.02\tSNP\t49", "0.02x\tSNP\t49", 1))
    with pytest.raises(InputFileError, match="se: '0.02x' is not a number") as err:
        read_qtl_sumstats(bad)
    assert err.value.line == 2
    with pytest.raises(InputFileError, match="neither tensorQTL"):
        read_qtl_sumstats(write_text(tmp_path / "x.tsv", "gene\tsnp\tbeta\nA\trs1\t0.1\n"))


# ------------------------------------------------------------------------------------------------------------
# matching by position and alleles; genome builds
# ------------------------------------------------------------------------------------------------------------


def _gwas(rows: list[tuple], path: str = "gwas.tsv", **kw) -> GwasSumstats:
    frame = pd.DataFrame(rows, columns=["chrom", "pos", "variant_id", "other_allele", "effect_allele", "beta", "se"])
    table, _ = finish_table(path, frame.assign(line=np.arange(2, len(frame) + 2)))
    return GwasSumstats(table=table, path=path, format="ssf", trait="t", has_positions=True, has_beta=True, **kw)


def _variants(rows: list[tuple]) -> pd.DataFrame:
    v = pd.DataFrame(rows, columns=["chrom", "pos", "ref", "alt"])
    return v.assign(variant_id=[f"chr{c}_{p}_{r}_{a}" for c, p, r, a in rows], rsid="")


def test_matching_by_position_and_alleles():
    variants = _variants([("1", 10, "A", "G"), ("1", 20, "A", "G"), ("1", 30, "A", "G"), ("1", 40, "A", "T"),
                          ("1", 50, "A", "G"), ("1", 60, "C", "T"), ("1", 60, "C", "A"), ("1", 70, "G", "A"),
                          ("1", 80, "A", "G")])
    gwas = _gwas([("chr1", 10, "", "A", "G", 0.1, 0.1),   # same orientation
                  ("1", 20, "", "G", "A", 0.1, 0.1),      # swapped: sign −1
                  ("1", 30, "", "T", "C", 0.1, 0.1),      # other strand, same orientation
                  ("1", 40, "", "T", "A", 0.1, 0.1),      # A/T swapped literally: ambiguous, kept
                  ("1", 50, "", "A", "C", 0.1, 0.1),      # alleles disagree
                  ("1", 60, "", "C", "A", 0.1, 0.1),      # multi-allelic site: matches the C/A variant only
                  ("1", 70, "", "T", "C", 0.1, 0.1),      # other strand and swapped: sign −1
                  ("2", 80, "", "A", "G", 0.1, 0.1)])     # other chromosome
    m = match_variants(gwas, variants)
    assert m.by == "position"
    assert m.gwas_row.tolist() == [0, 1, 2, 3, -1, -1, 5, 6, -1]
    assert m.sign.tolist() == [1, -1, 1, -1, 0, 0, 1, -1, 0]
    assert m.ambiguous.tolist() == [False, False, False, True, False, False, False, False, False]
    assert m.strand.tolist() == [False, False, True, False, False, False, False, True, False]
    assert m.n_allele_mismatch == 2  # chr1:50, and chr1:60 C/T (its position holds only C/A)
    assert "6 of 9 QTL variants matched" in m.summary()


def test_matching_by_rsid_when_a_file_has_no_positions():
    variants = _variants([("1", 10, "A", "G"), ("1", 20, "C", "T")]).assign(rsid=["rs1", "rs2"])
    gwas = _gwas([("", 0, "rs2", "T", "C", 0.1, 0.1)])
    gwas.has_positions = False
    m = match_variants(gwas, variants)
    assert m.by == "id" and m.gwas_row.tolist() == [-1, 0] and m.sign.tolist() == [0, -1]
    with pytest.raises(ConfigError, match="position matching needs"):
        match_variants(gwas, variants, by="position")


def _dense(n: int, seed: int = 0) -> tuple[pd.DataFrame, list[tuple]]:
    rng = np.random.default_rng(seed)
    pos = np.sort(rng.choice(np.arange(1_000, 2_000_000), n, replace=False))
    alleles = [("A", "G"), ("C", "T"), ("G", "T"), ("A", "C")]
    picks = rng.integers(0, 4, n)
    variants = _variants([("5", int(p), *alleles[k]) for p, k in zip(pos, picks, strict=True)])
    gwas_rows = [("5", int(p), f"rs{i}", *alleles[k], 0.1, 0.05) for i, (p, k) in enumerate(zip(pos, picks,
                                                                                                strict=True))]
    return variants, gwas_rows


def test_build_mismatch_few_positions_in_common():
    variants, rows = _dense(400)
    assert match_variants(_gwas(rows), variants).n_matched == 400
    shifted = [(c, p + 137, i, a, b, be, se) for c, p, i, a, b, be, se in rows]
    with pytest.raises(InputFileError, match=r"few variants match .* by position: \d of the .*same genome build") as e:
        match_variants(_gwas(shifted, path="lifted.tsv"), variants)
    assert e.value.path == "lifted.tsv"


def test_build_mismatch_rsids_at_other_positions():
    variants, rows = _dense(400)
    variants = variants.assign(rsid=[f"rs{i}" for i in range(len(variants))])
    moved = [(c, p + 52_000, i, a, b, be, se) for c, p, i, a, b, be, se in rows]
    with pytest.raises(InputFileError, match=r"positions are off: 400 of the 400 variants sharing an rsID .* "
                                             r"\(median shift 52,000 bp\)"):
        match_variants(_gwas(moved), variants)


def test_build_mismatch_alleles_disagree_and_no_chromosome_in_common():
    variants, rows = _dense(400)
    disagreeing = {("A", "G"): ("A", "C"), ("C", "T"): ("C", "A"), ("G", "T"): ("G", "A"), ("A", "C"): ("A", "G")}
    other_alleles = [(c, p, i, *disagreeing[(a, b)], be, se) for c, p, i, a, b, be, se in rows]
    with pytest.raises(InputFileError, match="alleles disagree"):
        match_variants(_gwas(other_alleles), variants)
    assert match_variants(_gwas(other_alleles[:60] + rows[60:]), variants).n_matched == 340
    elsewhere = [("7", p, i, a, b, be, se) for _, p, i, a, b, be, se in rows]
    with pytest.raises(InputFileError, match=r"shares no chromosome .*GWAS: 7; QTL: 5"):
        match_variants(_gwas(elsewhere), variants)


def test_unique_variants_maps_every_row():
    qtl = pd.DataFrame({"chrom": ["1", "1", "1"], "pos": [10, 20, 10], "ref": ["A", "C", "A"], "alt": ["G", "T", "G"],
                        "variant_id": ["v1", "v2", "v1"], "rsid": ["", "", ""]})
    variants, of_row = unique_variants(qtl)
    assert variants["variant_id"].tolist() == ["v1", "v2"] and of_row.tolist() == [0, 1, 0]


@pytest.mark.shared
def test_gtex_allpairs_from_fastqtl(shared):
    """GTEx v8 allpairs (FastQTL): gene_id and maf columns, "-nan" standard errors for monomorphic variants."""
    path = shared / "data" / "gtex-v8-fastqtl-2tissue-example" / "Tissue_1.fastqtl.gz"
    raw = pd.read_csv(path, sep="\t", na_values=["-nan", "nan"])
    qtl = read_qtl_sumstats(path)
    assert qtl.layout == "tensorqtl" and qtl.has_positions
    usable = raw["slope_se"].notna() & (raw["slope_se"] > 0)
    assert len(qtl.table) == int(usable.sum())
    first = raw.loc[usable].iloc[0]
    chrom, pos, ref, alt, _ = first["variant_id"].split("_")
    row = qtl.table.iloc[0]
    assert (row["chrom"], row["pos"], row["ref"], row["alt"]) == (chrom[3:], int(pos), ref, alt)
    common = raw.loc[usable & (raw["maf"] >= 0.05)]
    assert qtl.n_inferred == round(float(np.median(common["ma_count"] / (2 * common["maf"]))))
