"""Who is asking: the access token of a request and the site as that request may see it.

A request presents a token (:mod:`qtlatlas.access.tokens`) either as ``Authorization: Bearer <token>`` (API
clients) or as the :data:`COOKIE` set by the sign-in form (pages; :mod:`qtlatlas.web.login`). The
:class:`AccessMiddleware` resolves it once per request and puts the site view of that request (every item the
token's scopes do not open left out, :meth:`qtlatlas.store.Site.for_hidden`) in ``request.state.site``: routes
read the site only through :func:`site_of`.

When any item of the site is private or embargoed, what a response holds depends on who asks; every such
response then carries ``Cache-Control: private`` (never ``public``) and ``Vary: Authorization, Cookie``, so
that no shared cache hands one reader's answer to another.

A bearer token that is unknown, expired or revoked answers 401 (and counts as a failed attempt for the
client's :class:`AttemptLimiter`); a stale cookie is ignored (the request is anonymous).
"""

from __future__ import annotations

import threading
import time
from collections import deque

import orjson
from starlette.requests import HTTPConnection

from ..access.tokens import TokenBook, TokenRecord
from ..store import Site

#: The cookie that carries the token of a signed-in reader.
COOKIE = "qtlatlas_token"
#: Failed token attempts allowed per client within :data:`WINDOW_S`; past it every attempt (right or wrong)
#: answers 429 until the oldest failure leaves the window.
MAX_FAILURES = 10
WINDOW_S = 300.0
#: Clients tracked at most (the least recently failing are forgotten first).
MAX_CLIENTS = 10_000
#: Paths whose responses do not depend on who asks (assets).
_STATIC = ("/static/",)


class AttemptLimiter:
    """Failed sign-in attempts per client (IP address), in a sliding window; one per worker process."""

    def __init__(self, max_failures: int = MAX_FAILURES, window_s: float = WINDOW_S, clock=time.monotonic):
        self.max_failures = max_failures
        self.window_s = window_s
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, client: str) -> int:
        """Seconds until ``client`` may try again (0: it may try now)."""
        with self._lock:
            times = self._recent(client)
            if len(times) < self.max_failures:
                return 0
            return max(1, int(times[0] + self.window_s - self.clock()) + 1)

    def fail(self, client: str) -> None:
        with self._lock:
            self._recent(client).append(self.clock())
            if len(self._failures) > MAX_CLIENTS:
                self._failures.pop(next(iter(self._failures)))

    def _recent(self, client: str) -> deque[float]:
        times = self._failures.pop(client, None) or deque()
        cutoff = self.clock() - self.window_s
        while times and times[0] < cutoff:
            times.popleft()
        self._failures[client] = times  # re-inserted: the dict's order is least recently failing first
        return times


class Gate:
    """The tokens and attempt limiter of one application (``app.state.gate``)."""

    def __init__(self, site: Site):
        self.site = site
        self.tokens = TokenBook(site.path)
        self.limiter = AttemptLimiter()

    def token_record(self, token: str | None) -> TokenRecord | None:
        return self.tokens.record(token)

    def site_for(self, record: TokenRecord | None) -> Site:
        """The site as the holder of ``record`` (None: anonymous) sees it today."""
        return self.site.for_hidden(self.site.policy.hidden(record.scopes if record else ()))


def client_key(conn: HTTPConnection) -> str:
    return conn.client.host if conn.client else "unknown"


def site_of(request) -> Site:
    """The site as this request may see it (set by :class:`AccessMiddleware`; a request it did not see, which
    should not happen, is anonymous: it fails closed)."""
    site = getattr(request.state, "site", None)
    return site if site is not None else request.app.state.gate.site_for(None)


def reader_of(request) -> TokenRecord | None:
    """The token record of the signed-in reader of this request, or None."""
    return getattr(request.state, "reader", None)


class AccessMiddleware:
    """ASGI middleware: resolves the request's token into ``request.state.site`` / ``.reader`` and marks the
    responses of a site with private items as private to the reader (see the module docstring)."""

    def __init__(self, app, gate: Gate):
        self.app = app
        self.gate = gate

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        site = self.gate.site
        state = scope.setdefault("state", {})
        if not site.policy.restricted():
            state["site"] = site
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        auth = conn.headers.get("authorization", "")
        record = None
        if auth[:7].lower() == "bearer ":
            wait = self.gate.limiter.retry_after(client_key(conn))
            if wait:
                await _send_json(send, 429, "too_many_attempts",
                                 f"too many failed token attempts from this address: try again in {wait} s",
                                 [(b"retry-after", str(wait).encode())])
                return
            record = self.gate.token_record(auth[7:].strip())
            if record is None:
                self.gate.limiter.fail(client_key(conn))
                await _send_json(send, 401, "unauthorized", "the access token is unknown, expired or revoked",
                                 [(b"www-authenticate", b'Bearer realm="qtlatlas"')])
                return
        elif COOKIE in conn.cookies:
            record = self.gate.token_record(conn.cookies[COOKIE])
        state["site"] = self.gate.site_for(record)
        state["reader"] = record
        if scope.get("path", "").startswith(_STATIC):
            await self.app(scope, receive, send)
            return

        async def send_private(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": _private_headers(message.get("headers", []))}
            await send(message)

        await self.app(scope, receive, send_private)


def _private_headers(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """``headers`` with Cache-Control made private (no shared cache keeps it) and Vary naming the token's
    carriers."""
    out, vary, cache = [], [], None
    for k, v in headers:
        name = k.lower()
        if name == b"cache-control":
            cache = v
        elif name == b"vary":
            vary += [p.strip() for p in v.split(b",") if p.strip()]
        else:
            out.append((k, v))
    parts = [p.strip() for p in (cache or b"no-cache").split(b",")
             if p.strip() and p.strip().lower() not in (b"public", b"private") and not p.strip().lower().startswith(b"s-maxage")]
    out.append((b"cache-control", b", ".join([b"private", *parts])))
    for carrier in (b"Authorization", b"Cookie"):
        if carrier.lower() not in {v.lower() for v in vary}:
            vary.append(carrier)
    out.append((b"vary", b", ".join(vary)))
    return out


async def _send_json(send, status: int, error: str, detail: str, headers: list[tuple[bytes, bytes]]) -> None:
    body = orjson.dumps({"error": error, "detail": detail})
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"cache-control", b"no-store"), *headers]})
    await send({"type": "http.response.body", "body": body})
