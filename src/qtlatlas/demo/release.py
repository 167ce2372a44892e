"""Write the input files of one release: genotypes (VCF), annotation (GTF), and per tissue × modality
the phenotype BED, group file, counts BED and covariates, in the layout atlas.yaml refers to::

    releases/<release>/genotypes.vcf.gz(.tbi)
    releases/<release>/genes.gtf.gz
    releases/<release>/phenotypes/<tissue>.<modality>.bed.gz(.tbi)
    releases/<release>/phenotypes/<tissue>.<modality>.groups.txt      (grouped modalities)
    releases/<release>/phenotypes/<tissue>.expression.counts.bed.gz   (log2(count + 1))
    releases/<release>/covariates/<tissue>.covariates.txt             (one tissue only)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..io.chromosomes import chrom_sort_key
from .features import FeatureSet
from .files import format_rows, frame_text, write_bgzip, write_gzip, write_text
from .genome import Gene, Genome, gtf_text
from .genotypes import Variants, vcf_text
from .phenotypes import TissuePhenotypes
from .sample_sheet import marker_gtf
from .samples import SampleDesign


@dataclass(frozen=True)
class ReleaseSpec:
    """A release: id, genome label, date (ISO), notes, tissue ids, per-chromosome coordinate offsets (bp)
    and chromosome lengths of its build."""

    id: str
    genome: str
    date: str
    notes: str
    tissues: tuple[str, ...]
    offsets: dict[str, int]
    lengths: dict[str, int]

    @property
    def folder(self) -> str:
        return f"releases/{self.id}"


#: Normalisation of the demo's modalities (not the quantile default): quantile normalisation across a demo
#: tissue's 100–350 phenotypes gives a phenotype that keeps its rank among them nearly the same value in every
#: sample (expression: the most expressed genes; ratios: half the values of a typical phenotype tied), so
#: violins look striped. TMM scaling (from the read counts) and plain ranks keep every distinct value.
DEMO_NORMALIZATION = {"expression": "tmm", "isoforms": "rank", "splicing": "rank", "alt_TSS": "rank",
                      "alt_polyA": "rank", "stability": "rank"}

def write_genotypes(out: Path, spec: ReleaseSpec, variants: Variants, dosage: np.ndarray, missing: np.ndarray,
                    design: SampleDesign) -> str:
    """Write the bgzipped, tabix-indexed VCF of every individual (``dosage``/``missing`` (n, V)); returns
    its path relative to ``out``."""
    rel = f"{spec.folder}/genotypes.vcf.gz"
    text = vcf_text(variants, dosage, missing, list(design.individual_ids), spec.lengths, spec.offsets, spec.genome)
    write_bgzip(out / rel, text, preset="vcf")
    return rel


def write_annotation(out: Path, spec: ReleaseSpec, genome: Genome, markers: list[Gene]) -> str:
    """Write the gzipped GTF in the release's coordinates, the sex marker genes (chrX, chrY) last; returns
    its path relative to ``out``."""
    rel = f"{spec.folder}/genes.gtf.gz"
    write_gzip(out / rel, gtf_text(genome, spec.offsets) + marker_gtf(markers))
    return rel


@dataclass(frozen=True)
class MarkerRows:
    """A tissue's BED column names (``columns``) and the sex marker genes' BED rows: TPM (``tpm``) and
    log2(count + 1) (``log2_counts``), in those columns' order."""

    columns: list[str]
    tpm: list[str]
    log2_counts: list[str]


@dataclass(frozen=True)
class FormattedTissue:
    """The value columns of a tissue's BED rows as text, formatted once and shared by all releases:
    ``values[m][k]`` for the k-th kept feature of modality m, ``log2_counts[g]`` for gene g."""

    values: dict[str, list[str]]
    log2_counts: list[str]


def format_tissue(pheno: TissuePhenotypes) -> FormattedTissue:
    return FormattedTissue({m: format_rows(v) for m, v in pheno.values.items()},
                           format_rows(pheno.log2_counts, "%.5g"))


def _bed_order(genome: Genome, genes: np.ndarray, ids: list[str]) -> list[int]:
    """Row order of a BED: chromosome, gene TSS, phenotype id (offsets are per chromosome, so the order
    of rows is the same in every release up to the ids themselves)."""
    keys = [(chrom_sort_key(genome.genes[g].chrom), genome.genes[g].tss, pid) for g, pid in zip(genes, ids, strict=True)]
    return sorted(range(len(ids)), key=keys.__getitem__)


def _bed_text(genome: Genome, genes: np.ndarray, ids: list[str], samples: list[str], rows: list[str],
              order: list[int], offsets: dict[str, int], extra: list[str] = ()) -> str:
    """tensorQTL BED text in ``order``: ``#chr start end phenotype_id samples…`` with start = TSS − 1 and
    end = TSS of each row's gene (shifted by ``offsets``), then the ``extra`` rows (chromosomes after the
    autosomes)."""
    lines = ["\t".join(["#chr", "start", "end", "phenotype_id", *samples])]
    for k in order:
        gene = genome.genes[genes[k]]
        tss = gene.tss + offsets[gene.chrom]
        lines.append(f"{gene.chrom}\t{tss - 1}\t{tss}\t{ids[k]}\t{rows[k]}")
    return "\n".join([*lines, *extra]) + "\n"


def write_tissue(out: Path, spec: ReleaseSpec, tissue: str, genome: Genome, features: dict[str, FeatureSet],
                 pheno: TissuePhenotypes, text: FormattedTissue, design: SampleDesign,
                 covariates: bool, markers: MarkerRows) -> dict[str, dict[str, str]]:
    """Write every modality of one tissue; returns modality -> PhenotypeInput fields (relative paths).

    ``text`` is :func:`format_tissue` of ``pheno``; the sex marker genes' rows (``markers``) end the
    expression and counts BEDs; columns are named by :func:`.sample_sheet.bed_columns` (a planted swap
    included)."""
    samples = markers.columns
    base = f"{spec.folder}/phenotypes/{tissue}"
    cov_rel = None
    if covariates:
        cov_rel = f"{spec.folder}/covariates/{tissue}.covariates.txt"
        cov = pd.DataFrame([["sex", *design.sex[design.samples[tissue]].tolist()],
                            ["batch", *design.batch[tissue].tolist()]], columns=["id", *samples])
        write_text(out / cov_rel, frame_text(cov))
    inputs: dict[str, dict[str, str]] = {}
    for m, fs in features.items():
        all_ids = fs.phenotype_ids(genome, spec.offsets)
        kept = pheno.kept[m]
        ids = [all_ids[i] for i in kept]
        genes = fs.gene[kept]
        order = _bed_order(genome, genes, ids)
        entry = {"bed": f"{base}.{m}.bed.gz"}
        extra = markers.tpm if m == "expression" else []
        write_bgzip(out / entry["bed"], _bed_text(genome, genes, ids, samples, text.values[m], order, spec.offsets,
                                                  extra), preset="bed")
        if fs.grouped:
            entry["groups"] = f"{base}.{m}.groups.txt"
            write_text(out / entry["groups"], "".join(f"{ids[k]}\t{genome.genes[genes[k]].gene_id}\n" for k in order))
        if m in DEMO_NORMALIZATION:
            entry["normalization"] = DEMO_NORMALIZATION[m]
        if m == "expression":
            entry["counts"] = f"{base}.{m}.counts.bed.gz"
            counts = [text.log2_counts[i] for i in kept]
            write_bgzip(out / entry["counts"], _bed_text(genome, genes, ids, samples, counts, order, spec.offsets,
                                                         markers.log2_counts), preset="bed")
        if cov_rel is not None:
            entry["covariates"] = cov_rel
        inputs[m] = entry
    return inputs
