"""Streaming the significant pairs of a release build into the portal's tables and the per-tissue × modality
downloads, a batch at a time, whatever the number of pairs (every tested pair goes to
:mod:`qtlatlas.release.all_pairs`).

A significant-pair source is either a tissue's own file (its pairs, or its nominal pass filtered at each
phenotype's nominal threshold) or one file of every tissue (RatGTEx's ``all_gene_esnps`` archive), read once
and routed row by row to the tissue named in its tissue column (:func:`stream_signif`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .associations import SignifPairsWriter, signif_rows
from .imported import iter_pairs
from .tables import GeneIndex, GeneResolver
from .variant_store import VariantStore


@dataclass
class SignifTarget:
    """Where and how the significant pairs of one tissue × modality are written.

    ``thresholds`` maps a phenotype id (a gene/group id when ``by_group``) to its nominal p-value threshold;
    with ``filter`` the rows above it are dropped (a nominal-pass source), else it only fills the
    ``pval_nominal_threshold`` column of sources without one.
    """

    tissue: str
    modality: str
    resolver: GeneResolver
    fallback: pd.DataFrame | None
    thresholds: pd.Series | None
    by_group: bool
    filter: bool
    dest: Path


def _thresholds_for(batch: pd.DataFrame, target: SignifTarget) -> pd.DataFrame:
    """``batch`` with ``pval_nominal_threshold`` filled from the target's thresholds where it lacks one."""
    if target.filter or target.thresholds is None or "pval_nominal_threshold" in batch:
        return batch
    key = batch["group_id"] if target.by_group and "group_id" in batch else batch["phenotype_id"]
    return batch.assign(pval_nominal_threshold=key.astype(object).map(target.thresholds).astype(np.float64))


def stream_signif(sources: Iterable[str | os.PathLike[str]], targets: dict[str, SignifTarget], *,
                  tissue_column: str | None, grouped: bool, modality: str, writer: SignifPairsWriter,
                  genes: GeneIndex, variants: VariantStore) -> int:
    """Stream significant pairs from ``sources`` into ``writer``, each target's download registered with it.

    With ``tissue_column`` the sources hold every tissue and ``targets`` is keyed by tissue (rows of other
    tissues are skipped); else ``targets`` holds the one target of the sources (any key). The allele
    frequencies the pairs give are recorded in ``variants``. Returns the number of rows streamed.
    """
    n = 0
    for target in targets.values():
        writer.add_download(target.tissue, target.modality, target.dest)
    for src in sources:
        for batch in iter_pairs(src, modality, grouped, tissue_column=tissue_column):
            if tissue_column is None:
                parts = [(next(iter(targets)), batch)]
            else:
                parts = [(t, part.drop(columns=["tissue"])) for t, part in
                         batch.groupby("tissue", sort=False) if t in targets]
            for key, part in parts:
                target = targets[key]
                part = _thresholds_for(part, target)
                rows = signif_rows(part, target.tissue, target.modality, target.resolver, genes,
                                   target.thresholds if target.filter else None, target.by_group, target.fallback)
                if rows.empty:
                    continue
                variants.mark(rows["variant_id"], rows["af"])
                writer.add(rows)
                n += len(rows)
    return n
