"""Which files of a release hold data of items that are private when it is built, and the public versions of
the release-wide downloads.

An item (tissue or TWAS trait) is private at build when atlas.yaml makes it ``private``, or embargoes it past
the build day. Then:

* a file named after a private item (``phenotypes.Liver.expression.norm.v2_rn7.bed.gz``,
  ``coloc.height.v2_rn7.tsv.gz``, ``tables/all_pairs/Liver.expression.pairs.parquet``) is listed in the private
  manifest with a ``scope`` naming the private items it holds (``tissue:Liver``; the other private items whose
  rows it holds are added: a private trait's TWAS file with a private tissue's panels needs both scopes);
* a release-wide download (every tissue in one table: ``top_assoc.expression…``, ``samples…``,
  ``individuals…``, ``median_tpm…``, ``qtl_coloc…``, ``sample_qc…``, a public trait's ``coloc`` or
  ``twas_assoc`` file) is rewritten without the rows (or, for ``median_tpm``, the columns) of private items,
  and stays public: the holders of a scope find the private rows in the per-item files and through the API;
* the portal's query tables (``tables/``) and ``release.json`` / ``twas.json`` hold every item: with any
  private item they are listed in the private manifest under every private scope.

Only text tables are rewritten (lines kept byte for byte, gzip recompressed); the portal leaves out the rest
at request time (:meth:`qtlatlas.store.ReleaseStore.downloads`).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable
from pathlib import Path

from ..access.policy import Hidden, ItemAccess
from ..io.text import gzip_text_writer, open_text
from . import layout

#: Columns whose values name a tissue (``tissue`` may hold a comma-separated list, as ``tissues`` does).
TISSUE_COLUMNS = ("tissue", "tissues", "tissue1", "tissue2")
#: FUSION's panel column (``{tissue}.{modality}``).
PANEL_COLUMN = "PANEL"
TRAIT_COLUMN = "trait"
_TEXT_TABLES = (".tsv", ".tsv.gz", ".dat", ".txt")


def private_at_build(atlas, on: dt.date | None = None) -> Hidden:
    """The tissues and TWAS traits of ``atlas`` (an :class:`~qtlatlas.config.Atlas`) not public on day ``on``
    (default today, UTC)."""
    from ..access.policy import today

    on = on or today()

    def hidden(items) -> frozenset[str]:
        return frozenset(i.id for i in items
                         if not ItemAccess.from_config(i.visibility).is_public(on))

    return Hidden(tissues=hidden(atlas.tissues), traits=hidden(atlas.twas.traits))


def _scopes(tissues: Iterable[str], traits: Iterable[str]) -> set[str]:
    return {f"tissue:{t}" for t in tissues} | {f"trait:{t}" for t in traits}


def scope_text(scopes: set[str]) -> str:
    return " ".join(sorted(scopes))


def named_scopes(rel: str, private: Hidden) -> set[str]:
    """The private items a file's name names (the dot-separated parts of its base name; an index follows its
    file)."""
    name = rel.rsplit("/", 1)[-1]
    parts = set(name.split("."))
    return _scopes(parts & private.tissues, parts & private.traits)


def private_scopes(out: Path, files: Iterable[str], private: Hidden) -> dict[str, str]:
    """``{relative path: scope}`` of the files of the release directory ``out`` that go to the private manifest,
    rewriting the release-wide downloads without private rows first (see the module docstring)."""
    if not private:
        return {}
    everything = _scopes(private.tissues, private.traits)
    out_scopes: dict[str, str] = {}
    for rel in files:
        named = named_scopes(rel, private)
        if rel.startswith(f"{layout.DOWNLOADS_DIR}/"):
            base = rel[:-4] if rel.endswith((".tbi", ".csi")) else rel
            held = _text_table_scopes(out / base, private, rewrite=not named) if base.endswith(_TEXT_TABLES) else set()
            if named:
                out_scopes[rel] = scope_text(named | held)
        elif named:
            out_scopes[rel] = scope_text(named)
        else:  # query tables, release.json, twas.json: every item of the release
            out_scopes[rel] = scope_text(everything)
    return out_scopes


def list_files_scoped(out: Path, private: Hidden) -> dict[str, str]:
    """:func:`private_scopes` of every file of the release directory ``out``."""
    from .manifest import list_files

    return private_scopes(out, list_files(out), private)


def _text_table_scopes(path: Path, private: Hidden, *, rewrite: bool) -> set[str]:
    """The private items whose rows (or columns) a text table holds; with ``rewrite``, the table is rewritten
    without them (when it holds any)."""
    with open_text(str(path)) as fh:
        header = fh.readline()
    columns = header.rstrip("\n\r").split("\t")
    tissue_cols = [i for i, c in enumerate(columns) if c in TISSUE_COLUMNS]
    panel_col = columns.index(PANEL_COLUMN) if PANEL_COLUMN in columns else None
    trait_col = columns.index(TRAIT_COLUMN) if TRAIT_COLUMN in columns else None
    wide = [i for i, c in enumerate(columns) if c in private.tissues]
    n_tissues = columns.index("n_tissues") if "n_tissues" in columns else None
    if not (tissue_cols or panel_col is not None or trait_col is not None or wide):
        return set()
    held_tissues: set[str] = {columns[i] for i in wide}
    held_traits: set[str] = set()
    keep_cols = [i for i in range(len(columns)) if i not in wide]

    def filtered(line: str) -> str | None:
        fields = line.rstrip("\n\r").split("\t")
        if trait_col is not None and trait_col < len(fields) and fields[trait_col] in private.traits:
            held_traits.add(fields[trait_col])
            return None
        if panel_col is not None and panel_col < len(fields):
            tissue = fields[panel_col].split(".", 1)[0]
            if tissue in private.tissues:
                held_tissues.add(tissue)
                return None
        for i in tissue_cols:
            if i >= len(fields) or not fields[i]:
                continue
            names = fields[i].split(",")
            gone = [n for n in names if n in private.tissues]
            if not gone:
                continue
            held_tissues.update(gone)
            left = [n for n in names if n not in private.tissues]
            if not left or len(names) == 1:
                return None
            fields[i] = ",".join(left)
            if n_tissues is not None and columns[i] == "tissues":
                fields[n_tissues] = str(len(left))
        if wide:
            fields = [fields[i] for i in keep_cols if i < len(fields)]
        return "\t".join(fields) + "\n"

    tmp = path.with_name(f".{path.name}.public")
    gz = path.name.endswith(".gz")
    writer = gzip_text_writer(tmp) if gz else open(tmp, "w", encoding="utf-8", newline="")
    with open_text(str(path)) as src, writer as dst:
        src.readline()
        dst.write("\t".join(columns[i] for i in keep_cols) + "\n")
        for line in src:
            kept = filtered(line)
            if kept is not None:
                dst.write(kept)
    held = _scopes(held_tissues, held_traits)
    if rewrite and held:
        os.replace(tmp, path)
    else:
        tmp.unlink()
    return held
