"""The questions of the RatGTEx routes asked through qtlatlas's own REST API (``/api/v1``), so that both of its
interfaces are loaded with the same ids: a RatGTEx query string becomes the equivalent ``/api/v1`` path."""

from __future__ import annotations

import urllib.parse


def api_v1_path(endpoint: str, query: str, release: str = "v4") -> str | None:
    """The ``/api/v1`` path answering what ``/compat/ratgtex/{release}/{endpoint}?{query}`` answers, or None when
    the API has no single equivalent."""
    q = {k: v[0] for k, v in urllib.parse.parse_qs(query).items()}
    gene, tissue, variant = (urllib.parse.quote(q.get(k, ""), safe=",")
                             for k in ("geneId", "tissueSiteDetailId", "variantId"))
    tail = f"release={release}"
    paths = {
        "gene": f"/api/v1/genes/{gene}?{tail}",
        "geneExpression": f"/api/v1/expression/{gene}?{tail}",
        "medianGeneExpression": f"/api/v1/expression/clustered?genes={gene}&log=false&{tail}",
        "singleTissueEqtl": f"/api/v1/qtls/pairs?gene={gene}&modality=expression&limit=10000&{tail}",
        "eqtl": f"/api/v1/qtls/independent?gene={gene}&modality=expression&limit=10000&{tail}",
        "xqtl": f"/api/v1/qtls/independent?gene={gene}&limit=10000&{tail}",
        "dyneqtl": (f"/api/v1/phenotype-by-genotype?phenotype_id={gene}&variant={variant}&tissue={tissue}"
                    f"&modality=expression&{tail}"),
        "variant": f"/api/v1/variants/{variant}?{tail}",
        "exon": f"/api/v1/genes/{gene}/exons?{tail}",
        "tissueInfo": f"/api/v1/tissues?{tail}",
        "topExpressedGene": f"/api/v1/expression/top?tissue={tissue}&n=50&{tail}",
    }
    return paths.get(endpoint)
