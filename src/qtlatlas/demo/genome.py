"""Synthetic genome: chromosomes, genes on both strands with 1–4 transcripts each, and the GTF writer.

Coordinates are 1-based and closed, on the first release's build; writers add a per-chromosome offset
to produce the lifted-over coordinates of later releases.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..io.chromosomes import chrom_sort_key

_FAMILIES = ("Slc", "Cyp", "Tmem", "Zfp", "Abcb", "Kcnj", "Fam", "Ccdc", "Atp", "Gpr", "Rnf", "Ppp", "Nat",
             "Lrrc", "Sema", "Wdr")

Exon = tuple[int, int]


@dataclass(frozen=True)
class Transcript:
    """A transcript: id and exons as (start, end), 1-based closed, ascending genomic order."""

    transcript_id: str
    exons: tuple[Exon, ...]

    @property
    def start(self) -> int:
        return self.exons[0][0]

    @property
    def end(self) -> int:
        return self.exons[-1][1]

    def five_prime(self, strand: str) -> int:
        """Transcription start site (bp)."""
        return self.start if strand == "+" else self.end

    def three_prime(self, strand: str) -> int:
        """Polyadenylation site (bp)."""
        return self.end if strand == "+" else self.start

    def introns(self) -> list[Exon]:
        """Introns as (first, last) intronic base, ascending."""
        return [(a[1] + 1, b[0] - 1) for a, b in zip(self.exons[:-1], self.exons[1:], strict=True)]

    @property
    def exonic_length(self) -> int:
        return sum(e - s + 1 for s, e in self.exons)


@dataclass(frozen=True)
class Gene:
    """A gene; ``transcripts[0]`` is the canonical transcript."""

    gene_id: str
    gene_name: str
    gene_type: str
    chrom: str
    strand: str
    transcripts: tuple[Transcript, ...]

    @property
    def start(self) -> int:
        return min(t.start for t in self.transcripts)

    @property
    def end(self) -> int:
        return max(t.end for t in self.transcripts)

    @property
    def tss(self) -> int:
        """Gene TSS (bp): the most upstream transcript start on the gene's strand."""
        return self.start if self.strand == "+" else self.end

    @property
    def length_kb(self) -> float:
        """Exonic length of the canonical transcript, kb (used to turn counts into TPM)."""
        return self.transcripts[0].exonic_length / 1000.0


@dataclass(frozen=True)
class Genome:
    """Chromosome names and lengths (bp) and the genes, sorted by chromosome then start."""

    chroms: tuple[str, ...]
    lengths: dict[str, int]
    genes: tuple[Gene, ...]

    def gene_index(self) -> dict[str, int]:
        return {g.gene_id: i for i, g in enumerate(self.genes)}

    def tss_array(self) -> np.ndarray:
        """(n_genes,) int64 TSS positions, first-release coordinates."""
        return np.array([g.tss for g in self.genes], dtype=np.int64)


# --------------------------------------------------------------------------------------------------
# Simulation
# --------------------------------------------------------------------------------------------------


def _canonical_exons(rng: np.random.Generator, gene_len: int) -> list[Exon]:
    """Exons of the canonical transcript in relative coordinates (0 = its start), transcription order."""
    n_ex = int(np.clip(2 + rng.poisson(4), 2, 14))
    lengths = [int(rng.integers(100, 400))]
    lengths += [int(rng.integers(60, 250)) for _ in range(n_ex - 2)]
    lengths += [int(rng.integers(400, 2500))]
    exonic = sum(lengths)
    gene_len = max(gene_len, int(exonic / 0.5))
    intronic = gene_len - exonic
    n_int = n_ex - 1
    introns = 80 + np.floor(rng.dirichlet(np.full(n_int, 1.5)) * (intronic - 80 * n_int)).astype(int)
    exons, pos = [], 0
    for i, ln in enumerate(lengths):
        exons.append((pos, pos + ln - 1))
        pos += ln + (int(introns[i]) if i < n_int else 0)
    return exons


def _alternative(rng: np.random.Generator, exons: list[Exon], kind: str) -> list[Exon] | None:
    """Apply one alternative-isoform change to relative exons, or return None if it does not apply."""
    ex = list(exons)
    if kind == "alt_first" and len(ex) >= 2:
        lo, hi = ex[0][1] + 200, ex[1][0] - 400
        if hi - lo < 200:
            return None
        s = int(rng.integers(lo, hi))
        return [(s, s + int(rng.integers(100, 300)))] + ex[1:]
    if kind == "upstream_first":
        gap, ln = int(rng.integers(2000, 8000)), int(rng.integers(100, 300))
        s = ex[0][0] - gap - ln
        return [(s, s + ln - 1)] + ex
    if kind == "skip" and len(ex) >= 3:
        i = int(rng.integers(1, len(ex) - 1))
        return ex[:i] + ex[i + 1:]
    if kind == "short_last":
        s, e = ex[-1]
        if e - s < 600:
            return None
        return ex[:-1] + [(s, s + int(rng.integers(150, e - s - 200)))]
    if kind == "long_last":
        s, e = ex[-1]
        return ex[:-1] + [(s, e + int(rng.integers(300, 2000)))]
    return None


_KINDS = ("alt_first", "upstream_first", "skip", "short_last", "long_last")


def _transcript_structures(rng: np.random.Generator, max_len: int) -> list[list[Exon]]:
    """1–4 distinct transcripts (relative coordinates, transcription order, min start = 0)."""
    gene_len = int(np.clip(rng.lognormal(np.log(20_000), 0.8), 3_000, max(3_000, max_len - 12_000)))
    canonical = _canonical_exons(rng, gene_len)
    n_tx = int(rng.choice([1, 2, 3, 4], p=[0.3, 0.3, 0.25, 0.15]))
    structures = [canonical]
    for _ in range(n_tx - 1):
        for _attempt in range(10):
            kinds = rng.choice(len(_KINDS), size=int(rng.integers(1, 3)), replace=False)
            ex: list[Exon] | None = canonical
            for k in sorted(kinds):
                ex = _alternative(rng, ex, _KINDS[k]) if ex is not None else None
            if ex is not None and ex not in structures:
                structures.append(ex)
                break
    shift = min(e[0][0] for e in structures)
    return [[(s - shift, e - shift) for s, e in ex] for ex in structures]


def _gene_name(rng: np.random.Generator, used: set[str], lnc: bool) -> str:
    while True:
        if lnc:
            name = f"LOC{int(rng.integers(100_000, 999_999))}"
        else:
            fam = _FAMILIES[int(rng.integers(len(_FAMILIES)))]
            name = f"{fam}{int(rng.integers(1, 60))}" + ("" if rng.random() < 0.6 else "abcd"[int(rng.integers(4))])
        if name not in used:
            used.add(name)
            return name


def simulate_genome(n_chromosomes: int, chrom_length: int, genes_per_chrom: int,
                    rng: np.random.Generator) -> Genome:
    """Chromosomes ``chr1``… of ``chrom_length`` bp with ``genes_per_chrom`` non-overlapping genes each.

    Genes sit one per equal-width cell (away from the chromosome ends), on a random strand, 85%
    ``protein_coding`` and 15% ``lncRNA``, with 1–4 transcripts built from a canonical one by alternative
    first exons, skipped exons and alternative last exons.
    """
    chroms = tuple(f"chr{i + 1}" for i in range(n_chromosomes))
    margin = min(300_000, chrom_length // 20)
    cell = (chrom_length - 2 * margin) / genes_per_chrom
    genes: list[Gene] = []
    used: set[str] = set()
    n_tx = 0
    for chrom in chroms:
        for i in range(genes_per_chrom):
            structures = _transcript_structures(rng, int(0.6 * cell))
            span = max(e[-1][1] for e in structures) + 1
            c0 = margin + i * cell
            b0 = int(c0 + rng.uniform(0.05, 0.95) * max(cell - span, 0)) + 1
            b1 = b0 + span - 1
            strand = "+" if rng.random() < 0.5 else "-"
            lnc = rng.random() < 0.15
            gid = f"ENSDEMG{len(genes) + 1:011d}"
            transcripts = []
            for ex in structures:
                n_tx += 1
                if strand == "+":
                    absolute = [(b0 + s, b0 + e) for s, e in ex]
                else:
                    absolute = sorted((b1 - e, b1 - s) for s, e in ex)
                transcripts.append(Transcript(f"ENSDEMT{n_tx:011d}", tuple(absolute)))
            genes.append(Gene(gid, _gene_name(rng, used, lnc), "lncRNA" if lnc else "protein_coding",
                              chrom, strand, tuple(transcripts)))
    lengths = dict.fromkeys(chroms, chrom_length)
    genes.sort(key=lambda g: (chrom_sort_key(g.chrom), g.start))
    return Genome(chroms, lengths, tuple(genes))


# --------------------------------------------------------------------------------------------------
# GTF
# --------------------------------------------------------------------------------------------------


def gtf_text(genome: Genome, offsets: dict[str, int]) -> str:
    """GENCODE-like GTF (gene, transcript and exon features), coordinates shifted by ``offsets[chrom]``.

    Exons are numbered and listed in transcription order, as GENCODE does.
    """
    lines = ["##description: qtlatlas demo annotation (synthetic, fictional genes)",
             "##provider: qtlatlas.demo", "##format: gtf"]
    for g in genome.genes:
        off = offsets[g.chrom]
        gattr = f'gene_id "{g.gene_id}"; gene_type "{g.gene_type}"; gene_name "{g.gene_name}";'
        lines.append(f"{g.chrom}\tDEMO\tgene\t{g.start + off}\t{g.end + off}\t.\t{g.strand}\t.\t{gattr}")
        for k, t in enumerate(g.transcripts):
            tattr = (f'{gattr} transcript_id "{t.transcript_id}"; transcript_type "{g.gene_type}"; '
                     f'transcript_name "{g.gene_name}-{201 + k}";')
            lines.append(f"{g.chrom}\tDEMO\ttranscript\t{t.start + off}\t{t.end + off}\t.\t{g.strand}\t.\t{tattr}")
            exons = t.exons if g.strand == "+" else tuple(reversed(t.exons))
            for n, (s, e) in enumerate(exons, start=1):
                eattr = f'{tattr} exon_number {n}; exon_id "{t.transcript_id}.{n}";'
                lines.append(f"{g.chrom}\tDEMO\texon\t{s + off}\t{e + off}\t.\t{g.strand}\t.\t{eattr}")
    return "\n".join(lines) + "\n"
