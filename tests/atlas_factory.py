"""A small, hand-written atlas on disk for validate/CLI tests: two genes on chr1, three samples more in
the genotypes than in the phenotypes, an expression BED and a grouped isoform BED."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from conftest import bed_text, write_text

SAMPLES = [f"S{i}" for i in range(1, 31)]
GENES = [("G1", "Gene1", 1000, "+"), ("G2", "Gene2", 50000, "-")]  # id, name, TSS, strand


def vcf_text(samples: list[str], n_variants: int = 40, seed: int = 0) -> str:
    rng = np.random.default_rng(seed)
    lines = ["##fileformat=VCFv4.2", "##contig=<ID=chr1>", '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
             "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT"] + samples)]
    for v in range(n_variants):
        gts = ["0/0", "0/1", "1/1"]
        calls = [gts[int(x)] for x in rng.integers(0, 3, len(samples))]
        lines.append("\t".join(["chr1", str(500 + v * 1500), f"rs{v + 1}", "A", "G", ".", "PASS", ".", "GT"] + calls))
    return "\n".join(lines) + "\n"


def gtf_text() -> str:
    out = []
    for gid, name, tss, strand in GENES:
        start, end = (tss, tss + 3000) if strand == "+" else (tss - 3000, tss)
        attrs = f'gene_id "{gid}"; gene_name "{name}";'
        out.append(f"chr1\tdemo\tgene\t{start}\t{end}\t.\t{strand}\t.\t{attrs}")
        for t in (1, 2):
            tattrs = f'{attrs} transcript_id "{gid}.t{t}";'
            out.append(f"chr1\tdemo\ttranscript\t{start}\t{end}\t.\t{strand}\t.\t{tattrs}")
            out.append(f"chr1\tdemo\texon\t{start}\t{start + 500 * t}\t.\t{strand}\t.\t{tattrs} exon_number \"1\";")
    return "\n".join(out) + "\n"


def make_atlas(root: Path, *, bed_samples: list[str] | None = None, extra_yaml: str = "") -> Path:
    """Write the small atlas under ``root``; returns the path of atlas.yaml."""
    rng = np.random.default_rng(1)
    samples = bed_samples or SAMPLES[:27]
    write_text(root / "genotypes.vcf", vcf_text(SAMPLES))
    write_text(root / "genes.gtf", gtf_text())
    expr = [("chr1", tss - 1, tss, gid, *np.round(rng.gamma(2, 5, len(samples)), 3)) for gid, _, tss, _ in GENES]
    write_text(root / "T1.expression.bed", bed_text(expr, samples))
    iso = [("chr1", tss - 1, tss, f"{gid}__{gid}.t{t}", *np.round(rng.uniform(0, 1, len(samples)), 3))
           for gid, _, tss, _ in GENES for t in (1, 2)]
    write_text(root / "T1.isoforms.bed", bed_text(iso, samples))
    write_text(root / "T1.isoforms.groups.txt", "".join(f"{r[3]}\t{r[3].split('__')[0]}\n" for r in iso))
    write_text(root / "gwas.tsv", "SNP\tA1\tA2\tZ\nrs1\tG\tA\t1.5\nrs2\tG\tA\t-0.3\n")
    write_text(root / "study" / "table.tsv", "a\tb\n1\t2\n")
    yaml = f"""\
atlas: {{name: Mini atlas}}
tissues:
  - {{id: T1, name: Tissue one}}
releases:
  - id: r1
    genome: build1
    annotation: genes.gtf
    genotypes: genotypes.vcf
    tissues:
      T1:
        expression: {{bed: T1.expression.bed}}
        isoforms: {{bed: T1.isoforms.bed, groups: T1.isoforms.groups.txt}}
studies:
  - id: st1
    title: A study
    files: [{{path: study/table.tsv, description: a table}}]
twas:
  traits:
    - {{id: tr1, name: Trait one, n: 1000, sumstats: gwas.tsv}}
{extra_yaml}"""
    return write_text(root / "atlas.yaml", yaml)
