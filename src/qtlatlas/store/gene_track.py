"""The genes of a region with their exons, for gene tracks under regional plots: :class:`GeneTrackQueries`,
mixed into :class:`~qtlatlas.store.release.ReleaseStore`.

Genes come from the in-memory genes table: per chromosome, the genes sorted by start with the longest gene's
length, so an overlap query is two binary searches and a filter of the few genes between them. Exons come
from the ``exons_index`` look-up file (rows keyed by gene id), each record batch decoded once however many of
the region's genes it holds; a gene's exons are merged over its transcripts (the collapsed gene model a
track draws). Releases built before the look-up file read the exons table through DuckDB.
"""

from __future__ import annotations

import numpy as np

from .batched import KeyedRows
from .db import placeholders
from .params import MAX_REGION_BP, Span, region

#: Fields of a gene of :meth:`GeneTrackQueries.genes_in_region` (with ``exons``).
TRACK_FIELDS = ["gene_id", "gene_name", "gene_type", "chrom", "start", "end", "strand", "tss"]


class _Chromosome:
    """The genes of one chromosome spelling sorted by start: rows of the genes table, starts, ends and the
    longest gene's length (so that genes starting before a region but reaching into it are found)."""

    def __init__(self, rows: np.ndarray, starts: np.ndarray, ends: np.ndarray):
        order = np.argsort(starts, kind="stable")
        self.rows, self.starts, self.ends = rows[order], starts[order], ends[order]
        self.longest = int((self.ends - self.starts).max()) if len(self.rows) else 0

    def overlapping(self, start: int, end: int) -> np.ndarray:
        """Rows of the genes with ``gene.start <= end`` and ``gene.end >= start``, by start."""
        lo = int(np.searchsorted(self.starts, start - self.longest, side="left"))
        hi = int(np.searchsorted(self.starts, end, side="right"))
        keep = self.ends[lo:hi] >= start
        return self.rows[lo:hi][keep]


def merge_intervals(starts: np.ndarray, ends: np.ndarray) -> list[list[int]]:
    """The union of closed intervals ``[start, end]`` as sorted, disjoint ``[start, end]`` pairs (intervals
    that touch or overlap are merged)."""
    if not len(starts):
        return []
    order = np.argsort(starts, kind="stable")
    out: list[list[int]] = []
    for s, e in zip(starts[order].tolist(), ends[order].tolist(), strict=True):
        if out and s <= out[-1][1] + 1:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([int(s), int(e)])
    return out


class GeneTrackQueries:
    """Genes of a region (see the module docstring)."""

    def _genes_by_chrom(self) -> dict[str, _Chromosome]:
        def load() -> dict[str, _Chromosome]:
            df = self._genes()
            starts = df["start"].to_numpy(dtype=np.int64)
            ends = df["end"].to_numpy(dtype=np.int64)
            chroms = df["chrom"].astype(str).to_numpy(dtype=object)
            out = {}
            for c in dict.fromkeys(chroms.tolist()):
                rows = np.flatnonzero(chroms == c)
                out[c] = _Chromosome(rows, starts[rows], ends[rows])
            return out

        return self._cached("genes_by_chrom", load)

    def genes_in_region(self, region_text: str, *, max_bp: int = MAX_REGION_BP) -> list[dict]:
        """Every gene overlapping ``chrom:start-end`` (either chromosome spelling; at most ``max_bp`` wide,
        else BadQuery), by start: :data:`TRACK_FIELDS` and ``exons``, the gene's exons merged over its
        transcripts as ``[[start, end], ...]`` (1-based, inclusive, by start; empty when the release has no
        exon of the gene)."""
        span = region(region_text, "region", max_bp=max_bp)
        return self.genes_in_span(span)

    def genes_in_span(self, span: Span) -> list[dict]:
        """:meth:`genes_in_region` of a parsed region (no width check: the caller bounds it)."""
        by_chrom = self._genes_by_chrom()
        found = [r for c in self.chrom_spellings(span.chrom) if c in by_chrom
                 for r in by_chrom[c].overlapping(span.start, span.end).tolist()]
        genes = [{k: self._gene_index().row(i).get(k) for k in TRACK_FIELDS} for i in found]
        genes.sort(key=lambda g: (g["start"], g["end"], g["gene_id"]))
        exons = self.merged_exons([g["gene_id"] for g in genes])
        for g in genes:
            g["exons"] = exons.get(g["gene_id"], [])
        return genes

    def merged_exons(self, gene_ids: list[str]) -> dict[str, list[list[int]]]:
        """``{gene_id: [[start, end], ...]}``: the exons of each gene merged over its transcripts (genes
        without exons are left out)."""
        if not gene_ids:
            return {}
        pairs = self._exon_coordinates(sorted(set(gene_ids)))
        return {g: merge_intervals(s, e) for g, (s, e) in pairs.items() if len(s)}

    def _exon_coordinates(self, gene_ids: list[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Exon starts and ends of each gene (sorted ids), every record batch of the look-up file decoded
        once."""
        out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        if self.has_table("exons_index"):
            reader: KeyedRows = self._cached("exons_index", lambda: KeyedRows(self.table_file("exons_index"),
                                                                               "gene_id"))
            for gid, parts in reader.slices_of_many(gene_ids).items():
                starts = np.concatenate([p.column(p.schema.get_field_index("start")).to_numpy() for p in parts])
                ends = np.concatenate([p.column(p.schema.get_field_index("end")).to_numpy() for p in parts])
                out[gid] = (starts.astype(np.int64), ends.astype(np.int64))
            return out
        if not self.has_table("exons"):
            return out
        rows = self.db.rows(f"SELECT gene_id, start, \"end\" FROM read_parquet(?) WHERE gene_id IN "
                            f"({placeholders(len(gene_ids))})", [self.table_file("exons"), *gene_ids])
        by_gene: dict[str, list[tuple[int, int]]] = {}
        for gid, s, e in rows:
            by_gene.setdefault(str(gid), []).append((int(s), int(e)))
        for gid, found in by_gene.items():
            a = np.asarray(found, dtype=np.int64)
            out[gid] = (a[:, 0], a[:, 1])
        return out
