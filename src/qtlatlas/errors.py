"""User-facing errors.

Every problem caused by the user's input (a missing file, a malformed line, an inconsistent
configuration) is raised as a :class:`QtlAtlasError` subclass whose message names the file and line,
or the YAML path, at fault. The command line prints these messages without a traceback and exits with
a non-zero status; anything else is a bug in qtlatlas.
"""

from __future__ import annotations

from os import PathLike


class QtlAtlasError(Exception):
    """Base class for errors the user can fix by changing their input or options."""


class InputFileError(QtlAtlasError):
    """A file is missing, unreadable or malformed.

    The message reads ``{path}[:{line}]: {problem}`` so that editors and terminals can jump to it.
    ``line`` is 1-based and counts every physical line of the file, header included.
    """

    def __init__(self, path: str | PathLike[str], problem: str, line: int | None = None):
        self.path = str(path)
        self.line = line
        self.problem = problem
        where = self.path if line is None else f"{self.path}:{line}"
        super().__init__(f"{where}: {problem}")


class ConfigError(QtlAtlasError):
    """The atlas configuration is invalid; ``location`` is a YAML path such as ``releases[0].tissues.BLA``."""

    def __init__(self, location: str, problem: str, source: str | None = None):
        self.location = location
        self.problem = problem
        self.source = source
        prefix = f"{source}: " if source else ""
        super().__init__(f"{prefix}{location}: {problem}" if location else f"{prefix}{problem}")


class InvalidRegionError(QtlAtlasError, ValueError):
    """A region string that is not ``CHROM``, ``CHROM:POS`` or ``CHROM:START-END``."""


class SampleMismatchError(QtlAtlasError):
    """Sample ids of two inputs that must agree do not."""


def require_file(path: str | PathLike[str], what: str = "file") -> None:
    """Raise :class:`InputFileError` unless ``path`` is an existing regular file."""
    import os

    if not os.path.exists(path):
        raise InputFileError(path, f"{what} not found")
    if not os.path.isfile(path):
        raise InputFileError(path, f"{what} is not a regular file")
