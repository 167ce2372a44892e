"""Running one task inside a worker process (the same code for every executor).

:func:`execute_task` creates the temporary outputs, calls the task function with its output captured
in the task's log, and on success commits: it hashes the temporary outputs, deletes the old state
record, moves every temporary output onto its final path and only then writes the new state record.
A kill at any moment therefore leaves either a complete record whose outputs are all in place, or no
record (the task re-runs); leftover ``*.tmp-*`` of an attempt whose process died are removed when
the run ends (the runner's process survived) or by the next run (it did not).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import faulthandler
import importlib
import logging
import os
import sys
import threading
import time
import traceback
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TextIO

from qtlatlas.pipeline.graph import is_dir_output, output_base
from qtlatlas.pipeline.hashing import FileMeta, dir_digest, list_files, sha256_file
from qtlatlas.pipeline.state import RECORD_VERSION, remove_path, temp_path, write_json_atomic

THREAD_ENV_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
)


@dataclass(frozen=True)
class WorkOrder:
    """Everything a worker needs to run one task (picklable; paths are absolute strings)."""

    task_id: str
    func: str
    params: Mapping[str, Any]
    outputs: Mapping[str, str]
    fingerprint: str
    threads: int
    log_path: str
    record_path: str
    label: str = ""
    import_paths: tuple[str, ...] = ()
    capture_fds: bool = True  # redirect file descriptors 1 and 2 (only when the process runs one task)


def _now() -> str:
    return _dt.datetime.now().astimezone().isoformat(timespec="seconds")


def extend_sys_path(paths: tuple[str, ...]) -> None:
    """Append to ``sys.path`` the runner's import directories this process lacks (so task modules
    importable by the runner are importable here)."""
    for p in paths:
        if p and p not in sys.path and os.path.isdir(p):
            sys.path.append(p)


def resolve_func(spec: str):
    """The callable named by ``"package.module:function"`` (``function`` may be dotted)."""
    module_name, _, attr = spec.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    if not callable(obj):
        raise TypeError(f"{spec} is not callable")
    return obj


@contextlib.contextmanager
def _captured(log: TextIO, fds: bool) -> Iterator[None]:
    """Send stdout, stderr (at file-descriptor level when ``fds``) and Python logging to ``log``."""
    for s in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            s.flush()
    saved_fds = []
    if fds:
        for fd in (1, 2):
            saved_fds.append((fd, os.dup(fd)))
            os.dup2(log.fileno(), fd)
        faulthandler.enable(file=log)
    old_streams = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = log
    handler = logging.StreamHandler(log)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    if not fds:
        ident = threading.get_ident()
        handler.addFilter(lambda record: record.thread == ident)
    root = logging.getLogger()
    old_level = root.level
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        sys.stdout, sys.stderr = old_streams
        with contextlib.suppress(Exception):
            log.flush()
        if fds:
            faulthandler.disable()
            for fd, saved in saved_fds:
                os.dup2(saved, fd)
                os.close(saved)


@contextlib.contextmanager
def _thread_limits(threads: int) -> Iterator[None]:
    """Limit BLAS/OpenMP thread pools to ``threads`` (environment for libraries loaded later, and
    threadpoolctl for those already loaded)."""
    old = {k: os.environ.get(k) for k in THREAD_ENV_VARS}
    for k in THREAD_ENV_VARS:
        os.environ[k] = str(threads)
    try:
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:  # pragma: no cover - threadpoolctl is a dependency
            yield
        else:
            with threadpool_limits(limits=threads):
                yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _make_temps(outputs: Mapping[str, str]) -> dict[str, str]:
    temps = {}
    for name, final in outputs.items():
        os.makedirs(os.path.dirname(output_base(final)), exist_ok=True)
        tmp = temp_path(final)
        if is_dir_output(final):
            os.mkdir(tmp)
        temps[name] = tmp
    return temps


def _hash_temp(final: str, tmp: str) -> tuple[str, dict[str, str]]:
    """(digest, {relative name: file digest}) of a temporary output (name "" for a plain file)."""
    if is_dir_output(final):
        if not os.path.isdir(tmp):
            raise RuntimeError(f"output directory {tmp} vanished")
        rel = {name: sha256_file(os.path.join(tmp, name)) for name in list_files(tmp)}
        return dir_digest(rel), rel
    if not os.path.isfile(tmp):
        raise RuntimeError(f"the task function did not write its output file {tmp}")
    digest = sha256_file(tmp)
    return digest, {"": digest}


def commit_outputs(order: WorkOrder, temps: Mapping[str, str], wall_s: float) -> dict:
    """Move the temporary outputs onto their final paths and write the state record; return it."""
    hashed = {name: _hash_temp(order.outputs[name], tmp) for name, tmp in temps.items()}
    remove_path(order.record_path)  # from here until the new record exists, the task counts as not done
    for name, tmp in temps.items():
        final = output_base(order.outputs[name])
        if is_dir_output(order.outputs[name]) or os.path.isdir(final):
            remove_path(final)
        os.replace(tmp, final)
    outputs = {}
    for name, declared in order.outputs.items():
        final = output_base(declared)
        digest, rel = hashed[name]
        if is_dir_output(declared):
            files = {
                os.path.join(final, r): FileMeta.of(os.path.join(final, r), sha).to_json()
                for r, sha in rel.items()
            }
        else:
            files = {final: FileMeta.of(final, rel[""]).to_json()}
        outputs[name] = {
            "path": declared,
            "dir": is_dir_output(declared),
            "size": sum(m[0] for m in files.values()),
            "sha256": digest,
            "files": files,
        }
    record = {
        "version": RECORD_VERSION,
        "id": order.task_id,
        "func": order.func,
        "fingerprint": order.fingerprint,
        "finished": _now(),
        "wall_s": round(wall_s, 3),
        "outputs": outputs,
    }
    write_json_atomic(order.record_path, record)
    return record


def execute_task(order: WorkOrder) -> dict:
    """Run one task in this process; never raises for a failure of the task itself.

    Returns ``{"id", "status": "done" | "failed", "wall_s", "error": str | None, "record": dict | None}``.
    """
    t0 = time.perf_counter()
    extend_sys_path(order.import_paths)
    os.makedirs(os.path.dirname(order.log_path), exist_ok=True)
    with open(order.log_path, "w", encoding="utf-8") as fh:
        fh.write(
            f"# task: {order.task_id}\n# label: {order.label or order.task_id}\n# func: {order.func}\n"
            f"# fingerprint: {order.fingerprint}\n# threads: {order.threads}\n# host: {os.uname().nodename}"
            f" pid {os.getpid()}\n# started: {_now()}\n"
        )
    temps: dict[str, str] = {}
    with open(order.log_path, "a", encoding="utf-8", buffering=1) as log:
        try:
            temps = _make_temps(order.outputs)
            with _captured(log, order.capture_fds), _thread_limits(order.threads):
                func = resolve_func(order.func)
                func(outputs=dict(temps), threads=order.threads, **order.params)
            record = commit_outputs(order, temps, time.perf_counter() - t0)
        except (Exception, SystemExit, KeyboardInterrupt) as exc:
            wall = time.perf_counter() - t0
            log.write(f"\n# FAILED after {wall:.2f} s at {_now()}\n")
            log.write("".join(traceback.format_exception(exc)))
            for tmp in temps.values():
                remove_path(tmp)
            if isinstance(exc, KeyboardInterrupt):
                raise
            message = f"{type(exc).__name__}: {exc}".strip().rstrip(":")
            return {"id": order.task_id, "status": "failed", "wall_s": wall, "error": message, "record": None}
        wall = time.perf_counter() - t0
        log.write(f"\n# done in {wall:.2f} s at {_now()}\n")
    return {"id": order.task_id, "status": "done", "wall_s": wall, "error": None, "record": record}


# --- worker process setup --------------------------------------------------------------------------


def _die_with_parent(parent_pid: int) -> None:
    """Make this process exit when ``parent_pid`` (the runner) dies, so a killed run leaves no worker
    writing behind the next run's back. Linux: PR_SET_PDEATHSIG; elsewhere a polling thread."""
    armed = False
    if sys.platform.startswith("linux"):
        try:
            import ctypes
            import signal

            libc = ctypes.CDLL(None, use_errno=True)
            armed = libc.prctl(1, int(signal.SIGKILL), 0, 0, 0) == 0  # 1 = PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            armed = False
    if os.getppid() != parent_pid:
        os._exit(1)
    if not armed:

        def watch() -> None:
            while os.getppid() == parent_pid:
                time.sleep(0.2)
            os._exit(1)

        threading.Thread(target=watch, name="qtlatlas-parent-watch", daemon=True).start()


def worker_init(parent_pid: int, import_paths: tuple[str, ...]) -> None:
    """Initializer of the local executor's worker processes."""
    _die_with_parent(parent_pid)
    extend_sys_path(import_paths)
