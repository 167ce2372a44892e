"""One simulated tissue at RatGTEx density, for :mod:`benchmarks.bench_pipeline`.

* **genome** – the 20 rat autosomes (about the mRatBN7.2 lengths, 2.62 Gb), :data:`GenomeSpec.n_variants` bi-allelic
  SNPs spread in proportion to chromosome length (about 380 per Mb), genotypes of
  :data:`GenomeSpec.n_samples` individuals as mosaics of 8 founder haplotypes with LD (the model of
  :mod:`qtlatlas.demo.genotypes`), 0.3% missing calls, written as one PLINK 1 fileset. It does not depend on
  the phenotypes and is cached (``genome-<key>/`` under the cache directory).
* **genes** – 20,000 genes placed at random over the genome (in proportion to chromosome length), each with
  features of the six modalities at Pantry-like counts (:data:`MODALITIES`): expression 20,000; isoforms
  40,000 in 15,000 genes; splicing 60,000 in 12,000 genes; alt_TSS and alt_polyA 25,000 each in 10,000
  genes; stability 15,000. Every phenotype is anchored at its gene's TSS (Pantry BEDs). Grouped modalities
  use Pantry ids ``GENE__feature`` and are grouped by gene.
* **a fraction of the genes** – :func:`select_genes` takes a random subset of the genes (nested: the
  genes of a smaller fraction are among those of a larger one) plus one gene with every modality on each
  chromosome, so that every modality has phenotypes on every chromosome (each task then prepares the whole
  genome, as at fraction 1), and :func:`write_atlas` writes the phenotypes of all their features: a run
  maps about that fraction of every modality while the genotypes stay those of the whole genome.
* **planted cis effects** (per gene, the same whatever the fraction): an eQTL in 45% of the genes (a common
  variant, 80% of the time within an Exponential(30 kb) distance of the TSS, else up to 500 kb away), a
  second, independent eQTL in 30% of those; a QTL for each other modality in 45% of the genes (40% of
  them the eQTL variant), on one feature of the gene. Effect sizes (share of the latent phenotype's
  variance) are log-uniform in [0.02, 0.4]: at 400 samples about 45% of the genes are eGenes (q ≤ 0.05).
  Phenotypes also carry 6 hidden confounders (15–45% of the variance for expression, 5–25% otherwise),
  given to the pipeline as each modality's covariates (with ``mapping.phenotype_pcs: 0``): phenotype PCs
  computed from a small fraction of the phenotypes would absorb the planted effects, so the eGenes found
  would depend on the fraction.
* **native values** – expression: TPM from Poisson read counts (and a log2(count + 1) BED for aFC); ratio
  modalities: softmax of logits within the gene, missing (NA) for 1% of gene × sample pairs;
  stability: a log2 ratio with the same missingness.

Everything is deterministic for a given seed.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from qtlatlas.demo.genotypes import Variants, sample_dosages, simulate_founders
from qtlatlas.demo.rng import stream
from qtlatlas.io.phenotypes import PhenotypeTable, write_phenotype_bed

#: Autosome lengths, bp: about those of the rat genome assembly mRatBN7.2 (rn7).
RAT_AUTOSOMES: dict[str, int] = {
    "chr1": 282_763_074, "chr2": 266_435_125, "chr3": 177_699_992, "chr4": 184_226_339, "chr5": 173_707_219,
    "chr6": 147_991_367, "chr7": 145_729_302, "chr8": 133_307_652, "chr9": 122_095_297, "chr10": 112_626_471,
    "chr11": 90_463_843, "chr12": 52_716_770, "chr13": 114_033_958, "chr14": 115_493_446, "chr15": 111_246_239,
    "chr16": 90_668_790, "chr17": 90_843_779, "chr18": 88_201_929, "chr19": 62_275_575, "chr20": 56_205_956,
}
#: The smaller genome of the memory comparison: five autosomes including the two largest (chr1 and chr2,
#: adjacent in the genome's order as in the whole genome), so that the largest per-chromosome working set is
#: the same as in the whole genome (720 Mb, 28% of it).
SMALL_GENOME: tuple[str, ...] = ("chr1", "chr2", "chr12", "chr19", "chr20")
#: The genome of the dense run, which measures the cost per phenotype: the smallest autosome (chr12, 2% of
#: the variants), where reading and preparing the genotypes costs little beside the phenotypes.
DENSE_GENOME: tuple[str, ...] = ("chr12",)
TISSUE = "Adipose"
RELEASE = "v1"
_FORMAT = 1  # bump when the genome files change


@dataclass(frozen=True)
class ModalitySpec:
    """A modality at atlas scale: ``n_phenotypes`` features over ``n_genes`` genes (grouped when more
    than one feature per gene)."""

    id: str
    n_phenotypes: int
    n_genes: int

    @property
    def grouped(self) -> bool:
        return self.n_phenotypes > self.n_genes


MODALITIES: tuple[ModalitySpec, ...] = (
    ModalitySpec("expression", 20_000, 20_000),
    ModalitySpec("isoforms", 40_000, 15_000),
    ModalitySpec("splicing", 60_000, 12_000),
    ModalitySpec("alt_TSS", 25_000, 10_000),
    ModalitySpec("alt_polyA", 25_000, 10_000),
    ModalitySpec("stability", 15_000, 15_000),
)


@dataclass(frozen=True)
class GenomeSpec:
    """Sizes of the simulated genome and cohort (see the module docstring)."""

    seed: int = 1
    n_variants: int = 1_000_000
    n_samples: int = 400
    n_genes: int = 20_000
    n_founders: int = 8
    mean_segment_bp: int = 1_000_000
    pattern_run_bp: int = 40_000
    young_fraction: float = 0.12
    mutation_rate: float = 5e-4
    missing_rate: float = 0.003

    def key(self) -> str:
        text = json.dumps({**asdict(self), "format": _FORMAT, "chroms": RAT_AUTOSOMES}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    @property
    def samples(self) -> list[str]:
        return [f"HS{i + 1:04d}" for i in range(self.n_samples)]


# --------------------------------------------------------------------------------------------------
# genotypes
# --------------------------------------------------------------------------------------------------

_A1_CODE = np.array([3, 2, 0], dtype=np.uint8)  # PLINK 1 2-bit code of 0, 1, 2 copies of A1; 1 = missing


def _pack_bed(dosage: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """(V, n) int8 ALT counts and (V, n) missing mask → (V, ceil(n / 4)) uint8 SNP-major .bed rows (A1 = ALT)."""
    codes = _A1_CODE[dosage]
    codes[missing] = 1
    pad = (-codes.shape[1]) % 4
    if pad:
        codes = np.pad(codes, ((0, 0), (0, pad)))
    return codes[:, 0::4] | (codes[:, 1::4] << 2) | (codes[:, 2::4] << 4) | (codes[:, 3::4] << 6)


def variants_per_chrom(spec: GenomeSpec) -> dict[str, int]:
    """Variants of each autosome: ``spec.n_variants`` in proportion to the chromosome lengths."""
    lengths = np.array(list(RAT_AUTOSOMES.values()), dtype=np.float64)
    quota = spec.n_variants * lengths / lengths.sum()
    counts = np.floor(quota).astype(int)
    counts[np.argsort(quota - counts)[::-1][: spec.n_variants - counts.sum()]] += 1
    return dict(zip(RAT_AUTOSOMES, counts.tolist(), strict=True))


def ensure_genome(spec: GenomeSpec, cache: Path, log=print) -> Path:
    """The cached genome directory for ``spec`` (simulated when absent): ``genotypes.{bed,bim,fam}`` (PLINK 1,
    A1 = ALT), ``variants.npz`` (``pos`` int64 (V,), ``maf`` float32 (V,), ``bounds`` (20, 2) first and
    last + 1 variant index per chromosome in :data:`RAT_AUTOSOMES` order)."""
    root = cache / f"genome-{spec.key()}"
    if (root / "done").exists():
        return root
    root.mkdir(parents=True, exist_ok=True)
    counts = variants_per_chrom(spec)
    pos_all, maf_all, bounds = [], [], []
    with open(root / "genotypes.bed.part", "wb") as bed, open(root / "genotypes.bim.part", "w") as bim:
        bed.write(bytes([0x6C, 0x1B, 0x01]))
        start = 0
        for chrom, length in RAT_AUTOSOMES.items():
            n = counts[chrom]
            rng = stream(spec.seed, "variants", chrom)
            pos = 1_000 + np.sort(rng.choice(length - 2_000, size=n, replace=False)).astype(np.int64)
            bases = np.array(list("ACGT"))
            ref_i = rng.integers(0, 4, size=n)
            ref, alt = bases[ref_i], bases[(ref_i + rng.integers(1, 4, size=n)) % 4]
            ids = np.char.add(f"{chrom}:", pos.astype(str))
            variants = Variants(np.full(n, chrom), pos, ids, ref, alt, {chrom: (0, n)})
            panel = simulate_founders(variants, length, spec.n_founders, spec.mean_segment_bp, spec.pattern_run_bp,
                                      spec.young_fraction, spec.mutation_rate, stream(spec.seed, "founders", chrom))
            dosage = sample_dosages(panel, spec.n_samples, stream(spec.seed, "cohort", chrom)).T  # (V, n)
            missing = stream(spec.seed, "missing", chrom).random(dosage.shape) < spec.missing_rate
            af = dosage.mean(axis=1, dtype=np.float64) / 2
            bed.write(_pack_bed(dosage, missing).tobytes())
            bim.write("".join(f"{chrom}\t{i}\t0\t{p}\t{a}\t{r}\n" for i, p, a, r in zip(ids, pos, alt, ref, strict=True)))
            pos_all.append(pos)
            maf_all.append(np.minimum(af, 1 - af).astype(np.float32))
            bounds.append((start, start + n))
            start += n
            log(f"    simulated {chrom}: {n:,} variants")
            del dosage, missing, panel
    (root / "genotypes.fam").write_text("".join(f"{s}\t{s}\t0\t0\t0\t-9\n" for s in spec.samples))
    np.savez(root / "variants.npz", pos=np.concatenate(pos_all), maf=np.concatenate(maf_all), bounds=np.array(bounds))
    os.replace(root / "genotypes.bed.part", root / "genotypes.bed")
    os.replace(root / "genotypes.bim.part", root / "genotypes.bim")
    (root / "done").write_text("ok\n")
    return root


def genome_subset(genome: Path, chroms: tuple[str, ...], cache: Path) -> Path:
    """A PLINK 1 fileset holding only ``chroms`` of ``genome`` (the same rows, cached next to it);
    returns its prefix."""
    names = list(RAT_AUTOSOMES)
    root = genome.parent / f"{genome.name}-{'-'.join(chroms)}"
    prefix = root / "genotypes"
    if (root / "done").exists():
        return prefix
    root.mkdir(parents=True, exist_ok=True)
    bounds = np.load(genome / "variants.npz")["bounds"]
    n_samples = sum(1 for _ in open(genome / "genotypes.fam"))
    width = -(-n_samples // 4)
    packed = np.memmap(genome / "genotypes.bed", dtype=np.uint8, mode="r", offset=3, shape=(int(bounds[-1][1]), width))
    bim = (genome / "genotypes.bim").read_text().splitlines(keepends=True)
    with open(f"{prefix}.bed", "wb") as bed, open(f"{prefix}.bim", "w") as out:
        bed.write(bytes([0x6C, 0x1B, 0x01]))
        for chrom in chroms:
            lo, hi = bounds[names.index(chrom)]
            bed.write(np.asarray(packed[lo:hi]).tobytes())
            out.write("".join(bim[lo:hi]))
    (root / "genotypes.fam").write_text((genome / "genotypes.fam").read_text())
    (root / "done").write_text("ok\n")
    return prefix


# --------------------------------------------------------------------------------------------------
# genes and features
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    """Genes of the whole genome and their features.

    ``genes``: one row per gene, sorted by chromosome then TSS, columns ``gene_id, chrom, tss`` (1-based),
    ``strand``, ``start, end`` (1-based closed), ``length_kb`` (exonic length); ``n_features[m]`` (n_genes,)
    int: features of modality m per gene (0: none).
    """

    genes: pd.DataFrame
    n_features: dict[str, np.ndarray]

    def phenotype_count(self, genes: np.ndarray) -> dict[str, int]:
        """Phenotypes of each modality over the gene indices ``genes``."""
        return {m: int(self.n_features[m][genes].sum()) for m in self.n_features}


def make_layout(spec: GenomeSpec) -> Layout:
    """Place :attr:`GenomeSpec.n_genes` genes and give them features (see the module docstring)."""
    rng = stream(spec.seed, "layout")
    lengths = np.array(list(RAT_AUTOSOMES.values()), dtype=np.float64)
    quota = spec.n_genes * lengths / lengths.sum()
    counts = np.floor(quota).astype(int)
    counts[np.argsort(quota - counts)[::-1][: spec.n_genes - counts.sum()]] += 1
    frames = []
    for (chrom, length), n in zip(RAT_AUTOSOMES.items(), counts, strict=True):
        tss = np.sort(rng.choice(np.arange(200_000, length - 200_000, 100), size=n, replace=False))
        span = np.clip(rng.lognormal(np.log(20_000), 1.0, size=n), 1_000, 400_000).astype(np.int64)
        plus = rng.random(n) < 0.5
        frames.append(pd.DataFrame({"chrom": chrom, "tss": tss, "strand": np.where(plus, "+", "-"),
                                    "start": np.where(plus, tss, tss - span + 1), "end": np.where(plus, tss + span - 1, tss),
                                    "length_kb": np.round(rng.uniform(0.8, 5.0, size=n), 3)}))
    genes = pd.concat(frames, ignore_index=True)
    genes.insert(0, "gene_id", [f"ENSRNOG{i + 1:011d}" for i in range(len(genes))])
    n_features = {}
    scale = spec.n_genes / MODALITIES[0].n_genes  # Pantry-like counts are per 20,000 genes
    for m in MODALITIES:
        n_genes, n_phen = round(m.n_genes * scale), round(m.n_phenotypes * scale)
        chosen = np.sort(rng.choice(len(genes), size=n_genes, replace=False))
        per_gene = np.zeros(len(genes), dtype=np.int64)
        if m.grouped:
            per_gene[chosen] = 2 + rng.multinomial(n_phen - 2 * n_genes, np.full(n_genes, 1 / n_genes))
        else:
            per_gene[chosen] = 1
        n_features[m.id] = per_gene
    return Layout(genes, n_features)


def select_genes(layout: Layout, spec: GenomeSpec, fraction: float, chroms: tuple[str, ...]) -> np.ndarray:
    """Sorted indices of ``fraction`` of all genes, drawn at random over the whole genome, and of
    :func:`one_gene_per_chromosome`, restricted to ``chroms`` (a smaller genome keeps the same genes per
    chromosome)."""
    order = stream(spec.seed, "selection").permutation(len(layout.genes))
    take = order[: max(1, round(fraction * len(layout.genes)))]
    on = layout.genes["chrom"].isin(chroms).to_numpy()
    return np.union1d(take[on[take]], one_gene_per_chromosome(layout, spec, chroms))


def one_gene_per_chromosome(layout: Layout, spec: GenomeSpec, chroms: tuple[str, ...]) -> np.ndarray:
    """Sorted indices of one gene per chromosome of ``chroms``, each with features of every modality (the
    smallest mapping problem on a whole genome: what a task costs besides its phenotypes)."""
    order = stream(spec.seed, "selection").permutation(len(layout.genes))
    complete = np.all([layout.n_features[m.id] > 0 for m in MODALITIES], axis=0)
    chrom = layout.genes["chrom"].to_numpy()
    picked = {}
    for g in order:
        if complete[g] and chrom[g] in chroms and chrom[g] not in picked:
            picked[chrom[g]] = g
    return np.sort(np.array(list(picked.values())))


# --------------------------------------------------------------------------------------------------
# phenotypes
# --------------------------------------------------------------------------------------------------

_CIS = 500_000
_MIN_MAF = 0.05
_R2 = (0.02, 0.4)
_HIDDEN = 6


def _feature_table(layout: Layout, genes: np.ndarray, m: str) -> pd.DataFrame:
    """One row per feature of modality ``m`` of ``genes``: ``gene`` (index), ``k`` (feature of the gene),
    ``chrom``, ``start``, ``end`` (BED: TSS − 1, TSS), ``phenotype_id``; in BED order."""
    per = layout.n_features[m][genes]
    gene = np.repeat(genes, per)
    k = np.concatenate([np.arange(c) for c in per]) if len(per) else np.zeros(0, dtype=np.int64)
    g = layout.genes.iloc[gene]
    gid = g["gene_id"].to_numpy()
    if m in ("expression", "stability"):
        ids = gid
    elif m == "isoforms":
        ids = [f"{x}__ENSRNOT{i + 1:09d}{j:02d}" for x, i, j in zip(gid, gene, k, strict=True)]
    elif m == "splicing":
        tss = g["tss"].to_numpy()
        ids = [f"{x}__{c}:{t + 2_000 + 700 * j}:{t + 9_000 + 500 * j}:clu_{i + 1}"
               for x, c, t, i, j in zip(gid, g["chrom"], tss, gene, k, strict=True)]
    else:
        tag = "TSS" if m == "alt_TSS" else "PAS"
        ids = [f"{x}__{tag}_{j + 1}" for x, j in zip(gid, k, strict=True)]
    tss = g["tss"].to_numpy()
    return pd.DataFrame({"gene": gene, "k": k, "chrom": g["chrom"].to_numpy(), "start": tss - 1, "end": tss,
                         "phenotype_id": ids})


class _Chromosome:
    """Dosages of one chromosome, (V_c, n) float32 with missing calls mean-imputed, with positions (V_c,) and
    MAF (V_c,)."""

    def __init__(self, genome: Path, chrom: str, n_samples: int):
        data = np.load(genome / "variants.npz")
        lo, hi = data["bounds"][list(RAT_AUTOSOMES).index(chrom)]
        self.offset = int(lo)
        self.pos = data["pos"][lo:hi]
        self.maf = data["maf"][lo:hi]
        width = -(-n_samples // 4)
        packed = np.memmap(genome / "genotypes.bed", dtype=np.uint8, mode="r", offset=3,
                           shape=(int(data["bounds"][-1][1]), width))[lo:hi]
        codes = np.stack([(packed >> s) & 3 for s in (0, 2, 4, 6)], axis=2).reshape(hi - lo, -1)[:, :n_samples]
        calls = np.array([2.0, np.nan, 1.0, 0.0], dtype=np.float32)[codes]
        mean = np.nanmean(calls, axis=1, keepdims=True)
        self.dosage = np.where(np.isnan(calls), mean, calls)

    def standardized(self, v: int) -> np.ndarray:
        x = self.dosage[v] - self.dosage[v].mean()
        sd = x.std()
        return x / sd if sd > 0 else x

    def pick(self, rng: np.random.Generator, tss: int) -> int | None:
        """A common variant near a random target position, mostly close to the TSS (index on the chromosome)."""
        lo, hi = np.searchsorted(self.pos, [tss - _CIS, tss + _CIS])
        cand = lo + np.flatnonzero(self.maf[lo:hi] >= _MIN_MAF)
        d = rng.exponential(30_000) if rng.random() < 0.8 else rng.uniform(0, _CIS)
        target = tss + (1 if rng.random() < 0.5 else -1) * min(d, _CIS)
        if len(cand) == 0:
            return None
        return int(cand[np.argmin(np.abs(self.pos[cand] - target))])


def _r2(rng: np.random.Generator) -> float:
    return float(np.exp(rng.uniform(np.log(_R2[0]), np.log(_R2[1]))))


def _gene_effects(rng: np.random.Generator, chrom: _Chromosome, tss: int, modalities: list[str]
                  ) -> list[tuple[str, float, int, float]]:
    """Planted effects of one gene: (modality, which feature of the gene as a fraction in [0, 1), variant
    index on the chromosome, signed R²). Draws the same numbers for a gene whatever is kept."""
    out: list[tuple[str, float, int, float]] = []
    egene = rng.random() < 0.45
    v1 = chrom.pick(rng, tss)
    r2a, sign_a = _r2(rng), rng.choice([-1.0, 1.0])
    second = rng.random() < 0.3
    v2 = None
    for _ in range(3):
        v = chrom.pick(rng, tss)
        if v is not None and v1 is not None and v != v1:
            r = np.corrcoef(chrom.dosage[v], chrom.dosage[v1])[0, 1]
            if np.isfinite(r) and r * r < 0.2:
                v2 = v
                break
    r2b, sign_b = _r2(rng), rng.choice([-1.0, 1.0])
    if egene and v1 is not None and "expression" in modalities:
        out.append(("expression", 0.0, v1, sign_a * r2a))
        if second and v2 is not None:
            out.append(("expression", 0.0, v2, sign_b * r2b))
    for m in MODALITIES[1:]:
        has = rng.random() < 0.45
        reuse = rng.random() < 0.4
        own = chrom.pick(rng, tss)
        r2, sign = _r2(rng), rng.choice([-1.0, 1.0])
        which = rng.random()
        v = v1 if reuse else own
        if has and v is not None and m.id in modalities:
            out.append((m.id, which, v, sign * r2))
    return out


def _latent(features: pd.DataFrame, effects: dict[int, list[tuple[np.ndarray, float]]], hidden: np.ndarray,
            conf_share: tuple[float, float], rng: np.random.Generator) -> np.ndarray:
    """(p, n) latent phenotypes with unit variance: planted genetic effects (``effects[row]`` = list of
    (standardised genotype (n,), signed R²)), hidden confounders ``hidden`` (n, q), noise."""
    p, n = len(features), hidden.shape[0]
    loadings = rng.standard_normal((p, hidden.shape[1]))
    conf = loadings @ hidden.T
    conf /= conf.std(axis=1, keepdims=True) + 1e-12
    share = rng.uniform(*conf_share, size=p)
    z = conf * np.sqrt(share)[:, None]
    explained = share.copy()
    for row, terms in effects.items():
        total = sum(abs(r2) for _, r2 in terms)
        scale = min(1.0, (0.9 - share[row]) / total) if total > 0 else 1.0
        for g, r2 in terms:
            z[row] += np.sign(r2) * np.sqrt(abs(r2) * scale) * g
        explained[row] += total * scale
    z += rng.standard_normal((p, n)) * np.sqrt(np.maximum(1.0 - explained, 0.05))[:, None]
    return z


@dataclass(frozen=True)
class AtlasFiles:
    """What :func:`write_atlas` wrote: the atlas.yaml path, phenotypes per modality, planted effects
    (rows: modality, phenotype_id, gene_id, variant_id, r2)."""

    atlas_yaml: Path
    n_phenotypes: dict[str, int]
    n_genes: int
    effects: pd.DataFrame


def write_atlas(out: Path, spec: GenomeSpec, genome: Path, genotypes: Path, layout: Layout, genes: np.ndarray,
                chroms: tuple[str, ...], modalities: tuple[str, ...] | None = None,
                mapping: dict | None = None) -> AtlasFiles:
    """Write the phenotypes of ``genes`` (indices into ``layout.genes``) for ``modalities`` (default all),
    the hidden confounders as covariates (``covariates.txt``), the annotation of every gene on ``chroms``
    and ``out/atlas.yaml`` (one tissue, release ``v1``, genotypes ``genotypes`` (a PLINK prefix), mapping
    settings ``{"phenotype_pcs": 0}`` updated with ``mapping``)."""
    out.mkdir(parents=True, exist_ok=True)
    modalities = modalities or tuple(m.id for m in MODALITIES)
    samples = spec.samples
    n = len(samples)
    tables = {m: _feature_table(layout, genes, m) for m in modalities}
    first_row = {m: dict(zip(*np.unique(t["gene"].to_numpy(), return_index=True), strict=True)) for m, t in tables.items()}
    effects: dict[str, dict[int, list]] = {m: {} for m in modalities}
    truth = []
    gene_chrom = layout.genes["chrom"].to_numpy()
    for chrom_name in chroms:
        on = genes[gene_chrom[genes] == chrom_name]
        if len(on) == 0:
            continue
        chrom = _Chromosome(genome, chrom_name, n)
        for g in on:
            tss = int(layout.genes.at[g, "tss"])
            for m, which, v, r2 in _gene_effects(stream(spec.seed, "gene", int(g)), chrom, tss, list(modalities)):
                if g not in first_row[m]:
                    continue
                n_feat = int(layout.n_features[m][g])
                row = first_row[m][g] + min(int(which * n_feat), n_feat - 1)
                effects[m].setdefault(row, []).append((chrom.standardized(v), r2))
                truth.append((m, tables[m].at[row, "phenotype_id"], layout.genes.at[g, "gene_id"],
                              f"{chrom_name}:{chrom.pos[v]}", abs(r2)))
        del chrom
    hidden = stream(spec.seed, "hidden").standard_normal((n, _HIDDEN)) / np.sqrt(np.arange(1, _HIDDEN + 1))
    pheno_dir = out / "phenotypes"
    pheno_dir.mkdir(exist_ok=True)
    covariates = pd.DataFrame(hidden.T, columns=samples)
    covariates.insert(0, "id", [f"hidden{k + 1}" for k in range(_HIDDEN)])
    covariates.to_csv(out / "covariates.txt", sep="\t", index=False, float_format="%.6g")
    gene_rows = layout.genes
    entries: dict[str, dict[str, str]] = {}
    for m in modalities:
        table = tables[m]
        rng = stream(spec.seed, "values", m)
        z = _latent(table, effects[m], hidden, (0.15, 0.45) if m == "expression" else (0.05, 0.25), rng)
        gidx = table["gene"].to_numpy()
        entry = {"bed": f"phenotypes/{TISSUE}.{m}.bed.gz", "covariates": "covariates.txt"}
        if m == "expression":
            level = np.clip(rng.normal(4.0, 1.5, size=len(table)), -1.0, 12.0)
            sd = rng.uniform(0.35, 1.0, size=len(table))
            length_kb = gene_rows["length_kb"].to_numpy()[gidx][:, None]
            depth = stream(spec.seed, "depth").uniform(10.0, 40.0, size=n)[None, :]
            counts = rng.poisson(np.exp2(level[:, None] + sd[:, None] * z) * length_kb * depth)
            values = counts / (length_kb * depth)
            entry["counts"] = f"phenotypes/{TISSUE}.{m}.counts.bed.gz"
            _write_bed(out / entry["counts"], table, np.log2(counts + 1.0), samples)
        else:
            if m == "stability":
                values = 2.0 + rng.uniform(0.2, 0.5, size=len(table))[:, None] * z
            else:
                base = rng.normal(0.0, 1.0, size=len(table)) + 1.5 * (table["k"].to_numpy() == 0)
                logits = base[:, None] + rng.uniform(0.4, 1.0, size=len(table))[:, None] * z
                starts = np.flatnonzero(np.diff(gidx, prepend=-1))
                e = np.exp(logits - logits.max())
                values = e / np.add.reduceat(e, starts, axis=0)[np.cumsum(np.diff(gidx, prepend=-1) != 0) - 1]
            low = stream(spec.seed, "coverage").random((len(layout.genes), n)) < 0.01  # few reads: NA
            values = np.where(low[gidx], np.nan, values)
        _write_bed(out / entry["bed"], table, values, samples)
        if m not in ("expression", "stability"):
            entry["groups"] = f"phenotypes/{TISSUE}.{m}.groups.txt"
            gene_ids = gene_rows["gene_id"].to_numpy()[gidx]
            (out / entry["groups"]).write_text("".join(f"{p}\t{g}\n" for p, g in zip(table["phenotype_id"], gene_ids,
                                                                                       strict=True)))
        entries[m] = entry
    annotation = out / "genes.gtf.gz"
    _write_gtf(annotation, gene_rows[gene_rows["chrom"].isin(chroms)])
    atlas = {
        "atlas": {"name": "Pipeline benchmark atlas", "description": "One simulated tissue at RatGTEx density."},
        "tissues": [{"id": TISSUE, "name": "Adipose tissue"}],
        "releases": [{"id": RELEASE, "genome": "rn7", "annotation": annotation.name, "genotypes": str(genotypes),
                      "tissues": {TISSUE: entries}}],
        "mapping": {"phenotype_pcs": 0, **(mapping or {})},
    }
    path = out / "atlas.yaml"
    path.write_text(yaml.safe_dump(atlas, sort_keys=False))
    return AtlasFiles(path, {m: len(t) for m, t in tables.items()}, len(genes),
                      pd.DataFrame(truth, columns=["modality", "phenotype_id", "gene_id", "variant_id", "r2"]))


def _write_bed(path: Path, features: pd.DataFrame, values: np.ndarray, samples: list[str]) -> None:
    write_phenotype_bed(PhenotypeTable(np.asarray(values, dtype=np.float64),
                                       features[["chrom", "start", "end", "phenotype_id"]].reset_index(drop=True),
                                       samples), path)


def _write_gtf(path: Path, genes: pd.DataFrame) -> None:
    """A minimal GTF: per gene a gene, a transcript and two exons."""
    import gzip

    lines = []
    for g in genes.itertuples(index=False):
        attr = f'gene_id "{g.gene_id}"; gene_type "protein_coding"; gene_name "Gene{g.gene_id[-6:]}";'
        tx = f'{attr} transcript_id "{g.gene_id.replace("G", "T", 1)}";'
        mid = (g.start + g.end) // 2
        lines += [f"{g.chrom}\tsim\tgene\t{g.start}\t{g.end}\t.\t{g.strand}\t.\t{attr}",
                  f"{g.chrom}\tsim\ttranscript\t{g.start}\t{g.end}\t.\t{g.strand}\t.\t{tx}",
                  f"{g.chrom}\tsim\texon\t{g.start}\t{min(g.start + 500, mid)}\t.\t{g.strand}\t.\t{tx}",
                  f"{g.chrom}\tsim\texon\t{max(g.end - 1500, mid + 1)}\t{g.end}\t.\t{g.strand}\t.\t{tx}"]
    with gzip.open(path, "wt", compresslevel=3) as fh:
        fh.write("\n".join(lines) + "\n")
