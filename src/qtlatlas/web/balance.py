"""Spreading clients over the worker processes of ``qtlatlas serve --workers N``.

Worker processes share one listening socket, and a keep-alive connection stays with the worker that accepted
it. Each worker's event loop is free to accept while its handler threads compute, so connections pile onto
workers by chance, and one worker can serve most clients while another idles (seen: 12 of 16 connections on
one of two workers, half the throughput). This ASGI middleware counts the requests a worker has in flight;
past :data:`BUSY` it answers with ``Connection: close``, so that those clients reconnect and the new
connections go to whichever worker accepts first — the idle one, in effect. Below it connections are kept
alive as usual.
"""

from __future__ import annotations

import os

#: In-flight requests of a worker above which its responses close their connection; a worker computes on
#: its handler threads, so more requests in flight than threads means it is the busier one.
BUSY = int(os.environ.get("QTLATLAS_BUSY_REQUESTS", "4"))


class CloseWhenBusy:
    """ASGI middleware: ``Connection: close`` on HTTP responses while more than ``busy`` requests are in flight."""

    def __init__(self, app, busy: int = BUSY):
        self.app = app
        self.busy = busy
        self.in_flight = 0

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.in_flight += 1

        async def send_closing(message):
            if message["type"] == "http.response.start" and self.in_flight > self.busy:
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"connection"]
                message = {**message, "headers": [*headers, (b"connection", b"close")]}
            await send(message)

        try:
            await self.app(scope, receive, send_closing)
        finally:
            self.in_flight -= 1
