"""SuSiE fine-mapping: credible sets of a gene, a variant or a region, and the PIPs of a gene's cis window."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from ..deps import ReleaseDep
from ..responses import list_response
from .common import CursorParam, FormatParam, ModalitiesParam, PageParam, TissuesParam, page_cursor
from .row_schemas import CREDIBLE_SETS, PIPS

router = APIRouter(tags=["fine-mapping"])

_ROWS = ("Rows: `tissue, modality, phenotype_id, gene_id, gene_name, variant_id, chrom, pos, ref, alt, cs_id, cs_index, "
         "cs_size, pip, cs_log10bf, cs_min_r2, cs_avg_r2, posterior_mean, posterior_sd, z`, one per member of a SuSiE "
         "credible set (the eQTL Catalogue's columns), ordered by tissue, modality, phenotype, credible set (L1, L2, …) "
         "and PIP descending. Give exactly one of `gene`, `variant` and `region` (400 otherwise). A release built "
         "without fine-mapping answers no rows.")


@router.get("/finemapping", responses=CREDIBLE_SETS, description=_ROWS,
            summary="SuSiE credible sets of a gene's phenotypes, of a variant, or of a region (at most 2 Mb)")
def credible_sets(request: Request, release: ReleaseDep,
                  gene: Annotated[str | None, Query(max_length=200, description="gene id or symbol")] = None,
                  variant: Annotated[str | None, Query(max_length=200,
                                                       description="rsID, chr:pos, or chr_pos_ref_alt")] = None,
                  region: Annotated[str | None, Query(max_length=100, description="chr:start-end (1-based, inclusive; "
                                                      "at most 2 Mb wide)")] = None,
                  tissue: TissuesParam = None, modality: ModalitiesParam = None,
                  min_pip: Annotated[float | None, Query(ge=0, le=1, description="members with a PIP at least this")]
                  = None,
                  limit: Annotated[int, Query(ge=1, le=10_000, description="rows per page")] = 1000,
                  cursor: CursorParam = None, page: PageParam = None, format: FormatParam = "json"):
    rows, total, next_cursor = release.finemapping_table(
        gene=gene, variant=variant, region=region, tissues=tissue, modalities=modality, min_pip=min_pip, limit=limit,
        cursor=page_cursor("finemapping", cursor, page, limit))
    return list_response(request, release.id, rows, total, next_cursor, format, name="credible_sets")


@router.get("/finemapping/pips", responses=PIPS,
            summary="PIP of every variant fine-mapped for a gene's phenotypes in one tissue × modality (regional plot)",
            description="Rows: `phenotype_id, variant_id, pos, pip, cs_id` (the variant's credible set, null when in "
                        "none), ordered by phenotype and position; no rows when the gene was not fine-mapped there.")
def pips(request: Request, release: ReleaseDep,
         gene: Annotated[str, Query(max_length=200, description="gene id or symbol")],
         tissue: Annotated[str, Query(max_length=200, description="tissue id")],
         modality: Annotated[str, Query(max_length=200, description="modality id")],
         phenotype: Annotated[str | None, Query(max_length=300, description="one phenotype of the gene")] = None,
         format: FormatParam = "json"):
    rows = release.pips(gene, tissue, modality, phenotype)
    return list_response(request, release.id, rows, len(rows), None, format, name="pips")
