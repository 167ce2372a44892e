"""Live progress display of a run (rich): an overall bar, the running tasks, a line per failure."""

from __future__ import annotations

import time
from typing import Any


class NullProgress:
    """Prints nothing (``progress=False``)."""

    def __enter__(self) -> NullProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def started(self, task_id: str, label: str) -> None:
        return None

    def finished(
        self, task_id: str, status: str, log_path: str | None = None, error: str | None = None
    ) -> None:
        return None


class RichProgress(NullProgress):
    """Overall bar ``finished (incl. up to date) / total`` above a list of running tasks with their
    elapsed time; each failure is printed once, with its log path, above the live area."""

    def __init__(self, total: int, console: Any = None, max_rows: int = 20):
        from rich.console import Console, Group
        from rich.live import Live
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
        from rich.table import Table

        self._Table = Table
        self._Group = Group
        self.console = console if console is not None else Console(stderr=True)
        self._bar = Progress(
            TextColumn("[bold]tasks"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            console=self.console,
        )
        self._overall = self._bar.add_task("tasks", total=total, detail="")
        self._running: dict[str, tuple[str, float]] = {}
        self._counts = {"done": 0, "skipped": 0, "failed": 0, "blocked": 0}
        self._max_rows = max_rows
        self._live = Live(self, console=self.console, refresh_per_second=4, transient=False)

    def __rich__(self):
        table = self._Table.grid(padding=(0, 2))
        now = time.monotonic()
        rows = sorted(self._running.values(), key=lambda r: r[1])
        for label, t0 in rows[: self._max_rows]:
            table.add_row("[cyan]running[/]", label, f"{now - t0:7.1f} s")
        if len(rows) > self._max_rows:
            table.add_row("", f"... and {len(rows) - self._max_rows} more", "")
        return self._Group(self._bar, table)

    def __enter__(self) -> RichProgress:
        self._live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._running.clear()
        self._live.stop()

    def started(self, task_id: str, label: str) -> None:
        self._running[task_id] = (label, time.monotonic())

    def finished(
        self, task_id: str, status: str, log_path: str | None = None, error: str | None = None
    ) -> None:
        label, _ = self._running.pop(task_id, (task_id, 0.0))
        self._counts[status] = self._counts.get(status, 0) + 1
        c = self._counts
        detail = f"{c['done']} run, {c['skipped']} up to date"
        if c["failed"] or c["blocked"]:
            detail += f", [red]{c['failed']} failed, {c['blocked']} blocked[/]"
        self._bar.update(self._overall, advance=1, detail=detail)
        if status == "failed":
            self.console.print(f"[red]FAILED[/] {label}: {error or ''}  (log: {log_path})", highlight=False)


def make_progress(enabled: bool, total: int, console: Any = None) -> NullProgress:
    return RichProgress(total, console) if enabled else NullProgress()
