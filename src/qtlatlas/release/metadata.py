"""``release.json`` (what a release is and how it was made) and ``SITE/atlas.json`` (the atlas itself).

The portal's About/Methods page is generated from ``release.json``; ``atlas.json`` describes the atlas
(name, contact, data access, every tissue and modality defined) and is rewritten at each build.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from collections.abc import Iterable
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

from ..access.policy import ItemAccess, access_metadata
from ..config import Atlas, Release
from .manifest import sha256_file

RELEASE_JSON_VERSION = 1


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, (dt.date, dt.datetime)):
        return obj.isoformat()
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    return obj


def write_json(data: dict[str, Any], path: str | os.PathLike[str], *, atomic: bool = False) -> Path:
    """Write ``data`` as indented JSON; ``atomic`` writes a temporary file and renames it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(_jsonable(data), indent=2, ensure_ascii=False) + "\n"
    if not atomic:
        path.write_text(text)
        return path
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def software_versions() -> dict[str, str]:
    """Versions of qtlatlas and of the numerical libraries that shaped the results."""
    from .. import __version__

    out = {"qtlatlas": __version__}
    for pkg in ("numpy", "scipy", "pandas", "pyarrow"):
        try:
            out[pkg] = importlib_metadata.version(pkg)
        except importlib_metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def mapped_input(tissue: str, modality: str, inp, covariates: Path | None, imported: bool,
                 design: Path | None = None) -> dict[str, Any]:
    """How one tissue × modality was mapped, for ``release.json``'s ``inputs`` (the Methods page):
    ``phenotypes`` (``normalised`` by qtlatlas, ``as_given`` when the BED was declared normalised,
    ``imported`` results, or ``concatenated`` modalities for cross-modality; ``normalised`` ones add
    ``normalization``: quantile, tmm or rank), ``covariates`` (the names in the
    covariates file ``qtlatlas run`` wrote) and ``lab_covariates`` (those of them from the entry's own covariates
    file; the others were computed). Both None for imported results, whose files may have other layouts. With
    the prepare task's ``design`` (``covariates.json``), ``lab_pcs``: kind -> the lab's covariates that were
    taken for PCs of that kind, so that none was computed (:attr:`~qtlatlas.mapping.covariate_design.
    CovariateDesign.lab_pcs`)."""
    from ..io.covariates import read_covariates

    if imported:
        kind = "imported"
    elif inp is None:
        kind = "concatenated"
    else:
        kind = "as_given" if inp.normalised else "normalised"
    names = lab = None
    if covariates is not None and not imported:
        names = [str(n) for n in read_covariates(covariates, allow_empty=True).index]
        own = set(read_covariates(inp.covariates).index) if inp is not None and inp.covariates else set()
        lab = [n for n in names if n in own]
    out = {"tissue": tissue, "modality": modality, "phenotypes": kind, "covariates": names, "lab_covariates": lab}
    if kind == "normalised":
        out["normalization"] = inp.normalization
    if design is not None and not imported:
        lab_pcs = json.loads(Path(design).read_text()).get("lab_pcs") or {}
        if lab_pcs:
            out["lab_pcs"] = lab_pcs
    return out


def release_metadata(atlas: Atlas, release: Release, tissue_modalities: Iterable[tuple[str, str]],
                     counts: dict[str, Any] | None = None, inputs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The content of ``release.json``; ``inputs``: how each tissue × modality was mapped (:func:`mapped_input`)."""
    pairs = list(tissue_modalities)
    tissues = list(dict.fromkeys(t for t, _ in pairs))
    modalities = list(dict.fromkeys(m for _, m in pairs))
    modality_info = []
    for m in modalities:
        try:
            mod = atlas.modality(m)
            modality_info.append({"id": mod.id, "name": mod.name, "grouped": mod.grouped,
                                  "description": mod.description, "unit": release.unit(mod.id)})
        except KeyError:  # cross_modality
            modality_info.append({"id": m, "name": m.replace("_", " ").capitalize(), "grouped": True,
                                  "description": "all modalities of a tissue mapped together, grouped by gene"})
    return {
        "format_version": RELEASE_JSON_VERSION,
        "id": release.id,
        "genome": release.genome,
        "annotation": _annotation_info(release.annotation),
        "genotypes": [Path(p).name for p in release.genotypes],
        "dataset_id": release.dataset_id or release.id,
        "date": (release.date or dt.datetime.now(dt.UTC).date()).isoformat(),
        "notes": release.notes,
        "tissues": [{"id": t, "name": atlas.tissue(t).name, "colour": atlas.tissue(t).colour,
                     "modalities": [m for tt, m in pairs if tt == t]} for t in tissues],
        "modalities": modality_info,
        "mapping": atlas.mapping.model_dump(mode="json"),
        "finemapping": atlas.finemapping.model_dump(mode="json"),
        "inputs": inputs or [],
        "software": software_versions(),
        "counts": counts or {},
        "built_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
    }


def _annotation_info(spec) -> dict[str, Any]:
    """``file`` and ``sha256`` of the annotation (its first file), and ``files`` when it has several (gene and
    exon tables)."""
    from ..io.annotation import annotation_files

    files = annotation_files(spec)
    info: dict[str, Any] = {"file": Path(files[0]).name, "sha256": sha256_file(files[0])}
    if len(files) > 1:
        info["files"] = [{"file": Path(f).name, "sha256": sha256_file(f)} for f in files]
    return info


def atlas_metadata(atlas: Atlas) -> dict[str, Any]:
    """The content of ``SITE/atlas.json`` (``access``: the visibility, citation and data-use texts of every
    release, tissue, study and TWAS trait that has any; see :mod:`qtlatlas.access.policy`)."""
    return {
        "atlas": atlas.atlas.model_dump(mode="json"),
        "data_access": atlas.data_access.model_dump(mode="json"),
        "tissues": [t.model_dump(mode="json") for t in atlas.tissues],
        "modalities": [m.model_dump(mode="json") for m in atlas.all_modalities],
        "releases": [r.id for r in atlas.releases],
        "studies": [s.id for s in atlas.studies],
        "links": atlas.links.model_dump(mode="json"),
        "access": access_metadata({
            "release": [(r.id, ItemAccess.from_config(r.visibility, r.citation, r.data_use)) for r in atlas.releases],
            "tissue": [(t.id, ItemAccess.from_config(t.visibility, t.citation, t.data_use)) for t in atlas.tissues],
            "study": [(s.id, ItemAccess.from_config(s.visibility, s.citation, s.data_use)) for s in atlas.studies],
            "trait": [(t.id, ItemAccess.from_config(t.visibility, t.citation, t.data_use)) for t in atlas.twas.traits],
        }),
    }
