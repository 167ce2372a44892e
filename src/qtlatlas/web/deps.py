"""Dependencies shared by the routers: the site and the requested release."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from ..store import ReleaseStore, Site
from .access import site_of

ReleaseParam = Annotated[
    str | None,
    Query(max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$", description="release id (default: the latest)"),
]


async def get_site(request: Request) -> Site:
    """The site as this request may see it (:func:`qtlatlas.web.access.site_of`; ``async``: FastAPI runs a plain
    ``def`` dependency on a handler thread, a hop per request for a lookup that never blocks)."""
    return site_of(request)


SiteDep = Annotated[Site, Depends(get_site)]


async def get_release(site: SiteDep, release: ReleaseParam = None) -> ReleaseStore:
    """The requested release's store: a dictionary lookup once the release is open (its first request opens it,
    reading a few small files)."""
    return site.release(release)


ReleaseDep = Annotated[ReleaseStore, Depends(get_release)]
