"""The TWAS hub's gene pages (``/twas/genes/{gene}``: models per tissue × modality, trait × model Z heatmap,
associations) and its panels and models page (``/twas/panels``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ...store import BadQuery, NotFound
from ...store.params import MAX_LIMIT, encode_cursor
from . import params, twas_hub
from .context import Page, page_for
from .errors import PageRoute
from .tables import Column, table_from_frame
from .twas_hub import (
    METHOD_NAMES,
    METHODS,
    downloads_table,
    gene_hub_url,
    hub_render,
    locus_url,
    mark_weak,
    model_summary,
    no_twas,
    not_found,
    paging,
    panel_info,
    release_downloads,
    rounded,
    set_links,
    trait_url,
    weak_column,
    yes_no,
)

router = APIRouter(route_class=PageRoute, include_in_schema=False)

# ------------------------------------------------------------------------------------------------------------
# A gene
# ------------------------------------------------------------------------------------------------------------

GENE_MODEL_COLUMNS = [
    Column("tissue", "Tissue", link="tissue", filter=True), Column("modality", "Modality", filter=True),
    Column("panel", "Panel"), Column("phenotype_id", "Phenotype", short=True, more=True),
    Column("n", "Samples", "int", more=True), Column("n_snps", "SNPs", "int", help="SNPs in the weights window", more=True),
    Column("hsq", "h²", "fixed", help="cis-heritability (REML)"), Column("hsq_se", "h² SE", "fixed", more=True),
    Column("hsq_pval", "h² P", "p", more=True),
    *[c for m in METHODS for c in (
        Column(f"{m}_r2", f"{METHOD_NAMES[m]} CV R²", "fixed", help=f"cross-validated R² of {METHOD_NAMES[m]}"),
        Column(f"{m}_pval", f"{METHOD_NAMES[m]} CV P", "p", help=f"cross-validation p-value of {METHOD_NAMES[m]}",
               more=True))],
    Column("best_model", "Best model", filter=True, help="the model used for the associations (best CV P)"),
]
GENE_ASSOC_COLUMNS = [
    Column("trait", "Trait"), Column("panel", "Panel", filter=True), Column("tissue", "Tissue", filter=True, more=True),
    Column("modality", "Modality", filter=True, more=True), Column("phenotype_id", "Phenotype", short=True, more=True),
    Column("model", "Model", more=True),
    Column("model_cv_r2", "CV R²", "fixed", help="cross-validated R² of the model"),
    Column("twas_z", "TWAS Z", "fixed"), Column("twas_p", "TWAS P", "p"),
    Column("significant", "Significant", filter=True), Column("joint", "Joint", filter=True),
    Column("locus", "Locus", "int"),
]


def _grid(page: Page, models: pd.DataFrame, panels: list[dict]) -> dict:
    """Tissue × modality overview of a gene's models: models, best h² and best CV R² per cell (None: a panel
    without a model of the gene; absent: no panel)."""
    panel_keys = {(p["tissue"], p["modality"]) for p in panels}
    tissues = [t for t in dict.fromkeys(p["tissue"] for p in panels)]
    mods = [m for m in dict.fromkeys(p["modality"] for p in panels)]
    r2 = [f"{m}_r2" for m in METHODS if f"{m}_r2" in models.columns]
    rows = []
    for t in tissues:
        cells = []
        for m in mods:
            if (t, m) not in panel_keys:
                cells.append({"state": "none"})
                continue
            mine = models[(models["tissue"] == t) & (models["modality"] == m)] if len(models) else models
            if not len(mine):
                cells.append({"state": "empty"})
                continue
            best_r2 = np.nanmax(mine[r2].to_numpy(np.float64)) if r2 else np.nan
            cells.append({"state": "model", "n": len(mine), "hsq": float(mine["hsq"].max()),
                          "r2": None if not np.isfinite(best_r2) else float(best_r2)})
        rows.append({"tissue": t, "name": page.tissue_name(t), "colour": page.tissue_colour(t), "cells": cells})
    return {"modalities": [{"id": m, "name": page.modality_names.get(m, m)} for m in mods], "rows": rows}


def model_labels(page: Page, models: list[dict]) -> dict[tuple[str, str], tuple[str, str]]:
    """Short and full labels of a gene's models, by (panel, phenotype): ``Tissue · Modality`` (numbered when the
    gene has several models in a panel, e.g. splicing clusters) and the same with the phenotype id."""
    per_panel: dict[str, int] = {}
    for m in models:
        per_panel[str(m["panel"])] = per_panel.get(str(m["panel"]), 0) + 1
    seen: dict[str, int] = {}
    out = {}
    for m in models:
        panel, pheno = str(m["panel"]), str(m["phenotype_id"])
        base = f"{page.tissue_name(str(m['tissue']))} · {page.modality_names.get(str(m['modality']), m['modality'])}"
        if per_panel[panel] > 1:
            seen[panel] = seen.get(panel, 0) + 1
            base += f" #{seen[panel]}"
        out[(panel, pheno)] = (base, f"{base} ({pheno})")
    return out


def gene_plot_data(page: Page, result: dict, names: dict[str, str]) -> dict:
    """The trait × model Z matrix (with P and significance) and h² / CV R² per method of a gene's models."""
    matrix = result["matrix"]
    labels = model_labels(page, result["models"])
    lookup = {(str(r["trait"]), str(r["panel"]), str(r["phenotype_id"])): r for r in result["associations"]}
    keys = [(str(m["panel"]), str(m["phenotype_id"])) for m in matrix["models"]]

    def cell(trait: str, key: tuple[str, str]) -> dict:
        return lookup.get((trait, *key)) or {}

    models = pd.DataFrame.from_records(result["models"]) if result["models"] else pd.DataFrame()
    methods = [m for m in METHODS if f"{m}_r2" in models.columns and models[f"{m}_r2"].notna().any()]
    model_keys = list(zip(models.get("panel", []), models.get("phenotype_id", []), strict=True))
    return {"view": "gene", "gene": {k: result["gene"].get(k) for k in ("gene_id", "gene_name", "chrom", "start", "end")},
            "zmap": {"traits": matrix["traits"], "names": [names.get(t, t) for t in matrix["traits"]],
                     "models": [labels.get(k, (k[1], k[1]))[0] for k in keys],
                     "full": [labels.get(k, (k[1], k[1]))[1] for k in keys],
                     "z": [[None if v is None else round(float(v), 4) for v in row] for row in matrix["z"]],
                     "p": [[cell(t, k).get("twas_p") for k in keys] for t in matrix["traits"]],
                     "sig": [[int(bool(cell(t, k).get("significant"))) for k in keys] for t in matrix["traits"]]},
            "cv": {"labels": [labels[(str(p), str(ph))][0] for p, ph in model_keys],
                   "full": [labels[(str(p), str(ph))][1] for p, ph in model_keys],
                   "hsq": rounded(models["hsq"], 4) if len(models) else [],
                   "methods": [{"id": m, "name": METHOD_NAMES[m], "r2": rounded(models[f"{m}_r2"], 4)}
                               for m in methods]}}


@router.get("/twas/genes")
def gene_search(request: Request) -> Response:
    """``?q=GENE``: the hub page of that gene."""
    page = page_for(request)
    q = params.text(request, "q", max_len=100)
    if q is None:
        raise BadQuery("q", "give a gene symbol or id")
    return RedirectResponse(gene_hub_url(page, q), status_code=303)


@router.get("/twas/genes/{gene}")
def gene_page(request: Request, gene: str) -> Response:
    """A gene's TWAS: models per tissue × modality (h² and CV per method), trait × model Z, associations."""
    page = page_for(request)
    if not page.release.has_twas():
        return no_twas(page, "genes")
    release = page.release
    try:
        result = release.twas_gene(gene)
    except NotFound as exc:
        return not_found(page, exc, "genes")
    g = result["gene"]
    name = g.get("gene_name") or g["gene_id"]
    traits = release.twas_traits()
    names = dict(zip(traits["id"].astype(str), traits["name"].astype(str), strict=True))
    panels = panel_info(page)
    models = pd.DataFrame.from_records(result["models"]) if result["models"] else pd.DataFrame(
        columns=[c.key for c in GENE_MODEL_COLUMNS])
    empty_methods = [f"{m}_{s}" for m in METHODS for s in ("r2", "pval")
                     if f"{m}_r2" not in models.columns or not models[f"{m}_r2"].notna().any()]
    weak = weak_column(release.twas_methods().get("weak_cv_r2"))
    shown = models.assign(weak_model=yes_no(models["weak_model"])) if "weak_model" in models else models
    models_table = table_from_frame(
        page, "gene-models-table", shown, [c for c in GENE_MODEL_COLUMNS if c.key not in empty_methods] + [weak],
        tsv_name=f"twas_models.{name}.{release.id}", caption=f"TWAS models of {name} per tissue × modality",
        empty=f"{name} has no TWAS model in this release (no heritable phenotype in any panel).",
        links={"TSV (API)": page.api_url("/twas/models", gene=g["gene_id"], format="tsv", limit=MAX_LIMIT)})
    assoc = pd.DataFrame.from_records(result["associations"]) if result["associations"] else pd.DataFrame(
        columns=[c.key for c in GENE_ASSOC_COLUMNS])
    if len(assoc):
        assoc["significant"] = yes_no(assoc["significant"])
        assoc["joint"] = yes_no(assoc["joint"])
        assoc = assoc.sort_values(["twas_p", "trait", "panel"], na_position="last").reset_index(drop=True)
    flags = assoc["weak_model"].tolist() if "weak_model" in assoc else [None] * len(assoc)
    if "weak_model" in assoc:
        assoc["weak_model"] = yes_no(assoc["weak_model"])
    assoc_table = table_from_frame(page, "gene-assoc-table", assoc, GENE_ASSOC_COLUMNS[:7] + [weak]
                                   + GENE_ASSOC_COLUMNS[7:], tsv_name=f"twas_gene_associations.{name}.{release.id}",
                                   caption=f"Associations of the models of {name} with every trait, smallest P first",
                                   empty="No association.")
    mark_weak(assoc_table, flags)
    set_links(assoc_table, {
        "trait": [trait_url(page, t) for t in assoc.get("trait", [])],
        "locus": [None if v is None or v != v else locus_url(page, t, int(v))
                  for t, v in zip(assoc.get("trait", []), assoc.get("locus", []), strict=True)]})
    significant = sorted({names.get(str(t), str(t)) for t, s in zip(assoc.get("trait", []), assoc.get("significant", []),
                                                                    strict=True) if s == "yes"})
    return hub_render(page, "twas_gene.html", "genes", uses_plots=True, gene=g, name=name, models=models_table,
                      assoc=assoc_table, grid=_grid(page, models, panels), n_models=len(models),
                      significant=significant, data=gene_plot_data(page, result, names),
                      gene_url=page.gene_url(name))


# ------------------------------------------------------------------------------------------------------------
# Panels and models
# ------------------------------------------------------------------------------------------------------------

PANEL_COLUMNS = [
    Column("panel", "Panel", link="url"), Column("tissue", "Tissue", link="tissue", filter=True),
    Column("modality", "Modality", filter=True), Column("n_samples", "Samples", "int"),
    Column("n_phenotypes", "Phenotypes", "int", help="phenotypes considered (before the heritability filter)"),
    Column("n_models", "Models", "int", help="phenotypes with weights (heritable)"),
    Column("n_genes", "Genes", "int"), Column("n_weights", "Weights", "int", help="SNP weights over every model"),
    Column("mean_hsq", "Mean h²", "fixed"), Column("window", "Window (bp)", "int"),
    Column("crossval", "CV folds", "int"), Column("hsq_p", "h² P filter", "p"),
]
MODEL_COLUMNS = [
    Column("gene_name", "Gene"), Column("panel", "Panel"), Column("tissue", "Tissue", filter=True),
    Column("modality", "Modality", filter=True, more=True), Column("phenotype_id", "Phenotype", short=True, more=True),
    Column("n", "Samples", "int", more=True), Column("n_snps", "SNPs", "int", more=True), Column("hsq", "h²", "fixed"),
    Column("hsq_se", "h² SE", "fixed", more=True), Column("hsq_pval", "h² P", "p"),
    *[Column(f"{m}_r2", f"{METHOD_NAMES[m]} CV R²", "fixed") for m in METHODS],
    Column("best_model", "Best model", filter=True),
]
MODEL_SORTS = ("hsq_pval", "hsq", "gene_name", "panel", "n_snps", *(f"{m}_r2" for m in METHODS))


@router.get("/twas/panels")
def panels_page(request: Request) -> Response:
    """Weights panels (counts, downloads) and their models, filtered (``panel``, ``best_model``,
    ``max_hsq_pval``, ``gene``), sorted (``sort``, ``order``) and paged (``models_page``) by the server."""
    page = page_for(request)
    best_model = params.choice(request, "best_model", METHODS)
    max_hsq_pval = params.number(request, "max_hsq_pval", minimum=0.0, maximum=1.0)
    gene = params.text(request, "gene", max_len=100)
    sort = params.choice(request, "sort", MODEL_SORTS, default="hsq_pval")
    order = params.choice(request, "order", ("asc", "desc"), default="asc")
    number = params.integer(request, "models_page", 1, maximum=1_000_000)
    if not page.release.has_twas():
        return no_twas(page, "panels")
    release = page.release
    panels = panel_info(page)
    panel = params.choice(request, "panel", [p["id"] for p in panels])
    frame = release.twas_panels()
    frame = frame.assign(url=[page.url_with(panel=p, models_page=None) + "#models" for p in frame["panel"]])
    panels_table = table_from_frame(page, "panels-table", frame, PANEL_COLUMNS, tsv_name=f"twas_panels.{release.id}",
                                    caption="Weights panels: one per tissue × modality",
                                    links={"TSV (API)": page.api_url("/twas/panels", format="tsv")})
    try:
        rows, total, _ = release.twas_models(
            panels=[panel] if panel else None, genes=[gene] if gene else None, max_hsq_pval=max_hsq_pval,
            best_model=best_model, sort=sort, descending=order == "desc", limit=twas_hub.PER_PAGE,
            cursor=encode_cursor((number - 1) * twas_hub.PER_PAGE, "twas-models") if number > 1 else None)
    except NotFound as exc:
        return not_found(page, exc, "panels")
    pages = paging(page, number, total, "models_page", "models")
    shown = rows.assign(weak_model=yes_no(rows["weak_model"])) if "weak_model" in rows else rows
    models_table = table_from_frame(
        page, "models-table", shown, [c for c in MODEL_COLUMNS if c.key in rows.columns and (
            not c.key.endswith("_r2") or rows[c.key].notna().any() or not len(rows))]
        + [weak_column(release.twas_methods().get("weak_cv_r2"))],
        tsv_name=f"twas_models.{release.id}", total=total, caption="TWAS models: heritability and cross-validated R² "
        "per method", empty="No model matches these filters.",
        links={"All rows (TSV, API)": page.api_url("/twas/models", panel=panel, gene=gene, max_hsq_pval=max_hsq_pval,
                                                   best_model=best_model, sort=sort, order=order, format="tsv",
                                                   limit=MAX_LIMIT)})
    set_links(models_table, {"gene_name": [gene_hub_url(page, g if g == g and g else i) for g, i in
                                           zip(rows.get("gene_name", []), rows.get("gene_id", []), strict=True)]})
    files = downloads_table(page, "panel-downloads", release_downloads(page, ("twas_pos.", "twas_weights.")),
                            f"twas_weights_downloads.{release.id}", "No weights download in this release.")
    summary = model_summary(page)
    methods = [m for m in METHODS if any(m in counts for counts in summary["best"].values())]
    data = {"view": "panels", "panels": panels,
            "best": {"methods": [{"id": m, "name": METHOD_NAMES[m]} for m in methods],
                     "counts": [[summary["best"].get(p["id"], {}).get(m, 0) for p in panels] for m in methods]}}
    return hub_render(page, "twas_panels.html", "panels", uses_plots=True, panels=panels, panels_table=panels_table,
                      models=models_table, pages=pages, files=files, data=data, panel=panel, best_model=best_model,
                      max_hsq_pval=max_hsq_pval, gene=gene, sort=sort, order=order, methods=METHODS,
                      method_names=METHOD_NAMES, sorts=MODEL_SORTS, n_models=summary["n_models"])
