"""LD queries of a release, computed on demand from its genotype matrix (:mod:`qtlatlas.release.genotype_matrix`).
Mixed into :class:`~qtlatlas.store.release.ReleaseStore`.

* :meth:`LdQueries.ld`: r and r² between a variant and every variant of a window around it (default the
  variant ± 500 kb, at most 2 Mb wide);
* :meth:`LdQueries.ld_matrix`: the r and r² matrices of up to 500 variants.

r is PLINK 1.9's ``--r`` (see :mod:`qtlatlas.engine.ld`): the correlation of ALT dosages over the samples
genotyped at both variants — all genotyped samples of the release, or those of one tissue. The window's
variants are a contiguous range of the matrix rows (the matrix follows ``variants_by_position``): their row
numbers come from the position look-up file, the caps are checked on them, and only those rows are read
(1.85 MB per Mb at 10× RatGTEx's density), with positioned reads of one open file (thread-safe).

Releases built before the matrix answer :class:`~qtlatlas.store.errors.NotFound` (a 404): decoding a window
record by record from the VCF takes seconds at RatGTEx's scale, which would stall the server.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from ..io.chromosomes import chrom_key
from ..release.genotype_matrix import MAGIC, row_bytes, samples_path
from .errors import BadQuery, NotFound
from .params import MAX_REGION_BP, Span, region, text_list

#: Default half-width of the window of :meth:`LdQueries.ld`, bp.
LD_FLANK_BP = 500_000
#: Widest window of :meth:`LdQueries.ld`, bp.
MAX_LD_WINDOW_BP = MAX_REGION_BP
#: Most variants of a window (100,000 rows: 50 MB read at 2,000 samples, about 0.3 s).
MAX_LD_WINDOW_VARIANTS = 100_000
#: Most variants of :meth:`LdQueries.ld_matrix`.
MAX_LD_MATRIX_VARIANTS = 500
LD_COLUMNS = ["variant_id", "chrom", "pos", "ref", "alt", "r", "r2"]


class GenotypeMatrix:
    """The rows of a release's genotype matrix, read with ``os.pread`` (no shared file position: thread-safe).

    Args:
        path: the ``.bed`` file.
        n_variants: its rows (the rows of ``variants_by_position``); a file of another size is refused.
    """

    def __init__(self, path: str | os.PathLike[str], n_variants: int):
        self.path = os.fspath(path)
        self.samples: list[str] = samples_path(path).read_text(encoding="utf-8").splitlines()
        self.n_samples = len(self.samples)
        self.width = row_bytes(self.n_samples)
        self.n_variants = int(n_variants)
        expected = len(MAGIC) + self.n_variants * self.width
        size = os.path.getsize(self.path)
        self._file = open(self.path, "rb")  # kept open for the store's life
        if size != expected or os.pread(self._file.fileno(), len(MAGIC), 0) != MAGIC:
            self._file.close()
            raise ValueError(f"{self.path}: {size} bytes, expected {expected} ({self.n_variants} variants × "
                             f"{self.width} bytes after the magic bytes)")
        self._column = {s: i for i, s in enumerate(self.samples)}

    def rows(self, start: int, stop: int) -> np.ndarray:
        """``(stop - start, width)`` uint8 rows ``start .. stop - 1``."""
        if not 0 <= start <= stop <= self.n_variants:
            raise IndexError(f"rows {start}..{stop} outside 0..{self.n_variants}")
        n = (stop - start) * self.width
        data = os.pread(self._file.fileno(), n, len(MAGIC) + start * self.width)
        if len(data) != n:
            raise OSError(f"{self.path}: short read at row {start}")
        return np.frombuffer(data, dtype=np.uint8).reshape(stop - start, self.width)

    def take(self, indices: np.ndarray) -> np.ndarray:
        """``(len(indices), width)`` uint8 rows at ``indices`` (any order; each run of consecutive rows is one read)."""
        indices = np.asarray(indices, dtype=np.int64)
        order = np.argsort(indices, kind="stable")
        ordered = indices[order]
        out = np.empty((len(indices), self.width), dtype=np.uint8)
        cuts = np.flatnonzero(np.diff(ordered) != 1) + 1
        for run in np.split(np.arange(len(ordered)), cuts):
            if len(run):
                out[order[run]] = self.rows(int(ordered[run[0]]), int(ordered[run[-1]]) + 1)
        return out

    def keep(self, samples: list[str]) -> np.ndarray:
        """``(n_samples,)`` bool: the matrix columns of ``samples`` (ids it lacks are ignored)."""
        keep = np.zeros(self.n_samples, dtype=bool)
        cols = [self._column[s] for s in samples if s in self._column]
        keep[cols] = True
        return keep

    def close(self) -> None:
        self._file.close()


class LdQueries:
    """LD look-ups (see the module docstring)."""

    # -- files ------------------------------------------------------------------------------------

    def genotype_matrix(self) -> GenotypeMatrix:
        """The release's :class:`GenotypeMatrix`; NotFound when the release was built without one."""
        def load():
            positions = self._variant_positions()
            if not self.has_table("genotype_matrix") or positions is None:
                return False
            n = int(np.asarray(positions.file.ranges.column("n_rows").to_numpy()).sum())
            return GenotypeMatrix(self.table_file("genotype_matrix"), n)

        matrix = self._cached("genotype_matrix", load)
        if not matrix:
            raise NotFound("genotype matrix", self.id, detail="(LD needs it; releases built before it was "
                           "published have none — their genotypes are the VCF download)")
        return matrix

    def _row_offsets(self) -> np.ndarray:
        """First matrix row of each batch of ``variants_by_position`` (by batch number), and the total last."""
        def load() -> np.ndarray:
            r = self._variant_positions().file.ranges
            n = np.zeros(r.num_rows, dtype=np.int64)
            n[r.column("batch").to_numpy()] = r.column("n_rows").to_numpy()
            return np.concatenate([[0], np.cumsum(n)])

        return self._cached("ld_row_offsets", load)

    def _rows_in(self, chrom: str, start: int, end: int) -> tuple[pd.DataFrame, np.ndarray]:
        """The variants of ``chrom:start-end`` (``variant_id, chrom, pos, ref, alt``, by position) and their
        matrix rows ``(m,)`` int64."""
        import pyarrow as pa

        positions = self._variant_positions()
        offsets = self._row_offsets()
        parts, rows = [], []
        for g in positions.groups([chrom], start, end):
            batch = positions.file.batch(g)
            pos = batch.column(batch.schema.get_field_index("pos")).to_numpy()
            at = np.flatnonzero((pos >= start) & (pos <= end))
            if len(at):
                parts.append(batch.select(LD_COLUMNS[:5]).take(pa.array(at)))
                rows.append(offsets[g] + at)
        if not parts:
            return pd.DataFrame(columns=LD_COLUMNS[:5]), np.empty(0, dtype=np.int64)
        return pa.Table.from_batches(parts).to_pandas(), np.concatenate(rows).astype(np.int64)

    def _rows_of(self, variants: list[dict]) -> np.ndarray:
        """``(k,)`` int64 matrix rows of variants of :meth:`variant` (each batch of ``variants_by_position``
        they fall in decoded once)."""
        positions = self._variant_positions()
        offsets = self._row_offsets()
        decoded: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        out = np.empty(len(variants), dtype=np.int64)
        for i, v in enumerate(variants):
            for g in positions.groups([v["chrom"]], v["pos"], v["pos"]):
                if g not in decoded:
                    batch = positions.file.batch(g)
                    decoded[g] = (batch.column(batch.schema.get_field_index("pos")).to_numpy(),
                                  batch.column(batch.schema.get_field_index("variant_id")).to_numpy(zero_copy_only=False))
                pos, ids = decoded[g]
                at = np.flatnonzero((pos == v["pos"]) & (ids == v["variant_id"]))
                if len(at):
                    out[i] = offsets[g] + at[0]
                    break
            else:
                raise NotFound("genotypes of variant", v["variant_id"], detail=f"in release {self.id}")
        return out

    def ld_samples(self, tissue: str | None = None) -> np.ndarray | None:
        """The matrix columns LD is computed over: None for every genotyped sample, else ``(n_samples,)`` bool,
        the samples of ``tissue`` (NotFound: an unknown tissue, or one without a genotyped sample). Without a
        tissue, a store that hides tissues leaves out the samples found only in hidden tissues."""
        if tissue is None or (isinstance(tissue, str) and not tissue.strip()):
            return self._visible_ld_samples() if self.hidden.tissues else None
        t = self.check_tissue(tissue.strip() if isinstance(tissue, str) else tissue)
        matrix = self.genotype_matrix()

        def load() -> np.ndarray:
            samples = self._samples_by_tissue().get(t, [])
            return matrix.keep(samples)

        keep = self._cached(f"ld_samples:{t}", load)
        if not keep.any():
            raise NotFound("genotyped samples of tissue", t, detail=f"in release {self.id}")
        return keep

    def _visible_ld_samples(self) -> np.ndarray | None:
        """The matrix columns of every genotyped sample but those only hidden tissues have (None when there is
        none such: every column); cached per view."""
        matrix = self.genotype_matrix()

        def load():
            by_tissue = self._samples_by_tissue()
            hidden = {s for t, ss in by_tissue.items() if t in self.hidden.tissues for s in ss}
            hidden -= {s for t, ss in by_tissue.items() if t not in self.hidden.tissues for s in ss}
            return ~matrix.keep(sorted(hidden)) if hidden else False

        keep = self._cached("visible_ld_columns", load)
        return None if keep is False else keep

    def _samples_by_tissue(self) -> dict[str, list[str]]:
        def load() -> dict[str, list[str]]:
            if not self.has_table("samples"):
                return {}
            df = pd.read_parquet(self.table_file("samples"), columns=["sample_id", "tissue"])
            return {str(t): [str(s) for s in g["sample_id"]] for t, g in df.groupby("tissue", sort=False)}

        return self._cached("samples_by_tissue", load)

    # -- queries ----------------------------------------------------------------------------------

    def ld_window(self, v: dict, region_text: str | None = None) -> Span:
        """The window of :meth:`ld` for variant ``v`` (a row of :meth:`variant`): ``region_text`` checked
        (at most 2 Mb, on the variant's chromosome, holding it), else the variant ± :data:`LD_FLANK_BP`."""
        if region_text is None or (isinstance(region_text, str) and not region_text.strip()):
            return Span(v["chrom"], max(1, v["pos"] - LD_FLANK_BP), v["pos"] + LD_FLANK_BP)
        span = region(region_text, "region", max_bp=MAX_LD_WINDOW_BP)
        if chrom_key(span.chrom) != chrom_key(v["chrom"]):
            raise BadQuery("region", f"is on chromosome {span.chrom}, the variant {v['variant_id']} on {v['chrom']}")
        if not span.start <= v["pos"] <= span.end:
            raise BadQuery("region", f"{span.chrom}:{span.start}-{span.end} does not hold the variant "
                           f"{v['variant_id']} ({v['chrom']}:{v['pos']})")
        return Span(v["chrom"], span.start, span.end)

    def ld(self, variant: str, region: str | None = None, tissue: str | None = None) -> pd.DataFrame:
        """r and r² between a variant (any syntax of :meth:`variant`) and every variant of a window, itself
        included: ``variant_id, chrom, pos, ref, alt, r, r2`` by position (r, r2 NaN where undefined: a
        variant monomorphic over the samples).

        Args:
            variant: the focal variant.
            region: ``chr:start-end`` holding the variant, at most 2 Mb wide; default the variant ± 500 kb.
            tissue: compute over that tissue's samples (the release's ``samples`` table), else over every
                genotyped sample.

        Raises:
            NotFound: unknown variant or tissue, or a release without a genotype matrix.
            BadQuery: a region too wide, on another chromosome, without the variant, or of too many variants.
        """
        from ..engine.ld import ld_r_packed, mask_packed

        matrix = self.genotype_matrix()
        v = self.variant(variant)
        span = self.ld_window(v, region)
        keep = self.ld_samples(tissue)
        found, rows = self._rows_in(v["chrom"], span.start, span.end)
        if len(rows) > MAX_LD_WINDOW_VARIANTS:
            raise BadQuery("region", f"holds {len(rows):,} variants, more than the {MAX_LD_WINDOW_VARIANTS:,} "
                           "of one LD query: narrow it")
        focal = np.flatnonzero(found["variant_id"].to_numpy() == v["variant_id"])
        if not len(focal):
            raise NotFound("genotypes of variant", v["variant_id"], detail=f"in release {self.id}")
        first = int(rows.min())
        packed = matrix.rows(first, int(rows.max()) + 1)
        if len(packed) != len(rows) or not np.array_equal(rows, np.arange(first, first + len(rows))):
            packed = packed[rows - first]
        x = packed[int(focal[0])]
        if keep is not None:
            x = mask_packed(x, keep)
        r = ld_r_packed(x, packed, matrix.n_samples)
        out = found.reset_index(drop=True)
        out["pos"] = out["pos"].astype(np.int64)
        out["r"] = r
        out["r2"] = r * r
        return out[LD_COLUMNS]

    def ld_matrix(self, variants, tissue: str | None = None) -> dict:
        """The r and r² matrices of a list of variants (any syntax of :meth:`variant`; repeats of one variant
        kept once; at most :data:`MAX_LD_MATRIX_VARIANTS`).

        Returns:
            ``variants`` (their ids, in the order given), ``r`` and ``r2`` (``(k, k)`` float64 arrays, NaN where
            undefined) and ``n_samples`` (the samples LD is computed over).
        """
        from ..engine.ld import ld_r_matrix, unpack

        matrix = self.genotype_matrix()
        asked = text_list(variants, "variants")
        if not asked:
            raise BadQuery("variants", "may not be empty")
        if len(asked) > MAX_LD_MATRIX_VARIANTS:
            raise BadQuery("variants", f"{len(asked)} values, more than the {MAX_LD_MATRIX_VARIANTS} of one matrix")
        keep = self.ld_samples(tissue)
        chosen: dict[str, dict] = {}
        for q in asked:
            v = self.variant(q)
            chosen.setdefault(v["variant_id"], v)
        ids = list(chosen)
        calls = unpack(matrix.take(self._rows_of([chosen[i] for i in ids])), matrix.n_samples)
        if keep is not None:
            calls = calls[:, keep]
        r = ld_r_matrix(calls)
        return {"variants": ids, "r": r, "r2": r * r,
                "n_samples": int(matrix.n_samples if keep is None else keep.sum())}

