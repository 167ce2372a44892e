"""GTEx/RatGTEx-compatible routes: ``/compat/ratgtex/{release}/{endpoint}``.

Same endpoint names, query parameters (``geneId``, ``tissueSiteDetailId``, ``variantId``, comma-separated
lists) and response fields as the RatGTEx portal API (``{"gene": [...]}``, ``tissueSiteDetailId``,
``geneId``, ``variantId``, ``pValue``, ``nes``, ``pValueBeta``, ``log2aFC``, ``genotypes``,
``homoRefCount``, …), over any release of this site. ``eqtl`` lists expression QTLs; ``xqtl`` the QTLs of every
modality.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
import pandas as pd
from fastapi import APIRouter, Path, Query, Request

from ...analysis.clustering import cluster_order
from ...store import NotFound
from ..api.common import ERRORS
from ..responses import json_response, records

router = APIRouter(prefix="/compat/ratgtex/{release}", tags=["RatGTEx-compatible"], responses=ERRORS)
ReleaseId = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$")]
GeneIds = Annotated[str, Query(alias="geneId", max_length=5000, description="gene id(s) or symbol(s), comma-separated")]
Tissues = Annotated[str | None, Query(alias="tissueSiteDetailId", max_length=2000)]


def _store(request: Request, release: str):
    return request.app.state.site.release(release)


def _split(text: str | None) -> list[str]:
    return [x.strip() for x in (text or "").split(",") if x.strip()]


def _qtl_rows(frame: pd.DataFrame) -> list[dict]:
    renamed = frame.rename(columns={"tissue": "tissueSiteDetailId", "gene_id": "geneId", "variant_id": "variantId",
                                    "phenotype_id": "phenotypeId", "pval_nominal": "pValue", "slope": "nes",
                                    "pval_beta": "pValueBeta", "log2_aFC": "log2aFC", "chrom": "chromosome",
                                    "qval": "qValue"})
    keep = [c for c in ("tissueSiteDetailId", "modality", "geneId", "phenotypeId", "variantId", "chromosome", "pos",
                        "ref", "alt", "pValue", "nes", "pValueBeta", "qValue", "log2aFC", "rank") if c in renamed]
    return records(renamed[keep])


@router.get("/tissueInfo", summary="Tissues (RatGTEx tissueInfo)")
def tissue_info(request: Request, release: ReleaseId):
    store = _store(request, release)
    rows = [{"tissueSiteDetailId": t["tissue_id"], "tissueSiteDetail": t["name"], "colorHex": t["colour"].lstrip("#"),
             "uberonId": t.get("ontology_id"), "rnaSeqSampleCount": t["n_samples"],
             "expressedGeneCount": t["n_expressed_genes"],
             "eGeneCount": (t.get("counts", {}).get("expression") or {}).get("n_egenes"), "datasetId": store.id}
            for t in store.tissues()]
    return json_response(request, store.id, {"tissueInfo": rows})


@router.get("/gene", summary="Genes with their status per tissue (RatGTEx gene)")
def gene(request: Request, release: ReleaseId, gene_id: GeneIds):
    store = _store(request, release)
    out = []
    for g in _split(gene_id):
        try:
            info = store.gene(g)
        except NotFound:  # unknown ids are skipped, as RatGTEx does
            continue
        status = [s for s in info.get("status", []) if s["modality"] == "expression"]
        out.append({"geneId": info["gene_id"], "geneSymbol": info.get("gene_name"), "chromosome": info["chrom"],
                    "start": info["start"], "end": info["end"], "strand": info["strand"], "tss": info["tss"],
                    "description": info.get("gene_type", ""),
                    "statusInTissue": [{"tissueSiteDetailId": s["tissue"], "expressed": bool(s["expressed"]),
                                        "testedEqtl": bool(s["tested"]), "eqtl": bool(s["has_qtl"])} for s in status]})
    return json_response(request, store.id, {"gene": out})


@router.get("/geneExpression", summary="Per-sample expression of a gene in every tissue (RatGTEx geneExpression)")
def gene_expression(request: Request, release: ReleaseId, gene_id: GeneIds, tissue: Tissues = None):
    store = _store(request, release)
    info = store.gene(_split(gene_id)[0])
    rows = store.expression(info["gene_id"])
    wanted = set(_split(tissue))
    out = [{"data": [float(v) for v in part["tpm"]], "datasetId": store.id, "geneId": info["gene_id"],
            "geneSymbol": info.get("gene_name"), "tissueSiteDetailId": t, "unit": "TPM"}
           for t, part in rows.groupby("tissue", sort=False) if not wanted or t in wanted]
    return json_response(request, store.id, {"geneExpression": out})


@router.get("/medianGeneExpression", summary="Median expression with gene and tissue clusters (RatGTEx)")
def median_gene_expression(request: Request, release: ReleaseId, gene_id: GeneIds, tissue: Tissues = None):
    store = _store(request, release)
    ids = []
    for g in _split(gene_id)[:100]:
        try:
            ids.append(store.gene(g)["gene_id"])
        except NotFound:
            continue
    rows = store.medians(ids, _split(tissue) or None)
    matrix = rows.pivot_table(index="gene_id", columns="tissue", values="median", aggfunc="first")
    values = np.log2(matrix.to_numpy(float) + 1)
    gene_tree = cluster_order(values, list(matrix.index))[1] if len(matrix) > 1 else "Not enough data"
    tissue_tree = cluster_order(values.T, list(matrix.columns))[1] if matrix.shape[1] > 1 else "Not enough data"
    data = [{"geneId": r.gene_id, "tissueSiteDetailId": r.tissue, "median": r.median} for r in rows.itertuples()]
    return json_response(request, store.id, {"clusters": {"gene": gene_tree, "tissue": tissue_tree},
                                             "medianGeneExpression": data})


@router.get("/topExpressedGene", summary="The 50 most expressed genes of a tissue (RatGTEx)")
def top_expressed_gene(request: Request, release: ReleaseId,
                       tissue: Annotated[str, Query(alias="tissueSiteDetailId", max_length=64)],
                       filter_mt: Annotated[bool, Query(alias="filterMtGene")] = False):
    store = _store(request, release)
    rows = store.top_expressed(tissue, 50, filter_mt).rename(columns={"gene_id": "geneId", "gene_name": "geneSymbol",
                                                                      "tissue": "tissueSiteDetailId"})
    return json_response(request, store.id, {"topExpressedGene": records(rows)})


def _qtls(request: Request, release: str, gene_id: str, modalities: list[str] | None, kind: str = "independent"):
    store = _store(request, release)
    ids = [store.gene(g)["gene_id"] for g in _split(gene_id)]
    rows, _, _ = store.qtls(kind, genes=ids, modalities=modalities, limit=10_000)
    return store, _qtl_rows(rows)


@router.get("/eqtl", summary="Conditionally independent expression QTLs of a gene (RatGTEx eqtl)")
def eqtl(request: Request, release: ReleaseId, gene_id: GeneIds):
    store, rows = _qtls(request, release, gene_id, ["expression"])
    return json_response(request, store.id, {"eqtl": rows})


@router.get("/xqtl", summary="Conditionally independent QTLs of a gene in every modality")
def xqtl(request: Request, release: ReleaseId, gene_id: GeneIds):
    store, rows = _qtls(request, release, gene_id, None)
    return json_response(request, store.id, {"xqtl": rows})


@router.get("/singleTissueEqtl", summary="Significant variant–gene pairs of a gene, per tissue (RatGTEx)")
def single_tissue_eqtl(request: Request, release: ReleaseId, gene_id: GeneIds):
    store = _store(request, release)
    rows, _, _ = store.pairs(gene=_split(gene_id)[0], modalities=["expression"], limit=10_000)
    return json_response(request, store.id, {"singleTissueEqtl": _qtl_rows(rows)})


@router.get("/dyneqtl", summary="Expression by genotype for a variant–gene pair in a tissue (RatGTEx dyneqtl)")
def dyneqtl(request: Request, release: ReleaseId, variant: Annotated[str, Query(alias="variantId", max_length=200)],
            gene_id: Annotated[str, Query(alias="geneId", max_length=200)],
            tissue: Annotated[str, Query(alias="tissueSiteDetailId", max_length=64)]):
    store = _store(request, release)
    gene_info = store.gene(gene_id)
    variant_info = store.variant(variant)
    pbg = store.phenotype_by_genotype(gene_info["gene_id"], variant_info["variant_id"], tissue, "expression")
    counts = pbg["counts"]
    n = counts["hom_ref"] + counts["het"] + counts["hom_alt"]
    payload = {"data": pbg["values"], "geneId": gene_info["gene_id"], "genotypes": pbg["genotypes"],
               "homoRefCount": counts["hom_ref"], "hetCount": counts["het"], "homoAltCount": counts["hom_alt"],
               "maf": (counts["het"] + 2 * counts["hom_alt"]) / (2 * n) if n else None,
               "ref": variant_info.get("ref"), "alt": variant_info.get("alt"), "pValue": pbg.get("pval"),
               "pValueThreshold": pbg.get("pval_nominal_threshold"), "tissueSiteDetailId": tissue,
               "variantId": variant_info["variant_id"]}
    return json_response(request, store.id, payload)


@router.get("/variant", summary="Variants by id (RatGTEx variant)")
def variant(request: Request, release: ReleaseId, variant_id: Annotated[str, Query(alias="variantId", max_length=5000)]):
    store = _store(request, release)
    out = []
    for v in _split(variant_id):
        try:
            info = store.variant(v)
        except NotFound:
            continue
        out.append({"variantId": info["variant_id"], "chromosome": info["chrom"], "pos": info["pos"],
                    "ref": info.get("ref"), "alt": info.get("alt")})
    return json_response(request, store.id, {"variant": out})


@router.get("/exon", summary="Exons of a gene (RatGTEx exon)")
def exon(request: Request, release: ReleaseId, gene_id: GeneIds):
    store = _store(request, release)
    info = store.gene(_split(gene_id)[0])
    structure = store.exons(info["gene_id"])
    rows = [{"geneId": info["gene_id"], "transcriptId": e.get("transcript_id"), "exonNumber": e.get("exon_number"),
             "chromosome": e.get("chrom"), "start": e.get("start"), "end": e.get("end"), "strand": e.get("strand")}
            for e in structure["exons"]]
    return json_response(request, store.id, {"exon": rows})
