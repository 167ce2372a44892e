"""Study publishing: ``SITE/studies/<study>/`` holds the study's files copied verbatim, ``study.json``
(its metadata from ``atlas.yaml``) and its own ``MANIFEST.tsv``.

Studies are immutable: a study is published once (built in a temporary directory and renamed into
place). Publishing again is a no-op when every file is identical, and an error when any differs.
"""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path

from ..config import Atlas, Study
from ..errors import InputFileError, QtlAtlasError
from .layout import STUDY_JSON, study_dir
from .manifest import read_manifest, sha256_file, verify_directory, write_manifest
from .metadata import _jsonable, write_json


def _study_json(study: Study) -> dict:
    data = study.model_dump(mode="json")
    data["files"] = [{"name": Path(f.path).name, "description": f.description} for f in study.files]
    return data


def _expected(study: Study) -> dict[str, Path]:
    files: dict[str, Path] = {}
    for f in study.files:
        name = Path(f.path).name
        if name in files or name == STUDY_JSON:
            raise QtlAtlasError(f"study {study.id}: two files would be published as {name!r}; rename one")
        if not Path(f.path).is_file():
            raise InputFileError(f.path, f"file of study {study.id} not found")
        files[name] = Path(f.path)
    return files


def publish_study(study: Study, site: str | os.PathLike[str]) -> Path:
    """Publish one study (see the module docstring); returns ``SITE/studies/<id>``."""
    target = study_dir(site, study.id)
    files = _expected(study)
    if target.exists():
        _check_identical(study, target, files)
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in target.parent.glob(f".{study.id}.building-*"):
        shutil.rmtree(stale, ignore_errors=True)
    tmp = target.parent / f".{study.id}.building-{os.getpid()}-{secrets.token_hex(4)}"
    tmp.mkdir()
    try:
        descriptions = {}
        for name, src in files.items():
            shutil.copyfile(src, tmp / name)
            desc = next(f.description for f in study.files if Path(f.path).name == name)
            descriptions[name] = (desc or "study file", "study")
        write_json(_study_json(study), tmp / STUDY_JSON)
        descriptions[STUDY_JSON] = (f"metadata of study {study.id}", "metadata")
        write_manifest(tmp, descriptions)
        os.rename(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def _check_identical(study: Study, target: Path, files: dict[str, Path]) -> None:
    problems = verify_directory(target)
    if problems:
        raise QtlAtlasError(f"study {study.id} in {target} is damaged: {problems[0]}")
    published = {r["path"]: r["sha256"] for r in read_manifest(target)}
    differ = []
    for name, src in files.items():
        if published.get(name) != sha256_file(src):
            differ.append(name)
    extra = [p for p in published if p not in files and p != STUDY_JSON]
    import json

    if json.loads((target / STUDY_JSON).read_text()) != _jsonable(_study_json(study)):
        differ.append(STUDY_JSON)
    if differ or extra:
        what = ", ".join(differ + [f"{p} (no longer listed)" for p in extra])
        raise QtlAtlasError(
            f"study {study.id} is already published in {target} and differs from atlas.yaml ({what}); "
            "studies are immutable: publish the changed files as a new study"
        )


def publish_studies(atlas: Atlas, site: str | os.PathLike[str]) -> list[Path]:
    """Publish every study of the atlas (see :func:`publish_study`); returns their directories."""
    return [publish_study(s, site) for s in atlas.studies]
