"""Individuals, their sex, and which of them were sampled in each tissue (with batch and sequencing depth)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SampleDesign:
    """``individual_ids`` (n,); ``sex`` (n,) int8, 1 = female; per tissue id: ``samples`` sorted
    individual indices (n_t,), ``batch`` (n_t,) int8 0/1 (library-prep batch), ``depth`` (n_t,) reads
    per kb of transcript per TPM (a sequencing-depth factor)."""

    individual_ids: tuple[str, ...]
    sex: np.ndarray
    samples: dict[str, np.ndarray]
    batch: dict[str, np.ndarray]
    depth: dict[str, np.ndarray]

    def sample_ids(self, tissue: str) -> list[str]:
        return [self.individual_ids[i] for i in self.samples[tissue]]


def design_samples(n_individuals: int, tissues: list[str], fraction: tuple[float, float],
                   rng: np.random.Generator) -> SampleDesign:
    """Each tissue keeps a different random subset of ``fraction`` (uniform in the range) of individuals."""
    ids = tuple(f"IND{i + 1:04d}" for i in range(n_individuals))
    sex = (rng.random(n_individuals) < 0.5).astype(np.int8)
    samples, batch, depth = {}, {}, {}
    for t in tissues:
        n_t = max(10, int(round(rng.uniform(*fraction) * n_individuals)))
        idx = np.sort(rng.choice(n_individuals, size=min(n_t, n_individuals), replace=False))
        samples[t] = idx
        batch[t] = (rng.random(len(idx)) < rng.uniform(0.3, 0.6)).astype(np.int8)
        depth[t] = rng.uniform(20.0, 50.0, size=len(idx))
    return SampleDesign(ids, sex, samples, batch, depth)
