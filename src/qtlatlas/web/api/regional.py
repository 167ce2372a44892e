"""The data of a regional plot: one phenotype's cis window with LD, threshold, independent signals and genes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from ..deps import ReleaseDep
from ..regional import regional_data
from ..responses import json_response
from .common import ERRORS

router = APIRouter(tags=["regional plots"])
PAYLOAD = {200: {"description": "`data`: the plot's payload (see the description)"}, **ERRORS}


@router.get("/regional/gene/{gene}", responses=PAYLOAD,
            summary="A regional plot of a gene's phenotype: every tested variant of its cis window with r² to a "
                    "reference, its threshold, the gene's independent signals and the window's genes",
            description="`data`: `tissue, modality, phenotype_id, gene_id, chrom, phenotype_pos`, `window` "
                        "([start, end] of the cis window: the phenotype's position ± the release's mapping window), "
                        "`threshold` (the phenotype's `pval_nominal_threshold`, null without one), `n_total` (pairs "
                        "of the window) and `min_nlog10p` (null; or the −log10 p below which variants were left out "
                        "of a window of more than 20,000), `variants` (column arrays by position: `id`, `pos`, "
                        "`nlog10p` to 3 decimals, `slope` to 3 significant digits), `lead` (index of the smallest p), "
                        "`reference` (the LD reference: `reference=`, else the lead), `r2` (r² with it over the "
                        "tissue's samples, aligned with `variants`, 3 decimals, null where unknown; null with "
                        "`ld_note` when the release has no LD), `ld_region`, `independent` (the gene's independent "
                        "QTLs of the tissue × modality: `variant_id, rank, phenotype_id, p, i` = index among "
                        "`variants` or -1), `genes` (the window's genes with `exons` merged over transcripts) and "
                        "`finemapping` (null when the phenotype was not fine-mapped; else `pip` aligned with "
                        "`variants`, 3 decimals, null where not fine-mapped; `cs`: index into `sets` or null; "
                        "`sets`: SuSiE credible sets `id, size, drawn, max_pip`, by largest PIP).")
def regional(request: Request, release: ReleaseDep,
             gene: Annotated[str, Path(max_length=200, description="gene id or symbol")],
             tissue: Annotated[str, Query(min_length=1, max_length=200, description="tissue id")],
             modality: Annotated[str, Query(min_length=1, max_length=50, description="modality id")],
             phenotype: Annotated[str | None, Query(max_length=300, description="one phenotype of the gene "
                                                    "(default: the one of the most significant top QTL)")] = None,
             reference: Annotated[str | None, Query(max_length=200, description="LD reference variant (default: "
                                                    "the phenotype's lead)")] = None):
    g = release.resolve_gene(gene)
    data = regional_data(release, g, tissue, modality, phenotype or None, reference=reference or None)
    return json_response(request, release.id, {"data": data, "meta": {"release": release.id}})
