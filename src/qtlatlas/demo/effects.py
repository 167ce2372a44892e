"""Planted cis effects: which variant drives which phenotype in which tissue, and how strongly.

Per gene (expressed genes only, tissue by tissue):

* **expression** – a primary causal variant within ±500 kb of the TSS (80% of the time within a few tens
  of kb, distance ~ Exponential(30 kb)); 45% of genes have a *shared* eQTL, active in each tissue with
  probability 0.9, the others a tissue-restricted one (probability 0.25 per tissue), so about half of
  the expressed genes are eGenes in each tissue. 35% of genes also carry a secondary variant in low LD
  with the primary (r² < 0.2), active in 75% of the tissues where the primary is.
* **other modalities** – 55% of genes have a QTL for a given modality; 40% of those reuse the primary
  eQTL variant (one variant, two modalities), the others have their own variant. The effect acts on one
  feature of the gene (one transcript, intron, TSS or polyA site), shifting the ratios of its group.
* **strength** – per-variant R² on the latent phenotype scale is log-uniform in [0.02, 0.4] per gene,
  varied ×0.6–1.5 between tissues (clipped to the same range).
* **direction** – an effect keeps its direction (per ALT allele) in every tissue where it acts, as most
  QTLs shared across tissues do; for 5% of the shared effects (:data:`OPPOSITE_SHARE`) one tissue,
  chosen at random, has the opposite direction (tissue-specific regulation, recorded as ``opposite``
  in the truth).

``shared_with_expression`` is True for non-expression effects driven by the gene's primary eQTL variant.

The plan is a table with one row per tissue × modality × phenotype × signal; phenotypes.py turns R²
into per-allele effects once the samples of the tissue are known.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .features import FeatureSet
from .genome import Genome
from .genotypes import Variants

PLAN_COLUMNS = ["tissue", "modality", "feature", "gene", "signal", "variant", "r2", "sign",
                "shared_across_tissues", "shared_with_expression", "opposite"]
R2_RANGE = (0.02, 0.4)
#: Share of the effects shared across tissues that have the opposite direction in one tissue.
OPPOSITE_SHARE = 0.05
CIS_WINDOW = 500_000
MIN_MAF = 0.05


class _VariantPicker:
    """Chooses causal variants near a TSS among common variants (MAF >= 0.05 in the atlas cohort)."""

    def __init__(self, variants: Variants, dosage: np.ndarray, rng: np.random.Generator):
        self.variants = variants
        self.dosage = dosage
        af = dosage.mean(axis=0, dtype=np.float64) / 2
        self.common = np.minimum(af, 1 - af) >= MIN_MAF
        self.rng = rng

    def candidates(self, chrom: str, tss: int) -> np.ndarray:
        lo, hi = self.variants.bounds[chrom]
        near = np.abs(self.variants.pos[lo:hi] - tss) <= CIS_WINDOW
        return lo + np.flatnonzero(near & self.common[lo:hi])

    def pick(self, cand: np.ndarray, tss: int, avoid: int | None = None) -> int | None:
        """A candidate near a random target position, mostly close to the TSS; with ``avoid``, only
        candidates with r² < 0.2 to it (a second, independent signal)."""
        rng = self.rng
        d = rng.exponential(30_000) if rng.random() < 0.8 else rng.uniform(0, CIS_WINDOW)
        target = tss + (1 if rng.random() < 0.5 else -1) * min(d, CIS_WINDOW)
        if avoid is not None:
            x = self.dosage[:, cand].astype(np.float64)
            y = self.dosage[:, avoid].astype(np.float64)
            xc, yc = x - x.mean(axis=0), y - y.mean()
            r = (xc.T @ yc) / np.sqrt((xc**2).sum(axis=0) * (yc**2).sum() + 1e-300)
            cand = cand[r**2 < 0.2]
        if len(cand) == 0:
            return None
        return int(cand[np.argmin(np.abs(self.variants.pos[cand] - target))])


def _r2(rng: np.random.Generator) -> float:
    return float(np.exp(rng.uniform(np.log(R2_RANGE[0]), np.log(R2_RANGE[1]))))


def _tissue_r2(rng: np.random.Generator, base: float) -> float:
    return float(np.clip(base * rng.uniform(0.6, 1.5), *R2_RANGE))


def _opposite_tissue(rng: np.random.Generator, shared: bool, n_tissues: int) -> int:
    """Index of the tissue where a shared effect has the opposite direction, or -1 (none)."""
    pick = rng.random() < OPPOSITE_SHARE
    t = int(rng.integers(n_tissues))
    return t if shared and pick else -1


def plan_effects(genome: Genome, variants: Variants, dosage: np.ndarray, features: dict[str, FeatureSet],
                 tissues: list[str], on: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """The effect plan (columns :data:`PLAN_COLUMNS`); ``dosage`` (n, V) atlas genotypes, ``on``
    (n_genes, n_tissues) whether each gene is expressed in each tissue."""
    picker = _VariantPicker(variants, dosage, rng)
    by_gene: dict[str, dict[int, list[int]]] = {}
    for m, fs in features.items():
        d: dict[int, list[int]] = {}
        for i, g in enumerate(fs.gene):
            d.setdefault(int(g), []).append(i)
        by_gene[m] = d
    rows: list[tuple] = []
    for g, gene in enumerate(genome.genes):
        if not on[g].any():
            continue
        cand = picker.candidates(gene.chrom, gene.tss)
        v1 = picker.pick(cand, gene.tss)
        if v1 is None:
            continue
        # expression: primary and optional secondary signal
        shared = bool(rng.random() < 0.45)
        p_active = 0.9 if shared else 0.25
        base1, sign1 = _r2(rng), float(rng.choice([-1.0, 1.0]))
        v2 = picker.pick(cand, gene.tss, avoid=v1) if rng.random() < 0.35 else None
        base2, sign2 = _r2(rng), float(rng.choice([-1.0, 1.0]))
        opposite = _opposite_tissue(rng, shared, len(tissues))
        for t, tissue in enumerate(tissues):
            active = bool(rng.random() < p_active)
            flip = -1.0 if t == opposite else 1.0
            second = bool(rng.random() < 0.75)
            r2a, r2b = _tissue_r2(rng, base1), _tissue_r2(rng, base2)
            if not (on[g, t] and active):
                continue
            fidx = by_gene["expression"][g][0]
            rows.append((tissue, "expression", fidx, g, 1, v1, r2a, sign1 * flip, shared, False, t == opposite))
            if v2 is not None and second:
                rows.append((tissue, "expression", fidx, g, 2, v2, r2b, sign2 * flip, shared, False, t == opposite))
        # the other modalities
        for m in features:
            if m == "expression" or g not in by_gene[m]:
                continue
            has_qtl = bool(rng.random() < 0.55)
            reuse = bool(rng.random() < 0.4)
            v = v1 if reuse else picker.pick(cand, gene.tss)
            feats = by_gene[m][g]
            target = feats[int(rng.integers(len(feats)))]
            shared_t = bool(rng.random() < 0.5)
            base, sign = _r2(rng), float(rng.choice([-1.0, 1.0]))
            opposite = _opposite_tissue(rng, shared_t, len(tissues))
            for t, tissue in enumerate(tissues):
                active = bool(rng.random() < (0.85 if shared_t else 0.3))
                flip = -1.0 if t == opposite else 1.0
                r2 = _tissue_r2(rng, base)
                if has_qtl and v is not None and on[g, t] and active:
                    rows.append((tissue, m, target, g, 1, v, r2, sign * flip, shared_t, reuse, t == opposite))
    plan = pd.DataFrame(rows, columns=PLAN_COLUMNS)
    return plan.astype({"feature": np.int64, "gene": np.int64, "signal": np.int64, "variant": np.int64,
                        "opposite": bool})
