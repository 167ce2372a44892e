"""``MANIFEST.tsv``: the checksum list of a release (or study) directory, and its verification; a release with
files of items private at build lists those in ``MANIFEST.private.tsv`` (with the ``scope`` that opens each).

Columns: ``path`` (relative, ``/``-separated), ``bytes``, ``sha256``, ``description``, ``kind``
(``table``, ``download``, ``index``, ``metadata``, ``study``). Every file of the directory except the
manifest itself is listed, sorted by path.
"""

from __future__ import annotations

import csv
import hashlib
import os
from collections.abc import Mapping
from pathlib import Path

from .layout import MANIFEST, PRIVATE_MANIFEST

MANIFEST_COLUMNS = ("path", "bytes", "sha256", "description", "kind")
_CHUNK = 1 << 20


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def list_files(directory: str | os.PathLike[str]) -> list[str]:
    """Relative ``/``-separated paths of every regular file below ``directory`` except ``MANIFEST.tsv``."""
    root = Path(directory)
    out = []
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            rel = (Path(dirpath) / name).relative_to(root).as_posix()
            if rel not in (MANIFEST, PRIVATE_MANIFEST):
                out.append(rel)
    return sorted(out)


def _clean(text: str) -> str:
    return " ".join(str(text).split())


def write_manifest(directory: str | os.PathLike[str],
                   descriptions: Mapping[str, tuple[str, str]] | None = None,
                   scopes: Mapping[str, str] | None = None) -> Path:
    """Write ``directory/MANIFEST.tsv`` listing every file; ``descriptions`` maps a relative path to
    ``(description, kind)``. Files with a scope in ``scopes`` (:mod:`qtlatlas.release.private_files`) are
    listed in ``MANIFEST.private.tsv`` instead, with that ``scope`` column (written first; none: no such file).
    Each manifest is written to a temporary name and renamed into place."""
    root = Path(directory)
    descriptions = descriptions or {}
    scopes = scopes or {}
    public, private = [], []
    for rel in list_files(root):
        if rel.startswith(f".{MANIFEST}") or rel.startswith(f".{PRIVATE_MANIFEST}"):
            continue
        p = root / rel
        description, kind = descriptions.get(rel, _default_description(rel))
        row = [rel, p.stat().st_size, sha256_file(p), _clean(description), kind]
        if rel in scopes:
            private.append([*row, scopes[rel]])
        else:
            public.append(row)
    if private:
        _write_rows(root, PRIVATE_MANIFEST, [*MANIFEST_COLUMNS, "scope"], private)
    return _write_rows(root, MANIFEST, list(MANIFEST_COLUMNS), public)


def _write_rows(root: Path, name: str, header: list[str], rows: list[list]) -> Path:
    tmp = root / f".{name}.part"
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f, delimiter="\t", lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
    target = root / name
    os.replace(tmp, target)
    return target


def _default_description(rel: str) -> tuple[str, str]:
    if rel.endswith((".tbi", ".csi")):
        return "index of " + rel.rsplit(".", 1)[0].rsplit("/", 1)[-1], "index"
    if rel.startswith("tables/"):
        return "query table", "table"
    if rel.startswith("downloads/"):
        name = rel.rsplit("/", 1)[-1]
        return f"{name.split('.', 1)[0]} file {name}", "download"
    return "metadata", "metadata"


def read_manifest(directory: str | os.PathLike[str]) -> list[dict[str, str]]:
    """Rows of ``directory/MANIFEST.tsv`` as dicts keyed by :data:`MANIFEST_COLUMNS`."""
    with open(Path(directory) / MANIFEST, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def read_private_manifest(directory: str | os.PathLike[str]) -> list[dict[str, str]]:
    """Rows of ``directory/MANIFEST.private.tsv`` (:data:`MANIFEST_COLUMNS` + ``scope``); none when absent."""
    path = Path(directory) / PRIVATE_MANIFEST
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def verify_directory(directory: str | os.PathLike[str]) -> list[str]:
    """Problems of a directory against its manifest (``[]`` when every file matches); each names the file."""
    root = Path(directory)
    if not root.is_dir():
        return [f"{root}: not a directory"]
    if not (root / MANIFEST).is_file():
        return [f"{MANIFEST}: missing; cannot verify {root}"]
    try:
        rows = read_manifest(root)
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        return [f"{MANIFEST}: unreadable ({e})"]
    try:
        private_rows = read_private_manifest(root)
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        return [f"{PRIVATE_MANIFEST}: unreadable ({e})"]
    problems: list[str] = []
    listed: set[str] = set()
    for i, row, manifest in [*((i, r, MANIFEST) for i, r in enumerate(rows, start=2)),
                             *((i, r, PRIVATE_MANIFEST) for i, r in enumerate(private_rows, start=2))]:
        rel = row.get("path")
        if not rel or row.get("bytes") is None or row.get("sha256") is None:
            problems.append(f"{manifest}:{i}: malformed line")
            continue
        if rel in listed:
            problems.append(f"{manifest}:{i}: {rel} is listed twice")
        listed.add(rel)
        p = root / rel
        if not p.is_file():
            problems.append(f"{rel}: missing (listed in {manifest})")
            continue
        size = p.stat().st_size
        if str(size) != row["bytes"]:
            problems.append(f"{rel}: modified (size {size} bytes, {manifest} says {row['bytes']})")
            continue
        if sha256_file(p) != row["sha256"]:
            problems.append(f"{rel}: modified (sha256 differs from {manifest})")
    for rel in list_files(root):
        if rel not in listed:
            problems.append(f"{rel}: not in {MANIFEST}{' or ' + PRIVATE_MANIFEST if private_rows else ''}")
    return problems


def verify_release(release_dir: str | os.PathLike[str]) -> list[str]:
    """Re-check every file of a release directory against its ``MANIFEST.tsv`` and, when the release has
    files of private items, ``MANIFEST.private.tsv``.

    Returns a list of problems, ``[]`` when the release is intact: missing files, files whose size or
    SHA-256 differ (modified), files present but not listed, and a missing or malformed manifest.
    """
    return verify_directory(release_dir)
