"""Genetically predicted phenotypes and the statistics of every tested phenotype, per TWAS weights panel.

Written at release build after the TWAS tables (:func:`qtlatlas.release.twas_tables.publish_twas`), from the
release's ``twas_models`` / ``twas_weights`` tables and the panels' ``twas_stats.parquet``
(:mod:`qtlatlas.twas.phenotype_stats`). Per tissue × modality with a weights panel:

* ``phenotype_stats.{tissue}.{modality}.{release}.tsv.gz``: one row per phenotype of the panel's normalised
  phenotype BED (fitted or not), :data:`PHENOTYPE_STATS_COLUMNS`. ``heritable`` is ``hsq_pval ≤ twas.hsq_p``;
  ``model`` the best model (largest CV R², as ``qtlatlas twas predict`` chooses it; empty when not fitted),
  ``cv_r2``/``cv_pval`` its cross-validation R² and p-value, ``n_snps_in_model`` its SNPs of non-zero weight
  (``top1``: 1); ``skipped_reason`` why no weights were fitted (empty for fitted phenotypes).
* ``predictions.{tissue}.{modality}.{release}.tsv.gz``: every fitted phenotype predicted with its best model
  for every individual of the cohort (``twas.predict_genotypes``, else the release genotypes), written by
  :func:`qtlatlas.twas.predict.write_prediction` in its ``individuals`` layout: a header ``individual`` + one
  column per phenotype id, one line per individual. Scale :data:`SCALE` (``standardised``: Σ w·(d − mean)/sd
  over the cohort, the scale the weights were fitted on; see docs/predict.md).

Plus ``tables/twas_phenotype_stats.parquet``: the statistics of every panel with ``panel, tissue, modality``
first, for the portal's Predict page.

Panels computed before ``twas_stats.parquet`` existed list only their fitted phenotypes (from the profile).
Memory: one panel's statistics and weights at a time; the prediction streams (:mod:`qtlatlas.twas.predict`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import Atlas, Release
from ..results import TwasResultFiles
from ..twas.phenotype_stats import read_panel_stats
from . import layout
from .tables import write_table

#: Columns of a ``phenotype_stats`` download (the table adds ``panel, tissue, modality`` first).
PHENOTYPE_STATS_COLUMNS = ["phenotype_id", "gene_id", "gene_name", "hsq", "hsq_se", "hsq_pval", "heritable", "model",
                           "cv_r2", "cv_pval", "n_snps_in_model", "skipped_reason"]
#: The scale of the published predictions (:data:`qtlatlas.twas.predict_summary.SCALES`).
SCALE = "standardised"

Note = Callable[[str, str, str], Path]


def phenotype_stats(stats: pd.DataFrame | None, profile: pd.DataFrame, n_in_model: dict[str, int], hsq_p: float,
                    names: pd.Series) -> pd.DataFrame:
    """The :data:`PHENOTYPE_STATS_COLUMNS` rows of one panel.

    Args:
        stats: the panel's ``twas_stats`` rows (every tested phenotype, in BED order), or None for a panel
            computed before they were recorded (then the profile's fitted phenotypes only).
        profile: the panel's rows of ``twas_models`` (h², CV R² and p per model, ``best_model``).
        n_in_model: phenotype id -> SNPs of non-zero weight in its best model.
        hsq_p: the heritability p-value threshold of the weights (``twas.hsq_p``).
        names: gene id -> gene name.
    """
    if stats is None:
        base = profile[["phenotype_id", "gene_id", "hsq", "hsq_se", "hsq_pval"]].copy()
        base["skipped_reason"] = ""
    else:
        base = stats[["phenotype_id", "gene_id", "hsq", "hsq_se", "hsq_pval", "skipped_reason"]].copy()
    base = base.reset_index(drop=True)
    base["phenotype_id"] = base["phenotype_id"].astype(str)
    prof = profile.assign(phenotype_id=profile["phenotype_id"].astype(str)).set_index("phenotype_id")
    at = prof.index.get_indexer(base["phenotype_id"])
    fitted = at >= 0
    model = np.full(len(base), "", dtype=object)
    cv_r2, cv_pval = np.full(len(base), np.nan), np.full(len(base), np.nan)
    best = prof["best_model"].to_numpy(dtype=object) if "best_model" in prof.columns else np.full(len(prof), None)
    for i in np.flatnonzero(fitted):
        name = best[at[i]]
        if isinstance(name, str) and name:
            model[i] = name
            cv_r2[i] = float(prof[f"{name}_r2"].iat[at[i]]) if f"{name}_r2" in prof.columns else np.nan
            cv_pval[i] = float(prof[f"{name}_pval"].iat[at[i]]) if f"{name}_pval" in prof.columns else np.nan
    hsq_pval = pd.to_numeric(base["hsq_pval"], errors="coerce").to_numpy(np.float64)
    with np.errstate(invalid="ignore"):
        heritable = hsq_pval <= hsq_p
    out = pd.DataFrame({
        "phenotype_id": base["phenotype_id"].to_numpy(dtype=object),
        "gene_id": base["gene_id"].astype(str).to_numpy(dtype=object),
        "gene_name": base["gene_id"].astype(str).map(names).to_numpy(dtype=object),
        "hsq": pd.to_numeric(base["hsq"], errors="coerce").to_numpy(np.float64),
        "hsq_se": pd.to_numeric(base["hsq_se"], errors="coerce").to_numpy(np.float64),
        "hsq_pval": hsq_pval, "heritable": heritable, "model": model, "cv_r2": cv_r2, "cv_pval": cv_pval,
        "n_snps_in_model": np.array([int(n_in_model.get(p, 0)) for p in base["phenotype_id"]], dtype=np.int64),
        "skipped_reason": base["skipped_reason"].fillna("").astype(str).to_numpy(dtype=object),
    })
    return out[PHENOTYPE_STATS_COLUMNS]


def prediction_cohort(atlas: Atlas, release: Release) -> tuple[list[str], bool]:
    """(genotype sources, whether they are the release's own genotypes): ``twas.predict_genotypes`` when set."""
    if atlas.twas.predict_genotypes:
        return [str(p) for p in atlas.twas.predict_genotypes], False
    return [str(p) for p in release.genotypes], True


def publish_predictions(atlas: Atlas, release: Release, twas: TwasResultFiles | None, out: Path, note: Note,
                        scratch: Path) -> dict | None:
    """Write the ``phenotype_stats`` and ``predictions`` downloads of every TWAS panel of the release being
    built in ``out`` and the ``twas_phenotype_stats`` table (see the module docstring); ``scratch`` holds
    the predictions while they are computed. Returns counts, or None when the release has no TWAS tables.

    Raises:
        InputFileError: the prediction cohort shares no chromosome or SNP with a panel's weights.
    """
    import pyarrow.parquet as pq
    from threadpoolctl import threadpool_limits

    from ..io.genotype_set import open_genotype_files
    from ..twas.fusion_io import PROFILE_COLUMNS, WEIGHT_COLUMNS, models_from_tables
    from ..twas.predict import PredictOptions, predict_panel, write_prediction
    from ..twas.predict_match import CohortIndex, chosen_weights, match_cohort
    from ..twas.predict_sources import check_samples
    from .twas_tables import _gene_names

    mpath, wpath = out / layout.table_path("twas_models"), out / layout.table_path("twas_weights")
    panels_path = out / layout.table_path("twas_panels")
    if twas is None or not mpath.is_file() or not panels_path.is_file():
        return None
    panels = pd.read_parquet(panels_path)
    profiles = pd.read_parquet(mpath)
    names = _gene_names(out)
    sources, own = prediction_cohort(atlas, release)
    # the release's own genotypes are on the weights' strand: keep strand-ambiguous SNPs, match by id; another
    # cohort is matched by position and alleles, ambiguous SNPs left out (FUSION's rule)
    options = PredictOptions(scale=SCALE, match_by="id" if own else "position", keep_ambiguous=own)
    reader = open_genotype_files(sources)
    check_samples(reader.samples, reader.path)
    cohort = CohortIndex(reader.variants, options.match_by, reader.path)
    rid = release.id
    scratch.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="predictions-", dir=scratch))
    frames, n_predicted = [], 0
    try:
        for rec in panels.itertuples(index=False):
            panel, tissue, modality = str(rec.panel), str(rec.tissue), str(rec.modality)
            prof = profiles[profiles["panel"].astype(str) == panel]
            wt = pq.read_table(wpath, columns=list(WEIGHT_COLUMNS), filters=[("panel", "=", panel)]).to_pandas()
            models = models_from_tables(prof[[c for c in PROFILE_COLUMNS if c in prof.columns]], wt, mpath, wpath)
            n_in_model = {m.phenotype_id: int(len(chosen_weights(m)[1])) for m in models}
            stats = phenotype_stats(read_panel_stats(twas.panels[panel]) if panel in twas.panels else None, prof,
                                    n_in_model, atlas.twas.hsq_p, names)
            label = f"{tissue} {modality}"
            stats.to_csv(note(layout.download_path("phenotype_stats", rid, release.genome, tissue=tissue,
                                                   modality=modality),
                              f"heritability (REML h², SE, p) of every tested phenotype of {label}, with the best "
                              "TWAS model and its cross-validation R² and p where fitted", "download"),
                         sep="\t", index=False, na_rep="NA", compression="gzip")
            frames.append(stats.assign(panel=panel, tissue=tissue, modality=modality))
            if not models:
                continue
            scores = match_cohort(panel, models, cohort, force_model=None, keep_ambiguous=options.keep_ambiguous,
                                  weights_source=f"release {rid}")
            with threadpool_limits(limits=1):
                pred = predict_panel(reader, cohort, scores, options, scratch_dir=work)
                try:
                    path, _ = write_prediction(pred, work, "individuals")
                finally:
                    pred.close()
            dest = note(layout.download_path("predictions", rid, release.genome, tissue=tissue, modality=modality),
                        f"genetically predicted phenotypes of {label}: one line per individual of "
                        f"{'the release genotypes' if own else 'twas.predict_genotypes'}, one column per heritable "
                        "phenotype (best TWAS model; standardised scale: Σ weight × (dosage − mean) / sd over the "
                        "cohort, in SD units of the training phenotype)", "download")
            shutil.move(os.fspath(path), dest)
            n_predicted += int(scores.summary["predicted"].sum())
    finally:
        shutil.rmtree(work, ignore_errors=True)
    lead = ["panel", "tissue", "modality"]
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=lead + PHENOTYPE_STATS_COLUMNS)
    write_table(table[lead + PHENOTYPE_STATS_COLUMNS], note(
        layout.table_path("twas_phenotype_stats"),
        "heritability and best TWAS model of every tested phenotype of each weights panel", "table"))
    return {"n_phenotypes": int(len(table)), "n_predicted": n_predicted, "n_individuals": len(reader.samples)}
