"""Post-processing of TWAS associations: loci, joint/conditional selection, conditional GWAS (FUSION
``post_process``), guarded against conditioning that manufactures signal.

Inputs: the association table (one row per model, FUSION ``.dat``), each row's weights, the LD reference
and the GWAS z-scores. Rows with NA ``TWAS.P`` (models that were not tested) are set aside and counted;
rows with ``TWAS.P ≥ minp_input`` are left out, and with ``significant_only`` so are the models below the
threshold (FUSION's documented workflow gives ``post_process`` only the significant rows).

Predicted expression
    Each model's weights (the column named by ``MODEL``) are applied to the standardised reference genotypes
    and the predictions are standardised. A ``top1`` model predicts from its top SNP, the model the
    association tested (``top1_single``); FUSION's post-processing uses the whole ``top1`` column, i.e. every
    SNP weighted by its marginal eQTL z, a different predictor from the one tested, whose correlations with
    SNPs far from the eQTL then get subtracted from the GWAS (``PostOptions.fusion()``). Gene–gene
    correlations ``C`` are the correlations of these predictions; entries with ``C² < min_r2`` are set to 0
    (treated as independent).

Threshold
    A model enters a joint model when its (conditional) ``Z² > zthresh²``; by default ``zthresh`` is the
    two-sided Bonferroni threshold ``Φ⁻¹(1 − 0.05 / (2 n_tests))`` with ``n_tests`` the number of models
    tested (non-NA ``TWAS.P``) in the whole input, whatever ``minp_input`` and the chromosome filter keep.

Forward stepwise selection (one pass over all models, then one per locus)
    :func:`.conditional.stepwise_select`. In the chromosome-wide pass a model whose conditional ``Z²``
    exceeds its marginal ``Z²`` by more than ``max_cz_increase²`` is dropped as unstable (LD mismatch /
    complex locus); with ``locus_stability=True`` the same check is applied inside each locus (FUSION
    applies it only to the chromosome-wide pass). Joint estimates and the other models conditioned on the
    joint ones: :func:`.conditional.joint_estimates`.

Loci
    :mod:`.loci`: runs of the analysed models' weight SNPs padded by ``locus_win`` and merged. Loci are
    numbered in chromosome order; only loci with a model above the threshold are analysed.

Strand-ambiguous SNPs (see :mod:`.align`) are left out as in the association: they carry no weight and
have NA z-scores. (FUSION's post-processing keeps them.)

Conditional GWAS per locus
    For reference SNPs strictly inside the locus, each SNP is conditioned on the locus's joint models
    (:class:`.conditional.JointModel`, ``ℓ`` the SNP–prediction correlations): FUSION's ``z_cond = (z −
    ℓᵀ C⁻¹ z_S) / √(1 − ℓᵀ C⁻¹ ℓ)`` with ``z_cond = 0`` for SNPs whose r² with a joint model exceeds
    ``max_r2``; the guard (:class:`.conditional.Guard`, the default) leaves ``explained`` and ``unstable``
    SNPs without a statistic. The report row gives the locus SNP range, the number of distinct genes and of
    joint models, the best TWAS p, the lead GWAS SNP's p, that SNP's conditional p (NA when it has no
    statistic) and ``VAR.EXP = 1 − χ²_cond / χ²`` of the lead SNP (1 when the joint models explain it, as
    FUSION's zeroed ``z_cond`` gives).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from ..errors import InputFileError
from .align import AlignedGwas, align_panel
from .assoc import twas_pvalue
from .conditional import Guard, JointModel, Selection, joint_estimates, stepwise_select
from .fusion_io import TwasModel
from .ld import LdReference
from .loci import bonferroni_z, define_loci, select_rows

REPORT_COLUMNS = ("FILE", "CHR", "P0", "P1", "HIT.GENES", "JOINT.GENES", "BEST.TWAS.P", "BEST.SNP.P",
                  "COND.SNP.P", "VAR.EXP")


@dataclass(frozen=True)
class PostOptions:
    """Options of :func:`post_process` (FUSION ``post_process`` flags of the same names).

    ``significant_only`` analyses only the models above the threshold, as FUSION's documented workflow does
    by giving ``post_process`` the rows of the ``.dat`` with ``TWAS.P`` below ``0.05 / N``: their weight SNPs
    alone define the loci. With every model of a dense panel analysed instead (``--minp_input 1``), the
    weight windows of neighbouring genes tile the chromosome and merge into one locus per chromosome.

    ``guard`` and ``top1_single`` default to the guarded analysis; :meth:`fusion` gives FUSION's.
    """

    minp_input: float = 1.0
    zthresh: float | None = None
    n_tests: int | None = None
    locus_win: int = 100_000
    max_r2: float = 0.9
    min_r2: float = 0.05
    max_cz_increase: float = 1.96
    locus_stability: bool = False
    top1_single: bool = True
    significant_only: bool = False
    guard: Guard = field(default_factory=Guard)

    @classmethod
    def fusion(cls, **options) -> PostOptions:
        """FUSION's analysis: no guard, ``top1`` models predicted from their whole column (``options``
        override any field, e.g. ``zthresh=2`` or ``ridge=0.1`` for a constant ridge)."""
        ridge = float(options.pop("ridge", 0.0))
        return cls(**{"guard": Guard.fusion(ridge), "top1_single": False, **options})

    @property
    def ridge(self) -> float:
        return self.guard.ridge


def options_summary(options: PostOptions) -> dict:
    """The options of an analysis as plain values (recorded with its results; the Methods page reads them)."""
    g = options.guard
    return {"significant_only": options.significant_only, "locus_window": options.locus_win,
            "max_r2": options.max_r2, "min_r2": options.min_r2, "max_cz_increase": options.max_cz_increase,
            "locus_stability": options.locus_stability, "top1_single": options.top1_single, "guard": g.active,
            "max_explained": g.max_explained, "eigen_floor": g.eigen_floor, "ridge": g.ridge,
            "ld_error": g.ld_error, "max_increase": g.max_increase}


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

    ``top1_single`` keeps only the largest |w| of a ``top1`` column (as the association test does); without
    it the whole column is used (FUSION's post-processing). Every SNP of a weight file found in the reference
    is a weight row, zero weights included (FUSION's loci).

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


# ----------------------------------------------------------------------------------------------------------
# Results
# ----------------------------------------------------------------------------------------------------------


@dataclass
class Locus:
    """One analysed locus (a merged locus with at least one model above the threshold).

    Attributes:
        number: 1-based locus number among all merged loci of the chromosome (FUSION's ``loc_N``).
        start, end: padded bounds, bp (SNPs strictly between are in the locus).
        models: indices (into the analysed rows) of the models overlapping the locus.
        joint: ``(len(models),)`` bool, model in the locus's joint model.
        selection: the locus's stepwise selection.
        snps: per SNP ``SNP POS GWAS.Z GWAS.P GWAS_cond.Z GWAS_cond.P`` (FUSION's ``.cond``) and
            ``COND.R2`` (variance explained by the joint models), ``COND.STATUS``
            (:data:`.conditional.STATUSES`).
        estimates: per model of ``models``: ``joint_z, joint_p`` (joint models), ``cond_z, cond_p, cond_r2,
            cond_status`` (the others, conditioned on the joint models).
        top_snp_cor: ``(len(models),)`` correlation of each model's prediction with the lead GWAS SNP.
        report: the report row (:data:`REPORT_COLUMNS` without ``FILE``) and ``LEAD.SNP``,
            ``LEAD.STATUS`` (the lead SNP's conditional status), ``BEST.COND.SNP``, ``BEST.COND.P`` (the
            smallest conditional p of the locus and its SNP).
    """

    number: int
    start: int
    end: int
    models: np.ndarray
    joint: np.ndarray
    selection: Selection
    snps: pd.DataFrame
    estimates: pd.DataFrame
    top_snp_cor: np.ndarray
    report: dict


@dataclass
class PostResult:
    """Output of :func:`post_process`.

    Attributes:
        rows: indices (into the input table) of the models analysed, in input order (tested, ``TWAS.P <
            minp_input``, on ``chrom``, and above the threshold with ``significant_only``).
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


# ----------------------------------------------------------------------------------------------------------
# The analysis
# ----------------------------------------------------------------------------------------------------------


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


@dataclass
class _Context:
    """What every locus of a run shares."""

    z: np.ndarray
    corr: np.ndarray
    sub: pd.DataFrame
    preds: Predictions
    gwas: AlignedGwas
    ld: LdReference
    options: PostOptions


def _post_process(numbers: pd.DataFrame, models: Sequence[TwasModel], gwas: AlignedGwas, ld: LdReference,
                  options: PostOptions, chrom: str | None) -> PostResult:
    rows, n_tests, n_na = select_rows(numbers, chrom, options.minp_input)
    n_tests = options.n_tests or n_tests
    zthresh = options.zthresh if options.zthresh else (bonferroni_z(n_tests) if n_tests else math.inf)
    if options.significant_only:
        with np.errstate(invalid="ignore"):
            rows = rows[np.abs(numbers["TWAS.Z"].to_numpy(np.float64)[rows]) > zthresh]
    sub = numbers.iloc[rows].reset_index(drop=True)
    z = sub["TWAS.Z"].to_numpy(dtype=np.float64)
    preds = predict([models[i] for i in rows], sub["MODEL"].astype(str).tolist(), gwas, ld, options.top1_single)
    corr = preds.correlation()
    corr[corr * corr < options.min_r2] = 0.0
    k = len(rows)
    guard, n_ref = options.guard, ld.n_samples

    global_sel = included = dropped_table = None
    if k and np.any(z * z > zthresh * zthresh):
        global_sel = stepwise_select(z, corr, np.ones(k, dtype=bool), zthresh, options.max_r2,
                                     options.max_cz_increase, recompute_all=True, guard=guard, n_ref=n_ref)
        est = joint_estimates(z, corr, global_sel.joint, guard=guard, n_ref=n_ref)
        keep = global_sel.joint
        base = sub[["FILE", "ID", "TWAS.Z", "TWAS.P"]]
        included = base[keep].reset_index(drop=True).assign(
            **{"JOINT.BETA": est["joint_beta"], "JOINT.BETA.SE": est["joint_se"], "JOINT.Z": est["joint_z"],
               "JOINT.P": est["joint_p"]})
        dropped_table = base[~keep].reset_index(drop=True).assign(
            **{"COND.BETA": est["cond_beta"], "COND.BETA.SE": est["cond_se"], "COND.Z": est["cond_z"],
               "COND.P": est["cond_p"]})
        if guard.active:
            dropped_table["COND.STATUS"] = est["cond_status"]

    positions = ld.variants["pos"].to_numpy(np.int64)
    starts, ends, n_runs = define_loci(positions, preds.weight_rows, options.locus_win)
    p0 = sub["P0"].to_numpy(dtype=np.float64)
    p1 = sub["P1"].to_numpy(dtype=np.float64)
    ctx = _Context(z, corr, sub, preds, gwas, ld, options)
    loci = []
    for number, (lo, hi) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True), start=1):
        members = (p0 < hi) & (p1 > lo)
        if not np.any(members & (z * z > zthresh * zthresh)):
            continue
        sel = stepwise_select(z, corr, members, zthresh, options.max_r2,
                              options.max_cz_increase if options.locus_stability else None,
                              recompute_all=False, guard=guard, n_ref=n_ref)
        loci.append(_locus(number, lo, hi, members, sel, ctx))
    return PostResult(rows, zthresh, n_tests, n_na, global_sel, included, dropped_table, n_runs, len(starts), loci)


def _model_estimates(model_idx: np.ndarray, sel: Selection, ctx: _Context) -> pd.DataFrame:
    """Joint z/p of the locus's joint models, the others conditioned on them (NaN where not applicable)."""
    k = len(model_idx)
    out = pd.DataFrame({"joint_z": np.full(k, np.nan), "joint_p": np.full(k, np.nan), "cond_z": np.full(k, np.nan),
                        "cond_p": np.full(k, np.nan), "cond_r2": np.full(k, np.nan),
                        "cond_status": np.full(k, "joint", dtype=object)})
    joint = sel.joint[model_idx]
    if not joint.any():
        return out
    local_corr = ctx.corr[np.ix_(model_idx, model_idx)]
    with np.errstate(invalid="ignore", divide="ignore"):
        est = joint_estimates(ctx.z[model_idx], local_corr, joint, guard=ctx.options.guard, n_ref=ctx.ld.n_samples)
    out.loc[joint, "joint_z"], out.loc[joint, "joint_p"] = est["joint_z"], est["joint_p"]
    rest = ~joint
    for col in ("cond_z", "cond_p", "cond_r2"):
        out.loc[rest, col] = est[col]
    out.loc[rest, "cond_status"] = est["cond_status"]
    return out


def _locus(number: int, lo: int, hi: int, members: np.ndarray, sel: Selection, ctx: _Context) -> Locus:
    """Conditional GWAS, model estimates and report row of one locus."""
    ld, options = ctx.ld, ctx.options
    n = ld.n_samples
    joint = np.flatnonzero(sel.joint)
    positions = ld.variants["pos"].to_numpy(np.int64)
    snp_rows = np.flatnonzero((positions > lo) & (positions < hi))
    geno = ld.standardized(snp_rows)
    snp_z = np.where(ctx.gwas.usable[snp_rows], ctx.gwas.z[snp_rows], np.nan)  # strand-ambiguous SNPs: NA
    snp_ge = geno.T @ ctx.preds.values[:, joint] / (n - 1)  # (s, j)
    fit = JointModel(ctx.corr[np.ix_(joint, joint)], ctx.z[joint], options.guard, n)
    with np.errstate(invalid="ignore"):
        cond = fit.condition(snp_z, snp_ge, options.max_r2)
    status = np.where(np.isnan(snp_z), "undefined", cond.status)
    cond_z = np.where(np.isnan(snp_z), np.nan, cond.z)
    snps = pd.DataFrame({"SNP": ld.variants["snp"].to_numpy()[snp_rows], "POS": positions[snp_rows],
                         "GWAS.Z": snp_z, "GWAS.P": twas_pvalue(snp_z), "GWAS_cond.Z": cond_z,
                         "GWAS_cond.P": twas_pvalue(cond_z), "COND.R2": cond.r2, "COND.STATUS": status})
    model_idx = np.flatnonzero(members)
    chisq = snp_z * snp_z
    top = int(np.nanargmax(chisq)) if np.any(~np.isnan(chisq)) else -1
    top_cor = (geno[:, top] @ ctx.preds.values[:, model_idx] / (n - 1)) if top >= 0 else np.full(len(model_idx), np.nan)
    report = _report(snps, top, model_idx, sel, ctx.sub, positions[snp_rows])
    return Locus(number, lo, hi, model_idx, sel.joint[model_idx], sel, snps, _model_estimates(model_idx, sel, ctx),
                 top_cor, report)


def _report(snps: pd.DataFrame, top: int, model_idx: np.ndarray, sel: Selection, sub: pd.DataFrame,
            positions: np.ndarray) -> dict:
    """The report row of a locus (module docstring) and the lead and best conditional SNPs."""
    snp_z = snps["GWAS.Z"].to_numpy(np.float64)
    cond_z = snps["GWAS_cond.Z"].to_numpy(np.float64)
    status = snps["COND.STATUS"].to_numpy(object)
    best_chisq = float(snp_z[top] ** 2) if top >= 0 else math.nan
    if top >= 0 and status[top] == "explained":
        cond_chisq, var_exp = math.nan, 1.0
    else:
        cond_chisq = float(cond_z[top] ** 2) if top >= 0 else math.nan
        var_exp = 1.0 - cond_chisq / best_chisq
    cond_p = snps["GWAS_cond.P"].to_numpy(np.float64)
    best_cond = int(np.nanargmin(cond_p)) if np.any(~np.isnan(cond_p)) else -1
    return {"CHR": str(sub["CHR"].iat[0]) if len(sub) else "",
            "P0": int(positions.min()) if len(positions) else 0, "P1": int(positions.max()) if len(positions) else 0,
            "HIT.GENES": int(sub["ID"].iloc[model_idx].nunique()), "JOINT.GENES": int(sel.joint[model_idx].sum()),
            "BEST.TWAS.P": float(np.nanmin(sub["TWAS.P"].to_numpy(dtype=np.float64)[model_idx])),
            "BEST.SNP.P": float(twas_pvalue(math.sqrt(best_chisq))),
            "COND.SNP.P": float(twas_pvalue(math.sqrt(cond_chisq))), "VAR.EXP": var_exp,
            "LEAD.SNP": str(snps["SNP"].iat[top]) if top >= 0 else "",
            "LEAD.STATUS": str(status[top]) if top >= 0 else "undefined",
            "BEST.COND.SNP": str(snps["SNP"].iat[best_cond]) if best_cond >= 0 else "",
            "BEST.COND.P": float(cond_p[best_cond]) if best_cond >= 0 else math.nan}

