"""Variants: lookup and every association of a variant in one call."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from fastapi import APIRouter, Path, Query, Request

from ..deps import ReleaseDep
from ..responses import json_response, list_response
from .common import ERRORS, FormatParam
from .row_schemas import VARIANT_ASSOCIATIONS, VARIANT_SEARCH

router = APIRouter(tags=["variants"])
VariantParam = Annotated[str, Path(max_length=200, description="rsID, chr:pos, or chr_pos_ref_alt")]


#: A search text: at least one visible character, no control character.
SEARCH_PATTERN = r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"


@router.get("/variants/search", responses=VARIANT_SEARCH,
            summary="Variants by id prefix or at/after a position (for autocomplete)",
            description="For `chr:pos` (or `chr_pos`), the variants at or after that position, by position "
                        "(`match`: `position`); otherwise the variants whose id starts with `q` (case-insensitive), "
                        "the exact id first, then shorter ids first, then by id (`match`: `exact` or `prefix`).")
def search(request: Request, release: ReleaseDep,
           q: Annotated[str, Query(min_length=1, max_length=100, pattern=SEARCH_PATTERN,
                                   description="the start of a variant id (rsID), or chr:pos")],
           limit: Annotated[int, Query(ge=1, le=100)] = 10, format: FormatParam = "json"):
    rows = pd.DataFrame(release.search_variants(q, limit))
    return list_response(request, release.id, rows, fmt=format, name="variants")


@router.get("/variants/{variant}", responses={200: {"description": "alleles, position and frequency"}, **ERRORS},
            summary="A variant by rsID, chr:pos or chr_pos_ref_alt")
def variant(request: Request, release: ReleaseDep, variant: VariantParam):
    return json_response(request, release.id, {"data": release.variant(variant), "meta": {"release": release.id}})


@router.get("/variants/{variant}/associations", responses=VARIANT_ASSOCIATIONS,
            summary="Every association of a variant across all tissues and modalities (top, independent, significant; "
                    "with include_nominal, every other tested pair too)",
            description="Rows of the top, independent and significant-pair tables (`source`: `top`, `independent`, "
                        "`significant`); with `include_nominal=true`, then every tested pair of the variant (the "
                        "nominal pass) whose tissue, modality and phenotype those rows lack, with `source = "
                        "\"nominal\"` and the all-pairs columns (`nlog10p`, `start_distance`, `ma_samples`, "
                        "`ma_count`). Every row has `gene_id` and `gene_name` (the gene's symbol, null when it has "
                        "none) and `chrom`; rows with `af` also have `maf`, `mac` (minor-allele count among the "
                        "samples of the row's tissue × modality) and `low_mac` (true below 10 copies).")
def associations(request: Request, release: ReleaseDep, variant: VariantParam,
                 include_nominal: Annotated[bool, Query(description="add the tested pairs not in those tables")] = False,
                 format: FormatParam = "json"):
    rows = release.variant_associations(variant, include_nominal=include_nominal)  # any variant syntax, resolved once
    return list_response(request, release.id, rows, fmt=format, name="associations")
