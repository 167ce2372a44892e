"""QTL–QTL colocalisation of a release: does one causal variant drive two significant phenotypes of a gene?

tensorQTL's ``coloc.run_pairs`` runs coloc.abf between two traits' nominal statistics; this step does it
atlas-wide from the release's stored nominal pass (the all-pairs stores, :mod:`qtlatlas.release.all_pairs`).
For every gene, between every two of its phenotypes that are significant (``qval ≤ mapping.fdr`` in
``top_qtls``) in two different tissue × modality combinations:

* **across modalities**: two modalities of one tissue (the gene's expression × its splicing phenotype in
  Liver), every significant phenotype of one × every one of the other;
* **across tissues**: one modality in two tissues for the same phenotype id (the gene's expression in Liver ×
  in Brain).

A pair is oriented in release order (tissue1 before tissue2, modality1 before modality2). coloc.abf runs over
the variants both phenotypes were tested with (same variant index), each trait read as
:mod:`.qtl_coloc_traits` describes (effects, or p-values where the store has no effects), N the samples
mapped for that tissue × modality (``tissue_modality.n_samples``; the tissue's samples when that is 0), priors
``p1`` for both traits and ``p12`` (``coloc:`` of atlas.yaml; ``coloc.p2`` is the GWAS side's QTL prior and is
not used). A pair of phenotypes without a run in an all-pairs store is not tested.

Output ``tables/qtl_coloc.parquet`` and the download ``qtl_coloc.{release}_{genome}.tsv.gz`` (the same rows),
:data:`COLUMNS`, sorted by gene id, tissue1, modality1, phenotype_id1, tissue2, modality2, phenotype_id2:

=============================== ==========================================================================
``gene_id``, ``gene_name``      the gene (name null outside the release's annotation)
``tissue1/2``, ``modality1/2``  the two tissue × modality combinations
``phenotype_id1/2``             the two phenotypes
``nsnps``                       variants in both with a finite log ABF in both (coloc's ``nsnps``)
``hit1``, ``hit2``              the variant id of each trait's largest log ABF among those (null when none)
``PP.H0.abf`` … ``PP.H4.abf``   the posteriors (null when ``nsnps`` is 0)
=============================== ==========================================================================

Memory: one gene at a time — the runs of its significant phenotypes (each read once, a few row groups of the
pairs files) and its pairs; rows are written in blocks of :data:`BLOCK_ROWS`.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..engine.coloc import PP_COLUMNS, combine_abf
from ..io.text import gzip_text_writer
from ..store.all_pairs import VariantsByIndex
from ..store.all_pairs_file import AllPairsFile
from . import layout
from .qtl_coloc_traits import EFFECTS, GenotypeFrequencies, Trait, read_trait
from .tables import ROW_GROUP_SIZE

CROSS_MODALITY = "cross_modality"
COLUMNS = ["gene_id", "gene_name", "tissue1", "modality1", "phenotype_id1", "tissue2", "modality2", "phenotype_id2",
           "nsnps", "hit1", "hit2", *PP_COLUMNS]
SORT_KEYS = ["gene_id", "tissue1", "modality1", "phenotype_id1", "tissue2", "modality2", "phenotype_id2"]
SCHEMA = pa.schema([*(pa.field(c, pa.string()) for c in COLUMNS[:8]), pa.field("nsnps", pa.int64()),
                    pa.field("hit1", pa.string()), pa.field("hit2", pa.string()),
                    *(pa.field(c, pa.float64()) for c in PP_COLUMNS)])
#: Rows per block written (and per row group of the table).
BLOCK_ROWS = ROW_GROUP_SIZE
#: PP.H4 at or above which a pair counts as colocalised in release.json's counts.
PP4_COLOCALISED = 0.8


@dataclass(frozen=True)
class Side:
    """One significant phenotype: tissue, modality, phenotype id."""

    tissue: str
    modality: str
    phenotype_id: str


@dataclass
class QtlColocCounts:
    """What :func:`write_qtl_coloc` wrote (release.json ``counts.qtl_coloc``)."""

    n_pairs: int = 0
    n_genes: int = 0
    n_colocalised: int = 0  # PP.H4 ≥ PP4_COLOCALISED
    n_no_shared_variant: int = 0
    n_pvalue_route: int = 0  # pairs with at least one trait on the p-value route
    n_untested: int = 0  # pairs left out: a phenotype without a run, or a trait with no usable statistic

    def as_json(self, p1: float, p12: float) -> dict:
        return {"n_pairs": self.n_pairs, "n_genes": self.n_genes, f"n_pp4_at_least_{PP4_COLOCALISED:g}": self.n_colocalised,
                "n_no_shared_variant": self.n_no_shared_variant, "n_pvalue_route": self.n_pvalue_route,
                "n_untested": self.n_untested, "priors": {"p1": p1, "p2": p1, "p12": p12}}


def gene_pairs(sides: list[Side], tissue_rank: dict[str, int], modality_rank: dict[str, int]) -> list[tuple[Side, Side]]:
    """The pairs of one gene's significant phenotypes (``sides``, distinct): same tissue and two modalities, or
    same modality and phenotype id in two tissues; each oriented in release order, listed by
    :data:`SORT_KEYS`."""
    out = []
    for a in sides:
        for b in sides:
            if a.tissue == b.tissue and modality_rank[a.modality] < modality_rank[b.modality]:
                out.append((a, b))
            elif (a.modality == b.modality and a.phenotype_id == b.phenotype_id
                  and tissue_rank[a.tissue] < tissue_rank[b.tissue]):
                out.append((a, b))
    out.sort(key=lambda p: (p[0].tissue, p[0].modality, p[0].phenotype_id, p[1].tissue, p[1].modality,
                            p[1].phenotype_id))
    return out


def coloc_traits(a: Trait, b: Trait, p1: float, p2: float, p12: float) -> tuple[int, int | None, int | None, np.ndarray]:
    """coloc.abf of two traits over the variants both hold with a finite log ABF: ``(nsnps, hit1, hit2, pp)``
    — the hits are variant indices of each trait's largest log ABF (None when ``nsnps`` is 0) and ``pp`` the
    posteriors ``(5,)`` (NaN when ``nsnps`` is 0)."""
    common, ia, ib = np.intersect1d(a.variant_index, b.variant_index, assume_unique=True, return_indices=True)
    l1, l2 = a.labf[ia], b.labf[ib]
    ok = np.isfinite(l1) & np.isfinite(l2)
    if not ok.any():
        return 0, None, None, np.full(len(PP_COLUMNS), np.nan)
    l1, l2, common = l1[ok], l2[ok], common[ok]
    pp = combine_abf(l1, l2, p1, p2, p12)
    return int(ok.sum()), int(common[np.argmax(l1)]), int(common[np.argmax(l2)]), pp


def significant_sides(top: pd.DataFrame, fdr: float, stores: set[tuple[str, str]]) -> pd.DataFrame:
    """``gene_id, tissue, modality, phenotype_id`` of the top-table rows with ``qval ≤ fdr`` whose tissue ×
    modality has an all-pairs store (cross-modality rows have none), distinct, sorted by gene id."""
    q = pd.to_numeric(top["qval"], errors="coerce")
    sig = top.loc[(q <= fdr) & top["gene_id"].notna() & top["phenotype_id"].notna(),
                  ["gene_id", "tissue", "modality", "phenotype_id"]].astype(str)
    sig = sig[[(t, m) in stores for t, m in zip(sig["tissue"], sig["modality"], strict=True)]]
    return sig.drop_duplicates().sort_values(["gene_id", "tissue", "modality", "phenotype_id"], kind="stable")


class _Sources:
    """What the step reads besides the significant phenotypes, opened on first use: the all-pairs store and N of
    each tissue × modality, the variant ids by index (the hits), the genotype matrix (frequencies of a store
    without them)."""

    def __init__(self, root: Path):
        self.root = root
        tm = pd.read_parquet(root / layout.table_path("tissue_modality"), columns=["tissue", "modality", "n_samples"])
        tissues = pd.read_parquet(root / layout.table_path("tissues"), columns=["tissue_id", "n_samples"])
        per_tissue = dict(zip(tissues["tissue_id"].astype(str), tissues["n_samples"].astype(float), strict=True))
        self.files: dict[tuple[str, str], AllPairsFile] = {}
        self.n: dict[tuple[str, str], float] = {}
        for t, m, n in tm.itertuples(index=False):
            paths = [root / layout.all_pairs_path(t, m, part) for part in layout.ALL_PAIRS_PARTS]
            if m != CROSS_MODALITY and all(p.is_file() for p in paths):
                self.files[(t, m)] = AllPairsFile(*map(str, paths))
                self.n[(t, m)] = float(n) if n and n > 0 else per_tissue.get(t, math.nan)
        self.tissue_rank = {t: i for i, t in enumerate(dict.fromkeys(tm["tissue"].astype(str)))}
        self.modality_rank = {m: i for i, m in enumerate(dict.fromkeys(tm["modality"].astype(str)))}
        self._variants: VariantsByIndex | None = None
        self._frequencies: GenotypeFrequencies | None = None

    def variant_ids(self, index: np.ndarray) -> list[str]:
        if self._variants is None:
            self._variants = VariantsByIndex(str(self.root / layout.table_path("variants_by_position")))
        return self._variants.take(np.asarray(index, dtype=np.int64)).column("variant_id").to_pylist()

    def frequencies(self) -> GenotypeFrequencies:
        if self._frequencies is None:
            self._frequencies = GenotypeFrequencies(self.root)
        return self._frequencies

    def trait(self, side: Side) -> Trait | None:
        """The trait of a significant phenotype; None when its store has no run of it or no usable statistic."""
        key = (side.tissue, side.modality)
        file = self.files[key]
        runs = file.runs_of_phenotype(side.phenotype_id)
        if not runs:
            return None
        return read_trait(file, runs[0], self.n[key], side.tissue, side.modality, self.frequencies)

    def close(self) -> None:
        if self._frequencies is not None:
            self._frequencies.close()


class _Output:
    """The table and the download, written block by block (hits resolved to variant ids per block)."""

    def __init__(self, table: Path, download: Path, variant_ids: Callable[[np.ndarray], list[str]],
                 stack: contextlib.ExitStack):
        self.variant_ids = variant_ids
        self.rows: list[list] = []
        self.writer = stack.enter_context(pq.ParquetWriter(table, SCHEMA, compression="zstd"))
        self.fh = stack.enter_context(gzip_text_writer(download))
        self.fh.write("\t".join(COLUMNS) + "\n")
        stack.callback(self.flush)  # runs first: the last rows, before the files close

    def add(self, row: list) -> None:
        self.rows.append(row)
        if len(self.rows) >= BLOCK_ROWS:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        frame = pd.DataFrame(self.rows, columns=COLUMNS)
        self.rows = []
        for hit in ("hit1", "hit2"):
            found = frame[hit].notna().to_numpy()
            ids = np.full(len(frame), None, dtype=object)
            if found.any():
                ids[found] = self.variant_ids(frame.loc[found, hit].to_numpy(np.int64))
            frame[hit] = ids
        self.writer.write_table(pa.Table.from_pandas(frame, schema=SCHEMA, preserve_index=False),
                                row_group_size=BLOCK_ROWS)
        frame.to_csv(self.fh, sep="\t", index=False, header=False, float_format="%.6g", na_rep="NA",
                     lineterminator="\n")


def write_qtl_coloc(release_dir: str | Path, table: str | Path, download: str | Path, *, fdr: float, p1: float,
                    p12: float) -> QtlColocCounts:
    """Colocalise the significant phenotypes of every gene of the release in ``release_dir`` (its
    ``top_qtls``, ``tissue_modality``, ``tissues``, ``genes``, ``variants_by_position`` and all-pairs stores;
    the genotype matrix when a store has no allele frequencies) and write ``table`` (Parquet) and ``download``
    (gzipped TSV). Returns the counts."""
    root = Path(release_dir)
    genes = pd.read_parquet(root / layout.table_path("genes"), columns=["gene_id", "gene_name"])
    names = dict(zip(genes["gene_id"].astype(str), genes["gene_name"], strict=True))
    counts = QtlColocCounts()
    with contextlib.ExitStack() as stack:
        sources = _Sources(root)
        stack.callback(sources.close)
        top = pd.read_parquet(root / layout.table_path("top_qtls"),
                              columns=["gene_id", "tissue", "modality", "phenotype_id", "qval"])
        sig = significant_sides(top, fdr, set(sources.files))
        del top
        out = _Output(Path(table), Path(download), sources.variant_ids, stack)
        for gene_id, group in sig.groupby("gene_id", sort=True):
            sides = [Side(t, m, p) for t, m, p in zip(group["tissue"], group["modality"], group["phenotype_id"],
                                                      strict=True)]
            traits: dict[Side, Trait | None] = {}  # each phenotype read once per gene
            n_before = counts.n_pairs
            for a, b in gene_pairs(sides, sources.tissue_rank, sources.modality_rank):
                for s in (a, b):
                    if s not in traits:
                        traits[s] = sources.trait(s)
                ta, tb = traits[a], traits[b]
                if ta is None or tb is None:
                    counts.n_untested += 1
                    continue
                nsnps, hit1, hit2, pp = coloc_traits(ta, tb, p1, p1, p12)
                counts.n_pairs += 1
                counts.n_no_shared_variant += nsnps == 0
                counts.n_colocalised += bool(pp[4] >= PP4_COLOCALISED)
                counts.n_pvalue_route += ta.route != EFFECTS or tb.route != EFFECTS
                out.add([gene_id, names.get(gene_id), a.tissue, a.modality, a.phenotype_id, b.tissue, b.modality,
                         b.phenotype_id, nsnps, hit1, hit2, *(None if math.isnan(x) else float(x) for x in pp)])
            counts.n_genes += counts.n_pairs > n_before
    return counts


def publish_qtl_coloc(atlas, release, out: Path, note: Callable[[str, str, str], Path]) -> dict | None:
    """The build step: :func:`write_qtl_coloc` into the release being built in ``out`` when ``atlas.coloc`` is
    enabled and the release has all-pairs stores of two tissue × modality combinations or more (with one, no pair
    can be formed); ``note(rel, description, kind)`` records each file in the manifest and returns its path.
    Returns release.json's ``counts.qtl_coloc`` (None when skipped: no table, no download)."""
    settings = atlas.coloc
    if not settings.enabled or len(list((out / layout.TABLES_DIR / "all_pairs").glob("*.runs.parquet"))) < 2:
        return None
    table = note(layout.table_path("qtl_coloc"), "QTL–QTL colocalisation (coloc.abf) of every two significant "
                 "phenotypes of a gene in two tissues or two modalities", "table")
    download = note(layout.download_path("qtl_coloc", release.id, release.genome),
                    "coloc.abf between every two significant phenotypes of a gene in two tissues (one modality) or "
                    "two modalities (one tissue)", "download")
    counts = write_qtl_coloc(out, table, download, fdr=atlas.mapping.fdr, p1=settings.p1, p12=settings.p12)
    return counts.as_json(settings.p1, settings.p12)
