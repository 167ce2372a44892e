"""Consoles, exit statuses and printing helpers shared by the commands."""

import shlex
import shutil
import sys
from pathlib import Path

from rich.console import Console, RenderableType

EXIT_INPUT_ERROR = 2
EXIT_INTERNAL_ERROR = 3

err_console = Console(stderr=True, highlight=False, soft_wrap=True)
console = Console(highlight=False)


def print_wide(renderable: RenderableType, target: Console | None = None) -> None:
    """Print a table on ``target`` (default: the standard-output console). On a terminal it fits the terminal; in
    a file or a pipe it is printed at its natural width, never cut to 80 columns, so that logs hold whole ids."""
    from rich.measure import Measurement

    target = target or console
    if target.is_terminal:
        target.print(renderable)
        return
    natural = Measurement.get(target, target.options.update_width(100_000), renderable).maximum
    width = target.width
    target.width = max(width, natural)
    try:
        target.print(renderable)
    finally:
        target.width = width


def command_name() -> str:
    """``qtlatlas`` as it can be typed to run this installation: ``qtlatlas`` when that is what PATH finds, else the
    path of the running console script (``.venv/bin/qtlatlas`` when run by ``make demo``)."""
    script = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if script is None or script.name != "qtlatlas" or not script.is_file():
        script = Path(sys.executable).parent / "qtlatlas"  # run as a library or by ``python -m``
    on_path = shutil.which("qtlatlas")
    if not script.is_file():
        return "qtlatlas"
    if on_path is not None and Path(on_path).resolve() == script.resolve():
        return "qtlatlas"
    return shlex.quote(str(script.absolute()))


class ProgressBars:
    """Progress bars on stderr for long work: ``with ProgressBars() as progress:`` then
    ``advance = progress(description, total)`` and ``advance(n)`` as items finish (an unknown or zero
    ``total`` shows an indeterminate bar). ``unit`` is accepted for callers that pass one; it is not shown."""

    def __enter__(self):
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._bars = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                              TimeElapsedColumn(), TimeRemainingColumn(), console=err_console, transient=False)
        self._bars.__enter__()
        return self

    def __call__(self, description: str, total: int, unit: int = 1):
        task = self._bars.add_task(description, total=total or None)
        return lambda n: self._bars.advance(task, n)

    def __exit__(self, *exc):
        return self._bars.__exit__(*exc)
