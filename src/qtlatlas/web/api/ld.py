"""Linkage disequilibrium between the release's variants, computed on demand from its genotypes."""

from __future__ import annotations

from typing import Annotated

import numpy as np
from fastapi import APIRouter, Query, Request

from ...store import BadQuery
from ...store.ld import LD_COLUMNS, MAX_LD_MATRIX_VARIANTS
from ..deps import ReleaseDep
from ..responses import Layout, json_response, list_response
from .common import ERRORS, FormatParam, LayoutParam
from .row_schemas import LD

router = APIRouter(tags=["ld"])
VariantParam = Annotated[str, Query(min_length=1, max_length=200, description="rsID, chr:pos, or chr_pos_ref_alt")]
WindowParam = Annotated[str | None, Query(max_length=100, pattern=r"^\s*[A-Za-z0-9_.]{1,40}:[\d,]{1,15}-[\d,]{1,15}\s*$",
                                          description="chr:start-end holding the variant (1-based, inclusive; at "
                                                      "most 2 Mb wide); default the variant ± 500 kb")]
TissueParam = Annotated[str | None, Query(max_length=200, description="compute over this tissue's samples "
                                                                      "(default: every genotyped sample)")]
VariantsParam = Annotated[list[str], Query(min_length=1, max_length=MAX_LD_MATRIX_VARIANTS,
                                           description=f"variants (repeatable or comma-separated; at most "
                                                       f"{MAX_LD_MATRIX_VARIANTS}), any syntax of /variants")]
MATRIX = {200: {"description": "`data`: `variants` (ids, in the order given), `r` and `r2` (matrices as nested "
                               "lists, rows and columns in that order; null where undefined), `n_samples`"},
          **ERRORS}


FieldsParam = Annotated[list[str] | None, Query(max_length=len(LD_COLUMNS),
                                                description=f"columns to answer (repeatable or comma-separated; "
                                                            f"default all: {', '.join(LD_COLUMNS)})")]


def _fields(fields: list[str] | None) -> list[str]:
    if not fields:
        return LD_COLUMNS
    asked = list(dict.fromkeys(f.strip() for value in fields for f in value.split(",") if f.strip()))
    unknown = [f for f in asked if f not in LD_COLUMNS]
    if unknown or not asked:
        raise BadQuery("fields", f"unknown column {unknown[0][:40]!r} (columns: {', '.join(LD_COLUMNS)})" if unknown
                       else "may not be empty")
    return asked


@router.get("/ld", responses=LD,
            summary="r and r² between a variant and every variant of a window around it (PLINK 1.9 --r/--r2)")
def ld(request: Request, release: ReleaseDep, variant: VariantParam, region: WindowParam = None,
       tissue: TissueParam = None, fields: FieldsParam = None, layout: LayoutParam = Layout.rows,
       format: FormatParam = "json"):
    columns = _fields(fields)
    rows = release.ld(variant, region=region, tissue=tissue)[columns]
    return list_response(request, release.id, rows, fmt=format, name="ld", layout=layout, float32=("r", "r2"))


@router.get("/ld/matrix", responses=MATRIX, summary="r and r² between every pair of up to 500 variants")
def ld_matrix(request: Request, release: ReleaseDep, variants: VariantsParam, tissue: TissueParam = None):
    found = release.ld_matrix(variants, tissue=tissue)
    # float32: r to 7 digits, half the bytes of float64 (the matrices are k² numbers); NaN is written null
    data = {"variants": found["variants"], "r": found["r"].astype(np.float32),
            "r2": found["r2"].astype(np.float32), "n_samples": found["n_samples"]}
    return json_response(request, release.id, {"data": data, "meta": {"release": release.id}})
