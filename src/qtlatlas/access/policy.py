"""Visibility of a site's items, evaluated per request.

Four kinds of item carry a visibility (atlas.yaml's ``visibility:``): releases, tissues, studies and TWAS
traits. An item is

* ``public`` (the default): everyone sees it;
* ``private``: only holders of a token with its scope (``tissue:BLA``) see it;
* embargoed (``visibility: {embargoed_until: 2027-03-01}``): private before that date (UTC), public from it on,
  with no rebuild: the date is compared with today's on every request.

The build writes the visibility of every item into ``atlas.json`` (``access``, see :func:`access_metadata`);
:class:`AccessPolicy` reads it back and answers, for a set of scopes, which items stay hidden
(:class:`Hidden`). A scope is ``KIND:ID`` or ``KIND:*`` (every item of the kind).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

#: Kinds of item that carry a visibility, in the order scopes are listed.
KINDS = ("release", "tissue", "study", "trait")
PUBLIC = "public"
PRIVATE = "private"
EMBARGOED = "embargoed"


def today() -> dt.date:
    """Today's date in UTC: the day embargoes are compared with."""
    return dt.datetime.now(dt.UTC).date()


def parse_scope(text: str) -> str:
    """``KIND:ID`` (or ``KIND:*``) checked; ValueError naming the scope otherwise."""
    kind, sep, item = str(text).strip().partition(":")
    if not sep or kind not in KINDS or not item:
        raise ValueError(f"scope {text!r} must be KIND:ID or KIND:* with KIND one of {', '.join(KINDS)} "
                         "(e.g. tissue:BLA, trait:height)")
    return f"{kind}:{item}"


@dataclass(frozen=True)
class ItemAccess:
    """The visibility of one item and the texts shown wherever it appears."""

    visibility: str = PUBLIC
    embargoed_until: dt.date | None = None
    citation: str = ""
    data_use: str = ""

    def is_public(self, on: dt.date) -> bool:
        """Whether everyone may see the item on day ``on``."""
        if self.visibility == EMBARGOED:
            return self.embargoed_until is not None and on >= self.embargoed_until
        return self.visibility != PRIVATE

    def to_json(self) -> dict[str, Any]:
        return {"visibility": self.visibility,
                "embargoed_until": self.embargoed_until.isoformat() if self.embargoed_until else None,
                "citation": self.citation, "data_use": self.data_use}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ItemAccess:
        until = data.get("embargoed_until")
        visibility = str(data.get("visibility") or PUBLIC)
        if visibility not in (PUBLIC, PRIVATE, EMBARGOED):
            visibility = PRIVATE  # an unknown value never opens an item
        return cls(visibility=visibility, embargoed_until=dt.date.fromisoformat(until) if until else None,
                   citation=str(data.get("citation") or ""), data_use=str(data.get("data_use") or ""))

    @classmethod
    def from_config(cls, visibility: object, citation: str = "", data_use: str = "") -> ItemAccess:
        """From atlas.yaml's value: ``"public"``, ``"private"`` or an object with ``embargoed_until``."""
        until = getattr(visibility, "embargoed_until", None)
        if until is not None:
            return cls(EMBARGOED, until, citation, data_use)
        return cls(str(visibility or PUBLIC), None, citation, data_use)


@dataclass(frozen=True)
class Hidden:
    """The items one request may not see, by kind (ids)."""

    releases: frozenset[str] = frozenset()
    tissues: frozenset[str] = frozenset()
    studies: frozenset[str] = frozenset()
    traits: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.releases or self.tissues or self.studies or self.traits)

    def key(self) -> tuple:
        """A hashable key: requests with equal keys see the same site."""
        return tuple(tuple(sorted(s)) for s in (self.releases, self.tissues, self.studies, self.traits))


NOTHING_HIDDEN = Hidden()


class AccessPolicy:
    """The visibility of every item of a site (``atlas.json``'s ``access``; every item public when absent)."""

    def __init__(self, items: Mapping[str, Mapping[str, ItemAccess]] | None = None):
        self.items: dict[str, dict[str, ItemAccess]] = {k: dict((items or {}).get(k, {})) for k in KINDS}

    @classmethod
    def from_atlas(cls, atlas: Mapping[str, Any]) -> AccessPolicy:
        block = atlas.get("access") if isinstance(atlas, Mapping) else None
        block = block if isinstance(block, Mapping) else {}
        return cls({kind: {str(i): ItemAccess.from_json(v) for i, v in (block.get(kind) or {}).items()
                           if isinstance(v, Mapping)} for kind in KINDS})

    def item(self, kind: str, item_id: str) -> ItemAccess:
        """The access of an item (public with no texts when atlas.json does not list it)."""
        return self.items.get(kind, {}).get(str(item_id), ItemAccess())

    def restricted(self) -> bool:
        """Whether any item is private or embargoed, today or later: then what a response holds may depend on
        who asks."""
        return any(a.visibility != PUBLIC for items in self.items.values() for a in items.values())

    def hidden(self, scopes: Iterable[str] = (), on: dt.date | None = None) -> Hidden:
        """The items a holder of ``scopes`` may not see on day ``on`` (default today)."""
        on = on or today()
        granted = set(scopes)
        out: dict[str, frozenset[str]] = {}
        for kind in KINDS:
            out[kind] = frozenset(
                item for item, access in self.items[kind].items()
                if not access.is_public(on) and f"{kind}:{item}" not in granted and f"{kind}:*" not in granted)
        return Hidden(releases=out["release"], tissues=out["tissue"], studies=out["study"], traits=out["trait"])


def access_metadata(entries: Mapping[str, Iterable[tuple[str, ItemAccess]]]) -> dict[str, dict[str, Any]]:
    """``atlas.json``'s ``access``: ``{kind: {id: ItemAccess.to_json()}}`` for the items that are not public with
    no texts (an item not listed is public)."""
    out: dict[str, dict[str, Any]] = {}
    for kind in KINDS:
        listed = {item: access.to_json() for item, access in entries.get(kind, ())
                  if access != ItemAccess()}
        out[kind] = listed
    return out
