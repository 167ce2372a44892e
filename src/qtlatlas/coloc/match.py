"""Matching GWAS variants to QTL variants by position and alleles, with checks for a genome-build mismatch.

A QTL variant (``chrom pos ref alt``; the QTL effect is ALT's) matches a GWAS row (``chrom pos other_allele
effect_allele``) at the same chromosome (compared by :func:`~qtlatlas.io.chromosomes.chrom_key`) and position
when the alleles agree in one of these ways (the rules of the TWAS code, :mod:`qtlatlas.twas.align`):

* effect = ALT, other = REF: same orientation, ``sign = +1``;
* effect = REF, other = ALT: swapped, ``sign = −1`` (the GWAS effect is negated to be ALT's);
* the same on the other strand (complemented alleles) for single-base, non-ambiguous pairs.

Strand-ambiguous pairs (A/T, C/G) match only literally (same or swapped) and are flagged ``ambiguous``: a
strand flip of such a SNP cannot be told from a swap, so its sign is uncertain. coloc.abf uses only squared
z-scores, so they are kept there; an analysis that needs the sign (TWAS, coloc.susie with an LD matrix) must
drop them. Alleles that agree in none of these ways do not match (counted as allele mismatches); at a
multi-allelic site each allele pair matches its own. Files without positions match by variant id (the GWAS
id against the QTL's rsID, else its variant id) with the same allele rules.

:func:`match_variants` refuses inputs that look like different genome builds (:func:`check_build`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import ConfigError, InputFileError
from ..io.chromosomes import chrom_key, chrom_sort_key
from ..io.gwas import GwasSumstats
from ..twas.align import allele_qc

MATCH_MODES = ("auto", "position", "id")
#: Variants needed on each side (within the other's span) before the overlap is judged.
MIN_TO_JUDGE = 100
#: Below this share of variants at common positions (the better of the two directions), the builds differ.
MIN_POSITION_OVERLAP = 0.2
#: Below this share of shared positions with agreeing alleles, the builds (or references) differ.
MIN_ALLELE_AGREEMENT = 0.5
#: Variants sharing an rsID needed before their positions are compared, and the share that may differ.
MIN_RSID_PAIRS, MAX_RSID_MOVED = 20, 0.5
_COMPLEMENT = {"A": "T", "T": "A", "C": "G", "G": "C"}


@dataclass
class VariantMatch:
    """GWAS rows matched to the distinct QTL variants.

    Attributes:
        gwas_row: ``(m,)`` row of the GWAS table matched to each QTL variant, −1 where none.
        sign: ``(m,)`` +1 or −1 to express the GWAS effect for the QTL's ALT allele (0 where unmatched).
        ambiguous: ``(m,)`` matched strand-ambiguous SNPs (A/T, C/G), whose sign is uncertain.
        by: ``"position"`` or ``"id"``.
        n_gwas: GWAS rows considered.
        n_allele_mismatch: QTL variants found in the GWAS (position or id) whose alleles agree in no way.
    """

    gwas_row: np.ndarray
    sign: np.ndarray
    ambiguous: np.ndarray
    strand: np.ndarray
    by: str
    n_gwas: int
    n_allele_mismatch: int

    @property
    def n_qtl(self) -> int:
        return len(self.gwas_row)

    @property
    def n_matched(self) -> int:
        return int((self.gwas_row >= 0).sum())

    def summary(self) -> str:
        """One sentence on what matched."""
        matched = self.gwas_row >= 0
        return (f"{self.n_matched:,} of {self.n_qtl:,} QTL variants matched a GWAS variant by {self.by} and alleles "
                f"({int((self.sign < 0).sum()):,} with swapped alleles, {int(self.strand[matched].sum()):,} on the "
                f"other strand, {int(self.ambiguous[matched].sum()):,} strand-ambiguous kept); "
                f"{self.n_allele_mismatch:,} with disagreeing alleles left out")


def unique_variants(qtl_table: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The distinct variants of a QTL table (``chrom pos ref alt variant_id rsid``) and each row's index among
    them ``(n_rows,)``."""
    key = qtl_table["chrom"].astype(str) + ":" + qtl_table["pos"].astype(str) + ":" + qtl_table["ref"] + ":" + \
        qtl_table["alt"] + ":" + qtl_table["variant_id"]
    codes, uniques = pd.factorize(key, sort=False)
    first = pd.Series(np.arange(len(codes))).groupby(codes).first().to_numpy()
    variants = qtl_table.iloc[first][["chrom", "pos", "ref", "alt", "variant_id", "rsid"]].reset_index(drop=True)
    return variants, codes.astype(np.int64)


def match_variants(gwas: GwasSumstats, variants: pd.DataFrame, by: str = "auto",
                   qtl_path: str = "QTL file") -> VariantMatch:
    """Match the GWAS rows to the distinct QTL ``variants`` (see the module docstring).

    Raises:
        ConfigError: ``by`` unknown, or ``"position"`` asked of inputs without positions.
        InputFileError: (naming the GWAS file) no variant matches, or the inputs look like different genome
            builds (:func:`check_build`).
    """
    if by not in MATCH_MODES:
        raise ConfigError("--match-by", f"must be one of {', '.join(MATCH_MODES)}, not {by!r}")
    qtl_positions = bool(len(variants)) and bool((variants["pos"].to_numpy() > 0).all())
    if by == "auto":
        by = "position" if gwas.has_positions and qtl_positions else "id"
    if by == "position" and not (gwas.has_positions and qtl_positions):
        which = gwas.path if not gwas.has_positions else qtl_path
        raise ConfigError("--match-by", f"position matching needs chromosome and position in both files; {which} "
                                        "has none (use --match-by id)")
    g = gwas.table
    if by == "position":
        g_key = _position_keys(g["chrom"].to_numpy(), g["pos"].to_numpy())
        q_key = _position_keys(variants["chrom"].to_numpy(), variants["pos"].to_numpy())
    else:
        if not (g["variant_id"] != "").any():
            raise InputFileError(gwas.path, "has neither positions nor variant ids to match the QTL variants by")
        g_key = g["variant_id"].to_numpy(dtype=object)
        rsid = variants["rsid"].to_numpy(dtype=object)
        q_key = np.where(rsid != "", rsid, variants["variant_id"].to_numpy(dtype=object))
    cand = pd.merge(pd.DataFrame({"key": q_key, "q": np.arange(len(variants))}),
                    pd.DataFrame({"key": g_key, "g": np.arange(len(g))}), on="key", how="inner")
    q, gr = cand["q"].to_numpy(), cand["g"].to_numpy()
    eff = g["effect_allele"].to_numpy(dtype=object)[gr]
    oth = g["other_allele"].to_numpy(dtype=object)[gr]
    alt = variants["alt"].to_numpy(dtype=object)[q]
    ref = variants["ref"].to_numpy(dtype=object)[q]
    same = (eff == alt) & (oth == ref)
    swapped = (eff == ref) & (oth == alt)
    qc = allele_qc(eff, oth, alt, ref)
    by_strand = qc.keep & qc.strand
    ok = same | swapped | by_strand
    ambiguous = np.array([_COMPLEMENT.get(a) == b for a, b in zip(eff, oth, strict=True)], dtype=bool)
    cand = cand.assign(ok=ok, quality=np.where(same | swapped, 0, 1),
                       sign=np.where(same, 1, np.where(swapped, -1, np.where(qc.flip, -1, 1))),
                       ambiguous=ambiguous, strand=by_strand & ~(same | swapped))
    good = cand.loc[cand["ok"]].sort_values(["quality", "g"], kind="stable")
    good = good.drop_duplicates("q").drop_duplicates("g")
    m = len(variants)
    gwas_row = np.full(m, -1, dtype=np.int64)
    sign = np.zeros(m, dtype=np.int8)
    amb = np.zeros(m, dtype=bool)
    strand = np.zeros(m, dtype=bool)
    rows = good["q"].to_numpy()
    gwas_row[rows] = good["g"].to_numpy()
    sign[rows] = good["sign"].to_numpy()
    amb[rows] = good["ambiguous"].to_numpy()
    strand[rows] = good["strand"].to_numpy()
    found = np.zeros(m, dtype=bool)
    found[q] = True
    match = VariantMatch(gwas_row=gwas_row, sign=sign, ambiguous=amb, strand=strand, by=by, n_gwas=len(g),
                         n_allele_mismatch=int((found & (gwas_row < 0)).sum()))
    g_found = np.zeros(len(g), dtype=bool)
    g_found[gr] = True
    check_build(gwas, variants, match, found, g_found, qtl_path=qtl_path)
    return match


def check_build(gwas: GwasSumstats, variants: pd.DataFrame, match: VariantMatch, q_found: np.ndarray,
                g_found: np.ndarray, qtl_path: str) -> None:
    """Refuse a GWAS that looks like another genome build than the QTL file, or matches nothing.

    In order: no chromosome in common; variants sharing an rsID at different positions (more than
    :data:`MAX_RSID_MOVED` of at least :data:`MIN_RSID_PAIRS`); few variants at common positions (under
    :data:`MIN_POSITION_OVERLAP` of the variants within the other file's span, in both directions, once
    each side has :data:`MIN_TO_JUDGE` there); alleles disagreeing at most shared positions (agreement under
    :data:`MIN_ALLELE_AGREEMENT`); no match at all. ``q_found`` ``(m,)`` and ``g_found`` ``(n_gwas,)`` mark
    the QTL variants and GWAS rows sharing a position (or id) with the other file, whatever the alleles.

    Raises:
        InputFileError: naming the GWAS file, with the numbers behind the verdict.
    """
    g = gwas.table
    path = gwas.path
    n_found = int(q_found.sum())
    if match.by == "position":
        g_keys = pd.Series(g["chrom"].unique()).map(chrom_key)
        q_keys = pd.Series(variants["chrom"].unique()).map(chrom_key)
        if not set(g_keys) & set(q_keys):
            raise InputFileError(path, f"shares no chromosome with {qtl_path} (GWAS: {_names(g_keys)}; QTL: "
                                       f"{_names(q_keys)})")
        _check_rsid_positions(gwas, variants, qtl_path)
        q_in, g_in = _within_span(variants, g), _within_span(g, variants)
        q_cov, q_hit = int(q_in.sum()), int((q_found & q_in).sum())
        g_cov, g_hit = int(g_in.sum()), int((g_found & g_in).sum())
        if min(q_cov, g_cov) >= MIN_TO_JUDGE and max(q_hit / q_cov, g_hit / g_cov) < MIN_POSITION_OVERLAP:
            raise InputFileError(path, f"few variants match {qtl_path} by position: {q_hit:,} of the {q_cov:,} QTL "
                                       f"variants within the GWAS's span ({q_hit / q_cov:.1%}) and {g_hit:,} of the "
                                       f"{g_cov:,} GWAS variants within the QTL's span ({g_hit / g_cov:.1%}); are "
                                       "both files on the same genome build?")
    if n_found >= MIN_TO_JUDGE and match.n_matched / n_found < MIN_ALLELE_AGREEMENT:
        raise InputFileError(path, f"alleles disagree with {qtl_path} at {match.n_allele_mismatch:,} of the "
                                   f"{n_found:,} variants the two share by {match.by}; are both files on the same "
                                   "genome build and reference?")
    if match.n_matched == 0:
        raise InputFileError(path, f"no variant matches {qtl_path} by {match.by} and alleles ({len(g):,} GWAS "
                                   f"variants, {match.n_qtl:,} QTL variants, {n_found:,} sharing a {match.by} "
                                   "with disagreeing alleles)")


def _check_rsid_positions(gwas: GwasSumstats, variants: pd.DataFrame, qtl_path: str) -> None:
    g = gwas.table
    g_rs = g.loc[g["variant_id"].str.startswith("rs"), ["variant_id", "chrom", "pos"]]
    q_rs = variants.loc[variants["rsid"].str.startswith("rs"), ["rsid", "chrom", "pos"]]
    if g_rs.empty or q_rs.empty:
        return
    pairs = g_rs.drop_duplicates("variant_id").merge(q_rs.drop_duplicates("rsid"), left_on="variant_id",
                                                     right_on="rsid", suffixes=("_g", "_q"))
    if len(pairs) < MIN_RSID_PAIRS:
        return
    same_chrom = chrom_keys(pairs["chrom_g"]).to_numpy() == chrom_keys(pairs["chrom_q"]).to_numpy()
    moved = (~same_chrom) | (pairs["pos_g"] != pairs["pos_q"])
    if moved.mean() > MAX_RSID_MOVED:
        offset = (pairs.loc[same_chrom, "pos_g"] - pairs.loc[same_chrom, "pos_q"]).abs()
        shift = f" (median shift {int(offset.median()):,} bp)" if len(offset) else ""
        example = pairs.loc[moved].iloc[0]
        raise InputFileError(gwas.path, f"positions are off: {int(moved.sum()):,} of the {len(pairs):,} variants "
                                        f"sharing an rsID with {qtl_path} are at other positions{shift}, e.g. "
                                        f"{example['variant_id']} at {example['chrom_g']}:{example['pos_g']} here and "
                                        f"{example['chrom_q']}:{example['pos_q']} there; the files are on different "
                                        "genome builds (lift one over)")


def _within_span(a: pd.DataFrame, b: pd.DataFrame) -> np.ndarray:
    """Rows of ``a`` within the span (first to last position) of ``b`` on their chromosome, ``(len(a),)``."""
    spans = b.assign(key=chrom_keys(b["chrom"]).to_numpy()).groupby("key")["pos"].agg(["min", "max"])
    keys = chrom_keys(a["chrom"])
    lo = keys.map(spans["min"]).to_numpy(dtype=np.float64)
    hi = keys.map(spans["max"]).to_numpy(dtype=np.float64)
    pos = a["pos"].to_numpy(dtype=np.float64)
    return (pos >= lo) & (pos <= hi)


def chrom_keys(chroms) -> pd.Series:
    """:func:`~qtlatlas.io.chromosomes.chrom_key` of every entry (computed once per distinct name)."""
    chrom = pd.Series(np.asarray(chroms, dtype=object), dtype=object).astype(str)
    return chrom.map({c: chrom_key(c) for c in chrom.unique()})


def _position_keys(chroms: np.ndarray, positions: np.ndarray) -> np.ndarray:
    keys = chrom_keys(chroms)
    return (keys + ":" + pd.Series(positions).astype(np.int64).astype(str)).to_numpy(dtype=object)


def _names(keys: pd.Series) -> str:
    names = sorted(set(keys), key=chrom_sort_key)
    return ", ".join(names[:8]) + (" …" if len(names) > 8 else "")
