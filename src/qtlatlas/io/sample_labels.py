"""RNA sample ids that differ from genotype ids: a phenotype BED's columns renamed to the individuals they
were taken from, as mapping needs (the genotypes name individuals).

A release's ``samples`` table (``sample_id``, ``individual_id``, ``tissue``) says which individual each RNA
sample is; :func:`sample_individuals` gives, for one tissue, the sample ids whose individual id differs, and
:func:`relabel` renames a table's columns with it. Columns that are not sample ids of the tissue are kept
(they are individual ids already). Two columns of one individual in one tissue are refused: a tissue maps
one sample per individual.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from functools import lru_cache

import pandas as pd

from ..errors import SampleMismatchError, require_file
from .phenotypes import PhenotypeTable
from .sample_metadata import SAMPLE_REQUIRED, read_text_table


def sample_individuals(samples: str | os.PathLike[str] | None, tissue: str,
                       columns: Sequence[str] | None = None) -> dict[str, str]:
    """``sample_id -> individual_id`` of ``tissue``'s rows of the samples table whose two ids differ ({}
    without a table or when every sample is named by its individual); with ``columns`` (a BED's sample
    columns) only the sample ids among them. The table is read once per version of the file (plan, validate
    and build ask once per tissue × modality)."""
    if samples is None:
        return {}
    require_file(samples, "sample table")
    stat = os.stat(samples)
    mapping = _renamed_samples(os.fspath(samples), stat.st_mtime_ns, stat.st_size).get(tissue, {})
    if columns is not None:
        wanted = set(columns)
        mapping = {s: i for s, i in mapping.items() if s in wanted}
    return dict(mapping)


@lru_cache(maxsize=8)
def _renamed_samples(path: str, _mtime_ns: int, _size: int) -> dict[str, dict[str, str]]:
    """tissue -> ``sample_id -> individual_id`` of the rows whose ids differ (:func:`read_text_table`'s errors
    name the file and line)."""
    frame = read_text_table(path, SAMPLE_REQUIRED, "sample table").frame
    rows = frame[frame["sample_id"] != frame["individual_id"]]
    out: dict[str, dict[str, str]] = {}
    for sample, individual, tissue in zip(rows["sample_id"], rows["individual_id"], rows["tissue"], strict=True):
        out.setdefault(tissue, {})[sample] = individual
    return out


def relabel_names(names: Sequence[str], mapping: Mapping[str, str], source: str) -> list[str]:
    """``names`` with each sample id of ``mapping`` replaced by its individual id.

    Raises:
        SampleMismatchError: two names become one individual (naming both and ``source``).
    """
    out = [mapping.get(str(n), str(n)) for n in names]
    seen: dict[str, str] = {}
    for original, new in zip(names, out, strict=True):
        if new in seen:
            raise SampleMismatchError(
                f"{source}: columns {seen[new]} and {original} are both individual {new}: a tissue maps one sample "
                "per individual (drop or merge one of them)")
        seen[new] = str(original)
    return out


def relabel(table: PhenotypeTable, mapping: Mapping[str, str], source: str) -> PhenotypeTable:
    """``table`` with its columns named by individual (:func:`relabel_names`); the same object when
    ``mapping`` is empty."""
    if not mapping:
        return table
    return PhenotypeTable(table.values, table.positions, relabel_names(table.samples, mapping, source))


def relabel_frame(frame: pd.DataFrame, mapping: Mapping[str, str], source: str) -> pd.DataFrame:
    """A covariates × samples frame with its columns named by individual."""
    if not mapping:
        return frame
    renamed = frame.copy()
    renamed.columns = relabel_names(list(frame.columns), mapping, source)
    return renamed
