"""Molecular phenotypes of each modality, with Pantry-style ids.

=============  ==========================================  =============================================
modality       one phenotype per                          id
=============  ==========================================  =============================================
expression     gene                                        ``GENEID``
isoforms       transcript of a gene with >= 2 transcripts  ``GENEID__TRANSCRIPTID``
splicing       intron of a cluster (>= 2 overlapping        ``GENEID__chr1:START:END:clu_N``
               introns, annotated or novel junctions)
alt_TSS        distinct transcript start (>= 2 per gene)   ``GENEID__TSS_k`` (k from 5' to 3')
alt_polyA      distinct transcript end (>= 2 per gene)     ``GENEID__PAS_k`` (k from 5' to 3')
stability      gene                                        ``GENEID``
=============  ==========================================  =============================================

Ratios of grouped modalities sum to one within a *unit*: the gene (isoforms, alt_TSS, alt_polyA) or the
splicing cluster. Features of a unit are contiguous.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .genome import Gene, Genome

MODALITIES: tuple[str, ...] = ("expression", "isoforms", "splicing", "alt_TSS", "alt_polyA", "stability")
GROUPED: frozenset[str] = frozenset({"isoforms", "splicing", "alt_TSS", "alt_polyA"})


@dataclass(frozen=True)
class FeatureSet:
    """The phenotypes of one modality: ``gene`` (n_f,) gene index, ``unit`` (n_f,) softmax unit index
    (contiguous, non-decreasing), ``suffix`` (n_f,) id suffix after ``GENEID__`` (None: the gene id
    alone), ``intron`` (n_f,) (start, end, cluster number) for splicing, else None."""

    modality: str
    gene: np.ndarray
    unit: np.ndarray
    suffix: tuple[str | None, ...]
    intron: tuple[tuple[int, int, int] | None, ...]

    def __len__(self) -> int:
        return len(self.gene)

    @property
    def grouped(self) -> bool:
        return self.modality in GROUPED

    def unit_starts(self) -> np.ndarray:
        """(n_units,) first feature index of each unit."""
        return np.flatnonzero(np.diff(self.unit, prepend=-1))

    def phenotype_ids(self, genome: Genome, offsets: dict[str, int]) -> list[str]:
        """Ids of every feature with coordinates (splicing) shifted by ``offsets[chrom]``."""
        ids = []
        for g, suffix, intron in zip(self.gene, self.suffix, self.intron, strict=True):
            gene = genome.genes[g]
            if intron is not None:
                off = offsets[gene.chrom]
                ids.append(f"{gene.gene_id}__{gene.chrom}:{intron[0] + off}:{intron[1] + off}:clu_{intron[2]}")
            elif suffix is None:
                ids.append(gene.gene_id)
            else:
                ids.append(f"{gene.gene_id}__{suffix}")
        return ids


def _ends(gene: Gene, five: bool) -> list[int]:
    """Distinct transcript 5' (or 3') ends ordered from 5' to 3' on the gene's strand."""
    pts = {t.five_prime(gene.strand) if five else t.three_prime(gene.strand) for t in gene.transcripts}
    return sorted(pts, reverse=gene.strand == "-")


def _clusters(introns: list[tuple[int, int]]) -> list[list[tuple[int, int]]]:
    """Connected components of overlapping introns (sorted), keeping those with >= 2 introns."""
    out: list[list[tuple[int, int]]] = []
    cur: list[tuple[int, int]] = []
    cur_end = -1
    for s, e in sorted(introns):
        if cur and s > cur_end:
            out.append(cur)
            cur = []
        cur.append((s, e))
        cur_end = max(cur_end, e) if len(cur) > 1 else e
    if cur:
        out.append(cur)
    return [c for c in out if len(c) >= 2]


def _gene_introns(gene: Gene, rng: np.random.Generator) -> list[tuple[int, int]]:
    """Annotated introns plus, for half of the genes with >= 3 exons, one novel exon-skipping junction."""
    introns = {i for t in gene.transcripts for i in t.introns()}
    exons = gene.transcripts[0].exons
    if len(exons) >= 3 and rng.random() < 0.5:
        i = int(rng.integers(1, len(exons) - 1))
        introns.add((exons[i - 1][1] + 1, exons[i + 1][0] - 1))
    return sorted(introns)


def build_features(genome: Genome, rng: np.random.Generator) -> dict[str, FeatureSet]:
    """The :class:`FeatureSet` of each of the six modalities."""
    rows: dict[str, list[tuple[int, int, str | None, tuple[int, int, int] | None]]] = {m: [] for m in MODALITIES}
    units = dict.fromkeys(MODALITIES, 0)
    cluster_no = 0

    def add(m: str, g: int, suffixes: list[str | None], introns: list | None = None) -> None:
        for k, s in enumerate(suffixes):
            rows[m].append((g, units[m], s, introns[k] if introns else None))
        units[m] += 1

    for g, gene in enumerate(genome.genes):
        add("expression", g, [None])
        add("stability", g, [None])
        if len(gene.transcripts) >= 2:
            add("isoforms", g, [t.transcript_id for t in gene.transcripts])
        tss = _ends(gene, five=True)
        if len(tss) >= 2:
            add("alt_TSS", g, [f"TSS_{k + 1}" for k in range(len(tss))])
        pas = _ends(gene, five=False)
        if len(pas) >= 2:
            add("alt_polyA", g, [f"PAS_{k + 1}" for k in range(len(pas))])
        for cluster in _clusters(_gene_introns(gene, rng)):
            cluster_no += 1
            add("splicing", g, [None] * len(cluster), [(s, e, cluster_no) for s, e in cluster])
    out = {}
    for m in MODALITIES:
        r = rows[m]
        out[m] = FeatureSet(m, np.array([x[0] for x in r], dtype=np.int64), np.array([x[1] for x in r], dtype=np.int64),
                            tuple(x[2] for x in r), tuple(x[3] for x in r))
    return out
