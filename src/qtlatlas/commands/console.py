"""Consoles and exit statuses shared by the commands."""

from rich.console import Console

EXIT_INPUT_ERROR = 2
EXIT_INTERNAL_ERROR = 3

err_console = Console(stderr=True, highlight=False, soft_wrap=True)
console = Console(highlight=False)


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
