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

import pandas as pd

from ..errors import InputFileError, SampleMismatchError
from .phenotypes import PhenotypeTable


def sample_individuals(samples: str | os.PathLike[str] | None, tissue: str,
                       columns: Sequence[str] | None = None) -> dict[str, str]:
    """``sample_id -> individual_id`` of ``tissue``'s rows of the samples table whose two ids differ ({}
    without a table or when every sample is named by its individual); with ``columns`` (a BED's sample
    columns) only the sample ids among them."""
    if samples is None:
        return {}
    try:
        table = pd.read_csv(samples, sep="\t", comment="#", dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise InputFileError(str(samples), f"cannot read the samples table ({e})") from None
    missing = [c for c in ("sample_id", "individual_id", "tissue") if c not in table.columns]
    if missing:
        raise InputFileError(str(samples), f"missing column(s) {', '.join(missing)}")
    rows = table[(table["tissue"] == tissue) & (table["sample_id"] != table["individual_id"])]
    if columns is not None:
        rows = rows[rows["sample_id"].isin(set(columns))]
    return dict(zip(rows["sample_id"], rows["individual_id"], strict=True))


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
