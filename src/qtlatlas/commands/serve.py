"""``qtlatlas serve``."""

from __future__ import annotations

import argparse
import os
import socket
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


def port_in_use_message(host: str, port: int, reason: str) -> str:
    """The one-line error for a host:port that cannot be listened on."""
    return (f"cannot listen on {host}:{port} ({reason}); is another server using port {port}? "
            f"Choose another port with --port (make demo PORT=8123)")


def check_port(host: str, port: int) -> None:
    """Raise a :class:`QtlAtlasError` unless a server can listen on ``host:port`` now (every address the host
    resolves to is bound and released at once, with the ``SO_REUSEADDR`` uvicorn uses)."""
    if not 0 < port < 65536:
        raise QtlAtlasError(f"--port {port}: must be within 1–65535")
    try:
        addresses = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as e:
        raise QtlAtlasError(f"cannot listen on {host}:{port}: unknown address ({e.strerror})") from None
    for family, kind, proto, _, address in addresses:
        with socket.socket(family, kind, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(address)
                sock.listen(1)
            except OSError as e:
                raise QtlAtlasError(port_in_use_message(host, port, e.strerror or str(e))) from None


def cmd_serve(args: argparse.Namespace) -> int:
    from ..release import layout
    from ..web.env import SITE_ENV

    if args.workers < 1:
        raise QtlAtlasError("--workers must be ≥ 1")
    check_port(args.host, args.port)
    if not (args.site / "releases").is_dir():
        raise QtlAtlasError(f"{args.site}: not a site directory (no releases/); build one with qtlatlas build")
    # fail early, with a clear message, on a site without releases; this process only supervises the workers,
    # so it does not import the application (each worker does, and opens the site itself)
    root = layout.releases_dir(args.site)
    if not any((p / layout.RELEASE_JSON).is_file() for p in root.iterdir() if not p.name.startswith(".")):
        raise QtlAtlasError(f"{args.site}: no published release in {root}")
    os.environ[SITE_ENV] = str(args.site.resolve())
    # a portal's numerical work is small arrays: one BLAS/OpenMP thread per worker, not one per core each
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, "1")
    serve_app("qtlatlas.web.app:app_from_env", args.host, args.port, args.workers,
              f"Serving {args.site} on http://{args.host}:{args.port}/  (API docs: /api/docs)")
    return 0


def serve_app(app: str, host: str, port: int, workers: int, message: str) -> None:
    """Run uvicorn on the application factory ``app`` and print ``message`` once the server listens (after its
    start-up with one worker; once the shared socket listens with several). A failure to listen raises a
    :class:`QtlAtlasError` naming the port."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config(app, factory=True, host=host, port=port, workers=workers, log_level="warning")

    class _Server(uvicorn.Server):
        async def startup(self, sockets=None):
            await super().startup(sockets=sockets)
            if self.started and workers == 1:
                console.print(message)

    server = _Server(config)
    not_started = QtlAtlasError(f"the server did not start on {host}:{port} (see the message above); if the port "
                                f"is in use, choose another with --port (make demo PORT=8123)")
    try:
        if workers > 1:
            sock = config.bind_socket()
            console.print(message)
            Multiprocess(config, sockets=[sock]).run()
        else:
            server.run()
    except KeyboardInterrupt:
        pass
    except SystemExit:  # uvicorn exits when it cannot listen or load the application, having logged why
        if workers == 1 and server.started:
            raise
        raise not_started from None
    if workers == 1 and not server.started:
        raise not_started
