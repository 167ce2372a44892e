"""The task graph: :class:`Task` and its validation.

A graph is a sequence of tasks whose ``deps`` name other tasks of the same sequence. Validation checks
what a user (or the code that builds the graph) can get wrong and raises :class:`QtlAtlasError` naming
the culprits; it also adds the implicit dependency of a task on the producer of any file it reads.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from qtlatlas.errors import QtlAtlasError


@dataclass(frozen=True)
class Task:
    """One unit of work.

    ``func`` is ``"package.module:function"``; the worker calls
    ``function(outputs=TEMP_OUTPUTS, threads=N, **params)``. ``outputs`` maps an output name to its
    final absolute path; a path ending with ``"/"`` is a directory. ``inputs`` are the files or
    directories whose content the fingerprint covers; ``deps`` are ids of tasks that must finish first.
    """

    id: str
    func: str
    params: Mapping[str, Any] = field(default_factory=dict)
    outputs: Mapping[str, str] = field(default_factory=dict)
    inputs: tuple[str, ...] = ()
    deps: tuple[str, ...] = ()
    label: str = ""

    def __post_init__(self) -> None:
        # Accept path-like values and lists; keep the trailing "/" of directory outputs.
        object.__setattr__(self, "outputs", {str(k): os.fspath(v) for k, v in dict(self.outputs).items()})
        object.__setattr__(self, "inputs", tuple(os.fspath(p) for p in self.inputs))
        object.__setattr__(self, "deps", tuple(str(d) for d in self.deps))
        object.__setattr__(self, "params", dict(self.params))

    @property
    def display(self) -> str:
        """The label, or the id when no label was given."""
        return self.label or self.id


def is_dir_output(path: str) -> bool:
    """True for a directory output (its declared path ends with ``/``)."""
    return path.endswith("/") or path.endswith(os.sep)


def output_base(path: str) -> str:
    """The declared output path without its trailing separator (the name actually created)."""
    return path.rstrip("/" + os.sep) if is_dir_output(path) else path


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(task_id: str) -> str:
    """A file name derived from ``task_id``: readable, at most ~110 characters, distinct per id.

    ``"v1/Adipose/expression/cis"`` -> ``"v1_Adipose_expression_cis-3f2a9c01d4"``; the hash suffix
    keeps ids that differ only in punctuation apart.
    """
    readable = _UNSAFE.sub("_", task_id).strip("._")[:96] or "task"
    digest = hashlib.sha256(task_id.encode("utf-8")).hexdigest()[:10]
    return f"{readable}-{digest}"


@dataclass(frozen=True)
class Graph:
    """A validated graph: ``order`` is a topological order (dependencies first, otherwise the given
    order); ``deps`` maps each id to its declared plus implicit dependencies; ``dependents`` inverts it."""

    tasks: dict[str, Task]
    order: tuple[str, ...]
    deps: dict[str, tuple[str, ...]]
    dependents: dict[str, tuple[str, ...]]


def _check_task(task: Task) -> None:
    if not isinstance(task.id, str) or not task.id:
        raise QtlAtlasError(f"task id must be a non-empty string, got {task.id!r}")
    if not isinstance(task.func, str) or task.func.count(":") != 1 or not all(task.func.split(":")):
        raise QtlAtlasError(f"task {task.id!r}: func must read 'package.module:function', got {task.func!r}")
    try:
        json.dumps(task.params, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise QtlAtlasError(f"task {task.id!r}: params are not JSON-serialisable ({exc})") from None
    for reserved in ("outputs", "threads"):
        if reserved in task.params:
            raise QtlAtlasError(f"task {task.id!r}: param name {reserved!r} is reserved by the runner")
    for name, path in task.outputs.items():
        if not os.path.isabs(path):
            raise QtlAtlasError(f"task {task.id!r}: output {name!r} path must be absolute, got {path!r}")
    for path in task.inputs:
        if not os.path.isabs(path):
            raise QtlAtlasError(f"task {task.id!r}: input path must be absolute, got {path!r}")


def _find_cycle(order_ids: Iterable[str], deps: Mapping[str, Sequence[str]]) -> list[str] | None:
    """A dependency cycle as a list of ids ``[a, b, ..., a]``, or None."""
    white, grey, black = 0, 1, 2
    colour = dict.fromkeys(order_ids, white)
    for root in colour:
        if colour[root] != white:
            continue
        stack: list[tuple[str, int]] = [(root, 0)]
        path: list[str] = [root]
        colour[root] = grey
        while stack:
            node, i = stack[-1]
            children = deps[node]
            if i < len(children):
                stack[-1] = (node, i + 1)
                child = children[i]
                if colour[child] == grey:
                    return path[path.index(child) :] + [child]
                if colour[child] == white:
                    colour[child] = grey
                    stack.append((child, 0))
                    path.append(child)
            else:
                colour[node] = black
                stack.pop()
                path.pop()
    return None


def build_graph(tasks: Sequence[Task]) -> Graph:
    """Validate ``tasks`` and return the :class:`Graph`.

    Raises :class:`QtlAtlasError` for: a malformed task, duplicate ids, a dependency on an unknown id,
    two tasks declaring the same output path (or one inside another's output directory), and a
    dependency cycle (named as ``a -> b -> a``). A task reading a file that another task produces
    depends on that task even when ``deps`` omits it.
    """
    by_id: dict[str, Task] = {}
    dups: list[str] = []
    for task in tasks:
        if not isinstance(task, Task):
            raise QtlAtlasError(f"expected a Task, got {type(task).__name__}")
        _check_task(task)
        if task.id in by_id:
            dups.append(task.id)
        by_id[task.id] = task
    if dups:
        raise QtlAtlasError(f"duplicate task ids: {', '.join(sorted(set(dups)))}")

    unknown = [f"{t.id!r} -> {d!r}" for t in by_id.values() for d in t.deps if d not in by_id]
    if unknown:
        raise QtlAtlasError(f"dependencies on unknown tasks: {', '.join(unknown)}")

    producer: dict[str, str] = {}
    dir_producer: dict[str, str] = {}
    for task in by_id.values():
        for path in task.outputs.values():
            norm = os.path.normpath(output_base(path))
            if norm in producer:
                raise QtlAtlasError(
                    f"output {norm} is declared by two tasks: {producer[norm]!r} and {task.id!r}"
                )
            producer[norm] = task.id
            if is_dir_output(path):
                dir_producer[norm] = task.id
    for norm, owner in producer.items():
        parent = os.path.dirname(norm)
        while parent and parent != os.path.dirname(parent):
            if parent in dir_producer and dir_producer[parent] != owner:
                raise QtlAtlasError(
                    f"output {norm} of task {owner!r} lies inside output directory {parent}/ "
                    f"of task {dir_producer[parent]!r}"
                )
            parent = os.path.dirname(parent)

    deps: dict[str, tuple[str, ...]] = {}
    for task in by_id.values():
        found = list(task.deps)
        for path in task.inputs:
            norm = os.path.normpath(output_base(path))
            owner = producer.get(norm)
            parent = os.path.dirname(norm)
            while owner is None and parent and parent != os.path.dirname(parent):
                owner = dir_producer.get(parent)
                parent = os.path.dirname(parent)
            if owner == task.id:
                raise QtlAtlasError(f"task {task.id!r} reads its own output {path}")
            if owner is not None and owner not in found:
                found.append(owner)
        deps[task.id] = tuple(dict.fromkeys(found))

    cycle = _find_cycle(by_id, deps)
    if cycle:
        raise QtlAtlasError(f"dependency cycle: {' -> '.join(cycle)}")

    # Topological order, stable with respect to the given order (Kahn's algorithm, lowest index first).
    import heapq

    index = {tid: i for i, tid in enumerate(by_id)}
    dependents: dict[str, list[str]] = {tid: [] for tid in by_id}
    missing = {tid: len(d) for tid, d in deps.items()}
    for tid, ds in deps.items():
        for d in ds:
            dependents[d].append(tid)
    heap = [index[t] for t, n in missing.items() if n == 0]
    heapq.heapify(heap)
    ids = list(by_id)
    order: list[str] = []
    while heap:
        tid = ids[heapq.heappop(heap)]
        order.append(tid)
        for child in dependents[tid]:
            missing[child] -= 1
            if missing[child] == 0:
                heapq.heappush(heap, index[child])
    return Graph(
        tasks=by_id,
        order=tuple(order),
        deps=deps,
        dependents={k: tuple(v) for k, v in dependents.items()},
    )
