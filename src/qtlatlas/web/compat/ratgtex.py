"""GTEx/RatGTEx-compatible routes: ``/compat/ratgtex/{release}/{endpoint}``.

The RatGTEx portal API's endpoint names, query parameters (``geneId``, ``tissueSiteDetailId``, ``variantId``;
comma-separated lists) and response fields, field by field with RatGTEx's meaning, over any release of this
site (docs/api.md lists them; extra fields are added, never renamed):

* ``gene``: ``geneId, chromosome, start, end, strand, tss, description, hasEqtl`` and ``statusInTissue``
  (``tissueSiteDetailId, expressed, testedEqtl, eqtl`` for every tissue of the release);
* ``geneExpression``: per tissue ``data`` (TPM of every sample, at float32 precision), ``datasetId, geneId,
  geneSymbol, tissueSiteDetailId, unit``;
* ``medianGeneExpression``: ``medianGeneExpression`` rows (``geneId, tissueSiteDetailId, median``) and
  ``clusters`` — Newick trees of genes and tissues clustered on the medians as RatGTEx clusters them;
* ``eqtl`` (independent eQTLs: ``tissueSiteDetailId, geneId, variantId, ref, alt, pval_beta, log2_aFC``),
  ``xqtl`` (independent cross-modality xQTLs, adding ``modality, phenotypeId``), ``singleTissueEqtl``
  (significant pairs: ``variantId, pValue, nes, chromosome, pos, tissueSiteDetailId, geneId``);
* ``dyneqtl``: expression by genotype — ``data`` (TPM), ``genotypes``, genotype counts, ``maf`` (RatGTEx's:
  the ALT allele frequency among the called samples), ``pValue`` (the mapped nominal p-value of the pair, with
  the mapping's covariates: from the release's nominal pass, else its significant pairs or top QTLs; never a
  regression without covariates), ``pValueThreshold``; added: ``pValueSource`` (where ``pValue`` comes from) and
  ``pValueMissingReason`` (why ``pValue`` is null; null when it is not);
* ``variant``, ``exon``, ``tissueInfo``, ``topExpressedGene``.

A missing or empty parameter (the OpenAPI description marks them required) answers 400 naming it, as RatGTEx's
clients expect a 400 rather than the API's 422.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Annotated

import numpy as np
from fastapi import APIRouter, Path, Query, Request

from ...store import BadQuery, NotFound
from ...store.params import MAX_TEXT, is_clean
from ..access import site_of
from ..api.common import ERRORS
from ..responses import json_response
from .ratgtex_rows import exon_rows, median_rows, qtl_rows, single_tissue_rows, xqtl_rows

router = APIRouter(prefix="/compat/ratgtex/{release}", tags=["RatGTEx-compatible"], responses=ERRORS)
ReleaseId = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$")]
#: A required id parameter: the schema says so (min length 1), and a missing or empty one answers 400 (see
#: :mod:`qtlatlas.web.errors`), as this module's own checks do for values that hold no id (" , ").
def _required(alias: str, description: str):
    return Annotated[str, Query(alias=alias, min_length=1, max_length=5000, pattern=ID_LIST_PATTERN,
                                description=description)]


#: Tables of mapped statistics ``dyneqtl`` reads after the nominal look-up (see ``ReleaseStore.mapped_statistics``):
#: those that hold the pair's own nominal p-value, as RatGTEx's ``pValue`` is.
DYNEQTL_TABLES = ("significant_pairs", "top")
#: ``pValueMissingReason`` of a pair without a mapped p-value (``pValue`` is then null, never a substitute).
NO_MAPPED_PVALUE = ("no mapped nominal p-value of this variant-gene pair in this tissue in this release: not tested "
                    "(outside the cis window, or filtered), or not published (no nominal pass, and the pair is in "
                    "neither the significant pairs nor the top eQTLs)")


#: Ids, comma-separated: at least one character that is neither a space nor a comma, and no control character.
ID_LIST_PATTERN = r"^[^\x00-\x1f\x7f]*[^\s,\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"


GeneParam = _required("geneId", "gene id or symbol")
GeneListParam = _required("geneId", "gene ids or symbols, comma-separated")
TissueParam = _required("tissueSiteDetailId", "tissue id")
VariantParam = _required("variantId", "variant id")
VariantListParam = _required("variantId", "variant ids, comma-separated")
OptionalTissues = Annotated[str | None, Query(alias="tissueSiteDetailId", max_length=5000,
                                              description="tissue ids, comma-separated (default: every tissue)")]
#: Most ids of a comma-separated list.
MAX_IDS = 100


def _store(request: Request, release: str):
    return site_of(request).release(release)


def _ids(value: str | None, param: str, *, one: bool = False) -> list[str]:
    """The non-empty, clean ids of a comma-separated parameter; 400 when there is none (or more than one
    with ``one``, or more than :data:`MAX_IDS`)."""
    ids = [x.strip() for x in (value or "").split(",") if x.strip()]
    if not ids:
        raise BadQuery(param, "required (one id)" if one else "required (one or more ids, comma-separated)")
    if one and len(ids) > 1:
        raise BadQuery(param, "takes one id")
    if len(ids) > MAX_IDS:
        raise BadQuery(param, f"more than {MAX_IDS} ids")
    bad = [x for x in ids if not is_clean(x, MAX_TEXT)]
    if bad:
        raise BadQuery(param, "contains characters that cannot appear in an id")
    return ids


def _gene_or_none(store, gene: str) -> dict | None:
    try:
        return store.resolve_gene(gene)
    except NotFound:
        return None


def _dataset_id(store) -> str:
    """RatGTEx's ``datasetId``: the release's id where it was first published (``dataset_id`` of atlas.yaml, e.g.
    ratgtex_v4), else the release id."""
    return str(store.info.get("dataset_id") or store.id)


def _dataset(store) -> str:
    """RatGTEx's ``dataset`` of a tissue: the genotype data set its samples come from (the name of the release's
    genotype file without its suffixes)."""
    files = store.info.get("genotypes") or []
    return PurePath(str(files[0])).name.split(".")[0] if files else store.id


@router.get("/tissueInfo", summary="Tissues (RatGTEx tissueInfo)")
async def tissue_info(request: Request, release: ReleaseId):  # async: a memo lookup, no handler thread
    store = _store(request, release)
    return json_response(request, store.id, {"tissueInfo": store.memo("ratgtex:tissueInfo", lambda: _tissue_rows(store))})


def _tissue_rows(store) -> list[dict]:
    dataset = _dataset(store)
    rows = []
    for t in store.tissues():
        colour = str(t.get("colour") or "#7f7f7f").lstrip("#")
        n_egenes = (t.get("counts", {}).get("expression") or {}).get("n_egenes")
        rows.append({
            "tissueSiteDetailId": t["tissue_id"], "tissueSiteDetailAbbr": t.get("abbreviation") or t["tissue_id"],
            "tissueSiteDetail": t["name"], "tissueSite": t.get("site") or t["name"], "colorHex": colour,
            "colorRgb": ",".join(str(int(colour[i:i + 2], 16)) for i in (0, 2, 4)), "dataset": dataset,
            "rnaSeqSampleCount": t["n_samples"], "rnaSeqAndGenotypeSampleCount": t["n_samples"],
            "expressedGeneCount": t["n_expressed_genes"], "eGeneCount": n_egenes, "datasetId": _dataset_id(store),
            "hasEGenes": bool(n_egenes), "uberonId": t.get("ontology_id")})
    return rows


@router.get("/gene", summary="Genes with their status per tissue (RatGTEx gene)")
def gene(request: Request, release: ReleaseId, gene_id: GeneListParam):
    store = _store(request, release)
    tissues = store.tissue_ids()
    out = []
    for g in _ids(gene_id, "geneId"):
        try:
            info = store.gene(g)
        except NotFound:  # unknown ids are skipped, as RatGTEx does
            continue
        status = {s["tissue"]: s for s in info.get("status", []) if s["modality"] == "expression"}
        out.append({"geneId": info["gene_id"], "chromosome": info["chrom"], "start": info["start"],
                    "end": info["end"], "strand": info["strand"], "tss": info["tss"],
                    "description": info.get("description") or "", "hasEqtl": store.has_significant_eqtl(info),
                    "geneSymbol": info.get("gene_name"),
                    "statusInTissue": [{"tissueSiteDetailId": t,
                                        "expressed": bool(status.get(t, {}).get("expressed", False)),
                                        "testedEqtl": bool(status.get(t, {}).get("tested", False)),
                                        "eqtl": bool(status.get(t, {}).get("has_qtl", False))} for t in tissues]})
    return json_response(request, store.id, {"gene": out})


@router.get("/geneExpression", summary="Per-sample expression of a gene in every tissue (RatGTEx geneExpression)")
def gene_expression(request: Request, release: ReleaseId, gene_id: GeneParam, tissue: OptionalTissues = None):
    store = _store(request, release)
    info = store.resolve_gene(_ids(gene_id, "geneId", one=True)[0])
    wanted = [x.strip() for x in (tissue or "").split(",") if x.strip()] or None
    out = [{"data": values, "datasetId": _dataset_id(store), "geneId": info["gene_id"],
            "geneSymbol": info.get("gene_name"),
            "tissueSiteDetailId": t, "unit": store.value_unit()}
           for t, _samples, values in store.expression_arrays(info["gene_id"], wanted)]
    return json_response(request, store.id, {"geneExpression": out})


@router.get("/medianGeneExpression", summary="Median expression with gene and tissue clusters (RatGTEx)")
def median_gene_expression(request: Request, release: ReleaseId, gene_id: GeneListParam,
                           tissue: OptionalTissues = None):
    store = _store(request, release)
    genes = [g for g in (_gene_or_none(store, x) for x in _ids(gene_id, "geneId")) if g is not None]
    tissues = [x.strip() for x in (tissue or "").split(",") if x.strip()] or None
    return json_response(request, store.id, median_rows(store, list(dict.fromkeys(g["gene_id"] for g in genes)),
                                                        tissues))


@router.get("/topExpressedGene", summary="The 50 most expressed genes of a tissue (RatGTEx)")
def top_expressed_gene(request: Request, release: ReleaseId, tissue: TissueParam,
                       filter_mt: Annotated[str | None, Query(alias="filterMtGene", max_length=10,
                                                              pattern="^(?i:true|false|1|0)$")] = None):
    store = _store(request, release)
    t = _ids(tissue, "tissueSiteDetailId", one=True)[0]
    flag = (filter_mt or "false").strip().lower()
    if flag not in ("true", "false", "1", "0"):
        raise BadQuery("filterMtGene", "true or false")
    t = store.check_tissue(t)
    filtered = flag in ("true", "1")

    def load() -> list[dict]:
        rows = store.top_expressed(t, 50, filtered)
        chroms = store.gene_chromosomes(list(rows["gene_id"]))
        return [{"tissueSiteDetailId": r.tissue, "geneId": r.gene_id, "median": r.median,
                 "chromosome": chroms.get(r.gene_id), "datasetId": _dataset_id(store), "unit": store.value_unit(),
                 "geneSymbol": r.gene_name}
                for r in rows.itertuples()]

    return json_response(request, store.id, {"topExpressedGene": store.memo(f"ratgtex:top:{t}:{filtered}", load)})


@router.get("/eqtl", summary="Conditionally independent expression QTLs of a gene (RatGTEx eqtl)")
def eqtl(request: Request, release: ReleaseId, gene_id: GeneParam):
    store = _store(request, release)
    info = _gene_or_none(store, _ids(gene_id, "geneId", one=True)[0])
    rows = [] if info is None else qtl_rows(store, info, "independent", ["expression"])
    return json_response(request, store.id, {"eqtl": rows})


@router.get("/xqtl", summary="Conditionally independent cross-modality xQTLs of a gene (RatGTEx xqtl)")
def xqtl(request: Request, release: ReleaseId, gene_id: GeneParam):
    store = _store(request, release)
    info = _gene_or_none(store, _ids(gene_id, "geneId", one=True)[0])
    return json_response(request, store.id, {"xqtl": [] if info is None else xqtl_rows(store, info)})


@router.get("/singleTissueEqtl", summary="Significant variant–gene pairs of a gene, per tissue (RatGTEx)")
def single_tissue_eqtl(request: Request, release: ReleaseId, gene_id: GeneParam):
    store = _store(request, release)
    info = _gene_or_none(store, _ids(gene_id, "geneId", one=True)[0])
    return json_response(request, store.id, {"singleTissueEqtl": [] if info is None else single_tissue_rows(store, info)})


@router.get("/dyneqtl", summary="Expression by genotype for a variant–gene pair in a tissue (RatGTEx dyneqtl)")
def dyneqtl(request: Request, release: ReleaseId, variant: VariantParam, gene_id: GeneParam, tissue: TissueParam):
    store = _store(request, release)
    variant_id = _ids(variant, "variantId", one=True)[0]
    gene_text = _ids(gene_id, "geneId", one=True)[0]
    t = store.check_tissue(_ids(tissue, "tissueSiteDetailId", one=True)[0])
    info = store.resolve_gene(gene_text)
    v = store.variant(variant_id)
    found = [(s, x) for tt, s, x in store.expression_arrays(info["gene_id"], [t]) if tt == t]
    if not found:
        raise NotFound("expression of gene", info["gene_id"], detail=f"in tissue {t} of release {store.id}")
    samples, values = found[0]
    dosage = store.dosages(v, samples)
    called = (dosage >= 0) & (dosage <= 2)
    counts = [int(np.sum(dosage[called] == k)) for k in (0, 1, 2)]
    n = sum(counts)
    # the pair's p-value in the mapping model; an independent QTL's is conditional on other signals, not this one
    mapped = store.mapped_statistics(t, "expression", info["gene_id"], v["variant_id"], tables=DYNEQTL_TABLES)
    pval = mapped["pval_nominal"]
    payload = {"data": values, "geneId": info["gene_id"],
               "genotypes": [int(d) if ok else None for d, ok in zip(dosage.tolist(), called.tolist(), strict=True)],
               "hetCount": counts[1], "homoAltCount": counts[2], "homoRefCount": counts[0],
               "maf": (counts[1] + 2 * counts[2]) / (2 * n) if n else None, "ref": v.get("ref"), "alt": v.get("alt"),
               "pValue": pval, "pValueSource": mapped["statistics_source"],
               "pValueMissingReason": None if pval is not None else NO_MAPPED_PVALUE,
               "pValueThreshold": store.nominal_threshold(t, "expression", info["gene_id"]),
               "tissueSiteDetailId": t, "variantId": variant_id, "geneSymbol": info.get("gene_name")}
    return json_response(request, store.id, payload)


@router.get("/variant", summary="Variants by id (RatGTEx variant)")
def variant(request: Request, release: ReleaseId, variant_id: VariantListParam):
    store = _store(request, release)
    out = []
    for v in _ids(variant_id, "variantId"):
        try:
            info = store.variant(v)
        except NotFound:  # unknown ids are skipped, as RatGTEx does
            continue
        out.append({"alt": info.get("alt"), "chromosome": info["chrom"], "pos": info["pos"], "ref": info.get("ref"),
                    "variantId": v})
    return json_response(request, store.id, {"variant": out})


@router.get("/exon", summary="Exons of a gene (RatGTEx exon)")
def exon(request: Request, release: ReleaseId, gene_id: GeneParam):
    store = _store(request, release)
    info = _gene_or_none(store, _ids(gene_id, "geneId", one=True)[0])
    return json_response(request, store.id, {"exon": [] if info is None else exon_rows(store, info)})
