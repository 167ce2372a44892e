"""QTL browsing across genes, and significant pairs by gene or region."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from ..deps import ReleaseDep
from ..responses import list_response
from .common import (
    CursorParam,
    FormatParam,
    LimitParam,
    ModalitiesParam,
    PageParam,
    TissuesParam,
    page_cursor,
)
from .row_schemas import QTLS, SIGNIFICANT_PAIRS

router = APIRouter(tags=["qtls"])
RegionParam = Annotated[str | None, Query(max_length=100, pattern=r"^\s*[A-Za-z0-9_.]{1,40}:[\d,]{1,15}-[\d,]{1,15}\s*$",
                                          description="chr:start-end (1-based, inclusive; at most 2 Mb wide)")]
GeneListParam = Annotated[list[str] | None, Query(max_length=1000, description="gene ids or symbols (repeatable)")]
_QTL_ROWS = ("Rows: the columns of the release's `{table}` table (tensorQTL's: `tissue, modality, phenotype_id, "
             "gene_id, gene_name, variant_id, chrom, pos, ref, alt, af, maf, mac, low_mac, tss_distance, pval_nominal, "
             "slope, slope_se, pval_beta, qval, …`). `gene_name` is the gene's symbol (null when it has none); `maf` "
             "and `mac` are the minor-allele frequency and count among the samples of the row's tissue × modality, "
             "and `low_mac` is true below 10 copies (a lead carried by a handful of individuals). Every tested "
             "phenotype's row unless `max_qval` is given: `meta.significant` counts the matching rows with q ≤ the "
             "release's FDR (`meta.fdr`; pass it as `max_qval` for those only). `sort` also takes `maf` and `mac`.")
_PAIR_ROWS = ("Rows: the columns of the release's significant pairs (`tissue, modality, phenotype_id, gene_id, "
              "gene_name, variant_id, chrom, pos, tss_distance, af, maf, mac, low_mac, pval_nominal, slope, slope_se, "
              "pval_nominal_threshold`), `gene_name` the gene's symbol (null when it has none).")


def _browse(kind: str, request: Request, release, tissue, modality, gene, region, max_qval, max_pval, sort, order,
            limit, cursor, page, format):
    filters = {"tissues": tissue, "modalities": modality, "genes": gene, "region": region, "max_qval": max_qval,
               "max_pval": max_pval}
    rows, total, next_cursor = release.qtls(kind, **filters, sort=sort, descending=order == "desc", limit=limit,
                                            cursor=page_cursor(kind, cursor, page, limit))
    counts = release.qtl_counts(kind, **filters)
    return list_response(request, release.id, rows, total, next_cursor, format, name=f"{kind}_qtls",
                         meta_extra={"significant": counts["significant"], "fdr": counts["fdr"]})


@router.get("/qtls/top", responses=QTLS, summary="Top QTL of every phenotype (or group), across genes, filtered and paged",
            description=_QTL_ROWS.format(table="top_qtls"))
def top(request: Request, release: ReleaseDep, tissue: TissuesParam = None, modality: ModalitiesParam = None,
        gene: GeneListParam = None, region: RegionParam = None,
        max_qval: Annotated[float | None, Query(ge=0, le=1)] = None, max_pval: Annotated[float | None, Query(ge=0, le=1)] = None,
        sort: Annotated[str, Query(max_length=40)] = "pval_nominal", order: Literal["asc", "desc"] = "asc",
        limit: LimitParam = 100, cursor: CursorParam = None, page: PageParam = None, format: FormatParam = "json"):
    return _browse("top", request, release, tissue, modality, gene, region, max_qval, max_pval, sort, order, limit,
                   cursor, page, format)


@router.get("/qtls/independent", responses=QTLS, summary="Conditionally independent QTLs, across genes, filtered and paged",
            description=_QTL_ROWS.format(table="independent_qtls"))
def independent(request: Request, release: ReleaseDep, tissue: TissuesParam = None, modality: ModalitiesParam = None,
                gene: GeneListParam = None, region: RegionParam = None,
                max_qval: Annotated[float | None, Query(ge=0, le=1)] = None,
                max_pval: Annotated[float | None, Query(ge=0, le=1)] = None,
                sort: Annotated[str, Query(max_length=40)] = "pval_nominal", order: Literal["asc", "desc"] = "asc",
                limit: LimitParam = 100, cursor: CursorParam = None, page: PageParam = None, format: FormatParam = "json"):
    return _browse("independent", request, release, tissue, modality, gene, region, max_qval, max_pval, sort, order,
                   limit, cursor, page, format)


@router.get("/qtls/pairs", responses=SIGNIFICANT_PAIRS,
            summary="Significant variant–phenotype pairs of a gene or of a region (width capped)", description=_PAIR_ROWS)
def pairs(request: Request, release: ReleaseDep, gene: Annotated[str | None, Query(max_length=200)] = None,
          region: RegionParam = None, tissue: TissuesParam = None, modality: ModalitiesParam = None,
          limit: Annotated[int, Query(ge=1, le=10_000)] = 1000, cursor: CursorParam = None, page: PageParam = None,
          format: FormatParam = "json"):
    rows, total, next_cursor = release.pairs(gene=gene, region=region, tissues=tissue, modalities=modality, limit=limit,
                                             cursor=page_cursor("pairs", cursor, page, limit))
    return list_response(request, release.id, rows, total, next_cursor, format, name="signif_pairs")
