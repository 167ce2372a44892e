"""The TWAS steps of a release as pipeline task functions (see :mod:`qtlatlas.pipeline.plan`).

Per tissue × modality, :func:`weights` fits the expression models of every heritable phenotype (FUSION
``compute_weights``) into a Parquet weights panel; per trait, :func:`assoc` tests every model of every
panel against the trait's GWAS (FUSION ``assoc_test``) and :func:`post` groups the hits into loci with
joint/conditional tests, conditional GWAS and an omnibus test per gene (FUSION ``post_process``).

Conventions are those of :mod:`qtlatlas.pipeline.qtl_tasks`: each function is called as
``f(outputs=..., threads=..., version=..., **params)``, reads the files named in ``params`` and writes
each output to the temporary path ``outputs[name]`` that the runner moves into place. Outputs are
deterministic (seeded, no timestamps). File layouts are those of :mod:`qtlatlas.results`.

The LD reference of the association is ``twas.ld_reference`` (PLINK prefixes) or, when none is given, the
release genotypes (VCF, BCF, PLINK 1 or 2): any source :func:`qtlatlas.io.genotype_set.open_genotype_files`
opens, read one chromosome at a time.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputFileError, QtlAtlasError, SampleMismatchError
from ..io.chromosomes import chrom_key, chrom_sort_key
from ..io.covariates import read_covariates
from ..io.genotype_set import open_genotype_files
from ..io.groups import gene_of, read_groups
from ..io.phenotypes import read_phenotype_bed
from ..io.sumstats import read_sumstats
from ..results import TWAS_PANEL_SUMMARY, TWAS_POST_FILES
from ..twas.align import align_gwas, matched_gwas
from ..twas.assoc import COLOC_COLUMNS, DAT_COLUMNS, PERM_COLUMNS, AssocOptions, associate, base_row
from ..twas.fusion_io import WEIGHTS_FILE, TwasModel, read_parquet_panel
from ..twas.ld import LdReference
from ..twas.loci import bonferroni_z
from ..twas.omnibus import OMNIBUS_COLUMNS, omnibus_by_gene
from ..twas.postprocess import PostOptions, options_summary, post_process

#: Columns added before FUSION's ``.dat`` columns in an association table.
ASSOC_KEYS = ("tissue", "modality", "phenotype_id", "gene_id")
#: Columns of ``loci.parquet``.
LOCUS_COLUMNS = ("locus", "chrom", "chrom_locus", "start", "end", "p0", "p1", "n_models", "n_genes",
                 "n_joint_models", "n_joint_genes", "best_twas_p", "best_snp_p", "cond_snp_p", "var_exp",
                 "lead_snp", "lead_cond_status", "best_cond_snp", "best_cond_p", "n_explained", "n_unstable",
                 "gene_ids", "joint_gene_ids")
#: Columns of ``locus_models.parquet``.
LOCUS_MODEL_COLUMNS = ("locus", "panel", "phenotype_id", "gene_id", "joint", "joint_z", "joint_p", "cond_z",
                       "cond_p", "cond_r2", "cond_status", "top_snp_cor")
#: Columns of ``locus_gwas.parquet``.
LOCUS_GWAS_COLUMNS = ("locus", "variant_id", "chrom", "pos", "gwas_z", "gwas_p", "cond_z", "cond_p", "cond_r2",
                      "cond_status")


def _write_parquet(frame: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    frame.reset_index(drop=True).to_parquet(path, index=False)


def _write_json(record: dict, path: str | os.PathLike[str]) -> None:
    Path(path).write_text(json.dumps(record, indent=1, sort_keys=True, allow_nan=False) + "\n")


def _finite(x: float) -> float | None:
    return float(x) if x is not None and math.isfinite(x) else None


# ----------------------------------------------------------------------------------------------------------
# Weights
# ----------------------------------------------------------------------------------------------------------


def _gene_lookup(groups: str | None):
    """``phenotype_id -> gene_id``: the group file's gene when given, else the part before ``__``."""
    if not groups:
        return gene_of
    mapping = read_groups(groups)
    return lambda pid: str(mapping.get(pid, gene_of(pid)))


def weights(outputs: dict[str, str], threads: int, panel: str, tissue: str, modality: str, phenotypes: str,
            covariates: str | None, groups: str | None, genotypes: list[str], window: int, models: list[str],
            crossval: int, hsq_p: float, seed: int, version: str = "") -> None:
    """Weights panel of one tissue × modality (directory output ``panel``).

    Reads the normalised phenotypes and covariates of the mapping (samples shared with the genotypes), fits
    every phenotype whose cis-heritability p-value (REML, SNPs within ``window`` bp of the TSS) is at most
    ``hsq_p`` with the ``models`` (FUSION's top1/lasso/enet/blup, ``crossval``-fold cross-validation, seeded
    with ``seed``), and writes ``twas_weights.parquet``, ``twas_profile.parquet`` (panel id ``panel``),
    ``twas_stats.parquet`` (h² and skip reason of every phenotype, :mod:`qtlatlas.twas.phenotype_stats`) and
    ``summary.json`` (phenotypes fitted, and skipped by reason).
    """
    import multiprocessing

    from ..twas.phenotype_stats import StatsRecorder
    from ..twas.weights import PanelWriter, WeightsOptions, fit_panel, panel_windows

    out = Path(outputs["panel"])
    table = read_phenotype_bed(phenotypes)
    cov = read_covariates(covariates, allow_empty=True) if covariates else None
    if cov is not None and cov.empty:  # mapped without covariates
        cov = None
    reader = open_genotype_files(genotypes)
    options = WeightsOptions(models=tuple(models), crossval=int(crossval), hsq_p=float(hsq_p), seed=int(seed),
                             lasso_seed=int(seed))
    try:
        windows = panel_windows(reader, table, cov, window=int(window), gene_of=_gene_lookup(groups))
        first = next(windows, None)
    except ValueError as e:  # too few samples shared by genotypes, phenotypes and covariates
        raise SampleMismatchError(f"{phenotypes}: {e}") from None

    def stream():
        if first is not None:
            yield first
        yield from windows

    # worker processes of their own only where this process may start them (not inside a daemon worker)
    workers = max(1, threads) if not multiprocessing.current_process().daemon else 1
    stats = StatsRecorder(panel)
    with PanelWriter(out) as writer:
        summary = fit_panel(panel, stream(), writer, options, total=len(table.phenotype_ids), workers=workers,
                            record=stats.record)
    stats.write(out)
    _write_json({"panel": panel, "tissue": tissue, "modality": modality, "phenotypes": len(table.phenotype_ids),
                 "fitted": int(summary.fitted), "n_weights": int(summary.n_weights),
                 "skipped": dict(sorted(summary.skipped.items())), "window": int(window),
                 "models": list(options.models), "crossval": int(crossval), "hsq_p": float(hsq_p)},
                out / TWAS_PANEL_SUMMARY)


# ----------------------------------------------------------------------------------------------------------
# LD reference and models
# ----------------------------------------------------------------------------------------------------------


def load_ld_reference(sources: Sequence[str], chrom: str) -> LdReference:
    """The LD reference of chromosome ``chrom`` (matched by :func:`chrom_key`, so ``chr1`` finds ``1``) from
    genotype files or PLINK prefixes ``sources``; A1 = the counted (ALT) allele.

    Raises:
        InputFileError: the sources hold no variant of that chromosome.
    """
    reader = open_genotype_files(list(sources))
    names = [c for c in reader.chromosomes() if chrom_key(c) == chrom_key(chrom)]
    if not names:
        raise InputFileError(", ".join(sources), f"the LD reference has no variant on chromosome {chrom} "
                                                 f"(chromosomes: {', '.join(reader.chromosomes())})")
    data = reader.read(names[0])
    v = data.variants
    variants = pd.DataFrame({"chrom": v["chrom"].astype(str).to_numpy(), "pos": v["pos"].to_numpy(np.int64),
                             "snp": v["id"].astype(str).to_numpy(), "a1": v["alt"].astype(str).str.upper().to_numpy(),
                             "a2": v["ref"].astype(str).str.upper().to_numpy()})
    return LdReference(data.dosages, variants, path=", ".join(sources))


def read_panels(panels: Sequence[dict]) -> list[TwasModel]:
    """Every model of the panels (``[{"panel", "path", ...}]``), in panel order then profile order."""
    out: list[TwasModel] = []
    for p in panels:
        models = read_parquet_panel(p["path"])
        wrong = [m for m in models if m.panel != p["panel"]]
        if wrong:
            raise InputFileError(p["path"], f"holds panel {wrong[0].panel!r}, expected {p['panel']!r}")
        out += models
    return out


def _by_chromosome(chroms: Sequence[str]) -> list[tuple[str, list[int]]]:
    """``(chromosome as first spelled, row indices)`` per chromosome, in natural chromosome order."""
    groups: dict[str, list[int]] = {}
    first: dict[str, str] = {}
    for i, c in enumerate(chroms):
        key = chrom_key(str(c))
        groups.setdefault(key, []).append(i)
        first.setdefault(key, str(c))
    return [(first[k], groups[k]) for k in sorted(groups, key=chrom_sort_key)]


# ----------------------------------------------------------------------------------------------------------
# Association
# ----------------------------------------------------------------------------------------------------------


def model_file(phenotype_id: str) -> str:
    """The ``FILE`` of a model in a work-directory association table: its panel's weights table (the release's
    FUSION ``.dat`` download names the ``.wgt.RDat`` file instead)."""
    return f"{WEIGHTS_FILE}#{phenotype_id}"


def association_columns(coloc: bool, perm: bool) -> list[str]:
    """Columns of an association table: :data:`ASSOC_KEYS`, FUSION's ``.dat`` columns (+ coloc, permutation
    columns) and ``skip_reason``."""
    return [*ASSOC_KEYS, *DAT_COLUMNS, *(COLOC_COLUMNS if coloc else ()), *(PERM_COLUMNS if perm else ()),
            "skip_reason"]


def _untested_row(model: TwasModel, tissue: str, modality: str, columns: list[str], reason: str) -> dict:
    """The row of a model the association could not test: what identifies it, every statistic missing."""
    row = dict.fromkeys(columns, math.nan)
    row.update(base_row(model, None))
    row.update({"tissue": tissue, "modality": modality, "phenotype_id": model.phenotype_id, "gene_id": model.gene_id,
                "skip_reason": reason})
    return row


def associate_trait(models: Sequence[TwasModel], panel_info: dict[str, tuple[str, str]], sumstats: pd.DataFrame,
                    sumstats_path: str, ld_sources: Sequence[str], options: AssocOptions) -> pd.DataFrame:
    """Association rows of every model (in input order) with one trait, chromosome by chromosome.

    ``panel_info`` maps a panel id to its (tissue, modality). Returns :func:`association_columns` rows.
    Models on a chromosome that the LD reference or the GWAS lacks are kept untested (NA statistics,
    ``skip_reason`` says why).

    Raises:
        InputFileError: no chromosome of the models is in the LD reference, or no GWAS SNP id matches the
            reference on any of them (the wrong file, or ids of another kind).
    """
    columns = association_columns(options.coloc_p is not None, options.perm > 0)
    rows: list[dict | None] = [None] * len(models)
    ld_errors: list[InputFileError] = []
    unmatched: list[str] = []
    for chrom, idx in _by_chromosome([m.chrom for m in models]):
        try:
            ld = load_ld_reference(ld_sources, chrom)
        except InputFileError as e:
            ld_errors.append(e)
            reason = f"no LD reference on chromosome {chrom}"
        else:
            gwas = align_gwas(sumstats, ld.variants, "id")
            if gwas.n_matched:
                result = associate([models[i] for i in idx], gwas, ld, options)
                reasons = dict(result.skipped)
                for j, row in enumerate(result.table.to_dict("records")):
                    m = models[idx[j]]
                    tissue, modality = panel_info[m.panel]
                    rows[idx[j]] = {"tissue": tissue, "modality": modality, "phenotype_id": m.phenotype_id,
                                    "gene_id": m.gene_id, **row, "skip_reason": reasons.get(j)}
                continue
            unmatched.append(chrom)
            reason = f"no GWAS SNP matches the LD reference on chromosome {chrom}"
        for i in idx:
            rows[i] = _untested_row(models[i], *panel_info[models[i].panel], columns, reason)
    n_chroms = len(_by_chromosome([m.chrom for m in models]))
    if n_chroms and len(ld_errors) == n_chroms:
        raise ld_errors[0]
    if n_chroms and len(ld_errors) + len(unmatched) == n_chroms:
        raise InputFileError(sumstats_path, f"no SNP id matches the LD reference ({', '.join(ld_sources)}) on "
                                            f"chromosome(s) {', '.join(unmatched)}")
    table = pd.DataFrame([r for r in rows if r is not None], columns=columns)
    for col in ("NSNP", "NWGT", "PERM.N"):
        if col in table:
            table[col] = pd.array(table[col], dtype="Int64")
    for col in ("P0", "P1"):
        table[col] = table[col].astype(np.int64)
    return table


def assoc(outputs: dict[str, str], threads: int, trait: str, sumstats: str, gwas_n: int, panels: list[dict],
          ld_reference: list[str], coloc_p: float | None, perm: int, seed: int, version: str = "") -> None:
    """Association of every model of every panel with one trait (output ``assoc``, Parquet).

    ``panels``: ``[{"panel", "tissue", "modality", "path"}]``; ``ld_reference``: the LD reference sources.
    coloc (PP0–PP4) runs for models with TWAS p below ``coloc_p`` (None: never), with the trait's GWAS sample
    size ``gwas_n``; ``perm`` permutations per model (0: none), seeded with ``seed``.
    """
    stats = read_sumstats(sumstats)
    models = read_panels(panels)
    info = {p["panel"]: (p["tissue"], p["modality"]) for p in panels}
    options = AssocOptions(coloc_p=coloc_p, gwas_n=int(gwas_n), perm=int(perm), seed=int(seed))
    table = associate_trait(models, info, stats, sumstats, ld_reference, options)
    # FILE names the model's weights relative to the panels' directory, not where this run's work directory
    # happens to be: the output depends on the inputs' content only (resumed and moved runs are identical)
    table["FILE"] = [f"{panel}/{model_file(phenotype)}" for panel, phenotype
                     in zip(table["PANEL"].astype(str), table["ID"].astype(str), strict=True)]
    _write_parquet(table, outputs["assoc"])


# ----------------------------------------------------------------------------------------------------------
# Post-processing
# ----------------------------------------------------------------------------------------------------------


def post_process_trait(numbers: pd.DataFrame, models: Sequence[TwasModel | None], sumstats: pd.DataFrame,
                       sumstats_path: str, ld_sources: Sequence[str], options: PostOptions,
                       ) -> tuple[dict[str, pd.DataFrame], dict]:
    """Loci, locus models, locus GWAS and omnibus tables of one trait, and its summary.

    ``numbers``: the association table (numeric FUSION columns); ``models[i]``: the weights of row ``i``
    (None for rows without a tested model). Loci are numbered 1.. in genome order over all chromosomes
    (``chrom_locus`` keeps FUSION's per-chromosome number); the Bonferroni threshold counts every model
    tested for the trait.
    """
    p = numbers["TWAS.P"].to_numpy(np.float64)
    tested = np.flatnonzero(~np.isnan(p))
    n_tests = int(len(tested))
    zthresh = bonferroni_z(n_tests) if n_tests else math.inf
    loci, members, snps, omni = [], [], [], []
    n_runs, n_ref = 0, None
    for chrom, idx in _by_chromosome(numbers["CHR"].astype(str).iloc[tested].tolist()):
        rows = tested[idx]
        ld = load_ld_reference(ld_sources, chrom)
        n_ref = ld.n_samples
        gwas = matched_gwas(sumstats, ld, "id", sumstats_path)
        result = post_process(numbers, models, gwas, ld, options, chrom=chrom)
        n_runs += result.n_runs
        for locus in result.loci:
            number = len(loci) + 1
            locus_rows = result.rows[locus.models]
            genes = [models[i].gene_id for i in locus_rows]
            joint_genes = sorted({g for g, j in zip(genes, locus.joint, strict=True) if j})
            rep = locus.report
            status = locus.snps["COND.STATUS"]
            loci.append({"locus": number, "chrom": chrom, "chrom_locus": int(locus.number), "start": int(locus.start),
                         "end": int(locus.end), "p0": int(rep["P0"]), "p1": int(rep["P1"]),
                         "n_models": len(locus_rows), "n_genes": len(set(genes)),
                         "n_joint_models": int(locus.joint.sum()), "n_joint_genes": len(joint_genes),
                         "best_twas_p": rep["BEST.TWAS.P"], "best_snp_p": rep["BEST.SNP.P"],
                         "cond_snp_p": rep["COND.SNP.P"], "var_exp": rep["VAR.EXP"], "lead_snp": rep["LEAD.SNP"],
                         "lead_cond_status": rep["LEAD.STATUS"], "best_cond_snp": rep["BEST.COND.SNP"] or None,
                         "best_cond_p": rep["BEST.COND.P"], "n_explained": int((status == "explained").sum()),
                         "n_unstable": int((status == "unstable").sum()),
                         "gene_ids": ",".join(sorted(set(genes))), "joint_gene_ids": ",".join(joint_genes)})
            est = locus.estimates
            members.append(pd.DataFrame({
                "locus": number, "panel": numbers["PANEL"].iloc[locus_rows].astype(str).to_numpy(),
                "phenotype_id": numbers["ID"].iloc[locus_rows].astype(str).to_numpy(), "gene_id": genes,
                "joint": locus.joint.astype(bool), **{c: est[c].to_numpy(np.float64) for c in
                                                      ("joint_z", "joint_p", "cond_z", "cond_p", "cond_r2")},
                "cond_status": est["cond_status"].astype(str).to_numpy(),
                "top_snp_cor": np.asarray(locus.top_snp_cor, np.float64)}))
            s = locus.snps
            snps.append(pd.DataFrame({"locus": number, "variant_id": s["SNP"].astype(str).to_numpy(), "chrom": chrom,
                                      "pos": s["POS"].to_numpy(np.int64), "gwas_z": s["GWAS.Z"].to_numpy(np.float64),
                                      "gwas_p": s["GWAS.P"].to_numpy(np.float64),
                                      "cond_z": s["GWAS_cond.Z"].to_numpy(np.float64),
                                      "cond_p": s["GWAS_cond.P"].to_numpy(np.float64),
                                      "cond_r2": s["COND.R2"].to_numpy(np.float64),
                                      "cond_status": s["COND.STATUS"].astype(str).to_numpy()}))
        part = omnibus_by_gene(numbers.iloc[rows].reset_index(drop=True), [models[i] for i in rows], gwas, ld,
                               options.max_r2)
        omni.append(part)
    tables = {
        "loci": pd.DataFrame(loci, columns=list(LOCUS_COLUMNS)),
        "locus_models": _concat(members, LOCUS_MODEL_COLUMNS),
        "locus_gwas": _concat(snps, LOCUS_GWAS_COLUMNS),
        "omnibus": _omnibus_table(omni),
    }
    n_sig = int(np.sum(np.abs(numbers["TWAS.Z"].to_numpy(np.float64)[tested]) > zthresh)) if n_tests else 0
    summary = {"n_models": int(len(numbers)), "n_tests": n_tests, "n_untested": int(len(numbers) - n_tests),
               "zthresh": _finite(zthresh), "bonferroni_p": 0.05 / n_tests if n_tests else None,
               "n_significant": n_sig, "n_runs": int(n_runs), "n_loci": len(loci), "n_ref": n_ref,
               "n_joint_genes": len({g for r in loci for g in r["joint_gene_ids"].split(",") if g})}
    return tables, summary


def _concat(frames: list[pd.DataFrame], columns: Sequence[str]) -> pd.DataFrame:
    if not frames:
        return pd.DataFrame(columns=list(columns))
    return pd.concat(frames, ignore_index=True)[list(columns)]


def _omnibus_table(parts: list[pd.DataFrame]) -> pd.DataFrame:
    names = {"GENE": "gene_id", "NUM.MODELS": "n_models", "MIN.TWAS.P": "min_twas_p", "RANK": "rank",
             "CHISQ": "chisq", "OMNIBUS.P": "omnibus_p"}
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=list(OMNIBUS_COLUMNS))
    return frame.rename(columns=names)[list(names.values())]


def read_association_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """An association table written by :func:`assoc`, with FUSION's numeric columns as float64.

    Raises:
        InputFileError: missing file or columns.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise InputFileError(path, "TWAS association table not found")
    table = pd.read_parquet(path)
    missing = [c for c in (*ASSOC_KEYS, "PANEL", "ID", "CHR", "P0", "P1", "MODEL", "TWAS.Z", "TWAS.P")
               if c not in table.columns]
    if missing:
        raise InputFileError(path, f"lacks column(s) {', '.join(missing)}: not a TWAS association table")
    for col in ("TWAS.Z", "TWAS.P", "P0", "P1"):
        table[col] = pd.to_numeric(table[col]).astype(np.float64)
    return table


def post(outputs: dict[str, str], threads: int, trait: str, sumstats: str, assoc: str, panels: list[dict],
         ld_reference: list[str], locus_window: int, locus_stability: bool = True, significant_only: bool = True,
         guard: bool = True, version: str = "") -> None:
    """Loci, joint/conditional tests, conditional GWAS and omnibus tests of one trait (directory output
    ``post``, files :data:`qtlatlas.results.TWAS_POST_FILES`).

    ``significant_only``: the loci are those of the models above the trait's Bonferroni threshold (FUSION's
    documented workflow); ``guard``: the guarded conditional analysis (:class:`qtlatlas.twas.conditional.Guard`)
    rather than FUSION's. ``locus_stability`` drops, inside each locus too, models whose conditional z² grows
    past their marginal z² by more than 1.96² (FUSION applies this check chromosome-wide only). Without it, a
    locus of many models whose LD comes from a small reference panel lets near-collinear models enter the
    joint model with conditional z-scores in the hundreds; with it, the joint models are the few that explain
    the locus. The options used are recorded in ``summary.json`` (``analysis``)."""
    numbers = read_association_table(assoc)
    by_key = {(m.panel, m.phenotype_id): m for m in read_panels(panels)}
    models: list[TwasModel | None] = []
    for panel, pid, pval in zip(numbers["PANEL"].astype(str), numbers["ID"].astype(str), numbers["TWAS.P"],
                                strict=True):
        model = by_key.get((panel, pid))
        if model is None and not math.isnan(pval):
            raise QtlAtlasError(f"{assoc}: model {pid!r} of panel {panel!r} is not in the weights panels; "
                                "the association is older than the panels (run again)")
        models.append(model)
    stats = read_sumstats(sumstats)
    base = PostOptions() if guard else PostOptions.fusion()
    options = replace(base, locus_win=int(locus_window), locus_stability=bool(locus_stability),
                      significant_only=bool(significant_only))
    tables, summary = post_process_trait(numbers, models, stats, sumstats, ld_reference, options)
    out = Path(outputs["post"])
    for name, frame in tables.items():
        _write_parquet(frame, out / TWAS_POST_FILES[name])
    _write_json({"trait": trait, **summary, "locus_window": int(locus_window), "locus_stability": bool(locus_stability),
                 "analysis": options_summary(options)}, out / TWAS_POST_FILES["summary"])
