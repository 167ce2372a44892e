"""coloc.abf between one GWAS and every phenotype of a nominal QTL file.

Trait 1 is the GWAS, trait 2 the QTL phenotype: ``PP.H1.abf`` is the posterior of a GWAS-only signal,
``PP.H2.abf`` of a QTL-only one, ``hit1``/``hit2`` the variants with the largest Bayes factor for each.

Per phenotype:

1. its rows of the QTL file; with a window, those within ``window`` bp of the centre (a given variant, else
   the phenotype's lead: smallest p-value);
2. the QTL's ``varbeta = se²``; its ``sdY`` given, or estimated from ``varbeta``, MAF and N over these rows
   (:func:`~qtlatlas.engine.coloc.estimate_sdy`, as coloc does when ``sdY`` is not supplied);
3. the GWAS rows matched to these variants (:mod:`.match`); with effects and standard errors,
   ``varbeta = se²`` and, for a quantitative trait, ``sdY`` given or estimated over the matched rows (MAF
   from the GWAS's allele frequency, else the QTL's); with z-scores only, ``varbeta = 1 / (2 N f (1 − f))``
   and ``beta = z √varbeta`` on the standardised scale (``sdY = 1``; coloc's p-value route), f from the
   GWAS's frequency, else the QTL's; a case-control GWAS uses the prior SD 0.2 and no ``sdY``;
4. :func:`~qtlatlas.engine.coloc.combine_abf` over the variants both have (``nsnps``).

A phenotype with no shared variant (or an inestimable ``sdY``) gets its row with ``nsnps`` and empty
posteriors, and a note says why.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..engine.coloc import (
    PP_COLUMNS,
    PRIOR_P1,
    PRIOR_P2,
    PRIOR_P12,
    PRIOR_SD_CC,
    PRIOR_SD_QUANT,
    combine_abf,
    estimate_sdy,
    log_abf,
    standardised_varbeta,
)
from ..errors import ConfigError, InputFileError
from ..io.chromosomes import chrom_key
from ..io.gwas import GwasSumstats, Regions
from ..io.qtl_sumstats import QtlSumstats
from .match import VariantMatch, chrom_keys, match_variants, unique_variants

RESULT_COLUMNS = ["trait", "phenotype_id", "chrom", "start", "end", "nsnps", "hit1", "hit2", *PP_COLUMNS,
                  "qtl_nsnps", "sdY_gwas", "sdY_qtl"]
GWAS_TYPES = ("quant", "cc")


@dataclass
class AbfOptions:
    """Settings of a GWAS × QTL coloc.abf run.

    Attributes:
        p1, p2, p12: prior probability that a variant is causal for the GWAS, for the QTL, for both.
        window: half-width (bp) of the region analysed around ``center`` (None: every row of the phenotype).
        center: ``(chrom, pos)`` of the window's centre; None: each phenotype's lead QTL variant.
        n_gwas, n_qtl: sample sizes overriding the files' (None: the files').
        sdy_gwas, sdy_qtl: trait standard deviations (None: estimated).
        gwas_type: ``"quant"`` or ``"cc"`` (None: the file's study type, else quant).
        case_fraction: share of cases of a case-control GWAS given as z-scores only.
        match_by: ``"auto"``, ``"position"`` or ``"id"`` (:mod:`.match`).
    """

    p1: float = PRIOR_P1
    p2: float = PRIOR_P2
    p12: float = PRIOR_P12
    window: int | None = None
    center: tuple[str, int] | None = None
    n_gwas: float | None = None
    n_qtl: float | None = None
    sdy_gwas: float | None = None
    sdy_qtl: float | None = None
    gwas_type: str | None = None
    case_fraction: float | None = None
    match_by: str = "auto"


@dataclass
class AbfRun:
    """Result of :func:`coloc_gwas_qtl`: the table (:data:`RESULT_COLUMNS`, one row per phenotype), the
    variant matching, and notes on the choices made (sample sizes, frequencies) and phenotypes left empty."""

    table: pd.DataFrame
    match: VariantMatch
    notes: list[str] = field(default_factory=list)


def qtl_regions(qtl: QtlSumstats, options: AbfOptions) -> Regions | None:
    """The intervals of the GWAS worth reading for this QTL file: each chromosome's span of QTL rows (the
    window around a fixed centre when one is given). None when the QTL file has no positions."""
    if not qtl.has_positions:
        return None
    t = qtl.table
    if options.center is not None and options.window is not None:
        chrom, pos = options.center
        return {chrom_key(chrom): [(max(1, pos - options.window), pos + options.window)]}
    spans = t.groupby("chrom")["pos"].agg(["min", "max"])
    regions: dict[str, list[tuple[int, int]]] = {}
    for chrom, r in spans.iterrows():
        regions.setdefault(chrom_key(chrom), []).append((int(r["min"]), int(r["max"])))
    return regions


def coloc_gwas_qtl(gwas: GwasSumstats, qtl: QtlSumstats, options: AbfOptions) -> AbfRun:
    """coloc.abf of the GWAS with every phenotype of the QTL file (see the module docstring).

    Raises:
        ConfigError: a sample size needed but absent (naming the option that gives it), bad priors.
        InputFileError: the GWAS matches no QTL variant or looks like another genome build.
    """
    gwas_type = options.gwas_type or gwas.study_type or "quant"
    if gwas_type not in GWAS_TYPES:
        raise ConfigError("--gwas-type", f"must be one of {', '.join(GWAS_TYPES)}, not {gwas_type!r}")
    notes: list[str] = []
    q = qtl.table
    if options.center is not None and options.window is not None:
        c_key, c_pos = chrom_key(options.center[0]), options.center[1]
        near = (chrom_keys(q["chrom"]).to_numpy() == c_key) & (np.abs(q["pos"].to_numpy() - c_pos) <= options.window)
        q = q.loc[near].reset_index(drop=True)
        if q.empty:
            raise InputFileError(qtl.path, f"has no variant within {options.window:,} bp of "
                                           f"{options.center[0]}:{options.center[1]}")
    n_qtl = _qtl_sample_size(qtl, q, options, notes)
    variants, variant_of_row = unique_variants(q)
    match = match_variants(gwas, variants, options.match_by, qtl_path=qtl.path)
    notes.append(match.summary())
    side = _GwasSide(gwas, match, options, gwas_type, notes)
    arrays = _QtlArrays.of(q, variant_of_row, n_qtl)
    by_phenotype = q.groupby("phenotype_id", sort=False).indices
    rows_out = []
    empty: dict[str, list[str]] = {}
    for pheno in qtl.phenotypes:
        rows = _window_rows(by_phenotype.get(pheno, np.zeros(0, dtype=np.int64)), arrays, options)
        record = _phenotype(gwas.trait, str(pheno), rows, arrays, side, options)
        if record["nsnps"] == 0 or not np.isfinite(record["PP.H4.abf"]):
            reason = "no variant shared with the GWAS" if record["nsnps"] == 0 else "sdY not estimable"
            empty.setdefault(reason, []).append(str(pheno))
        rows_out.append(record)
    for reason, phenos in empty.items():
        notes.append(f"{len(phenos):,} phenotype(s) without posteriors ({reason}): {', '.join(phenos[:5])}"
                     f"{' …' if len(phenos) > 5 else ''}")
    table = pd.DataFrame(rows_out, columns=RESULT_COLUMNS).astype(
        {"start": "Int64", "end": "Int64", "nsnps": np.int64, "qtl_nsnps": np.int64})
    return AbfRun(table=table, match=match, notes=notes)


class _GwasSide:
    """The GWAS statistics on the distinct QTL variants (NaN where unmatched), and how to turn them into Bayes
    factors."""

    def __init__(self, gwas: GwasSumstats, match: VariantMatch, options: AbfOptions, gwas_type: str,
                 notes: list[str]):
        t = gwas.table
        rows = match.gwas_row
        hit = rows >= 0

        def on_variants(column: str) -> np.ndarray:
            out = np.full(len(rows), np.nan)
            out[hit] = t[column].to_numpy(dtype=np.float64)[rows[hit]]
            return out

        sign = match.sign.astype(np.float64)
        self.matched = hit
        self.beta = on_variants("beta") * sign
        self.se = on_variants("se")
        self.z = on_variants("z") * sign
        self.af = on_variants("af")
        self.type = gwas_type
        self.z_only = not gwas.has_beta
        self.prior_sd = PRIOR_SD_CC if gwas_type == "cc" else PRIOR_SD_QUANT
        self.sdy = options.sdy_gwas
        self.case_fraction = options.case_fraction if options.case_fraction is not None else gwas.case_fraction
        needs_n = (self.z_only or (gwas_type == "quant" and self.sdy is None))
        if options.n_gwas is not None:
            self.n = np.full(len(rows), float(options.n_gwas))
            n_said = f"N = {options.n_gwas:g} (--n-gwas)"
        else:
            self.n = on_variants("n")
            n_said = f"N from {gwas.n_source}" if gwas.n_source else ""
            if needs_n and not np.isfinite(self.n[hit]).all():
                why = "z-scores only" if self.z_only else "sdY to estimate"
                raise ConfigError("--n-gwas", f"{gwas.path} gives no sample size for every variant and coloc needs "
                                              f"one ({why}); give --n-gwas")
        if self.z_only and gwas_type == "cc" and self.case_fraction is None:
            raise ConfigError("--case-fraction", f"{gwas.path} is a case-control GWAS with z-scores only: coloc "
                                                 "needs the share of cases")
        freq = "the GWAS's allele frequencies" if np.isfinite(self.af[hit]).all() else \
            "the GWAS's allele frequencies where given, else the QTL's" if np.isfinite(self.af[hit]).any() else \
            "the QTL's allele frequencies"
        if self.z_only:
            notes.append(f"GWAS: z-scores only; varbeta = 1/(2·N·f·(1−f)) on the standardised scale (sdY = 1), "
                         f"{n_said}, f from {freq}")
        elif gwas_type == "cc":
            notes.append("GWAS: case-control, effects as log odds ratios with prior SD 0.2")
        elif self.sdy is None:
            notes.append(f"GWAS: sdY estimated per phenotype from varbeta, MAF and N ({n_said}, MAF from {freq})")

    def log_abf(self, v: np.ndarray, qtl_maf: np.ndarray) -> tuple[np.ndarray, float]:
        """Log Bayes factors at the distinct variants ``v`` (all matched), ``(len(v),)`` (NaN where not
        computable), and the ``sdY`` used."""
        f = np.where(np.isfinite(self.af[v]), self.af[v], qtl_maf)
        if self.z_only:
            varbeta = standardised_varbeta(f, self.n[v], self.case_fraction if self.type == "cc" else None)
            return log_abf(self.z[v] * np.sqrt(varbeta), varbeta, 1.0, self.prior_sd), 1.0
        varbeta = self.se[v] ** 2
        if self.type == "cc":
            sdy = 1.0
        else:
            sdy = self.sdy if self.sdy is not None else estimate_sdy(varbeta, f, self.n[v])
        return log_abf(self.beta[v], varbeta, sdy, self.prior_sd), sdy


def _qtl_sample_size(qtl: QtlSumstats, q: pd.DataFrame, options: AbfOptions, notes: list[str]) -> np.ndarray | None:
    """Sample sizes of the rows of ``q`` (the QTL table's rows analysed) ``(len(q),)``, or None when ``sdY``
    is given and N is not needed."""
    rows = len(q)
    if options.n_qtl is not None:
        notes.append(f"QTL: N = {options.n_qtl:g} (--n-qtl)")
        return np.full(rows, float(options.n_qtl))
    if options.sdy_qtl is not None:
        return None
    if qtl.n_problem:
        raise ConfigError("--n-qtl", f"{qtl.path}: {qtl.n_problem}; give the QTL sample size with --n-qtl")
    n = q["n"].to_numpy(dtype=np.float64)
    if rows and np.isfinite(n).all():
        notes.append("QTL: N = an / 2 of each row")
        return n
    if qtl.n_inferred:
        notes.append(f"QTL: N = {qtl.n_inferred:g}, inferred from ma_count / (2·MAF) (give --n-qtl to set it)")
        return np.full(rows, qtl.n_inferred)
    raise ConfigError("--n-qtl", f"{qtl.path} gives no sample size (an, or ma_count to infer it) and coloc needs "
                                 "one to estimate the phenotype's sdY; give --n-qtl (or --sdy-qtl)")


@dataclass
class _QtlArrays:
    """The QTL table's columns as arrays ``(n_rows,)``, taken once for the per-phenotype loop."""

    pos: np.ndarray
    chrom: np.ndarray
    chrom_key: np.ndarray
    variant_id: np.ndarray
    beta: np.ndarray
    varbeta: np.ndarray
    maf: np.ndarray
    p: np.ndarray
    z2: np.ndarray
    n: np.ndarray | None
    variant_of_row: np.ndarray

    @classmethod
    def of(cls, q: pd.DataFrame, variant_of_row: np.ndarray, n: np.ndarray | None) -> _QtlArrays:
        chrom = q["chrom"].to_numpy(dtype=object)
        beta, se = q["beta"].to_numpy(dtype=np.float64), q["se"].to_numpy(dtype=np.float64)
        return cls(pos=q["pos"].to_numpy(dtype=np.int64), chrom=chrom,
                   chrom_key=chrom_keys(chrom).to_numpy(dtype=object),
                   variant_id=q["variant_id"].to_numpy(dtype=object), beta=beta, varbeta=se * se,
                   maf=q["maf"].to_numpy(dtype=np.float64), p=q["p"].to_numpy(dtype=np.float64),
                   z2=(beta / se) ** 2, n=n, variant_of_row=variant_of_row)


def _window_rows(rows: np.ndarray, a: _QtlArrays, options: AbfOptions) -> np.ndarray:
    """The phenotype's rows within the window (all of them without one)."""
    if options.window is None or len(rows) == 0:
        return rows
    if options.center is not None:
        c_key, c_pos = chrom_key(options.center[0]), options.center[1]
    else:
        score = np.where(np.isfinite(a.p[rows]), -a.p[rows], -np.inf)
        lead = rows[int(np.lexsort((-a.z2[rows], -score))[0])]  # smallest p, then largest |z|
        c_key, c_pos = a.chrom_key[lead], a.pos[lead]
    keep = (a.chrom_key[rows] == c_key) & (np.abs(a.pos[rows] - c_pos) <= options.window)
    return rows[keep]


def _phenotype(trait: str, pheno: str, rows: np.ndarray, a: _QtlArrays, side: _GwasSide,
               options: AbfOptions) -> dict:
    """One output row: coloc.abf of the GWAS with one phenotype over ``rows`` of the QTL table."""
    record = dict.fromkeys(RESULT_COLUMNS)
    record.update(trait=trait, phenotype_id=pheno, nsnps=0, qtl_nsnps=len(rows), hit1="", hit2="")
    record.update({c: math.nan for c in (*PP_COLUMNS, "sdY_gwas", "sdY_qtl")})
    if len(rows) == 0:
        return record
    pos = a.pos[rows]
    record.update(chrom=",".join(map(str, pd.unique(a.chrom[rows]))), start=int(pos.min()), end=int(pos.max()))
    if options.window is not None and options.center is not None:
        record.update(start=max(1, options.center[1] - options.window), end=options.center[1] + options.window)
    beta, varbeta, maf = a.beta[rows], a.varbeta[rows], a.maf[rows]
    sdy_q = options.sdy_qtl if options.sdy_qtl is not None else estimate_sdy(varbeta, maf, a.n[rows])
    record["sdY_qtl"] = sdy_q
    v = a.variant_of_row[rows]
    shared = np.flatnonzero(side.matched[v])
    if len(shared) == 0:
        return record
    l1, sdy_g = side.log_abf(v[shared], maf[shared])
    record["sdY_gwas"] = sdy_g
    ok = np.isfinite(l1)
    shared, l1 = shared[ok], l1[ok]
    record["nsnps"] = len(shared)
    if len(shared) == 0 or not (np.isfinite(sdy_q) and np.isfinite(sdy_g)):
        return record
    l2 = log_abf(beta[shared], varbeta[shared], sdy_q, PRIOR_SD_QUANT)
    pp = combine_abf(l1, l2, options.p1, options.p2, options.p12)
    ids = a.variant_id[rows][shared]
    record.update(dict(zip(PP_COLUMNS, pp.tolist(), strict=True)))
    record.update(hit1=str(ids[int(np.argmax(l1))]), hit2=str(ids[int(np.argmax(l2))]))
    return record
