import pytest
from conftest import write_text

from qtlatlas.errors import InputFileError
from qtlatlas.io.groups import check_groups_cover, read_groups
from qtlatlas.io.gtf import read_gtf
from qtlatlas.io.sumstats import read_sumstats

GTF = (
    'chr1\tt\tgene\t100\t500\t.\t+\t.\tgene_id "G1"; gene_name "Abc1"; gene_type "protein_coding";\n'
    'chr1\tt\ttranscript\t100\t500\t.\t+\t.\tgene_id "G1"; transcript_id "T1";\n'
    'chr1\tt\texon\t100\t200\t.\t+\t.\tgene_id "G1"; transcript_id "T1"; exon_number "1";\n'
    'chr1\tt\texon\t400\t500\t.\t+\t.\tgene_id "G1"; transcript_id "T1"; exon_number "2";\n'
    'chr2\tt\tgene\t1000\t3000\t.\t-\t.\tgene_id "G2"; gene_biotype "lncRNA";\n'
    'chr2\tt\texon\t1000\t1200\t.\t-\t.\tgene_id "G2"; transcript_id "T2";\n'
    'chr2\tt\texon\t2800\t3000\t.\t-\t.\tgene_id "G2"; transcript_id "T2";\n'
)


def test_gtf_genes_transcripts_exons(tmp_path):
    a = read_gtf(write_text(tmp_path / "g.gtf.gz", "#!comment\n" + GTF, gz=True))
    g = a.genes.set_index("gene_id")
    assert g.loc["G1", "tss"] == 100 and g.loc["G2", "tss"] == 3000  # strand-aware
    assert g.loc["G1", "gene_name"] == "Abc1" and g.loc["G2", "gene_name"] == "G2"
    assert g.loc["G2", "gene_type"] == "lncRNA"
    assert set(a.transcripts["transcript_id"]) == {"T1", "T2"}
    t2 = a.exons[a.exons["transcript_id"] == "T2"].set_index("start")
    assert t2.loc[2800, "exon_number"] == 1 and t2.loc[1000, "exon_number"] == 2  # numbered along the minus strand


def test_gtf_genes_derived_from_exons(tmp_path):
    text = "".join(line + "\n" for line in GTF.splitlines() if "\texon\t" in line)
    g = read_gtf(write_text(tmp_path / "e.gtf", text)).genes.set_index("gene_id")
    assert (g.loc["G1", "start"], g.loc["G1", "end"], g.loc["G2", "tss"]) == (100, 500, 3000)


@pytest.mark.shared
def test_real_gencode(shared):
    a = read_gtf(shared / "data" / "geuvadis-chr22-qtltools" / "gencode.v19.annotation.chr22.gtf.gz")
    g = a.genes.set_index("gene_id")
    assert len(g) == 1206
    assert g.loc["ENSG00000215270.3", "tss"] == 16122720  # the BED end of this gene in GEUVADIS


def test_gtf_errors(tmp_path):
    with pytest.raises(InputFileError, match="not found"):
        read_gtf(tmp_path / "x.gtf")
    with pytest.raises(InputFileError, match="strand"):
        read_gtf(write_text(tmp_path / "s.gtf", GTF.replace("\t+\t", "\t?\t", 1)))
    with pytest.raises(InputFileError, match="is not an integer"):
        read_gtf(write_text(tmp_path / "i.gtf", GTF.replace("\t100\t500", "\tabc\t500", 1)))
    with pytest.raises(InputFileError, match="no gene_id"):
        read_gtf(write_text(tmp_path / "n.gtf", GTF.replace('gene_id "G1"; gene_name', 'gene_name', 1)))


def test_groups(tmp_path):
    g = read_groups(write_text(tmp_path / "g.txt", "G1__a\tG1\nG1__b\tG1\nG2__a\tG2\n"))
    assert g.to_dict() == {"G1__a": "G1", "G1__b": "G1", "G2__a": "G2"}
    check_groups_cover(g, ["G1__a", "G2__a"], groups_path="g.txt", bed_path="b.bed")
    with pytest.raises(InputFileError, match=r"g\.txt: 1 phenotype\(s\) of b\.bed have no group: G3__x"):
        check_groups_cover(g, ["G1__a", "G3__x"], groups_path="g.txt", bed_path="b.bed")


def test_group_errors(tmp_path):
    with pytest.raises(InputFileError, match=r"d\.txt:3: phenotype 'a' listed twice \(also line 1\)"):
        read_groups(write_text(tmp_path / "d.txt", "a\tG\nb\tG\na\tH\n"))
    with pytest.raises(InputFileError, match="expected 2 tab-separated columns"):
        read_groups(write_text(tmp_path / "c.txt", "a\tG\tx\n"))


def test_sumstats(tmp_path):
    p = write_text(tmp_path / "s.tsv", "SNP\tA1\tA2\tBETA\tSE\nrs1\ta\tg\t0.2\t0.1\nrs2\tC\tT\tNA\t0.1\n")
    s = read_sumstats(p)
    assert s["SNP"].tolist() == ["rs1"] and s["A1"].tolist() == ["A"]
    assert s["Z"].tolist() == pytest.approx([2.0]) and s.attrs["dropped_na"] == 1
    with pytest.raises(InputFileError, match=r"missing column\(s\) A2"):
        read_sumstats(write_text(tmp_path / "m.tsv", "SNP\tA1\tZ\nrs1\tA\t1\n"))
    with pytest.raises(InputFileError, match=r"b\.tsv:3: column Z: non-numeric value 'x'"):
        read_sumstats(write_text(tmp_path / "b.tsv", "SNP A1 A2 Z\nrs1 A G 1\nrs2 A G x\n"))
