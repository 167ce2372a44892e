"""The last page route: an unknown URL answers the HTML 404 page, except under ``/api/`` and ``/compat/``,
which keep the API's JSON 404."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.exceptions import HTTPException

from ...store import NotFound
from .errors import PageRoute

router = APIRouter(route_class=PageRoute, include_in_schema=False)
#: Path prefixes that belong to the REST API (JSON errors).
API_PREFIXES = ("api/", "compat/", "static/")


@router.get("/{path:path}")
def unknown_page(request: Request, path: str):
    """Any URL no other route answers: the HTML 404 page (JSON under the API prefixes)."""
    if path.startswith(API_PREFIXES) or path in ("api", "compat"):
        raise HTTPException(status_code=404, detail=f"no such endpoint: /{path[:100]}")
    raise NotFound("page", "/" + path[:100], detail="on this portal")
