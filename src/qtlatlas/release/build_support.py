"""Two chores of a release build that are not about its tables: handing freed memory back to the system
between tissues × modalities, and reading a phenotype BED's positions without its values."""

from __future__ import annotations

import os

import pandas as pd
import pyarrow as pa


def return_free_memory() -> None:
    """Hand memory freed by the last tissue × modality back to the system (glibc keeps freed heap pages of the
    parsers otherwise, and the resident size of a build would grow with its tissues)."""
    import ctypes
    import gc

    gc.collect()
    pa.default_memory_pool().release_unused()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


def bed_index(path: str | os.PathLike[str]) -> pd.DataFrame:
    """``phenotype_id`` -> ``chrom, tss`` of a phenotype BED, read from its first four columns only."""
    df = pd.read_csv(path, sep="\t", usecols=[0, 2, 3], header=0, dtype={0: str, 3: str}, compression="infer")
    df.columns = ["chrom", "tss", "phenotype_id"]
    return df.drop_duplicates("phenotype_id").set_index("phenotype_id")
