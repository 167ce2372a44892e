"""Where the weights of a prediction come from (for :mod:`.predict`): a release's TWAS tables
(:func:`release_panels`) or FUSION ``.pos`` / ``.wgt.RDat`` files (:func:`file_panels`), and the cohort's sample
ids checked (:func:`check_samples`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from ..errors import ConfigError, InputFileError, QtlAtlasError
from .fusion_io import TwasModel
from .predict_summary import preview_ids

# ----------------------------------------------------------------------------------------------------------
# Weights sources
# ----------------------------------------------------------------------------------------------------------


def release_panels(site: str | os.PathLike[str], release: str, *, tissues: Sequence[str] | None = None,
                   modalities: Sequence[str] | None = None,
                   panels: Sequence[str] | None = None) -> Iterator[tuple[str, list[TwasModel]]]:
    """(panel, models) of each TWAS weights panel of a built release (``tables/twas_models.parquet`` and
    ``tables/twas_weights.parquet``), restricted to ``tissues``/``modalities``/``panels`` when given; one
    panel's weights are read at a time.

    Raises:
        InputFileError: the release is missing, has no TWAS tables, or no panel is selected.
    """
    import pyarrow.parquet as pq

    from ..release import layout
    from .fusion_io import PROFILE_COLUMNS, WEIGHT_COLUMNS, models_from_tables

    rdir = layout.release_dir(site, release)
    if not rdir.is_dir():
        raise InputFileError(rdir, f"no release {release!r} in site {site}")
    mpath, wpath = rdir / layout.table_path("twas_models"), rdir / layout.table_path("twas_weights")
    for p in (mpath, wpath):
        if not p.is_file():
            raise InputFileError(p, f"release {release} has no TWAS weights (built without TWAS)")
    profile = pq.read_table(mpath).to_pandas()
    selected = profile
    for column, wanted, flag in (("tissue", tissues, "--tissue"), ("modality", modalities, "--modality"),
                                 ("panel", panels, "--panel")):
        if wanted:
            unknown = sorted(set(wanted) - set(profile[column].astype(str)))
            if unknown:
                raise ConfigError(flag, f"{', '.join(unknown)} not among the {column}s of release {release}'s TWAS "
                                        f"panels ({', '.join(sorted(set(profile[column].astype(str))))})")
            selected = selected[selected[column].astype(str).isin(list(wanted))]
    names = list(dict.fromkeys(selected["panel"].astype(str)))
    if not names:
        raise ConfigError("--panel", f"no TWAS panel of release {release} matches the selection")
    for name in names:
        prof = selected[selected["panel"].astype(str) == name]
        prof = prof[[c for c in PROFILE_COLUMNS if c in prof.columns]]
        wt = pq.read_table(wpath, columns=list(WEIGHT_COLUMNS), filters=[("panel", "=", name)]).to_pandas()
        yield name, models_from_tables(prof, wt, mpath, wpath)


def file_panels(weights: str, weights_dir: str | None = None,
                panels: Sequence[str] | None = None) -> Iterator[tuple[str, list[TwasModel]]]:
    """(panel, models) of a FUSION ``.pos`` (models grouped by its PANEL column, else one panel named after the
    file) or of a Parquet panel directory (``twas_weights.parquet`` + ``twas_profile.parquet``)."""
    from .fusion_io import PROFILE_FILE, WEIGHTS_FILE, is_parquet_panel, read_fusion_panel, read_parquet_panel

    if is_parquet_panel(weights):
        models = read_parquet_panel(weights, panels=panels)
        default = Path(weights).name
    elif os.path.isdir(weights):
        raise InputFileError(weights, f"is a directory without {WEIGHTS_FILE} and {PROFILE_FILE}; give a FUSION "
                                      ".pos file, a Parquet panel directory, or --site and --release")
    else:
        models = read_fusion_panel(weights, weights_dir)
        default = Path(weights).name.removesuffix(".pos")
        if panels:
            models = [m for m in models if (m.panel or default) in set(panels)]
    groups: dict[str, list[TwasModel]] = {}
    for m in models:
        groups.setdefault(m.panel or default, []).append(m)
    if not groups:
        raise InputFileError(weights, "lists no models" + (" of the selected panels" if panels else ""))
    yield from groups.items()


def check_samples(samples: Sequence[str], path: str) -> None:
    """Refuse a cohort with duplicated or empty individual ids (the output needs one row per individual)."""
    seen, dups = set(), []
    for s in samples:
        if s in seen:
            dups.append(s)
        seen.add(s)
    if dups:
        raise InputFileError(path, f"individual id(s) appear more than once: {preview_ids(list(dict.fromkeys(dups)))}")
    if not samples:
        raise InputFileError(path, "the genotypes list no individuals")
    if any(not str(s) for s in samples):
        raise QtlAtlasError(f"{path}: an individual has an empty id")
