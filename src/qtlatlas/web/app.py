"""The FastAPI application: ``create_app(SITE_DIR)``.

Routes: the REST API under ``/api/v1``, its OpenAPI description at ``/api/openapi.json``, interactive
documentation at ``/api/docs`` (Swagger UI served from the installed ``swagger-ui-bundle`` package, never a
CDN), and GTEx/RatGTEx-compatible routes under ``/compat/ratgtex/{release}/``.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

from .. import __version__
from ..store import Site
from .api import expression, genes, meta, pbg, qtls, variants
from .compat import ratgtex
from .errors import install_error_handlers

API_PREFIX = "/api/v1"
SITE_ENV = "QTLATLAS_SITE"


def create_app(site_dir: str | os.PathLike[str]) -> FastAPI:
    """The portal application serving every release of ``site_dir``."""
    site = Site(Path(site_dir))
    app = FastAPI(
        title=f"{site.atlas.get('name', 'qtlatlas')} API",
        description=(site.atlas.get("description") or "") + "\n\nEvery endpoint accepts `release` (default: the "
        "latest). Lists answer `{data, meta: {release, total, next_cursor}}`, or TSV/CSV with `format=`. Errors "
        "answer `{error, detail}` with status 400, 404 or 422.",
        version=__version__, openapi_url="/api/openapi.json", docs_url=None, redoc_url=None,
    )
    app.state.site = site
    app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["GET", "HEAD", "OPTIONS"], allow_headers=["*"],
                       expose_headers=["ETag", "X-Total-Count", "X-Next-Cursor"])
    install_error_handlers(app)
    for module in (meta, genes, expression, qtls, variants, pbg):
        app.include_router(module.router, prefix=API_PREFIX)
    app.include_router(ratgtex.router)
    app.mount("/static/swagger", StaticFiles(directory=str(swagger_ui_path)), name="swagger")

    @app.get("/api/docs", include_in_schema=False)
    def docs():
        return get_swagger_ui_html(openapi_url=app.openapi_url, title=f"{app.title} — documentation",
                                   swagger_js_url="/static/swagger/swagger-ui-bundle.js",
                                   swagger_css_url="/static/swagger/swagger-ui.css",
                                   swagger_favicon_url="/static/swagger/favicon-32x32.png")

    return app


def app_from_env() -> FastAPI:
    """Application factory for ``uvicorn --factory`` and worker processes: the site comes from $QTLATLAS_SITE."""
    return create_app(os.environ[SITE_ENV])
