"""Releases, tissues, modalities, studies and downloads."""

from __future__ import annotations

import pandas as pd
from fastapi import APIRouter, Request

from ..deps import ReleaseDep, SiteDep
from ..responses import list_response
from .common import LIST, FormatParam

router = APIRouter(tags=["atlas"])


@router.get("/releases", responses=LIST, summary="Every release of the atlas (latest last)")
def releases(request: Request, site: SiteDep, format: FormatParam = "json"):
    rows = pd.DataFrame(site.releases())
    return list_response(request, site.latest(), rows, fmt=format, name="releases")


@router.get("/tissues", responses=LIST, summary="Tissues with sample counts and per-modality QTL counts")
def tissues(request: Request, release: ReleaseDep, format: FormatParam = "json"):
    return list_response(request, release.id, pd.DataFrame(release.tissues()), fmt=format, name="tissues")


@router.get("/modalities", responses=LIST, summary="RNA modalities of the release")
def modalities(request: Request, release: ReleaseDep, format: FormatParam = "json"):
    return list_response(request, release.id, pd.DataFrame(release.modalities()), fmt=format, name="modalities")


@router.get("/studies", responses=LIST, summary="Studies (publications with their files)")
def studies(request: Request, site: SiteDep, format: FormatParam = "json"):
    return list_response(request, site.latest(), pd.DataFrame(site.studies()), fmt=format, name="studies")


@router.get("/downloads", responses=LIST, summary="Download files of the release (its manifest)")
def downloads(request: Request, release: ReleaseDep, format: FormatParam = "json"):
    return list_response(request, release.id, pd.DataFrame(release.downloads()), fmt=format, name="downloads")
