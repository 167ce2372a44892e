"""Releases, tissues, modalities, studies and downloads."""

from __future__ import annotations

import pandas as pd
from fastapi import APIRouter, Request

from ..deps import ReleaseDep, SiteDep
from ..responses import fixed_list_response, list_response
from .common import FormatParam
from .row_schemas import DOWNLOADS, MODALITIES, RELEASES, STUDIES, TISSUES

router = APIRouter(tags=["atlas"])


@router.get("/releases", responses=RELEASES, summary="Every release of the atlas (latest last)")
def releases(request: Request, site: SiteDep, format: FormatParam = "json"):
    rows = pd.DataFrame(site.releases())
    return list_response(request, site.latest(), rows, fmt=format, name="releases")


@router.get("/tissues", responses=TISSUES, summary="Tissues with sample counts and per-modality QTL counts")
async def tissues(request: Request, release: ReleaseDep, format: FormatParam = "json"):
    # async: after the first request, a lookup of the rendered list (no handler thread)
    return fixed_list_response(request, release, "tissues", lambda: pd.DataFrame(release.tissues()), format,
                               "tissues")


@router.get("/modalities", responses=MODALITIES, summary="RNA modalities of the release")
async def modalities(request: Request, release: ReleaseDep, format: FormatParam = "json"):
    return fixed_list_response(request, release, "modalities", lambda: pd.DataFrame(release.modalities()), format,
                               "modalities")


@router.get("/studies", responses=STUDIES, summary="Studies (publications with their files)")
def studies(request: Request, site: SiteDep, format: FormatParam = "json"):
    return list_response(request, site.latest(), pd.DataFrame(site.studies()), fmt=format, name="studies")


@router.get("/downloads", responses=DOWNLOADS, summary="Download files of the release (its manifest)")
def downloads(request: Request, release: ReleaseDep, format: FormatParam = "json"):
    return list_response(request, release.id, pd.DataFrame(release.downloads()), fmt=format, name="downloads")
