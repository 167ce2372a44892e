"""What every part of the ``atlas.yaml`` model shares: the base model (unknown keys refused, values frozen,
surrounding whitespace stripped) and the rule for identifiers."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict

#: Identifiers that end up in file names and URLs: letters, digits, ``_`` and ``-`` (no dots: dots
#: separate the parts of release file names).
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]*$"
_ID = re.compile(ID_PATTERN)


class ConfigModel(BaseModel):
    """Base of every atlas.yaml model: unknown keys are errors (typos are caught), values are frozen."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


def check_id(value: str, what: str) -> str:
    """``value`` when it is a valid identifier (:data:`ID_PATTERN`); ValueError naming ``what`` otherwise."""
    if not _ID.match(value):
        raise ValueError(
            f"{what} id {value!r} may contain only letters, digits, '_' and '-', and must start with a letter or digit"
        )
    return value
