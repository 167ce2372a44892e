"""A trait's GWAS placed on a release's variants, for the colocalisation step of a build (:mod:`.coloc`).

* :class:`ReleaseVariants`: the release's variants (``tables/variants_by_position``, whose row is a variant's
  index in the all-pairs stores), its chromosomes in genome order, and the variants of a window;
* :class:`TraitGwas`: the trait's GWAS (any format of :func:`~qtlatlas.io.gwas.read_gwas`) with each row on a
  release chromosome (files with positions: the GWAS's position, chromosome names compared by
  :func:`~qtlatlas.io.chromosomes.chrom_key`; files without, such as FUSION ``.sumstats`` with ``SNP A1 A2 Z``
  only: the position of the release variant of the same id), sorted by genome position, with its −log10 p
  and per-row sample size (the file's, else the trait's ``n``), its lead variants and the GWAS rows of a window;
* :func:`match_window`: the GWAS on the variants of one locus window (:class:`~qtlatlas.coloc.locus_abf.GwasLocus`),
  matched by position (or id) and alleles as ``qtlatlas coloc abf`` matches (:mod:`qtlatlas.coloc.match`),
  with its genome-build checks.

Errors name the trait and its GWAS file (:class:`ColocInputError`).
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from ..coloc.loci import gwas_nlog10p, lead_rows
from ..coloc.locus_abf import GwasLocus
from ..coloc.match import chrom_keys, match_variants
from ..errors import ConfigError, InputFileError, QtlAtlasError
from ..io.chromosomes import chrom_key
from ..io.gwas import read_gwas
from ..store.all_pairs import VariantsByIndex
from . import layout
from .scratch_sql import _quote, parquet, query_table


class ColocInputError(QtlAtlasError):
    """A trait's GWAS cannot be colocalised with the release: unreadable, or on another genome build."""


class ReleaseVariants:
    """The variants of a release directory (read-only), by index (row of ``variants_by_position``)."""

    def __init__(self, release_dir: str | Path, label: str):
        self.dir = Path(release_dir)
        self.label = label
        self.by_index = VariantsByIndex(str(self.dir / layout.table_path("variants_by_position")))
        #: chromosome names in genome order (the order of the variant table)
        self.chroms: list[str] = list(dict.fromkeys(self.by_index.chrom.tolist()))
        self.rank_of_key = {chrom_key(c): i for i, c in enumerate(self.chroms)}
        self.n_variants = int(np.asarray(self.by_index.file.ranges.column("n_rows").to_numpy()).sum())

    def window(self, chrom: str, start: int, end: int) -> tuple[int, pd.DataFrame] | None:
        """The variants at ``start ≤ pos ≤ end`` on ``chrom``: the index of the first and ``variant_id, chrom,
        pos, ref, alt, rsid`` of each (``rsid`` the id where it is an rsID, which lets the build checks compare
        the positions of rsIDs), by position; None when there is none."""
        found = self.by_index.index_range([chrom], start, end)
        if found is None:
            return None
        lo, hi = found
        table = self.by_index.take(np.arange(lo, hi + 1, dtype=np.int64))
        frame = pd.DataFrame({c: table.column(c).to_numpy(zero_copy_only=False) for c in table.column_names})
        frame["pos"] = frame["pos"].astype(np.int64)
        ids = frame["variant_id"].astype(str)
        frame["rsid"] = ids.where(ids.str.startswith("rs"), "")
        return lo, frame

    def positions_of_ids(self, ids: np.ndarray) -> pd.DataFrame:
        """``row, chrom, pos`` of the release variants whose id is ``ids[row]`` (one join over the variant
        table, out of Python)."""
        spill = tempfile.TemporaryDirectory(prefix="qtlatlas-coloc-")
        con = duckdb.connect(":memory:")
        try:
            con.execute("SET memory_limit = '1GB'")
            con.execute(f"SET temp_directory = '{_quote(spill.name)}'")
            con.register("_gwas_ids", pa.table({"row": pa.array(np.arange(len(ids), dtype=np.int64)),
                                                "variant_id": pa.array(ids, pa.string())}))
            path = str(self.dir / layout.table_path("variants"))
            found = query_table(con, f"SELECT g.row, v.chrom, v.pos FROM _gwas_ids g JOIN {parquet(path)} v "
                                     "USING (variant_id)")
        finally:
            con.close()
            spill.cleanup()
        return pd.DataFrame({"row": found.column("row").to_numpy(), "chrom": found.column("chrom").to_pylist(),
                             "pos": found.column("pos").to_numpy()})


class TraitGwas:
    """A trait's GWAS on the release's chromosomes (see the module docstring).

    Attributes:
        gwas: the GWAS with :attr:`table` its placed rows sorted by genome position (the rows of chromosomes the
            release lacks, or of ids it lacks, left out).
        rank, pos: ``(m,)`` chromosome rank (genome order of the release) and position of each row.
        nlog10p: ``(m,)`` −log10 p of each row.
        n_read, n_placed: GWAS rows read, and placed.
    """

    def __init__(self, trait_id: str, path: str | Path, n: float, variants: ReleaseVariants):
        self.trait_id = trait_id
        try:
            gwas = read_gwas(path)
        except (InputFileError, ConfigError) as e:
            raise ColocInputError(f"colocalisation of trait {trait_id}: {e}") from None
        t = gwas.table
        self.n_read = len(t)
        if gwas.has_positions:
            keys = chrom_keys(t["chrom"])
            rank = keys.map(variants.rank_of_key).to_numpy(dtype=np.float64, na_value=np.nan)
            keep = np.flatnonzero(np.isfinite(rank))
            if len(t) and not len(keep):
                names = ", ".join(sorted(set(keys))[:8])
                self._fail(gwas.path, f"shares no chromosome with {variants.label} (GWAS: {names}; release: "
                                      f"{', '.join(variants.chroms[:8])}); is it on the release's genome build?")
            pos = t["pos"].to_numpy(dtype=np.int64)[keep]
            rank = rank[keep].astype(np.int64)
        else:
            placed = variants.positions_of_ids(t["variant_id"].to_numpy(dtype=object))
            if len(t) and placed.empty:
                self._fail(gwas.path, f"has no position and no variant id of {variants.label} (ids such as "
                                      f"{', '.join(map(str, t['variant_id'].head(3)))}); give CHR and BP columns or "
                                      "the release's variant ids")
            keep = placed["row"].to_numpy(dtype=np.int64)
            pos = placed["pos"].to_numpy(dtype=np.int64)
            rank = chrom_keys(placed["chrom"]).map(variants.rank_of_key).to_numpy(dtype=np.int64)
        order = np.lexsort((pos, rank))
        rows = keep[order]
        if len(rows) == len(t) and (rows == np.arange(len(t))).all():
            table = t  # a file sorted as the release (GWAS-SSF usually is): no copy
        else:
            table = t.iloc[rows].reset_index(drop=True)
        del t
        if not gwas.has_positions:
            table["chrom"] = np.asarray(variants.chroms, dtype=object)[rank[order]]
            table["pos"] = pos[order]
        n_rows = table["n"].to_numpy(dtype=np.float64)
        table["n"] = np.where(np.isfinite(n_rows), n_rows, float(n))
        self.gwas = dataclasses.replace(gwas, table=table)
        self.rank, self.pos = rank[order], pos[order]
        self.nlog10p = gwas_nlog10p(table["p"].to_numpy(dtype=np.float64), table["z"].to_numpy(dtype=np.float64))
        self.n_placed = len(table)
        self.variants = variants
        if gwas.has_beta is False and gwas.study_type == "cc" and gwas.case_fraction is None:
            self._fail(gwas.path, "is a case-control GWAS with z-scores only: coloc needs its share of cases "
                                  "(a GWAS-VCF header gives it)")

    def _fail(self, path: str, problem: str):
        raise ColocInputError(f"colocalisation of trait {self.trait_id}: {path}: {problem}")

    def chrom(self, row: int) -> str:
        """The release's name of row ``row``'s chromosome."""
        return self.variants.chroms[int(self.rank[row])]

    def leads(self, p_threshold: float, distance: int) -> np.ndarray:
        """Rows of the lead variants (:func:`~qtlatlas.coloc.loci.lead_rows`), in genome order."""
        return lead_rows(self.rank, self.pos, self.nlog10p, p_threshold, distance)

    def rows_in(self, rank: int, start: int, end: int) -> np.ndarray:
        """Rows on chromosome ``rank`` at ``start ≤ pos ≤ end`` (a contiguous range: rows are sorted)."""
        lo = np.searchsorted(self.rank, rank, side="left")
        hi = np.searchsorted(self.rank, rank, side="right")
        a = lo + np.searchsorted(self.pos[lo:hi], start, side="left")
        b = lo + np.searchsorted(self.pos[lo:hi], end, side="right")
        return np.arange(a, b, dtype=np.int64)


def match_window(trait: TraitGwas, rows: np.ndarray, window: pd.DataFrame, where: str) -> tuple[GwasLocus, np.ndarray]:
    """The GWAS rows ``rows`` of :attr:`TraitGwas.gwas` on the ``m`` release variants of a window (``window``,
    as :meth:`ReleaseVariants.window` gives), each effect expressed for the variant's ALT allele, and the GWAS
    row matched to each variant ``(m,)`` (−1 where none).

    Raises:
        ColocInputError: naming the trait, the GWAS file and ``where`` (the locus), when the window's variants
            and the GWAS look like different genome builds or match nowhere (:func:`~qtlatlas.coloc.match.check_build`).
    """
    g = trait.gwas
    sub = dataclasses.replace(g, table=g.table.iloc[rows].reset_index(drop=True))
    try:
        match = match_variants(sub, window, "position" if g.has_positions else "id",
                               qtl_path=f"{trait.variants.label} ({where})")
    except (InputFileError, ConfigError) as e:
        hint = "" if "genome build" in str(e) else "; is the GWAS on the release's genome build?"
        raise ColocInputError(f"colocalisation of trait {trait.trait_id}: {e}{hint}") from None
    t = sub.table
    hit = match.gwas_row >= 0
    m = len(window)

    def on_window(column: str) -> np.ndarray:
        out = np.full(m, np.nan)
        out[hit] = t[column].to_numpy(dtype=np.float64)[match.gwas_row[hit]]
        return out

    sign = match.sign.astype(np.float64)
    locus = GwasLocus(matched=hit, beta=on_window("beta") * sign, se=on_window("se"), z=on_window("z") * sign,
                      af=on_window("af"), n=on_window("n"), z_only=not g.has_beta,
                      case_control=g.study_type == "cc", case_fraction=g.case_fraction)
    return locus, np.where(hit, np.asarray(rows, dtype=np.int64)[np.maximum(match.gwas_row, 0)], -1)


def lead_variant_id(trait: TraitGwas, lead: int, window: pd.DataFrame | None = None,
                    gwas_row: np.ndarray | None = None) -> str:
    """The id of a lead row: the release variant it matched (``gwas_row`` as :func:`match_window` gives it),
    else the GWAS's id, else ``chrom:pos``."""
    if window is not None and gwas_row is not None:
        at = np.flatnonzero(gwas_row == lead)
        if len(at):
            return str(window["variant_id"].iat[int(at[0])])
    vid = str(trait.gwas.table["variant_id"].iat[lead])
    return vid if vid else f"{trait.chrom(lead)}:{int(trait.pos[lead])}"
