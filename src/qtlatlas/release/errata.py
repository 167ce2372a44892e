"""Errata: corrections to a published release, kept outside the immutable release directory.

``SITE/errata/<release>.tsv`` has a header ``date<TAB>text`` and one line per erratum, appended by
:func:`add_erratum`. The release's own files (and its manifest) are never touched.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
from pathlib import Path

from ..errors import QtlAtlasError
from .layout import errata_file, release_dir

ERRATA_COLUMNS = ("date", "text")


def add_erratum(site: str | os.PathLike[str], release_id: str, text: str, date: dt.date | None = None) -> Path:
    """Append an erratum to ``SITE/errata/<release>.tsv`` and return that path.

    Raises:
        QtlAtlasError: the release is not published in ``site``, or ``text`` is empty.
    """
    if not (release_dir(site, release_id)).is_dir():
        raise QtlAtlasError(f"release {release_id} is not published in {release_dir(site, release_id)}; "
                            "errata can only be recorded for a published release")
    clean = " ".join(str(text).split())
    if not clean:
        raise QtlAtlasError("an erratum needs a text")
    day = (date or dt.datetime.now(dt.UTC).date()).isoformat()
    path = errata_file(site, release_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists() or path.stat().st_size == 0
    line = ("\t".join(ERRATA_COLUMNS) + "\n" if new else "") + f"{day}\t{clean}\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)
    return path


def read_errata(site: str | os.PathLike[str], release_id: str) -> list[dict[str, str]]:
    """Errata of a release, oldest first (``[]`` when none)."""
    path = errata_file(site, release_id)
    if not path.exists():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))
