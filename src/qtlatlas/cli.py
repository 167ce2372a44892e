"""The ``qtlatlas`` command line.

Every subcommand has ``--help``. Errors in the user's input are printed as one clear message (file and
line, or YAML path) without a traceback, with exit status 2; ``--debug`` shows the traceback of
unexpected errors.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from . import __version__
from .commands.coloc import _add_coloc
from .commands.console import EXIT_INPUT_ERROR, EXIT_INTERNAL_ERROR, err_console
from .commands.demo import _add_demo
from .commands.importing import _add_import
from .commands.mapping import _add_map, _add_prepare
from .commands.pipeline import _add_build, _add_errata, _add_run, _add_verify
from .commands.serve import _add_serve
from .commands.tokens import _add_tokens
from .commands.twas import _add_twas
from .commands.validate import _add_validate
from .errors import QtlAtlasError

# --------------------------------------------------------------------------------------------------
# entry point
# --------------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qtlatlas",
        description="Build, publish and serve multi-tissue molecular-QTL atlases.",
    )
    parser.add_argument("--version", action="version", version=f"qtlatlas {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of unexpected errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in COMMANDS:
        add(sub)
    return parser


COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_import, _add_validate, _add_prepare, _add_map, _add_run, _add_build, _add_verify, _add_errata, _add_serve, _add_demo,
    _add_twas, _add_coloc, _add_tokens,
]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 success, 2 bad input, 3 internal error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except QtlAtlasError as e:
        err_console.print(f"[red]error:[/] {e}", soft_wrap=True)
        return EXIT_INPUT_ERROR
    except KeyboardInterrupt:
        err_console.print("[red]interrupted[/]")
        return 130
    except Exception as e:  # a bug in qtlatlas: say so without dumping a traceback unless asked
        if args.debug:
            raise
        err_console.print(
            f"[red]internal error:[/] {type(e).__name__}: {e}\n"
            "This is a bug in qtlatlas; run again with --debug for the traceback and report it.",
            soft_wrap=True,
        )
        return EXIT_INTERNAL_ERROR


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
