"""Post-processing of TWAS associations: loci, joint/conditional selection, conditional GWAS (FUSION
``post_process``).

Inputs: the association table (one row per model, FUSION ``.dat``), each row's weights, the LD reference
and the GWAS z-scores. Rows with NA ``TWAS.P`` (models that were not tested) are set aside and counted;
rows with ``TWAS.P ≥ minp_input`` are left out.

Predicted expression
    Each model's weights (the column named by ``MODEL``; for ``top1`` models the whole column of marginal
    z-scores, as FUSION's post-processing uses them, or only its top SNP with ``top1_single``) are applied to the standardised reference genotypes
    and the predictions are standardised. Gene–gene correlations ``C`` are the correlations of these
    predictions; entries with ``C² < min_r2`` are set to 0 (treated as independent).

Threshold
    A model enters a joint model when its (conditional) ``Z² > zthresh²``; by default ``zthresh`` is the
    two-sided Bonferroni threshold ``Φ⁻¹(1 − 0.05 / (2 n_tests))`` with ``n_tests`` the number of models
    tested (non-NA ``TWAS.P``) in the whole input, whatever ``minp_input`` and the chromosome filter keep.

Forward stepwise selection (one pass over all models, then one per locus)
    Repeatedly add the model with the largest conditional ``Z²`` above the threshold; after each addition
    every other candidate's conditional z on the selected set ``S`` is
    ``(z_i − C_iS D⁻¹ z_S) / √(1 − C_iS D⁻¹ C_Si)`` with ``D = C_SS + ridge·I`` (``ridge`` = 0 is FUSION);
    a candidate with ``C² > max_r2`` to a selected model, or a negative conditional variance, gets 0. In
    the chromosome-wide pass a model whose conditional ``Z²`` exceeds its marginal ``Z²`` by more than
    ``max_cz_increase²`` is dropped as unstable (LD mismatch / complex locus); with
    ``locus_stability=True`` the same check is applied inside each locus (FUSION applies it only to the
    chromosome-wide pass). Joint estimates: ``β = D⁻¹ z_S``, ``SE = √diag(D⁻¹)``; models left out get their
    conditional estimate (NA when its variance is negative).

Loci
    Reference SNPs carrying weights of any tested model are grouped into runs of consecutive reference
    SNPs; each run is padded by ``locus_win`` bp on both sides (FUSION default 100 kb, so runs less than
    200 kb apart merge) and overlapping padded runs are merged. A model belongs to a locus when its
    ``P0..P1`` interval overlaps the locus. Loci are numbered in chromosome order; only loci with a model
    above the threshold are analysed.

Strand-ambiguous SNPs (see :mod:`.align`) are left out as in the association: they carry no weight and
have NA z-scores. (FUSION's post-processing keeps them.)

Conditional GWAS per locus
    For reference SNPs strictly inside the locus, ``z_cond = (z − L D⁻¹ z_S) / √diag(1 − L D⁻¹ Lᵀ)`` with
    ``L`` the SNP–prediction correlations of the locus's joint models; SNPs with ``r² > max_r2`` to a joint
    model get ``z_cond = 0``. The report row gives the locus SNP range, the number of distinct genes and of
    joint models, the best TWAS p, the best GWAS SNP p, that SNP's conditional p and
    ``VAR.EXP = 1 − χ²_cond / χ²``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from ..errors import InputFileError
from .align import AlignedGwas, align_panel
from .assoc import twas_pvalue
from .conditional import Selection, _inverse, joint_estimates, stepwise_select
from .fusion_io import TwasModel
from .ld import LdReference
from .loci import bonferroni_z, define_loci, select_rows

REPORT_COLUMNS = ("FILE", "CHR", "P0", "P1", "HIT.GENES", "JOINT.GENES", "BEST.TWAS.P", "BEST.SNP.P",
                  "COND.SNP.P", "VAR.EXP")


@dataclass(frozen=True)
class PostOptions:
    """Options of :func:`post_process` (FUSION ``post_process`` flags of the same names)."""

    minp_input: float = 1.0
    zthresh: float | None = None
    n_tests: int | None = None
    locus_win: int = 100_000
    max_r2: float = 0.9
    min_r2: float = 0.05
    max_cz_increase: float = 1.96
    ridge: float = 0.0
    locus_stability: bool = False
    top1_single: bool = False


# ----------------------------------------------------------------------------------------------------------
# Predictions and correlations
# ----------------------------------------------------------------------------------------------------------


@dataclass
class Predictions:
    """Standardised predicted expression of ``k`` models in the reference.

    Attributes:
        values: ``(n, k)`` predictions, each column mean 0 and SD 1 (n − 1); a constant prediction is 0.
        weight_rows: ``(n_ref,)`` bool, reference SNP carries a weight SNP of some model.
    """

    values: np.ndarray
    weight_rows: np.ndarray

    def correlation(self) -> np.ndarray:
        """``(k, k)`` correlations of the predictions."""
        c = self.values.T @ self.values / (self.values.shape[0] - 1)
        np.fill_diagonal(c, 1.0)
        return c


def predict(models: Sequence[TwasModel], model_names: Sequence[str], gwas: AlignedGwas, ld: LdReference,
            top1_single: bool = False) -> Predictions:
    """Predict each model (weights column ``model_names[i]``) into the reference genotypes.

    ``top1_single`` keeps only the largest |w| of a ``top1`` column (as the association test does); the
    default uses the whole column (FUSION's post-processing).

    Raises:
        InputFileError: a model's weight file lacks the named model.
    """
    n = ld.n_samples
    values = np.zeros((n, len(models)))
    used = np.zeros(ld.n_snps, dtype=bool)
    alignments = align_panel([m.snps for m in models], gwas)
    for i, (model, name, aligned) in enumerate(zip(models, model_names, alignments, strict=True)):
        if name not in model.models:
            raise InputFileError(model.source or "weights", f"model {name!r} of {model.phenotype_id} is not in "
                                 f"this weight file (it has {', '.join(model.models) or 'none'})")
        col = model.models.index(name)
        w = model.weights[aligned.matched, col] * aligned.sign
        if top1_single and name.startswith("top1") and len(w):
            top = int(np.argmax(w * w))
            w = np.where(np.arange(len(w)) == top, w, 0.0)
        used[aligned.rows] = True
        if len(aligned.rows):
            values[:, i] = ld.standardized(aligned.rows) @ w
    values -= values.mean(axis=0)
    sd = values.std(axis=0, ddof=1)
    np.divide(values, sd, out=values, where=sd > 0)
    values[:, sd == 0] = 0.0
    return Predictions(values, used)


@dataclass
class Locus:
    """One analysed locus (a merged locus with at least one model above the threshold).

    Attributes:
        number: 1-based locus number among all merged loci of the chromosome (FUSION's ``loc_N``).
        start, end: padded bounds (SNPs strictly between are in the locus).
        models: indices of the models overlapping the locus.
        joint: ``(len(models),)`` bool, model in the locus's joint model.
        selection: the locus's stepwise selection.
        snps: per SNP ``SNP POS GWAS.Z GWAS.P GWAS_cond.Z GWAS_cond.P``.
        top_snp_cor: ``(len(models),)`` correlation of each model's prediction with the best GWAS SNP.
        report: the report row (:data:`REPORT_COLUMNS` without ``FILE``).
    """

    number: int
    start: int
    end: int
    models: np.ndarray
    joint: np.ndarray
    selection: Selection
    snps: pd.DataFrame
    top_snp_cor: np.ndarray
    report: dict


@dataclass
class PostResult:
    """Output of :func:`post_process`.

    Attributes:
        rows: indices (into the input table) of the models analysed, in input order.
        zthresh: the threshold used.
        n_tests: the Bonferroni denominator (models tested in the input).
        n_na: input rows with NA ``TWAS.P``.
        global_selection: the chromosome-wide selection (None when no model passes the threshold).
        joint_included, joint_dropped: FUSION's chromosome-wide joint tables (None when no model passes).
        n_runs: weight-SNP runs before merging; ``n_loci``: merged loci.
        loci: analysed loci.
    """

    rows: np.ndarray
    zthresh: float
    n_tests: int
    n_na: int
    global_selection: Selection | None
    joint_included: pd.DataFrame | None
    joint_dropped: pd.DataFrame | None
    n_runs: int
    n_loci: int
    loci: list[Locus]


def post_process(numbers: pd.DataFrame, models: Sequence[TwasModel], gwas: AlignedGwas, ld: LdReference,
                 options: PostOptions = PostOptions(), chrom: str | None = None) -> PostResult:
    """Run FUSION's post-processing on an association table (see the module docstring).

    Args:
        numbers: the association table with numeric columns parsed (:func:`~.fusion_io.read_dat`).
        models: the weights of every row of ``numbers`` (None allowed for rows that are not analysed).
        gwas: GWAS z-scores aligned to ``ld``.
        chrom: analyse the rows of this chromosome only.

    BLAS runs single-threaded inside (small matrices; see :func:`qtlatlas.twas.assoc.associate`).
    """
    with threadpool_limits(limits=1, user_api="blas"):
        return _post_process(numbers, models, gwas, ld, options, chrom)


def _post_process(numbers: pd.DataFrame, models: Sequence[TwasModel], gwas: AlignedGwas, ld: LdReference,
                  options: PostOptions, chrom: str | None) -> PostResult:
    rows, n_tests, n_na = select_rows(numbers, chrom, options.minp_input)
    n_tests = options.n_tests or n_tests
    zthresh = options.zthresh if options.zthresh else (bonferroni_z(n_tests) if n_tests else math.inf)
    sub = numbers.iloc[rows].reset_index(drop=True)
    z = sub["TWAS.Z"].to_numpy(dtype=np.float64)
    preds = predict([models[i] for i in rows], sub["MODEL"].astype(str).tolist(), gwas, ld, options.top1_single)
    corr = preds.correlation()
    corr[corr * corr < options.min_r2] = 0.0
    k = len(rows)

    global_sel = included = dropped_table = None
    if k and np.any(z * z > zthresh * zthresh):
        global_sel = stepwise_select(z, corr, np.ones(k, dtype=bool), zthresh, options.max_r2,
                                     options.max_cz_increase, options.ridge, recompute_all=True)
        est = joint_estimates(z, corr, global_sel.joint, options.ridge)
        keep = global_sel.joint
        base = sub[["FILE", "ID", "TWAS.Z", "TWAS.P"]]
        included = base[keep].reset_index(drop=True).assign(
            **{"JOINT.BETA": est["joint_beta"], "JOINT.BETA.SE": est["joint_se"], "JOINT.Z": est["joint_z"],
               "JOINT.P": est["joint_p"]})
        dropped_table = base[~keep].reset_index(drop=True).assign(
            **{"COND.BETA": est["cond_beta"], "COND.BETA.SE": est["cond_se"], "COND.Z": est["cond_z"],
               "COND.P": est["cond_p"]})

    positions = ld.variants["pos"].to_numpy(np.int64)
    starts, ends, n_runs = define_loci(positions, preds.weight_rows, options.locus_win)
    p0 = sub["P0"].to_numpy(dtype=np.float64)
    p1 = sub["P1"].to_numpy(dtype=np.float64)
    loci = []
    for number, (lo, hi) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True), start=1):
        members = (p0 < hi) & (p1 > lo)
        if not np.any(members & (z * z > zthresh * zthresh)):
            continue
        sel = stepwise_select(z, corr, members, zthresh, options.max_r2,
                              options.max_cz_increase if options.locus_stability else None, options.ridge,
                              recompute_all=False)
        loci.append(_locus(number, lo, hi, members, sel, z, corr, sub, preds, gwas, ld, options))
    return PostResult(rows, zthresh, n_tests, n_na, global_sel, included, dropped_table, n_runs, len(starts), loci)


def _locus(number: int, lo: int, hi: int, members: np.ndarray, sel: Selection, z: np.ndarray, corr: np.ndarray,
           sub: pd.DataFrame, preds: Predictions, gwas: AlignedGwas, ld: LdReference, options: PostOptions) -> Locus:
    """Conditional GWAS and report row of one locus."""
    n = ld.n_samples
    joint = np.flatnonzero(sel.joint)
    positions = ld.variants["pos"].to_numpy(np.int64)
    snp_rows = np.flatnonzero((positions > lo) & (positions < hi))
    geno = ld.standardized(snp_rows)
    snp_z = np.where(gwas.usable[snp_rows], gwas.z[snp_rows], np.nan)  # strand-ambiguous SNPs: NA
    snp_ge = geno.T @ preds.values[:, joint] / (n - 1)  # (s, j)
    dinv = _inverse(corr[np.ix_(joint, joint)], options.ridge)
    cond_b = snp_z - snp_ge @ (dinv @ z[joint])
    var = 1.0 - np.einsum("ij,ij->i", snp_ge @ dinv, snp_ge)
    with np.errstate(invalid="ignore"):
        cond_se = np.sqrt(var)
    auto = np.max(snp_ge**2, axis=1) > options.max_r2
    cond_b[auto] = 0.0
    cond_se[auto] = 1.0
    with np.errstate(invalid="ignore", divide="ignore"):
        cond_z = cond_b / cond_se
    gwas_p = twas_pvalue(snp_z)
    snps = pd.DataFrame({"SNP": ld.variants["snp"].to_numpy()[snp_rows], "POS": positions[snp_rows],
                         "GWAS.Z": snp_z, "GWAS.P": gwas_p, "GWAS_cond.Z": cond_z, "GWAS_cond.P": twas_pvalue(cond_z)})
    chisq = snp_z * snp_z
    top = int(np.nanargmax(chisq)) if np.any(~np.isnan(chisq)) else -1
    best_chisq = float(chisq[top]) if top >= 0 else math.nan
    cond_chisq = float(cond_z[top] ** 2) if top >= 0 else math.nan
    model_idx = np.flatnonzero(members)
    top_cor = (geno[:, top] @ preds.values[:, model_idx] / (n - 1)) if top >= 0 else np.full(len(model_idx), np.nan)
    report = {"CHR": str(sub["CHR"].iat[0]) if len(sub) else "", "P0": int(positions[snp_rows].min()),
              "P1": int(positions[snp_rows].max()), "HIT.GENES": int(sub["ID"].iloc[model_idx].nunique()),
              "JOINT.GENES": int(sel.joint[model_idx].sum()),
              "BEST.TWAS.P": float(np.nanmin(sub["TWAS.P"].to_numpy(dtype=np.float64)[model_idx])),
              "BEST.SNP.P": float(twas_pvalue(math.sqrt(best_chisq))), "COND.SNP.P": float(twas_pvalue(math.sqrt(cond_chisq))),
              "VAR.EXP": 1.0 - cond_chisq / best_chisq}
    return Locus(number, lo, hi, model_idx, sel.joint[model_idx], sel, snps, top_cor, report)
