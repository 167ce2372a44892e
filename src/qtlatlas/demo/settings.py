"""Parameters of the demo atlas (:class:`DemoConfig`) and what the generator returns (:class:`DemoTruth`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: the command line imports this module and should start fast
    import pandas as pd

#: (id, name, colour, ontology id) of each default demo tissue.
DEFAULT_TISSUES: tuple[tuple[str, str, str, str], ...] = (
    ("Adipose", "Adipose tissue", "#e6a817", "UBERON:0001013"),
    ("Brain", "Brain hemisphere", "#7b61ff", "UBERON:0000955"),
    ("Liver", "Liver", "#b5443b", "UBERON:0002107"),
)

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")

#: Named sizes of ``qtlatlas demo --size``: fields of :class:`DemoConfig` that differ from its defaults.
#: ``default`` (2 chromosomes, 120 genes) is mapped, TWAS included, and built in about 3.5 CPU-minutes;
#: ``large`` (10 chromosomes, 1,200 genes: over 1,000 expressed per tissue, one gene per 100 kb as in the
#: rat genome) takes about ten times as long.
DEMO_SIZES: dict[str, dict[str, int]] = {
    "default": {},
    "large": {"n_chromosomes": 10, "n_genes_per_chrom": 120},
}


@dataclass(frozen=True)
class DemoConfig:
    """Sizes and knobs of the synthetic atlas; every default gives a realistic demo in a few seconds.

    Genome and genotypes
        ``n_chromosomes`` chromosomes ``chr1``… of ``chrom_length`` bp, each with ``n_variants_per_chrom``
        bi-allelic SNPs and ``n_genes_per_chrom`` genes. Genotypes are mosaics of ``n_founders`` founder
        haplotypes with founder segments of mean length ``mean_segment_bp`` (varied by recombination
        hotspots); neighbouring variants share founder allele patterns over runs of mean length
        ``pattern_run_bp``. ``young_variant_fraction`` of the variants are recent rare mutations outside
        the founder patterns; ``mutation_rate`` flips alleles per haplotype × variant; ``missing_rate`` of
        the atlas calls are written as ``./.``. With the default runs (60 kb) and segments (400 kb), LD
        between common variants decays over 0.1–1 Mb, measured on 200 individuals (seed 1, mean r²):
        0.85 within 10 kb, 0.28 at 50–100 kb, 0.09 at 100–250 kb, 0.012 at 0.5–1 Mb and 0.005 (the
        1/n floor of 200 genotypes) beyond 2 Mb (:func:`qtlatlas.demo.realism.ld_decay`).
    Samples and phenotypes
        ``n_individuals`` genotyped individuals; each tissue holds a random ``tissue_sample_fraction``
        (range) of them. ``n_hidden_factors`` latent confounders per tissue. ``covariates_tissue`` (default:
        the first tissue) gets a covariates file (sex, batch).
    Releases
        ``v1`` on genome label ``genomes[0]`` with every tissue but the last one; ``v2`` on ``genomes[1]``
        with all tissues (v2 adds the last tissue) and coordinates shifted by a per-chromosome offset (as
        after a liftover). Samples and phenotype values of the shared tissues are the same in both.
    GWAS
        ``n_traits`` traits, each from ``trait_genes`` (min, max) causal genes, summary statistics from a
        cohort of ``gwas_n`` individuals drawn from the same founders; their loci below
        ``coloc_p_threshold`` are colocalised with every tissue × modality.
    """

    seed: int = 1
    n_individuals: int = 200
    n_chromosomes: int = 2
    chrom_length: int = 12_000_000
    n_variants_per_chrom: int = 3000
    n_genes_per_chrom: int = 60
    tissues: tuple[tuple[str, str, str, str], ...] = DEFAULT_TISSUES
    n_traits: int = 3
    gwas_n: int = 5000
    #: GWAS loci colocalised are led by variants below this p-value (atlas.yaml's coloc.p_threshold)
    coloc_p_threshold: float = 5e-8
    #: atlas.yaml ``visibility:`` of some items, as (``KIND:ID``, value) pairs: e.g. (``"tissue:Liver"``,
    #: ``"private"``) or (``"trait:height"``, ``{"embargoed_until": "2099-01-01"}``); default: all public
    visibility: tuple[tuple[str, object], ...] = ()
    n_founders: int = 16
    mean_segment_bp: int = 400_000
    pattern_run_bp: int = 60_000
    young_variant_fraction: float = 0.12
    mutation_rate: float = 5e-4
    missing_rate: float = 0.003
    tissue_sample_fraction: tuple[float, float] = (0.8, 0.95)
    n_hidden_factors: int = 6
    covariates_tissue: str | None = None
    genomes: tuple[str, str] = ("demo1", "demo2")
    trait_genes: tuple[int, int] = (2, 4)
    study_id: str = "demo2024"

    def __post_init__(self) -> None:
        def need(ok: bool, message: str) -> None:
            if not ok:
                raise ValueError(f"DemoConfig: {message}")

        need(self.seed >= 0, f"seed must be >= 0, got {self.seed}")
        need(self.n_chromosomes >= 2, f"n_chromosomes must be >= 2, got {self.n_chromosomes}")
        need(self.n_individuals >= 20, f"n_individuals must be >= 20, got {self.n_individuals}")
        need(self.n_genes_per_chrom >= 2, f"n_genes_per_chrom must be >= 2, got {self.n_genes_per_chrom}")
        need(self.chrom_length >= 50_000 * self.n_genes_per_chrom,
             "chrom_length must leave at least 50 kb per gene "
             f"({self.chrom_length} bp for {self.n_genes_per_chrom} genes)")
        need(self.chrom_length >= 2_000_000, f"chrom_length must be >= 2,000,000 bp, got {self.chrom_length}")
        need(100 <= self.n_variants_per_chrom <= self.chrom_length // 100,
             "n_variants_per_chrom must be between 100 and chrom_length / 100")
        need(len(self.tissues) >= 2, "at least two tissues are needed (v2 adds the last one)")
        for t in self.tissues:
            need(len(t) == 4 and bool(_ID.match(t[0])), f"tissue {t!r} must be (id, name, '#rrggbb', ontology id)")
        ids = [t[0] for t in self.tissues]
        need(len(set(ids)) == len(ids), f"tissue ids must be unique: {ids}")
        need(self.covariates_tissue is None or self.covariates_tissue in ids,
             f"covariates_tissue {self.covariates_tissue!r} is not one of {ids}")
        need(self.n_traits >= 0, "n_traits must be >= 0")
        need(self.gwas_n >= 100, f"gwas_n must be >= 100, got {self.gwas_n}")
        need(2 <= self.n_founders <= 64, "n_founders must be between 2 and 64")
        need(self.mean_segment_bp > 0 and self.pattern_run_bp > 0, "segment and run lengths must be positive")
        need(0 <= self.young_variant_fraction < 1, "young_variant_fraction must be in [0, 1)")
        need(0 <= self.mutation_rate < 0.1 and 0 <= self.missing_rate < 0.5, "rates out of range")
        lo, hi = self.tissue_sample_fraction
        need(0 < lo <= hi <= 1, "tissue_sample_fraction must be (low, high) with 0 < low <= high <= 1")
        need(self.n_hidden_factors >= 0, "n_hidden_factors must be >= 0")
        need(len(self.genomes) == 2 and self.genomes[0] != self.genomes[1], "genomes must be two distinct labels")
        need(1 <= self.trait_genes[0] <= self.trait_genes[1], "trait_genes must be (min, max) with 1 <= min <= max")
        need(bool(_ID.match(self.study_id)), f"study_id {self.study_id!r} is not a valid id")

    @property
    def tissue_ids(self) -> list[str]:
        return [t[0] for t in self.tissues]

    @property
    def covariate_tissue_id(self) -> str:
        return self.covariates_tissue or self.tissues[0][0]


@dataclass(frozen=True)
class DemoTruth:
    """What was planted in a generated demo (the same tables are written under ``out_dir/truth``).

    ``causal_variants``
        one row per release × tissue × modality × phenotype × signal: ``release, genome, tissue, modality,
        phenotype_id, gene_id, gene_name, signal`` (1 or 2), ``variant_id, chrom, pos`` (release
        coordinates, 1-based), ``tss, tss_distance`` (bp, strand-aware: positive downstream), ``maf``
        (atlas cohort), ``r2`` (share of the latent phenotype variance explained by the variant),
        ``beta`` (per ALT allele, in SD of the latent phenotype), ``beta_native`` (per ALT allele in
        native units: log2 TPM for expression, logit for ratio modalities, log2 ratio for stability),
        ``shared_across_tissues, shared_with_expression`` (bool), ``opposite`` (bool: the direction in
        this tissue is the opposite of the other tissues', planted on purpose).
    ``trait_genes``
        ``trait, gene_id, gene_name, tissue, alpha`` (trait SD per SD of predicted expression), ``h2``
        (share of trait variance), ``variant_ids`` (comma-separated causal eQTL variants).
    ``traits``
        ``trait, name, tissue, n, h2_mediated, h2_background``.
    ``confounders``
        ``tissue, n_samples, n_hidden_factors, known_covariates, covariates_file``.
    ``sample_problems``
        what sample quality control should find (:mod:`qtlatlas.demo.sample_sheet`): ``problem``
        (``sample_swap``: the BED column of ``individual_id`` in ``tissue`` holds the RNA of ``matches``;
        ``sex_mislabel``: ``individual_id`` is declared with the other sex), ``tissue``, ``individual_id``,
        ``matches``.
    """

    out_dir: Path
    atlas_yaml: Path
    causal_variants: pd.DataFrame
    trait_genes: pd.DataFrame
    traits: pd.DataFrame
    confounders: pd.DataFrame
    sample_problems: pd.DataFrame
