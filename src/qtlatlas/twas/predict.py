"""Genetically predicted phenotypes: TWAS weights applied to the genotypes of any cohort.

For every phenotype of a weights panel (tissue × modality) one model is used: the best one (largest
cross-validation R², first in model order on ties; the ``best_model`` of the panel's profile) or the model
forced by name. As FUSION's ``utils/make_score.R`` does, a ``top1`` model keeps only its SNP of largest
|weight|, and SNPs of weight 0 are left out.

Score (``scale="raw"``, the default)::

    score(i) = Σ_j w_j · d_ij

where ``d_ij`` is individual i's dosage (0..2) of SNP j's **effect allele** (the weights' A1) and ``w_j`` the
weight as stored (per standardised genotype: FUSION's and our weights are fitted on standardised
genotypes and are *not* rescaled here). A missing genotype is replaced by the mean dosage of that allele
over the individuals of the cohort with a call (2 × its allele frequency in the cohort). This equals
``plink2 --score FILE 1 2 3 cols=scoresums`` on a score file of ``SNP A1 WEIGHT`` rows (plink2's default
mean imputation with the cohort's allele frequencies; for a .fam that lists parents plink2 may take them from
the founders only, while every individual with a call counts here). The score of an individual does not
depend on the others except through that imputation.

Score (``scale="standardised"``)::

    score(i) = Σ_j w_j · (d_ij − mean_j) / sd_j

with missing dosages replaced by ``mean_j`` first, ``mean_j`` and ``sd_j`` (divisor n − 1) computed over the
cohort, and monomorphic SNPs contributing 0: the genotype scaling FUSION's ``compute_weights`` and
``assoc_test`` apply (R's ``scale()``), so the prediction is on the scale the weights were fitted on (the
phenotype standardised in the training samples, mean 0 in the cohort). ``make_score.R`` itself does no
scaling: it writes ``SNP A1 A2 WEIGHT`` for PLINK 1.9's ``--score FILE 1 2 4``, which reports the *average*
per allele (the sum divided by the count of non-missing alleles); the sum (``raw``) is that average times
twice the number of SNPs when no genotype is missing.

SNP matching (:func:`match_cohort`): by id, or by chromosome (``chrom_key``: ``chr1`` = ``1``) and position
with the same pair of alleles (either order, either strand). Alleles are compared with FUSION's rules
(:mod:`qtlatlas.twas.align`): the weight's A1 is the cohort's counted allele, or its other allele (then the
score uses 2 − dosage, and the standardised score the opposite sign), on either strand; strand-ambiguous
SNPs (A/T, C/G) are left out as FUSION leaves them out (``keep_ambiguous`` keeps them, matching the alleles
as written, as plink2 does), and so are SNPs whose alleles agree in no way.

Memory: the cohort is read in blocks of ``block`` variants (all individuals); only the phenotypes whose SNPs
the current block reaches are held, finished predictions go to a scratch file on disk, and the output is
written from there in chunks of individuals (or phenotypes). Peak memory is about
``block × n_individuals × 8`` bytes plus the open phenotypes, never the cohort's genotypes or the whole
prediction matrix.
"""

from __future__ import annotations

import gzip
import math
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ConfigError, InputFileError, QtlAtlasError
from ..io.chromosomes import chrom_key
from ..io.genotypes import MISSING_INT8
from .align import _COMPLEMENT, _qc, _upper
from .fusion_io import MODEL_NAMES, TwasModel

SCALES = ("raw", "standardised")
LAYOUTS = ("individuals", "bed")
MATCH_MODES = ("id", "position")

#: Columns of the per-phenotype summary written beside each prediction file.
SUMMARY_COLUMNS = ("panel", "phenotype_id", "gene_id", "chrom", "p0", "p1", "model", "cv_r2", "n_weights",
                   "n_used", "n_flipped", "n_strand", "n_ambiguous", "n_mismatch", "n_absent", "predicted",
                   "skip_reason")


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
                                              f"({weights_source}): weights on {_few(sorted(weight_keys))}, "
                                              f"genotypes on {_few(sorted(cohort.chrom_keys))}; wrong genome "
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


def _few(items: Sequence[str], k: int = 5) -> str:
    return ", ".join(items[:k]) + (f", … ({len(items)} in all)" if len(items) > k else "")


# ----------------------------------------------------------------------------------------------------------
# Reading the cohort in blocks
# ----------------------------------------------------------------------------------------------------------


def _blocks(rows: np.ndarray, block: int, span: int) -> list[tuple[int, int]]:
    """Split sorted unique ``rows`` into [a, b) index ranges of at most ``block`` rows spanning at most ``span``
    file rows (so that a region read never decodes much more than it needs)."""
    out, a = [], 0
    while a < len(rows):
        b = min(a + block, len(rows))
        b = a + max(1, int(np.searchsorted(rows[a:b], rows[a] + span, side="left")))
        out.append((a, b))
        a = b
    return out


def read_rows(reader, rows: np.ndarray, cohort: CohortIndex) -> tuple[np.ndarray, np.ndarray]:
    """``(len(rows), n_samples)`` float64 counted-allele dosages of the cohort's variant rows ``rows`` (sorted)
    and the mask of missing calls: straight from the file for PLINK readers (PLINK 1 as hard calls, PLINK 2
    as dosages), else (VCF/BCF) by a region read of their span."""
    read_rows_of = getattr(reader, "read_rows", None)
    if read_rows_of is not None and getattr(reader, "format", "") == "plink1":
        calls = read_rows_of(rows, dtype="int8")
        return calls.astype(np.float64), calls == MISSING_INT8
    if read_rows_of is not None:
        x = read_rows_of(rows, dtype="float32").astype(np.float64)
        return x, np.isnan(x)
    x = _region_rows(reader, rows, cohort)
    return x, np.isnan(x)


def _region_rows(reader, rows: np.ndarray, cohort: CohortIndex) -> np.ndarray:
    chrom = cohort.chrom[rows[0]]
    same = np.array([c == chrom for c in cohort.chrom[rows]])
    if not same.all():  # rows on several chromosomes: one read per chromosome
        cut = int(np.argmin(same))
        return np.vstack([_region_rows(reader, rows[:cut], cohort), _region_rows(reader, rows[cut:], cohort)])
    lo, hi = int(cohort.pos[rows].min()), int(cohort.pos[rows].max())
    data = reader.read(f"{chrom}:{lo}-{hi}", dtype="float32")
    v = data.variants
    got = pd.Index(v["chrom"].astype(str) + ":" + v["pos"].astype(str) + ":" + v["id"].astype(str) + ":"
                   + v["ref"].astype(str) + ":" + v["alt"].astype(str), dtype=object)
    want = pd.Index([f"{cohort.chrom[i]}:{cohort.pos[i]}:{cohort_id}:{cohort.ref_raw[i]}:{cohort.alt_raw[i]}"
                     for i, cohort_id in zip(rows, cohort.ids[rows], strict=True)], dtype=object)
    at = got.get_indexer(want)
    if (at < 0).any():
        raise InputFileError(cohort.path, f"variant {want[int(np.argmax(at < 0))]} listed but not read back")
    return data.dosages[at].astype(np.float64)


def _prepare(x: np.ndarray, missing: np.ndarray, scale: str) -> np.ndarray:
    """Mean-impute (per variant, over individuals with a call; 0 when none has one) and, for
    ``standardised``, centre and scale (SD with divisor n − 1; monomorphic variants become 0), in place."""
    n = x.shape[1]
    if missing.any():
        np.copyto(x, 0.0, where=missing)
        observed = n - missing.sum(axis=1)
        means = np.divide(x.sum(axis=1), observed, out=np.zeros(len(x)), where=observed > 0)
        np.copyto(x, means[:, None], where=missing)
    if scale == "standardised":
        x -= x.mean(axis=1, keepdims=True)
        sd = np.sqrt((x * x).sum(axis=1) / max(n - 1, 1))
        x *= np.divide(1.0, sd, out=np.zeros_like(sd), where=sd > 0)[:, None]
    return x


@dataclass
class PredictOptions:
    scale: str = "raw"
    block: int = 256
    """Cohort variants decoded at a time (memory ≈ block × individuals × 8 bytes)."""
    span: int = 8192
    """Most file rows one region read of a VCF may cover."""
    force_model: str | None = None
    keep_ambiguous: bool = False
    match_by: str = "id"

    def __post_init__(self):
        if self.scale not in SCALES:
            raise ConfigError("--scale", f"must be one of {', '.join(SCALES)}, not {self.scale!r}")
        if self.force_model is not None and self.force_model not in MODEL_NAMES:
            raise ConfigError("--model", f"must be best or one of {', '.join(MODEL_NAMES)}, not {self.force_model!r}")
        if self.block < 1:
            raise ConfigError("--block", "must be ≥ 1")


class ScratchRows:
    """A float64 matrix of ``n_rows`` × ``n_cols`` in a file, written and read by explicit reads and writes
    (never mapped, so that it never counts in the process's memory)."""

    def __init__(self, directory: str | os.PathLike[str] | None, n_rows: int, n_cols: int, prefix: str):
        fd, self.path = tempfile.mkstemp(prefix=prefix, suffix=".f64", dir=directory)
        self._fd = fd
        self.shape = (n_rows, n_cols)
        os.ftruncate(fd, n_rows * n_cols * 8)

    def write_row(self, k: int, values: np.ndarray) -> None:
        os.pwrite(self._fd, np.ascontiguousarray(values, dtype=np.float64).tobytes(), k * self.shape[1] * 8)

    def rows(self, ks: Sequence[int]) -> np.ndarray:
        """``(len(ks), n_cols)``: rows ``ks`` in that order."""
        out = np.empty((len(ks), self.shape[1]))
        for i, k in enumerate(ks):
            out[i] = np.frombuffer(os.pread(self._fd, self.shape[1] * 8, int(k) * self.shape[1] * 8), np.float64)
        return out

    def columns(self, lo: int, hi: int) -> np.ndarray:
        """``(n_rows, hi − lo)``: columns ``lo:hi`` of every row."""
        out = np.empty((self.shape[0], hi - lo))
        for k in range(self.shape[0]):
            out[k] = np.frombuffer(os.pread(self._fd, (hi - lo) * 8, (k * self.shape[1] + lo) * 8), np.float64)
        return out

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
            try:
                os.unlink(self.path)
            except OSError:
                pass


@dataclass
class PanelPrediction:
    """Predictions of one panel, held in a scratch file: row k of ``values`` is the prediction of the k-th
    predicted phenotype (rows of ``summary`` with ``predicted``) for every individual."""

    panel: str
    summary: pd.DataFrame
    samples: list[str]
    values: ScratchRows

    def close(self) -> None:
        self.values.close()


def predict_panel(reader, cohort: CohortIndex, scores: PanelScores, options: PredictOptions, *,
                  scratch_dir: str | os.PathLike[str] | None = None,
                  advance: Callable[[int], None] | None = None) -> PanelPrediction:
    """Predict every phenotype of ``scores`` for every individual of ``reader`` (see the module docstring)."""
    import scipy.sparse as sp

    samples = list(reader.samples)
    n = len(samples)
    predicted = scores.predicted
    out_index = np.full(len(scores.summary), -1, np.int64)
    out_index[predicted] = np.arange(len(predicted))
    values = ScratchRows(scratch_dir, len(predicted), n, prefix=f".predict-{scores.panel}-")
    result = PanelPrediction(scores.panel, scores.summary, samples, values)
    if not len(predicted):
        return result
    unique_rows, term_row = np.unique(scores.rows, return_inverse=True)
    W = sp.csr_matrix((scores.weight, (term_row, out_index[scores.pheno])),
                      shape=(len(unique_rows), len(predicted)))
    W.sum_duplicates()
    # the block after which each phenotype is complete
    blocks = _blocks(unique_rows, options.block, options.span)
    block_end = np.array([b for _, b in blocks])
    last_row = np.zeros(len(predicted), np.int64)
    np.maximum.at(last_row, out_index[scores.pheno], term_row)
    done_after = np.searchsorted(block_end, last_row, side="right")
    finishing = pd.Series(np.arange(len(predicted))).groupby(done_after).indices
    offsets = scores.offset[predicted] if options.scale == "raw" else np.zeros(len(predicted))
    slot_of = np.full(len(predicted), -1, np.int64)
    acc = np.zeros((16, n))
    free = list(range(15, -1, -1))
    for b, (lo, hi) in enumerate(blocks):
        x = _prepare(*read_rows(reader, unique_rows[lo:hi], cohort), options.scale)
        Wb = W[lo:hi]
        cols = np.unique(Wb.indices)
        if len(cols):
            new = cols[slot_of[cols] < 0]
            while len(free) < len(new):
                grow = acc.shape[0]
                acc = np.vstack([acc, np.zeros((grow, n))])
                free.extend(range(2 * grow - 1, grow - 1, -1))
            for c in new:
                slot_of[c] = free.pop()
            dense = Wb[:, cols].toarray()  # (k, t)
            acc[slot_of[cols]] += dense.T @ x
        for c in finishing.get(b, ()):
            s = slot_of[c]
            values.write_row(c, acc[s] + offsets[c])
            acc[s] = 0.0
            free.append(int(s))
            slot_of[c] = -1
        if advance is not None:
            advance(hi - lo)
    return result


# ----------------------------------------------------------------------------------------------------------
# Output
# ----------------------------------------------------------------------------------------------------------


def output_path(out: str | os.PathLike[str], panel: str, layout: str) -> Path:
    """``OUT/{panel}.predicted.tsv.gz`` (individuals × phenotypes) or ``OUT/{panel}.predicted.bed.gz``."""
    return Path(out) / f"{panel}.predicted.{'tsv' if layout == 'individuals' else 'bed'}.gz"


def summary_path(out: str | os.PathLike[str], panel: str) -> Path:
    return Path(out) / f"{panel}.models.tsv"


def _text_rows(labels: Sequence[Sequence[str]], values: np.ndarray) -> bytes:
    """Tab-separated lines: the label columns, then ``values`` (rows × columns float64) in the shortest text
    that reads back to the same double (pyarrow's CSV writer: fast, no quoting)."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    columns = {f"l{k}": pa.array(list(col), type=pa.string()) for k, col in enumerate(labels)}
    columns.update({f"v{k}": pa.array(values[:, k]) for k in range(values.shape[1])})
    sink = pa.BufferOutputStream()
    pcsv.write_csv(pa.table(columns), sink, pcsv.WriteOptions(include_header=False, delimiter="\t",
                                                              quoting_style="none"))
    return sink.getvalue().to_pybytes()


def write_prediction(pred: PanelPrediction, out: str | os.PathLike[str], layout: str = "individuals", *,
                     chunk: int = 512, compresslevel: int = 1) -> tuple[Path, Path]:
    """Write the prediction file (layout ``individuals``: header ``individual`` + phenotype ids, one line per
    individual; ``bed``: ``#chr start end phenotype_id`` + individuals, one line per phenotype sorted by
    position, ``start``/``end`` the span of the phenotype's weighted SNPs, 0-based half-open) and the
    per-phenotype summary (:data:`SUMMARY_COLUMNS`). Values are written in full (float64) precision, gzip
    level ``compresslevel``. Returns both paths."""
    if layout not in LAYOUTS:
        raise ConfigError("--layout", f"must be one of {', '.join(LAYOUTS)}, not {layout!r}")
    Path(out).mkdir(parents=True, exist_ok=True)
    summary = pred.summary
    pred_rows = summary[summary["predicted"]].reset_index(drop=True)
    path = output_path(out, pred.panel, layout)
    tmp = path.with_name(path.name + ".part")
    with gzip.open(tmp, "wb", compresslevel=compresslevel) as fh:
        if layout == "individuals":
            fh.write(("\t".join(["individual", *pred_rows["phenotype_id"].astype(str)]) + "\n").encode())
            for i0 in range(0, len(pred.samples), chunk):
                ids = pred.samples[i0:i0 + chunk]
                block = pred.values.columns(i0, i0 + len(ids)).T
                fh.write(_text_rows([ids], block))
        else:
            from ..io.chromosomes import chrom_sort_key

            fh.write(("\t".join(["#chr", "start", "end", "phenotype_id", *pred.samples]) + "\n").encode())
            order = sorted(range(len(pred_rows)), key=lambda k: (chrom_sort_key(pred_rows["chrom"].iat[k]),
                                                                 int(pred_rows["p0"].iat[k]),
                                                                 str(pred_rows["phenotype_id"].iat[k])))
            rows_chunk = max(1, chunk * 64 // max(len(pred.samples), 1))
            for a in range(0, len(order), rows_chunk):
                ks = order[a:a + rows_chunk]
                r = pred_rows.iloc[ks]
                labels = [r["chrom"].astype(str).tolist(), (r["p0"].astype(np.int64) - 1).astype(str).tolist(),
                          r["p1"].astype(np.int64).astype(str).tolist(), r["phenotype_id"].astype(str).tolist()]
                fh.write(_text_rows(labels, pred.values.rows(ks)))
    os.replace(tmp, path)
    spath = summary_path(out, pred.panel)
    summary.to_csv(spath, sep="\t", index=False, na_rep="NA")
    return path, spath


# ----------------------------------------------------------------------------------------------------------
# Weights sources
# ----------------------------------------------------------------------------------------------------------


def release_panels(site: str | os.PathLike[str], release: str, *, tissues: Sequence[str] | None = None,
                   modalities: Sequence[str] | None = None,
                   panels: Sequence[str] | None = None) -> Iterator[tuple[str, list[TwasModel]]]:
    """(panel, models) of each TWAS weights panel of a built release (``tables/twas_models.parquet`` and
    ``tables/twas_weights.parquet``), restricted to ``tissues``/``modalities``/``panels`` when given; one
    panel's weights are read at a time.

    Raises:
        InputFileError: the release is missing, has no TWAS tables, or no panel is selected.
    """
    import pyarrow.parquet as pq

    from ..release import layout
    from .fusion_io import PROFILE_COLUMNS, WEIGHT_COLUMNS, models_from_tables

    rdir = layout.release_dir(site, release)
    if not rdir.is_dir():
        raise InputFileError(rdir, f"no release {release!r} in site {site}")
    mpath, wpath = rdir / layout.table_path("twas_models"), rdir / layout.table_path("twas_weights")
    for p in (mpath, wpath):
        if not p.is_file():
            raise InputFileError(p, f"release {release} has no TWAS weights (built without TWAS)")
    profile = pq.read_table(mpath).to_pandas()
    selected = profile
    for column, wanted, flag in (("tissue", tissues, "--tissue"), ("modality", modalities, "--modality"),
                                 ("panel", panels, "--panel")):
        if wanted:
            unknown = sorted(set(wanted) - set(profile[column].astype(str)))
            if unknown:
                raise ConfigError(flag, f"{', '.join(unknown)} not among the {column}s of release {release}'s TWAS "
                                        f"panels ({', '.join(sorted(set(profile[column].astype(str))))})")
            selected = selected[selected[column].astype(str).isin(list(wanted))]
    names = list(dict.fromkeys(selected["panel"].astype(str)))
    if not names:
        raise ConfigError("--panel", f"no TWAS panel of release {release} matches the selection")
    for name in names:
        prof = selected[selected["panel"].astype(str) == name]
        prof = prof[[c for c in PROFILE_COLUMNS if c in prof.columns]]
        wt = pq.read_table(wpath, columns=list(WEIGHT_COLUMNS), filters=[("panel", "=", name)]).to_pandas()
        yield name, models_from_tables(prof, wt, mpath, wpath)


def file_panels(weights: str, weights_dir: str | None = None,
                panels: Sequence[str] | None = None) -> Iterator[tuple[str, list[TwasModel]]]:
    """(panel, models) of a FUSION ``.pos`` (models grouped by its PANEL column, else one panel named after the
    file) or of a Parquet panel directory (``twas_weights.parquet`` + ``twas_profile.parquet``)."""
    from .fusion_io import PROFILE_FILE, WEIGHTS_FILE, is_parquet_panel, read_fusion_panel, read_parquet_panel

    if is_parquet_panel(weights):
        models = read_parquet_panel(weights, panels=panels)
        default = Path(weights).name
    elif os.path.isdir(weights):
        raise InputFileError(weights, f"is a directory without {WEIGHTS_FILE} and {PROFILE_FILE}; give a FUSION "
                                      ".pos file, a Parquet panel directory, or --site and --release")
    else:
        models = read_fusion_panel(weights, weights_dir)
        default = Path(weights).name.removesuffix(".pos")
        if panels:
            models = [m for m in models if (m.panel or default) in set(panels)]
    groups: dict[str, list[TwasModel]] = {}
    for m in models:
        groups.setdefault(m.panel or default, []).append(m)
    if not groups:
        raise InputFileError(weights, "lists no models" + (" of the selected panels" if panels else ""))
    yield from groups.items()


def check_samples(samples: Sequence[str], path: str) -> None:
    """Refuse a cohort with duplicated or empty individual ids (the output needs one row per individual)."""
    seen, dups = set(), []
    for s in samples:
        if s in seen:
            dups.append(s)
        seen.add(s)
    if dups:
        raise InputFileError(path, f"individual id(s) appear more than once: {_few(list(dict.fromkeys(dups)))}")
    if not samples:
        raise InputFileError(path, "the genotypes list no individuals")
    if any(not str(s) for s in samples):
        raise QtlAtlasError(f"{path}: an individual has an empty id")
