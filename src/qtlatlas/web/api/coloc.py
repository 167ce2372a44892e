"""Colocalisation of the release's GWAS traits with every tissue × modality (coloc.abf), by trait, gene or
variant."""

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
from .row_schemas import COLOC

router = APIRouter(tags=["colocalisation"])
_ROWS = ("At least one of `trait`, `gene` and `variant` (combined with AND). Rows: `trait, locus, lead_variant_id, "
         "chrom, locus_start, locus_end, tissue, modality, phenotype_id, gene_id, gene_name, nsnps, hit1, hit2, "
         "PP.H0.abf, PP.H1.abf, PP.H2.abf, PP.H3.abf, PP.H4.abf`: one per GWAS locus (the trait's lead variant "
         "± the window, numbered in genome order) and phenotype tested there; coloc.abf's posteriors of no "
         "association (H0), GWAS only (H1), QTL only (H2), two causal variants (H3) and one shared causal "
         "variant (H4) over the `nsnps` variants both have; `hit1`/`hit2` the variants with the largest Bayes "
         "factor for the GWAS and the QTL. Sorted by PP.H4 descending, then trait, locus, tissue, modality, "
         "phenotype. `variant` selects the loci whose window holds it. `method=susie`: coloc.susie instead, one "
         "row per pair of credible sets of the GWAS (fine-mapped from summary statistics with LD from the release "
         "genotypes) and of a fine-mapped phenotype, with `idx1`/`idx2` naming the two single effects (`L1`…).")


@router.get("/coloc", responses=COLOC, summary="Colocalisation (coloc.abf) of GWAS loci with the QTLs of every "
                                              "tissue × modality", description=_ROWS)
def coloc(request: Request, release: ReleaseDep,
          trait: Annotated[str | None, Query(max_length=200, description="trait id (case-insensitive)")] = None,
          gene: Annotated[str | None, Query(max_length=200, description="gene id or symbol")] = None,
          variant: Annotated[str | None, Query(max_length=200, description="rsID, chr:pos, or chr_pos_ref_alt: the "
                                                                          "loci whose window holds it")] = None,
          tissue: TissuesParam = None, modality: ModalitiesParam = None,
          min_pp4: Annotated[float | None, Query(ge=0, le=1, description="keep rows with PP.H4 at least this")] = None,
          limit: LimitParam = 100, cursor: CursorParam = None, page: PageParam = None, format: FormatParam = "json",
          method: Annotated[Literal["abf", "susie"], Query(description="abf (default): coloc.abf of each "
                                                           "phenotype; susie: coloc.susie of each pair of "
                                                           "credible sets")] = "abf"):
    rows, total, next_cursor = release.coloc_table(
        trait=trait, gene=gene, variant=variant, tissues=tissue, modalities=modality, min_pp4=min_pp4, limit=limit,
        cursor=page_cursor("coloc", cursor, page, limit), method=method)
    return list_response(request, release.id, rows, total, next_cursor, format, name="coloc")
