"""Gene search, gene details and gene structure."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from fastapi import APIRouter, Path, Query, Request

from ..deps import ReleaseDep
from ..responses import json_response, list_response
from .common import ERRORS, FormatParam
from .row_schemas import GENE_SEARCH

router = APIRouter(tags=["genes"])
GeneParam = Annotated[str, Path(max_length=200, description="gene id or symbol (case-insensitive)")]


#: A search text: at least one visible character, no control character (what an id or a symbol may hold).
SEARCH_PATTERN = r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"


@router.get("/genes/search", responses=GENE_SEARCH, summary="Genes by symbol or id prefix (for autocomplete)")
def search(request: Request, release: ReleaseDep,
           q: Annotated[str, Query(min_length=1, max_length=100, pattern=SEARCH_PATTERN,
                                   description="the start of a gene symbol or id (case-insensitive)")],
           limit: Annotated[int, Query(ge=1, le=100)] = 20, format: FormatParam = "json"):
    rows = pd.DataFrame(release.search_genes(q, limit))
    return list_response(request, release.id, rows, fmt=format, name="genes")


RegionParam = Annotated[str, Path(max_length=100, pattern=r"^\s*[A-Za-z0-9_.]{1,40}:[\d,]{1,15}-[\d,]{1,15}\s*$",
                                  description="chr:start-end (1-based, inclusive; at most 2 Mb wide)")]


@router.get("/genes/region/{region}", responses={200: {"description": "genes with their merged exons"}, **ERRORS},
            summary="Every gene overlapping a region (at most 2 Mb), with its exons (for gene tracks)",
            description="`data`: one object per gene overlapping the region, by start: `gene_id, gene_name, "
                        "gene_type, chrom, start, end, strand, tss` and `exons`, the gene's exons merged over its "
                        "transcripts as `[[start, end], ...]` (1-based, inclusive; empty when the annotation has "
                        "none). `meta.total` counts them.")
def in_region(request: Request, release: ReleaseDep, region: RegionParam):
    rows = release.genes_in_region(region)
    return json_response(request, release.id, {"data": rows, "meta": {"release": release.id, "total": len(rows)}})


@router.get("/genes/{gene}", responses={200: {"description": "gene coordinates and status per tissue × modality"}, **ERRORS},
            summary="A gene: coordinates, strand, TSS and its status in every tissue × modality")
def gene(request: Request, release: ReleaseDep, gene: GeneParam):
    return json_response(request, release.id, {"data": release.gene(gene), "meta": {"release": release.id}})


@router.get("/genes/{gene}/exons", responses={200: {"description": "transcripts and exons"}, **ERRORS},
            summary="Transcripts and exons of a gene (for gene tracks)")
def exons(request: Request, release: ReleaseDep, gene: GeneParam):
    gene_id = release.gene(gene)["gene_id"]
    return json_response(request, release.id, {"data": release.exons(gene_id), "meta": {"release": release.id}})
