"""Which weights predict a phenotype, and which cohort variants they apply to (for :mod:`.predict`).

:func:`chosen_weights` picks each phenotype's model (the best by cross-validated R², or a forced one; a ``top1``
model keeps its SNP of largest |weight|); :func:`match_cohort` matches the weights' SNPs to a cohort's variants
(:class:`CohortIndex`) by id or by position and alleles, with FUSION's allele rules (flips, strand, ambiguous
SNPs), and returns the :class:`PanelScores` that :func:`.predict.predict_panel` streams over.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import ConfigError, InputFileError
from ..io.chromosomes import chrom_key
from .align import _COMPLEMENT, _qc, _upper
from .fusion_io import TwasModel
from .predict_summary import MATCH_MODES, SUMMARY_COLUMNS, preview_ids

# ----------------------------------------------------------------------------------------------------------
# Model choice
# ----------------------------------------------------------------------------------------------------------


def best_model(model: TwasModel) -> int | None:
    """Column of ``model.weights`` with the largest finite CV R² (first in model order on ties), as
    :attr:`qtlatlas.twas.weights.WeightsResult.best_model` picks it; None without any CV R²."""
    best, best_r2 = None, -math.inf
    r2 = model.cv_r2[0] if model.cv_r2.size else np.full(len(model.models), np.nan)
    for j in range(len(model.models)):
        value = float(r2[j])
        if np.isfinite(value) and value > best_r2:
            best, best_r2 = j, value
    return best


def chosen_weights(model: TwasModel, force_model: str | None = None) -> tuple[int | None, np.ndarray, str | None]:
    """(model column, SNP rows kept, skip reason) of one phenotype: the best or forced model, its non-zero
    weights (``top1``: only its largest |weight|, as FUSION's make_score.R)."""
    if force_model is not None:
        if force_model not in model.models:
            return None, np.empty(0, np.int64), f"no {force_model} model"
        j = model.models.index(force_model)
    else:
        j = best_model(model)
        if j is None:
            return None, np.empty(0, np.int64), "no CV R² to choose a model (use --model)"
    w = np.nan_to_num(model.weights[:, j])
    if model.models[j].startswith("top1") and len(w):
        rows = np.array([int(np.argmax(np.abs(w)))]) if np.any(w != 0) else np.empty(0, np.int64)
    else:
        rows = np.flatnonzero(w != 0)
    if len(rows) == 0:
        return j, rows, f"model {model.models[j]} has no non-zero weight"
    return j, rows, None


# ----------------------------------------------------------------------------------------------------------
# Matching weights to the cohort
# ----------------------------------------------------------------------------------------------------------


@dataclass
class PanelScores:
    """The weights of one panel on the cohort's variants.

    Attributes:
        summary: one row per phenotype, :data:`SUMMARY_COLUMNS`.
        rows: ``(n_terms,)`` cohort variant row of each used weight (sorted ascending).
        pheno: ``(n_terms,)`` summary row of the phenotype each weight belongs to.
        weight: ``(n_terms,)`` weight times +1, or −1 when the weight's A1 is the cohort's uncounted allele.
        offset: ``(n_phenotypes,)`` Σ 2·w over the flipped weights (the raw score counts 2 − dosage there).
    """

    panel: str
    summary: pd.DataFrame
    rows: np.ndarray
    pheno: np.ndarray
    weight: np.ndarray
    offset: np.ndarray

    @property
    def predicted(self) -> np.ndarray:
        """Summary rows of the phenotypes that get a prediction (at least one matched weight)."""
        return np.flatnonzero(self.summary["predicted"].to_numpy(bool))


def _canonical_pairs(a1: np.ndarray, a2: np.ndarray) -> np.ndarray:
    """An allele pair written the same whatever the order and strand: the smaller of ``sorted(a1, a2)`` and
    its complement, joined by '/'."""
    def comp(a):
        return np.array([_COMPLEMENT.get(x, x) for x in a], dtype=object)

    def joined(x, y):
        lo = np.where(x <= y, x, y)
        hi = np.where(x <= y, y, x)
        return pd.Series(lo, dtype=object).str.cat(pd.Series(hi, dtype=object), sep="/").to_numpy(dtype=object)

    plain, other = joined(a1, a2), joined(comp(a1), comp(a2))
    return np.where(plain <= other, plain, other)


def _keys(chrom, pos, ids, a1, a2, match_by: str) -> np.ndarray:
    if match_by == "id":
        return pd.Series(np.asarray(ids, dtype=object), dtype=object).astype(str).to_numpy(dtype=object)
    chrom = pd.Series(np.asarray(chrom, dtype=object), dtype=object).astype(str)
    keys = chrom.map({c: chrom_key(c) for c in chrom.unique()})
    pos = pd.Series(np.asarray(pos)).astype("int64").astype(str).to_numpy()
    return (keys + ":" + pos + ":" + _canonical_pairs(a1, a2)).to_numpy(dtype=object)


class CohortIndex:
    """The cohort's variants indexed for matching (built once, used for every panel)."""

    def __init__(self, variants: pd.DataFrame, match_by: str, path: str):
        if match_by not in MATCH_MODES:
            raise ConfigError("--match-by", f"must be one of {', '.join(MATCH_MODES)}, not {match_by!r}")
        self.path = path
        self.match_by = match_by
        self.alt = _upper(variants["alt"].to_numpy(dtype=object))
        self.ref = _upper(variants["ref"].to_numpy(dtype=object))
        self.chrom = variants["chrom"].astype(str).to_numpy(dtype=object)
        self.pos = variants["pos"].to_numpy(np.int64)
        self.chrom_keys = {chrom_key(c) for c in pd.unique(self.chrom)}
        self.ids = variants["id"].astype(str).to_numpy(dtype=object)
        self.ref_raw = variants["ref"].astype(str).to_numpy(dtype=object)
        self.alt_raw = variants["alt"].astype(str).to_numpy(dtype=object)
        keys = pd.Index(_keys(self.chrom, self.pos, variants["id"].to_numpy(dtype=object), self.alt, self.ref,
                              match_by), dtype=object)
        first = ~keys.duplicated()
        self._keys = keys[first]
        self._rows = np.flatnonzero(first)
        self.n_variants = len(variants)

    def rows_of(self, keys: np.ndarray) -> np.ndarray:
        hit = self._keys.get_indexer(pd.Index(keys, dtype=object))
        return np.where(hit >= 0, self._rows[np.maximum(hit, 0)], -1)


def match_cohort(panel: str, models: Sequence[TwasModel], cohort: CohortIndex, *, force_model: str | None = None,
                 keep_ambiguous: bool = False, weights_source: str = "weights") -> PanelScores:
    """Choose each phenotype's model and match its weights to the cohort's variants (see the module docstring).

    Raises:
        InputFileError: the weights share no chromosome with the cohort (naming both spellings), none of their
            SNPs is found in the cohort, or SNPs matched by id mostly sit elsewhere (another genome build).
    """
    records, parts = [], []
    for k, m in enumerate(models):
        j, take, reason = chosen_weights(m, force_model)
        rec = {"panel": panel, "phenotype_id": m.phenotype_id, "gene_id": m.gene_id, "chrom": str(m.chrom),
               "p0": int(m.p0), "p1": int(m.p1), "model": m.models[j] if j is not None else "",
               "cv_r2": float(m.cv_r2[0, j]) if j is not None and m.cv_r2.size else math.nan,
               "n_weights": len(take), "skip_reason": reason or ""}
        records.append(rec)
        if len(take):
            s = m.snps.iloc[take]
            parts.append(pd.DataFrame({"pheno": k, "chrom": s["chrom"].astype(str).to_numpy(),
                                       "snp": s["snp"].astype(str).to_numpy(), "pos": s["pos"].to_numpy(np.int64),
                                       "a1": s["a1"].to_numpy(dtype=object), "a2": s["a2"].to_numpy(dtype=object),
                                       "w": m.weights[take, j].astype(np.float64)}))
    summary = pd.DataFrame.from_records(records, columns=[c for c in SUMMARY_COLUMNS
                                                           if c not in _COUNT_COLUMNS + ("predicted",)])
    n = len(models)
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        {"pheno": [], "chrom": [], "snp": [], "pos": [], "a1": [], "a2": [], "w": []})
    if len(table):
        weight_keys = {chrom_key(c) for c in pd.unique(table["chrom"])}
        if not weight_keys & cohort.chrom_keys:
            raise InputFileError(cohort.path, f"shares no chromosome with the weights of panel {panel} "
                                              f"({weights_source}): weights on {preview_ids(sorted(weight_keys))}, "
                                              f"genotypes on {preview_ids(sorted(cohort.chrom_keys))}; wrong genome "
                                              "or chromosome naming?")
    a1, a2 = _upper(table["a1"].to_numpy(dtype=object)), _upper(table["a2"].to_numpy(dtype=object))
    keys = _keys(table["chrom"].to_numpy(dtype=object), table["pos"].to_numpy(), table["snp"].to_numpy(dtype=object),
                 a1, a2, cohort.match_by)
    rows = cohort.rows_of(keys) if len(table) else np.empty(0, np.int64)
    found = rows >= 0
    pheno = table["pheno"].to_numpy(np.int64)
    counts = {c: np.zeros(n, np.int64) for c in _COUNT_COLUMNS}
    np.add.at(counts["n_absent"], pheno[~found], 1)
    if len(table) and not found.any():
        how = "id" if cohort.match_by == "id" else "chromosome, position and alleles"
        hint = " (try --match-by position)" if cohort.match_by == "id" else ""
        raise InputFileError(cohort.path, f"none of the {len(table):,} weighted SNPs of panel {panel} "
                                          f"({weights_source}) is found in the genotypes by {how}{hint}")
    r = rows[found]
    if cohort.match_by == "id" and len(r):
        moved = (table["pos"].to_numpy(np.int64)[found] != cohort.pos[r])
        if moved.mean() > 0.5:
            raise InputFileError(cohort.path, f"{int(moved.sum()):,} of the {len(r):,} SNPs of panel {panel} found "
                                              "by id sit at other positions in the genotypes than in the weights: "
                                              "another genome build? (lift one over, or use --match-by position)")
    wa1, wa2, ca, cr = a1[found], a2[found], cohort.alt[r], cohort.ref[r]
    qc = _qc(wa1, wa2, ca, cr)
    bases = ["A", "C", "G", "T"]
    single = np.isin(wa1, bases) & np.isin(wa2, bases) & np.isin(ca, bases) & np.isin(cr, bases)
    ambiguous = single & ~qc.keep  # A/T, T/A, C/G, G/C
    # alleles taken as written: indels and other multi-letter alleles (no strand question), and kept
    # strand-ambiguous SNPs
    literal = ~single | (ambiguous & keep_ambiguous)
    literal_same = (wa1 == ca) & (wa2 == cr)
    literal_swap = (wa1 == cr) & (wa2 == ca)
    flip = np.where(literal, literal_swap, qc.flip)
    mismatch = np.where(literal, ~(literal_same | literal_swap), qc.mismatch)
    dropped = ambiguous & ~mismatch & (not keep_ambiguous)
    usable = ~mismatch & ~dropped
    ph = pheno[found]
    np.add.at(counts["n_ambiguous"], ph[dropped], 1)
    np.add.at(counts["n_mismatch"], ph[mismatch], 1)
    np.add.at(counts["n_used"], ph[usable], 1)
    np.add.at(counts["n_flipped"], ph[usable & flip], 1)
    np.add.at(counts["n_strand"], ph[usable & qc.strand & ~literal], 1)
    w = table["w"].to_numpy(np.float64)[found]
    sign = np.where(flip, -1.0, 1.0)
    offset = np.zeros(n)
    np.add.at(offset, ph[usable & flip], 2.0 * w[usable & flip])
    for c, v in counts.items():
        summary[c] = v
    summary["predicted"] = summary["n_used"] > 0
    no_match = (summary["skip_reason"] == "") & ~summary["predicted"]
    summary.loc[no_match, "skip_reason"] = "no weighted SNP usable in the genotypes"
    summary = summary[list(SUMMARY_COLUMNS)]
    order = np.argsort(r[usable], kind="stable")
    return PanelScores(panel=panel, summary=summary, rows=r[usable][order], pheno=ph[usable][order],
                       weight=(w * sign)[usable][order], offset=offset)


_COUNT_COLUMNS = ("n_used", "n_flipped", "n_strand", "n_ambiguous", "n_mismatch", "n_absent")
