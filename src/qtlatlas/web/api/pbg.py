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
            summary="Normalised phenotype values per sample with genotypes, counts per genotype class, the pair's "
                    "mapped nominal statistics (with covariates), the phenotype's significance threshold and an "
                    "unadjusted regression (no covariates)")
def phenotype_by_genotype(request: Request, release: ReleaseDep, phenotype_id: Text, variant: Text, tissue: Text,
                          modality: Text):
    """The values behind a QTL plot of one phenotype × variant in a tissue × modality.

    - `samples`, `values` (normalised values; for expression in a release without them its unnormalised
      values: `value_kind` "tpm", in `value_unit`, the release's unit, TPM unless atlas.yaml declares another),
      `genotypes` (ALT dosage 0/1/2, null when missing), `counts` per genotype class, `n` (samples with both).
    - **The mapped statistics of the pair** (the nominal pass of the mapping model, with its covariates;
      tensorQTL's names): `pval_nominal`, `slope`, `slope_se`, `nlog10p` (−log10 `pval_nominal`, exact where
      the release gives it) and `statistics_source`: `nominal` (the release's nominal pass), or, for a release
      without one, `significant_pairs`, `top` or `independent` (the QTL table holding the pair; an independent
      QTL's statistics are conditional on the phenotype's other signals); all null when the release has none.
    - `pval_nominal_threshold`: the phenotype's significance threshold (top QTL table).
    - `slope_unadjusted`, `slope_se_unadjusted`, `pval_unadjusted`: a simple regression of the plotted values
      on the dosage WITHOUT covariates. It illustrates the plot; it is not the mapped result.
    """
    variant_id = release.variant(variant)["variant_id"]
    data = release.phenotype_by_genotype(phenotype_id, variant_id, tissue, modality)
    return json_response(request, release.id, {"data": data, "meta": {"release": release.id}})
