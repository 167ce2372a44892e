"""Complex traits mediated by genetically predicted expression, and their GWAS summary statistics.

A GWAS cohort of ``gwas_n`` individuals is drawn from the atlas founders. For each trait, a tissue and
2–4 genes with an eQTL in that tissue are chosen; the predicted expression of gene ``j`` is
``GReX_j = Σ_signals β·g`` (the planted per-allele effects), standardised in the cohort. Then::

    y = Σ_j α_j · GReX_j  +  polygenic background  +  noise,   Σ α_j² = h²_mediated ~ U(0.05, 0.2)

with a background of 50 random variants explaining 0.03 and the rest noise (total variance 1). Summary
statistics are per-variant marginal regressions of y on the ALT dosage (variants polymorphic in the cohort).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .genome import Genome
from .genotypes import Variants

#: (id, name, unit, tags) of the demo traits; ids get a numeric suffix when more traits are asked for.
TRAIT_TEMPLATES: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("body_weight", "Body weight", "g", ("morphology", "growth")),
    ("fasting_glucose", "Fasting glucose", "mg/dL", ("metabolic", "blood")),
    ("fat_pad", "Retroperitoneal fat pad weight", "g", ("adiposity", "metabolic")),
    ("locomotor", "Locomotor activity in a novel environment", "cm", ("behaviour",)),
    ("ldl", "LDL cholesterol", "mg/dL", ("lipids", "blood")),
    ("bone_density", "Femur bone mineral density", "g/cm2", ("bone",)),
)

H2_BACKGROUND = 0.03
N_BACKGROUND = 50


@dataclass(frozen=True)
class Trait:
    """One simulated trait: metadata, its summary statistics table (``SNP A1 A2 Z BETA SE N``) and truth."""

    id: str
    name: str
    unit: str
    tags: tuple[str, ...]
    tissue: str
    h2_mediated: float
    sumstats: pd.DataFrame
    genes: pd.DataFrame


def trait_metadata(n: int) -> list[tuple[str, str, str, tuple[str, ...]]]:
    """The first ``n`` trait templates (cycled, with ``_2``… suffixes)."""
    out = []
    for i in range(n):
        tid, name, unit, tags = TRAIT_TEMPLATES[i % len(TRAIT_TEMPLATES)]
        k = i // len(TRAIT_TEMPLATES)
        out.append((f"{tid}_{k + 1}" if k else tid, f"{name} ({k + 1})" if k else name, unit, tags))
    return out


def _marginal(dosage: np.ndarray, y: np.ndarray, chunk: int = 1000) -> tuple[np.ndarray, ...]:
    """Per-variant OLS of y on each column of ``dosage`` (n, V) with intercept: (beta, se, z, polymorphic)."""
    n, v = dosage.shape
    yc = y - y.mean()
    yy = float(yc @ yc)
    beta, se = np.zeros(v), np.full(v, np.inf)
    ok = np.zeros(v, dtype=bool)
    for a in range(0, v, chunk):
        x = dosage[:, a:a + chunk].astype(np.float64)
        xx = (x * x).sum(axis=0) - n * x.mean(axis=0) ** 2
        xy = x.T @ yc
        good = xx > 1e-9
        b = np.where(good, xy / np.where(good, xx, 1.0), 0.0)
        rss = np.maximum(yy - b * xy, 1e-12)
        beta[a:a + chunk] = b
        se[a:a + chunk] = np.where(good, np.sqrt(rss / (n - 2) / np.where(good, xx, 1.0)), np.inf)
        ok[a:a + chunk] = good
    return beta, se, beta / se, ok


def simulate_traits(n_traits: int, genome: Genome, variants: Variants, dosage: np.ndarray,
                    expression_effects: pd.DataFrame, tissues: list[str], n_genes: tuple[int, int],
                    rng: np.random.Generator) -> list[Trait]:
    """Simulate ``n_traits`` traits in the GWAS cohort ``dosage`` (n, V) int8.

    ``expression_effects`` rows of the effect plan for expression with final ``beta`` (columns tissue,
    gene, variant, beta). Genes are not reused across traits while enough remain.
    """
    n = dosage.shape[0]
    af = dosage.mean(axis=0, dtype=np.float64) / 2
    common = np.flatnonzero(np.minimum(af, 1 - af) >= 0.05)
    used: set[int] = set()
    traits = []
    for i, (tid, name, unit, tags) in enumerate(trait_metadata(n_traits)):
        tissue = tissues[i % len(tissues)]
        eff = expression_effects[expression_effects["tissue"] == tissue]
        strength = eff.groupby("gene")["r2"].sum()
        pool = [g for g in strength.index[strength >= 0.05] if g not in used] or list(strength.index)
        k = int(min(rng.integers(n_genes[0], n_genes[1] + 1), len(pool)))
        genes = sorted(int(g) for g in rng.choice(pool, size=k, replace=False)) if k else []
        used.update(genes)
        h2 = float(rng.uniform(0.05, 0.2))
        share = rng.dirichlet(np.full(max(k, 1), 2.0))[:k] * h2
        alpha = np.sqrt(share) * rng.choice([-1.0, 1.0], size=k)
        y = np.zeros(n)
        rows = []
        for j, g in enumerate(genes):
            e = eff[eff["gene"] == g]
            grex = dosage[:, e["variant"].to_numpy()].astype(np.float64) @ e["beta"].to_numpy()
            sd = grex.std()
            if sd > 0:
                y += alpha[j] * (grex - grex.mean()) / sd
            gene = genome.genes[g]
            rows.append((tid, gene.gene_id, gene.gene_name, tissue, float(alpha[j]), float(share[j]),
                         ",".join(variants.ids[e["variant"].to_numpy()])))
        bg = rng.choice(common, size=min(N_BACKGROUND, len(common)), replace=False)
        xb = dosage[:, bg].astype(np.float64)
        xb = (xb - xb.mean(axis=0)) / xb.std(axis=0)
        y += xb @ (rng.standard_normal(len(bg)) * np.sqrt(H2_BACKGROUND / len(bg)))
        y += rng.standard_normal(n) * np.sqrt(max(1.0 - h2 - H2_BACKGROUND, 0.05))
        beta, se, z, ok = _marginal(dosage, y)
        stats = pd.DataFrame({"SNP": variants.ids[ok], "A1": variants.alt[ok], "A2": variants.ref[ok],
                              "Z": z[ok], "BETA": beta[ok], "SE": se[ok], "N": n})
        genes_df = pd.DataFrame(rows, columns=["trait", "gene_id", "gene_name", "tissue", "alpha", "h2", "variant_ids"])
        traits.append(Trait(tid, name, unit, tags, tissue, h2, stats, genes_df))
    return traits
