"""Samples and individuals of a release: the published sample and individual tables (atlas.yaml ``samples`` /
``individuals``), or, for a release without them, the mapped samples of each tissue, each its own individual."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from fastapi import APIRouter, Query, Request

from ...store.params import decode_cursor, encode_cursor
from ..deps import ReleaseDep
from ..responses import list_response
from .common import CursorParam, FormatParam, PageParam, page_cursor
from .row_schemas import INDIVIDUALS, SAMPLE_QC, SAMPLES

router = APIRouter(tags=["samples"])
TissueParam = Annotated[str | None, Query(max_length=100, description="tissue id")]
LimitParam = Annotated[int, Query(ge=1, le=100_000, description="rows per page")]
_DERIVED = ("A release built without sample tables answers the samples of each tissue's phenotype BEDs, each its "
            "own individual of unknown sex.")


def _page(request: Request, release, rows: pd.DataFrame, kind: str, cursor: str | None, page: int | None,
          limit: int, fmt, name: str):
    offset = decode_cursor(page_cursor(kind, cursor, page, limit), kind)
    end = offset + limit
    following = encode_cursor(end, kind) if end < len(rows) else None
    return list_response(request, release.id, rows.iloc[offset:end], len(rows), following, fmt, name=name)


@router.get("/samples", responses=SAMPLES, summary="RNA samples: individual, tissue, accession, FASTQ files",
            description="Rows: `sample_id, individual_id, tissue, accession, fastq` (file names separated by `;`), "
            "`batch`, then the atlas's further metadata columns, in the published order. 404 naming an unknown "
            f"tissue or individual. {_DERIVED}")
def samples(request: Request, release: ReleaseDep, tissue: TissueParam = None,
            individual: Annotated[str | None, Query(max_length=200, description="individual id")] = None,
            limit: LimitParam = 10_000, cursor: CursorParam = None, page: PageParam = None,
            format: FormatParam = "json"):
    rows = release.sample_rows(tissue=tissue, individual=individual)
    return _page(request, release, rows, "samples", cursor, page, limit, format, "samples")


@router.get("/individuals", responses=INDIVIDUALS, summary="Individuals: sex, batch and the tissues sampled",
            description="Rows: `individual_id, sex` (female, male or empty when unknown), `batch`, the atlas's "
            "further metadata columns, `n_tissues` and `tissues` (comma-separated; of the tissues the request may see, "
            "individuals sampled only in others left out). `sex=unknown` selects those of "
            "unknown sex; 400 for another value, 404 naming an unknown tissue. " + _DERIVED)
def individuals(request: Request, release: ReleaseDep,
                sex: Annotated[str | None, Query(max_length=20, description="female, male or unknown")] = None,
                tissue: TissueParam = None, limit: LimitParam = 10_000, cursor: CursorParam = None,
                page: PageParam = None, format: FormatParam = "json"):
    rows = release.individual_rows(sex=sex, tissue=tissue)
    return _page(request, release, rows, "individuals", cursor, page, limit, format, "individuals")


@router.get("/samples/qc", responses=SAMPLE_QC, summary="Sample quality control: sex and identity checks",
            description="The release's sample QC report (`qtlatlas validate --qc` / the pipeline's sample_qc task): "
            "one `sex` row per individual (declared sex against the expression of the sex marker genes) and one "
            "`identity` row per sample and tissue (the sample's RNA against every individual's genotypes at the "
            "tissue's strongest cis-QTLs). `flagged=true` keeps what needs a look; `check=` one of sex, identity "
            "(400 otherwise); `tissue=` (404 naming an unknown one). No rows when the release has no report. Rows "
            "that name a tissue the request may not see are left out (the sex row of an individual sampled there too: "
            "its score pools every sample).")
def sample_qc(request: Request, release: ReleaseDep,
              check: Annotated[str | None, Query(max_length=20, description="sex or identity")] = None,
              flagged: Annotated[bool, Query(description="only flagged rows")] = False,
              tissue: TissueParam = None, limit: LimitParam = 10_000, cursor: CursorParam = None,
              page: PageParam = None, format: FormatParam = "json"):
    rows = release.sample_qc_rows(check=check or None, flagged=flagged, tissue=tissue or None)
    return _page(request, release, rows, "sample_qc", cursor, page, limit, format, "sample_qc")
