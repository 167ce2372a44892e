"""How ``atlas.yaml`` reports where a problem is: YAML paths (``releases[0].tissues.BLA``), the line of an
entry, validation errors turned into one :class:`~qtlatlas.errors.ConfigError`, and relative paths resolved
against the file's directory. The models themselves are in :mod:`qtlatlas.config`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from .errors import ConfigError


class LocatedError(ValueError):
    """A cross-reference error with the YAML location it belongs to."""

    def __init__(self, loc: tuple[str | int, ...], message: str):
        super().__init__(message)
        self.loc = loc
        self.message = message


def format_location(loc: tuple[str | int, ...]) -> str:
    """``('releases', 0, 'tissues', 'BLA')`` -> ``'releases[0].tissues.BLA'``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def node_line(root: yaml.Node | None, loc: tuple[str | int, ...]) -> int | None:
    """1-based line of the YAML entry at ``loc`` (the key's line for a mapping entry), or of its deepest
    existing ancestor when the location does not exist in the file (e.g. a missing key)."""
    node = root
    line = None if root is None else root.start_mark.line + 1
    for part in loc:
        nxt = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == str(part):
                    nxt, line = value, key.start_mark.line + 1
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            nxt = node.value[part]
            line = nxt.start_mark.line + 1
        if nxt is None:
            break
        node = nxt
    return line


def resolve_paths(obj: Any, base: Path) -> Any:
    """Return a copy of a model tree with every relative :class:`Path` made relative to ``base``."""
    if isinstance(obj, Path):
        return obj if obj.is_absolute() else base / obj
    if isinstance(obj, BaseModel):
        updates = {name: resolve_paths(getattr(obj, name), base) for name in type(obj).model_fields}
        copy = obj.model_copy(update=updates)
        # which keys the file set stays as parsed (model_copy counts every updated key as set): settings
        # given explicitly are told apart from defaults by it (e.g. mapping.genotype_pcs)
        object.__setattr__(copy, "__pydantic_fields_set__", set(obj.model_fields_set))
        return copy
    if isinstance(obj, list):
        return [resolve_paths(x, base) for x in obj]
    if isinstance(obj, dict):
        return {k: resolve_paths(v, base) for k, v in obj.items()}
    return obj


def config_error(e: ValidationError, root: yaml.Node | None, source: str) -> ConfigError:
    messages = []
    first_line = None
    for err in e.errors():
        ctx_error = (err.get("ctx") or {}).get("error")
        if isinstance(ctx_error, LocatedError):
            loc, msg = ctx_error.loc, ctx_error.message
        else:
            loc = tuple(err["loc"])
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown key (check its spelling)"
            elif err["type"] == "missing":
                msg = "required key is missing"
        line = node_line(root, loc)
        first_line = first_line or line
        prefix = f"line {line}: " if line else ""
        messages.append(f"{prefix}{format_location(loc) or '(top level)'}: {msg}")
    where = f"{source}:{first_line}" if first_line else source
    if len(messages) == 1:
        loc_msg = messages[0].split(": ", 1)[1] if messages[0].startswith("line ") else messages[0]
        location, _, problem = loc_msg.partition(": ")
        return ConfigError(location, problem, source=where)
    return ConfigError("", f"{len(messages)} problems:\n  " + "\n  ".join(messages), source=source)
