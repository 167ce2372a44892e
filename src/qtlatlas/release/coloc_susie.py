"""coloc.susie of each GWAS locus with the fine-mapped phenotypes tested there, computed when a release is built.

For a locus of :mod:`.coloc` (its window's release variants with the GWAS z-scores of the ALT allele):

1. the GWAS is fine-mapped with SuSiE on summary statistics (:func:`qtlatlas.engine.susie_rss.susie_rss`,
   susieR's defaults, N the GWAS's median sample size) over the window's variants that matched the GWAS,
   are polymorphic and not strand-ambiguous (A/T, C/G: a strand flip would change the sign that LD needs),
   with LD (r) computed from the release's genotype matrix over every genotyped sample (``coloc.ld:
   release``) or from the LD reference panel ``twas.ld_reference`` (``coloc.ld: reference``; variants matched
   by chromosome, position and alleles, swapped alleles flipped). The release's LD is the GWAS cohort's only
   when the GWAS was run on the atlas's individuals; otherwise it stands in for it, which is safe only when
   the atlas's samples share the GWAS cohort's ancestry — choose a reference panel of that cohort's ancestry
   then;
2. every phenotype of a tissue × modality fine-mapped by the release (``tables/lbf_variable.parquet``, its
   credible sets in ``tables/credible_sets.parquet``) with variants in the window: coloc.bf_bf of each GWAS
   effect that forms a credible set with each of the phenotype's (:func:`qtlatlas.engine.coloc_susie.coloc_bf_bf`)
   over the variants both have, priors ``coloc.p1``, ``coloc.p2`` and coloc.susie's p12 (5e-6).

Windows with more than :data:`MAX_VARIANTS` usable variants are not fine-mapped (an LD matrix of that many
variants is computed in memory). Output (:data:`COLUMNS`): coloc's columns plus ``idx1``/``idx2`` (the GWAS's
and the phenotype's effects, ``L1``…, as the credible sets name them), one row per pair of credible sets.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds

from ..config import ColocSettings
from ..engine.coloc import PP_COLUMNS
from ..engine.coloc_susie import PRIOR_P12_SUSIE, coloc_bf_bf
from ..engine.ld import unpack
from ..engine.susie_rss import credible_sets_rss, susie_rss
from ..io.chromosomes import chrom_key
from ..io.genotype_set import open_genotype_files
from ..store.ld import GenotypeMatrix

#: Most variants of a window fine-mapped from summary statistics (the LD matrix is p × p doubles).
MAX_VARIANTS = 6_000
COLUMNS = ["trait", "locus", "lead_variant_id", "chrom", "locus_start", "locus_end", "tissue", "modality",
           "phenotype_id", "gene_id", "gene_name", "idx1", "idx2", "nsnps", "hit1", "hit2", *PP_COLUMNS]
_INTEGERS = ("locus", "locus_start", "locus_end", "nsnps")
SCHEMA = pa.schema([(c, pa.int64() if c in _INTEGERS else pa.float64() if c in PP_COLUMNS else pa.large_string())
                    for c in COLUMNS])
_AMBIGUOUS = {("A", "T"), ("T", "A"), ("C", "G"), ("G", "C")}


def empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=np.int64 if c in _INTEGERS else np.float64 if c in PP_COLUMNS else object)
                         for c in COLUMNS})


class FineMappedPhenotypes:
    """The release's SuSiE results (per-variant log Bayes factors and credible sets) read one window at a time."""

    def __init__(self, lbf_path, sets_path):
        self.lbf = ds.dataset(str(lbf_path), format="parquet")
        sets = pd.read_parquet(sets_path, columns=["tissue", "modality", "phenotype_id", "cs_index"]).drop_duplicates()
        #: (tissue, modality, phenotype) → its 0-based effects that form credible sets (``L1`` → 0), sorted
        self.sets: dict[tuple[str, str, str], list[int]] = {}
        for t, m, p, cs in sets.itertuples(index=False):
            self.sets.setdefault((str(t), str(m), str(p)), []).append(int(str(cs).lstrip("L")) - 1)
        for effects in self.sets.values():
            effects.sort()
        self.effects = [c for c in self.lbf.schema.names if c.startswith("lbf_variable")]

    def in_window(self, chrom: str, start: int, end: int) -> pd.DataFrame:
        """lbf_variable rows of the window (``tissue, modality, phenotype_id, gene_id, variant_id`` and the
        effects' columns)."""
        f = (ds.field("chrom") == chrom) & (ds.field("pos") >= start) & (ds.field("pos") <= end)
        return self.lbf.to_table(filter=f, columns=["tissue", "modality", "phenotype_id", "gene_id", "variant_id",
                                                    *self.effects]).to_pandas()

    def set_effects(self, tissue: str, modality: str, phenotype: str) -> list[int]:
        """The 0-based effects of the phenotype that form credible sets (``cs_index`` ``L1`` → 0)."""
        return self.sets.get((tissue, modality, phenotype), [])


class ReleaseLd:
    """Genotypes for LD from the release's genotype matrix (every genotyped sample)."""

    def __init__(self, matrix: GenotypeMatrix):
        self.matrix = matrix

    def calls(self, lo: int, window: pd.DataFrame) -> np.ndarray:
        """``(m, n)`` ALT counts (float, NaN missing) of the window's variants, rows ``lo ..`` of the matrix."""
        calls = unpack(self.matrix.rows(lo, lo + len(window)), self.matrix.n_samples).astype(np.float64)
        calls[calls < 0] = np.nan
        return calls


class ReferenceLd:
    """Genotypes for LD from a reference panel (genotype files or PLINK prefixes), matched to the window's
    variants by chromosome, position and alleles (ALT/REF swapped: the count flipped); unmatched rows NaN."""

    def __init__(self, sources: list[str]):
        self.reader = open_genotype_files(list(sources))
        self.chroms = {chrom_key(c): c for c in self.reader.chromosomes()}

    def calls(self, lo: int, window: pd.DataFrame) -> np.ndarray:
        name = self.chroms.get(chrom_key(str(window["chrom"].iloc[0])))
        n = len(self.reader.samples) if hasattr(self.reader, "samples") else 0
        if name is None:
            return np.full((len(window), max(n, 1)), np.nan)
        data = self.reader.read(f"{name}:{int(window['pos'].min())}-{int(window['pos'].max())}", dtype="float32")
        v = data.variants
        ref = {(int(p), str(r).upper(), str(a).upper()): i
               for i, (p, r, a) in enumerate(zip(v["pos"], v["ref"], v["alt"], strict=True))}
        out = np.full((len(window), data.dosages.shape[1]), np.nan)
        for k, (p, r, a) in enumerate(zip(window["pos"], window["ref"].astype(str).str.upper(),
                                          window["alt"].astype(str).str.upper(), strict=True)):
            same, swapped = ref.get((int(p), r, a)), ref.get((int(p), a, r))
            if same is not None:
                out[k] = data.dosages[same]
            elif swapped is not None:
                out[k] = 2.0 - data.dosages[swapped]
        return out


def gwas_fit(ld: ReleaseLd | ReferenceLd, lo: int, window: pd.DataFrame, z: np.ndarray, n: float
             ) -> tuple[np.ndarray, np.ndarray, list[int]] | None:
    """SuSiE of the GWAS over the usable variants of a window (rows ``lo ..`` of the genotype matrix, ``window``
    their ``variant_id, ref, alt``, ``z`` the GWAS z of each, NaN where unmatched): ``(kept, lbf, effects)`` —
    the window positions fitted, their ``(L, p)`` log Bayes factors and the effects that form credible sets —
    or None when there are too few or too many variants, or no credible set."""
    alleles = zip(window["ref"].astype(str).str.upper(), window["alt"].astype(str).str.upper(), strict=True)
    usable = np.isfinite(z) & ~np.array([a in _AMBIGUOUS for a in alleles], dtype=bool)
    calls = ld.calls(lo, window)
    called = np.isfinite(calls)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(called, calls, 0.0).sum(axis=1) / called.sum(axis=1)  # NaN where nothing is called
    x = np.where(called, calls, mean[:, None]) - mean[:, None]  # missing calls at the mean
    scale = np.sqrt((x ** 2).sum(axis=1))
    usable &= np.isfinite(scale) & (scale > 0)
    kept = np.flatnonzero(usable)
    if len(kept) < 2 or len(kept) > MAX_VARIANTS or not np.isfinite(n) or n < 3:
        return None
    xs = x[kept] / scale[kept, None]
    R = np.clip(xs @ xs.T, -1.0, 1.0)
    fit = susie_rss(z[kept], R, n=int(round(n)))
    sets = credible_sets_rss(fit, R)
    if not sets:
        return None
    return kept, fit.lbf_variable, sorted(s.effect for s in sets)


def locus_rows(fine: FineMappedPhenotypes, ld: ReleaseLd | ReferenceLd, lo: int, window: pd.DataFrame, z: np.ndarray,
               n: float, chrom: str, start: int, end: int, settings: ColocSettings) -> list[tuple]:
    """``(tissue, modality, phenotype_id, gene_id, idx1, idx2, nsnps, hit1, hit2, PP.H0..PP.H4)`` of every pair
    of credible sets of the GWAS (fitted here) and of each fine-mapped phenotype of the window."""
    fitted = gwas_fit(ld, lo, window, z, n)
    if fitted is None:
        return []
    kept, gwas_lbf, gwas_effects = fitted
    ids = window["variant_id"].astype(str).to_numpy()[kept]
    at = {v: i for i, v in enumerate(ids)}
    rows = fine.in_window(chrom, start, end)
    out = []
    for (tissue, modality, phenotype), part in rows.groupby(["tissue", "modality", "phenotype_id"], sort=True):
        effects = fine.set_effects(tissue, modality, phenotype)
        if not effects:
            continue
        part = part[part["variant_id"].isin(at)]
        if len(part) < 2:
            continue
        cols = [np.array(at[v]) for v in part["variant_id"]]
        shared = np.array(cols, dtype=np.int64)
        qtl = part[[fine.effects[e] for e in effects]].to_numpy(np.float64).T  # (k, shared)
        g = gwas_lbf[gwas_effects][:, shared]
        if not (np.isfinite(qtl).all() and np.isfinite(g).all()):
            continue
        result = coloc_bf_bf(g, qtl, settings.p1, settings.p2, min(PRIOR_P12_SUSIE, settings.p12))
        gene = part["gene_id"].iloc[0]
        for k in range(len(result.idx1)):
            out.append((tissue, modality, phenotype, None if gene is None else str(gene),
                        f"L{gwas_effects[result.idx1[k]] + 1}", f"L{effects[result.idx2[k]] + 1}",
                        int(result.nsnps[k]), ids[shared[result.hit1[k]]], ids[shared[result.hit2[k]]],
                        *result.pp[k].tolist()))
    return out
