"""TWAS tables and downloads of a release, from the TWAS work files (:class:`qtlatlas.results.TwasResultFiles`).

Query tables (``tables/``, names in :data:`qtlatlas.release.layout.TABLES`), in their sort orders:

* ``twas_panels`` (panel): ``panel, tissue, modality, n_phenotypes, n_models, n_genes, n_weights, n_samples,
  mean_hsq, window, crossval, hsq_p``: one row per weights panel (tissue × modality);
* ``twas_models`` (gene_id, panel, phenotype_id): the panels' profile rows (h², its SE and p-value, CV R² and
  p-value per model, best model) + ``tissue, modality, gene_name``;
* ``twas_weights`` (panel, phenotype_id, pos): every weight (panel format: one row per phenotype × SNP);
* ``twas_traits`` (id): ``id, name, n, project, tags, description, sumstats`` (atlas.yaml) and
  ``n_models, n_tested, n_significant, n_genes, n_loci, n_joint_genes, bonferroni_p, zthresh``;
* ``twas_associations`` (trait, chrom, p0, panel, phenotype_id): every model × trait with FUSION's ``.dat``
  values in snake case (:data:`DAT_NAMES`), ``skip_reason``, ``significant`` (``|twas_z| > zthresh``),
  ``weak_model`` (``model_cv_r2 <`` :data:`WEAK_CV_R2`), and for models in an analysed locus ``locus, joint,
  joint_z, joint_p, cond_z, cond_p, cond_r2, cond_status, top_snp_cor`` (``cond_status``: ``joint``, ``tested``,
  ``explained``, ``unstable``, … see :mod:`qtlatlas.twas.conditional`);
* ``twas_loci`` (trait, locus): analysed loci with their genes (ids and names), the lead SNP and its
  conditional status, the SNP with the smallest conditional p (``best_cond_snp``, ``best_cond_p``: what the
  locus plot's conditional minimum is) and the SNPs left without a statistic (``n_explained``, ``n_unstable``);
* ``twas_locus_gwas`` (trait, locus, pos): per locus SNP the marginal and conditional GWAS z, the variance the
  joint models explain (``cond_r2``) and the status of the conditional statistic (``cond_status``);
* ``twas_omnibus`` (trait, gene_id): omnibus test per gene with several models.

Downloads: per trait the FUSION ``.dat`` (``twas_assoc``), per panel the FUSION ``.pos`` (``twas_pos``) and
its ``.wgt.RDat`` files in a tar.gz (``twas_weights``): see :mod:`qtlatlas.release.twas_downloads`.

Methods metadata: ``twas.json`` (:data:`qtlatlas.release.layout.TWAS_JSON`, :func:`methods_metadata`): the
settings the TWAS ran with (weights, LD reference, association and imputation, coloc priors, loci and the
conditional analysis, the weak-model floor), read by the hub's Methods page.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import Atlas, Release
from ..errors import QtlAtlasError
from ..results import (
    TWAS_PANEL_SUMMARY,
    TWAS_POST_FILES,
    ResultFiles,
    TwasResultFiles,
    twas_directory,
    twas_panel_id,
    twas_selection,
)
from ..twas.assoc import COLOC_COLUMNS, DAT_COLUMNS, PERM_COLUMNS
from ..twas.coloc import PRIOR_P1, PRIOR_P2, PRIOR_P12, PRIOR_SD_QUANT
from ..twas.fusion_io import PROFILE_FILE, WEIGHTS_FILE
from ..twas.impute import DEFAULT_LAMBDA, DEFAULT_MAX_IMPUTE, DEFAULT_MIN_R2PRED
from . import layout
from .metadata import write_json
from .tables import sort_by, write_table
from .twas_downloads import write_pos, write_trait_dat, write_weights_archive

#: FUSION ``.dat`` column -> column of ``twas_associations``.
DAT_NAMES = {
    "PANEL": "panel", "CHR": "chrom", "P0": "p0", "P1": "p1", "HSQ": "hsq", "BEST.GWAS.ID": "best_gwas_id",
    "BEST.GWAS.Z": "best_gwas_z", "EQTL.ID": "eqtl_id", "EQTL.R2": "eqtl_r2", "EQTL.Z": "eqtl_z",
    "EQTL.GWAS.Z": "eqtl_gwas_z", "NSNP": "nsnp", "NWGT": "nwgt", "MODEL": "model", "MODELCV.R2": "model_cv_r2",
    "MODELCV.PV": "model_cv_pval", "TWAS.Z": "twas_z", "TWAS.P": "twas_p", "COLOC.PP0": "coloc_pp0",
    "COLOC.PP1": "coloc_pp1", "COLOC.PP2": "coloc_pp2", "COLOC.PP3": "coloc_pp3", "COLOC.PP4": "coloc_pp4",
    "PERM.PV": "perm_pval", "PERM.N": "perm_n", "PERM.ANL_PV": "perm_anl_pval",
}
ASSOCIATION_COLUMNS = [
    "trait", "panel", "tissue", "modality", "phenotype_id", "gene_id", "gene_name", "chrom", "p0", "p1", "hsq",
    "best_gwas_id", "best_gwas_z", "eqtl_id", "eqtl_r2", "eqtl_z", "eqtl_gwas_z", "nsnp", "nwgt", "model",
    "model_cv_r2", "model_cv_pval", "twas_z", "twas_p", "coloc_pp0", "coloc_pp1", "coloc_pp2", "coloc_pp3",
    "coloc_pp4", "perm_pval", "perm_n", "perm_anl_pval", "skip_reason", "significant", "weak_model", "locus", "joint",
    "joint_z", "joint_p", "cond_z", "cond_p", "cond_r2", "cond_status", "top_snp_cor",
]
#: Models whose cross-validated R² is below this are flagged as weakly predicted (``weak_model``): their
#: prediction explains under 1% of the phenotype's variance (cross-validated correlation below 0.1, the floor
#: PrediXcan's model databases use), so a small TWAS p says more about the GWAS signal at the few SNPs they
#: weight than about expression.
WEAK_CV_R2 = 0.01
_LOCUS_FIELDS = ("joint_z", "joint_p", "cond_z", "cond_p", "cond_r2", "top_snp_cor")
TRAIT_COLUMNS = ["id", "name", "n", "project", "tags", "description", "sumstats", "n_models", "n_tested",
                 "n_significant", "n_genes", "n_loci", "n_joint_genes", "bonferroni_p", "zthresh"]
PANEL_COLUMNS = ["panel", "tissue", "modality", "n_phenotypes", "n_models", "n_genes", "n_weights", "n_samples",
                 "mean_hsq", "window", "crossval", "hsq_p"]

Note = Callable[[str, str, str], Path]


# ----------------------------------------------------------------------------------------------------------
# Finding the results
# ----------------------------------------------------------------------------------------------------------


def infer_twas_results(atlas: Atlas, release: Release,
                       results: Mapping[tuple[str, str], ResultFiles]) -> TwasResultFiles | None:
    """The TWAS results beside the mapping results of a work directory: ``WORK/{release}/twas`` where the
    results of some tissue × modality are ``WORK/{release}/{tissue}/{modality}/``. None when the atlas
    lists no trait or no such directory exists (imported results)."""
    if not atlas.twas.traits:
        return None
    for (tissue, modality), rf in results.items():
        d = Path(rf.cis).parent
        if d.name == modality and d.parent.name == tissue and d.parent.parent.name == release.id:
            candidate = twas_directory(d.parent.parent.parent, release.id)
            if candidate.is_dir():
                return TwasResultFiles.from_directory(candidate)
    return None


def _check_complete(atlas: Atlas, release: Release, twas: TwasResultFiles) -> list[str]:
    """Panel ids of the release's selection; QtlAtlasError naming what is missing when incomplete."""
    panels = [twas_panel_id(t, m) for t, m in twas_selection(release, atlas.twas)]
    missing = [f"weights panel {p}" for p in panels if p not in twas.panels]
    for trait in atlas.twas.traits:
        if trait.id not in twas.associations:
            missing.append(f"association of trait {trait.id}")
        if trait.id not in twas.post:
            missing.append(f"loci of trait {trait.id}")
    if missing:
        raise QtlAtlasError(f"release {release.id}: incomplete TWAS results in {twas.directory} (missing: "
                            f"{', '.join(missing[:6])}{' …' if len(missing) > 6 else ''}); run `qtlatlas run` "
                            "for this release again")
    return panels


# ----------------------------------------------------------------------------------------------------------
# Table builders
# ----------------------------------------------------------------------------------------------------------


def _gene_names(out: Path) -> pd.Series:
    genes = pd.read_parquet(out / layout.table_path("genes"), columns=["gene_id", "gene_name"])
    return genes.drop_duplicates("gene_id").set_index("gene_id")["gene_name"]


def panel_row(panel: str, tissue: str, modality: str, profile: pd.DataFrame, weights_rows: int,
              summary: dict) -> dict:
    """The ``twas_panels`` row of one panel."""
    hsq = profile["hsq"].to_numpy(np.float64) if len(profile) else np.zeros(0)
    return {"panel": panel, "tissue": tissue, "modality": modality,
            "n_phenotypes": int(summary.get("phenotypes", len(profile))), "n_models": int(len(profile)),
            "n_genes": int(profile["gene_id"].nunique()), "n_weights": int(weights_rows),
            "n_samples": int(profile["n"].max()) if len(profile) else 0,
            "mean_hsq": float(np.nanmean(hsq)) if len(hsq) and np.isfinite(hsq).any() else None,
            "window": summary.get("window"), "crossval": summary.get("crossval"), "hsq_p": summary.get("hsq_p")}


def association_rows(trait: str, assoc: pd.DataFrame, locus_models: pd.DataFrame, zthresh: float | None,
                     names: pd.Series, profiles: pd.DataFrame) -> pd.DataFrame:
    """``twas_associations`` rows of one trait (unsorted) from its association and locus-model tables;
    ``model_cv_r2`` / ``model_cv_pval`` are the tested model's CV values at full precision from ``profiles``
    (the panels' profile rows; the ``.dat`` prints them with 2 digits)."""
    frame = assoc.rename(columns=DAT_NAMES)
    out = pd.DataFrame({"trait": np.full(len(frame), trait, dtype=object)})
    for col in ASSOCIATION_COLUMNS[1:]:
        if col in frame.columns:
            out[col] = frame[col].to_numpy()
        elif col not in ("gene_name", "significant", "weak_model", "locus", "joint", "cond_status", *_LOCUS_FIELDS):
            out[col] = None
    prof = profiles.set_index(["panel", "phenotype_id"]) if len(profiles) else None
    for col, stat in (("model_cv_r2", "r2"), ("model_cv_pval", "pval")):
        values = pd.to_numeric(out[col], errors="coerce").to_numpy(np.float64, copy=True)
        if prof is not None:
            pos = prof.index.get_indexer(pd.MultiIndex.from_arrays([out["panel"].astype(str),
                                                                    out["phenotype_id"].astype(str)]))
            for i in np.flatnonzero(pos >= 0):
                model = out["model"].iat[i]
                if isinstance(model, str) and f"{model}_{stat}" in prof.columns:
                    values[i] = float(prof[f"{model}_{stat}"].iat[pos[i]])
        out[col] = values
    for col in ("hsq", "best_gwas_z", "eqtl_r2", "eqtl_z", "eqtl_gwas_z", "twas_z", "twas_p", "coloc_pp0",
                "coloc_pp1", "coloc_pp2", "coloc_pp3", "coloc_pp4", "perm_pval", "perm_anl_pval"):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype(np.float64)
    for col in ("nsnp", "nwgt", "perm_n"):
        out[col] = pd.array(pd.to_numeric(out[col], errors="coerce"), dtype="Int64")
    for col in ("p0", "p1"):
        out[col] = out[col].astype(np.int64)
    out["gene_name"] = out["gene_id"].map(names)
    for col in ("panel", "tissue", "modality", "phenotype_id", "gene_id", "gene_name", "chrom", "best_gwas_id",
                "eqtl_id", "model", "skip_reason"):
        out[col] = out[col].astype("string")  # typed even when every value is missing
    z = out["twas_z"].to_numpy(np.float64)
    with np.errstate(invalid="ignore"):
        out["significant"] = np.abs(z) > zthresh if zthresh is not None else np.zeros(len(out), dtype=bool)
        out["weak_model"] = out["model_cv_r2"].to_numpy(np.float64) < WEAK_CV_R2
    lm = locus_models.set_index(["panel", "phenotype_id"])
    key = pd.MultiIndex.from_arrays([out["panel"].astype(str), out["phenotype_id"].astype(str)])
    pos = lm.index.get_indexer(key) if len(lm) else np.full(len(out), -1)
    hit = pos >= 0
    locus = np.full(len(out), pd.NA, dtype=object)
    locus[hit] = lm["locus"].to_numpy()[pos[hit]]
    out["locus"] = pd.array(locus, dtype="Int64")
    joint = np.zeros(len(out), dtype=bool)
    joint[hit] = lm["joint"].to_numpy(bool)[pos[hit]]
    out["joint"] = joint
    for col in _LOCUS_FIELDS:
        values = np.full(len(out), np.nan)
        if col in lm.columns:  # cond_r2: absent from results computed before the guard
            values[hit] = lm[col].to_numpy(np.float64)[pos[hit]]
        out[col] = values
    status = np.full(len(out), None, dtype=object)
    if "cond_status" in lm.columns:
        status[hit] = lm["cond_status"].astype(str).to_numpy()[pos[hit]]
    out["cond_status"] = pd.array(status, dtype="string")
    return out[ASSOCIATION_COLUMNS]


def trait_row(trait, assoc_rows: pd.DataFrame, loci: pd.DataFrame, summary: dict) -> dict:
    """The ``twas_traits`` row of one trait (atlas.yaml metadata + counts)."""
    sig = assoc_rows[assoc_rows["significant"]]
    joint = {g for ids in loci["joint_gene_ids"] for g in str(ids).split(",") if g} if len(loci) else set()
    return {"id": trait.id, "name": trait.name, "n": int(trait.n), "project": trait.project, "tags": list(trait.tags),
            "description": trait.description, "sumstats": Path(trait.sumstats).name,
            "n_models": int(len(assoc_rows)), "n_tested": int(assoc_rows["twas_p"].notna().sum()),
            "n_significant": int(len(sig)), "n_genes": int(sig["gene_id"].nunique()), "n_loci": int(len(loci)),
            "n_joint_genes": len(joint), "bonferroni_p": summary.get("bonferroni_p"), "zthresh": summary.get("zthresh")}


def best_model_r2(models: pd.DataFrame) -> np.ndarray:
    """``(n,)`` cross-validated R² of each model's best model (NaN when unknown)."""
    out = np.full(len(models), np.nan)
    best = models["best_model"].astype(str).to_numpy() if "best_model" in models.columns else np.full(len(models), "")
    for method in np.unique(best):
        col = f"{method}_r2"
        if col in models.columns:
            hit = best == method
            out[hit] = pd.to_numeric(models.loc[hit, col], errors="coerce").to_numpy(np.float64)
    return out


def methods_metadata(atlas: Atlas, summaries: list[dict]) -> dict:
    """``twas.json``: the settings of the release's TWAS (``atlas.twas``), the fixed parameters of association,
    imputation and coloc, and the options of the loci and conditional analysis recorded by the post tasks
    (``summaries``: their ``summary.json``; the options are the same for every trait)."""
    s = atlas.twas
    first = summaries[0] if summaries else {}
    return {
        "format_version": 1,
        "weights": {"window": s.window, "models": list(s.models), "crossval": s.crossval, "hsq_p": s.hsq_p,
                    "seed": s.seed, "tissues": s.tissues, "modalities": s.modalities,
                    "model_choice": "the model with the smallest cross-validation p-value"},
        "ld_reference": {"sources": [Path(p).name for p in s.ld_reference], "n": first.get("n_ref")},
        "association": {"impute_lambda": DEFAULT_LAMBDA, "max_impute": DEFAULT_MAX_IMPUTE,
                        "min_r2pred": DEFAULT_MIN_R2PRED, "coloc_p": s.coloc_p, "perm": s.perm},
        "coloc": {"p1": PRIOR_P1, "p2": PRIOR_P2, "p12": PRIOR_P12, "prior_sd": PRIOR_SD_QUANT},
        "loci": {"locus_window": s.locus_window, **(first.get("analysis") or {})},
        "weak_cv_r2": WEAK_CV_R2,
    }


def _names_of(ids: pd.Series, names: pd.Series) -> list[str]:
    return [",".join(str(names.get(g, g)) if pd.notna(names.get(g, g)) else g for g in str(s).split(",") if g)
            for s in ids]


# ----------------------------------------------------------------------------------------------------------
# Publishing
# ----------------------------------------------------------------------------------------------------------


def publish_twas(atlas: Atlas, release: Release, twas: TwasResultFiles | None, out: Path, note: Note) -> dict | None:
    """Write the TWAS tables and downloads of ``release`` into the release directory ``out`` (being built).

    ``note(rel, description, kind)`` records a file for the manifest and returns its absolute path. Returns
    counts (panels, traits, associations, loci), or None when there are no TWAS results (the release is
    built without TWAS). Raises QtlAtlasError when the results are incomplete.
    """
    if twas is None or twas.empty or not atlas.twas.traits:
        return None
    panel_ids = _check_complete(atlas, release, twas)
    names = _gene_names(out)
    pairs = dict(zip(panel_ids, twas_selection(release, atlas.twas), strict=True))
    rid, genome = release.id, release.genome

    panels, profiles, weights = [], [], []
    for panel in panel_ids:
        tissue, modality = pairs[panel]
        d = twas.panels[panel]
        profile = pd.read_parquet(d / PROFILE_FILE)
        wt = pd.read_parquet(d / WEIGHTS_FILE)
        summary_path = d / TWAS_PANEL_SUMMARY
        summary = json.loads(summary_path.read_text()) if summary_path.is_file() else {}
        panels.append(panel_row(panel, tissue, modality, profile, len(wt), summary))
        profiles.append(profile.assign(tissue=tissue, modality=modality))
        weights.append(wt)
        label = f"{tissue} {modality}"
        write_pos(profile, note(layout.download_path("twas_pos", rid, genome, tissue=tissue, modality=modality),
                                f"TWAS weights list of {label} (FUSION .pos)", "download"))
        write_weights_archive(wt, profile, note(
            layout.download_path("twas_weights", rid, genome, tissue=tissue, modality=modality),
            f"TWAS weights of {label}: FUSION .wgt.RDat per phenotype (tar.gz; paths as in the .pos)", "download"))

    def table(name: str, frame: pd.DataFrame, description: str) -> None:
        write_table(frame, note(layout.table_path(name), description, "table"))

    table("twas_panels", pd.DataFrame(panels, columns=PANEL_COLUMNS), "TWAS weights panels (tissue × modality)")
    models = pd.concat(profiles, ignore_index=True) if profiles else pd.DataFrame(columns=["gene_id", "panel"])
    models["gene_name"] = models["gene_id"].map(names) if len(models) else pd.Series(dtype=object)
    lead = ["panel", "tissue", "modality", "phenotype_id", "gene_id", "gene_name"]
    models = models[lead + [c for c in models.columns if c not in lead]]
    with np.errstate(invalid="ignore"):
        models["weak_model"] = best_model_r2(models) < WEAK_CV_R2
    table("twas_models", sort_by(models, ["gene_id", "panel", "phenotype_id"]),
          "TWAS models: heritability and cross-validation per model, per phenotype of each panel")
    all_weights = pd.concat(weights, ignore_index=True) if weights else pd.DataFrame()
    table("twas_weights", sort_by(all_weights, ["panel", "phenotype_id", "pos"]) if len(all_weights) else all_weights,
          "TWAS weights (one row per phenotype × SNP; weights per standardised genotype, A1 counted)")

    traits, assoc_frames, loci_frames, gwas_frames, omni_frames, summaries = [], [], [], [], [], []
    for trait in atlas.twas.traits:
        post = twas.post[trait.id]
        summary = json.loads((post / TWAS_POST_FILES["summary"]).read_text())
        summaries.append(summary)
        raw = pd.read_parquet(twas.associations[trait.id])
        loci = pd.read_parquet(post / TWAS_POST_FILES["loci"])
        rows = association_rows(trait.id, raw, pd.read_parquet(post / TWAS_POST_FILES["locus_models"]),
                                summary.get("zthresh"), names, models)
        assoc_frames.append(rows)
        traits.append(trait_row(trait, rows, loci, summary))
        loci = loci.assign(gene_names=_names_of(loci["gene_ids"], names),
                           joint_gene_names=_names_of(loci["joint_gene_ids"], names))
        loci_frames.append(loci.assign(trait=trait.id))
        gwas_frames.append(pd.read_parquet(post / TWAS_POST_FILES["locus_gwas"]).assign(trait=trait.id))
        omni = pd.read_parquet(post / TWAS_POST_FILES["omnibus"])
        omni_frames.append(omni.assign(trait=trait.id, gene_name=omni["gene_id"].map(names)))
        dat_columns = [c for c in (*DAT_COLUMNS, *COLOC_COLUMNS, *PERM_COLUMNS) if c in raw.columns]
        write_trait_dat(raw, note(layout.download_path("twas_assoc", rid, genome, trait=trait.id),
                                  f"TWAS associations of {trait.name} with every model (FUSION .dat)", "download"),
                        dat_columns)

    def first(frame: pd.DataFrame, col: str) -> pd.DataFrame:
        return frame[[col] + [c for c in frame.columns if c != col]]

    table("twas_traits", pd.DataFrame(traits, columns=TRAIT_COLUMNS), "TWAS traits: metadata and counts")
    assoc = pd.concat(assoc_frames, ignore_index=True)
    table("twas_associations", sort_by(assoc, ["trait", "chrom", "p0", "panel", "phenotype_id"]),
          "TWAS associations of every model with every trait, with loci and joint/conditional results")
    loci = first(pd.concat(loci_frames, ignore_index=True), "trait")
    table("twas_loci", sort_by(loci, ["trait", "locus"]), "TWAS loci per trait (FUSION post_process)")
    gwas = first(pd.concat(gwas_frames, ignore_index=True), "trait")
    table("twas_locus_gwas", sort_by(gwas, ["trait", "locus", "pos"]),
          "GWAS z per SNP of each TWAS locus, marginal and conditional on the locus's joint models")
    omni = first(pd.concat(omni_frames, ignore_index=True), "trait")
    table("twas_omnibus", sort_by(omni, ["trait", "gene_id"]), "TWAS omnibus test per gene and trait")
    write_json(methods_metadata(atlas, summaries), note(layout.TWAS_JSON, "TWAS methods: weights, LD reference, "
                                                        "association, coloc, loci and conditional analysis", "metadata"))
    return {"n_panels": len(panels), "n_traits": len(traits), "n_associations": int(len(assoc)),
            "n_loci": int(len(loci)), "n_significant": int(assoc["significant"].sum()) if len(assoc) else 0}
