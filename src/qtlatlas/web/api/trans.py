"""trans-QTLs: pairs below the trans reporting threshold, by target gene, variant or region, and hotspots."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from ..deps import ReleaseDep
from ..responses import list_response
from .common import FormatParam, ModalitiesParam, TissuesParam
from .row_schemas import TRANS, TRANS_HOTSPOTS

router = APIRouter(tags=["qtls"])
RegionParam = Annotated[str | None, Query(max_length=100, description="chr:start-end (1-based, inclusive; at most 2 Mb)")]
_ROWS = ("Rows: `tissue, modality, phenotype_id, gene_id, gene_name` (the target phenotype and its gene), `variant_id, "
         "chrom, pos, af`, tensorQTL's map_trans statistics `pval, b, b_se, r2`, and `cis_genes`: the genes (symbols, "
         "comma-separated) of which the variant is a significant cis pair in the same tissue, any modality — the "
         "candidate mediators of the trans effect. Most significant first. Only pairs below the release's trans "
         "reporting threshold (atlas.yaml mapping.trans_pval_threshold) are kept; 404 for a release built without "
         "trans mapping.")


@router.get("/qtls/trans", responses=TRANS, summary="trans-QTLs of a target gene, of a variant, or of variants in a region",
            description=_ROWS)
def trans_qtls(request: Request, release: ReleaseDep,
               gene: Annotated[str | None, Query(max_length=200, description="target gene id or symbol")] = None,
               variant: Annotated[str | None, Query(max_length=200, description="variant id")] = None,
               region: RegionParam = None, tissue: TissuesParam = None, modality: ModalitiesParam = None,
               format: FormatParam = "json"):
    release.check_trans()
    rows = release.trans_qtls(gene=gene, variant=variant, region=region, tissues=tissue, modalities=modality)
    return list_response(request, release.id, rows, len(rows), None, format, name="trans_qtls")


@router.get("/qtls/trans/hotspots", responses=TRANS_HOTSPOTS, summary="trans hotspots: loci with many trans targets",
            description="Rows: `tissue, modality, chrom, start, end` (the span of the locus's variants with trans "
            "pairs; variants closer than 500 kb form one locus), `lead_variant` and its `pval`, `n_variants`, "
            "`n_targets` (distinct target genes), `targets` (the first 10 symbols, most significant first), "
            "`cis_genes` of the lead. Loci with at least `min_targets` targets, the most targets first.")
def trans_hotspots(request: Request, release: ReleaseDep, tissue: TissuesParam = None,
                   modality: ModalitiesParam = None,
                   min_targets: Annotated[int, Query(ge=1, le=100_000, description="fewest targets of a hotspot")] = 2,
                   format: FormatParam = "json"):
    release.check_trans()
    rows = release.trans_hotspots(tissues=tissue, modalities=modality, min_targets=min_targets)
    return list_response(request, release.id, rows, len(rows), None, format, name="trans_hotspots")
