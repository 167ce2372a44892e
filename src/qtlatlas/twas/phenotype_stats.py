"""Heritability of every phenotype a weights panel tested, fitted or not (``twas_stats.parquet``).

The weights panel (:mod:`.weights`) keeps only the phenotypes it fitted in its profile; this table records
every phenotype of the panel's phenotype BED, so that a release can publish h² for all of them (RatGTEx's
``phenotype_stats``). One row per phenotype, in phenotype order, :data:`STATS_COLUMNS`:

* ``panel, phenotype_id, gene_id, chrom`` (text);
* ``n`` (samples used), ``n_snps_window`` (polymorphic SNPs of the cis window the REML used; 0 when none);
* ``hsq, hsq_se, hsq_pval``: REML cis-heritability (proportion of variance, 0..1), its standard error and its
  likelihood-ratio p-value; NaN when not estimated (no SNP in the window, fewer than 10 samples, constant
  phenotype);
* ``skipped_reason``: why no weights were fitted (empty for fitted phenotypes).

Panels computed before this table existed lack the file: :func:`read_panel_stats` returns None for them.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import pandas as pd

#: File of a Parquet panel directory that holds the statistics of every tested phenotype.
STATS_FILE = "twas_stats.parquet"
STATS_COLUMNS = ("panel", "phenotype_id", "gene_id", "chrom", "n", "n_snps_window", "hsq", "hsq_se", "hsq_pval",
                 "skipped_reason")
#: The reason recorded for a phenotype whose cis window holds no SNP.
NO_SNP = "no SNP in the window"


class StatsRecorder:
    """Collects one :data:`STATS_COLUMNS` row per phenotype handed to :meth:`record` and writes them."""

    def __init__(self, panel: str):
        self.panel = panel
        self.rows: list[dict] = []

    def record(self, window, result) -> None:
        """Record phenotype ``window`` (a :class:`.weights.PhenotypeWindow`) and its
        :class:`.weights.WeightsResult` (None: its window holds no SNP, nothing was fitted)."""
        nan = math.nan
        row = {"panel": self.panel, "phenotype_id": str(window.phenotype_id), "gene_id": str(window.gene_id),
               "chrom": str(window.chrom), "n": int(window.phenotype.shape[0])}
        if result is None:
            row.update(n_snps_window=0, hsq=nan, hsq_se=nan, hsq_pval=nan, skipped_reason=NO_SNP)
        else:
            kept = int(window.genotypes.shape[1] - _n_monomorphic(window.genotypes)) if window.genotypes.size else 0
            row.update(n=int(result.n), n_snps_window=kept, hsq=float(result.hsq), hsq_se=float(result.hsq_se),
                       hsq_pval=float(result.hsq_pval), skipped_reason=result.skipped or "")
        self.rows.append(row)

    def frame(self) -> pd.DataFrame:
        frame = pd.DataFrame(self.rows, columns=list(STATS_COLUMNS))
        for col in ("n", "n_snps_window"):
            frame[col] = frame[col].astype("int64")
        for col in ("hsq", "hsq_se", "hsq_pval"):
            frame[col] = frame[col].astype("float64")
        for col in ("panel", "phenotype_id", "gene_id", "chrom", "skipped_reason"):
            frame[col] = frame[col].astype(object)
        return frame

    def write(self, directory: str | os.PathLike[str]) -> Path:
        """Write ``directory/twas_stats.parquet``; returns its path."""
        path = Path(directory) / STATS_FILE
        self.frame().to_parquet(path, index=False)
        return path


def _n_monomorphic(genotypes) -> int:
    import numpy as np

    with np.errstate(invalid="ignore"):
        sd = np.nanstd(np.asarray(genotypes, dtype=np.float64), axis=0)
    return int(np.sum(~(sd > 0)))


def read_panel_stats(directory: str | os.PathLike[str]) -> pd.DataFrame | None:
    """The :data:`STATS_COLUMNS` table of a panel directory (a column missing from an older file is NaN), or
    None when the panel has no such file (computed before it was written)."""
    path = Path(directory) / STATS_FILE
    if not path.is_file():
        return None
    frame = pd.read_parquet(path)
    for col in STATS_COLUMNS:
        if col not in frame.columns:
            frame[col] = math.nan
    return frame[list(STATS_COLUMNS)]
