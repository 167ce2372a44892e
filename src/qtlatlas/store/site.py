"""A published site: its releases (each opened as a :class:`~qtlatlas.store.release.ReleaseStore`), the
atlas description, studies and errata. Opening a site reads small JSON files only."""

from __future__ import annotations

import copy
import json
import os
import threading
from pathlib import Path

from ..access.policy import KINDS, NOTHING_HIDDEN, AccessPolicy, Hidden, ItemAccess
from ..release import layout
from ..release.errata import read_errata
from ..release.manifest import read_manifest
from .db import Database
from .errors import NotFound
from .params import is_clean
from .release import ReleaseStore, _visible_info

#: Keys of release.json returned by :meth:`Site.releases`.
RELEASE_KEYS = ("id", "genome", "date", "notes", "annotation", "tissues", "modalities", "counts", "built_at",
                "format_version")


def _read_json(path: Path) -> dict:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


class Site:
    """The site directory ``SITE`` written by ``qtlatlas release`` (see :mod:`qtlatlas.release.layout`).

    Releases are found once, at construction (a release published later needs a new :class:`Site`);
    errata and studies are read when asked for, so that a new erratum shows without a restart.

    A site with private items is read through a view (:meth:`for_hidden`) that leaves out what one request may
    not see: its releases, studies and ``atlas`` lack the hidden items, and a hidden item answers NotFound
    exactly as an id that never existed.
    """

    def __init__(self, site_dir: str | os.PathLike[str], *, db: Database | None = None):
        self.path = Path(site_dir)
        if not self.path.is_dir():
            raise NotFound("site", str(site_dir))
        atlas_path = layout.atlas_json(self.path)
        self.atlas: dict = _read_json(atlas_path) if atlas_path.is_file() else {}
        self._infos: dict[str, dict] = {}
        root = layout.releases_dir(self.path)
        if root.is_dir():
            for p in root.iterdir():
                if p.name.startswith(".") or not (p / layout.RELEASE_JSON).is_file():
                    continue
                self._infos[p.name] = _read_json(p / layout.RELEASE_JSON)
        self._ids = sorted(self._infos, key=lambda r: (str(self._infos[r].get("date") or ""), r))
        self._db = db or Database()
        self._stores: dict[str, ReleaseStore] = {}
        self._lock = threading.Lock()
        self.policy = AccessPolicy.from_atlas(self.atlas)
        self.hidden: Hidden = NOTHING_HIDDEN
        self._views: dict[tuple, Site] = {}
        self._stores_of_site = self._stores  # the unrestricted stores, shared by the views
        self._site_atlas = self.atlas
        self._site_infos = self._infos

    # -- views ------------------------------------------------------------------------------------

    def for_hidden(self, hidden: Hidden) -> Site:
        """This site as seen by a request that may not see ``hidden`` (cached per set of hidden items; the
        site itself when nothing is hidden)."""
        if not hidden:
            return self
        key = hidden.key()
        view = self._views.get(key)
        if view is None:
            with self._lock:
                view = self._views.get(key)
                if view is None:
                    view = self._view(hidden)
                    self._views[key] = view
        return view

    def _view(self, hidden: Hidden) -> Site:
        view = copy.copy(self)
        view.hidden = hidden
        view._views = {}
        view._ids = [r for r in self._ids if r not in hidden.releases]
        view._infos = {r: _visible_info(self._infos[r], hidden) if (hidden.tissues or hidden.traits) else self._infos[r]
                       for r in view._ids}
        view.atlas = _visible_atlas(self.atlas, hidden)
        # stores that leave out hidden tissues and traits are the view's own; otherwise the site's are shared
        view._stores = {} if (hidden.tissues or hidden.traits) else self._stores
        return view

    # -- releases ---------------------------------------------------------------------------------

    def release_ids(self) -> list[str]:
        """Published release ids, sorted by release date then id: the latest is last."""
        return list(self._ids)

    def latest(self) -> str:
        if not self._ids:
            raise NotFound("release", "latest", detail=f"(no release is published in {self.path})")
        return self._ids[-1]

    def releases(self) -> list[dict]:
        """Per release (oldest first): the essentials of release.json, ``latest`` and ``errata``."""
        out = []
        for rid in self._ids:
            info = self._infos[rid]
            row = {k: info.get(k) for k in RELEASE_KEYS}
            row["id"] = rid
            row["latest"] = rid == self._ids[-1]
            row["errata"] = self.errata(rid)
            texts = self.item_texts("release", rid)
            row["citation"], row["data_use"] = texts["citation"], texts["data_use"]
            out.append(row)
        return out

    def errata(self, release_id: str) -> list[dict]:
        """Errata of a release, oldest first, as ``{date, text}``."""
        self._check_release(release_id)
        return [{"date": e.get("date", ""), "text": e.get("text", "")} for e in read_errata(self.path, release_id)]

    def release(self, release_id: str | None = None) -> ReleaseStore:
        """The store of a release (``None``: the latest), opened once and cached."""
        rid = self.latest() if release_id is None else self._check_release(release_id)
        store = self._stores.get(rid)
        if store is None:
            with self._lock:
                store = self._stores.get(rid)
                if store is None:
                    store = self._site_store(rid)
                    if self.hidden.tissues or self.hidden.traits:
                        store = store.restricted(self.hidden, atlas=self.atlas)
                    self._stores[rid] = store
        return store

    def _site_store(self, rid: str) -> ReleaseStore:
        """The unrestricted store of a release, shared by every view."""
        store = self._stores_of_site.get(rid)
        if store is None:
            store = ReleaseStore(layout.release_dir(self.path, rid), info=self._site_infos[rid], db=self._db,
                                 atlas=self._site_atlas)
            self._stores_of_site[rid] = store
        return store

    def _check_release(self, release_id: object) -> str:
        if not is_clean(release_id) or release_id not in self._infos:
            raise NotFound("release", release_id, detail=f"(releases: {', '.join(self._ids) or 'none'})")
        return release_id  # type: ignore[return-value]

    # -- citations and data use ---------------------------------------------------------------------

    def item_texts(self, kind: str, item_id: str) -> dict:
        """``{visibility, embargoed_until, citation, data_use}`` of a release, tissue, study or trait this view
        may see (atlas.yaml's texts; empty texts and ``public`` for an item without any)."""
        entry = ((self.atlas.get("access") or {}).get(kind) or {}).get(str(item_id))
        return ItemAccess.from_json(entry).to_json() if isinstance(entry, dict) else ItemAccess().to_json()

    def cited_items(self) -> list[dict]:
        """Every item this view may see that has a citation or data-use text: ``kind, id, citation, data_use,
        visibility, embargoed_until``, in kind order (releases, tissues, studies, traits), then atlas order."""
        out = []
        for kind, items in (self.atlas.get("access") or {}).items():
            for item_id, entry in (items or {}).items():
                if isinstance(entry, dict) and (entry.get("citation") or entry.get("data_use")):
                    out.append({"kind": kind, "id": item_id, **ItemAccess.from_json(entry).to_json()})
        order = {k: i for i, k in enumerate(KINDS)}
        return sorted(out, key=lambda r: order.get(r["kind"], len(order)))

    # -- studies ----------------------------------------------------------------------------------

    def study_ids(self) -> list[str]:
        root = self.path / layout.STUDIES_DIR
        if not root.is_dir():
            return []
        return sorted(p.name for p in root.iterdir()
                      if not p.name.startswith(".") and (p / layout.STUDY_JSON).is_file()
                      and p.name not in self.hidden.studies)

    def studies(self) -> list[dict]:
        """Every published study (see :meth:`study`), sorted by id."""
        return [self.study(s) for s in self.study_ids()]

    def study(self, study_id: str) -> dict:
        """``study.json`` with ``files`` replaced by the manifest rows (path, bytes, sha256, description, kind)."""
        if not is_clean(study_id) or "/" in study_id or study_id.startswith(".") or study_id not in self.study_ids():
            raise NotFound("study", study_id)
        d = layout.study_dir(self.path, study_id)
        data = _read_json(d / layout.STUDY_JSON)
        data.pop("visibility", None)  # as configured when published; atlas.json's access is the one in force
        texts = self.item_texts("study", study_id)
        data["data_use"] = data.get("data_use") or texts["data_use"]
        data["citation"] = data.get("citation") or texts["citation"]
        data["files"] = [{"path": r["path"], "bytes": int(r["bytes"]), "sha256": r["sha256"],
                          "description": r.get("description", ""), "kind": r.get("kind", "")}
                         for r in read_manifest(d)] if (d / layout.MANIFEST).is_file() else []
        data["path"] = str(d)
        return data


def _visible_atlas(atlas: dict, hidden: Hidden) -> dict:
    """atlas.json without the hidden releases, tissues and studies, and with the access texts of visible items
    only."""
    out = dict(atlas)
    if isinstance(out.get("tissues"), list):
        out["tissues"] = [t for t in out["tissues"] if not (isinstance(t, dict) and t.get("id") in hidden.tissues)]
    if isinstance(out.get("releases"), list):
        out["releases"] = [r for r in out["releases"] if r not in hidden.releases]
    if isinstance(out.get("studies"), list):
        out["studies"] = [s for s in out["studies"] if s not in hidden.studies]
    if isinstance(out.get("access"), dict):
        gone = {"release": hidden.releases, "tissue": hidden.tissues, "study": hidden.studies,
                "trait": hidden.traits}
        out["access"] = {kind: {i: v for i, v in (items or {}).items() if i not in gone.get(kind, ())}
                         for kind, items in out["access"].items()}
    return out
