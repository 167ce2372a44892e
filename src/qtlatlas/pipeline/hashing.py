"""Content hashes of files and directories, their on-disk cache, and task fingerprints.

A file's digest is the hex sha256 of its bytes. A directory's digest is the sha256 of the canonical
JSON list of ``[relative posix name, file digest]`` of every file below it, sorted by name (empty
directories do not count). :class:`HashCache` remembers file digests keyed by absolute path and
``(size, mtime_ns, inode)`` so that unchanged big inputs are read once.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

_CHUNK = 1 << 20  # bytes read at a time
# A cache entry whose file was modified less than this long before it was hashed may have been
# modified again within the file system's timestamp granularity; it is trusted only after a rehash.
_RACY_NS = 2_000_000_000


def sha256_file(path: str) -> str:
    """Hex sha256 of the bytes of the file at ``path``."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def canonical_json(obj: Any) -> str:
    """Deterministic compact JSON (sorted keys, no NaN) used wherever text is hashed."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def dir_digest(entries: Mapping[str, str]) -> str:
    """Digest of a directory from ``{relative posix name: file digest}``."""
    listing = sorted([name, digest] for name, digest in entries.items())
    return hashlib.sha256(canonical_json(listing).encode("utf-8")).hexdigest()


def list_files(root: str) -> list[str]:
    """Relative posix names of every file below directory ``root``, sorted."""
    names = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for fn in filenames:
            full = os.path.join(dirpath, fn)
            names.append(os.path.relpath(full, root).replace(os.sep, "/"))
    return sorted(names)


@dataclass(frozen=True)
class FileMeta:
    """What the cache and the state records know of one file: size in bytes, mtime in ns, inode, digest."""

    size: int
    mtime_ns: int
    ino: int
    sha256: str

    @classmethod
    def of(cls, path: str, sha256: str | None = None) -> FileMeta:
        """Stat ``path`` (and hash it unless ``sha256`` is given)."""
        st = os.stat(path)
        return cls(st.st_size, st.st_mtime_ns, st.st_ino, sha256 if sha256 is not None else sha256_file(path))

    def to_json(self) -> list:
        return [self.size, self.mtime_ns, self.ino, self.sha256]

    @classmethod
    def from_json(cls, obj: Sequence) -> FileMeta:
        return cls(int(obj[0]), int(obj[1]), int(obj[2]), str(obj[3]))


@dataclass(frozen=True)
class Digest:
    """Digest of a file or directory: ``size`` is bytes (summed over files for a directory)."""

    sha256: str
    size: int
    files: dict[str, FileMeta]  # absolute file path -> meta (one entry for a plain file)


class HashCache:
    """File digests keyed by absolute path and ``(size, mtime_ns, inode)``, persisted as JSON.

    Entries come from hashing (trusted unless the file was modified within ~2 s before it was hashed)
    or from :meth:`adopt` of files the runner itself produced (trusted). Not thread-safe; only the
    runner's main process uses it.
    """

    VERSION = 1

    def __init__(self, path: str | os.PathLike[str] | None = None):
        self.path = None if path is None else os.fspath(path)
        self._entries: dict[str, tuple[FileMeta, bool]] = {}
        self.dirty = False
        if self.path and os.path.exists(self.path):
            try:
                with open(self.path, encoding="utf-8") as fh:
                    data = json.load(fh)
                if data.get("version") == self.VERSION:
                    for p, (meta, trusted) in data["files"].items():
                        self._entries[p] = (FileMeta.from_json(meta), bool(trusted))
            except (OSError, ValueError, KeyError, TypeError, IndexError):
                self._entries = {}  # a damaged cache only costs rehashing

    def adopt(self, path: str, meta: FileMeta) -> None:
        """Trust ``meta`` (from a state record) for ``path`` if the file still has its size, mtime and
        inode; otherwise leave the cache alone."""
        apath = os.path.abspath(path)
        try:
            st = os.stat(apath)
        except OSError:
            return
        if (meta.size, meta.mtime_ns, meta.ino) == (st.st_size, st.st_mtime_ns, st.st_ino):
            hit = self._entries.get(apath)
            if hit is None or hit[0] != meta or not hit[1]:
                self._entries[apath] = (meta, True)
                self.dirty = True

    def file(self, path: str) -> FileMeta:
        """Meta (with digest) of the file at ``path``, hashing it only when the cache cannot answer."""
        apath = os.path.abspath(path)
        st = os.stat(apath)
        hit = self._entries.get(apath)
        if hit is not None:
            meta, trusted = hit
            if (meta.size, meta.mtime_ns, meta.ino) == (st.st_size, st.st_mtime_ns, st.st_ino) and trusted:
                return meta
        now = time.time_ns()
        meta = FileMeta(st.st_size, st.st_mtime_ns, st.st_ino, sha256_file(apath))
        st2 = os.stat(apath)
        stable = (st2.st_size, st2.st_mtime_ns) == (st.st_size, st.st_mtime_ns)
        self._entries[apath] = (meta, stable and now - st.st_mtime_ns > _RACY_NS)
        self.dirty = True
        return meta

    def digest(self, path: str) -> Digest:
        """Digest of a file or a directory (see the module docstring). Raises OSError when missing."""
        if os.path.isdir(path):
            metas = {}
            rel = {}
            for name in list_files(path):
                full = os.path.join(path, name)
                meta = self.file(full)
                metas[full] = meta
                rel[name] = meta.sha256
            return Digest(dir_digest(rel), sum(m.size for m in metas.values()), metas)
        meta = self.file(path)
        return Digest(meta.sha256, meta.size, {os.path.abspath(path): meta})

    def save(self) -> None:
        """Write the cache atomically (entries of files that no longer exist are dropped)."""
        if not self.path or not self.dirty:
            return
        files = {p: [m.to_json(), t] for p, (m, t) in self._entries.items() if os.path.exists(p)}
        tmp = f"{self.path}.tmp-{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump({"version": self.VERSION, "files": files}, fh, separators=(",", ":"))
        os.replace(tmp, self.path)
        self.dirty = False


def fingerprint(func: str, params: Mapping[str, Any], inputs: Sequence[tuple[str, str]]) -> str:
    """Hex sha256 of the canonical JSON of ``{func, params, inputs: [[path, digest], ...]}``.

    ``inputs`` keeps the task's order of input paths. Thread counts are deliberately not part of it.
    """
    doc = {"func": func, "params": params, "inputs": [[p, d] for p, d in inputs]}
    return hashlib.sha256(canonical_json(doc).encode("utf-8")).hexdigest()
