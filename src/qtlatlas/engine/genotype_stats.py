"""Per-variant summaries of dosage matrices, with tensorQTL's definitions.

Dosages are ALT-allele counts, shape (m variants, n samples), float with NaN for missing calls.
"""

from __future__ import annotations

import numpy as np


def impute_mean(dosages: np.ndarray) -> np.ndarray:
    """Replace NaN by the mean of the variant's observed dosages (0 when none is observed); float copy."""
    G = np.array(dosages, dtype=np.float64 if dosages.dtype == np.float64 else np.float32, copy=True)
    missing = np.isnan(G)
    if missing.any():
        counts = (~missing).sum(axis=1)
        sums = np.where(missing, 0, G).sum(axis=1)
        means = np.divide(sums, counts, out=np.zeros_like(sums, dtype=np.float64), where=counts > 0)
        rows, cols = np.nonzero(missing)
        G[rows, cols] = means[rows]
    return G


def allele_summaries(G: np.ndarray) -> dict[str, np.ndarray]:
    """ALT allele frequency and minor-allele sample/allele counts of imputed dosages ``G`` (m, n).

    Returns ``af`` (float, ALT frequency), ``ma_samples`` (samples carrying the minor allele: dosage
    > 0.5 when ALT is minor, < 1.5 otherwise) and ``ma_count`` (minor-allele copies, rounded), each (m,).
    """
    n = G.shape[1]
    total = G.sum(axis=1, dtype=np.float64)
    af = total / (2 * n)
    alt_minor = af <= 0.5
    carriers_alt = (G > 0.5).sum(axis=1)
    carriers_ref = (G < 1.5).sum(axis=1)
    ma_samples = np.where(alt_minor, carriers_alt, carriers_ref)
    alt_copies = np.where(G > 0.5, G, 0).sum(axis=1, dtype=np.float64)
    ref_copies = np.where(G < 1.5, 2 - G, 0).sum(axis=1, dtype=np.float64)
    ma_count = np.where(alt_minor, alt_copies, ref_copies)
    return {"af": af, "ma_samples": ma_samples.astype(np.int32), "ma_count": np.rint(ma_count).astype(np.int32)}
