"""Orchestration: simulate everything once, then write both releases, the GWAS files, the study, the
truth tables and atlas.yaml."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .effects import plan_effects
from .features import FeatureSet, build_features
from .files import frame_text, write_gzip, write_table, write_text
from .genome import Genome, simulate_genome
from .genotypes import Variants, allele_frequency, sample_dosages, simulate_founders, simulate_variants
from .gwas import Trait, simulate_traits
from .metadata import atlas_yaml, private_items, release_notes, write_study
from .phenotypes import simulate_baselines, simulate_tissue
from .release import MarkerRows, ReleaseSpec, format_tissue, write_annotation, write_genotypes, write_tissue
from .rng import stream
from .sample_sheet import (
    bed_columns,
    individual_sheet,
    marker_bed_rows,
    marker_genes,
    marker_values,
    plant_sample_problems,
    sample_sheet,
)
from .samples import design_samples
from .settings import DemoConfig, DemoTruth

RELEASE_DATES = ("2023-06-01", "2024-03-15")
DEFAULT_CONFIG = DemoConfig()


def release_specs(cfg: DemoConfig, chroms: tuple[str, ...], rng: np.random.Generator) -> list[ReleaseSpec]:
    """``v1`` (all tissues but the last, first build) and ``v2`` (all tissues, coordinates shifted by a
    per-chromosome offset of 20–400 kb, chromosomes longer by the offset plus up to 100 kb)."""
    tissues = tuple(cfg.tissue_ids)
    zero = dict.fromkeys(chroms, 0)
    v1 = ReleaseSpec("v1", cfg.genomes[0], RELEASE_DATES[0], "", tissues[:-1], zero,
                     dict.fromkeys(chroms, cfg.chrom_length))
    offsets = {c: int(rng.integers(20_000, 400_000)) for c in chroms}
    lengths = {c: cfg.chrom_length + offsets[c] + int(rng.integers(0, 100_000)) for c in chroms}
    v2 = ReleaseSpec("v2", cfg.genomes[1], RELEASE_DATES[1], "", tissues, offsets, lengths)
    private = frozenset(scope.split(":", 1)[1] for scope in private_items(cfg) if scope.startswith("tissue:"))
    v1 = ReleaseSpec(**{**v1.__dict__, "notes": release_notes(v1, None, [], private)})
    v2 = ReleaseSpec(**{**v2.__dict__, "notes": release_notes(v2, v1, [tissues[-1]], private)})
    return [v1, v2]


def _causal_table(spec: ReleaseSpec, effects: pd.DataFrame, genome: Genome, variants: Variants,
                  features: dict[str, FeatureSet], maf: np.ndarray) -> pd.DataFrame:
    """The truth rows of one release (see :class:`DemoTruth`)."""
    eff = effects[effects["tissue"].isin(spec.tissues)]
    ids = {m: fs.phenotype_ids(genome, spec.offsets) for m, fs in features.items()}
    genes = [genome.genes[g] for g in eff["gene"]]
    v = eff["variant"].to_numpy()
    off = np.array([spec.offsets[g.chrom] for g in genes], dtype=np.int64)
    pos = variants.pos[v] + off
    tss = np.array([g.tss for g in genes], dtype=np.int64) + off
    strand = np.array([1 if g.strand == "+" else -1 for g in genes])
    return pd.DataFrame({
        "release": spec.id, "genome": spec.genome, "tissue": eff["tissue"].to_numpy(),
        "modality": eff["modality"].to_numpy(),
        "phenotype_id": [ids[m][f] for m, f in zip(eff["modality"], eff["feature"], strict=True)],
        "gene_id": [g.gene_id for g in genes], "gene_name": [g.gene_name for g in genes],
        "signal": eff["signal"].to_numpy(), "variant_id": variants.ids[v], "chrom": variants.chrom[v],
        "pos": pos, "tss": tss, "tss_distance": (pos - tss) * strand, "maf": maf[v],
        "r2": eff["r2"].to_numpy(), "beta": eff["beta"].to_numpy(), "beta_native": eff["beta_native"].to_numpy(),
        "shared_across_tissues": eff["shared_across_tissues"].to_numpy(dtype=bool),
        "shared_with_expression": eff["shared_with_expression"].to_numpy(dtype=bool),
        "opposite": eff["opposite"].to_numpy(dtype=bool),
    })


def generate_demo(out_dir: str | Path, config: DemoConfig = DEFAULT_CONFIG) -> DemoTruth:
    """Generate a complete synthetic atlas under ``out_dir`` and return what was planted.

    Files (relative to ``out_dir``): ``atlas.yaml``; ``releases/v1`` and ``releases/v2`` (see
    :mod:`qtlatlas.demo.release`); ``gwas/<trait>.sumstats.tsv.gz``; ``studies/<study>/``; ``truth/``
    (``causal_variants``, ``trait_genes``, ``traits``, ``confounders`` as .tsv and .parquet). Existing
    files of the same names are overwritten; the output is byte-identical for the same configuration.
    """
    cfg = config
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    seed = cfg.seed
    tissues = cfg.tissue_ids

    genome = simulate_genome(cfg.n_chromosomes, cfg.chrom_length, cfg.n_genes_per_chrom, stream(seed, "genome"))
    variants = simulate_variants(genome.chroms, cfg.chrom_length, cfg.n_variants_per_chrom, stream(seed, "variants"))
    panel = simulate_founders(variants, cfg.chrom_length, cfg.n_founders, cfg.mean_segment_bp, cfg.pattern_run_bp,
                              cfg.young_variant_fraction, cfg.mutation_rate, stream(seed, "founders"))
    dosage = sample_dosages(panel, cfg.n_individuals, stream(seed, "atlas-cohort"))
    missing = stream(seed, "missing").random(dosage.shape) < cfg.missing_rate
    maf = np.minimum(allele_frequency(dosage), 1 - allele_frequency(dosage))
    design = design_samples(cfg.n_individuals, tissues, cfg.tissue_sample_fraction, stream(seed, "samples"))
    features = build_features(genome, stream(seed, "features"))
    base = simulate_baselines(len(genome.genes), features, len(tissues), stream(seed, "baselines"))
    plan = plan_effects(genome, variants, dosage, features, tissues, base.on, stream(seed, "effects"))
    phenos = {t: simulate_tissue(i, t, genome, design, features, base, plan[plan["tissue"] == t], dosage,
                                 cfg.n_hidden_factors, stream(seed, "phenotypes", t))
              for i, t in enumerate(tissues)}
    effects = pd.concat([p.effects for p in phenos.values()], ignore_index=True)

    gwas_dosage = sample_dosages(panel, cfg.gwas_n, stream(seed, "gwas-cohort"))
    traits = simulate_traits(cfg.n_traits, genome, variants, gwas_dosage, effects[effects["modality"] == "expression"],
                             tissues, cfg.trait_genes, stream(seed, "traits"))
    del gwas_dosage

    specs = release_specs(cfg, genome.chroms, stream(seed, "liftover"))
    cov_tissue = cfg.covariate_tissue_id
    release_entries = []
    texts = {t: format_tissue(p) for t, p in phenos.items()}
    plants = plant_sample_problems(design, tissues, stream(seed, "sample-problems"))
    markers = marker_genes(len(genome.genes), sum(len(g.transcripts) for g in genome.genes))
    marker_rows = {}
    for t in tissues:
        tpm, log2_counts = marker_values(design, t, stream(seed, "sex-markers", t))
        marker_rows[t] = MarkerRows(bed_columns(design, t, plants), marker_bed_rows(markers, tpm, "%.6g"),
                                    marker_bed_rows(markers, log2_counts, "%.5g"))
    for spec in specs:
        genotypes = write_genotypes(out, spec, variants, dosage, missing, design)
        annotation = write_annotation(out, spec, genome, markers)
        inputs = {t: write_tissue(out, spec, t, genome, features, phenos[t], texts[t], design, covariates=t == cov_tissue,
                                  markers=marker_rows[t])
                  for t in spec.tissues}
        sheets = {"samples": f"{spec.folder}/samples.tsv", "individuals": f"{spec.folder}/individuals.tsv"}
        write_text(out / sheets["samples"], sample_sheet(design, spec.tissues, stream(seed, "sample-sheet", spec.id)))
        write_text(out / sheets["individuals"], individual_sheet(design, plants))
        release_entries.append((spec, annotation, genotypes, inputs, sheets))

    trait_entries: list[tuple[Trait, str]] = []
    for t in traits:
        rel = f"gwas/{t.id}.sumstats.tsv.gz"
        write_gzip(out / rel, frame_text(t.sumstats, float_format="%.6g"))
        trait_entries.append((t, rel))
    study = write_study(out, cfg, design, traits, specs)

    causal = pd.concat([_causal_table(s, effects, genome, variants, features, maf) for s in specs], ignore_index=True)
    trait_genes = (pd.concat([t.genes for t in traits], ignore_index=True) if traits else
                   pd.DataFrame(columns=["trait", "gene_id", "gene_name", "tissue", "alpha", "h2", "variant_ids"]))
    trait_table = pd.DataFrame([(t.id, t.name, t.tissue, int(t.sumstats["N"].iloc[0]), t.h2_mediated, 0.03)
                                for t in traits],
                               columns=["trait", "name", "tissue", "n", "h2_mediated", "h2_background"])
    confounders = pd.DataFrame([(t, len(design.samples[t]), cfg.n_hidden_factors, "sex,batch",
                                 f"{specs[-1].folder}/covariates/{t}.covariates.txt" if t == cov_tissue else "")
                                for t in tissues],
                               columns=["tissue", "n_samples", "n_hidden_factors", "known_covariates",
                                        "covariates_file"])
    planted = pd.DataFrame([("sample_swap", plants.swap_tissue, plants.swapped[0], plants.swapped[1]),
                            ("sample_swap", plants.swap_tissue, plants.swapped[1], plants.swapped[0]),
                            ("sex_mislabel", "", plants.sex_flip, "")],
                           columns=["problem", "tissue", "individual_id", "matches"])
    for name, df in (("causal_variants", causal), ("trait_genes", trait_genes), ("traits", trait_table),
                     ("confounders", confounders), ("sample_problems", planted)):
        write_table(out / "truth" / f"{name}.tsv", df)

    atlas_path = write_text(out / "atlas.yaml", atlas_yaml(cfg, release_entries, study, trait_entries))
    return DemoTruth(out, atlas_path, causal, trait_genes, trait_table, confounders, planted)
