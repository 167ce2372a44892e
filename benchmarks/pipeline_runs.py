"""One measured ``qtlatlas run`` of the pipeline benchmark (:mod:`benchmarks.bench_pipeline`): the command's
wall, CPU and peak RSS (:func:`.measure.measure`), and each task's CPU time and peak resident memory, sampled
from /proc while the run goes on and charged to the task whose log a worker holds open."""

from __future__ import annotations

import json
import os
import sys
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .measure import Measurement, measure
from .pipeline_atlas import RELEASE, TISSUE

QTLATLAS = [sys.executable, "-m", "qtlatlas.cli"]
CROSS = "cross_modality"
_TICK = os.sysconf("SC_CLK_TCK")


def _descendants(root: int) -> list[int]:
    """Process ids below ``root`` (from the parent ids in /proc/*/stat)."""
    children: dict[int, list[int]] = defaultdict(list)
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        children[int(stat[stat.rindex(")") + 2:].split()[1])].append(int(name))
    out, todo = [], list(children[root])
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += children[pid]
    return out


def _read(pid: int, logs: str) -> tuple[str | None, float, float, float] | None:
    """(task log held open or None, CPU seconds, peak RSS so far MB, RSS MB) of ``pid``."""
    try:
        log = None
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith(logs) and target.endswith(".log"):
                log = target
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        cpu = (int(fields[11]) + int(fields[12])) / _TICK
        status = {}
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(("VmHWM", "VmRSS")):
                    key, value = line.split(":", 1)
                    status[key] = int(value.split()[0]) / 1024
        return log, cpu, status.get("VmHWM", 0.0), status.get("VmRSS", 0.0)
    except (OSError, ValueError, IndexError):
        return None


class TaskSampler(threading.Thread):
    """Samples the processes started by this one every ``interval`` seconds while a command runs.

    ``cpu[log]`` (s) and ``peak_mb[log]`` (MB) per task log: the CPU time of the worker while it held the
    log open, and its largest resident set meanwhile: the worker's high-water mark (VmHWM) when it rose
    during the task (exact, peaks between samples included), else the largest sampled resident set (a
    lower bound: workers run one task after another, and a task that stays below an earlier task's peak
    is seen only at the samples). A sample interval that spans two tasks of a worker splits its CPU time
    between them and charges a new high-water mark to both. ``tree_peak_mb``: the largest sum of the
    resident sets of all the run's processes (runner and workers) at one sample. The sampler only reads
    /proc, so the command's own peak RSS (:func:`.measure.measure`) is unaffected.
    """

    def __init__(self, logs_dir: Path, interval: float = 0.25):
        super().__init__(daemon=True)
        self.logs = str(logs_dir)
        self.interval = interval
        self.cpu: dict[str, float] = defaultdict(float)
        self.peak_mb: dict[str, float] = defaultdict(float)
        self.tree_peak_mb = 0.0
        self._last: dict[int, tuple[str | None, float, float]] = {}
        self._stop_event = threading.Event()

    def run(self) -> None:
        me = os.getpid()
        while not self._stop_event.is_set():
            total = 0.0
            for pid in _descendants(me):
                got = _read(pid, self.logs)
                if got is None:
                    continue
                log, cpu, hwm, rss = got
                total += rss
                last_log, last_cpu, last_hwm = self._last.get(pid, (log, cpu, 0.0))
                owners = [x for x in dict.fromkeys((last_log, log)) if x]
                for x in owners:
                    self.cpu[x] += (cpu - last_cpu) / len(owners)
                    if hwm > last_hwm:
                        self.peak_mb[x] = max(self.peak_mb[x], hwm)
                if log:
                    self.peak_mb[log] = max(self.peak_mb[log], rss)
                self._last[pid] = (log, cpu, hwm)
            self.tree_peak_mb = max(self.tree_peak_mb, total)
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


# --------------------------------------------------------------------------------------------------
# one pipeline run
# --------------------------------------------------------------------------------------------------


@dataclass
class TaskStat:
    """A task of a run: ``modality`` ("" for the release-wide prune), ``kind`` (last part of the id),
    ``wall_s`` (from its state record), ``cpu_s`` and ``peak_mb`` (sampled; NaN when never seen)."""

    id: str
    modality: str
    kind: str
    wall_s: float
    cpu_s: float
    peak_mb: float


@dataclass
class RunResult:
    """``run`` and ``build`` commands measured, tasks, phenotypes per modality (``cross_modality`` = all),
    sampled peak of the summed resident sets of the run's processes (MB)."""

    label: str
    run: Measurement
    tasks: list[TaskStat]
    phenotypes: dict[str, int]
    tree_peak_mb: float
    build: Measurement | None = None
    eGenes: dict[str, tuple[int, int]] = field(default_factory=dict)

    def task(self, modality: str, kind: str) -> TaskStat | None:
        for t in self.tasks:
            if t.modality == modality and t.kind == kind:
                return t
        return None

    def peak_by_kind(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for t in self.tasks:
            key = "prune" if t.kind == "prune" else ("cross-modality " + t.kind if t.modality == CROSS else t.kind)
            if np.isfinite(t.peak_mb):
                out[key] = max(out.get(key, 0.0), t.peak_mb)
        return out


def run_pipeline(label: str, atlas_yaml: Path, phenotypes: dict[str, int], build: bool = False) -> RunResult:
    """``qtlatlas run`` (2 cores) of ``atlas_yaml`` and optionally ``qtlatlas build``, measured."""
    from qtlatlas.pipeline.state import load_records

    root = atlas_yaml.parent
    state = root / "work" / RELEASE / ".state"
    sampler = TaskSampler(state / "logs")
    sampler.start()
    try:
        run = measure([*QTLATLAS, "run", str(atlas_yaml), "--release", RELEASE, "--cores", "2", "--quiet"],
                      log=root / "run.log")
    finally:
        sampler.stop()
    if run.returncode != 0:
        raise RuntimeError(f"qtlatlas run failed ({label}): see {root / 'run.log'} and {state / 'logs'}")
    records = load_records(state)
    by_log = {}
    for log in set(sampler.cpu) | set(sampler.peak_mb):
        try:
            with open(log) as fh:
                by_log[fh.readline().removeprefix("# task:").strip()] = log
        except OSError:
            pass
    tasks = []
    for task_id, record in records.items():
        parts = task_id.split("/")
        log = by_log.get(task_id)
        cpu, peak = (sampler.cpu[log], sampler.peak_mb[log]) if log else (float("nan"), float("nan"))
        modality = parts[2] if len(parts) == 4 else ""
        tasks.append(TaskStat(task_id, modality, parts[-1], float(record["wall_s"]), cpu, peak))
    result = RunResult(label, run, tasks, {**phenotypes, CROSS: sum(phenotypes.values())}, sampler.tree_peak_mb)
    for summary in (root / "work" / RELEASE / TISSUE).glob("*/summary.json"):
        s = json.loads(summary.read_text())
        result.eGenes[s["modality"]] = (s["significant"], s["tested"])
    if build:
        result.build = measure([*QTLATLAS, "build", str(atlas_yaml), "--release", RELEASE, "--site",
                                str(root / "site")], log=root / "build.log")
    return result


def task_seconds(t: TaskStat | None) -> float:
    """A task's time: its CPU seconds (single-threaded tasks: its wall time on an idle core), else wall."""
    if t is None:
        return float("nan")
    return t.cpu_s if np.isfinite(t.cpu_s) else t.wall_s
