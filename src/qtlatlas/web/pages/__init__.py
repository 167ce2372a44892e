"""Server-rendered portal pages (Jinja2 templates, plotly.js plots served by the portal itself).

:data:`router` holds every page route (one module per page family) and, last, a catch-all that answers the
HTML 404 page; the application includes it after the API routers and mounts :data:`STATIC_DIR` at
:data:`STATIC_URL`. Page routes answer HTML error pages (:mod:`.errors`); the API keeps its JSON errors.
"""

from fastapi import APIRouter

from . import (
    assets,
    dashboard,
    downloads,
    expression,
    fallback,
    gene,
    home,
    info,
    login,
    qtls,
    region,
    samples,
    tissue,
    twas,
    twas_genes,
    twas_locus,
    twas_methods,
    twas_predict,
    variant,
)
from .assets import STATIC_DIR, STATIC_URL

router = APIRouter(include_in_schema=False)
for _module in (assets, home, gene, variant, tissue, qtls, region, expression, dashboard, downloads, info, twas,
                twas_locus, twas_genes, twas_methods, twas_predict, samples, login):
    router.include_router(_module.router)
router.include_router(fallback.router)  # last: every other URL
assets.prepare_plotly()

__all__ = ["STATIC_DIR", "STATIC_URL", "router"]
