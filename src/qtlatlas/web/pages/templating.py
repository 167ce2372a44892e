"""The Jinja2 environment of the portal pages and :func:`render`, which turns a template and a
:class:`~.context.Page` into an HTML response.

Templates are autoescaped. Pages answer with a Content-Security-Policy that allows resources from the portal
itself only: a page cannot make a request to another host, whatever its data contain.
"""

from __future__ import annotations

from functools import lru_cache

import jinja2
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from ... import __version__
from .assets import TEMPLATES_DIR, plotly_url, static_url
from .context import Page
from .formatting import FILTERS, script_json

#: Resources of a page come from the portal only; plotly needs inline styles and data:/blob: images
#: (its PNG/SVG export).
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                           "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
                           "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'")
PAGE_HEADERS = {"Content-Security-Policy": CONTENT_SECURITY_POLICY, "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "same-origin"}


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The (cached) Jinja2 environment: templates of :data:`TEMPLATES_DIR`, formatting filters, asset URLs."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
                             autoescape=jinja2.select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True,
                             auto_reload=False)
    env.filters.update(FILTERS)
    env.filters["json"] = lambda value: Markup(script_json(value))
    env.globals.update(static=static_url, plotly_url=plotly_url, version=__version__)
    return env


def render(page: Page, template: str, status_code: int = 200, headers: dict | None = None, **context) -> HTMLResponse:
    """Render ``template`` with ``page`` and ``context``; the response carries :data:`PAGE_HEADERS`."""
    html = environment().get_template(template).render(page=page, **context)
    return HTMLResponse(html, status_code=status_code, headers={**PAGE_HEADERS, **(headers or {})})
