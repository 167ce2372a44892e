"""Phenotype-by-genotype: the per-sample values behind a QTL."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from ..deps import ReleaseDep
from ..responses import json_response
from .common import ERRORS

router = APIRouter(tags=["phenotype-by-genotype"])
Text = Annotated[str, Query(min_length=1, max_length=300)]


@router.get("/phenotype-by-genotype", responses={200: {"description": "values, genotypes, counts and statistics"}, **ERRORS},
            summary="Normalised phenotype values per sample with genotypes, counts per genotype class, recomputed "
                    "nominal statistics and the phenotype's significance threshold")
def phenotype_by_genotype(request: Request, release: ReleaseDep, phenotype_id: Text, variant: Text, tissue: Text,
                          modality: Text):
    variant_id = release.variant(variant)["variant_id"]
    data = release.phenotype_by_genotype(phenotype_id, variant_id, tissue, modality)
    return json_response(request, release.id, {"data": data, "meta": {"release": release.id}})
