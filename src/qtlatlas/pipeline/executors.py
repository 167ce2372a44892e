"""Executors: where :func:`~qtlatlas.pipeline.execute.execute_task` runs.

Both executors take :class:`~qtlatlas.pipeline.execute.WorkOrder` objects and hand back the dict that
``execute_task`` returns; a worker that dies or cannot be reached yields a ``"failed"`` dict instead
of an exception. ``slots`` is how many tasks the runner hands the executor at once.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import multiprocessing
import os
import sys
import time
import uuid
from collections.abc import Collection
from typing import Any

from qtlatlas.errors import QtlAtlasError
from qtlatlas.pipeline.execute import WorkOrder, execute_task, worker_init
from qtlatlas.pipeline.graph import safe_name


def runner_import_paths() -> tuple[str, ...]:
    """The runner's import directories (``sys.path`` entries that are directories), for the workers."""
    return tuple(os.path.abspath(p) for p in sys.path if p and os.path.isdir(p))


def _lost(order_id: str, exc: BaseException | None, text: str = "") -> dict:
    """The result of a task whose worker died or could not be reached."""
    what = text or f"{type(exc).__name__}: {exc}".rstrip(": ")
    return {
        "id": order_id,
        "status": "failed",
        "wall_s": 0.0,
        "error": f"worker lost: {what}",
        "record": None,
        "lost": True,
    }


class LocalExecutor:
    """A pool of ``cores`` spawned processes (never forked: fork with live BLAS threads can deadlock).

    Workers exit when the runner dies. When a worker process dies (killed, out of memory) the pool is
    broken: every task then in flight is reported failed and a fresh pool serves later tasks.
    """

    capture_fds = True

    def __init__(self, cores: int, start_method: str = "spawn"):
        if cores < 1:
            raise QtlAtlasError(f"cores must be at least 1, got {cores}")
        self.slots = cores
        self._start_method = start_method
        self._pool: cf.ProcessPoolExecutor | None = None
        self._ids: dict[cf.Future, str] = {}

    def _ensure_pool(self) -> cf.ProcessPoolExecutor:
        if self._pool is None:
            self._pool = cf.ProcessPoolExecutor(
                max_workers=self.slots,
                mp_context=multiprocessing.get_context(self._start_method),
                initializer=worker_init,
                initargs=(os.getpid(), runner_import_paths()),
            )
        return self._pool

    def submit(self, order: WorkOrder) -> cf.Future:
        try:
            fut = self._ensure_pool().submit(execute_task, order)
        except cf.BrokenExecutor:
            self._discard_pool()
            fut = self._ensure_pool().submit(execute_task, order)
        self._ids[fut] = order.task_id
        return fut

    def wait(self, handles: Collection[Any], timeout: float) -> set:
        done, _ = cf.wait(list(handles), timeout=timeout, return_when=cf.FIRST_COMPLETED)
        return set(done)

    def result(self, handle: cf.Future) -> dict:
        task_id = self._ids.pop(handle)
        try:
            return handle.result()
        except cf.BrokenExecutor:
            self._discard_pool()
            return _lost(task_id, None, "a worker process died (killed, out of memory or crashed)")
        except Exception as exc:  # e.g. an unpicklable result
            return _lost(task_id, exc)

    def _discard_pool(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def close(self, cancel: bool = False) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=not cancel, cancel_futures=cancel)
            self._pool = None


def run_on_dask_worker(order: WorkOrder) -> dict:
    """:func:`execute_task` on a Dask worker: file descriptors 1 and 2 are redirected into the task's log
    only when this worker process runs a single task at a time (one thread); otherwise the task's output
    is captured at the Python level, as another task of the same process may be writing at once."""
    if order.capture_fds:
        try:
            from distributed import get_worker

            nthreads = get_worker().state.nthreads
        except (ImportError, ValueError, AttributeError):  # not inside a worker
            nthreads = None
        if nthreads != 1:
            order = dataclasses.replace(order, capture_fds=False)
    return execute_task(order)


class DaskExecutor:
    """A dask.distributed cluster: the scheduler at ``scheduler`` (an address such as
    ``tcp://host:8786``, or the JSON file written by ``dask scheduler --scheduler-file``), or a
    LocalCluster of ``dask_local`` single-threaded worker processes that is closed with the executor.

    The workers must share the file system (outputs and the state directory) with the runner and be
    able to import ``qtlatlas`` and the task modules.

    With a scheduler, every ready task is handed to it at once (``slots`` is unbounded): the scheduler
    queues what its workers cannot start yet, and workers may join or leave during the run (an adaptive
    or batch-system cluster can start with none, and grows from the queued work). The run waits while no
    worker is connected. A task that was running on a worker that dies is run again on another worker
    by the scheduler itself, up to ``distributed.scheduler.allowed-failures`` times (Dask's setting);
    past that its future fails with ``KilledWorker`` and the task is reported failed.
    """

    def __init__(self, scheduler: str | None = None, dask_local: int | None = None):
        try:
            from distributed import Client, LocalCluster
        except ImportError:  # pragma: no cover - depends on the installation
            raise QtlAtlasError("the dask executor needs the 'distributed' package") from None
        self._cluster = None
        self.capture_fds = True  # decided again on each worker (see run_on_dask_worker)
        if scheduler:
            self._client = _connect(Client, scheduler)
            self.slots = sys.maxsize
        elif dask_local:
            if dask_local < 1:
                raise QtlAtlasError(f"dask_local must be at least 1, got {dask_local}")
            self._cluster = LocalCluster(
                n_workers=dask_local, threads_per_worker=1, processes=True, dashboard_address=None
            )
            self._client = Client(self._cluster)
            self.slots = dask_local
        else:
            raise QtlAtlasError("the dask executor needs a scheduler address or dask_local workers")
        self._ids: dict[Any, str] = {}

    def submit(self, order: WorkOrder):
        key = f"qtlatlas-{safe_name(order.task_id)}-{uuid.uuid4().hex[:8]}"
        fut = self._client.submit(run_on_dask_worker, order, key=key, pure=False, retries=0)
        self._ids[fut] = order.task_id
        return fut

    def wait(self, handles: Collection[Any], timeout: float) -> set:
        deadline = time.monotonic() + timeout
        while True:
            done = {h for h in handles if h.done()}
            if done or time.monotonic() >= deadline:
                return done
            time.sleep(0.02)

    def result(self, handle) -> dict:
        task_id = self._ids.pop(handle)
        try:
            return handle.result()
        except Exception as exc:  # KilledWorker, CancelledError, communication errors
            return _lost(task_id, exc)

    def close(self, cancel: bool = False) -> None:
        if cancel and self._ids:
            self._client.cancel(list(self._ids))
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()


def _connect(client_class, scheduler: str):
    """A client of the scheduler at ``scheduler`` (an address, or a scheduler file that exists)."""
    where = {"scheduler_file": scheduler} if os.path.isfile(scheduler) else {"address": scheduler}
    if "address" in where and "://" not in scheduler and (scheduler.endswith(".json") or os.sep in scheduler):
        raise QtlAtlasError(f"cannot connect to the scheduler file {scheduler}: no such file (a scheduler "
                            "address reads tcp://HOST:PORT)")
    try:
        return client_class(**where)
    except (OSError, TimeoutError, ValueError) as exc:
        what = f"scheduler file {scheduler}" if "scheduler_file" in where else f"scheduler at {scheduler}"
        raise QtlAtlasError(f"cannot connect to the {what}: {exc}") from None


def make_executor(
    executor: str, cores: int, scheduler: str | None, dask_local: int | None
) -> LocalExecutor | DaskExecutor:
    """Build the executor named ``"local"`` or ``"dask"``."""
    if executor == "local":
        return LocalExecutor(cores)
    if executor == "dask":
        return DaskExecutor(scheduler=scheduler, dask_local=dask_local)
    raise QtlAtlasError(f"unknown executor {executor!r} (expected 'local' or 'dask')")
