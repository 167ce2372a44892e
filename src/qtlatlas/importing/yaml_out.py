"""Writing the ``atlas.yaml`` of an import: paths relative to the file, a header saying where it came from."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from ..config import parse_atlas
from ..errors import QtlAtlasError


def relative(path: str | os.PathLike[str], base: Path) -> str:
    """``path`` relative to ``base`` (the directory of the YAML file) when it lies below ``base`` or its parent,
    else absolute (a path climbing further would break when the YAML file moves)."""
    absolute = os.path.abspath(path)
    try:
        rel = os.path.relpath(absolute, base)
    except ValueError:  # another drive
        return absolute
    return absolute if rel.startswith(os.path.join(os.pardir, os.pardir)) else rel


def write_atlas_yaml(data: dict, out: Path, header: str, *, overwrite: bool = False) -> Path:
    """Validate ``data`` as an atlas configuration and write it to ``out`` with ``header`` as a comment.

    Raises:
        QtlAtlasError: ``out`` exists and ``overwrite`` is False, or the configuration does not validate.
    """
    out = Path(out)
    if out.exists() and not overwrite:
        raise QtlAtlasError(f"{out}: already exists (pass --force to overwrite it)")
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=120)
    parse_atlas(text, source=str(out), base_dir=out.resolve().parent)  # the file must load as written
    comment = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines())
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    tmp.write_text(comment + text, encoding="utf-8")
    os.replace(tmp, out)
    return out
