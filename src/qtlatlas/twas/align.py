"""Allele QC between GWAS summary statistics, TWAS weights and the LD reference (FUSION's rules).

For a pair of alleles ``(a1, a2)`` compared with reference alleles ``(ref1, ref2)`` (:func:`allele_qc`):

* **strand-ambiguous** pairs (A/T, T/A, C/G, G/C) and pairs with an allele outside A/C/G/T are not kept;
* **flip** when the alleles are swapped (``a1 = ref2, a2 = ref1``) or swapped on the other strand
  (``a1 = comp(ref2), a2 = comp(ref1)``): the z-score or weight changes sign;
* the same alleles on the other strand (``a1 = comp(ref1), a2 = comp(ref2)``) are a strand flip without a
  sign change;
* alleles that match in none of these ways are kept unchanged, as FUSION does; they are counted as
  mismatches so that a run can report them.

The GWAS is aligned to the reference first (:func:`align_gwas`): every reference SNP gets the GWAS z of the
same SNP (NaN when the GWAS lacks it), sign-flipped to the reference A1; reference SNPs whose GWAS alleles
(or, when the GWAS lacks the SNP, reference alleles) are strand-ambiguous are dropped from the analysis.
Weights are then aligned to the remaining reference SNPs (:func:`align_panel`, every model of a panel in one
vectorised pass).

SNPs are matched by id (rsID, the default) or by chromosome and position (``match_by="position"``; the
first reference SNP at a position wins, as R's ``match`` would).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import ConfigError, InputFileError
from ..io.chromosomes import chrom_key

if TYPE_CHECKING:
    from .ld import LdReference

MATCH_MODES = ("id", "position")
_COMPLEMENT = {"A": "T", "T": "A", "C": "G", "G": "C"}


def _upper(alleles) -> np.ndarray:
    """Alleles as an object array of upper-case strings."""
    return pd.Series(np.asarray(alleles, dtype=object), dtype=object).astype(str).str.upper().to_numpy(dtype=object)


@dataclass
class AlleleQc:
    """Per-SNP outcome of comparing alleles with reference alleles (all ``(m,)`` bool)."""

    keep: np.ndarray
    flip: np.ndarray
    strand: np.ndarray
    mismatch: np.ndarray


def allele_qc(a1, a2, ref1, ref2) -> AlleleQc:
    """Compare allele pairs ``(a1, a2)`` with ``(ref1, ref2)`` (sequences of equal length, any case).

    ``keep``: not strand-ambiguous and both alleles in A/C/G/T. ``flip``: sign change needed (swapped, or
    swapped on the other strand). ``strand``: matched on the other strand (with or without swap).
    ``mismatch``: matched in none of the four ways.
    """
    return _qc(_upper(a1), _upper(a2), _upper(ref1), _upper(ref2))


def _qc(a1: np.ndarray, a2: np.ndarray, r1: np.ndarray, r2: np.ndarray) -> AlleleQc:
    """:func:`allele_qc` on upper-case object arrays, comparing integer codes of the alleles."""
    n = len(a1)
    codes, uniques = pd.factorize(np.concatenate([a1, a2, r1, r2]))
    # the complement of every distinct allele, as a code (alleles outside A/C/G/T are their own complement)
    comp_alleles = np.array([_COMPLEMENT.get(u, u) for u in uniques], dtype=object)
    extra = pd.Index(uniques).get_indexer(comp_alleles)
    missing = extra < 0
    extra[missing] = len(uniques) + np.arange(int(missing.sum()))
    is_base = np.array([u in _COMPLEMENT for u in uniques], dtype=bool)
    x1, x2, y1, y2 = codes[:n], codes[n:2 * n], codes[2 * n:3 * n], codes[3 * n:]
    c1, c2 = extra[y1], extra[y2]
    valid = is_base[x1] & is_base[x2]
    ambiguous = valid & (extra[x1] == x2)  # a2 is a1's complement: A/T, T/A, C/G, G/C
    same = (x1 == y1) & (x2 == y2)
    swapped = (x1 == y2) & (x2 == y1)
    strand_same = (x1 == c1) & (x2 == c2)
    strand_swapped = (x1 == c2) & (x2 == c1)
    flip = swapped | strand_swapped
    return AlleleQc(keep=valid & ~ambiguous, flip=flip,
                    strand=(strand_same | strand_swapped) & ~same & ~swapped,
                    mismatch=~(same | flip | strand_same))


def snp_keys(ids, chroms, positions, match_by: str) -> np.ndarray:
    """Matching keys, an object array: the SNP ids, or ``"{chrom_key}:{pos}"`` for ``match_by="position"``."""
    if match_by == "id":
        return pd.Series(np.asarray(ids, dtype=object), dtype=object).astype(str).to_numpy(dtype=object)
    if match_by == "position":
        chrom = pd.Series(np.asarray(chroms, dtype=object), dtype=object).astype(str)
        keys = chrom.map({c: chrom_key(c) for c in chrom.unique()})
        pos = pd.Series(np.asarray(positions)).astype("int64").astype(str)
        return (keys + ":" + pos.to_numpy()).to_numpy(dtype=object)
    raise ConfigError("match_by", f"must be one of {', '.join(MATCH_MODES)}, not {match_by!r}")


@dataclass
class AlignedGwas:
    """GWAS z-scores on the reference SNPs.

    Attributes:
        z: ``(n_ref,)`` z-score of A1 of each reference SNP (sign-flipped where needed), NaN where the GWAS
            lacks the SNP.
        usable: ``(n_ref,)`` bool, False for reference SNPs dropped as strand-ambiguous (or non-ACGT).
        match_by: ``"id"`` or ``"position"``.
        n_sumstats: SNPs in the summary statistics.
        n_matched: reference SNPs found in the summary statistics.
        n_flipped: matched SNPs whose z changed sign.
        n_strand: matched SNPs matched on the other strand.
        n_ambiguous: reference SNPs dropped as strand-ambiguous or non-ACGT.
        n_mismatch: matched SNPs whose alleles agree in no way (kept unchanged, as FUSION does).
    """

    z: np.ndarray
    usable: np.ndarray
    match_by: str
    n_sumstats: int
    n_matched: int
    n_flipped: int
    n_strand: int
    n_ambiguous: int
    n_mismatch: int
    ref_a1: np.ndarray | None = None
    ref_a2: np.ndarray | None = None
    _lookup_keys: pd.Index | None = None
    _lookup_rows: np.ndarray | None = None

    def rows_of(self, keys: np.ndarray) -> np.ndarray:
        """Reference row of each key among usable SNPs (first occurrence), −1 when absent. ``(len(keys),)``."""
        pos = self._lookup_keys.get_indexer(pd.Index(keys, dtype=object))
        return np.where(pos >= 0, self._lookup_rows[np.maximum(pos, 0)], -1)


def matched_gwas(sumstats: pd.DataFrame, ld: LdReference, match_by: str, sumstats_path: str) -> AlignedGwas:
    """:func:`align_gwas` to the SNPs of ``ld``, refusing a GWAS none of whose SNPs matches them.

    Raises:
        InputFileError: no SNP matches (naming ``sumstats_path``, the reference and its chromosome).
    """
    gwas = align_gwas(sumstats, ld.variants, match_by)
    if gwas.n_matched == 0:
        chrom = ld.variants["chrom"].iat[0] if ld.n_snps else "?"
        raise InputFileError(sumstats_path, f"no SNP {'id' if match_by == 'id' else 'position'} matches the LD "
                                            f"reference on chromosome {chrom} ({ld.path})")
    return gwas


def align_gwas(sumstats: pd.DataFrame, reference: pd.DataFrame, match_by: str = "id") -> AlignedGwas:
    """Align GWAS z-scores (``SNP A1 A2 Z`` [``CHR BP``]) to the reference SNPs (``chrom pos snp a1 a2``).

    Raises:
        ConfigError: ``match_by="position"`` without ``CHR`` and ``BP`` columns in the summary statistics.
    """
    if match_by == "position" and not {"CHR", "BP"} <= set(sumstats.columns):
        raise ConfigError("--match_by", "position matching needs CHR and BP columns in the summary statistics")
    ref_keys = snp_keys(reference["snp"], reference["chrom"], reference["pos"], match_by)
    ss_keys = snp_keys(sumstats["SNP"], sumstats.get("CHR"), sumstats.get("BP"), match_by)
    ss_index = pd.Index(ss_keys, dtype=object)
    if not ss_index.is_unique:
        first = ~ss_index.duplicated()
        sumstats = sumstats.loc[first]
        ss_index = ss_index[first]
    hit = ss_index.get_indexer(pd.Index(ref_keys, dtype=object))
    found = hit >= 0
    take = np.maximum(hit, 0)
    ref_a1, ref_a2 = _upper(reference["a1"]), _upper(reference["a2"])
    a1 = np.where(found, _upper(sumstats["A1"].to_numpy(dtype=object)[take]), ref_a1)
    a2 = np.where(found, _upper(sumstats["A2"].to_numpy(dtype=object)[take]), ref_a2)
    z = np.where(found, sumstats["Z"].to_numpy(dtype=np.float64)[take], np.nan)
    qc = _qc(a1, a2, ref_a1, ref_a2)
    z = np.where(qc.flip, -z, z)
    usable = qc.keep
    rows = np.flatnonzero(usable)
    keys = pd.Index(ref_keys[rows], dtype=object)
    first = ~keys.duplicated()
    return AlignedGwas(
        z=z, usable=usable, match_by=match_by, n_sumstats=len(sumstats), n_matched=int(found.sum()),
        n_flipped=int((qc.flip & found).sum()), n_strand=int((qc.strand & found).sum()),
        n_ambiguous=int((~usable).sum()), n_mismatch=int((qc.mismatch & found).sum()),
        ref_a1=ref_a1, ref_a2=ref_a2, _lookup_keys=keys[first], _lookup_rows=rows[first],
    )


@dataclass
class AlignedWeights:
    """A model's weight SNPs on the reference.

    Attributes:
        matched: ``(n_snps,)`` bool, weight SNP found among the usable reference SNPs.
        rows: ``(n_matched,)`` reference row of each matched weight SNP, in weight order.
        sign: ``(n_matched,)`` +1 or −1 (alleles swapped relative to the reference).
        n_mismatch: matched SNPs whose alleles agree with the reference in no way (kept unchanged).
    """

    matched: np.ndarray
    rows: np.ndarray
    sign: np.ndarray
    n_mismatch: int


def align_panel(snp_tables: Sequence[pd.DataFrame], gwas: AlignedGwas) -> list[AlignedWeights]:
    """Match each model's weight SNPs (``chrom snp pos a1 a2``) to the usable reference SNPs and find flips,
    for many models at once (one lookup and one allele comparison in total)."""
    if not snp_tables:
        return []
    sizes = np.array([len(t) for t in snp_tables])
    snps = pd.concat(snp_tables, ignore_index=True)
    keys = snp_keys(snps["snp"], snps["chrom"], snps["pos"], gwas.match_by)
    rows = gwas.rows_of(keys)
    matched = rows >= 0
    hit = rows[matched]
    qc = _qc(_upper(snps["a1"].to_numpy()[matched]), _upper(snps["a2"].to_numpy()[matched]),
             gwas.ref_a1[hit], gwas.ref_a2[hit])
    sign = np.where(qc.flip, -1.0, 1.0)
    out = []
    starts = np.concatenate([[0], np.cumsum(sizes)])
    hit_starts = np.concatenate([[0], np.cumsum([int(matched[a:b].sum()) for a, b in zip(starts[:-1], starts[1:],
                                                                                            strict=True)])])
    for k in range(len(snp_tables)):
        a, b = starts[k], starts[k + 1]
        c, d = hit_starts[k], hit_starts[k + 1]
        out.append(AlignedWeights(matched=matched[a:b], rows=hit[c:d], sign=sign[c:d],
                                  n_mismatch=int(qc.mismatch[c:d].sum())))
    return out

