"""The cost model of the pipeline benchmark and its extrapolation: each task's time as a fixed part plus a
part per phenotype (from a whole-genome and a one-chromosome run), and the wall time of a release's task graph
scheduled as the runner schedules it on N single-task slots."""

from __future__ import annotations

import heapq
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from .pipeline_atlas import MODALITIES, RELEASE, TISSUE
from .pipeline_runs import CROSS, RunResult, task_seconds


@dataclass
class CostModel:
    """``fixed[kind]`` seconds per task (median over modalities; ``fixed_range[kind]`` their min and max),
    ``per_phenotype[(modality, kind)]`` seconds per phenotype, ``prune`` seconds once per release;
    ``imprecise``: (modality, kind) whose phenotypes took less than half of the dense run's task."""

    fixed: dict[str, float]
    per_phenotype: dict[tuple[str, str], float]
    prune: float
    fixed_range: dict[str, tuple[float, float]] = field(default_factory=dict)
    imprecise: set[tuple[str, str]] = field(default_factory=set)

    def seconds(self, modality: str, kind: str, n: float) -> float:
        if kind == "prune":
            return self.prune
        return self.fixed.get(kind, 0.0) + self.per_phenotype.get((modality, kind), 0.0) * n


def cost_model(main: RunResult, dense: RunResult, dense_share: float, trans_per_phenotype: float) -> CostModel:
    """Task time = fixed + per_phenotype × phenotypes, from the main run (whole genome: T_m for n_m phenotypes)
    and the dense run (one chromosome holding ``dense_share`` of the variants: T_d for n_d), whose fixed part
    is taken as ``dense_share`` of the whole genome's (the fixed part is reading and preparing the
    genotypes)::

        T_m = a + b·n_m,   T_d = dense_share·a + b·n_d

    trans scans every variant of the genome for each phenotype, so its per-phenotype part is not seen on one
    chromosome: its fixed part is the main run's task, its slope ``trans_per_phenotype``."""
    a_of: dict[str, list[float]] = defaultdict(list)
    slope, imprecise = {}, set()
    for t in main.tasks:
        if t.kind in ("prune", "summary", "trans"):
            continue
        d = dense.task(t.modality, t.kind)
        tm, td = task_seconds(t), task_seconds(d)
        nm, nd = main.phenotypes[t.modality], dense.phenotypes[t.modality]
        if not (np.isfinite(tm) and np.isfinite(td)) or nd == 0:
            continue
        a = max((tm - nm * td / nd) / (1 - dense_share * nm / nd), 0.0)
        b = max((td - dense_share * a) / nd, 0.0)
        a_of[t.kind].append(a)
        slope[(t.modality, t.kind)] = b
        if b * nd < 0.5 * td:
            imprecise.add((t.modality, t.kind))
    trans = main.task("expression", "trans")
    if trans is not None:
        a_of["trans"].append(task_seconds(trans))
        slope[("expression", "trans")] = trans_per_phenotype
    fixed = {k: float(np.median(v)) for k, v in a_of.items()}
    return CostModel(fixed, slope, task_seconds(main.task("", "prune")),
                     {k: (min(v), max(v)) for k, v in a_of.items()}, imprecise)


def atlas_counts() -> dict[str, int]:
    counts = {m.id: m.n_phenotypes for m in MODALITIES}
    return {**counts, CROSS: sum(counts.values())}


def tissue_graph(main_atlas: Path, work: Path, n_tissues: int):
    """The task graph of a release with ``n_tissues`` tissues like the simulated one (the same files for
    each)."""
    from qtlatlas.config import load_atlas
    from qtlatlas.pipeline.graph import build_graph
    from qtlatlas.pipeline.plan import plan_release

    doc = yaml.safe_load(main_atlas.read_text())
    entries = doc["releases"][0]["tissues"][TISSUE]
    doc["tissues"] = [{"id": f"T{i + 1:02d}", "name": f"Tissue {i + 1}"} for i in range(n_tissues)]
    doc["releases"][0]["tissues"] = {t["id"]: entries for t in doc["tissues"]}
    path = main_atlas.parent / f"atlas{n_tissues}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return build_graph(plan_release(load_atlas(path), RELEASE, work))


def durations(graph, model: CostModel, counts: dict[str, int]) -> dict[str, float]:
    """Seconds of every task of ``graph`` at the atlas counts."""
    out = {}
    for task_id in graph.order:
        parts = task_id.split("/")
        modality, kind = (parts[2], parts[-1]) if len(parts) == 4 else ("", parts[-1])
        out[task_id] = model.seconds(modality, kind, counts.get(modality, 0))
    return out


def schedule(graph, seconds: dict[str, float], workers: int) -> float:
    """Makespan (s) of the runner's greedy schedule on ``workers`` single-task slots: whenever a slot is free
    it starts the ready task that comes first in the graph's order."""
    index = {t: i for i, t in enumerate(graph.order)}
    waiting = {t: set(d) for t, d in graph.deps.items()}
    ready = [index[t] for t, d in waiting.items() if not d]
    heapq.heapify(ready)
    running: list[tuple[float, str]] = []
    now = 0.0
    done = 0
    while done < len(graph.order):
        while ready and len(running) < workers:
            task = graph.order[heapq.heappop(ready)]
            heapq.heappush(running, (now + seconds[task], task))
        now, task = heapq.heappop(running)
        done += 1
        for child in graph.dependents[task]:
            waiting[child].discard(task)
            if not waiting[child]:
                heapq.heappush(ready, index[child])
    return now


def critical_path(graph, seconds: dict[str, float]) -> float:
    finish: dict[str, float] = {}
    for task in graph.order:  # dependency order
        finish[task] = seconds[task] + max((finish[d] for d in graph.deps[task]), default=0.0)
    return max(finish.values())
