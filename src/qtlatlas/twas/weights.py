"""TWAS weights for one phenotype and for a panel (FUSION ``compute_weights`` equivalent).

One phenotype (:func:`fit_weights`), as ``FUSION.compute_weights.R`` does it:

1. phenotype: covariates regressed out (``lm`` with intercept) and the residual scaled (mean 0, SD 1 with
   divisor n − 1); without covariates the phenotype is only scaled;
2. genotypes: missing calls mean-imputed, each SNP standardised (SD with divisor n − 1); monomorphic SNPs
   are dropped (FUSION zeroes them);
3. heritability: REML (:mod:`.reml`) of the raw phenotype with the covariates as fixed effects and the
   window's genotypes as kernel; the phenotype is kept when ``hsq_pval ≤ hsq_p`` (0.01). ``hsq_set`` skips
   the estimate and the filter (FUSION ``--hsq_set``);
4. cross-validation of the models (:mod:`.crossval`), then each model fitted on all samples
   (:mod:`.models`): top1 weights are the marginal z-scores of every SNP.

A panel (:func:`fit_panel`) streams phenotypes through (genotype window TSS ± ``window``), and
:class:`PanelWriter` writes a Parquet panel directory with two tables: the weights (one row per
phenotype × SNP, :data:`WEIGHT_COLUMNS`) and the profile (one row per fitted phenotype,
:data:`PROFILE_COLUMNS`), the layout ``qtlatlas twas assoc`` reads.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import models as M
from .crossval import MODELS, CvSplit, InnerFoldid, cross_validate, default_inner_foldid
from .reml import RemlProblem, RemlResult
from .reml import hsq_set as fixed_hsq

__all__ = [
    "MODELS",
    "PROFILE_COLUMNS",
    "WEIGHT_COLUMNS",
    "PanelSummary",
    "PanelWriter",
    "WeightsOptions",
    "WeightsResult",
    "fit_panel",
    "fit_weights",
    "prepare_phenotype",
]

WEIGHT_COLUMNS = ("panel", "phenotype_id", "gene_id", "variant_id", "chrom", "pos", "a1", "a2",
                  "top1", "lasso", "enet", "blup")
PROFILE_COLUMNS = ("panel", "phenotype_id", "gene_id", "chrom", "p0", "p1", "n", "n_snps", "hsq", "hsq_se",
                   "hsq_pval", "top1_r2", "top1_pval", "lasso_r2", "lasso_pval", "enet_r2", "enet_pval",
                   "blup_r2", "blup_pval", "best_model")


@dataclass(frozen=True)
class WeightsOptions:
    """Options of one weights fit (FUSION's flags in brackets).

    Attributes:
        models: models to fit, a subset of :data:`MODELS` [--models]; top1 is always fitted.
        crossval: number of CV folds; ≤ 1 skips cross-validation [--crossval].
        hsq_set: fixed h² instead of REML, no filter [--hsq_set].
        hsq_p: keep phenotypes with REML LRT p ≤ this [--hsq_p].
        seed: seed of the CV permutation and of enet's inner folds (FUSION uses R's ``set.seed(1)``).
        lasso_seed: seed of PLINK-lasso's random λ_min draws (PLINK's ``--seed``).
        cv_order: FUSION's own permutation (0-based sample indices), overriding ``seed``.
        inner_foldid: enet's inner fold ids (see :data:`.crossval.InnerFoldid`), overriding ``seed``.
        plink_flip: reproduce FUSION's sign error on lasso/blup CV effects of SNPs whose minor allele
            differs between a training fold and all samples (:func:`.crossval.plink_fold_flip`).
        blas_threads: BLAS threads while fitting (1: the matrices are small, and multi-threaded BLAS on
            them is slower, badly so on a busy machine; parallelise over phenotypes instead). None leaves
            the process setting alone.
    """

    models: tuple[str, ...] = MODELS
    crossval: int = 5
    hsq_set: float | None = None
    hsq_p: float = 0.01
    seed: int | None = 1
    lasso_seed: int | None = 0
    cv_order: np.ndarray | None = None
    inner_foldid: InnerFoldid | None = None
    plink_flip: bool = False
    blas_threads: int | None = 1

    def __post_init__(self):
        unknown = [m for m in self.models if m not in MODELS]
        if unknown:
            raise ValueError(f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(MODELS)}")
        if "top1" not in self.models:
            object.__setattr__(self, "models", ("top1", *self.models))
        if self.hsq_set is not None and not 0.0 <= self.hsq_set <= 1.0:
            raise ValueError(f"hsq_set must be in [0, 1], got {self.hsq_set}")
        if not 0.0 < self.hsq_p <= 1.0:
            raise ValueError(f"hsq_p must be in (0, 1], got {self.hsq_p}")


@dataclass
class WeightsResult:
    """Weights of one phenotype.

    Attributes:
        snps: indices (m_kept,) of the input SNPs the weights refer to (polymorphic ones); empty when
            skipped.
        weights: (m_kept, len(models)) weights per counted allele of standardised genotypes; NaN where a
            model produced none (lasso without PLINK output). Empty when the phenotype was skipped.
        models: model names of the columns of ``weights``.
        hsq, hsq_se, hsq_pval: heritability estimate (``hsq_se``/``hsq_pval`` NaN with ``hsq_set``).
        cv_r2, cv_pval: per model, CV adjusted R² and p-value (NaN without cross-validation).
        n: samples used.
        skipped: why no weights were fitted (None when fitted).
    """

    snps: np.ndarray
    weights: np.ndarray
    models: tuple[str, ...]
    hsq: float
    hsq_se: float
    hsq_pval: float
    cv_r2: dict[str, float] = field(default_factory=dict)
    cv_pval: dict[str, float] = field(default_factory=dict)
    n: int = 0
    skipped: str | None = None

    @property
    def best_model(self) -> str | None:
        """Model with the largest CV R² (first in model order on ties), None without any."""
        best, best_r2 = None, -math.inf
        for name in self.models:
            r2 = self.cv_r2.get(name, math.nan)
            if np.isfinite(r2) and r2 > best_r2:
                best, best_r2 = name, r2
        return best

    def weight(self, model: str) -> np.ndarray:
        return self.weights[:, self.models.index(model)]


def prepare_phenotype(y: np.ndarray, covariates: np.ndarray | None) -> np.ndarray:
    """FUSION's phenotype for the models (n,): residual of ``lm(y ~ covariates)`` scaled to mean 0, SD 1."""
    y = np.asarray(y, dtype=np.float64)
    if covariates is not None:
        C = np.column_stack([np.ones(y.shape[0]), np.asarray(covariates, dtype=np.float64)])
        coef, *_ = np.linalg.lstsq(C, y, rcond=None)
        y = y - C @ coef
    sd = y.std(ddof=1)
    if not sd > 0:
        raise ValueError("the phenotype is constant (after removing covariates)")
    return (y - y.mean()) / sd


def _heritability(y_raw: np.ndarray, Z: np.ndarray, covariates: np.ndarray | None,
                  options: WeightsOptions) -> RemlResult:
    if options.hsq_set is not None:
        return fixed_hsq(options.hsq_set, y_raw.shape[0])
    return RemlProblem(y_raw, Z, covariates=covariates).fit()


def fit_weights(genotypes: np.ndarray, phenotype: np.ndarray, covariates: np.ndarray | None = None,
                options: WeightsOptions | None = None) -> WeightsResult:
    """FUSION weights of one phenotype (see the module docstring).

    Args:
        genotypes: dosages (n × m) of the counted allele (A1/ALT), NaN = missing.
        phenotype: (n,) values, no missing (drop those samples first).
        covariates: (n × k) or None.
        options: :class:`WeightsOptions`.
    """
    opt = options or WeightsOptions()
    if opt.blas_threads is None:
        return _fit_weights(genotypes, phenotype, covariates, opt)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=opt.blas_threads):
        return _fit_weights(genotypes, phenotype, covariates, opt)


def _fit_weights(genotypes, phenotype, covariates, opt: WeightsOptions) -> WeightsResult:
    G = np.asarray(genotypes, dtype=np.float64)
    y_raw = np.asarray(phenotype, dtype=np.float64).ravel()
    n = y_raw.shape[0]
    if G.ndim != 2 or G.shape[0] != n:
        raise ValueError(f"genotypes must be (n, m) with n = {n} samples, got shape {G.shape}")
    if not np.isfinite(y_raw).all():
        raise ValueError("the phenotype has missing values: drop those samples first")
    cov = None
    if covariates is not None:
        cov = np.asarray(covariates, dtype=np.float64).reshape(n, -1)
        if not np.isfinite(cov).all():
            raise ValueError("the covariates have missing values")
    Zall, _, sd = M.standardize(G)
    keep = np.flatnonzero(sd > 0)
    nan = float("nan")
    if keep.size == 0:
        return WeightsResult(keep, np.zeros((0, len(opt.models))), opt.models, nan, nan, nan, n=n,
                             skipped="no polymorphic SNP in the window")
    if n < 10:
        return WeightsResult(np.zeros(0, dtype=np.int64), np.zeros((0, len(opt.models))), opt.models, nan, nan,
                             nan, n=n, skipped="fewer than 10 samples")
    Z = np.ascontiguousarray(Zall[:, keep])
    Gk = G[:, keep]
    y = prepare_phenotype(y_raw, cov)
    h = _heritability(y_raw, Z, cov, opt)
    result = WeightsResult(keep, np.zeros((0, len(opt.models))), opt.models, h.h2, h.se, h.pval, n=n)
    if opt.hsq_set is None and not h.pval <= opt.hsq_p:
        result.skipped = f"heritability p-value {h.pval:.3g} > {opt.hsq_p:g}"
        result.snps = np.zeros(0, dtype=np.int64)
        return result
    inner = opt.inner_foldid or default_inner_foldid(opt.seed)
    models = opt.models
    if opt.crossval > 1:
        split = CvSplit.fusion(n, int(opt.crossval), seed=opt.seed, order=opt.cv_order)
        cv = cross_validate(models, Z, Gk, y, split, h2=h.h2, inner_foldid=inner, lasso_seed=opt.lasso_seed,
                            plink_flip=opt.plink_flip)
        result.cv_r2, result.cv_pval = cv.r2, cv.pval
    else:
        result.cv_r2 = {m: nan for m in models}
        result.cv_pval = {m: nan for m in models}
    W = np.empty((keep.size, len(models)))
    for j, name in enumerate(models):
        if name == "top1":
            W[:, j] = M.fit_top1(Z, y)
        elif name == "enet":
            W[:, j] = M.fit_enet(Z, y, inner(0, np.arange(n)))
        elif name == "lasso":
            W[:, j] = M.fit_lasso(Gk, y, h.h2, seed=opt.lasso_seed)
        elif name == "blup":
            W[:, j] = M.fit_blup(Gk, y)
    result.weights = W
    return result


# ----------------------------------------------------------------------------------------------------------
# Panels
# ----------------------------------------------------------------------------------------------------------


@dataclass
class PhenotypeWindow:
    """Inputs of one phenotype of a panel: its values, genotype window and variant table."""

    phenotype_id: str
    gene_id: str
    chrom: str
    tss: int
    genotypes: np.ndarray  # (n, m) float, NaN missing
    variants: pd.DataFrame  # chrom, pos, id, ref, alt (alt = counted allele)
    phenotype: np.ndarray  # (n,)
    covariates: np.ndarray | None


@dataclass
class PanelSummary:
    """Counts of a panel run: phenotypes fitted, and skipped with their reasons."""

    fitted: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    n_weights: int = 0

    def skip(self, reason: str) -> None:
        key = "heritability p-value above the threshold" if "p-value" in reason else reason
        self.skipped[key] = self.skipped.get(key, 0) + 1


def weight_rows(panel: str, window: PhenotypeWindow, res: WeightsResult) -> pd.DataFrame:
    """The weights table rows (:data:`WEIGHT_COLUMNS`) of one fitted phenotype."""
    v = window.variants.iloc[res.snps]
    frame = pd.DataFrame({
        "panel": panel, "phenotype_id": window.phenotype_id, "gene_id": window.gene_id,
        "variant_id": v["id"].astype(str).to_numpy(), "chrom": v["chrom"].astype(str).to_numpy(),
        "pos": v["pos"].to_numpy(np.int64), "a1": v["alt"].astype(str).to_numpy(),
        "a2": v["ref"].astype(str).to_numpy(),
    })
    for name in ("top1", "lasso", "enet", "blup"):
        frame[name] = res.weight(name) if name in res.models else np.nan
    return frame


def profile_row(panel: str, window: PhenotypeWindow, res: WeightsResult) -> dict:
    """The profile row (:data:`PROFILE_COLUMNS`) of one fitted phenotype."""
    pos = window.variants["pos"].to_numpy(np.int64)[res.snps]
    row = {"panel": panel, "phenotype_id": window.phenotype_id, "gene_id": window.gene_id,
           "chrom": str(window.chrom), "p0": int(pos.min()), "p1": int(pos.max()), "n": int(res.n),
           "n_snps": int(res.snps.size), "hsq": res.hsq, "hsq_se": res.hsq_se, "hsq_pval": res.hsq_pval}
    for name in ("top1", "lasso", "enet", "blup"):
        row[f"{name}_r2"] = res.cv_r2.get(name, math.nan)
        row[f"{name}_pval"] = res.cv_pval.get(name, math.nan)
    row["best_model"] = res.best_model
    return row


class PanelWriter:
    """Streams weights and profile rows into a Parquet panel directory: ``twas_weights.parquet`` and
    ``twas_profile.parquet`` (the layout :func:`qtlatlas.twas.fusion_io.read_parquet_panel` reads)."""

    def __init__(self, directory: str | os.PathLike[str], *, batch_rows: int = 200_000):
        import pyarrow as pa

        from .fusion_io import PROFILE_FILE, WEIGHTS_FILE

        os.makedirs(directory, exist_ok=True)
        self.weights_path = os.path.join(os.fspath(directory), WEIGHTS_FILE)
        self.profile_path = os.path.join(os.fspath(directory), PROFILE_FILE)
        f64, s, i64 = pa.float64(), pa.string(), pa.int64()
        self.weight_schema = pa.schema([("panel", s), ("phenotype_id", s), ("gene_id", s), ("variant_id", s),
                                        ("chrom", s), ("pos", i64), ("a1", s), ("a2", s), ("top1", f64),
                                        ("lasso", f64), ("enet", f64), ("blup", f64)])
        fields = [("panel", s), ("phenotype_id", s), ("gene_id", s), ("chrom", s), ("p0", i64), ("p1", i64),
                  ("n", i64), ("n_snps", i64)]
        fields += [(c, f64) for c in PROFILE_COLUMNS[8:-1]]
        fields.append(("best_model", s))
        self.profile_schema = pa.schema(fields)
        self._pending: list[pd.DataFrame] = []
        self._pending_rows = 0
        self._profile: list[dict] = []
        self._batch_rows = batch_rows
        self._writer = None

    def add(self, panel: str, window: PhenotypeWindow, res: WeightsResult) -> None:
        frame = weight_rows(panel, window, res)
        self._pending.append(frame)
        self._pending_rows += len(frame)
        self._profile.append(profile_row(panel, window, res))
        if self._pending_rows >= self._batch_rows:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self._writer is None:
            self._writer = pq.ParquetWriter(self.weights_path, self.weight_schema)
        if self._pending:
            table = pa.Table.from_pandas(pd.concat(self._pending, ignore_index=True), schema=self.weight_schema,
                                         preserve_index=False)
            self._writer.write_table(table)
        self._pending, self._pending_rows = [], 0

    def close(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self._flush()
        self._writer.close()
        frame = pd.DataFrame(self._profile, columns=list(PROFILE_COLUMNS))
        pq.write_table(pa.Table.from_pandas(frame, schema=self.profile_schema, preserve_index=False),
                       self.profile_path)

    def __enter__(self) -> PanelWriter:
        return self

    def __exit__(self, *exc) -> None:
        if exc[0] is None:
            self.close()
        elif self._writer is not None:
            self._writer.close()


def panel_windows(reader, phenotypes, covariates: pd.DataFrame | None, *, window: int = 500_000,
                  maf: float = 0.0, gene_of: Callable[[str], str] | None = None) -> Iterator[PhenotypeWindow]:
    """Phenotype windows of a panel, streamed in phenotype order.

    Args:
        reader: a genotype reader (``qtlatlas.io.genotypes`` / ``genotype_set``): ``samples``, ``read``.
        phenotypes: a ``PhenotypeTable`` (values phenotypes × samples, positions, samples).
        covariates: covariates × samples (DataFrame) or None.
        window: bp on each side of the TSS (BED ``end``); maf: drop SNPs with minor-allele frequency below.
    """
    from qtlatlas.io.groups import gene_of as default_gene_of

    gene_of = gene_of or default_gene_of
    geno_samples = list(reader.samples)
    in_pheno = set(phenotypes.samples)
    in_cov = set(covariates.columns) if covariates is not None else None
    samples = [s for s in geno_samples if s in in_pheno and (in_cov is None or s in in_cov)]
    if len(samples) < 3:
        raise ValueError(f"only {len(samples)} samples are shared by the genotypes, phenotypes"
                         + (" and covariates" if covariates is not None else ""))
    pcol = {s: i for i, s in enumerate(phenotypes.samples)}
    pidx = np.array([pcol[s] for s in samples])
    cov_all = covariates.loc[:, samples].to_numpy(np.float64).T if covariates is not None else None
    pos = phenotypes.positions
    gene_col = pos["gene_id"] if "gene_id" in pos.columns else None
    for i, pid in enumerate(pos["phenotype_id"].tolist()):
        chrom = str(pos["chrom"].iat[i])
        tss = int(pos["end"].iat[i])
        region = f"{chrom}:{max(1, tss - window)}-{tss + window}"
        data = reader.read(region, samples=samples, dtype="float32")
        G = data.to_float().astype(np.float64).T
        variants = data.variants
        if maf > 0 and G.shape[1]:
            af = np.nanmean(G, axis=0) / 2.0
            ok = np.minimum(af, 1.0 - af) >= maf
            G, variants = G[:, ok], variants[ok].reset_index(drop=True)
        y = phenotypes.values[i, pidx]
        has = np.isfinite(y)
        gene = str(gene_col.iat[i]) if gene_col is not None and pd.notna(gene_col.iat[i]) else gene_of(pid)
        yield PhenotypeWindow(pid, gene, chrom, tss, G[has], variants, y[has],
                              None if cov_all is None else cov_all[has])


def fit_window(window: PhenotypeWindow, options: WeightsOptions) -> WeightsResult:
    """:func:`fit_weights` of one window; data problems (constant phenotype, too few samples) become a
    skipped result instead of an error, so that one phenotype cannot stop a panel."""
    try:
        return fit_weights(window.genotypes, window.phenotype, window.covariates, options)
    except ValueError as e:
        nan = float("nan")
        return WeightsResult(np.zeros(0, dtype=np.int64), np.zeros((0, len(options.models))), options.models,
                             nan, nan, nan, n=int(window.phenotype.shape[0]), skipped=str(e))


def _fit_window(args):
    window, options = args
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return fit_window(window, options)


def fit_panel(panel: str, windows: Iterator[PhenotypeWindow] | Sequence[PhenotypeWindow], writer: PanelWriter,
              options: WeightsOptions | None = None, *, total: int | None = None, workers: int = 1,
              progress: Callable[[str, int], Callable[[int], None]] | None = None,
              record: Callable[[PhenotypeWindow, WeightsResult | None], None] | None = None) -> PanelSummary:
    """Fit every phenotype window of a panel and hand the results to ``writer``.

    Args:
        panel: panel name written in both tables.
        windows: :class:`PhenotypeWindow` items (see :func:`panel_windows`).
        total: number of windows, for the progress display.
        workers: processes fitting phenotypes in parallel (1 = in this process).
        progress: ``progress(description, total) -> advance(k)`` (e.g. a rich progress bar).
        record: called with every window and its result, fitted or skipped (None: no SNP in the window), in
            window order (e.g. :meth:`.phenotype_stats.StatsRecorder.record`).
    """
    opt = options or WeightsOptions()
    summary = PanelSummary()
    advance = progress(f"TWAS weights {panel}", total or 0) if progress else (lambda k: None)

    def handle(window: PhenotypeWindow, res: WeightsResult | None) -> None:
        if record is not None:
            record(window, res)
        if res is None:
            summary.skip("no SNP in the window")
        elif res.skipped:
            summary.skip(res.skipped)
        else:
            writer.add(panel, window, res)
            summary.fitted += 1
            summary.n_weights += int(res.snps.size)
        advance(1)

    if workers <= 1:
        for window in windows:
            handle(window, fit_window(window, opt) if window.genotypes.shape[1] else None)
        return summary

    import concurrent.futures as cf
    import multiprocessing as mp

    with cf.ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn")) as pool:
        order: list = []  # (future or None when the window has no SNP, window), in input order
        it = iter(windows)
        done_all = False
        while True:
            while not done_all and len(order) < 2 * workers:
                try:
                    window = next(it)
                except StopIteration:
                    done_all = True
                    break
                fut = pool.submit(_fit_window, (window, opt)) if window.genotypes.shape[1] else None
                order.append((fut, window))
            if not order:
                break
            fut, window = order.pop(0)  # keep the input order in the output
            handle(window, fut.result() if fut is not None else None)
    return summary
