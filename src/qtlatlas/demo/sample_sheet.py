"""The demo's sample sheets and the sample problems it plants for quality control to find.

Every release gets ``samples.tsv`` (one row per RNA sample: ``sample_id``, ``individual_id``, ``tissue``,
``accession``, ``fastq``, ``batch``, ``rin``) and ``individuals.tsv`` (``individual_id``, ``sex``, ``batch``,
``birth_cohort``) in the layout atlas.yaml's ``samples``/``individuals`` keys describe. A sample's id is its
library's (``<individual>.<tissue>``); the phenotype BEDs name their columns by individual, as mapping needs.

Planted problems (:class:`SamplePlants`), which ``qtlatlas validate --qc`` must find and nothing else:

* **a sample swap**: in one tissue the BED columns of two individuals of the same sex hold each other's RNA
  (the genotype–phenotype identity check flags both samples, each matching the other individual);
* **a sex mislabel**: one individual is declared in ``individuals.tsv`` with the other sex (the expression of
  the sex marker genes flags it).

The sex markers are expressed by sex as in mammals: ``Xist`` in females; ``Ddx3y``, ``Kdm5d``, ``Uty`` and
``Eif2s3y`` (Y chromosome) in males. They sit on ``chrX`` and ``chrY``, which the demo genotypes do not cover
(as many QTL studies leave the sex chromosomes out), so they are measured but not mapped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .genome import Gene, Transcript
from .samples import SampleDesign

#: (gene name, chromosome, start, strand, exonic length in bp, log2 TPM in the expressing sex, expressing sex)
MARKERS: tuple[tuple[str, str, int, str, int, float, str], ...] = (
    ("Xist", "chrX", 1_210_000, "-", 17_900, 6.5, "female"),
    ("Ddx3y", "chrY", 410_000, "-", 4_300, 4.2, "male"),
    ("Eif2s3y", "chrY", 880_000, "+", 3_600, 4.6, "male"),
    ("Kdm5d", "chrY", 1_350_000, "+", 6_100, 3.8, "male"),
    ("Uty", "chrY", 1_900_000, "-", 5_200, 3.5, "male"),
)
FEMALE_MARKERS = tuple(m[0] for m in MARKERS if m[6] == "female")
MALE_MARKERS = tuple(m[0] for m in MARKERS if m[6] == "male")

#: log2 TPM of a marker in the sex that does not express it (a few stray reads).
_SILENT_LOG2_TPM = -5.0


@dataclass(frozen=True)
class SamplePlants:
    """What the demo plants: ``swap_tissue`` and the two individuals whose RNA of that tissue is exchanged
    (``swapped``), and the individual declared with the wrong sex (``sex_flip``)."""

    swap_tissue: str
    swapped: tuple[str, str]
    sex_flip: str


def plant_sample_problems(design: SampleDesign, tissues: list[str], rng: np.random.Generator) -> SamplePlants:
    """Choose a tissue, two individuals of one sex sampled there, and one other individual sampled in every
    tissue (so its sex is seen in each of them)."""
    tissue = tissues[min(1, len(tissues) - 1)]
    idx = design.samples[tissue]
    sex = design.sex[idx]
    same = idx[sex == sex[0]] if (sex == sex[0]).sum() >= 2 else idx
    a, b = rng.choice(same, size=2, replace=False)
    everywhere = set(range(len(design.individual_ids)))
    for t in tissues:
        everywhere &= set(design.samples[t].tolist())
    candidates = sorted(everywhere - {int(a), int(b)}) or sorted(set(range(len(design.individual_ids))) - {a, b})
    flip = int(rng.choice(candidates))
    ids = design.individual_ids
    return SamplePlants(tissue, (ids[int(a)], ids[int(b)]), ids[flip])


def bed_columns(design: SampleDesign, tissue: str, plants: SamplePlants | None) -> list[str]:
    """The BED column names of ``tissue``'s samples: individual ids, with the planted swap applied."""
    names = design.sample_ids(tissue)
    if plants is not None and tissue == plants.swap_tissue:
        a, b = plants.swapped
        names = [b if s == a else a if s == b else s for s in names]
    return names


def marker_genes(n_genes: int, n_transcripts: int) -> list[Gene]:
    """The marker genes (ids continuing the genome's numbering: ``n_genes`` genes and ``n_transcripts``
    transcripts already), one two-exon transcript each."""
    genes = []
    for k, (name, chrom, start, strand, length, _level, _sex) in enumerate(MARKERS):
        first = length // 3
        exons = ((start, start + first - 1), (start + first + 5_000, start + length + 4_999))
        transcript = Transcript(f"ENSDEMT{n_transcripts + k + 1:011d}", exons)
        genes.append(Gene(f"ENSDEMG{n_genes + k + 1:011d}", name, "protein_coding", chrom, strand, (transcript,)))
    return genes


def marker_gtf(genes: list[Gene]) -> str:
    """GTF lines (gene, transcript, exon) of the marker genes, in the demo annotation's style."""
    lines = []
    for g in genes:
        gattr = f'gene_id "{g.gene_id}"; gene_type "{g.gene_type}"; gene_name "{g.gene_name}";'
        lines.append(f"{g.chrom}\tDEMO\tgene\t{g.start}\t{g.end}\t.\t{g.strand}\t.\t{gattr}")
        for t in g.transcripts:
            tattr = f'{gattr} transcript_id "{t.transcript_id}"; transcript_type "{g.gene_type}";'
            lines.append(f"{g.chrom}\tDEMO\ttranscript\t{t.start}\t{t.end}\t.\t{g.strand}\t.\t{tattr}")
            exons = t.exons if g.strand == "+" else tuple(reversed(t.exons))
            for n, (s, e) in enumerate(exons, start=1):
                lines.append(f"{g.chrom}\tDEMO\texon\t{s}\t{e}\t.\t{g.strand}\t.\t{tattr} exon_number {n};")
    return "\n".join(lines) + "\n"


def marker_values(design: SampleDesign, tissue: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(TPM, log2(count + 1)), each (n_markers, n_samples of ``tissue``), by each sample's true sex: read
    counts ~ Poisson(TPM × length kb × depth), TPM = counts / (length kb × depth) as for the other genes."""
    idx = design.samples[tissue]
    female = design.sex[idx] == 1
    depth = design.depth[tissue]
    tpm, log2_counts = [], []
    for _name, _chrom, _start, _strand, length, level, sex in MARKERS:
        on = female if sex == "female" else ~female
        log2_tpm = np.where(on, level + rng.normal(0.0, 0.45, len(idx)), _SILENT_LOG2_TPM)
        counts = rng.poisson(np.exp2(log2_tpm) * length / 1000 * depth)
        tpm.append(counts / (length / 1000 * depth))
        log2_counts.append(np.log2(counts + 1.0))
    return np.array(tpm), np.array(log2_counts)


def marker_bed_rows(genes: list[Gene], values: np.ndarray, fmt: str) -> list[str]:
    """BED rows (``chrom start end phenotype_id values…``) of the marker genes at their TSS."""
    rows = []
    for g, row in zip(genes, values, strict=True):
        cells = "\t".join("NA" if np.isnan(x) else fmt % x for x in row)
        rows.append(f"{g.chrom}\t{g.tss - 1}\t{g.tss}\t{g.gene_id}\t{cells}")
    return rows


def sample_sheet(design: SampleDesign, tissues: tuple[str, ...], rng: np.random.Generator) -> str:
    """``samples.tsv`` text of the tissues of a release (library ids ``<individual>.<tissue>``; accessions and
    FASTQ names are fictional)."""
    lines = ["\t".join(["sample_id", "individual_id", "tissue", "accession", "fastq", "batch", "rin"])]
    run = 0
    for t in tissues:
        for i, b in zip(design.samples[t], design.batch[t], strict=True):
            run += 1
            ind = design.individual_ids[int(i)]
            sid = f"{ind}.{t}"
            fastq = f"{sid}_R1.fastq.gz;{sid}_R2.fastq.gz"
            rin = float(np.clip(rng.normal(8.2, 0.6), 5.5, 10.0))
            lines.append("\t".join([sid, ind, t, f"DEMORUN{run:06d}", fastq, f"lib{int(b) + 1}", f"{rin:.1f}"]))
    return "\n".join(lines) + "\n"


def individual_sheet(design: SampleDesign, plants: SamplePlants) -> str:
    """``individuals.tsv`` text: declared sex (the planted mislabel included), genotyping batch, cohort."""
    lines = ["\t".join(["individual_id", "sex", "batch", "birth_cohort"])]
    for i, ind in enumerate(design.individual_ids):
        female = bool(design.sex[i] == 1)
        if ind == plants.sex_flip:
            female = not female
        lines.append("\t".join([ind, "female" if female else "male", f"geno{1 + i % 3}", f"C{2019 + i % 4}"]))
    return "\n".join(lines) + "\n"
