"""Expression: per-sample values, medians, clustered medians and top expressed genes.

Values are unnormalised expression levels in the unit the release declares (atlas.yaml's ``unit:``, TPM by
default): every row carries it as ``unit`` (the per-sample value column keeps its name ``tpm`` whatever the
unit, so that clients of earlier releases keep working)."""

from __future__ import annotations

from typing import Annotated

import numpy as np
import pandas as pd
from fastapi import APIRouter, Path, Query, Request

from ...analysis.clustering import cluster_order
from ..deps import ReleaseDep
from ..responses import json_response, list_response
from .common import ERRORS, FormatParam, TissuesParam
from .row_schemas import MEDIAN_EXPRESSION, SAMPLE_EXPRESSION

router = APIRouter(tags=["expression"])
GenesParam = Annotated[list[str], Query(min_length=1, max_length=100, description="gene ids or symbols (repeatable, ≤ 100)")]


def _with_unit(release, rows: pd.DataFrame) -> pd.DataFrame:
    """``rows`` with a ``unit`` column: the unit of the release's expression values."""
    return rows.assign(unit=pd.Series([release.value_unit()] * len(rows), index=rows.index, dtype=object))


def _gene_ids(release, genes: list[str]) -> list[str]:
    ids: list[str] = []
    for g in genes:
        for part in g.split(","):
            if part.strip():
                ids.append(release.resolve_gene(part.strip())["gene_id"])
    return list(dict.fromkeys(ids))


@router.get("/expression/median", responses=MEDIAN_EXPRESSION,
            summary="Median expression of genes in tissues (in `unit`: TPM unless the release declares another)")
def median(request: Request, release: ReleaseDep, genes: GenesParam, tissues: TissuesParam = None,
           format: FormatParam = "json"):
    rows = _with_unit(release, release.medians(_gene_ids(release, genes), tissues))
    return list_response(request, release.id, rows, fmt=format, name="median_expression")


@router.get("/expression/clustered", responses={200: {"description": "median matrix with Newick trees"}, **ERRORS},
            summary="Median expression of genes × tissues, clustered, with Newick trees of genes and tissues")
def clustered(request: Request, release: ReleaseDep, genes: GenesParam, tissues: TissuesParam = None,
              log: Annotated[bool, Query(description="cluster log2(median + 1) instead of the median")] = True):
    gene_ids, gene_names, tissue_ids, matrix = release.median_block(_gene_ids(release, genes), tissues)
    measured = ~np.isnan(matrix).all(axis=0)  # tissues where none of the genes was quantified are left out
    tissue_ids, matrix = [t for t, m in zip(tissue_ids, measured, strict=True) if m], matrix[:, measured]
    values = np.log2(matrix + 1) if log else matrix
    gene_order, gene_tree = cluster_order(values, gene_ids)
    tissue_order, tissue_tree = cluster_order(values.T, tissue_ids)
    names = dict(zip(gene_ids, gene_names, strict=True))
    genes_sorted = [gene_ids[i] for i in gene_order]
    tissues_sorted = [tissue_ids[j] for j in tissue_order]
    data = {"genes": genes_sorted, "gene_names": [names.get(g) or g for g in genes_sorted], "tissues": tissues_sorted,
            "median": matrix[np.ix_(gene_order, tissue_order)] if gene_ids else [],
            "gene_tree": gene_tree, "tissue_tree": tissue_tree, "log2": log, "unit": release.value_unit()}
    return json_response(request, release.id, {"data": data, "meta": {"release": release.id}})


@router.get("/expression/top", responses=MEDIAN_EXPRESSION, summary="Most expressed genes of a tissue")
def top(request: Request, release: ReleaseDep, tissue: Annotated[str, Query(max_length=64)],
        n: Annotated[int, Query(ge=1, le=1000)] = 50,
        exclude_mito: Annotated[bool, Query(description="leave out mitochondrial genes")] = False,
        format: FormatParam = "json"):
    rows = _with_unit(release, release.top_expressed(tissue, n, exclude_mito))
    return list_response(request, release.id, rows, fmt=format, name=f"top_expressed.{tissue}")


@router.get("/expression/{gene}", responses=SAMPLE_EXPRESSION,
            summary="Per-sample expression of a gene in one or all tissues (column tpm, in `unit`)")
def per_sample(request: Request, release: ReleaseDep, gene: Annotated[str, Path(max_length=200)],
               tissue: Annotated[str | None, Query(max_length=64)] = None, format: FormatParam = "json"):
    gene_id = release.gene(gene)["gene_id"]
    rows = _with_unit(release, pd.DataFrame(release.expression(gene_id, tissue)))
    return list_response(request, release.id, rows, fmt=format, name=f"expression.{gene_id}")
