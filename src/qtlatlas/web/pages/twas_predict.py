"""The TWAS hub's Predict page (``/twas/predict``): the heritability and best model of every tested phenotype of
each weights panel (the release's ``twas_phenotype_stats`` table), filtered by tissue, modality, gene and
heritability and paged by the server, with each tissue × modality's ``predictions`` (genetically predicted
phenotypes of every genotyped individual) and ``phenotype_stats`` downloads."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ...store import NotFound
from ...store.params import MAX_LIMIT, encode_cursor
from . import params, twas_hub
from .context import page_for
from .errors import PageRoute
from .tables import Column, table_from_frame, table_from_records
from .twas_hub import hub_render, no_twas, not_found, paging, set_links, yes_no

router = APIRouter(route_class=PageRoute, include_in_schema=False)

STATS_COLUMNS = [
    Column("gene_name", "Gene"), Column("gene_id", "Gene id", short=True, more=True),
    Column("phenotype_id", "Phenotype", short=True), Column("tissue", "Tissue", link="tissue"),
    Column("modality", "Modality"),
    Column("hsq", "h²", "fixed", help="cis-heritability (REML): proportion of the phenotype's variance"),
    Column("hsq_se", "h² SE", "fixed", more=True), Column("hsq_pval", "h² P", "p"),
    Column("heritable", "Heritable", help="h² P at most the weights' filter: the phenotype has a model"),
    Column("model", "Best model", help="the model with the largest cross-validated R² (used for the predictions)"),
    Column("cv_r2", "CV R²", "fixed", help="cross-validated R² of the best model"),
    Column("cv_pval", "CV P", "p", more=True),
    Column("n_snps_in_model", "SNPs in model", "int", help="variants of non-zero weight in the best model"),
    Column("skipped_reason", "Not fitted because", more=True),
]
FILE_COLUMNS = [
    Column("tissue", "Tissue", link="tissue"), Column("modality", "Modality"), Column("what", "File"),
    Column("name", "Download", link="url"), Column("bytes", "Size", "size"), Column("description", "Description", more=True),
]
HERITABLE = {"yes": True, "no": False}


@router.get("/twas/predict")
def predict_page(request: Request) -> Response:
    """Phenotype statistics (``tissue``, ``modality``, ``gene``, ``heritable`` filters; ``stats_page``) and the
    predictions downloads of the release."""
    page = page_for(request)
    tissue = params.text(request, "tissue", max_len=100)
    modality = params.text(request, "modality", max_len=100)
    gene = params.text(request, "gene", max_len=100)
    heritable = params.choice(request, "heritable", HERITABLE)
    number = params.integer(request, "stats_page", 1, maximum=1_000_000)
    release = page.release
    if not release.has_twas():
        return no_twas(page, "predict")
    panels = release.twas_panels()
    if not release.has_phenotype_stats():  # a TWAS release built before the statistics were published
        return hub_render(page, "twas_predict.html", "predict", stats=None, files=None, pages=None, total=0,
                          tissues=[], modalities=[], tissue=tissue, modality=modality, gene=gene, heritable=heritable)
    try:
        rows, total, _ = release.phenotype_stats(
            tissues=[tissue] if tissue else None, modalities=[modality] if modality else None,
            genes=[gene] if gene else None, heritable=HERITABLE.get(heritable or ""),
            limit=twas_hub.PER_PAGE,
            cursor=encode_cursor((number - 1) * twas_hub.PER_PAGE, "phenotype-stats") if number > 1 else None)
    except NotFound as exc:
        return not_found(page, exc, "predict")
    shown = rows.assign(heritable=yes_no(rows["heritable"])) if len(rows) else rows
    stats_table = table_from_frame(
        page, "phenotype-stats-table", shown, STATS_COLUMNS, tsv_name=f"phenotype_stats.{release.id}", total=total,
        caption="Every tested phenotype: heritability and best TWAS model", empty="No phenotype matches these filters.",
        links={"All rows (TSV, API)": page.api_url("/twas/phenotype_stats", tissue=tissue, modality=modality,
                                                   gene=gene, heritable={"yes": "true", "no": "false"}.get(heritable or ""),
                                                   format="tsv", limit=MAX_LIMIT)})
    set_links(stats_table, {"gene_name": [twas_hub.gene_hub_url(page, g if g == g and g else i) for g, i in
                                          zip(rows.get("gene_name", []), rows.get("gene_id", []), strict=True)]})
    files = [{**d, "url": page.file_url(d["path"])} for d in release.prediction_downloads()
             if (not tissue or d["tissue"] == tissue) and (not modality or d["modality"] == modality)]
    files_table = table_from_records(page, "predict-downloads", files, FILE_COLUMNS,
                                     tsv_name=f"predictions_downloads.{release.id}",
                                     empty="No predictions download in this release.")
    return hub_render(page, "twas_predict.html", "predict", stats=stats_table, files=files_table,
                      pages=paging(page, number, total, "stats_page", "phenotype-stats"), total=total,
                      tissues=list(dict.fromkeys(panels["tissue"].astype(str))),
                      modalities=list(dict.fromkeys(panels["modality"].astype(str))), tissue=tissue,
                      modality=modality, gene=gene, heritable=heritable)
