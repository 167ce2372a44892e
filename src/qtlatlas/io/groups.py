"""Phenotype group files: ``phenotype_id<TAB>group_id`` per line, no header (tensorQTL ``--phenotype_groups``).

Grouped modalities (isoforms, splicing, alternative TSS/polyA) map each gene's phenotypes together:
one row per group in the permutation results.
"""

from __future__ import annotations

import os

import pandas as pd

from ..errors import InputFileError, require_file


def read_groups(path: str | os.PathLike[str]) -> pd.Series:
    """Read a group file into a Series ``phenotype_id -> group_id`` (file order).

    Raises:
        InputFileError: missing file, a line without exactly two tab-separated fields, empty ids,
            or a phenotype listed twice.
    """
    path = os.fspath(path)
    require_file(path, "group file")
    try:
        df = pd.read_csv(path, sep="\t", header=None, dtype=str, keep_default_na=False, compression="infer")
    except pd.errors.EmptyDataError:
        raise InputFileError(path, "group file is empty") from None
    except pd.errors.ParserError as e:
        raise InputFileError(path, f"malformed line: {str(e).split('C error: ')[-1]}") from None
    except (OSError, EOFError, UnicodeDecodeError) as e:
        raise InputFileError(path, f"cannot read file ({e})") from None
    if df.shape[1] != 2:
        raise InputFileError(path, f"expected 2 tab-separated columns (phenotype_id, group_id), found {df.shape[1]}", line=1)
    empty = (df[0] == "") | (df[1] == "")
    if empty.any():
        raise InputFileError(path, "empty phenotype or group id", line=int(empty.to_numpy().argmax()) + 1)
    dup = df[0].duplicated()
    if dup.any():
        i = int(dup.to_numpy().argmax())
        first = int((df[0] == df[0].iat[i]).to_numpy().argmax())
        raise InputFileError(path, f"phenotype {df[0].iat[i]!r} listed twice (also line {first + 1})", line=i + 1)
    return pd.Series(df[1].to_numpy(), index=pd.Index(df[0].to_numpy(), name="phenotype_id"), name="group_id")


def check_groups_cover(groups: pd.Series, phenotype_ids: list[str], *, groups_path: str, bed_path: str) -> None:
    """Every phenotype of the BED must have a group; raise naming the first few that do not."""
    missing = [p for p in phenotype_ids if p not in groups.index]
    if missing:
        shown = ", ".join(missing[:5]) + (" …" if len(missing) > 5 else "")
        raise InputFileError(
            groups_path, f"{len(missing)} phenotype(s) of {bed_path} have no group: {shown}"
        )


#: Separator of Pantry phenotype ids ``gene__feature``.
PANTRY_SEPARATOR = "__"


def gene_of(phenotype_id: str) -> str:
    """The gene of a phenotype id by the one rule used everywhere: the part before ``__`` of a Pantry id
    (``GENE__feature``), else the id itself (gene-level phenotypes are named by their gene)."""
    return phenotype_id.split(PANTRY_SEPARATOR, 1)[0]


def genes_of(phenotype_ids: pd.Series | list[str]) -> pd.Series:
    """:func:`gene_of` applied to many ids (vectorised); returns a Series aligned with the input."""
    ids = pd.Series(phenotype_ids, dtype=object)
    has = ids.str.contains(PANTRY_SEPARATOR, regex=False).fillna(False).to_numpy(bool)
    if not has.any():  # gene-level ids (expression, stability): the ids themselves
        return ids
    out = ids.copy()
    out[has] = ids[has].str.split(PANTRY_SEPARATOR, n=1).str[0]
    return out
