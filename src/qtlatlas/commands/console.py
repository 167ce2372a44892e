"""Consoles and exit statuses shared by the commands."""

from rich.console import Console

EXIT_INPUT_ERROR = 2
EXIT_INTERNAL_ERROR = 3

err_console = Console(stderr=True, highlight=False, soft_wrap=True)
console = Console(highlight=False)
