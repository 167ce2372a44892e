"""``qtlatlas serve``."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ..errors import QtlAtlasError
from .console import console


def _add_serve(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="serve a site: the REST API and its documentation (read-only)",
                       description="Serve every release of a site directory built by qtlatlas build: the REST API "
                       "under /api/v1, OpenAPI at /api/openapi.json and interactive documentation at /api/docs.")
    p.add_argument("site", type=Path, help="site directory")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    p.set_defaults(func=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from ..release import layout
    from ..web.env import SITE_ENV

    if not (args.site / "releases").is_dir():
        raise QtlAtlasError(f"{args.site}: not a site directory (no releases/); build one with qtlatlas build")
    if args.workers < 1 or not 0 < args.port < 65536:
        raise QtlAtlasError("--workers must be ≥ 1 and --port within 1–65535")
    # fail early, with a clear message, on a site without releases; this process only supervises the workers,
    # so it does not import the application (each worker does, and opens the site itself)
    root = layout.releases_dir(args.site)
    if not any((p / layout.RELEASE_JSON).is_file() for p in root.iterdir() if not p.name.startswith(".")):
        raise QtlAtlasError(f"{args.site}: no published release in {root}")
    os.environ[SITE_ENV] = str(args.site.resolve())
    # a portal's numerical work is small arrays: one BLAS/OpenMP thread per worker, not one per core each
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, "1")
    console.print(f"Serving {args.site} on http://{args.host}:{args.port}/  (API docs: /api/docs)")
    uvicorn.run("qtlatlas.web.app:app_from_env", factory=True, host=args.host, port=args.port, workers=args.workers,
                log_level="warning")
    return 0
