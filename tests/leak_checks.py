"""What a crawl of the portal (:mod:`leak_crawl`) must not show: private strings in bodies or headers, server
errors, answers a shared cache could hand to anyone, and OpenAPI operations never answered."""

from __future__ import annotations

import html
import json
from collections import defaultdict
from urllib.parse import quote, unquote

from leak_crawl import Fetched, operations


def _forms(text: str) -> set[bytes]:
    """The byte forms ``text`` can take in a response: as UTF-8, HTML-escaped, URL-encoded and JSON-escaped."""
    return {f.encode() for f in (text, html.escape(text), quote(text, safe=""), quote(text),
                                 json.dumps(text)[1:-1]) if f}


def _near(body: bytes, at: int, length: int, width: int = 40) -> str:
    """The text around ``body[at:at+length]``."""
    return body[max(0, at - width): at + length + width].decode("utf-8", "replace").replace("\n", "\\n")


#: What surrounds an echo of the request in an error answer: ``'X'`` / ``"X"`` (the message, a search box's value)
#: or a URL (``action="/gene/X"``, ``?tissue=X&``). A list of the known ids (``(tissues: A, X)``) is no echo.
_ECHO_BEFORE = (b"'", b"&#39;", b'"', b"&quot;", b"/", b"=")
_ECHO_AFTER = (b"'", b"&#39;", b'"', b"&quot;", b"&", b"?", b"/", b"#")


def _is_echo(body: bytes, at: int, length: int) -> bool:
    """Whether ``body[at:at+length]`` is quoted or part of a URL (see :data:`_ECHO_BEFORE`)."""
    return body[:at].endswith(_ECHO_BEFORE) and body[at + length:].startswith(_ECHO_AFTER)


def _first(body: bytes, form: bytes, skip_echoes: bool) -> int:
    """Offset of the first occurrence of ``form`` in ``body`` (echoes skipped with ``skip_echoes``), else -1."""
    at = body.find(form)
    while at >= 0 and skip_echoes and _is_echo(body, at, len(form)):
        at = body.find(form, at + 1)
    return at


def find_leaks(fetched: list[Fetched], forbidden: list[str], *, ignore_case: bool = False,
               allow_echo: bool = True) -> list[str]:
    """Every response where a ``forbidden`` string occurs in the body or a header value (ETag, Location of a
    redirect, Content-Disposition, … included), as ``URL: 'string' in body near …context…`` (first
    occurrence), and every 5xx.

    Matching is on raw bytes and case-sensitive by default (ids are case-sensitive in the portal, and short names
    would otherwise match ordinary words); each string is also looked for HTML-escaped, URL-encoded and
    JSON-escaped. With ``allow_echo``, a 4xx answer to a URL that holds the string may repeat it quoted or in a URL
    (``tissue 'X' not found``, ``value="X"``: the visitor asked for X); any other occurrence is reported (``(tissues:
    A, X)`` lists it)."""
    problems = []
    patterns = [(text, _forms(text.lower() if ignore_case else text)) for text in forbidden]
    for f in fetched:
        if f.status >= 500:
            problems.append(f"{f.url}: status {f.status} ({f.route})")
        body = f.body.lower() if ignore_case else f.body
        url = unquote(f.url).lower() if ignore_case else unquote(f.url)
        for text, forms in patterns:
            echoes = allow_echo and 400 <= f.status < 500 and (text.lower() if ignore_case else text) in url
            for form in forms:
                at = _first(body, form, echoes)
                if at >= 0:
                    problems.append(f"{f.url}: {text!r} in body near {_near(f.body, at, len(form))!r}")
                    break
            for name, value in f.headers.items():
                value_bytes = (value.lower() if ignore_case else value).encode("utf-8", "replace")
                if any(form in value_bytes for form in forms):
                    problems.append(f"{f.url}: {text!r} in header {name}: {value[:200]!r}")
    return problems


def shared_cacheable(fetched: list[Fetched]) -> list[str]:
    """Responses a shared cache (CDN, proxy) may keep and serve to anyone, as ``URL: Cache-Control …``: 2xx/3xx
    answers whose Cache-Control says ``public`` (or only a max-age) with no ``private``/``no-store`` and no ``Vary``
    naming Authorization. A crawl with a token should find none: the same URL answers differently per token."""
    problems = []
    for f in fetched:
        control = f.headers.get("cache-control", "").lower()
        vary = f.headers.get("vary", "").lower()
        if f.status >= 400 or "private" in control or "no-store" in control or "authorization" in vary or "*" in vary:
            continue
        if "public" in control or "max-age" in control:
            problems.append(f"{f.url}: Cache-Control {control!r}, Vary {vary!r}")
    return problems


def coverage(fetched: list[Fetched], client) -> set[str]:
    """OpenAPI GET paths that never answered 2xx in ``fetched``."""
    answered = {f.route for f in fetched if 200 <= f.status < 300}
    return {op.path for op in operations(client)} - answered


def count_by_kind(fetched: list[Fetched]) -> dict[str, int]:
    """How many URLs were fetched per kind (api, compat, page, download)."""
    counts: dict[str, int] = defaultdict(int)
    for f in fetched:
        counts[f.kind] += 1
    return dict(counts)
