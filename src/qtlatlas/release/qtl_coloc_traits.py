"""One phenotype of a release's all-pairs store as a coloc trait: its per-variant log approximate Bayes factors.

A trait is every tested variant of one phenotype in one tissue × modality (a run of the all-pairs store,
:mod:`qtlatlas.release.all_pairs`), read back as stored: ``nlog10p``, ``slope`` and ``slope_se`` as float32,
the variant's allele frequency ``af`` in the samples of that tissue × modality. Two routes, as coloc's
``coloc.abf`` takes a quantitative dataset (:mod:`qtlatlas.engine.coloc` has the formulas):

* **effects** (the store has ``slope`` and ``slope_se``): ``beta = slope``, ``varbeta = slope_se²`` and ``sdY``
  estimated from ``varbeta``, ``af`` and N over every variant of the run (coloc's ``sdY.est`` on the whole
  dataset, before the two traits' variants are matched);
* **p-values** (no effect sizes: RatGTEx's p-value-only archives, or an ``sdY`` that is not estimable):
  ``|z| = −Φ⁻¹(p / 2)`` computed from ``nlog10p`` on the log scale (:func:`abs_z_from_nlog10p`: no underflow
  where p is below 1e-308), ``varbeta = 1 / (2 N f (1 − f))`` and ``sdY = 1`` (coloc's ``pvalues`` + ``MAF`` + N
  input). A store without allele frequencies takes them from the release's genotype matrix, over the genotyped
  samples of the tissue × modality (:class:`GenotypeFrequencies`).

Per variant ``lABF = ½ (log(1 − r) + r z²)`` with prior SD 0.15 · sdY; a variant whose value is missing (no
``af``, a frequency of 0 or 1, no statistic) has a NaN lABF and is left out of the pair.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from scipy.special import ndtri_exp

from ..engine.coloc import PRIOR_SD_QUANT, estimate_sdy, log_abf, standardised_varbeta
from ..engine.ld import unpack
from ..store.all_pairs_file import AllPairsFile
from . import layout

_LN10, _LN2 = math.log(10.0), math.log(2.0)
#: The two routes of a trait.
EFFECTS, PVALUES = "effects", "pvalues"


def abs_z_from_nlog10p(nlog10p) -> np.ndarray:
    """``|z|`` of two-sided p-values given as −log10 p, ``(m,)`` float64: ``z = −Φ⁻¹(p / 2)`` with
    ``log(p / 2) = −nlog10p · ln 10 − ln 2`` passed to :func:`scipy.special.ndtri_exp`, so that a p-value far
    below float64's range (nlog10p of 400 or 4,000) keeps a finite, exact z. A negative ``nlog10p`` (p just
    above 1 from rounding) counts as 0 (z = 0); NaN stays NaN and ``+inf`` (p = 0 exactly) gives ``inf``."""
    x = np.asarray(nlog10p, dtype=np.float64)
    return -ndtri_exp(-np.maximum(x, 0.0) * _LN10 - _LN2)


@dataclass
class Trait:
    """One phenotype of one tissue × modality, ready for coloc.abf.

    ``variant_index`` ``(m,)`` int64, ascending (rows of the release's variant table); ``labf`` ``(m,)``
    float64, the per-variant log ABF (NaN where not computable); ``route`` :data:`EFFECTS` or
    :data:`PVALUES`; ``sdy`` the trait standard deviation used (1 on the p-value route); ``n`` the sample
    size."""

    variant_index: np.ndarray
    labf: np.ndarray
    route: str
    sdy: float
    n: float


def trait_labf(nlog10p, slope, slope_se, af, n: float,
               prior_sd: float = PRIOR_SD_QUANT) -> tuple[np.ndarray, str, float] | None:
    """Per-variant log ABF ``(m,)`` of one trait from its stored arrays (each ``(m,)``; NaN where missing),
    with the route taken and ``sdY``; None when neither route applies (no N, or neither effects nor p-values
    with frequencies). The effects route needs a finite ``slope`` and a positive ``slope_se`` at some variant
    and an estimable ``sdY``; otherwise the p-value route is taken."""
    if not (n > 0):
        return None
    slope = np.asarray(slope, dtype=np.float64)
    se = np.asarray(slope_se, dtype=np.float64)
    af = np.asarray(af, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        usable = np.isfinite(slope) & np.isfinite(se) & (se > 0)
    if usable.any():
        varbeta = np.where(usable, se * se, np.nan)
        sdy = estimate_sdy(varbeta, af, n)
        if math.isfinite(sdy):
            with np.errstate(invalid="ignore", divide="ignore"):
                labf = log_abf(np.where(usable, slope, np.nan), varbeta, sdy, prior_sd)
            return labf, EFFECTS, sdy
    z = abs_z_from_nlog10p(nlog10p)
    varbeta = standardised_varbeta(af, n)
    if not (np.isfinite(z) & np.isfinite(varbeta)).any():
        return None
    with np.errstate(invalid="ignore", divide="ignore"):
        labf = log_abf(z * np.sqrt(varbeta), varbeta, 1.0, prior_sd)
    return labf, PVALUES, 1.0


class GenotypeFrequencies:
    """ALT allele frequencies of any variants of a release, over the genotyped samples of one tissue × modality,
    from the release's genotype matrix (``tables/genotype_matrix.bed``, rows = variant indices): the source of
    ``af`` for an all-pairs store that lacks it. Missing calls are left out of a variant's frequency."""

    def __init__(self, release_dir: str | Path):
        from ..store.ld import GenotypeMatrix  # positioned reads of the rows asked, nothing else decoded

        root = Path(release_dir)
        n_variants = pq.read_metadata(root / layout.table_path("variants")).num_rows
        self.matrix = GenotypeMatrix(root / layout.table_path("genotype_matrix"), n_variants)
        samples = pq.read_table(root / layout.table_path("samples"), columns=["sample_id", "tissue", "modalities"])
        self._samples = samples.to_pylist()
        self._keep: dict[tuple[str, str], np.ndarray] = {}

    def keep(self, tissue: str, modality: str) -> np.ndarray:
        """``(n_samples,)`` bool: the matrix columns of the samples of ``tissue`` × ``modality``."""
        key = (tissue, modality)
        if key not in self._keep:
            ids = [r["sample_id"] for r in self._samples if r["tissue"] == tissue and modality in (r["modalities"] or ())]
            self._keep[key] = self.matrix.keep(ids)
        return self._keep[key]

    def af(self, tissue: str, modality: str, variant_index: np.ndarray) -> np.ndarray:
        """``(m,)`` float64 ALT frequency of each variant index (NaN where no kept sample is genotyped)."""
        index = np.asarray(variant_index, dtype=np.int64)
        keep = self.keep(tissue, modality)
        if not len(index) or not keep.any():
            return np.full(len(index), np.nan)
        calls = unpack(self.matrix.take(index), self.matrix.n_samples)[:, keep]
        called = calls >= 0
        count = called.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(count > 0, np.where(called, calls, 0).sum(axis=1, dtype=np.int64) / (2.0 * count), np.nan)

    def close(self) -> None:
        self.matrix.close()


def read_run(file: AllPairsFile, run: int) -> dict[str, np.ndarray]:
    """Every stored value of run ``run`` (one phenotype): ``variant_index`` (int64, ascending), ``nlog10p``,
    ``slope``, ``slope_se`` and ``af`` (float64, NaN where missing), each ``(m,)``."""
    first, n = int(file.first_row[run]), int(file.n_rows[run])
    rows = np.arange(first, first + n, dtype=np.int64)
    values = file.pair_values(rows, np.full(n, run, dtype=np.int64))
    out = {"variant_index": np.asarray(values["variant_index"], dtype=np.int64)}
    for c in ("nlog10p", "slope", "slope_se"):
        out[c] = values[c].to_numpy(zero_copy_only=False).astype(np.float64)
    af = file.variant_stats(out["variant_index"]).column("af")
    out["af"] = af.to_numpy(zero_copy_only=False).astype(np.float64)
    return out


def read_trait(file: AllPairsFile, run: int, n: float, tissue: str, modality: str,
               frequencies=None) -> Trait | None:
    """The :class:`Trait` of run ``run`` of a tissue × modality's store with sample size ``n``; ``frequencies``
    is a callable ``() -> GenotypeFrequencies`` used (once) when the store has no allele frequency for the run.
    None when no route applies (see :func:`trait_labf`)."""
    v = read_run(file, run)
    af = v["af"]
    if frequencies is not None and len(af) and np.isnan(af).all():
        af = frequencies().af(tissue, modality, v["variant_index"])
    found = trait_labf(v["nlog10p"], v["slope"], v["slope_se"], af, n)
    if found is None:
        return None
    labf, route, sdy = found
    return Trait(v["variant_index"], labf, route, sdy, n)
