"""Errors of the store layer: what the portal turns into 404 (:class:`NotFound`) and 400 (:class:`BadQuery`)."""

from __future__ import annotations

from ..errors import QtlAtlasError


class StoreError(QtlAtlasError):
    """Base class of the errors raised by :mod:`qtlatlas.store`."""


class NotFound(StoreError, LookupError):
    """An unknown release, gene, variant, phenotype, tissue, modality or study.

    ``what`` is the kind of thing looked up (``"gene"``, ``"variant"``…), ``key`` the value asked for, and
    ``suggestions`` (genes and variants) close matches the user may have meant.
    """

    def __init__(self, what: str, key: object, suggestions: list[str] | None = None, detail: str | None = None):
        self.what = what
        self.key = key
        self.suggestions = list(suggestions or [])
        shown = str(key)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        msg = f"{what} {shown!r} not found"
        if detail:
            msg += f" {detail}"
        if self.suggestions:
            msg += "; did you mean " + ", ".join(self.suggestions[:5]) + "?"
        super().__init__(msg)


class BadQuery(StoreError, ValueError):
    """An invalid query parameter; ``param`` names it and the message says what is allowed."""

    def __init__(self, param: str, problem: str):
        self.param = param
        self.problem = problem
        super().__init__(f"{param}: {problem}")
