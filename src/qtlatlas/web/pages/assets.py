"""The portal's own files: its static directory (CSS, JavaScript modules), versioned asset URLs, and
plotly.js served from the installed ``plotly`` Python package (never from a CDN).

Asset URLs carry a fingerprint of the file contents (``?v=…``), so browsers may cache them for long and
still get a new version after an upgrade.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import threading
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ...store import NotFound

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
#: Where :data:`STATIC_DIR` is mounted by the application.
STATIC_URL = "/static/portal"
#: URL of plotly.js (the version makes it cacheable for a year).
PLOTLY_URL = "/assets/plotly.min.js"
IMMUTABLE = "public, max-age=31536000, immutable"

router = APIRouter(include_in_schema=False)
_lock = threading.Lock()


@lru_cache(maxsize=1)
def plotly_path() -> Path:
    """``plotly/package_data/plotly.min.js`` of the installed plotly package (found without importing it)."""
    spec = importlib.util.find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        raise NotFound("asset", "plotly.min.js", detail="(the plotly Python package is not installed)")
    path = Path(next(iter(spec.submodule_search_locations))) / "package_data" / "plotly.min.js"
    if not path.is_file():
        raise NotFound("asset", "plotly.min.js", detail=f"(missing from {path.parent})")
    return path


@lru_cache(maxsize=1)
def _plotly_bodies() -> tuple[bytes, bytes, str]:
    """plotly.min.js as is and gzip-compressed (computed once), and its fingerprint."""
    with _lock:
        raw = plotly_path().read_bytes()
        return raw, gzip.compress(raw, compresslevel=6, mtime=0), hashlib.sha256(raw).hexdigest()[:12]


def prepare_plotly() -> None:
    """Read and compress plotly.js in a background thread, so that the first page that needs it does not wait
    for the compression (called when the page routers are created)."""
    def work() -> None:
        try:
            _plotly_bodies()
        except (NotFound, OSError):  # reported when a page asks for it
            pass

    threading.Thread(target=work, name="qtlatlas-plotly-gzip", daemon=True).start()


def plotly_url() -> str:
    """The versioned URL of plotly.js."""
    try:
        stamp = hashlib.sha256(str(plotly_path().stat().st_mtime_ns).encode()).hexdigest()[:10]
    except NotFound:
        stamp = "missing"
    return f"{PLOTLY_URL}?v={stamp}"


@lru_cache(maxsize=256)
def _fingerprint(name: str, mtime_ns: int) -> str:
    return hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:10]


def static_url(name: str) -> str:
    """URL of a file of :data:`STATIC_DIR` with a content fingerprint."""
    path = STATIC_DIR / name
    try:
        stamp = _fingerprint(name, path.stat().st_mtime_ns)
    except OSError:
        stamp = "0"
    return f"{STATIC_URL}/{name}?v={stamp}"


@router.get(PLOTLY_URL)
def plotly_js(request: Request) -> Response:
    """plotly.js from the installed plotly package; gzip-compressed when the browser accepts it."""
    raw, packed, etag = _plotly_bodies()
    headers = {"Cache-Control": IMMUTABLE, "ETag": f'"{etag}"', "Vary": "Accept-Encoding"}
    if request.headers.get("if-none-match") == headers["ETag"]:
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(packed, media_type="text/javascript; charset=utf-8", headers=headers)
    return Response(raw, media_type="text/javascript; charset=utf-8", headers=headers)
