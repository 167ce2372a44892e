"""The state directory: per-task state records, logs, the hash cache and the run lock.

Layout of ``state_dir``::

    tasks/<safe id>.json   state record of each task that completed (written last, atomically)
    logs/<safe id>.log     output of the task's latest attempt
    hash-cache.json        see :class:`~qtlatlas.pipeline.hashing.HashCache`
    lock                   held (flock) while a run uses the directory

A state record is JSON::

    {"version": 1, "id": ..., "func": ..., "fingerprint": ..., "finished": ISO time, "wall_s": float,
     "outputs": {name: {"path": declared path, "dir": bool, "size": bytes, "sha256": digest,
                        "files": {absolute file path: [size, mtime_ns, inode, sha256]}}}}
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from qtlatlas.errors import QtlAtlasError
from qtlatlas.pipeline.graph import Task, is_dir_output, output_base, safe_name

RECORD_VERSION = 1
TMP_MARK = ".tmp-"


_COMPRESSION = {".gz", ".bgz", ".bz2", ".xz", ".zst", ".zstd", ".lz4"}


def temp_path(final: str) -> str:
    """A fresh temporary name next to ``final``: ``final + ".tmp-<uuid>"`` plus, for a file, the final
    name's extension again (``x.bed.gz`` -> ``x.bed.gz.tmp-<uuid>.bed.gz``) so that writers choosing a
    format or compression from the file name behave as they would on the final path."""
    base = output_base(final)
    tmp = f"{base}{TMP_MARK}{uuid.uuid4().hex}"
    if is_dir_output(final):
        return tmp
    suffixes = [x for x in Path(base).suffixes if 1 < len(x) <= 16 and " " not in x]
    keep = suffixes[-2:] if suffixes and suffixes[-1].lower() in _COMPRESSION else suffixes[-1:]
    return tmp + "".join(keep)


def remove_path(path: str) -> None:
    """Remove a file, link or directory tree; missing is fine."""
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def write_json_atomic(path: str, obj: Any) -> None:
    """Write JSON to ``path`` via a temporary file and :func:`os.replace` (never half-written)."""
    tmp = f"{path}{TMP_MARK}{uuid.uuid4().hex}"
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(obj, fh, indent=1, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        remove_path(tmp)
        raise


class StateDir:
    """Paths inside a state directory and the operations on them (main process and workers)."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root).absolute()
        self.tasks_dir = self.root / "tasks"
        self.logs_dir = self.root / "logs"
        self.hash_cache_path = self.root / "hash-cache.json"
        self._lock_fh = None

    def create(self) -> None:
        for d in (self.root, self.tasks_dir, self.logs_dir):
            d.mkdir(parents=True, exist_ok=True)

    def record_path(self, task_id: str) -> Path:
        return self.tasks_dir / f"{safe_name(task_id)}.json"

    def log_path(self, task_id: str) -> Path:
        return self.logs_dir / f"{safe_name(task_id)}.log"

    def read_record(self, task_id: str) -> dict | None:
        """The task's state record, or None when absent, unreadable or of another version."""
        return read_record_file(self.record_path(task_id), task_id)

    def lock(self) -> None:
        """Take the run lock; raise :class:`QtlAtlasError` when another live run holds it."""
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX: no locking
            return
        fh = open(self.root / "lock", "a+")
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            raise QtlAtlasError(f"{self.root}: another run is using this state directory") from None
        self._lock_fh = fh

    def unlock(self) -> None:
        if self._lock_fh is not None:
            self._lock_fh.close()  # closing releases the flock
            self._lock_fh = None

    def remove_stale_temporaries(self, tasks: Iterable[Task]) -> list[str]:
        """Delete ``*.tmp-*`` left next to declared outputs and inside the state directory by a killed
        run. Returns the removed paths."""
        removed = []
        patterns = {glob.escape(output_base(p)) + TMP_MARK + "*" for t in tasks for p in t.outputs.values()}
        patterns.add(glob.escape(str(self.tasks_dir)) + "/*" + TMP_MARK + "*")
        patterns.add(glob.escape(str(self.root)) + "/*" + TMP_MARK + "*")
        for pattern in sorted(patterns):
            for path in glob.glob(pattern):
                remove_path(path)
                removed.append(path)
        return removed


def read_record_file(path: str | os.PathLike[str], task_id: str | None = None) -> dict | None:
    """Parse a state record file; None when it is missing, damaged, of another version or another id."""
    try:
        with open(path, encoding="utf-8") as fh:
            rec = json.load(fh)
    except (OSError, ValueError):
        return None
    if not isinstance(rec, dict) or rec.get("version") != RECORD_VERSION:
        return None
    if task_id is not None and rec.get("id") != task_id:
        return None
    return rec


def load_records(state_dir: str | os.PathLike[str]) -> dict[str, dict]:
    """All readable state records of ``state_dir`` by task id (for inspection and tests)."""
    out = {}
    for path in sorted(Path(state_dir, "tasks").glob("*.json")):
        rec = read_record_file(path)
        if rec is not None:
            out[rec["id"]] = rec
    return out
