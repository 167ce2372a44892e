"""The TWAS hub: traits, their associations and loci, a gene's TWAS across traits, weights panels and models."""

from __future__ import annotations

from typing import Annotated, Literal

import pandas as pd
from fastapi import APIRouter, Path, Query, Request

from ..deps import ReleaseDep
from ..responses import Format, json_response, list_response
from .common import (
    ERRORS,
    CursorParam,
    FormatParam,
    LimitParam,
    ModalitiesParam,
    PageParam,
    TissuesParam,
    page_cursor,
)
from .row_schemas import (
    TWAS_ASSOCIATIONS,
    TWAS_CORRELATIONS,
    TWAS_LOCI,
    TWAS_MODELS,
    TWAS_PANELS,
    TWAS_PHENOTYPE_STATS,
    TWAS_TRAITS,
)

router = APIRouter(tags=["twas"])
TraitParam = Annotated[str, Path(max_length=200, description="trait id (or its name, case-insensitive)")]
LocusParam = Annotated[int, Path(ge=1, le=1_000_000, description="locus number (1-based, genome order)")]
GeneParam = Annotated[str, Path(max_length=200, description="gene id or symbol (case-insensitive)")]
PanelsParam = Annotated[list[str] | None, Query(max_length=200, description="panel ids TISSUE.MODALITY (repeatable)")]
GenesParam = Annotated[list[str] | None, Query(max_length=1000, description="gene ids or symbols (repeatable)")]
SortParam = Annotated[str, Query(max_length=40, description="column to sort by (missing values last)")]
OrderParam = Literal["asc", "desc"]


def _flat(frame: pd.DataFrame, fmt: Format) -> pd.DataFrame:
    """List columns (trait tags) joined with ``,`` for TSV/CSV output."""
    if Format(fmt) is Format.json or "tags" not in frame.columns:
        return frame
    return frame.assign(tags=[",".join(str(t) for t in tags) for tags in frame["tags"]])


def _item(request: Request, release, data) -> object:
    return json_response(request, release.id, {"data": data, "meta": {"release": release.id}})


@router.get("/twas/traits", responses=TWAS_TRAITS, summary="TWAS traits with their metadata and counts")
def traits(request: Request, release: ReleaseDep,
           tag: Annotated[str | None, Query(max_length=100, description="traits carrying this tag")] = None,
           project: Annotated[str | None, Query(max_length=200, description="traits of this project")] = None,
           format: FormatParam = "json"):
    rows = release.twas_traits(tag=tag, project=project)
    return list_response(request, release.id, _flat(rows, format), fmt=format, name="twas_traits")


@router.get("/twas/traits/{trait}", responses={200: {"description": "the trait's metadata and counts"}, **ERRORS},
            summary="A TWAS trait: metadata, models tested, significant models, loci, joint genes, threshold")
def trait(request: Request, release: ReleaseDep, trait: TraitParam):
    return _item(request, release, release.twas_trait(trait))


@router.get("/twas/traits/{trait}/associations", responses=TWAS_ASSOCIATIONS,
            summary="TWAS associations of a trait with every model, filtered, sorted and paged")
def associations(request: Request, release: ReleaseDep, trait: TraitParam, panel: PanelsParam = None,
                 tissue: TissuesParam = None, modality: ModalitiesParam = None, gene: GenesParam = None,
                 max_pval: Annotated[float | None, Query(ge=0, le=1, description="largest TWAS p-value")] = None,
                 significant: Annotated[bool | None, Query(description="only models above (true) or below "
                                                                       "(false) the Bonferroni threshold")] = None,
                 sort: SortParam = "twas_p", order: OrderParam = "asc", limit: LimitParam = 100,
                 cursor: CursorParam = None, page: PageParam = None, format: FormatParam = "json"):
    tid = release.check_trait(trait)
    rows, total, next_cursor = release.twas_associations(
        tid, panels=panel, tissues=tissue, modalities=modality, genes=gene, max_pval=max_pval, significant=significant,
        sort=sort, descending=order == "desc", limit=limit, cursor=page_cursor(f"twas:{tid}", cursor, page, limit))
    return list_response(request, release.id, rows, total, next_cursor, format, name=f"twas_associations.{tid}")


@router.get("/twas/traits/{trait}/loci", responses=TWAS_LOCI,
            summary="Loci of a trait: joint/conditional analysis of its significant models (FUSION post_process)")
def loci(request: Request, release: ReleaseDep, trait: TraitParam, format: FormatParam = "json"):
    tid = release.check_trait(trait)
    return list_response(request, release.id, release.twas_loci(tid), fmt=format, name=f"twas_loci.{tid}")


@router.get("/twas/traits/{trait}/loci/{n}",
            responses={200: {"description": "the locus, its models and its GWAS, marginal and conditional"}, **ERRORS},
            summary="One locus: its models (h², CV R², weak flag, TWAS Z/P, coloc PP3/PP4, joint flag) and the GWAS "
                    "before and after conditioning on the joint models (cond_status: explained or unstable rows have "
                    "no conditional z/p)")
def locus(request: Request, release: ReleaseDep, trait: TraitParam, n: LocusParam):
    return _item(request, release, release.twas_locus(trait, n))


@router.get("/twas/traits/{trait}/correlations", responses=TWAS_CORRELATIONS,
            summary="Cross-trait association: correlation of TWAS Z with every other trait over shared models")
def correlations(request: Request, release: ReleaseDep, trait: TraitParam, format: FormatParam = "json"):
    tid = release.check_trait(trait)
    return list_response(request, release.id, release.twas_correlations(tid), fmt=format,
                         name=f"twas_correlations.{tid}")


@router.get("/twas/genes/{gene}",
            responses={200: {"description": "the gene's models and its associations with every trait"}, **ERRORS},
            summary="A gene's TWAS: models per tissue × modality (h², CV per method) and trait × model Z matrix")
def gene(request: Request, release: ReleaseDep, gene: GeneParam):
    return _item(request, release, release.twas_gene(gene))


@router.get("/twas/panels", responses=TWAS_PANELS, summary="TWAS weights panels (tissue × modality) and their counts")
def panels(request: Request, release: ReleaseDep, format: FormatParam = "json"):
    return list_response(request, release.id, release.twas_panels(), fmt=format, name="twas_panels")


@router.get("/twas/models", responses=TWAS_MODELS,
            summary="TWAS models: heritability and cross-validation per model, filtered, sorted and paged")
def models(request: Request, release: ReleaseDep, panel: PanelsParam = None, tissue: TissuesParam = None,
           modality: ModalitiesParam = None, gene: GenesParam = None,
           max_hsq_pval: Annotated[float | None, Query(ge=0, le=1, description="largest heritability p-value")] = None,
           best_model: Annotated[Literal["top1", "lasso", "enet", "blup"] | None,
                                 Query(description="models whose best model (CV) is this one")] = None,
           sort: SortParam = "hsq_pval", order: OrderParam = "asc", limit: LimitParam = 100,
           cursor: CursorParam = None, page: PageParam = None, format: FormatParam = "json"):
    rows, total, next_cursor = release.twas_models(
        panels=panel, tissues=tissue, modalities=modality, genes=gene, max_hsq_pval=max_hsq_pval,
        best_model=best_model, sort=sort, descending=order == "desc", limit=limit,
        cursor=page_cursor("twas-models", cursor, page, limit))
    return list_response(request, release.id, rows, total, next_cursor, format, name="twas_models")


@router.get("/twas/phenotype_stats", responses=TWAS_PHENOTYPE_STATS,
            summary="Heritability (REML h², SE, p) and best TWAS model of every tested phenotype of each panel")
def phenotype_stats(request: Request, release: ReleaseDep, tissue: TissuesParam = None,
                    modality: ModalitiesParam = None, gene: GenesParam = None,
                    heritable: Annotated[bool | None, Query(description="only phenotypes that pass (true) or fail "
                                                                        "(false) the heritability filter")] = None,
                    sort: SortParam = "hsq_pval", order: OrderParam = "asc", limit: LimitParam = 100,
                    cursor: CursorParam = None, page: PageParam = None, format: FormatParam = "json"):
    rows, total, next_cursor = release.phenotype_stats(
        tissues=tissue, modalities=modality, genes=gene, heritable=heritable, sort=sort, descending=order == "desc",
        limit=limit, cursor=page_cursor("phenotype-stats", cursor, page, limit))
    return list_response(request, release.id, rows, total, next_cursor, format, name="twas_phenotype_stats")
