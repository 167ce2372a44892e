"""HTML error pages for the page routes.

:class:`PageRoute` is the route class of the page routers: an unknown gene, variant, tissue, release… is a 404
page with suggestions (close gene symbols, nearby variants, the tissues or releases that exist), a bad
parameter a 400 page naming it. The REST API keeps its JSON errors (:mod:`qtlatlas.web.errors`): only the
routes of the page routers use this class.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from html import escape

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from fastapi.routing import APIRoute

from ...errors import QtlAtlasError
from ...store import BadQuery, NotFound
from ...store.portal import portal_queries
from .context import Page, fallback_page
from .templating import PAGE_HEADERS, render

log = logging.getLogger(__name__)


def _suggestions(page: Page, exc: NotFound) -> list[dict]:
    """Links for what the visitor may have meant: ``{label, url}``."""
    what = getattr(exc, "what", "")
    found = list(getattr(exc, "suggestions", None) or [])
    if what == "gene":
        return [{"label": g, "url": page.gene_url(g)} for g in found]
    if what == "variant":
        return [{"label": v, "url": page.variant_url(v)} for v in found]
    if what == "tissue":
        return [{"label": f"{t['name']} ({t['tissue_id']})", "url": page.tissue_url(t["tissue_id"])}
                for t in page.tissues]
    if what == "release":
        return [{"label": f"Release {r['id']}" + (" (latest)" if r["latest"] else ""),
                 "url": page.url_for_release(r["id"])} for r in page.releases]
    if what == "study":
        return [{"label": s.get("title") or s["id"], "url": page.study_url(s["id"])} for s in page.site.studies()]
    return []


def error_response(request: Request, status: int, title: str, message: str, exc: Exception | None = None) -> Response:
    """The HTML error page (a minimal one if even the error page cannot be rendered)."""
    try:
        page = fallback_page(request)
        suggestions = _suggestions(page, exc) if isinstance(exc, NotFound) else []
        searchable = isinstance(exc, NotFound) and getattr(exc, "what", "") in ("gene", "variant")
        query = getattr(exc, "key", None) if searchable else None
        examples = portal_queries(page.release).search_examples() if searchable else {}
        return render(page, "error.html", status_code=status, status=status, title=title, message=message,
                      suggestions=suggestions, query=query if isinstance(query, str) and len(query) < 100 else "",
                      examples=examples)
    except Exception:  # noqa: BLE001 - last resort: never a traceback for the visitor
        log.exception("rendering the error page failed")
        body = f"<!doctype html><title>{escape(title)}</title><h1>{escape(title)}</h1><p>{escape(message)}</p>"
        return HTMLResponse(body, status_code=status, headers=PAGE_HEADERS)


def page_error(request: Request, exc: Exception) -> Response | None:
    """The error page for a known error class, or None (let it propagate)."""
    if isinstance(exc, NotFound):
        what = str(getattr(exc, "what", "page") or "page")
        return error_response(request, 404, f"{what.capitalize()} not found", str(exc), exc)
    if isinstance(exc, BadQuery):
        return error_response(request, 400, "Invalid request", str(exc), exc)
    if isinstance(exc, RequestValidationError):
        problems = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ())[1:])}: {e.get('msg')}" for e in exc.errors())
        return error_response(request, 400, "Invalid request", problems or "a parameter is invalid", exc)
    if isinstance(exc, QtlAtlasError):
        return error_response(request, 400, "Invalid request", str(exc), exc)
    return None


class PageRoute(APIRoute):
    """A route whose known errors answer HTML error pages instead of the API's JSON."""

    def get_route_handler(self) -> Callable:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:
                response = page_error(request, exc)
                if response is None:
                    raise
                return response

        return page_handler
