"""One published release, queried through DuckDB: :class:`ReleaseStore`.

The store caches the small tables of a release (genes, tissues, counts per tissue × modality, the manifest)
and reads every other table with ``read_parquet`` on demand, filtering on the tables' sort keys so that
DuckDB reads only the row groups that can match (see :mod:`qtlatlas.release.tables` and :mod:`qtlatlas.release.associations` for the sort orders).
Pair tables and per-sample tables are never cached. The query methods live in one module per job:
:mod:`.genes` (genes, transcripts, expression), :mod:`.gene_track` (the genes and exons of a region),
:mod:`.associations` (QTLs and significant pairs), :mod:`.all_pairs` (every tested pair), :mod:`.ld` (linkage
disequilibrium), :mod:`.variants` (variants and phenotype-by-genotype data), :mod:`.finemapping` (SuSiE
credible sets and PIPs), :mod:`.coloc` (colocalisation with GWAS traits), :mod:`.qtl_coloc` (QTL–QTL
colocalisation) and :mod:`.samples` (samples and individuals).
"""

from __future__ import annotations

import copy
import gc
import json
import os
import threading
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from ..access.policy import NOTHING_HIDDEN, Hidden
from ..io.chromosomes import chrom_key
from ..release import layout
from ..release.manifest import read_manifest, read_private_manifest
from .all_pairs import AllPairsQueries
from .associations import AssociationQueries
from .coloc import ColocQueries
from .db import Database
from .errors import NotFound
from .finemapping import FinemappingQueries
from .gene_track import GeneTrackQueries
from .genes import GeneQueries
from .ld import LdQueries
from .params import is_clean
from .portal import PortalQueries
from .positional import PositionalTable
from .predictions import PredictionQueries
from .qtl_coloc import QtlColocQueries
from .samples import SampleQueries
from .trans import TransQueries
from .twas import TwasQueries
from .variants import VariantQueries

CROSS_MODALITY = "cross_modality"
#: Cache keys whose values do not depend on who asks (gene and variant indexes, table schemas, chromosome
#: names): a restricted store (:meth:`ReleaseStore.restricted`) reads them from the unrestricted one.
SHARED_CACHE_PREFIXES = ("columns:", "chroms", "positional", "genes", "variants_by_position", "variants_by_index",
                         "variant_index_reader", "exons_index", "transcripts_index", "genotype_matrix",
                         "genotype_reader", "ld_row_offsets", "associations_by_gene", "phenotype_index",
                         "expression_index", "gene_status_index", "all_pairs_by_variant", "all_pairs:",
                         "nominal_pairs", "mito", "ld_samples:", "manifest")


class ReleaseStore(GeneQueries, GeneTrackQueries, AssociationQueries, AllPairsQueries, VariantQueries, PortalQueries,
                   TwasQueries, LdQueries, FinemappingQueries, ColocQueries, QtlColocQueries, TransQueries,
                   PredictionQueries, SampleQueries):
    """Read-only queries on ``SITE/releases/<id>``; safe to share between threads.

    Args:
        path: the release directory.
        info: its release.json (read from ``path`` when not given).
        db: the DuckDB database to query with (a new one when not given).
        atlas: the site's atlas.json (modality descriptions), optional.
    """

    def __init__(self, path: str | os.PathLike[str], *, info: dict | None = None, db: Database | None = None,
                 atlas: dict | None = None):
        self.path = Path(path)
        if info is None:
            p = self.path / layout.RELEASE_JSON
            if not p.is_file():
                raise NotFound("release", self.path.name, detail=f"(no {layout.RELEASE_JSON} in {self.path})")
            info = json.loads(p.read_text(encoding="utf-8"))
        self.info: dict = info
        self.id: str = str(info.get("id") or self.path.name)
        self.atlas: dict = atlas or {}
        self.db = db or Database()
        self._lock = threading.RLock()
        self._cache: dict[str, object] = {}
        # tissue -> modalities of the release, in release.json order
        self._tissue_modalities: dict[str, list[str]] = {
            t["id"]: list(t.get("modalities", [])) for t in info.get("tissues", [])}
        #: tissues and TWAS traits this store leaves out (:meth:`restricted`)
        self.hidden: Hidden = NOTHING_HIDDEN
        self._base: ReleaseStore = self

    def restricted(self, hidden: Hidden, *, atlas: dict | None = None) -> ReleaseStore:
        """This release without the tissues and TWAS traits of ``hidden``: they leave its tissue list, validation
        (NotFound, as an id that never existed) and every query (rows, counts and totals are over what is left).
        It shares the files, the database and the view-independent caches (:data:`SHARED_CACHE_PREFIXES`) of
        this store and keeps its own cache of everything else."""
        view = copy.copy(self)
        view.hidden = hidden
        view.atlas = atlas if atlas is not None else self.atlas
        view.info = _visible_info(self.info, hidden)
        view._tissue_modalities = {t: ms for t, ms in self._tissue_modalities.items() if t not in hidden.tissues}
        view._cache = {}
        view._lock = threading.RLock()
        view._base = self._base
        return view

    # -- files and caches ---------------------------------------------------------------------------

    def table_file(self, name: str) -> str:
        """Absolute path of a query table of :data:`qtlatlas.release.layout.TABLES`."""
        return str(self.path / layout.table_path(name))

    def has_table(self, name: str) -> bool:
        return (self.path / layout.table_path(name)).is_file()

    def _cached(self, key: str, load):
        """``load()``'s value, computed once and kept for the life of the store.

        Cached values live as long as the process, and a full garbage collection traverses every object the
        collector tracks (each element of an object array of a million ids included): about 90 ms at RatGTEx's
        scale, a stall of every request in flight on that worker, triggered by the allocations of ordinary
        requests. After each load (a few dozen per process) the heap is therefore collected once and frozen
        (:func:`gc.freeze`): what exists then is left out of later collections; objects are still freed as soon
        as nothing refers to them."""
        if self._base is not self and key.startswith(SHARED_CACHE_PREFIXES):
            return self._base._cached(key, load)
        value = self._cache.get(key)
        if value is None:
            with self._lock:
                value = self._cache.get(key)
                if value is None:
                    value = load()
                    self._cache[key] = value
                    gc.collect()  # garbage first: what is frozen is never collected
                    gc.freeze()
        return value

    def memo(self, key: str, load):
        """``load()``'s result, computed once per release and kept (a release never changes): for values derived
        from the release that many requests need (a compat route's fixed payload, say). Do not modify it."""
        return self._cached(f"memo:{key}", load)

    def _positional(self) -> PositionalTable | None:
        """The position reader of ``associations_by_position`` (None when the release predates it)."""
        if not self.has_table("associations_by_position"):
            return None
        return self._cached("positional", lambda: PositionalTable(self.table_file("associations_by_position")))

    def columns(self, name: str) -> list[str]:
        """Column names of a query table (from the Parquet schema; cached)."""
        return self._cached(f"columns:{name}", lambda: list(pq.read_schema(self.table_file(name)).names))

    def _manifest(self) -> list[dict]:
        return self._cached("manifest", lambda: read_manifest(self.path))

    def _tissues_df(self) -> pd.DataFrame:
        return self._cached("tissues", lambda: self.visible_rows(pd.read_parquet(self.table_file("tissues")),
                                                                 tissue="tissue_id"))

    def _counts_df(self) -> pd.DataFrame:
        return self._cached("tissue_modality", lambda: self.visible_rows(
            pd.read_parquet(self.table_file("tissue_modality"))))

    # -- what this store leaves out (restricted stores) ----------------------------------------------

    def tissue_visible(self, tissue: object) -> bool:
        return tissue not in self.hidden.tissues

    def trait_visible(self, trait: object) -> bool:
        return trait not in self.hidden.traits

    def tissue_clause(self, column: str = "tissue") -> tuple[str, list[str]]:
        """``(" AND <column> NOT IN (?, …)", hidden tissues)``: the SQL that leaves out the hidden tissues, for a
        WHERE clause; ``("", [])`` when none is hidden. ``column`` is a trusted identifier (may be qualified)."""
        return _not_in(column, self.hidden.tissues)

    def trait_clause(self, column: str = "trait") -> tuple[str, list[str]]:
        """As :meth:`tissue_clause`, for hidden TWAS traits."""
        return _not_in(column, self.hidden.traits)

    def visible_rows(self, df: pd.DataFrame, *, tissue: str | tuple[str, ...] | None = "tissue",
                     trait: str | tuple[str, ...] | None = None) -> pd.DataFrame:
        """``df`` without the rows of hidden tissues (in each ``tissue`` column present) and hidden traits (each
        ``trait`` column present); ``df`` itself when nothing is hidden or removed."""
        if not self.hidden or df is None or df.empty:
            return df
        keep = None
        for columns, hidden in ((tissue, self.hidden.tissues), (trait, self.hidden.traits)):
            if not hidden or columns is None:
                continue
            for col in ((columns,) if isinstance(columns, str) else columns):
                if col in df.columns:
                    mask = ~df[col].isin(hidden).to_numpy()
                    keep = mask if keep is None else keep & mask
        if keep is None or keep.all():
            return df
        return df[keep].reset_index(drop=True)

    def chrom_spellings(self, key_or_name: str) -> list[str]:
        """The spellings of a chromosome in this release's tables (``1`` -> ``['chr1']``)."""
        def load() -> dict[str, list[str]]:
            names = set(self._genes()["chrom"].dropna().astype(str))
            if self.has_table("variants"):
                names |= {r[0] for r in self.db.rows(
                    "SELECT DISTINCT chrom FROM read_parquet(?) WHERE chrom IS NOT NULL", [self.table_file("variants")])}
            out: dict[str, list[str]] = {}
            for n in sorted(names):
                out.setdefault(chrom_key(n), []).append(n)
            return out

        spellings = self._cached("chroms", load)
        return list(spellings.get(chrom_key(key_or_name), [key_or_name]))

    # -- validation ---------------------------------------------------------------------------------

    def tissue_ids(self) -> list[str]:
        return list(self._tissue_modalities)

    def modality_ids(self) -> list[str]:
        """Modalities of the release (cross_modality last when present)."""
        mods = list(dict.fromkeys(m for ms in self._tissue_modalities.values() for m in ms))
        return [m for m in mods if m != CROSS_MODALITY] + [m for m in mods if m == CROSS_MODALITY]

    def check_tissue(self, tissue: object) -> str:
        if not is_clean(tissue) or tissue not in self._tissue_modalities:
            raise NotFound("tissue", tissue, detail=f"in release {self.id} (tissues: {', '.join(self.tissue_ids())})")
        return tissue  # type: ignore[return-value]

    def check_modality(self, modality: object, tissue: str | None = None) -> str:
        known = self._tissue_modalities[tissue] if tissue is not None else self.modality_ids()
        if not is_clean(modality) or modality not in known:
            where = f"in tissue {tissue} of release {self.id}" if tissue else f"in release {self.id}"
            raise NotFound("modality", modality, detail=f"{where} (modalities: {', '.join(known)})")
        return modality  # type: ignore[return-value]

    def _tissue_filter(self, tissues) -> list[str] | None:
        from .params import text_list

        values = text_list(tissues, "tissues")
        return None if values is None else [self.check_tissue(t) for t in values]

    def _modality_filter(self, modalities) -> list[str] | None:
        from .params import text_list

        values = text_list(modalities, "modalities")
        return None if values is None else [self.check_modality(m) for m in values]

    # -- release description ----------------------------------------------------------------------

    def tissues(self) -> list[dict]:
        """Per tissue: ``tissue_id, name, colour, ontology_id, n_samples, n_expressed_genes, modalities``
        (modality ids of the tissue), ``counts`` ({modality: {n_samples, n_tested, n_egenes,
        n_independent}}) and atlas.yaml's ``citation`` and ``data_use`` texts of the tissue (empty when none)."""
        def load() -> list[dict]:
            counts = self._counts_df()
            out = []
            for row in self._tissues_df().to_dict("records"):
                tid = row["tissue_id"]
                part = counts[counts["tissue"] == tid]
                row = {k: (None if pd.isna(v) else v) for k, v in row.items()}
                row["n_samples"] = int(row["n_samples"] or 0)
                row["n_expressed_genes"] = int(row["n_expressed_genes"] or 0)
                row["modalities"] = list(self._tissue_modalities.get(tid, []))
                row["counts"] = {r["modality"]: {k: int(r[k]) for k in ("n_samples", "n_tested", "n_egenes",
                                                                         "n_independent")}
                                 for r in part.to_dict("records")}
                texts = ((self.atlas.get("access") or {}).get("tissue") or {}).get(tid) or {}
                row["citation"], row["data_use"] = texts.get("citation") or "", texts.get("data_use") or ""
                out.append(row)
            return out

        return copy.deepcopy(self._cached("tissue_rows", load))  # a copy: callers may change theirs

    def modalities(self) -> list[dict]:
        """``id, name, grouped, description`` of each modality of the release (atlas.json wins over
        release.json for name and description), cross_modality last."""
        from_release = {m["id"]: m for m in self.info.get("modalities", [])}
        from_atlas = {m["id"]: m for m in self.atlas.get("modalities", []) if isinstance(m, dict) and "id" in m}
        out = []
        for mid in self.modality_ids():
            base = {"id": mid, "name": mid.replace("_", " ").capitalize(), "grouped": mid == CROSS_MODALITY,
                    "description": ""}
            for src in (from_release.get(mid), from_atlas.get(mid)):
                if src:
                    base.update({k: src[k] for k in ("name", "grouped", "description") if src.get(k) is not None})
            out.append(base)
        return out

    def value_unit(self, modality: str = "expression") -> str:
        """The unit of the unnormalised values of ``modality`` (release.json's ``modalities[].unit``, declared
        by atlas.yaml's ``unit:``): TPM when the release does not say (releases built before it was recorded)."""
        for m in self.info.get("modalities", []):
            if m.get("id") == modality and m.get("unit"):
                return str(m["unit"])
        return "TPM"

    def _private_manifest(self) -> list[dict]:
        """Rows of ``MANIFEST.private.tsv`` (files of items private at build), each with its ``scope``."""
        return self._cached("manifest:private", lambda: read_private_manifest(self.path))

    def downloads(self) -> list[dict]:
        """Manifest rows of the download files and their indexes (``.tbi`` of a BED or VCF): path (relative
        to the release), bytes, sha256, description, kind (``download`` or ``index``). Files of the private
        manifest are listed when this store sees every item of their scope (a restricted store leaves out
        hidden tissues and traits; an unrestricted one sees all), and a restricted store also leaves out any
        file whose name names a hidden tissue or trait."""
        prefix = f"{layout.DOWNLOADS_DIR}/"
        rows = [*self._manifest(), *(r for r in self._private_manifest() if self._scope_visible(r.get("scope", "")))]
        mixed = self._mixed_files_unsafe()
        return [{"path": r["path"], "bytes": int(r["bytes"]), "sha256": r["sha256"],
                 "description": r.get("description", ""), "kind": r.get("kind", "")}
                for r in rows
                if (r.get("kind") == "download" or (r.get("kind") == "index" and r["path"].startswith(prefix)))
                and not self._names_hidden(r["path"]) and not (mixed and self._mixes_tissues(r["path"]))]

    def _mixed_files_unsafe(self) -> bool:
        """Whether this store hides a tissue that was public when the release was built (release.json's
        ``private_at_build``): the release-wide downloads, written with that tissue's rows, must then not be
        listed (an item made private after its release was built)."""
        if not self.hidden.tissues:
            return False
        built = set((self._base.info.get("private_at_build") or {}).get("tissues") or [])
        return bool(self.hidden.tissues - built)

    def _mixes_tissues(self, rel: str) -> bool:
        """Whether a download may hold rows of several tissues: its name names no tissue of the release (the
        genotypes, which hold no tissue's data, excepted)."""
        parts = set(rel.rsplit("/", 1)[-1].split("."))
        return not (parts & set(self._base._tissue_modalities)) and not rel.rsplit("/", 1)[-1].startswith("genotypes.")

    def _scope_visible(self, scope: str) -> bool:
        """Whether every item of a private-manifest scope (``tissue:A trait:B``) is visible to this store."""
        for part in scope.split():
            kind, _, item = part.partition(":")
            if (kind == "tissue" and not self.tissue_visible(item)) or (kind == "trait" and not self.trait_visible(item)):
                return False
        return True

    def _names_hidden(self, rel: str) -> bool:
        """Whether a download's file name has a hidden tissue or trait among its dot-separated parts."""
        if not self.hidden:
            return False
        parts = set(rel.rsplit("/", 1)[-1].split("."))
        return bool(parts & self.hidden.tissues or parts & self.hidden.traits)

    def download_file(self, rel: str) -> Path:
        """Absolute path of a download listed in the manifest; NotFound otherwise (never outside the release)."""
        if not is_clean(rel, 500) or rel not in {d["path"] for d in self.downloads()}:
            raise NotFound("download", rel)
        return self.path / rel

    def __repr__(self) -> str:
        return f"ReleaseStore({self.id!r}, {str(self.path)!r})"


def _not_in(column: str, hidden: frozenset[str]) -> tuple[str, list[str]]:
    if not hidden:
        return "", []
    values = sorted(hidden)
    return f" AND {column} NOT IN ({', '.join('?' * len(values))})", values


def _visible_info(info: dict, hidden: Hidden) -> dict:
    """release.json without the hidden tissues (their entries, inputs and per-tissue counts)."""
    out = dict(info)
    out["tissues"] = [t for t in info.get("tissues", []) if t.get("id") not in hidden.tissues]
    out["inputs"] = [i for i in info.get("inputs", []) if not (isinstance(i, dict) and i.get("tissue") in hidden.tissues)]
    out.pop("counts", None)  # release-wide totals include the hidden tissues
    out.pop("private_at_build", None)  # names them
    return out
