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

SNP matching (:func:`.predict_match.match_cohort`): by id, or by chromosome (``chrom_key``: ``chr1`` = ``1``) and position
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
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ConfigError, InputFileError
from ..io.genotypes import MISSING_INT8
from .fusion_io import MODEL_NAMES
from .predict_match import CohortIndex, PanelScores
from .predict_summary import LAYOUTS, SCALES

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
