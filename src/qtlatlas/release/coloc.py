"""Colocalisation of every GWAS trait with every tissue × modality, computed when a release is built.

For each trait of ``twas.traits`` (its GWAS placed on the release's variants, :mod:`.coloc_gwas`):

1. **loci**: lead variants with p < ``coloc.p_threshold``, taken greedily by smallest p at least
   ``coloc.lead_distance`` bp apart (:mod:`qtlatlas.coloc.loci`); a locus is its lead ± ``coloc.window`` bp,
   numbered 1.. in genome order;
2. per locus, the release variants of the window matched to the GWAS by position (or id) and alleles, with
   the genome-build checks of ``qtlatlas coloc abf`` (:mod:`qtlatlas.coloc.match`);
3. per tissue × modality with an all-pairs store (:mod:`.all_pairs`) and per phenotype with tested variants
   in the window: coloc.abf over the variants both have (:func:`qtlatlas.coloc.locus_abf.coloc_phenotype`),
   with priors ``coloc.p1``, ``p2``, ``p12``. The QTL's N is the tissue × modality's sample count; its MAF
   the store's allele frequency in those samples, else the frequency in those samples of the release's
   genotype matrix (``tables/genotype_matrix.bed``).

A phenotype sharing no variant with the GWAS (or whose ``sdY`` cannot be estimated) gets no row. One locus
is in memory at a time, and only the rows of its window are read from each store.

Output (:data:`COLUMNS`): ``tables/coloc.parquet`` sorted by trait, locus and PP.H4 descending, and one
``coloc.{trait}.{release}_{genome}.tsv.gz`` download per trait with the same rows; per trait, release.json
counts its GWAS variants placed, loci, tests and tests with PP.H4 ≥ :data:`COLOCALISED_PP4`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..coloc.locus_abf import GwasLocus, coloc_phenotype
from ..config import Atlas, ColocSettings, Release
from ..engine.coloc import PP_COLUMNS
from ..engine.ld import unpack
from ..io.text import write_tsv_gz
from ..store.all_pairs_file import AllPairsFile
from ..store.ld import GenotypeMatrix
from . import coloc_susie, layout
from .coloc_gwas import ReleaseVariants, TraitGwas, lead_variant_id, match_window

#: Columns of ``tables/coloc.parquet`` and of the per-trait downloads (coloc's names for the posteriors).
COLUMNS = ["trait", "locus", "lead_variant_id", "chrom", "locus_start", "locus_end", "tissue", "modality",
           "phenotype_id", "gene_id", "gene_name", "nsnps", "hit1", "hit2", *PP_COLUMNS]
SCHEMA = pa.schema([(c, pa.int64() if c in ("locus", "locus_start", "locus_end", "nsnps") else
                     pa.float64() if c in PP_COLUMNS else pa.large_string()) for c in COLUMNS])
#: PP.H4 from which release.json counts a test as colocalised.
COLOCALISED_PP4 = 0.8

Note = Callable[[str, str, str], Path]


@dataclass
class QtlStore:
    """The all-pairs store of one tissue × modality and what its statistics need: the sample count N, the
    genotype-matrix columns of its samples (None: every column), whether it holds effects and frequencies."""

    tissue: str
    modality: str
    file: AllPairsFile
    n_samples: int
    keep: np.ndarray | None

    @property
    def effects(self) -> bool:
        return {"slope", "slope_se"} <= self.file.present

    @property
    def has_af(self) -> bool:
        return "af" in self.file.present


@dataclass
class TraitColoc:
    """The rows of one trait (:data:`COLUMNS`, in table order), its coloc.susie rows
    (:data:`.coloc_susie.COLUMNS`) and its counts for release.json."""

    rows: pd.DataFrame
    counts: dict
    susie: pd.DataFrame | None = None


class ReleaseColoc:
    """A release directory's inputs to colocalisation (read-only): its variants, every all-pairs store with
    its sample count and samples, the genotype matrix and the gene symbols.

    Args:
        release_dir: the release directory (being built, or published).
        label: how messages name the release (``release v4 (rn8)``).
    """

    def __init__(self, release_dir: str | Path, label: str, ld_reference: list[str] | None = None):
        d = Path(release_dir)
        self.variants = ReleaseVariants(d, label)
        self.matrix = _matrix(d, self.variants.n_variants)
        counts = pd.read_parquet(d / layout.table_path("tissue_modality"), columns=["tissue", "modality", "n_samples"])
        members = _samples(d)
        self.stores: list[QtlStore] = []
        for t, m, n in counts.itertuples(index=False):
            parts = [d / layout.all_pairs_path(t, m, p) for p in layout.ALL_PAIRS_PARTS]
            if not all(p.is_file() for p in parts):
                continue
            keep = None
            if self.matrix is not None and members.get((t, m)):
                keep = self.matrix.keep(members[(t, m)])
                keep = keep if keep.any() else None
            self.stores.append(QtlStore(t, m, AllPairsFile(*map(str, parts)), int(n), keep))
        genes = pd.read_parquet(d / layout.table_path("genes"), columns=["gene_id", "gene_name"])
        self.gene_names = dict(zip(genes["gene_id"].astype(str), genes["gene_name"], strict=True))
        lbf, sets = d / layout.table_path("lbf_variable"), d / layout.table_path("credible_sets")
        self.fine = (coloc_susie.FineMappedPhenotypes(lbf, sets) if lbf.is_file() and sets.is_file()
                     and self.matrix is not None else None)
        #: where coloc.susie's GWAS LD comes from: the reference panel when given, else the release's genotypes
        self.ld = (coloc_susie.ReferenceLd(ld_reference) if ld_reference
                   else coloc_susie.ReleaseLd(self.matrix) if self.matrix is not None else None)

    def close(self) -> None:
        if self.matrix is not None:
            self.matrix.close()

    def trait(self, trait_id: str, gwas_path: str | Path, n: float, settings: ColocSettings,
              on_locus: Callable[[int, int], None] | None = None) -> TraitColoc:
        """coloc.abf of one trait's loci with every store (see the module docstring); ``n`` is the GWAS sample
        size where its file gives none; ``on_locus(k, n_loci)`` is called before each locus.

        Raises:
            ColocInputError: the GWAS is unreadable or on another genome build (naming the trait and file).
        """
        return self.colocalise(TraitGwas(trait_id, gwas_path, n, self.variants), settings, on_locus)

    def colocalise(self, gwas: TraitGwas, settings: ColocSettings,
                   on_locus: Callable[[int, int], None] | None = None) -> TraitColoc:
        """:meth:`trait` on a GWAS already read and placed (:class:`~.coloc_gwas.TraitGwas`)."""
        trait_id = gwas.trait_id
        leads = gwas.leads(settings.p_threshold, settings.lead_distance)
        frames, self._susie = [], []
        for k, lead in enumerate(leads.tolist(), 1):
            if on_locus is not None:
                on_locus(k, len(leads))
            frames.append(self._locus(gwas, k, lead, settings))
        frames = [f for f in frames if len(f)]
        rows = pd.concat(frames, ignore_index=True) if frames else _empty()
        rows = rows.sort_values(["locus", "PP.H4.abf"], ascending=[True, False], kind="stable").reset_index(drop=True)
        counts = {"trait": trait_id, "n_gwas_variants": gwas.n_read, "n_placed": gwas.n_placed, "n_loci": len(leads),
                  "n_tests": len(rows), "n_colocalised": int((rows["PP.H4.abf"] >= COLOCALISED_PP4).sum())}
        susie = None
        if self.fine is not None and settings.susie:
            frames = [f for f in self._susie if len(f)]
            susie = pd.concat(frames, ignore_index=True) if frames else coloc_susie.empty()
            susie = susie.sort_values(["locus", "PP.H4.abf"], ascending=[True, False], kind="stable")
            counts["n_susie_pairs"] = len(susie)
            counts["n_susie_colocalised"] = int((susie["PP.H4.abf"] >= COLOCALISED_PP4).sum())
        return TraitColoc(rows, counts, susie)

    def _locus(self, gwas: TraitGwas, k: int, lead: int, settings: ColocSettings) -> pd.DataFrame:
        """The rows of locus ``k`` (lead row ``lead`` of the GWAS): every store's phenotypes in its window."""
        chrom, pos = gwas.chrom(lead), int(gwas.pos[lead])
        start, end = max(1, pos - settings.window), pos + settings.window
        head = {"trait": gwas.trait_id, "locus": k, "chrom": chrom, "locus_start": start, "locus_end": end}
        found = self.variants.window(chrom, start, end)
        if found is None:
            return _empty()
        lo, window = found
        rows = gwas.rows_in(int(gwas.rank[lead]), start, end)
        locus, gwas_row = match_window(gwas, rows, window, f"locus {k}, {chrom}:{start}-{end}")
        head["lead_variant_id"] = lead_variant_id(gwas, lead, window, gwas_row)
        ids = window["variant_id"].to_numpy(dtype=object)
        records: list[tuple] = []
        genotype_maf: dict[bytes, np.ndarray] = {}
        for store in self.stores:
            records += self._store(store, chrom, start, end, lo, ids, locus, settings, genotype_maf)
        frame = pd.DataFrame(records, columns=["tissue", "modality", "phenotype_id", "gene_id", "nsnps", "hit1",
                                               "hit2", *PP_COLUMNS])
        for c, value in head.items():
            frame[c] = value
        frame["gene_name"] = frame["gene_id"].map(self.gene_names)
        if self.fine is not None and settings.susie:
            pairs = coloc_susie.locus_rows(self.fine, self.ld, lo, window, locus.z, float(np.nanmedian(locus.n))
                                           if np.isfinite(locus.n).any() else float("nan"), chrom, start, end, settings)
            susie = pd.DataFrame(pairs, columns=[c for c in coloc_susie.COLUMNS if c not in head and c != "gene_name"])
            for c, value in head.items():
                susie[c] = value
            susie["gene_name"] = susie["gene_id"].map(self.gene_names)
            self._susie.append(susie[coloc_susie.COLUMNS])
        return frame[COLUMNS]

    def _store(self, store: QtlStore, chrom: str, start: int, end: int, lo: int, ids: np.ndarray,
               locus: GwasLocus, settings: ColocSettings, genotype_maf: dict[bytes, np.ndarray]) -> list[tuple]:
        """One store's records of a locus: ``(tissue, modality, phenotype_id, gene_id, nsnps, hit1, hit2,
        PP.H0..PP.H4)`` of each phenotype tested in the window ``lo .. lo + len(ids) − 1`` (variant indices)."""
        f = store.file
        if store.n_samples <= 0:
            return []
        hi = lo + len(ids) - 1
        slices = f.slices(f.runs_meeting([chrom], start, end), lo, hi)
        if not slices:
            return []
        rows = np.concatenate([np.arange(s.start, s.end, dtype=np.int64) for s in slices])
        runs = np.repeat(np.array([s.run for s in slices], dtype=np.int64), [s.n for s in slices])
        columns = ("nlog10p", "slope", "slope_se") if store.effects else ("nlog10p",)
        values = f.pair_values(rows, runs, columns)
        v = np.asarray(values["variant_index"], dtype=np.int64) - lo
        floats = {c: np.asarray(values[c].to_numpy(zero_copy_only=False), dtype=np.float64) for c in columns}
        maf = self._maf(store, lo, hi, v, genotype_maf)
        out, at = [], 0
        for s in slices:
            seg = slice(at, at + s.n)
            at += s.n
            result = coloc_phenotype(locus, v[seg], floats["nlog10p"][seg],
                                     floats["slope"][seg] if store.effects else None,
                                     floats["slope_se"][seg] if store.effects else None, maf[v[seg]],
                                     float(store.n_samples), settings.p1, settings.p2, settings.p12)
            if result is None:
                continue
            gene = f.gene_ids[s.run]
            out.append((store.tissue, store.modality, str(f.phenotype_ids[s.run]), None if gene is None else str(gene),
                        result.nsnps, ids[result.hit1], ids[result.hit2], *result.pp.tolist()))
        return out

    def _maf(self, store: QtlStore, lo: int, hi: int, tested: np.ndarray,
             genotype_maf: dict[bytes, np.ndarray]) -> np.ndarray:
        """Minor-allele frequency ``(hi − lo + 1,)`` of the window's variants in the store's samples: the
        store's, else (where it has none for a ``tested`` variant) from the genotype matrix, computed once per
        locus and sample set."""
        m = hi - lo + 1
        maf = np.full(m, np.nan)
        if store.has_af:
            af = store.file.variant_stats(np.arange(lo, hi + 1, dtype=np.int64)).column("af")
            af = np.asarray(af.to_numpy(zero_copy_only=False), dtype=np.float64)
            maf = np.minimum(af, 1.0 - af)
        if self.matrix is None or np.isfinite(maf[tested]).all():
            return maf
        key = b"" if store.keep is None else np.packbits(store.keep).tobytes()
        if key not in genotype_maf:
            genotype_maf[key] = matrix_maf(self.matrix, lo, hi + 1, store.keep)
        return np.where(np.isfinite(maf), maf, genotype_maf[key])


def matrix_maf(matrix: GenotypeMatrix, start: int, stop: int, keep: np.ndarray | None) -> np.ndarray:
    """Minor-allele frequency ``(stop − start,)`` of matrix rows ``start .. stop − 1`` over the samples ``keep``
    (``(n_samples,)`` bool; None: all), missing calls left out; NaN where no sample is genotyped."""
    calls = unpack(matrix.rows(start, stop), matrix.n_samples)
    if keep is not None:
        calls = calls[:, keep]
    called = calls >= 0
    count = called.sum(axis=1)
    dosage = np.where(called, calls, 0).sum(axis=1, dtype=np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        af = dosage / (2.0 * count)
    return np.where(count > 0, np.minimum(af, 1.0 - af), np.nan)


def publish_coloc(atlas: Atlas, release: Release, out: Path, note: Note,
                  step: Callable[[str], None] | None = None) -> dict:
    """Colocalise every trait of ``atlas.twas.traits`` with the release being built in ``out`` (its variant,
    tissue, sample, gene and all-pairs tables written) when ``atlas.coloc.enabled``: the table, the per-trait
    downloads (recorded with ``note(rel, description, kind)``), and ``{"coloc": counts}`` for release.json;
    ``{}`` when there is nothing to colocalise (no trait, no all-pairs store, or disabled). A trait whose
    ``genome`` is declared and is not the release's is skipped (its counts say why).

    Raises:
        ColocInputError: a GWAS unreadable or on another genome build (naming the trait and file).
    """
    settings = atlas.coloc
    traits = sorted(atlas.twas.traits, key=lambda t: t.id)
    if not settings.enabled or not traits:
        return {}
    reference = [str(p) for p in atlas.twas.ld_reference] if settings.ld == "reference" else None
    coloc = ReleaseColoc(out, f"release {release.id} ({release.genome})", reference)
    if not coloc.stores:
        return {}
    try:
        return {"coloc": {"settings": settings.model_dump(), "traits": _publish(coloc, traits, settings, release, note,
                                                                              step)}}
    finally:
        coloc.close()


def _publish(coloc: ReleaseColoc, traits: list, settings: ColocSettings, release: Release, note: Note,
             step: Callable[[str], None] | None) -> list[dict]:
    """Write the table and the downloads of :func:`publish_coloc`; the counts of each trait."""
    counts, susie = [], []
    path = note(layout.table_path("coloc"), "colocalisation (coloc.abf) of each GWAS trait's loci with every "
                "phenotype tested there, every tissue × modality", "table")
    with pq.ParquetWriter(path, SCHEMA, compression="zstd") as writer:
        for trait in traits:
            if trait.genome is not None and trait.genome != release.genome:
                counts.append({"trait": trait.id, "skipped": f"GWAS on {trait.genome}, release on {release.genome}"})
                continue
            if step is not None:
                step(f"colocalisation of {trait.id}")
            result = coloc.trait(trait.id, trait.sumstats, trait.n, settings)
            writer.write_table(pa.Table.from_pandas(result.rows, schema=SCHEMA, preserve_index=False))
            write_tsv_gz(result.rows, note(layout.download_path("coloc", release.id, release.genome, trait=trait.id),
                                           f"colocalisation (coloc.abf) of the GWAS loci of {trait.name} with every "
                                           "tissue × modality", "download"))
            if result.susie is not None:
                susie.append(result.susie)
                write_tsv_gz(result.susie, note(layout.download_path("coloc_susie", release.id, release.genome,
                                                                     trait=trait.id),
                                                f"coloc.susie of the GWAS loci of {trait.name} with every fine-mapped "
                                                "phenotype", "download"))
            counts.append(result.counts)
    if susie:
        table = pd.concat(susie, ignore_index=True)
        pq.write_table(pa.Table.from_pandas(table, schema=coloc_susie.SCHEMA, preserve_index=False),
                       note(layout.table_path("coloc_susie"), "colocalisation (coloc.susie) of each GWAS trait's "
                            "loci with every fine-mapped phenotype: one row per pair of credible sets", "table"),
                       compression="zstd")
    return counts


def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=np.int64 if c in ("locus", "locus_start", "locus_end", "nsnps") else
                                      np.float64 if c in PP_COLUMNS else object) for c in COLUMNS})


def _matrix(release_dir: Path, n_variants: int) -> GenotypeMatrix | None:
    path = release_dir / layout.table_path("genotype_matrix")
    if not path.is_file():
        return None
    try:
        return GenotypeMatrix(path, n_variants)
    except (OSError, ValueError):
        return None


def _samples(release_dir: Path) -> dict[tuple[str, str], list[str]]:
    """The samples of each tissue × modality (the release's ``samples`` table)."""
    path = release_dir / layout.table_path("samples")
    if not path.is_file():
        return {}
    out: dict[tuple[str, str], list[str]] = {}
    for sample, tissue, modalities in pd.read_parquet(path, columns=["sample_id", "tissue", "modalities"]).itertuples(
            index=False):
        for m in modalities if modalities is not None else ():
            out.setdefault((str(tissue), str(m)), []).append(str(sample))
    return out
