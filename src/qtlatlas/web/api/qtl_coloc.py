"""QTL–QTL colocalisation: coloc.abf between two significant phenotypes of a gene in two tissues or two modalities.

The route is ``/coloc/qtl``, a fixed path: :mod:`qtlatlas.web.app` includes this router before any router with
a ``/coloc/{…}`` path parameter, so that ``qtl`` is never read as such a parameter.
"""

from __future__ import annotations

from typing import Annotated

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
from .row_schemas import QTL_COLOC

router = APIRouter(tags=["colocalisation"])
_ROWS = ("Rows: `gene_id, gene_name, tissue1, modality1, phenotype_id1, tissue2, modality2, phenotype_id2, nsnps, "
         "hit1, hit2, PP.H0.abf, PP.H1.abf, PP.H2.abf, PP.H3.abf, PP.H4.abf` — coloc.abf over the variants both "
         "phenotypes were tested with (`nsnps`), `hit1`/`hit2` the variant of each phenotype's largest Bayes factor; "
         "H3: two distinct causal variants, H4: one shared. A pair is two phenotypes significant in the top QTL table, "
         "of one gene, in two modalities of one tissue or in one modality of two tissues (same phenotype id). "
         "`tissue` and `modality` keep a pair when either side matches. Ordered by gene id, then tissue1, modality1, "
         "phenotype_id1, tissue2, modality2, phenotype_id2; 404 for a release built without it.")


@router.get("/coloc/qtl", responses=QTL_COLOC,
            summary="QTL–QTL colocalisation: do two tissues, or two modalities, share a gene's causal variant?",
            description=_ROWS)
def qtl_coloc(request: Request, release: ReleaseDep,
              gene: Annotated[str | None, Query(max_length=200, description="gene id or symbol")] = None,
              tissue: TissuesParam = None, modality: ModalitiesParam = None,
              min_pp4: Annotated[float | None, Query(ge=0, le=1, description="keep pairs with PP.H4.abf at least "
                                                                             "this")] = None,
              limit: LimitParam = 1000, cursor: CursorParam = None, page: PageParam = None,
              format: FormatParam = "json"):
    rows, total, next_cursor = release.qtl_coloc_table(
        gene=gene, tissues=tissue, modalities=modality, min_pp4=min_pp4, limit=limit,
        cursor=page_cursor("qtl_coloc", cursor, page, limit))
    return list_response(request, release.id, rows, total, next_cursor, format, name="qtl_coloc")
