"""What every page knows: the site, the release being browsed and how to build links that keep it.

A page is for the release of ``?release=`` (the latest when absent). Every link a page builds through
:meth:`Page.url` carries ``release=`` when the visitor chose one, so that an older release stays browsable
page after page; without it, links follow the latest release.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from urllib.parse import quote, urlencode

from fastapi import Request

from ...store import NotFound, ReleaseStore, Site
from ...store.params import is_clean
from ...store.portal import portal_queries
from ..access import reader_of, site_of
from .linkouts import link_outs

#: Longest release id accepted in ``?release=``.
MAX_RELEASE_ID = 64
DEFAULT_COLOUR = "#5b6b7f"
_HEX_COLOUR = re.compile(r"^#(?:[0-9A-Fa-f]{3}|[0-9A-Fa-f]{6})$")


@dataclass
class Page:
    """The context of one page request: site, release store and link helpers."""

    request: Request
    site: Site
    release: ReleaseStore
    pinned: bool = False

    # -- the atlas ----------------------------------------------------------------------------------

    @cached_property
    def atlas(self) -> dict:
        """Name, description, contact and website of the atlas (atlas.json's ``atlas`` block)."""
        info = self.site.atlas.get("atlas")
        info = dict(info) if isinstance(info, dict) else {}
        info.setdefault("name", self.site.atlas.get("name") or "qtlatlas")
        info.setdefault("description", self.site.atlas.get("description") or "")
        return info

    @property
    def access_enabled(self) -> bool:
        """Whether the atlas has private or embargoed items (then pages offer signing in)."""
        return self.site.policy.restricted()

    @property
    def reader(self):
        """The token record of the signed-in reader, or None."""
        return reader_of(self.request)

    @cached_property
    def releases(self) -> list[dict]:
        """Every release (newest first) with ``id, date, genome, notes, latest, errata``."""
        return list(reversed(self.site.releases()))

    @property
    def latest_id(self) -> str:
        return self.site.latest()

    @property
    def is_latest(self) -> bool:
        return self.release.id == self.latest_id

    # -- links --------------------------------------------------------------------------------------

    def url(self, path: str, /, **params) -> str:
        """``path`` with ``params`` as its query (None and empty values left out, lists repeated) and
        ``release=`` when the visitor chose a release."""
        query = {k: v for k, v in params.items() if v is not None and v != "" and v != []}
        if self.pinned:
            query["release"] = self.release.id
        return path + ("?" + urlencode(query, doseq=True) if query else "")

    def url_for_release(self, release_id: str) -> str:
        """This page's URL (same path and parameters) in another release."""
        query = [(k, v) for k, v in self.request.query_params.multi_items() if k != "release"]
        query.append(("release", release_id))
        return self.request.url.path + "?" + urlencode(query)

    def url_with(self, **changes) -> str:
        """This page's URL with some query parameters replaced (None removes one); ``release=`` is kept."""
        query = [(k, v) for k, v in self.request.query_params.multi_items() if k not in changes]
        query += [(k, v) for k, v in changes.items() if v is not None]
        return self.request.url.path + ("?" + urlencode(query) if query else "")

    def gene_url(self, gene: str, **params) -> str:
        return self.url("/gene/" + quote(str(gene), safe=""), **params)

    def variant_url(self, variant: str, **params) -> str:
        return self.url("/variant/" + quote(str(variant), safe=""), **params)

    def tissue_url(self, tissue: str, **params) -> str:
        return self.url("/tissue/" + quote(str(tissue), safe=""), **params)

    def study_url(self, study: str) -> str:
        return self.url("/studies/" + quote(str(study), safe=""))

    def link_outs(self, kind: str, item: dict) -> list[dict]:
        """External links (``[{"label", "url"}]``) of a gene, variant or accession (``kind``) configured in
        atlas.yaml ``links:`` (see :mod:`.linkouts`)."""
        return link_outs(self.site, kind, item)

    def api_url(self, path: str, /, **params) -> str:
        """A REST API URL (``/api/v1`` + ``path``) for this release (always pinned: the API's answer is then
        cacheable for long)."""
        query = {k: v for k, v in params.items() if v is not None and v != ""}
        query["release"] = self.release.id
        return "/api/v1" + path + "?" + urlencode(query, doseq=True)

    def file_url(self, rel_path: str) -> str:
        """URL of a download of this release (``rel_path`` relative to the release directory)."""
        return f"/releases/{quote(self.release.id, safe='')}/{quote(rel_path)}"

    # -- tissues and modalities of the release ------------------------------------------------------

    @cached_property
    def tissues(self) -> list[dict]:
        """Tissues of the release with samples, expressed genes and counts per modality (computed once per
        release)."""
        return portal_queries(self.release).tissue_summaries()

    @cached_property
    def tissue_info(self) -> dict[str, dict]:
        return {t["tissue_id"]: t for t in self.tissues}

    @cached_property
    def modalities(self) -> list[dict]:
        return self.release.modalities()

    @cached_property
    def modality_names(self) -> dict[str, str]:
        return {m["id"]: m["name"] for m in self.modalities}

    @property
    def unit(self) -> str:
        """The unit of the release's unnormalised expression values (TPM unless atlas.yaml declares another)."""
        return self.release.value_unit("expression")

    @cached_property
    def has_twas(self) -> bool:
        """Whether the release has TWAS results (the TWAS hub has something to show)."""
        return self.release.has_twas()

    @cached_property
    def has_studies(self) -> bool:
        """Whether the site lists studies (the studies page has something to show)."""
        return bool(self.site.study_ids())

    @cached_property
    def has_medians(self) -> bool:
        """Whether the release has median expression (the expression heatmap has something to show)."""
        return self.release.has_table("medians")

    @cached_property
    def has_expression_values(self) -> bool:
        """Whether the release has per-sample expression of some tissue (the gene page's violins)."""
        return bool(self.release.expression_tissues())

    def tissue_name(self, tissue: str) -> str:
        info = self.tissue_info.get(tissue)
        return (info or {}).get("name") or tissue

    def tissue_colour(self, tissue: str) -> str:
        """The tissue's colour from the atlas when it is a plain hex colour, else a neutral grey."""
        colour = str((self.tissue_info.get(tissue) or {}).get("colour") or "")
        return colour if _HEX_COLOUR.match(colour) else DEFAULT_COLOUR


def requested_release(site: Site, request: Request) -> tuple[ReleaseStore, bool]:
    """The release store asked for by ``?release=`` (NotFound when unknown) and whether one was asked for."""
    values = request.query_params.getlist("release")
    if not values:
        return site.release(None), False
    value = values[-1]
    if not is_clean(value, MAX_RELEASE_ID):
        raise NotFound("release", value[:MAX_RELEASE_ID] if isinstance(value, str) else value,
                       detail=f"(releases: {', '.join(site.release_ids())})")
    return site.release(value), True


def page_for(request: Request) -> Page:
    """The :class:`Page` of a request (raises NotFound for an unknown ``?release=``)."""
    site: Site = site_of(request)
    release, pinned = requested_release(site, request)
    return Page(request=request, site=site, release=release, pinned=pinned)


def fallback_page(request: Request) -> Page:
    """A :class:`Page` on the latest release, for error pages (whatever ``?release=`` says)."""
    site: Site = site_of(request)
    try:
        release, pinned = requested_release(site, request)
    except Exception:  # noqa: BLE001 - the error page must render whatever went wrong
        release, pinned = site.release(None), False
    return Page(request=request, site=site, release=release, pinned=pinned)
