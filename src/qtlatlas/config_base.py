"""What every part of the ``atlas.yaml`` model shares: the base model (unknown keys refused, values frozen,
surrounding whitespace stripped) and the rule for identifiers."""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

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


class Embargo(ConfigModel):
    """``visibility: {embargoed_until: 2027-03-01}``: private before that date (UTC), public from it on."""

    embargoed_until: dt.date


#: ``visibility:`` of a release, tissue, study or TWAS trait (see :mod:`qtlatlas.access.policy`).
Visibility = Literal["public", "private"] | Embargo
VISIBILITY_HELP = ("public (default), private (only holders of a token with this item's scope), or "
                   "{embargoed_until: YYYY-MM-DD} (private until that date, public from it on, without a rebuild)")
