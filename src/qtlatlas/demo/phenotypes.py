"""Phenotype values of each tissue × modality, as a lab would have them before normalisation.

Every phenotype has a latent value ``Z`` with unit variance in each tissue::

    Z = Σ_signals β·(g − ḡ)  +  confounders  +  noise
        (R² each, 0.02–0.4)   (share c)       (rest)

``confounders`` are ``n_hidden_factors`` latent factors of the tissue (decreasing weight), plus sex (on
15% of the phenotypes) and the library batch, with random loadings scaled to a per-phenotype share
``c`` (expression 0.15–0.45, ratios 0.05–0.25). When the planted R² plus ``c`` exceed 0.9, the R² are
scaled down; the truth records the final values. The non-genetic part is made orthogonal to the causal
genotypes of the tissue's samples, so each variant explains exactly its R² of the latent value. Native
values:

* expression – log2 TPM = baseline(gene, tissue) + sd·Z; read counts ~ Poisson(TPM × length_kb ×
  depth); the BED holds observed TPM = counts / (length_kb × depth), the counts BED log2(count + 1).
  Baselines are mostly shared across tissues, as in GTEx: a gene level N(3.5, 2) log2 TPM clipped to
  [-1, 11] (8% of the genes lowly expressed everywhere, −2.5 to −1, yet read in nearly every sample)
  plus a tissue shift N(0, 0.5), shrinking to 40% of that for the most expressed (housekeeping) genes;
  5% of the genes are tissue-specific: expressed in one tissue (1–3 log2 units above their level, at
  most 64 TPM) and off in the others (TPM 0.0005–0.004: no read in most samples, so not mapped). On
  the default demo (seed 1) the median TPMs of two tissues correlate at Pearson r 0.84–0.90 (0.82–0.93
  on log2(TPM + 1); :func:`.realism.tissue_correlations`).
* isoforms, splicing, alt_TSS, alt_polyA – logits = baseline(feature, tissue) + sd·Z, softmax within the
  gene (splicing: within the cluster); NaN where the gene has fewer than 5 reads in the sample.
* stability – log2(exonic / intronic reads) = baseline + sd·Z, NaN where the gene has < 5 reads.

Grouped and stability phenotypes are kept for genes expressed in the tissue with reads in at least half
of its samples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .features import GROUPED, FeatureSet
from .genome import Genome
from .samples import SampleDesign

MIN_READS = 5
MAX_EXPLAINED = 0.9
#: SD of a gene's tissue-to-tissue shift of expression, log2 TPM.
TISSUE_SHIFT_SD = 0.5
#: Share of genes lowly expressed (about 0.2–0.5 TPM) in every tissue.
LOW_GENES = 0.08
#: Share of genes expressed in one tissue only, and their highest level there (log2 TPM).
SPECIFIC_GENES = 0.05
SPECIFIC_MAX = 6.0


@dataclass(frozen=True)
class Baselines:
    """Tissue-specific baselines: ``log2_tpm``, ``log2_sd`` and ``on`` (n_genes, n_tissues);
    ``logit[m]`` (n_features, n_tissues) and ``logit_sd[m]`` (n_features,) per grouped modality;
    ``stability`` (n_genes, n_tissues) log2 ratio and ``stability_sd`` (n_genes,)."""

    log2_tpm: np.ndarray
    log2_sd: np.ndarray
    on: np.ndarray
    logit: dict[str, np.ndarray]
    logit_sd: dict[str, np.ndarray]
    stability: np.ndarray
    stability_sd: np.ndarray


def simulate_baselines(n_genes: int, features: dict[str, FeatureSet], n_tissues: int,
                       rng: np.random.Generator) -> Baselines:
    """Gene levels shared across tissues plus tissue shifts, and a few tissue-specific genes (module
    docstring)."""
    level = np.clip(rng.normal(3.5, 2.0, n_genes), -1.0, 11.0)
    low = rng.random(n_genes) < LOW_GENES
    level = np.where(low, rng.uniform(-2.5, -1.0, n_genes), level)
    # the most expressed (housekeeping) genes vary least between tissues: shifts shrink to 40% at 11 log2 TPM
    shift_sd = TISSUE_SHIFT_SD * (1.0 - 0.6 * np.clip((level - 6.0) / 5.0, 0.0, 1.0))
    log2_tpm = level[:, None] + rng.normal(0.0, 1.0, (n_genes, n_tissues)) * shift_sd[:, None]
    specific = np.flatnonzero(rng.random(n_genes) < SPECIFIC_GENES)
    home = rng.integers(0, n_tissues, len(specific))
    on = np.ones((n_genes, n_tissues), dtype=bool)
    on[specific] = False
    on[specific, home] = True
    log2_tpm[specific, home] = np.minimum(level[specific] + rng.uniform(1.0, 3.0, len(specific)), SPECIFIC_MAX)
    log2_tpm = np.where(on, log2_tpm, rng.uniform(-11.0, -8.0, (n_genes, n_tissues)))
    log2_sd = rng.uniform(0.35, 1.0, (n_genes, n_tissues))
    logit, logit_sd = {}, {}
    for m, fs in features.items():
        if m not in GROUPED:
            continue
        n_f = len(fs)
        first = np.zeros(n_f)
        first[fs.unit_starts()] = 1.5  # the first feature of a unit (canonical isoform, main TSS …) dominates
        logit[m] = (first + rng.normal(0.0, 1.0, n_f))[:, None] + rng.normal(0.0, 0.3, (n_f, n_tissues))
        logit_sd[m] = rng.uniform(0.4, 1.0, n_f)
    stability = rng.normal(2.0, 0.7, n_genes)[:, None] + rng.normal(0.0, 0.3, (n_genes, n_tissues))
    return Baselines(log2_tpm, log2_sd, on, logit, logit_sd, stability, rng.uniform(0.2, 0.5, n_genes))


@dataclass(frozen=True)
class TissuePhenotypes:
    """``values[m]`` (n_kept, n_samples) native values (NaN = missing) of the features ``kept[m]``;
    ``log2_counts`` (n_genes, n_samples) log2(read count + 1); ``effects`` the tissue's effect plan rows
    with final ``r2``, ``beta`` (latent SD per ALT allele) and ``beta_native``."""

    tissue: str
    values: dict[str, np.ndarray]
    kept: dict[str, np.ndarray]
    log2_counts: np.ndarray
    effects: pd.DataFrame


def _confounder_basis(design: SampleDesign, tissue: str, n_hidden: int, rng: np.random.Generator) -> np.ndarray:
    """(n_samples, n_hidden + 2): hidden factors (weights 1/sqrt(k)), standardised sex and batch."""
    idx = design.samples[tissue]
    hidden = rng.standard_normal((len(idx), n_hidden)) / np.sqrt(np.arange(1, n_hidden + 1))

    def std(x: np.ndarray) -> np.ndarray:
        x = x.astype(np.float64) - x.mean()
        return x / (x.std() or 1.0)

    return np.column_stack([hidden, std(design.sex[idx]), std(design.batch[tissue])])


def _latent(basis: np.ndarray, n_features: int, conf_share: tuple[float, float], plan: pd.DataFrame,
            dosage: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Latent phenotypes (n_samples, n_features) and each plan row's final r² and β (per ALT allele).

    ``basis`` (n_samples, q) confounders (last two columns: sex, batch); ``dosage`` (n_samples, V).
    For phenotypes with planted effects the non-genetic part is made exactly uncorrelated with the causal
    genotypes in these samples, so the realised share of variance of each variant is its planted r².
    """
    n, q = basis.shape
    w = rng.standard_normal((q, n_features))
    w[q - 2] *= 2.0 * (rng.random(n_features) < 0.15)
    conf = basis @ w
    share = rng.uniform(*conf_share, n_features)
    var = conf.var(axis=0)
    conf *= np.sqrt(share / np.where(var > 0, var, 1.0))
    feat = plan["feature"].to_numpy()
    variant = plan["variant"].to_numpy()
    planned = np.bincount(feat, weights=plan["r2"].to_numpy(), minlength=n_features)
    scale = np.where(planned + share > MAX_EXPLAINED, (MAX_EXPLAINED - share) / np.maximum(planned, 1e-12), 1.0)
    r2 = plan["r2"].to_numpy() * scale[feat]
    x = dosage[:, variant].astype(np.float64)  # (n, n_effects)
    x -= x.mean(axis=0)
    sd = x.std(axis=0)
    r2[sd == 0] = 0.0
    beta = np.where(sd > 0, plan["sign"].to_numpy() * np.sqrt(r2) / np.where(sd > 0, sd, 1.0), 0.0)
    explained = np.bincount(feat, weights=r2, minlength=n_features) + share
    z = conf + rng.standard_normal((n, n_features)) * np.sqrt(np.maximum(1.0 - explained, 0.05))
    for f in np.unique(feat):
        k = np.flatnonzero(feat == f)
        xf = x[:, k]
        coef, *_ = np.linalg.lstsq(xf, z[:, f] - z[:, f].mean(), rcond=None)
        rest = z[:, f] - z[:, f].mean() - xf @ coef
        rest *= np.sqrt(max(1.0 - r2[k].sum(), 0.05) / max(rest.var(), 1e-12))
        z[:, f] = rest + xf @ beta[k]
    return z, r2, beta


def _ratios(logits: np.ndarray, fs: FeatureSet) -> np.ndarray:
    """Softmax of (n_samples, n_features) logits within each unit of ``fs``."""
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    sums = np.add.reduceat(e, fs.unit_starts(), axis=1)
    return e / sums[:, fs.unit]


def simulate_tissue(t: int, tissue: str, genome: Genome, design: SampleDesign, features: dict[str, FeatureSet],
                    base: Baselines, plan: pd.DataFrame, dosage: np.ndarray, n_hidden: int,
                    rng: np.random.Generator) -> TissuePhenotypes:
    """All modalities of tissue number ``t``; ``plan`` holds that tissue's rows of the effect plan and
    ``dosage`` (n_individuals, V) the true genotypes of every individual."""
    idx = design.samples[tissue]
    geno = dosage[idx]
    basis = _confounder_basis(design, tissue, n_hidden, rng)
    length_kb = np.array([g.length_kb for g in genome.genes])
    depth = design.depth[tissue][:, None]
    values, kept, effects = {}, {}, []
    counts = expressed = None
    for m, fs in features.items():
        rows = plan[plan["modality"] == m].reset_index(drop=True)
        z, r2, beta = _latent(basis, len(fs), (0.15, 0.45) if m == "expression" else (0.05, 0.25), rows, geno, rng)
        rows = rows.assign(r2=r2, beta=beta)
        if m == "expression":
            log2_tpm = base.log2_tpm[:, t] + z * base.log2_sd[:, t]
            counts = rng.poisson(np.exp2(log2_tpm) * length_kb * depth)
            expressed = counts >= MIN_READS
            values[m] = (counts / (length_kb * depth)).T
            kept[m] = np.arange(len(fs))
            native = base.log2_sd[rows["gene"].to_numpy(), t]
        else:
            if m in GROUPED:
                val = _ratios(base.logit[m][:, t] + z * base.logit_sd[m], fs)
                native = base.logit_sd[m][rows["feature"].to_numpy()]
            else:
                val = base.stability[:, t] + z * base.stability_sd
                native = base.stability_sd[rows["gene"].to_numpy()]
            seen = expressed[:, fs.gene]
            val[~seen] = np.nan
            keep = base.on[fs.gene, t] & (seen.mean(axis=0) >= 0.5)
            kept[m] = np.flatnonzero(keep)
            values[m] = val[:, keep].T
            rows, native = rows[keep[rows["feature"].to_numpy()]], native[keep[rows["feature"].to_numpy()]]
        effects.append(rows.assign(beta_native=rows["beta"].to_numpy() * native))
    assert counts is not None
    return TissuePhenotypes(tissue, values, kept, np.log2(counts + 1.0).T, pd.concat(effects, ignore_index=True))
