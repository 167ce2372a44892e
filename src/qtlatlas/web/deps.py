"""Dependencies shared by the routers: the site and the requested release."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from ..store import ReleaseStore, Site

ReleaseParam = Annotated[
    str | None,
    Query(max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$", description="release id (default: the latest)"),
]


def get_site(request: Request) -> Site:
    return request.app.state.site


SiteDep = Annotated[Site, Depends(get_site)]


def get_release(site: SiteDep, release: ReleaseParam = None) -> ReleaseStore:
    return site.release(release)


ReleaseDep = Annotated[ReleaseStore, Depends(get_release)]
