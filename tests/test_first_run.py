"""A first run that just works: a taken port is reported at once, "Serving" is printed once the server listens,
the closing hint names a command that can be typed, and summary tables are not cut in log files."""

import io
import json
import socket
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import pytest
from rich.console import Console
from rich.table import Table

import qtlatlas.demo
from qtlatlas.cli import main
from qtlatlas.commands import console as console_module
from qtlatlas.commands import serve as serve_module
from qtlatlas.commands.pipeline import _run_summary
from qtlatlas.errors import QtlAtlasError


@pytest.fixture
def taken_port():
    """A port on 127.0.0.1 that another server is listening on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        yield sock.getsockname()[1]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _tiny_site(root: Path) -> Path:
    (root / "releases" / "v1").mkdir(parents=True)
    (root / "releases" / "v1" / "release.json").write_text("{}")
    return root


def test_serve_stops_at_once_on_a_taken_port(tmp_path, taken_port, capsys):
    t0 = time.perf_counter()
    status = main(["serve", str(_tiny_site(tmp_path / "site")), "--port", str(taken_port)])
    assert status == 2
    assert time.perf_counter() - t0 < 5
    captured = capsys.readouterr()
    assert "Serving" not in captured.out
    err = captured.err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert f"127.0.0.1:{taken_port}" in err and "--port" in err and "make demo PORT=" in err


def test_demo_stops_before_any_work_on_a_taken_port(tmp_path, taken_port, capsys, monkeypatch):
    def generate(*a, **k):
        raise AssertionError("the demo started generating its atlas")

    monkeypatch.setattr(qtlatlas.demo, "generate_demo", generate)
    out = tmp_path / "demo"
    t0 = time.perf_counter()
    assert main(["demo", "--out", str(out), "--port", str(taken_port)]) == 2
    assert time.perf_counter() - t0 < 5
    assert not out.exists()
    err = capsys.readouterr().err
    assert f"port {taken_port}" in err and "--port" in err


def test_demo_without_serving_does_not_need_the_port(tmp_path, taken_port, capsys, monkeypatch):
    def generate(*a, **k):
        raise QtlAtlasError("generation reached")

    monkeypatch.setattr(qtlatlas.demo, "generate_demo", generate)
    assert main(["demo", "--out", str(tmp_path / "demo"), "--port", str(taken_port), "--no-serve"]) == 2
    assert "generation reached" in capsys.readouterr().err


def test_check_port_accepts_a_free_port_and_rejects_out_of_range():
    serve_module.check_port("127.0.0.1", _free_port())
    with pytest.raises(QtlAtlasError, match="1–65535"):
        serve_module.check_port("127.0.0.1", 70000)


async def _tiny_app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def tiny_app():
    return _tiny_app


def _as_the_cli(fn, *args):
    """``fn(*args)`` on a thread of its own, without an event loop, as the command runs: the browser tests of
    the same session keep Playwright's loop running on the main thread, where uvicorn could not start one."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn, *args).result()


def test_serving_is_printed_once_the_server_listens(monkeypatch):
    import uvicorn

    port = _free_port()
    printed = []

    def record(message, **kwargs):
        try:  # the socket listens: a connection is accepted by the kernel even before the loop serves it
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
            listening = True
        except OSError:
            listening = False
        printed.append((message, listening))

    async def no_main_loop(self):  # shut down as soon as started
        return None

    monkeypatch.setattr(serve_module.console, "print", record)
    monkeypatch.setattr(uvicorn.Server, "main_loop", no_main_loop)
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    _as_the_cli(serve_module.serve_app, "test_first_run:tiny_app", "127.0.0.1", port, 1, "Serving the tiny site")
    assert printed == [("Serving the tiny site", True)]


def test_a_port_taken_after_the_check_is_reported_without_serving(monkeypatch, taken_port):
    printed = []
    monkeypatch.setattr(serve_module.console, "print", lambda m, **k: printed.append(m))
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    with pytest.raises(QtlAtlasError, match=f"127.0.0.1:{taken_port}"):
        _as_the_cli(serve_module.serve_app, "test_first_run:tiny_app", "127.0.0.1", taken_port, 1,
                    "Serving the tiny site")
    assert printed == []


def _script(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


def test_hint_names_the_running_script_when_path_finds_another(tmp_path, monkeypatch):
    running = _script(tmp_path / "venv" / "bin" / "qtlatlas")
    other = _script(tmp_path / "elsewhere" / "qtlatlas")
    monkeypatch.setattr(sys, "argv", [str(running), "demo"])
    monkeypatch.setattr(console_module.shutil, "which", lambda name: None)
    assert console_module.command_name() == str(running)
    monkeypatch.setattr(console_module.shutil, "which", lambda name: str(other))
    assert console_module.command_name() == str(running)
    monkeypatch.setattr(console_module.shutil, "which", lambda name: str(running))
    assert console_module.command_name() == "qtlatlas"


def test_hint_from_a_relative_script_path_is_absolute(tmp_path, monkeypatch):
    _script(tmp_path / ".venv" / "bin" / "qtlatlas")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", [".venv/bin/qtlatlas", "demo"])
    monkeypatch.setattr(console_module.shutil, "which", lambda name: None)
    assert console_module.command_name() == str(tmp_path / ".venv" / "bin" / "qtlatlas")


def test_hint_when_not_run_by_the_script(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["python"])
    beside = Path(sys.executable).parent / "qtlatlas"
    monkeypatch.setattr(console_module.shutil, "which", lambda name: str(beside) if beside.is_file() else None)
    assert console_module.command_name() == "qtlatlas"


LONG_TISSUE = "Adipose_visceral_omentum_with_a_long_name"


def _summary_table(tmp_path: Path) -> Table:
    work = tmp_path / "work"
    for modality in ("expression", "alternative_polyadenylation"):
        d = work / "v1" / LONG_TISSUE / modality
        d.mkdir(parents=True, exist_ok=True)
        (d / "summary.json").write_text(json.dumps({"tissue": LONG_TISSUE, "modality": modality, "samples": 412,
                                                    "tested": 123456, "significant": 4567, "independent": 5678}))
    return _run_summary(SimpleNamespace(tasks=[]), work, "v1")


def test_summary_table_is_not_cut_when_not_a_terminal(tmp_path):
    buf = io.StringIO()
    target = Console(file=buf, width=80, highlight=False)
    assert not target.is_terminal
    cut = io.StringIO()
    Console(file=cut, width=80).print(_summary_table(tmp_path))
    assert LONG_TISSUE not in cut.getvalue()  # what rich does at 80 columns
    console_module.print_wide(_summary_table(tmp_path), target)
    text = buf.getvalue()
    assert LONG_TISSUE in text and "alternative_polyadenylation" in text and "123,456" in text
    assert "…" not in text
    assert target.width == 80


def test_summary_table_fits_a_terminal(tmp_path):
    buf = io.StringIO()
    target = Console(file=buf, width=80, force_terminal=True, color_system=None)
    console_module.print_wide(_summary_table(tmp_path), target)
    assert max(len(line) for line in buf.getvalue().splitlines()) <= 80
