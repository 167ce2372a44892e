"""Every tested cis pair (the nominal pass) by gene, region or variant: filtered by −log10 p, paged."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from ..deps import ReleaseDep
from ..responses import Layout, list_response
from .common import (
    CursorParam,
    FormatParam,
    LayoutParam,
    ModalitiesParam,
    PageParam,
    TissuesParam,
    page_cursor,
)
from .row_schemas import NOMINAL_PAIRS

router = APIRouter(tags=["all pairs"])
MinNlog10pParam = Annotated[float | None, Query(ge=0, le=1e6, description="keep pairs with −log10 p at least this")]
PairLimitParam = Annotated[int, Query(ge=1, le=10_000, description="rows per page")]
_ROWS = ("Rows: `tissue, modality, phenotype_id, gene_id, gene_name, variant_id, chrom, pos, ref, alt, start_distance, "
         "af, ma_samples, ma_count, pval_nominal, nlog10p, slope, slope_se` (tensorQTL's `cis_qtl_pairs` columns with the "
         "gene symbol, position, alleles and −log10 p, which stays finite where p underflows), ordered by tissue, "
         "modality, phenotype position and variant position. `meta.total` counts every matching pair. `pval_nominal` is "
         "derived from the stored −log10 p and written with float32's 7 significant digits (its stored precision is "
         "coarser) where it is at least 1.2e-38, in full below.")


def _page(request: Request, release, fmt: str, layout: Layout, **query):
    cursor, page, limit = query.pop("cursor"), query.pop("page"), query["limit"]
    rows, total, next_cursor = release.all_pairs_table(**query, cursor=page_cursor("all_pairs", cursor, page, limit))
    return list_response(request, release.id, rows, total, next_cursor, fmt, name="nominal_pairs", layout=layout,
                         float32=("pval_nominal",))


@router.get("/all-pairs/gene/{gene}", responses=NOMINAL_PAIRS,
            summary="Every tested pair of a gene's phenotypes, in every tissue × modality (or those asked)",
            description=_ROWS)
def by_gene(request: Request, release: ReleaseDep,
            gene: Annotated[str, Path(max_length=200, description="gene id or symbol")],
            phenotype: Annotated[str | None, Query(max_length=300, description="one phenotype of the gene")] = None,
            tissue: TissuesParam = None, modality: ModalitiesParam = None, min_nlog10p: MinNlog10pParam = None,
            limit: PairLimitParam = 1000, cursor: CursorParam = None, page: PageParam = None,
            format: FormatParam = "json", layout: LayoutParam = Layout.rows):
    return _page(request, release, format, layout, gene=gene, phenotype=phenotype, tissues=tissue, modalities=modality,
                 min_nlog10p=min_nlog10p, limit=limit, cursor=cursor, page=page)


@router.get("/all-pairs/region/{region}", responses=NOMINAL_PAIRS,
            summary="Every tested pair whose variant lies in a region (at most 2 Mb), every phenotype",
            description=_ROWS)
def by_region(request: Request, release: ReleaseDep,
              region: Annotated[str, Path(max_length=100, pattern=r"^\s*[A-Za-z0-9_.]{1,40}:[\d,]{1,15}-[\d,]{1,15}\s*$",
                                          description="chr:start-end (1-based, inclusive; at most 2 Mb wide)")],
              tissue: TissuesParam = None, modality: ModalitiesParam = None, min_nlog10p: MinNlog10pParam = None,
              limit: PairLimitParam = 1000, cursor: CursorParam = None, page: PageParam = None,
              format: FormatParam = "json", layout: LayoutParam = Layout.rows):
    return _page(request, release, format, layout, region=region, tissues=tissue, modalities=modality,
                 min_nlog10p=min_nlog10p, limit=limit, cursor=cursor, page=page)


@router.get("/all-pairs/variant/{variant}", responses=NOMINAL_PAIRS,
            summary="Every tested pair of a variant: each phenotype it was tested with, in every tissue × modality "
                    "(a PheWAS of the variant)",
            description=_ROWS)
def by_variant(request: Request, release: ReleaseDep,
               variant: Annotated[str, Path(max_length=200, description="rsID, chr:pos, or chr_pos_ref_alt")],
               tissue: TissuesParam = None, modality: ModalitiesParam = None, min_nlog10p: MinNlog10pParam = None,
               limit: PairLimitParam = 1000, cursor: CursorParam = None, page: PageParam = None,
               format: FormatParam = "json", layout: LayoutParam = Layout.rows):
    return _page(request, release, format, layout, variant=variant, tissues=tissue, modalities=modality,
                 min_nlog10p=min_nlog10p, limit=limit, cursor=cursor, page=page)
