"""Expression: per-sample values, medians, clustered medians and top expressed genes."""

from __future__ import annotations

from typing import Annotated

import numpy as np
import pandas as pd
from fastapi import APIRouter, Path, Query, Request

from ...analysis.clustering import cluster_order
from ..deps import ReleaseDep
from ..responses import json_response, list_response
from .common import ERRORS, LIST, FormatParam, TissuesParam

router = APIRouter(tags=["expression"])
GenesParam = Annotated[list[str], Query(min_length=1, max_length=100, description="gene ids or symbols (repeatable, ≤ 100)")]


def _gene_ids(release, genes: list[str]) -> list[str]:
    ids: list[str] = []
    for g in genes:
        for part in g.split(","):
            if part.strip():
                ids.append(release.gene(part.strip())["gene_id"])
    return list(dict.fromkeys(ids))


@router.get("/expression/median", responses=LIST, summary="Median expression (TPM) of genes in tissues")
def median(request: Request, release: ReleaseDep, genes: GenesParam, tissues: TissuesParam = None,
           format: FormatParam = "json"):
    rows = release.medians(_gene_ids(release, genes), tissues)
    return list_response(request, release.id, rows, fmt=format, name="median_expression")


@router.get("/expression/clustered", responses={200: {"description": "median matrix with Newick trees"}, **ERRORS},
            summary="Median expression of genes × tissues, clustered, with Newick trees of genes and tissues")
def clustered(request: Request, release: ReleaseDep, genes: GenesParam, tissues: TissuesParam = None,
              log: Annotated[bool, Query(description="cluster log2(median + 1) instead of TPM")] = True):
    rows = release.medians(_gene_ids(release, genes), tissues)
    matrix = rows.pivot_table(index="gene_id", columns="tissue", values="median", aggfunc="first")
    values = np.log2(matrix.to_numpy(float) + 1) if log else matrix.to_numpy(float)
    gene_order, gene_tree = cluster_order(values, list(matrix.index))
    tissue_order, tissue_tree = cluster_order(values.T, list(matrix.columns))
    names = rows.drop_duplicates("gene_id").set_index("gene_id")["gene_name"] if "gene_name" in rows else None
    genes_sorted = [matrix.index[i] for i in gene_order]
    tissues_sorted = [matrix.columns[i] for i in tissue_order]
    data = {"genes": genes_sorted,
            "gene_names": [names.get(g, g) for g in genes_sorted] if names is not None else genes_sorted,
            "tissues": tissues_sorted,
            "median": matrix.loc[genes_sorted, tissues_sorted].to_numpy(float).tolist(),
            "gene_tree": gene_tree, "tissue_tree": tissue_tree, "log2": log}
    return json_response(request, release.id, {"data": data, "meta": {"release": release.id}})


@router.get("/expression/top", responses=LIST, summary="Most expressed genes of a tissue")
def top(request: Request, release: ReleaseDep, tissue: Annotated[str, Query(max_length=64)],
        n: Annotated[int, Query(ge=1, le=1000)] = 50,
        exclude_mito: Annotated[bool, Query(description="leave out mitochondrial genes")] = False,
        format: FormatParam = "json"):
    rows = release.top_expressed(tissue, n, exclude_mito)
    return list_response(request, release.id, rows, fmt=format, name=f"top_expressed.{tissue}")


@router.get("/expression/{gene}", responses=LIST, summary="Per-sample expression (TPM) of a gene in one or all tissues")
def per_sample(request: Request, release: ReleaseDep, gene: Annotated[str, Path(max_length=200)],
               tissue: Annotated[str | None, Query(max_length=64)] = None, format: FormatParam = "json"):
    gene_id = release.gene(gene)["gene_id"]
    rows = release.expression(gene_id, tissue)
    return list_response(request, release.id, pd.DataFrame(rows), fmt=format, name=f"expression.{gene_id}")
