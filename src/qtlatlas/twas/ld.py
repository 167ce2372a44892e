"""LD reference panel for TWAS: standardised genotypes of one chromosome and LD blocks of SNP sets.

FUSION's convention: genotypes (PLINK 1, A1 = ``.bim`` column 5 counted) are mean-imputed, then standardised
per SNP with the sample SD (denominator n − 1); the LD matrix of a SNP set is ``R = ZᵀZ / (n − 1)``.

A SNP set's block (its standardised genotypes, and on demand its LD matrix and the ridge factorisation used
by z-score imputation) is computed once and cached, keyed by the set of reference rows: every model whose
weight SNPs map to the same reference rows (the models of one phenotype, and often the models of one gene
in several panels) reuses it.

A SNP that is monomorphic in the reference has SD 0; its standardised genotypes are set to 0 (FUSION would
produce NaN and stop), so it contributes nothing to LD, predictions or imputation.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import InputFileError
from ..io.genotypes import MISSING_INT8, Plink1Reader


def ld_prefix(ref_ld_chr: str | os.PathLike[str], chrom: str) -> str:
    """FUSION's per-chromosome reference prefix: ``{ref_ld_chr}{chrom}`` (``--ref_ld_chr`` + ``--chr``)."""
    return f"{os.fspath(ref_ld_chr)}{chrom}"


@dataclass
class Imputation:
    """Result of imputing the z-scores of a block's unobserved SNPs (see :mod:`qtlatlas.twas.impute`).

    Attributes:
        z: ``(m,)`` z-scores: observed values, imputed values where missing (NaN if not imputable).
        r2pred: ``(m,)`` imputation accuracy: 1 for observed SNPs.
    """

    z: np.ndarray
    r2pred: np.ndarray


class LdBlock:
    """Standardised reference genotypes of one SNP set, with its LD matrix computed on first use.

    Attributes:
        indices: ``(m,)`` reference rows of the set, in the order of the block's columns.
        z: ``(n, m)`` float64 standardised genotypes (mean 0, SD 1 with denominator n − 1).
    """

    def __init__(self, indices: np.ndarray, z: np.ndarray):
        self.indices = indices
        self.z = z
        self._r: np.ndarray | None = None
        self._imputations: dict[bytes, Imputation] = {}

    @property
    def n_samples(self) -> int:
        return int(self.z.shape[0])

    @property
    def r(self) -> np.ndarray:
        """``(m, m)`` LD (correlation) matrix ``ZᵀZ / (n − 1)``, computed once."""
        if self._r is None:
            self._r = (self.z.T @ self.z) / (self.n_samples - 1)
        return self._r

    def quadratic(self, weights: np.ndarray) -> np.ndarray:
        """``diag(Wᵀ R W)`` for ``weights`` ``(m, k)``: the reference variance of each column's prediction.

        Computed as ``‖Z W‖² / (n − 1)`` (no m × m product needed). Returns ``(k,)``.
        """
        pred = self.z @ weights
        return np.einsum("ij,ij->j", pred, pred) / (self.n_samples - 1)

    def imputation(self, z: np.ndarray, lam: float) -> Imputation:
        """Impute the NaN entries of ``z`` ``(m,)`` from the observed ones (cached per missing pattern)."""
        from .impute import impute_z

        missing = np.isnan(z)
        key = missing.tobytes() + np.float64(lam).tobytes()
        hit = self._imputations.get(key)
        if hit is None:
            zi, r2 = impute_z(self.r, z, lam=lam)
            hit = Imputation(zi, r2)
            self._imputations[key] = hit
        return hit


class LdReference:
    """Genotypes of an LD reference panel (one PLINK 1 fileset, usually one chromosome).

    Attributes:
        path: the fileset prefix.
        variants: one row per reference SNP: ``chrom, pos, snp, a1, a2`` (A1 = counted allele).
        n_samples: number of reference individuals.
    """

    def __init__(self, dosages: np.ndarray, variants: pd.DataFrame, path: str = "", cache_size: int = 64):
        if dosages.shape[0] != len(variants):
            raise ValueError("dosages must have one row per variant")
        self.path = path
        self.variants = variants.reset_index(drop=True)
        self._by_sample = np.ascontiguousarray(dosages.T)  # (n, M): a SNP set is a column gather
        self.n_samples = int(dosages.shape[1])
        if self.n_samples < 2:
            raise InputFileError(path, f"an LD reference needs at least 2 individuals, found {self.n_samples}")
        self._mean, self._sd, self._has_missing = _moments(dosages)
        self._cache: OrderedDict[bytes, LdBlock] = OrderedDict()
        self._cache_size = cache_size
        self.blocks_computed = 0

    @classmethod
    def from_plink(cls, prefix: str | os.PathLike[str], cache_size: int = 64) -> LdReference:
        """Read a PLINK 1 fileset (``prefix.bed/.bim/.fam``) entirely into memory (int8, 1 byte per call)."""
        prefix = os.fspath(prefix)
        for suffix in (".bed", ".bim", ".fam"):
            if not os.path.isfile(prefix + suffix):
                raise InputFileError(prefix + suffix, "LD reference file not found (--ref_ld_chr prefix + --chr "
                                                      "must name a PLINK 1 .bed/.bim/.fam fileset)")
        data = Plink1Reader(prefix).read()
        v = data.variants
        variants = pd.DataFrame({"chrom": v["chrom"].astype(str), "pos": v["pos"].to_numpy(np.int64),
                                 "snp": v["id"].astype(str), "a1": v["alt"].str.upper(), "a2": v["ref"].str.upper()})
        return cls(data.dosages, variants, path=prefix, cache_size=cache_size)

    @property
    def n_snps(self) -> int:
        return len(self.variants)

    def standardized(self, indices: np.ndarray) -> np.ndarray:
        """``(n, len(indices))`` float64 standardised genotypes of reference rows ``indices``.

        Missing calls (mean-imputed) are 0; monomorphic SNPs are all 0.
        """
        indices = np.asarray(indices, dtype=np.int64)
        g = self._by_sample[:, indices]
        x = g.astype(np.float64)
        x -= self._mean[indices]
        sd = self._sd[indices]
        np.divide(x, sd, out=x, where=sd > 0)
        x[:, sd == 0] = 0.0
        if self._has_missing:
            x[(g == MISSING_INT8) if g.dtype == np.int8 else np.isnan(g)] = 0.0
        return x

    def block(self, indices: np.ndarray) -> LdBlock:
        """The :class:`LdBlock` of reference rows ``indices`` (in that order), from the cache when present."""
        indices = np.ascontiguousarray(indices, dtype=np.int64)
        key = indices.tobytes()
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        block = LdBlock(indices, self.standardized(indices))
        self.blocks_computed += 1
        self._cache[key] = block
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return block


def _moments(dosages: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """Per-SNP mean of observed calls and SD (n − 1) after mean imputation, ``(m,)`` float64 each, and
    whether any call is missing.

    Hard calls (int8 0/1/2, :data:`MISSING_INT8` missing) are summarised by genotype counts, without a
    floating-point copy of the matrix; float dosages are processed in chunks of SNPs.
    """
    n = dosages.shape[1]
    if dosages.dtype == np.int8:
        c1 = np.count_nonzero(dosages == 1, axis=1).astype(np.float64)
        c2 = np.count_nonzero(dosages == 2, axis=1).astype(np.float64)
        n_missing = np.count_nonzero(dosages == MISSING_INT8, axis=1)
        observed = (n - n_missing).astype(np.float64)
        mean = np.divide(c1 + 2 * c2, observed, out=np.zeros(len(c1)), where=observed > 0)
        var = np.maximum(c1 + 4 * c2 - observed * mean * mean, 0.0) / (n - 1)
        has_missing = bool(n_missing.any())
    else:
        mean = np.zeros(dosages.shape[0])
        var = np.zeros(dosages.shape[0])
        has_missing = False
        for a in range(0, dosages.shape[0], 1024):
            x = dosages[a:a + 1024].astype(np.float64)
            missing = np.isnan(x)
            has_missing |= bool(missing.any())
            observed = n - missing.sum(axis=1)
            x[missing] = 0.0
            m = np.divide(x.sum(axis=1), observed, out=np.zeros(len(x)), where=observed > 0)
            dev = np.where(missing, 0.0, x - m[:, None])
            mean[a:a + 1024] = m
            var[a:a + 1024] = np.einsum("ij,ij->i", dev, dev) / (n - 1)
    sd = np.sqrt(var)
    sd[sd < 1e-12] = 0.0
    return mean, sd, has_missing
