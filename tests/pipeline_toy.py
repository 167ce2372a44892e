"""Toy task functions for the pipeline-runner tests, and a toy graph runnable as a script.

``python tests/pipeline_toy.py STATE_DIR OUT_DIR`` writes deterministic raw inputs under
``OUT_DIR/raw`` (unless present), runs the toy graph with the local executor (2 cores) and exits 0
when the report is ok, 1 otherwise. The kill test SIGKILLs it at random moments.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

log = logging.getLogger("pipeline_toy")


def concat(outputs, threads, sep="|", suffix="", inputs=(), **_):
    """Write the concatenation of ``inputs`` (paths, read as text) joined by ``sep``, then ``suffix``.

    Also writes a line about ``threads`` to the log (not to the output)."""
    parts = [Path(p).read_text() for p in inputs]
    print(f"concat of {len(parts)} inputs, threads={threads}")
    log.info("concat writing %s", outputs["out"])
    Path(outputs["out"]).write_text(sep.join(parts) + suffix)


def slow_copy(outputs, threads, src, seconds=0.5, steps=5, **_):
    """Copy ``src`` to ``outputs["out"]`` in ``steps`` chunks spread over ``seconds`` (so a kill can
    land mid-write)."""
    data = Path(src).read_bytes()
    n = max(1, steps)
    chunk = -(-len(data) // n)
    with open(outputs["out"], "wb") as fh:
        for i in range(n):
            fh.write(data[i * chunk : (i + 1) * chunk])
            fh.flush()
            time.sleep(seconds / n)


def split_dir(outputs, threads, src, parts=3, seconds=0.3, **_):
    """Write ``parts`` files into the directory output ``outputs["dir"]``: line i of ``src`` (cycled)
    upper-cased, one file per part, slowly."""
    lines = Path(src).read_text().splitlines() or [""]
    for i in range(parts):
        Path(outputs["dir"], f"part{i}.txt").write_text(lines[i % len(lines)].upper() + "\n")
        time.sleep(seconds / parts)
    Path(outputs["dir"], "sub").mkdir()
    Path(outputs["dir"], "sub", "n.txt").write_text(f"{parts}\n")


def two_outputs(outputs, threads, src, **_):
    """Write the bytes of ``src`` reversed to ``rev`` and their length to ``n``."""
    data = Path(src).read_bytes()
    Path(outputs["rev"]).write_bytes(data[::-1])
    time.sleep(0.2)
    Path(outputs["n"]).write_text(f"{len(data)}\n")


def fail(outputs, threads, message="toy failure", really=True, **_):
    """Write a partial output, print something, then raise ``RuntimeError(message)``; with
    ``really=False`` write ``"fixed"`` and return normally."""
    Path(outputs["out"]).write_text("partial")
    if not really:
        Path(outputs["out"]).write_text("fixed")
        return
    print("about to fail")
    raise RuntimeError(message)


def die(outputs, threads, **_):
    """Kill the worker process outright (as the out-of-memory killer would)."""
    Path(outputs["out"]).write_text("partial")
    os.kill(os.getpid(), 9)


def threads_env(outputs, threads, **_):
    """Write ``threads`` and the OpenMP/BLAS thread environment seen by the function."""
    keys = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
    Path(outputs["out"]).write_text(f"{threads} " + " ".join(os.environ.get(k, "-") for k in keys) + "\n")


RAW = {
    "a.txt": "alpha\n" * 2000,
    "b.txt": "beta\nbravo\n" * 1500,
    "c.txt": "gamma\ndelta\nepsilon\n",
}


def write_raw(out_dir: Path) -> dict[str, str]:
    """Write the toy graph's raw inputs (atomically, only when missing); return name -> path."""
    raw = out_dir / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, text in RAW.items():
        path = raw / name
        if not path.exists():
            tmp = raw / f".{name}.partial"
            tmp.write_text(text)
            os.replace(tmp, path)
        paths[name] = str(path)
    return paths


def toy_graph(out_dir: str | os.PathLike[str], seconds: float = 0.6):
    """The kill-test graph: two slow copies, a directory output, a two-output task and joins."""
    from qtlatlas.pipeline import Task

    out = Path(out_dir).absolute()
    raw = write_raw(out)
    o = lambda *parts: str(out.joinpath(*parts))  # noqa: E731
    mod = "pipeline_toy"
    return [
        Task(
            "toy/copy_a",
            f"{mod}:slow_copy",
            {"src": raw["a.txt"], "seconds": seconds, "steps": 8},
            {"out": o("copies", "a.txt")},
            inputs=(raw["a.txt"],),
            label="copy a",
        ),
        Task(
            "toy/copy_b",
            f"{mod}:slow_copy",
            {"src": raw["b.txt"], "seconds": seconds, "steps": 8},
            {"out": o("copies", "b.txt")},
            inputs=(raw["b.txt"],),
            label="copy b",
        ),
        Task(
            "toy/split_c",
            f"{mod}:split_dir",
            {"src": raw["c.txt"], "parts": 4, "seconds": seconds},
            {"dir": o("split") + "/"},
            inputs=(raw["c.txt"],),
            label="split c",
        ),
        Task(
            "toy/join_ab",
            f"{mod}:concat",
            {"inputs": [o("copies", "a.txt"), o("copies", "b.txt")], "suffix": "#ab"},
            {"out": o("join", "ab.txt")},
            inputs=(o("copies", "a.txt"), o("copies", "b.txt")),
            deps=("toy/copy_a", "toy/copy_b"),
            label="join ab",
        ),
        Task(
            "toy/rev_ab",
            f"{mod}:two_outputs",
            {"src": o("join", "ab.txt")},
            {"rev": o("rev", "ab.rev"), "n": o("rev", "ab.n")},
            inputs=(o("join", "ab.txt"),),
            deps=("toy/join_ab",),
            label="reverse ab",
        ),
        Task(
            "toy/final",
            f"{mod}:slow_copy",
            {"src": o("join", "all.txt"), "seconds": seconds / 2},
            {"out": o("final", "all.txt")},
            inputs=(o("join", "all.txt"),),
            deps=("toy/join_all",),
            label="final",
        ),
        Task(
            "toy/join_all",
            f"{mod}:concat",
            {"inputs": [o("rev", "ab.n"), o("split", "part0.txt"), o("split", "sub", "n.txt")], "sep": "+"},
            {"out": o("join", "all.txt")},
            inputs=(o("rev", "ab.n"), o("split") + "/"),
            deps=("toy/rev_ab", "toy/split_c"),
            label="join all",
        ),
    ]


def main(argv: list[str]) -> int:
    from qtlatlas.pipeline import run_graph

    state_dir, out_dir = argv[:2]
    executor = argv[2] if len(argv) > 2 else "local"
    kwargs = {"cores": 2} if executor == "local" else {"dask_local": 2}
    report = run_graph(toy_graph(out_dir), state_dir, executor=executor, progress=False, **kwargs)
    for t in report.tasks:
        print(f"{t.status}\t{t.id}\t{t.error or ''}")
    print(report.summary())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
