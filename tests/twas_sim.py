"""A simulated TWAS locus for testing the conditional analysis: genotypes with LD, genes whose predicted
expression is correlated, a GWAS mediated by some of them, weights fitted in a small training cohort that
doubles as the LD reference (as in RatGTEx and the demo), and the association table post-processing reads.

Genotypes: haplotypes are a latent Gaussian AR(1) chain along the SNPs (correlation ``rho`` between
neighbours) thresholded at each SNP's allele frequency; dosages sum two haplotypes. The LD reference /
training cohort (``n_ref`` individuals) and the GWAS cohort (``n_gwas``) are independent draws, so the
reference LD differs from the GWAS cohort's by sampling error, as it does in practice.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import ndtri

from qtlatlas.twas.align import align_gwas
from qtlatlas.twas.assoc import twas_pvalue
from qtlatlas.twas.fusion_io import TwasModel
from qtlatlas.twas.ld import LdReference


def haplotypes(n: int, freq: np.ndarray, rho: float, rng: np.random.Generator) -> np.ndarray:
    """``(n, m)`` 0/1 haplotypes: a latent AR(1) chain (neighbour correlation ``rho``) below ``Φ⁻¹(freq)``."""
    m = len(freq)
    latent = np.empty((n, m))
    latent[:, 0] = rng.standard_normal(n)
    noise = rng.standard_normal((n, m)) * np.sqrt(1 - rho * rho)
    for j in range(1, m):
        latent[:, j] = rho * latent[:, j - 1] + noise[:, j]
    return (latent < ndtri(freq)).astype(np.int8)


def dosages(n: int, freq: np.ndarray, rho: float, rng: np.random.Generator) -> np.ndarray:
    """``(n, m)`` ALT dosages 0–2."""
    return haplotypes(n, freq, rho, rng) + haplotypes(n, freq, rho, rng)


def standardise(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64)
    sd = x.std(axis=0, ddof=1)
    return (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1.0)


@dataclass
class Gene:
    """A simulated gene: its causal eQTL SNP (index), effect on expression and on the trait, and the model
    tested (``top1`` or ``blup``)."""

    name: str
    eqtl: int
    alpha: float
    model: str = "blup"
    eqtl_beta: float = 0.6


@dataclass
class SimLocus:
    """The simulated data in the forms post-processing reads."""

    numbers: pd.DataFrame
    models: list[TwasModel]
    gwas: object
    ld: LdReference
    snp_effects: np.ndarray  # (m,) direct effects of SNPs on the trait (the planted masked signals)
    genes: list[Gene]
    r_ref: np.ndarray  # (m, m) reference LD


def simulate_locus(genes: list[Gene], seed: int, *, m: int = 240, rho: float = 0.97, n_ref: int = 300,
                   n_gwas: int = 5000, masked: dict[int, float] | None = None) -> SimLocus:
    """One locus of ``m`` SNPs (3 kb apart on chromosome 1), the ``genes`` (cis windows: every SNP) and a GWAS of
    ``n_gwas`` individuals with ``y = Σ alpha·GReX + Σ masked[j]·x_j + noise``. ``masked``: direct SNP effects
    (per SD of genotype), planted to cancel a SNP's marginal association."""
    rng = np.random.default_rng(seed)
    freq = rng.uniform(0.15, 0.5, m)
    pos = 1_000_000 + 3_000 * np.arange(m)
    ids = np.array([f"rs{i + 1}" for i in range(m)])
    ref = dosages(n_ref, freq, rho, rng)
    coh = dosages(n_gwas, freq, rho, rng)
    xr, xc = standardise(ref), standardise(coh)
    variants = pd.DataFrame({"chrom": "1", "pos": pos, "snp": ids, "a1": "A", "a2": "G"})
    ld = LdReference(ref.T.astype(np.int8), variants)
    # trait in the GWAS cohort, mediated by the genes' true expression
    y = np.zeros(n_gwas)
    for g in genes:
        y += g.alpha * xc[:, g.eqtl]
    effects = np.zeros(m)
    for j, e in (masked or {}).items():
        effects[j] = e
        y += e * xc[:, j]
    y += rng.standard_normal(n_gwas) * np.sqrt(max(1.0 - y.var(), 0.5))
    yc = (y - y.mean()) / y.std(ddof=1)
    r = xc.T @ yc / (n_gwas - 1)
    z_gwas = r * np.sqrt(n_gwas - 2) / np.sqrt(np.maximum(1 - r * r, 1e-12))
    gwas = align_gwas(pd.DataFrame({"SNP": ids, "A1": "A", "A2": "G", "Z": z_gwas}), variants)
    r_ref = xr.T @ xr / (n_ref - 1)
    rows, models = [], []
    snps = pd.DataFrame({"chrom": "1", "snp": ids, "cm": 0.0, "pos": pos, "a1": "A", "a2": "G"})
    for g in genes:
        # expression in the training cohort (= the LD reference individuals): the eQTL plus noise (h² ≈ 0.3)
        e = g.eqtl_beta * xr[:, g.eqtl] + rng.standard_normal(n_ref) * 0.9
        e = (e - e.mean()) / e.std(ddof=1)
        marginal = xr.T @ e / (n_ref - 1) * np.sqrt(n_ref - 1)  # top1 column: marginal eQTL z of every SNP
        blup = np.linalg.solve(r_ref + 20.0 * np.eye(m), xr.T @ e / (n_ref - 1))  # dense ridge (BLUP-like) weights
        weights = np.column_stack([marginal, blup])
        w = weights[:, ["top1", "blup"].index(g.model)].copy()
        if g.model == "top1":
            top = int(np.argmax(w * w))
            w = np.where(np.arange(m) == top, w, 0.0)
        z = float(w @ z_gwas / np.sqrt(w @ r_ref @ w))
        models.append(TwasModel(panel="sim", phenotype_id=g.name, gene_id=g.name, chrom="1", p0=int(pos[g.eqtl]),
                                p1=int(pos[g.eqtl]) + 1, n=n_ref, snps=snps, weights=weights, models=("top1", "blup"),
                                cv_r2=np.full((1, 2), 0.2), cv_pval=np.full((1, 2), 1e-5)))
        rows.append({"PANEL": "sim", "FILE": g.name, "ID": g.name, "CHR": "1", "P0": int(pos[g.eqtl]),
                     "P1": int(pos[g.eqtl]) + 1, "MODEL": g.model, "TWAS.Z": z, "TWAS.P": float(twas_pvalue(z))})
    return SimLocus(pd.DataFrame(rows), models, gwas, ld, effects, genes, r_ref)
