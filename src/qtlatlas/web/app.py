"""The FastAPI application: ``create_app(SITE_DIR)``.

Routes: the REST API under ``/api/v1``, its OpenAPI description at ``/api/openapi.json``, interactive
documentation at ``/api/docs`` (Swagger UI 5 served from the installed ``swagger-ui-py`` package, never a
CDN), GTEx/RatGTEx-compatible routes under ``/compat/ratgtex/{release}/``, and the server-rendered portal
pages (:mod:`qtlatlas.web.pages`, static files under ``/static/portal``).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
from pathlib import Path

import pyarrow as pa
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from .. import __version__
from ..store import Site
from .access import AccessMiddleware, Gate
from .api import (
    all_pairs,
    coloc,
    expression,
    finemapping,
    genes,
    ld,
    meta,
    pbg,
    qtl_coloc,
    qtls,
    regional,
    samples,
    trans,
    twas,
    variants,
)
from .balance import CloseWhenBusy
from .compat import ratgtex
from .env import SITE_ENV
from .errors import install_error_handlers
from .pages import STATIC_DIR as PAGES_STATIC_DIR
from .pages import STATIC_URL as PAGES_STATIC_URL
from .pages import router as pages_router

API_PREFIX = "/api/v1"
#: Threads per process that run the (blocking) store queries. The work is CPU-bound and holds the GIL for
#: much of it, so more threads than this only add contention and per-thread memory (each keeps its own DuckDB
#: cursor, file readers and allocator arenas); scale out with ``--workers`` instead. $QTLATLAS_THREADS overrides.
HANDLER_THREADS = 4
#: The bar above Swagger UI on ``/api/docs``: the way back to the portal.
DOCS_HEADER = ('<nav class="portal-back" aria-label="Portal" style="padding:8px 20px;font:14px sans-serif;'
               'border-bottom:1px solid #ddd"><a href="/" style="color:#1f5fa8;text-decoration:none">'
               '&larr; back to the portal</a></nav>')
#: Swagger UI 5 (reads OpenAPI 3.1) as shipped by the ``swagger-ui-py`` package; found without importing it.
SWAGGER_UI_DIR = Path(importlib.util.find_spec("swagger_ui").submodule_search_locations[0]) / "static"


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI):
    import anyio.to_thread

    anyio.to_thread.current_default_thread_limiter().total_tokens = app.state.handler_threads
    yield


def create_app(site_dir: str | os.PathLike[str], *, threads: int | None = None) -> FastAPI:
    """The portal application serving every release of ``site_dir``, running blocking handlers on
    ``threads`` threads (default :data:`HANDLER_THREADS`, or $QTLATLAS_THREADS)."""
    # Arrow's default allocator keeps freed memory in per-thread caches; a portal decodes many small batches
    # on several threads, and the system allocator gives that memory back (about 100 MB less per worker)
    pa.set_memory_pool(pa.system_memory_pool())
    site = Site(Path(site_dir))
    app = FastAPI(lifespan=_lifespan,
        title=f"{_atlas_info(site).get('name') or 'qtlatlas'} API",
        description=(_atlas_info(site).get("description") or "") + "\n\nEvery endpoint accepts `release` (default: the "
        "latest). Lists answer `{data, meta: {release, total, next_cursor}}`, or TSV/CSV with `format=`. Errors "
        "answer `{error, detail}` with status 400, 404 or 422.",
        version=__version__, openapi_url="/api/openapi.json", docs_url=None, redoc_url=None,
    )
    app.state.site = site
    app.state.handler_threads = max(1, int(threads or os.environ.get("QTLATLAS_THREADS") or HANDLER_THREADS))
    app.state.gate = Gate(site)
    app.add_middleware(AccessMiddleware, gate=app.state.gate)  # inside CORS: a 401 carries its headers too
    app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["GET", "HEAD", "OPTIONS"], allow_headers=["*"],
                       expose_headers=["ETag", "X-Total-Count", "X-Next-Cursor"])
    app.add_middleware(CloseWhenBusy)
    install_error_handlers(app)
    # qtl_coloc's fixed path /coloc/qtl comes before any /coloc/{…} route, which would otherwise capture it
    for module in (meta, genes, expression, trans, qtls, all_pairs, qtl_coloc, coloc, variants, pbg, ld, regional, twas, finemapping,
                   samples):
        app.include_router(module.router, prefix=API_PREFIX)
    app.include_router(ratgtex.router)
    app.mount("/static/swagger", StaticFiles(directory=str(SWAGGER_UI_DIR)), name="swagger")

    @app.get("/api/docs", include_in_schema=False)
    def docs():
        page = get_swagger_ui_html(openapi_url=app.openapi_url, title=f"{app.title} — documentation",
                                   swagger_js_url="/static/swagger/swagger-ui-bundle.js",
                                   swagger_css_url="/static/swagger/swagger-ui.css",
                                   swagger_favicon_url="/static/swagger/favicon-32x32.png")
        html = page.body.decode().replace("<body>", "<body>\n" + DOCS_HEADER, 1)
        return HTMLResponse(html)

    # the portal pages last: their catch-all answers the HTML 404 page for any other URL
    app.mount(PAGES_STATIC_URL, StaticFiles(directory=str(PAGES_STATIC_DIR)), name="portal-static")
    app.include_router(pages_router)
    return app


def _atlas_info(site: Site) -> dict:
    """``atlas:`` of atlas.json (name, description, …); older sites kept them at the top level."""
    info = site.atlas.get("atlas")
    return info if isinstance(info, dict) else site.atlas


def app_from_env() -> FastAPI:
    """Application factory for ``uvicorn --factory`` and worker processes: the site comes from $QTLATLAS_SITE."""
    return create_app(os.environ[SITE_ENV])
