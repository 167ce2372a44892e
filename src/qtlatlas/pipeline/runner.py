"""Running a task graph: :func:`run_graph` and its :class:`RunReport`.

The runner walks the graph in dependency order. When all dependencies of a task have completed it
fingerprints the task (its function, params and the content of its inputs) and skips it when the
state record says the same fingerprint already produced outputs that are still in place; otherwise it
submits the task to the executor, at most ``slots`` at a time. A failure never raises: the task is
reported ``"failed"``, everything downstream of it ``"blocked"``, and independent tasks still run.
"""

from __future__ import annotations

import dataclasses
import heapq
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qtlatlas.errors import QtlAtlasError
from qtlatlas.pipeline.execute import WorkOrder
from qtlatlas.pipeline.executors import make_executor, runner_import_paths
from qtlatlas.pipeline.graph import Graph, Task, build_graph, output_base
from qtlatlas.pipeline.hashing import FileMeta, HashCache, fingerprint
from qtlatlas.pipeline.progress import make_progress
from qtlatlas.pipeline.state import StateDir

STATUSES = ("skipped", "done", "failed", "blocked")
_CACHE_SAVE_EVERY_S = 10.0


@dataclass(frozen=True)
class TaskResult:
    """Outcome of one task: ``status`` is "skipped" (up to date), "done", "failed" or "blocked" (a
    dependency failed); ``wall_s`` is seconds spent running it (0 unless run)."""

    id: str
    label: str
    status: str
    wall_s: float
    log_path: str
    error: str | None = None

    @property
    def log(self) -> str:
        """Alias of :attr:`log_path`."""
        return self.log_path


@dataclass
class RunReport:
    """Per-task outcomes in the graph's dependency order, and the run's wall time in seconds."""

    tasks: list[TaskResult] = field(default_factory=list)
    wall_s: float = 0.0

    @property
    def ok(self) -> bool:
        """True when no task failed or was blocked."""
        return all(t.status in ("skipped", "done") for t in self.tasks)

    def __getitem__(self, task_id: str) -> TaskResult:
        for t in self.tasks:
            if t.id == task_id:
                return t
        raise KeyError(task_id)

    def ids(self, status: str) -> list[str]:
        """Ids of the tasks with ``status``."""
        return [t.id for t in self.tasks if t.status == status]

    def counts(self) -> dict[str, int]:
        return {s: sum(t.status == s for t in self.tasks) for s in STATUSES}

    def summary(self) -> str:
        c = self.counts()
        return (
            f"{len(self.tasks)} tasks: {c['done']} run, {c['skipped']} up to date, "
            f"{c['failed']} failed, {c['blocked']} blocked ({self.wall_s:.1f} s)"
        )


def _write_failure_log(path: Path, task: Task, message: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"# task: {task.id}\n# func: {task.func}\n# FAILED before running: {message}\n")


def _note_lost_worker(path: Path, task: Task, message: str) -> None:
    """Append to the task's log why it has no result (its worker died or could not be reached)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as fh:
        if fh.tell() == 0:
            fh.write(f"# task: {task.id}\n# func: {task.func}\n")
        fh.write(f"\n# FAILED: {message}\n")


def _outputs_intact(task: Task, record: dict, cache: HashCache) -> bool:
    """Every declared output is where the record says, with the recorded size and content."""
    recorded = record.get("outputs", {})
    if set(recorded) != set(task.outputs):
        return False
    for name, declared in task.outputs.items():
        rec = recorded[name]
        if rec.get("path") != declared:
            return False
        for path, meta in rec.get("files", {}).items():
            cache.adopt(path, FileMeta.from_json(meta))
        final = output_base(declared)
        if declared.endswith("/") != os.path.isdir(final):
            return False
        try:
            digest = cache.digest(final)
        except OSError:
            return False
        if digest.size != rec.get("size") or digest.sha256 != rec.get("sha256"):
            return False
    return True


class _Run:
    """State of one :func:`run_graph` call (kept off the public API)."""

    def __init__(self, graph: Graph, state: StateDir, cache: HashCache, make_exec, threads: int, progress):
        self.graph = graph
        self.state = state
        self.cache = cache
        self.make_exec = make_exec
        self.executor = None
        self.threads = threads
        self.progress = progress
        self.results: dict[str, TaskResult] = {}
        self.index = {tid: i for i, tid in enumerate(graph.order)}
        self.waiting = {tid: set(ds) for tid, ds in graph.deps.items()}
        self.ready: list[int] = [self.index[t] for t, ds in self.waiting.items() if not ds]
        heapq.heapify(self.ready)
        self.queued: list[tuple[int, WorkOrder]] = []
        self.running: dict[Any, str] = {}
        self.import_paths = runner_import_paths()
        self._last_save = time.monotonic()

    # -- bookkeeping -----------------------------------------------------------------------------
    def _finish(self, tid: str, status: str, wall_s: float = 0.0, error: str | None = None) -> None:
        task = self.graph.tasks[tid]
        log = str(self.state.log_path(tid))
        self.results[tid] = TaskResult(tid, task.display, status, round(wall_s, 3), log, error)
        self.progress.finished(tid, status, log, error)
        if status in ("done", "skipped"):
            for child in self.graph.dependents[tid]:
                self.waiting[child].discard(tid)
                if not self.waiting[child] and child not in self.results:
                    heapq.heappush(self.ready, self.index[child])
        else:
            for child in self.graph.dependents[tid]:
                if child not in self.results:
                    self._finish(child, "blocked", error=f"blocked by failed task {tid!r}")

    # -- one task ready: skip, fail or queue ---------------------------------------------------------
    def _evaluate(self, tid: str) -> None:
        task = self.graph.tasks[tid]
        pairs = []
        for path in task.inputs:
            try:
                pairs.append((path, self.cache.digest(output_base(path)).sha256))
            except OSError as exc:
                msg = f"cannot read input {path}: {exc.strerror or exc}"
                _write_failure_log(self.state.log_path(tid), task, msg)
                self._finish(tid, "failed", error=msg)
                return
        fp = fingerprint(task.func, task.params, pairs)
        record = self.state.read_record(tid)
        if (
            record is not None
            and record.get("fingerprint") == fp
            and _outputs_intact(task, record, self.cache)
        ):
            self._finish(tid, "skipped")
            return
        order = WorkOrder(
            task_id=tid,
            func=task.func,
            params=task.params,
            outputs=dict(task.outputs),
            fingerprint=fp,
            threads=self.threads,
            log_path=str(self.state.log_path(tid)),
            record_path=str(self.state.record_path(tid)),
            label=task.display,
            import_paths=self.import_paths,
        )
        heapq.heappush(self.queued, (self.index[tid], order))

    def _submit_queued(self) -> None:
        while self.queued:
            if self.executor is None:
                self.executor = self.make_exec()
            if len(self.running) >= self.executor.slots:
                return
            _, order = heapq.heappop(self.queued)
            if self.executor.capture_fds != order.capture_fds:
                order = dataclasses.replace(order, capture_fds=self.executor.capture_fds)
            handle = self.executor.submit(order)
            self.running[handle] = order.task_id
            self.progress.started(order.task_id, order.label)

    def _collect(self, handle: Any) -> None:
        tid = self.running.pop(handle)
        res = self.executor.result(handle)
        if res["status"] == "done":
            for out in res["record"]["outputs"].values():
                for path, meta in out["files"].items():
                    self.cache.adopt(path, FileMeta.from_json(meta))
            self._finish(tid, "done", res["wall_s"])
        else:
            if res.get("lost"):
                _note_lost_worker(self.state.log_path(tid), self.graph.tasks[tid], res["error"])
            self._finish(tid, "failed", res["wall_s"], res["error"])
        if time.monotonic() - self._last_save > _CACHE_SAVE_EVERY_S:
            self.cache.save()
            self._last_save = time.monotonic()

    def loop(self) -> None:
        total = len(self.graph.order)
        while len(self.results) < total:
            while self.ready:
                tid = self.graph.order[heapq.heappop(self.ready)]
                if tid not in self.results:
                    self._evaluate(tid)
            self._submit_queued()
            if len(self.results) >= total:
                break
            if not self.running:  # pragma: no cover - would mean a bookkeeping bug
                missing = [t for t in self.graph.order if t not in self.results]
                raise RuntimeError(f"pipeline runner stalled with tasks left: {missing[:5]}")
            for handle in self.executor.wait(list(self.running), timeout=0.5):
                self._collect(handle)


def run_graph(
    tasks: Sequence[Task],
    state_dir: str | os.PathLike[str],
    *,
    executor: str = "local",
    cores: int = 1,
    threads_per_task: int = 1,
    scheduler: str | None = None,
    dask_local: int | None = None,
    progress: bool = True,
    console: Any = None,
) -> RunReport:
    """Bring every task of ``tasks`` up to date and report what happened.

    ``state_dir`` holds state records, logs and the hash cache (see :mod:`qtlatlas.pipeline.state`).
    ``executor`` is ``"local"`` (a pool of ``cores`` spawned processes) or ``"dask"`` (the scheduler at
    ``scheduler``, or a LocalCluster of ``dask_local`` single-threaded workers). Each task function
    gets ``threads=threads_per_task`` and runs under that BLAS/OpenMP thread limit. With ``progress``,
    a rich live display is drawn on ``console`` (default: a new stderr console).

    A task whose worker dies is run again by a Dask scheduler (see
    :class:`~qtlatlas.pipeline.executors.DaskExecutor`) or reported failed by the local executor; either
    way a finished run leaves no temporary outputs (``*.tmp-*``) of the dead attempt behind.

    Raises :class:`QtlAtlasError` for an invalid graph or options, or when another run holds
    ``state_dir``; never for a failing task (see :attr:`RunReport.ok`). No executor is started when
    every task is up to date.
    """
    t0 = time.perf_counter()
    graph = build_graph(tasks)
    if threads_per_task < 1:
        raise QtlAtlasError(f"threads_per_task must be at least 1, got {threads_per_task}")
    if executor not in ("local", "dask"):
        raise QtlAtlasError(f"unknown executor {executor!r} (expected 'local' or 'dask')")
    if executor == "local" and cores < 1:
        raise QtlAtlasError(f"cores must be at least 1, got {cores}")
    if executor == "dask" and not scheduler and not dask_local:
        raise QtlAtlasError("the dask executor needs a scheduler address or dask_local workers")

    state = StateDir(state_dir)
    state.create()
    state.lock()
    run: _Run | None = None
    try:
        state.remove_stale_temporaries(graph.tasks.values())
        cache = HashCache(state.hash_cache_path)
        display = make_progress(progress, len(graph.order), console)
        run = _Run(
            graph,
            state,
            cache,
            lambda: make_executor(executor, cores, scheduler, dask_local),
            threads_per_task,
            display,
        )
        completed = False
        with display:
            try:
                run.loop()
                completed = True
            finally:
                if run.executor is not None:
                    run.executor.close(cancel=not completed)
                cache.save()
        if run.executor is not None:
            # An attempt whose worker died (killed, out of memory, its machine lost) leaves its temporary
            # outputs behind; the task was run again elsewhere or reported failed, so they are garbage.
            state.remove_stale_temporaries(graph.tasks.values())
    finally:
        state.unlock()
    return RunReport([run.results[t] for t in graph.order], time.perf_counter() - t0)
