"""Access tokens of a site: ``SITE/access/tokens.json``.

A token is ``qta_<id>_<secret>``: ``id`` (8 hex digits) names the token in listings and log lines, ``secret``
is 32 random bytes (URL-safe base64). The site keeps the SHA-256 of the whole token, never the token itself:
with 256 random bits a salted slow hash adds nothing (no dictionary can reach the secret), and a look-up costs
one hash. The holder of a token sees the private items its scopes name (:mod:`qtlatlas.access.policy`) until
it expires (end of the ``expires`` day, UTC) or is revoked.

The file is replaced atomically (written beside, then renamed) with mode 0600; the portal re-reads it when it
changes, so ``qtlatlas tokens add`` and ``revoke`` take effect without a restart.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .policy import parse_scope, today

ACCESS_DIR = "access"
TOKENS_FILE = "tokens.json"
TOKEN_PREFIX = "qta_"
_TOKEN = re.compile(r"^qta_([0-9a-f]{8})_[A-Za-z0-9_-]{43}$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")


class TokenError(ValueError):
    """A token command that cannot be done (unknown name, duplicate name, bad scope or date)."""


@dataclass(frozen=True)
class TokenRecord:
    """One token as the site stores it (``sha256`` of the token, never the token)."""

    id: str
    name: str
    sha256: str
    scopes: tuple[str, ...]
    created: str
    expires: str | None = None
    revoked: str | None = None
    note: str = ""

    def active(self, on: dt.date) -> bool:
        """Not revoked and not expired on day ``on``."""
        return self.revoked is None and (self.expires is None or on <= dt.date.fromisoformat(self.expires))

    def status(self, on: dt.date) -> str:
        if self.revoked:
            return "revoked"
        return "active" if self.active(on) else "expired"


@dataclass
class _Book:
    records: list[TokenRecord] = field(default_factory=list)
    stamp: tuple[int, int] | None = None


def tokens_file(site: str | os.PathLike[str]) -> Path:
    return Path(site) / ACCESS_DIR / TOKENS_FILE


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def read_tokens(site: str | os.PathLike[str]) -> list[TokenRecord]:
    """Every token record of the site (none when the file is absent); TokenError naming the file when it is
    not a token list."""
    path = tokens_file(site)
    if not path.is_file():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return [TokenRecord(**{**row, "scopes": tuple(row["scopes"])}) for row in data["tokens"]]
    except (ValueError, KeyError, TypeError) as e:
        raise TokenError(f"{path}: not a token list ({e})") from None


def _write(site: str | os.PathLike[str], records: list[TokenRecord]) -> None:
    path = tokens_file(site)
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump({"tokens": [asdict(r) | {"scopes": list(r.scopes)} for r in records]}, f, indent=1)
        f.write("\n")
    os.replace(tmp, path)


def add_token(site: str | os.PathLike[str], name: str, scopes: Iterable[str], *, expires: dt.date | None = None,
              note: str = "") -> str:
    """Create a token named ``name`` granting ``scopes``; returns the token (shown once: the site keeps its
    hash). TokenError when the name is taken by an active token, a scope is malformed or ``expires`` is past."""
    if not Path(site).is_dir():
        raise TokenError(f"site {site} does not exist")
    if not _NAME.match(name or ""):
        raise TokenError(f"token name {name!r}: use 1-64 letters, digits, '_', '.', '@' or '-'")
    try:
        checked = tuple(dict.fromkeys(parse_scope(s) for s in scopes))
    except ValueError as e:
        raise TokenError(str(e)) from None
    if not checked:
        raise TokenError("give at least one --scope (e.g. --scope tissue:BLA)")
    now = today()
    if expires is not None and expires < now:
        raise TokenError(f"expiry {expires.isoformat()} is in the past")
    records = read_tokens(site)
    if any(r.name == name and r.active(now) for r in records):
        raise TokenError(f"an active token is already named {name!r} (revoke it first, or choose another name)")
    token_id = secrets.token_hex(4)
    while any(r.id == token_id for r in records):
        token_id = secrets.token_hex(4)
    token = f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
    records.append(TokenRecord(id=token_id, name=name, sha256=hash_token(token), scopes=checked,
                               created=now.isoformat(), expires=expires.isoformat() if expires else None, note=note))
    _write(site, records)
    return token


def revoke_token(site: str | os.PathLike[str], name_or_id: str) -> list[TokenRecord]:
    """Revoke the active tokens named ``name_or_id`` (or with that id); returns them. TokenError when none."""
    records = read_tokens(site)
    now = today()
    hit = [r for r in records if r.revoked is None and name_or_id in (r.name, r.id)]
    if not hit:
        known = ", ".join(sorted({r.name for r in records if r.revoked is None})) or "none"
        raise TokenError(f"no active token is named {name_or_id!r} (active: {known})")
    stamp = now.isoformat()
    _write(site, [TokenRecord(**{**asdict(r), "revoked": stamp}) if r in hit else r for r in records])
    return hit


class TokenBook:
    """The tokens of a site, for the portal: re-read when the file changes; :meth:`record` looks a token up."""

    def __init__(self, site: str | os.PathLike[str]):
        self.path = tokens_file(site)
        self._site = Path(site)
        self._book = _Book()
        self._lock = threading.Lock()

    def _records(self) -> list[TokenRecord]:
        try:
            st = self.path.stat()
            stamp = (st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            stamp = None
        if stamp != self._book.stamp:
            with self._lock:
                if stamp != self._book.stamp:
                    try:
                        records = read_tokens(self._site) if stamp else []
                    except TokenError:
                        records = []  # an unreadable file opens nothing
                    self._book = _Book(records, stamp)
        return self._book.records

    def record(self, token: str | None, on: dt.date | None = None) -> TokenRecord | None:
        """The record of an active token; None when the token is malformed, unknown, expired or revoked."""
        m = _TOKEN.match(token or "")
        if not m:
            return None
        digest = hash_token(token)  # type: ignore[arg-type]
        on = on or today()
        for r in self._records():
            if r.id == m.group(1) and hmac.compare_digest(r.sha256, digest):
                return r if r.active(on) else None
        return None
