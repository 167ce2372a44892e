"""``qtlatlas tokens add|list|revoke``: the access tokens that open a site's private items."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from ..errors import QtlAtlasError
from .console import console


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def _add_tokens(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tokens", help="access tokens for private and embargoed data",
                       description="Tokens open private items (atlas.yaml visibility: private or embargoed_until) to "
                       "their holders: as 'Authorization: Bearer TOKEN' on the API, or through the portal's sign-in "
                       "form. The site stores a hash of each token, never the token.")
    tsub = p.add_subparsers(dest="tokens_command", required=True, metavar="{add,list,revoke}")
    add = tsub.add_parser("add", help="create a token and print it (once)")
    add.add_argument("name", help="who holds it (a name, e-mail or lab; letters, digits, _ . @ -)")
    add.add_argument("--site", type=Path, required=True, help="site directory")
    add.add_argument("--scope", action="append", default=[], required=True, metavar="KIND:ID",
                     help="an item the token opens: release:ID, tissue:ID, study:ID or trait:ID (KIND:* for every item "
                     "of a kind); repeat for several")
    add.add_argument("--expires", type=_date, help="last day the token is valid (YYYY-MM-DD, UTC; default: never)")
    add.add_argument("--note", default="", help="a free note kept with the token")
    add.set_defaults(func=cmd_add)
    ls = tsub.add_parser("list", help="list tokens (name, id, scopes, dates, status; never the token)")
    ls.add_argument("--site", type=Path, required=True, help="site directory")
    ls.add_argument("--all", action="store_true", help="include revoked and expired tokens")
    ls.set_defaults(func=cmd_list)
    rv = tsub.add_parser("revoke", help="revoke a token now (by name or id)")
    rv.add_argument("name", help="token name or id")
    rv.add_argument("--site", type=Path, required=True, help="site directory")
    rv.set_defaults(func=cmd_revoke)


def _unknown_scopes(site: Path, scopes: list[str]) -> list[str]:
    """Scopes naming an item the site's atlas.json does not know (a likely typo)."""
    import json

    from ..release import layout

    path = layout.atlas_json(site)
    if not path.is_file():
        return []
    atlas = json.loads(path.read_text(encoding="utf-8"))
    known = {"release": set(atlas.get("releases") or []), "study": set(atlas.get("studies") or []),
             "tissue": {t.get("id") for t in atlas.get("tissues") or [] if isinstance(t, dict)},
             "trait": set((atlas.get("access") or {}).get("trait") or {})}
    out = []
    for scope in scopes:
        kind, _, item = scope.partition(":")
        if item != "*" and kind in known and (kind != "trait" or known["trait"]) and item not in known[kind]:
            out.append(scope)
    return out


def cmd_add(args: argparse.Namespace) -> int:
    from ..access.tokens import TokenError, add_token

    try:
        token = add_token(args.site, args.name, args.scope, expires=args.expires, note=args.note)
    except TokenError as e:
        raise QtlAtlasError(str(e)) from None
    for scope in _unknown_scopes(args.site, args.scope):
        console.print(f"[yellow]warning:[/] {scope} names no item of {args.site}'s atlas.json")
    console.print(f"Token for [bold]{args.name}[/] ({', '.join(args.scope)}"
                  f"{', until ' + args.expires.isoformat() if args.expires else ''}). It is shown once; the site keeps "
                  "only its hash:", soft_wrap=True)
    print(token)
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from rich.table import Table

    from ..access.policy import today
    from ..access.tokens import TokenError, read_tokens

    try:
        records = read_tokens(args.site)
    except TokenError as e:
        raise QtlAtlasError(str(e)) from None
    on = today()
    shown = [r for r in records if args.all or r.active(on)]
    if not shown:
        console.print(f"No {'' if args.all else 'active '}token in {args.site}.")
        return 0
    table = Table("name", "id", "scopes", "created", "expires", "status", "note")
    for r in shown:
        table.add_row(r.name, r.id, " ".join(r.scopes), r.created, r.expires or "never", r.status(on), r.note)
    console.print(table)
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    from ..access.tokens import TokenError, revoke_token

    try:
        revoked = revoke_token(args.site, args.name)
    except TokenError as e:
        raise QtlAtlasError(str(e)) from None
    for r in revoked:
        console.print(f"Revoked {r.name} ({r.id}); the portal refuses it from its next request.")
    return 0
