"""``qtlatlas run`` on real Dask clusters: started from the command line and losing a worker, adaptive, and
SLURM through dask-jobqueue.

A ``dask scheduler`` and two ``dask worker`` processes are started with the ``dask`` command of this
environment, each in its own process group. A small demo release runs through the real CLI
(``qtlatlas run --scheduler ADDRESS``); while one worker is running a task that has already created a
temporary output, that worker (nanny and worker process) is SIGKILLed. The run must still finish with
exit status 0, every task done, no temporary left, and results byte-identical to a local
``qtlatlas run --cores 1`` of the same atlas. Then: a cluster that starts with no worker and grows on
demand, a scheduler named by its scheduler file, an unreachable scheduler, the capture of a task's output
on single- and multi-threaded workers, and the SLURM launcher of docs/cluster.md run against a
single-node SLURM on localhost (Debian's packages, installed when missing).

What is compared: every file and directory under ``WORK/v1`` (its path, and the sha256 of each file),
except the run's own bookkeeping in ``WORK/v1/.state``, which differs between any two runs by design:
``logs/*.log`` (host, process id, start time and duration of each attempt), ``tasks/*.json`` (finish
time, wall time, and each output file's mtime and inode), ``hash-cache.json`` (file metadata keyed by
mtime and inode) and ``lock`` (an empty lock file). The state records' output digests are compared
separately: they must equal the local run's.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import dask
import pipeline_toy
import pytest
import yaml
from process_groups import group_members

from qtlatlas.config import load_atlas
from qtlatlas.demo import DemoConfig, generate_demo
from qtlatlas.demo.settings import DEFAULT_TISSUES
from qtlatlas.errors import QtlAtlasError
from qtlatlas.pipeline.graph import output_base
from qtlatlas.pipeline.plan import plan_release
from qtlatlas.pipeline.runner import run_graph
from qtlatlas.pipeline.state import TMP_MARK, StateDir, load_records

# One tissue in v1 (v1 drops the last tissue), six modalities, cross-modality and TWAS: 42 tasks.
TINY = DemoConfig(seed=5, n_individuals=60, chrom_length=2_000_000, n_variants_per_chrom=300,
                  n_genes_per_chrom=8, n_traits=1, gwas_n=200, tissues=DEFAULT_TISSUES[:2])
RELEASE = "v1"
BIN = Path(sys.executable).parent
RUN_TIMEOUT_S = 240  # a hang (the run never finishing after the loss) fails here, not in CI's global limit

# --------------------------------------------------------------------------------------------------
# Processes: each in its own process group, dying with the test process, always killed at the end
# --------------------------------------------------------------------------------------------------


# Each process gets SIGKILL when the test process dies, even killed (PR_SET_PDEATHSIG through util-linux's
# setpriv, which keeps the process id): no daemon outlives an aborted test session.
_SETPRIV = shutil.which("setpriv")
_DIE_WITH_TEST = [_SETPRIV, "--pdeathsig", "KILL", "--"] if _SETPRIV else []


class Processes:
    """Processes started by one test, each the leader of its own process group; :meth:`kill_all` SIGKILLs
    every group (the dask worker's nanny and the worker process it spawned alike) and reaps them."""

    def __init__(self, logs: Path):
        self.logs = logs
        self.started: dict[str, subprocess.Popen] = {}
        logs.mkdir(parents=True, exist_ok=True)

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
        with open(self.logs / f"{name}.log", "wb") as out:
            proc = subprocess.Popen(_DIE_WITH_TEST + argv, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True, env=env)
        self.started[name] = proc
        return proc

    def log(self, name: str, tail: int = 4000) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace")[-tail:] if path.exists() else ""

    def all_logs(self) -> str:
        return "\n".join(f"===== {name} =====\n{self.log(name)}" for name in self.started)

    def kill_all(self) -> None:
        for proc in self.started.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        for proc in self.started.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=30)


@pytest.fixture
def processes(tmp_path):
    procs = Processes(tmp_path / "process-logs")
    try:
        yield procs
    finally:
        procs.kill_all()


def start_cluster(procs: Processes, root: Path, n_workers: int = 2) -> tuple[str, list[subprocess.Popen]]:
    """``dask scheduler`` on a free port of 127.0.0.1 and ``n_workers`` single-threaded ``dask worker``
    processes; returns the scheduler address (read from its ``--scheduler-file``) and the workers, once
    all of them are registered with the scheduler."""
    dask = BIN / "dask"
    assert dask.is_file(), f"the dask command of distributed is missing: {dask}"
    root.mkdir(parents=True, exist_ok=True)
    scheduler_file = root / "scheduler.json"
    scheduler = procs.start("scheduler", [str(dask), "scheduler", "--host", "127.0.0.1", "--port", "0",
                                          "--no-dashboard", "--dashboard-address", "127.0.0.1:0",
                                          "--scheduler-file", str(scheduler_file),
                                          "--idle-timeout", "600s"])
    address = None
    deadline = time.monotonic() + 60
    while address is None:
        assert scheduler.poll() is None, f"dask scheduler exited:\n{procs.log('scheduler')}"
        assert time.monotonic() < deadline, f"no scheduler file after 60 s:\n{procs.log('scheduler')}"
        with contextlib.suppress(OSError, ValueError):  # not written yet, or half-written
            address = json.loads(scheduler_file.read_text())["address"]
        time.sleep(0.05)
    workers = [
        procs.start(f"worker{i}", [str(dask), "worker", address, "--nworkers", "1", "--nthreads", "1",
                                   "--no-dashboard", "--name", f"worker{i}", "--death-timeout", "60s",
                                   "--local-directory", str(root / f"worker{i}")])
        for i in range(n_workers)
    ]
    from distributed import Client

    with Client(address, timeout="30s") as client:
        client.wait_for_workers(n_workers, timeout=90)
    for i, w in enumerate(workers):
        assert w.poll() is None, f"dask worker {i} exited:\n{procs.log(f'worker{i}')}"
    return address, workers


# --------------------------------------------------------------------------------------------------
# The atlas, its local reference run, and what is compared
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def atlas_yaml(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cluster_atlas")
    generate_demo(root, TINY)
    return root / "atlas.yaml"


def qtlatlas_run(config: Path, work: Path, *options: str) -> list[str]:
    return [sys.executable, "-m", "qtlatlas.cli", "run", str(config), "--release", RELEASE,
            "--work", str(work), "--quiet", *options]


@pytest.fixture(scope="module")
def local_reference(atlas_yaml, tmp_path_factory) -> Path:
    """The work directory of ``qtlatlas run --cores 1`` of the atlas."""
    work = tmp_path_factory.mktemp("local_work")
    done = subprocess.run(qtlatlas_run(atlas_yaml, work, "--cores", "1"), capture_output=True, text=True,
                          timeout=RUN_TIMEOUT_S)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return work


def result_tree(release_dir: Path) -> dict[str, str]:
    """Every path under ``release_dir`` except ``.state/``: sha256 of each file, ``"dir"`` for directories
    (so that a leftover temporary directory, even empty, shows up)."""
    out = {}
    for p in sorted(release_dir.rglob("*")):
        rel = p.relative_to(release_dir)
        if rel.parts[0] == ".state":
            continue
        out[str(rel)] = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
    return out


def output_digests(state_dir: Path) -> dict[tuple[str, str], tuple[int, str]]:
    """(task id, output name) -> (size, sha256) from the state records."""
    return {(tid, name): (out["size"], out["sha256"])
            for tid, rec in load_records(state_dir).items() for name, out in rec["outputs"].items()}


def temporaries(task) -> list[str]:
    """The temporary outputs (``*.tmp-*``) of ``task`` that exist now."""
    patterns = [glob.escape(output_base(out)) + TMP_MARK + "*" for out in task.outputs.values()]
    return [p for pattern in patterns for p in glob.glob(pattern)]


_HEADER_PID = re.compile(r"^# host: .* pid (\d+)$", re.MULTILINE)


def attempt(log: Path) -> tuple[int | None, bool]:
    """(process id, finished) of the attempt a task log describes; finished once it wrote "# done" or
    "# FAILED"."""
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return None, False
    m = _HEADER_PID.search(text)
    return (int(m.group(1)) if m else None), ("\n# done in " in text or "\n# FAILED" in text)


def kill_worker_mid_task(run: subprocess.Popen, workers: list[subprocess.Popen], tasks, state: StateDir,
                         timeout: float) -> tuple[subprocess.Popen, object, int, list[str]]:
    """Wait until, after at least one task has finished, a worker is running a task that has created a
    temporary output, and SIGKILL that worker's process group.

    The candidate worker is first stopped (SIGSTOP) and the task re-checked, so the kill provably lands
    while the task is unfinished with its temporary on disk. Returns (worker, task, the process id that
    ran the task, its temporaries)."""
    by_log = {state.log_path(t.id).name: t for t in tasks}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and run.poll() is None:
        if any(state.tasks_dir.glob("*.json")):
            for log in sorted(state.logs_dir.glob("*.log")):
                task = by_log.get(log.name)
                pid, finished = attempt(log)
                if task is None or pid is None or finished or not temporaries(task):
                    continue
                worker = next((w for w in workers if w.poll() is None and pid in group_members(w.pid)), None)
                if worker is None:
                    continue
                os.killpg(worker.pid, signal.SIGSTOP)
                now_pid, now_finished = attempt(log)
                temps = temporaries(task)
                if now_pid == pid and not now_finished and temps:
                    os.killpg(worker.pid, signal.SIGKILL)
                    worker.wait(timeout=30)
                    gone = time.monotonic() + 30  # SIGKILL is delivered asynchronously
                    while group_members(worker.pid) and time.monotonic() < gone:
                        time.sleep(0.01)
                    return worker, task, pid, temps
                os.killpg(worker.pid, signal.SIGCONT)
        time.sleep(0.01)
    raise AssertionError(f"no worker was caught running a task with a temporary output (run: {run.poll()})")


# --------------------------------------------------------------------------------------------------
# A single-node SLURM on localhost (Debian's packages), private to one test
# --------------------------------------------------------------------------------------------------

SLURM_PACKAGES = ("slurmctld", "slurmd", "slurm-client", "munge")
SLURM_COMMANDS = ("munged", "munge", "slurmctld", "slurmd", "sbatch", "squeue", "scancel", "sinfo")
SBIN_PATH = os.pathsep.join([str(BIN), os.environ.get("PATH", ""), "/usr/local/sbin", "/usr/sbin", "/sbin"])


def install_slurm() -> None:
    """Install Debian's SLURM daemons, client commands and munge when any is missing (as ``make``'s
    chromium target does for the browser tests): apt-get as root, through sudo otherwise."""
    if all(shutil.which(c, path=SBIN_PATH) for c in SLURM_COMMANDS):
        return
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    wait_for_lock = ["-o", "DPkg::Lock::Timeout=600"]  # another apt-get (a chromium install) may hold it
    for argv in (["apt-get", *wait_for_lock, "update", "-q"],
                 ["apt-get", *wait_for_lock, "install", "-y", "-q", "--no-install-recommends",
                  *SLURM_PACKAGES]):
        done = subprocess.run(sudo + argv, env=env, capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, f"{' '.join(argv)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
    missing = [c for c in SLURM_COMMANDS if not shutil.which(c, path=SBIN_PATH)]
    assert not missing, f"still missing after installing {SLURM_PACKAGES}: {missing}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SingleNodeSlurm:
    """munged, slurmctld and slurmd for this machine alone, on free ports, with every file (configuration,
    key, spool, logs) under ``root``; ``env`` is the environment for SLURM's commands (``SLURM_CONF``)."""

    def __init__(self, procs: Processes, root: Path):
        self.procs, self.root = procs, root
        self.conf = root / "slurm.conf"
        self.env = dict(os.environ, SLURM_CONF=str(self.conf), PATH=SBIN_PATH)

    def command(self, *argv: str, timeout: float = 30) -> str:
        done = subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=timeout)
        assert done.returncode == 0, f"{' '.join(argv)}: {done.stderr}\n{self.logs()}"
        return done.stdout

    def logs(self) -> str:
        return "\n".join(f"===== {p.name} =====\n{p.read_text(errors='replace')[-3000:]}"
                         for p in sorted((self.root / "log").glob("*.log")))

    def start(self) -> None:
        root = self.root
        for d in ("munge", "spool/ctld", "spool/d", "log"):
            (root / d).mkdir(parents=True, exist_ok=True)
        (root / "munge").chmod(0o700)
        key = root / "munge" / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o600)
        sock = root / "munge" / "socket"
        self.procs.start("munged", [shutil.which("munged", path=SBIN_PATH), "--foreground", "--force",
                                    f"--socket={sock}", f"--key-file={key}",
                                    f"--log-file={root / 'log' / 'munged.log'}",
                                    f"--pid-file={root / 'munge' / 'pid'}",
                                    f"--seed-file={root / 'munge' / 'seed'}"])
        self._wait(lambda: sock.exists(), "munged's socket", "munged")
        host = socket.gethostname().split(".")[0]
        cpus = os.cpu_count() or 1
        memory_mb = min(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20 // 2, 8000)
        self.conf.write_text(f"""\
ClusterName=qtlatlastest
SlurmctldHost={host}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={sock}
SlurmctldPort={free_port()}
SlurmdPort={free_port()}
StateSaveLocation={root / 'spool' / 'ctld'}
SlurmdSpoolDir={root / 'spool' / 'd'}
SlurmctldPidFile={root / 'slurmctld.pid'}
SlurmdPidFile={root / 'slurmd.pid'}
SlurmctldLogFile={root / 'log' / 'slurmctld.log'}
SlurmdLogFile={root / 'log' / 'slurmd.log'}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
MpiDefault=none
NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory_mb} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
""")
        self.procs.start("slurmctld", [shutil.which("slurmctld", path=SBIN_PATH), "-D", "-f", str(self.conf)])
        self.procs.start("slurmd", [shutil.which("slurmd", path=SBIN_PATH), "-D", "-f", str(self.conf),
                                    "-N", host])
        self._wait(self._idle, "an idle SLURM node", "slurmctld", "slurmd")

    def _idle(self) -> bool:
        done = subprocess.run(["sinfo", "-h", "-o", "%t"], env=self.env, capture_output=True, text=True,
                              timeout=30)
        return done.returncode == 0 and done.stdout.split() == ["idle"]

    def _wait(self, ready, what: str, *daemons: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            for name in daemons:
                proc = self.procs.started[name]
                assert proc.poll() is None, f"{name} exited:\n{self.procs.log(name)}\n{self.logs()}"
            assert time.monotonic() < deadline, f"no {what} after {timeout} s:\n{self.logs()}"
            time.sleep(0.2)

    def jobs(self) -> list[str]:
        return self.command("squeue", "-h", "-o", "%i").split()

    def stop(self) -> None:
        """Cancel every job (SLURM ends their processes), then stop the daemons."""
        with contextlib.suppress(AssertionError, OSError, subprocess.TimeoutExpired):
            if self.jobs():
                self.command("scancel", "--full", *self.jobs())
                deadline = time.monotonic() + 30
                while self.jobs() and time.monotonic() < deadline:
                    time.sleep(0.2)
        self.procs.kill_all()


@pytest.fixture
def slurm():
    install_slurm()
    root = Path(tempfile.mkdtemp(prefix="qtlslurm-", dir="/tmp"))  # short: unix socket paths are limited
    cluster = SingleNodeSlurm(Processes(root / "process-logs"), root)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


def documented_jobqueue_yaml() -> dict:
    """The jobqueue.yaml example of docs/cluster.md."""
    doc = (Path(__file__).resolve().parents[1] / "docs" / "cluster.md").read_text()
    blocks = re.findall(r"```yaml\n(jobqueue:\n.*?)```", doc, re.DOTALL)
    assert len(blocks) == 1, "docs/cluster.md: the jobqueue.yaml example is missing"
    return yaml.safe_load(blocks[0])


def documented_launcher() -> str:
    """The SLURM launcher script of docs/cluster.md (its python block starting with a shebang)."""
    doc = (Path(__file__).resolve().parents[1] / "docs" / "cluster.md").read_text()
    blocks = re.findall(r"```python\n(#!/usr/bin/env python\n.*?)```", doc, re.DOTALL)
    assert len(blocks) == 1 and "SLURMCluster" in blocks[0], "docs/cluster.md: the launcher script is missing"
    return blocks[0]


# --------------------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------------------


def test_run_survives_sigkill_of_a_worker_with_identical_results(atlas_yaml, local_reference, processes,
                                                                  tmp_path):
    address, workers = start_cluster(processes, tmp_path / "cluster")
    work = tmp_path / "work"
    state = StateDir(work / RELEASE / ".state")
    tasks = plan_release(load_atlas(atlas_yaml), RELEASE, work)
    t0 = time.monotonic()
    run = processes.start("run", qtlatlas_run(atlas_yaml, work, "--scheduler", address))

    victim, task, pid, temps = kill_worker_mid_task(run, workers, tasks, state, timeout=RUN_TIMEOUT_S)
    assert temps and not group_members(victim.pid), "the killed worker's processes outlived SIGKILL"
    try:
        code = run.wait(timeout=max(1.0, RUN_TIMEOUT_S - (time.monotonic() - t0)))
    except subprocess.TimeoutExpired:
        pytest.fail(f"the run did not finish after the worker loss:\n{processes.all_logs()}")
    assert code == 0, f"qtlatlas run exited {code} after the worker loss:\n{processes.all_logs()}"
    (survivor,) = [w for w in workers if w is not victim]
    assert survivor.poll() is None, f"the other worker died too:\n{processes.log('worker0')}"

    # the interrupted task ran again, to the end, on the surviving worker
    rerun_pid, finished = attempt(state.log_path(task.id))
    assert finished and rerun_pid != pid and rerun_pid in group_members(survivor.pid)

    # every task done: a state record for each, and a local rerun finds every one up to date
    assert set(load_records(state.root)) == {t.id for t in tasks}
    assert output_digests(state.root) == output_digests(local_reference / RELEASE / ".state")
    assert not [p for p in work.rglob(f"*{TMP_MARK}*")], "temporaries left in the work directory"
    ours, reference = result_tree(work / RELEASE), result_tree(local_reference / RELEASE)
    assert len(reference) > 60
    assert ours == reference, sorted(set(ours.items()) ^ set(reference.items()))[:10]
    again = run_graph(plan_release(load_atlas(atlas_yaml), RELEASE, work), state.root, progress=False)
    assert again.counts()["skipped"] == len(tasks), again.summary()


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def toy_reference(tmp_path_factory) -> Path:
    """The toy graph's outputs from the local executor."""
    out = tmp_path_factory.mktemp("toy_local")
    report = run_graph(pipeline_toy.toy_graph(out / "out", seconds=0.05), out / "state", cores=1,
                       progress=False)
    assert report.ok
    return out / "out"


def test_adaptive_cluster_starting_with_no_worker(toy_reference, tmp_path):
    """A cluster that starts workers on demand, from none (as a batch-system cluster with ``adapt`` does):
    the run hands its ready tasks to the scheduler, which starts workers for them, instead of waiting for
    a worker before submitting anything."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=0, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        with Client(cluster) as client:
            assert not client.scheduler_info()["workers"]
        cluster.adapt(minimum=0, maximum=2, interval="200ms")
        t0 = time.monotonic()
        report = run_graph(pipeline_toy.toy_graph(tmp_path / "out", seconds=0.05), tmp_path / "state",
                           executor="dask", scheduler=cluster.scheduler_address, progress=False)
        assert report.ok, [(t.id, t.status, t.error) for t in report.tasks]
        assert time.monotonic() - t0 < 60
    assert tree_bytes(tmp_path / "out") == tree_bytes(toy_reference)


def test_scheduler_given_as_its_scheduler_file(toy_reference, tmp_path):
    """``--scheduler`` also takes the JSON file that ``dask scheduler --scheduler-file`` writes."""
    from distributed import Client, LocalCluster

    scheduler_file = tmp_path / "scheduler.json"
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        with Client(cluster) as client:
            client.write_scheduler_file(str(scheduler_file))
        report = run_graph(pipeline_toy.toy_graph(tmp_path / "out", seconds=0.05), tmp_path / "state",
                           executor="dask", scheduler=str(scheduler_file), progress=False)
        assert report.ok, [(t.id, t.status, t.error) for t in report.tasks]
    assert tree_bytes(tmp_path / "out") == tree_bytes(toy_reference)


def test_unreachable_scheduler_is_a_clear_error(tmp_path):
    """A scheduler address nobody listens on, or a missing scheduler file, is an input error naming it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # free, and nobody listens on it once the socket is closed
    with dask.config.set({"distributed.comm.timeouts.connect": "2s"}):
        for where in (f"tcp://127.0.0.1:{port}", str(tmp_path / "missing.json")):
            with pytest.raises(QtlAtlasError, match="cannot connect"):
                run_graph(pipeline_toy.toy_graph(tmp_path / "out"), tmp_path / "state", executor="dask",
                          scheduler=where, progress=False)


def write_to_fd(outputs, threads, **_):
    """A task function writing below Python's ``sys.stdout``, as compiled code does."""
    os.write(1, b"written to file descriptor 1\n")
    Path(outputs["out"]).write_text("x\n")


@pytest.mark.parametrize("nthreads", [1, 2])
def test_task_output_capture_follows_the_worker_threads(nthreads, tmp_path):
    """A single-threaded worker redirects file descriptors 1 and 2 into the task's log; a worker running
    several tasks at once in one process must not (the redirection is process-wide)."""
    from distributed import LocalCluster

    from qtlatlas.pipeline import Task

    task = Task("fd", "test_dask_cluster:write_to_fd", {}, {"out": str(tmp_path / "out.txt")})
    with LocalCluster(n_workers=1, threads_per_worker=nthreads, processes=True,
                      dashboard_address=":0") as cluster:
        report = run_graph([task], tmp_path / "state", executor="dask", scheduler=cluster.scheduler_address,
                           progress=False)
    assert report.ok, report["fd"].error
    assert ("written to file descriptor 1" in Path(report["fd"].log_path).read_text()) == (nthreads == 1)


def test_documented_jobqueue_yaml_describes_the_jobs_it_says(tmp_path, monkeypatch):
    """The jobqueue.yaml of docs/cluster.md is valid for dask-jobqueue, and its job script has what the
    page says: ``job-cpu`` cores from SLURM, ``processes`` single-threaded worker processes sharing
    ``memory``, the extra directives and the retirement before the walltime (no job is submitted)."""
    from dask.utils import format_bytes, parse_bytes
    from dask_jobqueue import SLURMCluster

    settings = documented_jobqueue_yaml()["jobqueue"]["slurm"]
    local = dict(settings, interface="lo", **{"log-directory": str(tmp_path / "logs")})  # runnable here
    with dask.config.set({f"jobqueue.slurm.{key}": value for key, value in local.items()}):
        with SLURMCluster(scheduler_options={"dashboard_address": ":0"}) as cluster:
            script = cluster.job_script()
    processes = settings["processes"]
    assert settings["cores"] // processes == 1
    per_process = format_bytes(parse_bytes(settings["memory"]) // processes).replace(" ", "")
    expected = [f"--cpus-per-task={settings['job-cpu']}", f"-p {settings['queue']}",
                f"-A {settings['account']}", f"-t {settings['walltime']}", "--nthreads 1",
                f"--nworkers {processes}", f"--memory-limit {per_process}",
                " ".join(settings["worker-extra-args"])]
    expected += [f"#SBATCH {d}" for d in settings["job-extra-directives"]] + settings["job-script-prologue"]
    missing = [e for e in expected if e not in script]
    assert not missing, f"{missing} not in the job script:\n{script}"


def test_slurm_through_dask_jobqueue_with_the_documented_launcher(atlas_yaml, local_reference, slurm,
                                                                   processes, tmp_path):
    """The launcher of docs/cluster.md, unchanged, with a jobqueue.yaml for the local SLURM: worker jobs
    start on demand, the release's results equal the local run's, and the tasks ran in SLURM jobs."""
    import dask_jobqueue  # noqa: F401 - a dev dependency: missing, the test fails (it is never skipped)

    launcher = tmp_path / "qtlatlas-slurm.py"
    launcher.write_text(documented_launcher())
    job_logs = tmp_path / "job-logs"
    config = {"jobqueue": {"slurm": {
        "name": "qtlatlas-worker", "cores": 1, "processes": 1, "memory": "1GiB", "walltime": "00:15:00",
        "queue": "debug", "job-extra-directives": ["--nodes=1"], "python": sys.executable, "interface": "lo",
        "local-directory": str(tmp_path / "dask-scratch"), "log-directory": str(job_logs),
        "worker-extra-args": ["--lifetime", "14m"], "death-timeout": 60,
    }}}
    (tmp_path / "dask-config").mkdir()
    (tmp_path / "dask-config" / "jobqueue.yaml").write_text(yaml.safe_dump(config))
    work = tmp_path / "work"
    env = dict(slurm.env, DASK_CONFIG=str(tmp_path / "dask-config"))
    argv = [sys.executable, str(launcher), str(atlas_yaml), RELEASE, "2", "--work", str(work), "--quiet"]
    launched = processes.start("launcher", argv, env=env)
    try:
        code = launched.wait(timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        code = None
    text = processes.log("launcher", tail=10**6)
    assert code == 0, f"launcher exit {code}:\n{text[-4000:]}\n{slurm.logs()}"
    assert "scheduler at tcp://" in text

    assert result_tree(work / RELEASE) == result_tree(local_reference / RELEASE)
    assert output_digests(work / RELEASE / ".state") == output_digests(local_reference / RELEASE / ".state")
    # the only workers were SLURM jobs: each wrote its log, and slurmctld allocated them
    worker_logs = [p.read_text(errors="replace") for p in job_logs.glob("*.err")]
    assert worker_logs and any("Registered to:" in t for t in worker_logs), worker_logs
    allocated = re.findall(r"Allocate JobId=(\d+)", (slurm.root / "log" / "slurmctld.log").read_text())
    assert allocated, slurm.logs()
    # leaving the launcher's `with SLURMCluster()` block cancelled the worker jobs
    deadline = time.monotonic() + 30
    while slurm.jobs() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not slurm.jobs()
