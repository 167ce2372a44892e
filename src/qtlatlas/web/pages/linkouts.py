"""External link-outs of genes, variants and accessions, from atlas.json's ``links`` (atlas.yaml ``links:``, see
:mod:`qtlatlas.config_links`). A site built before link-outs existed gets the defaults (accessions only)."""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import quote

from ...config_links import LinkOuts, placeholders
from ...store import Site

_RSID = re.compile(r"^rs\d+$")


@lru_cache(maxsize=8)
def _parsed(site: Site) -> LinkOuts:
    raw = site.atlas.get("links")
    try:
        return LinkOuts.model_validate(raw) if isinstance(raw, dict) else LinkOuts()
    except ValueError:  # a hand-edited atlas.json: the portal still serves, without link-outs
        return LinkOuts(accession=[])


def _fields(kind: str, item: dict) -> dict[str, str]:
    fields = {k: str(v) for k, v in item.items() if v is not None and v == v and not isinstance(v, (dict, list))}
    if kind == "variant" and "rsid" not in fields and _RSID.match(fields.get("variant_id", "")):
        fields["rsid"] = fields["variant_id"]
    return {k: v for k, v in fields.items() if v != ""}


def link_outs(site: Site, kind: str, item: dict) -> list[dict]:
    """``[{"label", "url"}]`` of the ``kind`` (gene, variant, accession) links that apply to ``item`` (a dict of
    its fields): each whose placeholders ``item`` fills (values URL-quoted) and, for accessions, whose pattern
    matches."""
    fields = _fields(kind, item)
    out = []
    for link in getattr(_parsed(site), kind):
        if not placeholders(link.url) <= fields.keys():
            continue
        if link.pattern and not re.search(link.pattern, fields.get("accession", "")):
            continue
        url = link.url.format(**{k: quote(v, safe=":") for k, v in fields.items()})
        out.append({"label": link.label, "url": url})
    return out
