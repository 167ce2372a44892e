"""Every tested cis pair of a release (the nominal pass) by gene, region or variant, filtered by −log10 p and
paged: :class:`AllPairsQueries`, a mixin of :class:`~qtlatlas.store.release.ReleaseStore`.

A query picks, per tissue × modality, the runs (phenotypes) and rows it needs from the runs table of each
all-pairs store (:class:`~qtlatlas.store.all_pairs_file.AllPairsFile`), counts them without decoding (or, with
``min_nlog10p``, decoding that one column), and decodes only the rows of the page asked; the variant fields
come from the release's variant table by index (:class:`VariantsByIndex`).

Rows are ordered by tissue and modality (release order), then phenotype position, then variant position.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..release import layout
from . import params as P
from .all_pairs_by_variant import PairsByVariant, split_by_target
from .all_pairs_file import AllPairsFile, RowSlice
from .batched import BatchedFile
from .errors import BadQuery, NotFound

CROSS_MODALITY = "cross_modality"
#: Columns of a row of :meth:`AllPairsQueries.all_pairs`.
PAIR_COLUMNS = ["tissue", "modality", "phenotype_id", "gene_id", "gene_name", "variant_id", "chrom", "pos", "ref",
                "alt", "start_distance", "af", "ma_samples", "ma_count", "pval_nominal", "nlog10p", "slope",
                "slope_se"]
_VARIANT_FIELDS = ["variant_id", "chrom", "pos", "ref", "alt"]


_STATS = ("af", "ma_samples", "ma_count")
_EMPTY_TYPES = {"pos": pa.int64(), "start_distance": pa.int64(), "af": pa.float32(), "ma_samples": pa.int32(),
                "ma_count": pa.int32(), "pval_nominal": pa.float64(), "nlog10p": pa.float32(), "slope": pa.float32(),
                "slope_se": pa.float32()}


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    """A page as pandas: dictionary columns decoded, nullable integers as pandas' Int64."""
    columns = {name: (col.cast(col.type.value_type) if pa.types.is_dictionary(col.type) else col)
               for name, col in zip(table.column_names, table.columns, strict=True)}
    return pa.table(columns).to_pandas(types_mapper={pa.int32(): pd.Int64Dtype(), pa.int64(): pd.Int64Dtype()}.get)


class VariantsByIndex:
    """The release's variants by index (row of ``variants.parquet``), read from the batches of
    ``variants_by_position.arrow`` (same order; thread-safe)."""

    def __init__(self, path: str):
        self.file = BatchedFile(path)
        r = self.file.ranges
        n = r.column("n_rows").to_numpy()
        self.first = np.concatenate([[0], np.cumsum(n)[:-1]]).astype(np.int64)
        self.batch = r.column("batch").to_numpy()
        self.chrom = np.asarray(r.column("chrom").to_pylist(), dtype=object)
        self.pos_min = r.column("pos_min").to_numpy()
        self.pos_max = r.column("pos_max").to_numpy()

    def take(self, index: np.ndarray) -> pa.Table:
        """``variant_id, chrom, pos, ref, alt`` of each index, in the order given."""
        index = np.asarray(index, dtype=np.int64)
        if not len(index):
            return pa.table({c: pa.array([], pa.int64() if c == "pos" else pa.string()) for c in _VARIANT_FIELDS})
        which = np.searchsorted(self.first, index, side="right") - 1
        ascending = bool((np.diff(index) >= 0).all())  # a window of one phenotype: no reordering at the end
        parts, order = [], []
        for b in np.unique(which).tolist():
            sel = np.flatnonzero(which == b)
            local = index[sel] - self.first[b]
            batch = pa.Table.from_batches([self.file.batch(int(self.batch[b])).select(_VARIANT_FIELDS)])
            if ascending and local[-1] - local[0] + 1 == len(local):  # consecutive variants: a slice, not a copy
                parts.append(batch.slice(int(local[0]), len(local)))
            else:
                parts.append(batch.take(pa.array(local)))
            order.append(sel)
        table = pa.concat_tables(parts)
        if ascending:
            return table
        return table.take(pa.array(np.argsort(np.concatenate(order), kind="stable")))

    def _batches(self, chroms: list[str], start: int, end: int) -> list[int]:
        sel = np.isin(self.chrom, chroms) & (self.pos_max >= start) & (self.pos_min <= end)
        return np.flatnonzero(sel).tolist()

    def index_range(self, chroms: list[str], start: int, end: int) -> tuple[int, int] | None:
        """First and last index of the variants at ``start ≤ pos ≤ end`` on ``chroms``; None when none."""
        found = self._batches(chroms, start, end)
        if not found:
            return None
        first, last = found[0], found[-1]
        pos = self.file.batch(int(self.batch[first])).column("pos").to_numpy()
        lo = int(self.first[first] + np.searchsorted(pos, start, side="left"))
        pos = self.file.batch(int(self.batch[last])).column("pos").to_numpy()
        hi = int(self.first[last] + np.searchsorted(pos, end, side="right") - 1)
        return (lo, hi) if hi >= lo else None

    def index_of(self, chroms: list[str], pos: int, variant_id: str) -> int | None:
        for b in self._batches(chroms, pos, pos):
            batch = self.file.batch(int(self.batch[b]))
            hit = np.flatnonzero(pc.equal(batch.column("variant_id"), variant_id).to_numpy(zero_copy_only=False))
            if len(hit):
                return int(self.first[b] + hit[0])
        return None


@dataclass
class _Piece:
    """Decoded rows of one tissue × modality (see :meth:`AllPairsQueries._rows`): the run (phenotype) and
    variant index of each row, the float columns read (float32, NaN where missing) and the per-variant
    statistics (``af, ma_samples, ma_count``; None when not asked)."""

    tissue: str
    modality: str
    file: AllPairsFile
    runs: np.ndarray
    variant_index: np.ndarray
    floats: dict[str, np.ndarray]
    stats: pa.Table | None


class _Candidates:
    """The candidate rows of one tissue × modality: row numbers of the pairs file (in query order) and the run
    of each, decoded only when asked (:meth:`nlog10p`, :meth:`piece`)."""

    def __init__(self, tissue: str, modality: str, file: AllPairsFile, slices: list[RowSlice]):
        self.tissue, self.modality, self.file = tissue, modality, file
        self.rows = (np.concatenate([np.arange(s.start, s.end, dtype=np.int64) for s in slices])
                     if slices else np.zeros(0, np.int64))
        self.runs = (np.repeat(np.array([s.run for s in slices], np.int64), [s.n for s in slices])
                     if slices else np.zeros(0, np.int64))

    def nlog10p(self) -> np.ndarray:
        """−log10 p of each candidate row (float32, NaN where missing)."""
        if not len(self.rows):
            return np.zeros(0, np.float32)
        return self.file.pairs.take(self.rows, ["nlog10p"]).column("nlog10p").to_numpy(zero_copy_only=False)

    def select(self, mask: np.ndarray) -> None:
        """Keep the candidates where ``mask`` (bool, one per row) is true."""
        self.rows, self.runs = self.rows[mask], self.runs[mask]

    def keep(self, min_nlog10p: float) -> None:
        """Keep the rows whose −log10 p is at least ``min_nlog10p``."""
        if len(self.rows):
            self.select(self.nlog10p() >= min_nlog10p)

    def piece(self, lo: int, hi: int, want: set[str]) -> _Piece:
        """Candidates ``lo .. hi - 1`` decoded: the float columns of ``want`` (``nlog10p`` also for
        ``pval_nominal``) and, when asked, the per-variant statistics."""
        rows, runs = self.rows[lo:hi], self.runs[lo:hi]
        values = [f for f in ("nlog10p", "slope", "slope_se") if f in want or (f == "nlog10p" and "pval_nominal" in want)]
        pairs = self.file.pair_values(rows, runs, values)
        floats = {f: pairs[f].to_numpy(zero_copy_only=False).astype(np.float32, copy=False) for f in values}
        stats = self.file.variant_stats(pairs["variant_index"]) if want & set(_STATS) else None
        return _Piece(self.tissue, self.modality, self.file, runs, pairs["variant_index"], floats, stats)


class _ReadCandidates(_Candidates):
    """Candidates already decoded: the pairs of one variant in one tissue × modality, rows of the release's
    pairs-by-variant file (:class:`~qtlatlas.store.all_pairs_by_variant.PairsByVariant`)."""

    def __init__(self, tissue: str, modality: str, file: AllPairsFile, table: pa.Table | None):
        self.tissue, self.modality, self.file = tissue, modality, file
        self.table = table
        n = 0 if table is None else table.num_rows
        self.rows = np.arange(n, dtype=np.int64)  # positions in `table`
        self.runs = (np.zeros(0, np.int64) if table is None
                     else table.column("run").to_numpy().astype(np.int64))

    def nlog10p(self) -> np.ndarray:
        if self.table is None:
            return np.zeros(0, np.float32)
        return self.table.column("nlog10p").to_numpy()[self.rows]

    def piece(self, lo: int, hi: int, want: set[str]) -> _Piece:
        at = self.rows[lo:hi]
        if len(at) and at[-1] - at[0] + 1 == len(at):  # consecutive rows: a slice, not a copy
            taken = self.table.slice(int(at[0]), len(at))
        else:
            taken = self.table.take(pa.array(at))
        floats = {f: taken.column(f).to_numpy() for f in ("nlog10p", "slope", "slope_se")}
        stats = None
        if want & set(_STATS):
            af = taken.column("af").to_numpy()
            stats = pa.table({"af": pa.array(af, mask=np.isnan(af)), "ma_samples": taken.column("ma_samples"),
                              "ma_count": taken.column("ma_count")})
        return _Piece(self.tissue, self.modality, self.file, self.runs[lo:hi],
                      taken.column("variant_index").to_numpy().astype(np.int64), floats, stats)


class AllPairsQueries:
    """Queries of every tested pair (see the module docstring)."""

    def all_pairs_file(self, tissue: str, modality: str) -> AllPairsFile | None:
        """The all-pairs store of a tissue × modality, or None when the release does not publish it."""
        def load():
            paths = [self.path / layout.all_pairs_path(tissue, modality, p) for p in layout.ALL_PAIRS_PARTS]
            return AllPairsFile(*map(str, paths)) if all(p.is_file() for p in paths) else None

        return self._cached(f"all_pairs:{tissue}.{modality}", load)

    def _variants_by_index(self) -> VariantsByIndex:
        return self._cached("variants_by_index", lambda: VariantsByIndex(self.table_file("variants_by_position")))

    def all_pairs_targets(self, tissues=None, modalities=None) -> list[tuple[str, str]]:
        """(tissue, modality) pairs of the filters whose every tested pair the release publishes."""
        ts = self._tissue_filter(tissues) or list(self._tissue_modalities)
        ms = self._modality_filter(modalities)
        return [(t, m) for t in ts for m in self._tissue_modalities.get(t, [])
                if m != CROSS_MODALITY and (ms is None or m in ms) and self.all_pairs_file(t, m) is not None]

    def all_pairs(self, **query) -> tuple[pd.DataFrame, int, str | None]:
        """:meth:`all_pairs_table` as a DataFrame (nullable integers as pandas' Int64)."""
        table, total, next_cursor = self.all_pairs_table(**query)
        return _to_pandas(table), total, next_cursor

    def all_pairs_table(self, *, gene: str | None = None, region: str | None = None, variant: str | None = None,
                        phenotype: str | None = None, tissues=None, modalities=None, min_nlog10p: float | None = None,
                        limit: int = 1000, cursor: str | None = None) -> tuple[pa.Table, int, str | None]:
        """Every tested pair of one gene (id or symbol; ``phenotype`` narrows it to one of its phenotypes), of one
        region (``chrom:start-end`` on the variant position, at most MAX_REGION_BP wide) or of one variant (any
        syntax of :meth:`variant`): exactly one of the three. ``min_nlog10p`` keeps pairs with −log10 p at
        least that. Returns ``(rows, total, next_cursor)``: an Arrow table of :data:`PAIR_COLUMNS` (text fields
        dictionary-encoded; ``nlog10p``, ``af``, ``slope`` and ``slope_se`` float32 as stored, ``pval_nominal``
        float64), the number of matching pairs, the cursor of the next page."""
        n = P.limit(limit)
        threshold = P.number(min_nlog10p, "min_nlog10p")
        kind = "all_pairs"
        offset = P.decode_cursor(cursor, kind)
        candidates = self._candidates(gene, region, variant, phenotype, tissues, modalities)
        if threshold is not None:
            for c in candidates:
                c.keep(threshold)
        total = sum(len(c.rows) for c in candidates)
        parts, at = [], 0
        for c in candidates:
            k = len(c.rows)
            lo, hi = max(offset - at, 0), min(offset + n - at, k)
            if hi > lo:
                parts.append(self._rows(c, lo, hi))
            at += k
        rows = self._table(parts)
        return rows, total, P.next_cursor(offset, rows.num_rows, total, kind)

    def all_pairs_strongest(self, most: int, *, gene: str | None = None, region: str | None = None,
                            variant: str | None = None, phenotype: str | None = None, tissues=None,
                            modalities=None, fields: list[str] | None = None
                            ) -> tuple[pd.DataFrame, int, float | None]:
        """Every pair of an :meth:`all_pairs` query when it has at most ``most`` (≥ 1), else the ``most`` of
        highest −log10 p (rows tied at the cut are kept while they fit), in :meth:`all_pairs`' order, in one
        read; ``fields`` (of :data:`PAIR_COLUMNS`) chooses the columns (default all). Returns ``(rows, total,
        cut)``: ``total`` counts every pair of the query, ``cut`` is the smallest −log10 p kept when rows were
        left out (None when none was)."""
        if fields is not None and (not fields or any(f not in PAIR_COLUMNS for f in fields)):
            raise BadQuery("fields", f"expected columns of {', '.join(PAIR_COLUMNS)}")
        most = P.limit(most, "most", maximum=1_000_000)
        candidates = self._candidates(gene, region, variant, phenotype, tissues, modalities)
        total = sum(len(c.rows) for c in candidates)
        cut = None
        if total > most:
            values = [c.nlog10p() for c in candidates]
            values = [np.where(np.isnan(v), -np.inf, v) for v in values]  # an undefined p ranks last
            flat = np.concatenate(values).astype(np.float64)
            cut = float(np.partition(flat, total - most)[total - most])  # the most-th largest value
            room = most - int((flat > cut).sum())  # rows at the cut that still fit
            for c, v in zip(candidates, values, strict=True):
                keep = v > cut
                tied = np.flatnonzero(v == cut)[:max(room, 0)]
                room -= len(tied)
                keep[tied] = True
                c.select(keep)
        rows = self._table([self._rows(c, 0, len(c.rows), fields) for c in candidates if len(c.rows)], fields)
        return _to_pandas(rows), total, cut

    def phenotype_runs(self, gene: str) -> pd.DataFrame:
        """The phenotypes of a gene (id or symbol) whose every tested pair the release publishes, from the
        all-pairs stores' runs tables (nothing decoded): ``tissue, modality, phenotype_id, chrom, start``
        (the phenotype's position; None when unknown), ``pos_first, pos_last`` (its first and last tested variant) and
        ``n_variants``, by tissue and modality (release order), then position."""
        gene_id = self._all_pairs_gene(gene)
        rows = []
        for t, m in self.all_pairs_targets():
            file = self.all_pairs_file(t, m)
            for i in file.runs_of_gene(gene_id):
                start = float(file.start[i])
                rows.append((t, m, str(file.phenotype_ids[i]), str(file.chroms[i]),
                             None if start != start else int(start), int(file.pos_first[i]),
                             int(file.pos_last[i]), int(file.n_rows[i])))
        return pd.DataFrame(rows, columns=["tissue", "modality", "phenotype_id", "chrom", "start", "pos_first",
                                           "pos_last", "n_variants"])

    def _candidates(self, gene, region, variant, phenotype, tissues, modalities) -> list[_Candidates]:
        """The candidate rows of a gene, region or variant query (exactly one of the three) in each tissue ×
        modality asked, in release order."""
        if sum(x is not None for x in (gene, region, variant)) != 1:
            raise BadQuery("gene/region/variant", "give exactly one of gene, region and variant")
        targets = self.all_pairs_targets(tissues, modalities)
        if not targets:
            raise NotFound("all pairs", "of the tissues and modalities asked",
                           detail=f"(release {self.id} publishes no nominal pass for them)")
        by_variant = self._pairs_by_variant() if variant is not None else None
        if by_variant is not None and len(by_variant.codes(targets)) == len(targets):
            index = self._index_of_variant(variant)
            rows = by_variant.rows(index) if index is not None else None
            found = {} if rows is None else split_by_target(rows, by_variant.codes(targets))
            return [_ReadCandidates(t, m, self.all_pairs_file(t, m), found.get((t, m))) for t, m in targets]
        pick = self._picker(gene=gene, region=region, variant=variant, phenotype=phenotype)
        out = []
        for t, m in targets:
            file = self.all_pairs_file(t, m)
            out.append(_Candidates(t, m, file, pick(file)))
        return out

    def _picker(self, *, gene, region, variant, phenotype):
        """A function of an :class:`AllPairsFile` giving the row slices the query asks of it."""
        if gene is not None:
            gene_id = self._all_pairs_gene(gene)
            pid = None if phenotype is None else P.text(phenotype, "phenotype")

            def by_gene(file: AllPairsFile) -> list[RowSlice]:
                runs = file.runs_of_gene(gene_id)
                if pid is not None:
                    runs = [i for i in runs if file.phenotype_ids[i] == pid]
                return file.slices(runs)
            return by_gene
        if region is not None:
            span = P.region(region)
            chroms = self.chrom_spellings(span.chrom)
            found = self._variants_by_index().index_range(chroms, span.start, span.end)

            def by_region(file: AllPairsFile) -> list[RowSlice]:
                if found is None:
                    return []
                return file.slices(file.runs_meeting(chroms, span.start, span.end), *found)
            return by_region
        index = self._index_of_variant(variant)

        def by_variant(file: AllPairsFile) -> list[RowSlice]:
            if index is None:
                return []
            return file.slices(file.runs_covering(index), index, index)
        return by_variant

    def _index_of_variant(self, variant: str) -> int | None:
        """The index of a variant (any syntax of :meth:`variant`) in the release's variant table; None when it
        is not among the genotyped variants."""
        v = self.variant(variant)
        return self._variants_by_index().index_of(self.chrom_spellings(v["chrom"]), int(v["pos"]), v["variant_id"])

    def _pairs_by_variant(self) -> PairsByVariant | None:
        """The release's pairs sorted by variant, None in a release built without them."""
        def load():
            path = self.path / layout.ALL_PAIRS_BY_VARIANT
            return PairsByVariant(str(path)) if path.is_file() else None

        return self._cached("all_pairs_by_variant", load)

    def _all_pairs_gene(self, gene: str) -> str:
        """The gene id of ``gene`` (id or symbol), or ``gene`` itself when the annotation lacks it but an all-pairs
        store holds pairs of that gene id (phenotypes of genes outside the release's annotation)."""
        try:
            return self.resolve_gene(gene)["gene_id"]
        except NotFound:
            q = P.text(gene, "gene")
            if any(self.all_pairs_file(t, m).runs_of_gene(q) for t, m in self.all_pairs_targets()):
                return q
            raise

    def _rows(self, c: _Candidates, lo: int, hi: int, fields: list[str] | None = None) -> _Piece:
        """Rows ``lo .. hi - 1`` of a tissue × modality's candidates, decoded: the values of ``fields`` (of
        :data:`PAIR_COLUMNS`; all when None: a plot's few columns skip the others' reads), as arrays that
        :meth:`_table` turns into one table for the whole page (the variants' fields read once, each text built
        once)."""
        return c.piece(lo, hi, set(PAIR_COLUMNS if fields is None else fields))

    def _table(self, pieces: list[_Piece], fields: list[str] | None = None) -> pa.Table:
        """One Arrow table of the :meth:`_rows` pieces of a page, with the columns of :data:`PAIR_COLUMNS` (or of
        ``fields``), in that order: text fields dictionary-encoded (each tissue, phenotype, gene and symbol built
        once), floats as stored (float32; ``pval_nominal`` float64 from −log10 p), a missing value null."""
        want = PAIR_COLUMNS if fields is None else fields
        if not pieces:
            return pa.table({c: pa.array([], _EMPTY_TYPES.get(c, pa.string())) for c in want})
        sizes = np.array([len(p.runs) for p in pieces])
        columns: dict[str, pa.Array] = {}
        which = pa.array(np.repeat(np.arange(len(pieces), dtype=np.int32), sizes))
        for name in ("tissue", "modality"):
            if name in want:
                columns[name] = pa.DictionaryArray.from_arrays(which, pa.array([getattr(p, name) for p in pieces],
                                                                                pa.string()))
        if {"phenotype_id", "gene_id", "gene_name"} & set(want):
            # the distinct runs of each piece, numbered across the page
            codes, phenotypes, genes, base = [], [], [], 0
            for p in pieces:
                distinct, at = np.unique(p.runs, return_inverse=True)
                codes.append(at.astype(np.int32) + base)
                base += len(distinct)
                phenotypes.append(p.file.phenotype_ids[distinct])
                genes.append(p.file.gene_ids[distinct])
            code = pa.array(np.concatenate(codes))
            gene_ids = np.concatenate(genes)
            text = {"phenotype_id": lambda: np.concatenate(phenotypes), "gene_id": lambda: gene_ids,
                    "gene_name": lambda: self._gene_names(gene_ids)}
            for name, values in text.items():
                if name in want:
                    columns[name] = pa.DictionaryArray.from_arrays(code, pa.array(values(), pa.string()))
        index = np.concatenate([p.variant_index for p in pieces]).astype(np.int64, copy=False)
        if set(want) & {*_VARIANT_FIELDS, "start_distance"}:
            variants = self._variants_by_index().take(index)
            columns.update({f: variants.column(f) for f in _VARIANT_FIELDS})
            start = np.concatenate([p.file.start[p.runs] for p in pieces]).astype(np.float64)
            unplaced = np.isnan(start)
            pos = variants.column("pos").to_numpy(zero_copy_only=False)
            columns["start_distance"] = pa.array(np.where(unplaced, 0, pos - np.nan_to_num(start)).astype(np.int64),
                                                 mask=unplaced)
        if set(want) & {"af", "ma_samples", "ma_count"}:
            stats = pa.concat_tables([p.stats for p in pieces], promote_options="default")
            columns.update({f: stats.column(f) for f in ("af", "ma_samples", "ma_count")})
        for f in ("nlog10p", "slope", "slope_se"):
            if f in want:
                v = np.concatenate([p.floats[f] for p in pieces])
                columns[f] = pa.array(v, mask=np.isnan(v))
        if "pval_nominal" in want:
            with np.errstate(over="ignore", invalid="ignore"):
                pval = np.power(10.0, -np.concatenate([p.floats["nlog10p"] for p in pieces]).astype(np.float64))
            columns["pval_nominal"] = pa.array(pval, mask=np.isnan(pval))
        return pa.table({name: columns[name] for name in want})

    def _gene_names(self, gene_ids: np.ndarray) -> np.ndarray:
        index = self._gene_index()
        names = index.names
        found = [index.by_id.get(str(g).lower()) if g is not None else None for g in gene_ids.tolist()]
        return np.array([names[i] if i is not None else None for i in found], dtype=object)

    def all_pairs_pair(self, tissue: str, modality: str, phenotype_id: str, variant_id: str) -> dict | None:
        """The statistics of one tested pair (``pval_nominal, nlog10p, slope, slope_se, af, ma_samples,
        ma_count``), None when it was not tested, the release does not publish its nominal pass or the tissue is
        hidden from this store."""
        file = self.all_pairs_file(tissue, modality) if self.tissue_visible(tissue) else None
        if file is None:
            return None
        runs = file.runs_of_phenotype(str(phenotype_id))
        if not runs:
            return None
        try:
            v = self.variant(variant_id)
        except NotFound:
            return None
        index = self._variants_by_index().index_of(self.chrom_spellings(v["chrom"]), int(v["pos"]), v["variant_id"])
        if index is None:
            return None
        slices = file.slices(runs, index, index)
        if not slices:
            return None
        c = _Candidates(tissue, modality, file, slices)
        row = self._table([self._rows(c, 0, 1)]).to_pylist()[0]
        return {k: row[k] for k in ("phenotype_id", "variant_id", "pval_nominal", "nlog10p", "slope", "slope_se", "af",
                                    "ma_samples", "ma_count", "start_distance")}
