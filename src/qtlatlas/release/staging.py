"""Staging a release build: the temporary directory a release is built in (``SITE/releases/.<id>.building-*``),
removing those of builds that died, and refusing to overwrite a published release."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from ..errors import QtlAtlasError
from . import layout


def already_published(site: Path, release_id: str) -> QtlAtlasError:
    return QtlAtlasError(
        f"release {release_id} is already published in {layout.release_dir(site, release_id)}; releases are "
        "immutable: record a correction with `qtlatlas errata` or build a new release"
    )


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_builds(site: str | os.PathLike[str], release_id: str) -> list[Path]:
    """Delete ``SITE/releases/.<id>.building-*`` directories left by builds that are no longer running."""
    removed = []
    prefix = layout.building_prefix(release_id)
    root = layout.releases_dir(site)
    if not root.is_dir():
        return removed
    for p in root.iterdir():
        if not p.name.startswith(prefix):
            continue
        pid_text = p.name[len(prefix):].split("-", 1)[0]
        if pid_text.isdigit() and _pid_alive(int(pid_text)):
            continue
        shutil.rmtree(p, ignore_errors=True)
        removed.append(p)
    return removed
