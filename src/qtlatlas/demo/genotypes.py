"""Genotypes as a mosaic of founder haplotypes (as in heterogeneous-stock or multi-parent populations).

Model, per chromosome:

* **founder patterns** – ``K`` founder haplotypes. Neighbouring variants share a founder allele pattern
  over runs of mean length ``pattern_run_bp`` (a new pattern starts with probability ``1 - exp(-d/run)``
  after a gap of ``d`` bp); 10% of the variants differ from their run's pattern at one founder. The
  number of founders carrying the ALT allele follows the neutral spectrum ``P(k) ∝ 1/k``, so most
  variants are rare or low-frequency.
* **mosaic** – each haplotype of a descendant copies founders in segments; breakpoints form a Poisson
  process on a genetic map whose local rate varies (gamma-distributed per 50 kb bin, i.e. hotspots), with
  mean segment length ``mean_segment_bp``. Founders contribute unequally (Dirichlet weights).
* **noise** – ``young`` variants are recent mutations carried by haplotypes independently at low
  frequency; every allele flips with probability ``mutation_rate``.

The two haplotypes of an individual are independent, so Hardy–Weinberg proportions hold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_BASES = np.array(list("ACGT"))
#: Share of variants whose founder pattern differs from their run's at one founder (moderate LD).
PATTERN_TWEAK = 0.1


@dataclass(frozen=True)
class Variants:
    """Bi-allelic SNPs of all chromosomes, sorted by chromosome then position.

    ``chrom`` (V,) chromosome names; ``pos`` (V,) int64 1-based first-release positions; ``ids`` (V,)
    ``rs…`` ids; ``ref``/``alt`` (V,) single bases; ``bounds[chrom]`` = (first, last + 1) index.
    """

    chrom: np.ndarray
    pos: np.ndarray
    ids: np.ndarray
    ref: np.ndarray
    alt: np.ndarray
    bounds: dict[str, tuple[int, int]]

    def __len__(self) -> int:
        return len(self.pos)


@dataclass(frozen=True)
class FounderPanel:
    """Everything needed to draw new haplotypes.

    ``haplotypes`` (K, V) int8 founder alleles (1 = ALT); ``weights`` (K,) founder contributions;
    ``genetic_map`` (V,) cumulative genetic map in expected breakpoints from the chromosome start;
    ``chrom_bounds`` (first, last + 1) variant index per chromosome; ``young`` (V,) bool and ``young_freq`` (V,)
    ALT frequency of recent mutations; ``mutation_rate`` per allele.
    """

    haplotypes: np.ndarray
    weights: np.ndarray
    genetic_map: np.ndarray
    chrom_bounds: tuple[tuple[int, int], ...]
    young: np.ndarray
    young_freq: np.ndarray
    mutation_rate: float


def simulate_variants(chroms: tuple[str, ...], chrom_length: int, n_per_chrom: int,
                      rng: np.random.Generator) -> Variants:
    """Uniformly scattered distinct SNP positions with random REF/ALT bases and ids ``rs100001``…"""
    chrom, pos = [], []
    bounds = {}
    for c in chroms:
        p = 1_000 + np.sort(rng.choice(chrom_length - 2_000, size=n_per_chrom, replace=False))
        bounds[c] = (len(pos), len(pos) + n_per_chrom)
        chrom += [c] * n_per_chrom
        pos += p.tolist()
    n = len(pos)
    ref_i = rng.integers(0, 4, size=n)
    alt_i = (ref_i + rng.integers(1, 4, size=n)) % 4
    ids = np.array([f"rs{100_001 + i}" for i in range(n)])
    return Variants(np.array(chrom), np.array(pos, dtype=np.int64), ids, _BASES[ref_i], _BASES[alt_i], bounds)


def _founder_patterns(pos: np.ndarray, n_founders: int, run_bp: float, rng: np.random.Generator) -> np.ndarray:
    """(K, V) int8 founder alleles for one chromosome; see the module docstring."""
    v = len(pos)
    gaps = np.diff(pos, prepend=pos[0] - 10 * run_bp).astype(float)
    new_run = rng.random(v) < 1.0 - np.exp(-gaps / run_bp)
    new_run[0] = True
    run = np.cumsum(new_run) - 1
    n_runs = int(run[-1]) + 1
    k = np.arange(1, n_founders)
    carriers = rng.choice(k, size=n_runs, p=(1.0 / k) / np.sum(1.0 / k))
    ranks = np.argsort(np.argsort(rng.random((n_runs, n_founders)), axis=1), axis=1)
    patterns = (ranks < carriers[:, None]).astype(np.int8)  # (runs, K)
    hap = patterns[run].copy()  # (V, K)
    tweak = np.flatnonzero(rng.random(v) < PATTERN_TWEAK)
    who = rng.integers(0, n_founders, size=len(tweak))
    hap[tweak, who] ^= 1
    count = hap.sum(axis=1)
    bad = tweak[(count[tweak] == 0) | (count[tweak] == n_founders)]
    hap[bad, who[np.isin(tweak, bad)]] ^= 1
    return np.ascontiguousarray(hap.T)


def _genetic_map(pos: np.ndarray, chrom_length: int, mean_segment_bp: float, rng: np.random.Generator) -> np.ndarray:
    """(V,) cumulative expected number of breakpoints at each variant (hotspot-rich local rates)."""
    bin_bp = 50_000
    n_bins = chrom_length // bin_bp + 1
    rate = rng.gamma(0.3, 1 / 0.3, size=n_bins) / mean_segment_bp  # breakpoints per bp
    edges = np.concatenate([[0.0], np.cumsum(rate * bin_bp)])
    return np.interp(pos, np.arange(n_bins + 1) * bin_bp, edges)


def simulate_founders(variants: Variants, chrom_length: int, n_founders: int, mean_segment_bp: float,
                      pattern_run_bp: float, young_fraction: float, mutation_rate: float,
                      rng: np.random.Generator) -> FounderPanel:
    """The founder panel of the population (see the module docstring)."""
    haps, maps, bounds = [], [], []
    for lo, hi in variants.bounds.values():
        pos = variants.pos[lo:hi]
        haps.append(_founder_patterns(pos, n_founders, pattern_run_bp, rng))
        maps.append(_genetic_map(pos, chrom_length, mean_segment_bp, rng))
        bounds.append((lo, hi))
    v = len(variants)
    young = rng.random(v) < young_fraction
    young_freq = np.where(young, np.exp(rng.uniform(np.log(0.003), np.log(0.04), size=v)), 0.0)
    weights = rng.dirichlet(np.full(n_founders, 3.0))
    return FounderPanel(np.concatenate(haps, axis=1), weights, np.concatenate(maps), tuple(bounds),
                        young, young_freq, mutation_rate)


def sample_haplotypes(panel: FounderPanel, n_haplotypes: int, rng: np.random.Generator,
                      chunk: int = 1000) -> np.ndarray:
    """(n_haplotypes, V) int8 alleles (1 = ALT) of new mosaic haplotypes."""
    k, v = panel.haplotypes.shape
    out = np.empty((n_haplotypes, v), dtype=np.int8)
    cols = np.arange(v)
    young_idx = np.flatnonzero(panel.young)
    for h0 in range(0, n_haplotypes, chunk):
        m = min(chunk, n_haplotypes - h0)
        switch = np.zeros((m, v), dtype=np.int32)
        for lo, hi in panel.chrom_bounds:
            switch[:, lo] = 1
            g = panel.genetic_map[lo:hi]
            n_bp = rng.poisson(g[-1] - g[0], size=m)
            rows = np.repeat(np.arange(m), n_bp)
            at = lo + np.searchsorted(g, rng.uniform(g[0], g[-1], size=n_bp.sum()), side="left")
            at = np.minimum(at, hi - 1)
            switch[rows, at] = 1
        segment = np.cumsum(switch, axis=1, out=switch) - 1
        n_seg = int(segment.max()) + 1
        founder = rng.choice(k, size=(m, n_seg), p=panel.weights).astype(np.int8)
        which = np.take_along_axis(founder, segment, axis=1)
        hap = panel.haplotypes[which, cols]
        hap[:, young_idx] = rng.random((m, len(young_idx))) < panel.young_freq[young_idx]
        n_mut = rng.binomial(m * v, panel.mutation_rate)
        flat = rng.integers(0, m * v, size=n_mut)
        hap.reshape(-1)[flat] ^= 1
        out[h0:h0 + m] = hap
    return out


def sample_dosages(panel: FounderPanel, n_individuals: int, rng: np.random.Generator) -> np.ndarray:
    """(n_individuals, V) int8 ALT allele counts (0, 1, 2) of individuals with two independent mosaics."""
    hap = sample_haplotypes(panel, 2 * n_individuals, rng)
    return hap[:n_individuals] + hap[n_individuals:]


def allele_frequency(dosage: np.ndarray) -> np.ndarray:
    """(V,) ALT allele frequency of an (n, V) dosage matrix."""
    return dosage.mean(axis=0, dtype=np.float64) / 2.0


# --------------------------------------------------------------------------------------------------
# VCF
# --------------------------------------------------------------------------------------------------

_GT = np.array(["0/0", "0/1", "1/1", "./."])


def vcf_text(variants: Variants, dosage: np.ndarray, missing: np.ndarray, samples: list[str],
             lengths: dict[str, int], offsets: dict[str, int], genome: str) -> str:
    """VCF 4.2 text with a GT field: ``dosage`` (n, V) int8, ``missing`` (n, V) bool written as ``./.``;
    positions shifted by ``offsets[chrom]``; contig lengths are those of the release's build."""
    head = ["##fileformat=VCFv4.2", "##source=qtlatlas.demo (synthetic genotypes)",
            f"##reference={genome}"]
    head += [f"##contig=<ID={c},length={lengths[c]},assembly={genome}>" for c in variants.bounds]
    head += ['##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
             "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", *samples])]
    codes = dosage.T.astype(np.int8)
    codes[missing.T] = 3
    gts = _GT[codes]
    off = np.array([offsets[c] for c in variants.chrom], dtype=np.int64)
    lines = [f"{c}\t{p}\t{i}\t{r}\t{a}\t.\tPASS\t.\tGT\t" + "\t".join(row)
             for c, p, i, r, a, row in zip(variants.chrom, variants.pos + off, variants.ids, variants.ref,
                                           variants.alt, gts, strict=True)]
    return "\n".join(head + lines) + "\n"
