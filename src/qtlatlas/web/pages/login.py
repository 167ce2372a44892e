"""Signing in with an access token (``/login``) and out (``/logout``).

The sign-in form posts the token; a valid one is kept in the :data:`~qtlatlas.web.access.COOKIE` cookie
(HttpOnly, SameSite=Lax, Secure when the request came over HTTPS, for as long as the token is valid, at most
:data:`COOKIE_MAX_AGE`), and the reader returns to the page they came from. Failed attempts count against the
client's :class:`~qtlatlas.web.access.AttemptLimiter`: past the limit the form answers 429 without looking
at the token.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ...access.policy import today
from ..access import COOKIE, client_key, reader_of
from .context import page_for
from .errors import PageRoute
from .templating import render

router = APIRouter(route_class=PageRoute, include_in_schema=False)

#: Longest life of the sign-in cookie, seconds (30 days; shorter when the token expires sooner).
COOKIE_MAX_AGE = 30 * 24 * 3600
#: Largest sign-in form body read, bytes.
MAX_FORM_BYTES = 4096


def _safe_next(value: str | None) -> str:
    """A same-site path to return to (``/`` for anything else: no open redirect)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value or len(value) > 2000:
        return "/"
    return value


@router.get("/login")
def login_form(request: Request, next: str | None = None):
    page = page_for(request)
    return render(page, "login.html", next_path=_safe_next(next), error=None, reader=reader_of(request),
                  headers={"Cache-Control": "no-store"})


@router.post("/login")
async def login(request: Request):
    page = page_for(request)
    gate = request.app.state.gate
    client = client_key(request)
    body = await request.body()
    form = parse_qs(body[:MAX_FORM_BYTES].decode("utf-8", "replace"), max_num_fields=4)
    next_path = _safe_next((form.get("next") or ["/"])[0])
    wait = gate.limiter.retry_after(client)
    if wait:
        return render(page, "login.html", status_code=429, next_path=next_path, reader=None,
                      error=f"Too many failed attempts from this address. Try again in {wait} seconds.",
                      headers={"Retry-After": str(wait), "Cache-Control": "no-store"})
    token = (form.get("token") or [""])[0].strip()
    record = gate.token_record(token)
    if record is None:
        gate.limiter.fail(client)
        return render(page, "login.html", status_code=401, next_path=next_path, reader=None,
                      error="That token is unknown, expired or revoked.", headers={"Cache-Control": "no-store"})
    max_age = COOKIE_MAX_AGE
    if record.expires:
        left = (dt.date.fromisoformat(record.expires) + dt.timedelta(days=1) - today()).days * 86400
        max_age = max(60, min(max_age, left))
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(COOKIE, token, max_age=max_age, httponly=True, samesite="lax", path="/",
                        secure=request.url.scheme == "https")
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/logout")
def logout(request: Request) -> Response:
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax", secure=request.url.scheme == "https")
    response.headers["Cache-Control"] = "no-store"
    return response
