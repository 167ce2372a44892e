"""Cross-modality mapping: every modality of a tissue concatenated and grouped by gene, so that
conditionally independent signals (xQTLs) are independent across modalities.

Phenotype ids become ``modality:phenotype_id``; the group of each is its gene (from the modality's group
file when given, else by :func:`qtlatlas.io.groups.gene_of`). Samples are those present in every modality,
in the order of the first.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import SampleMismatchError
from ..io.chromosomes import chrom_sort_key
from ..io.groups import genes_of
from ..io.phenotypes import PhenotypeTable

SEPARATOR = ":"


def concatenate_modalities(tables: dict[str, PhenotypeTable], groups: dict[str, pd.Series] | None = None
                           ) -> tuple[PhenotypeTable, pd.Series]:
    """Concatenate normalised phenotype tables of one tissue (modality → table).

    Args:
        tables: modality id → table (values normalised, no NaN).
        groups: modality id → Series phenotype_id → gene id (optional, per modality).
    Returns:
        The concatenated table, sorted by chromosome then start, and a Series
        ``modality:phenotype_id`` → gene id in the same order.
    Raises:
        SampleMismatchError: no sample is present in every modality.
    """
    if not tables:
        raise ValueError("no modality to concatenate")
    first = next(iter(tables.values()))
    common = set(first.samples)
    for table in tables.values():
        common &= set(table.samples)
    samples = [s for s in first.samples if s in common]
    if not samples:
        raise SampleMismatchError(f"no sample is shared by the modalities {', '.join(tables)}")
    parts, values, genes = [], [], []
    for modality, table in tables.items():
        pos = table.positions[["chrom", "start", "end", "phenotype_id"]].copy()
        ids = pos["phenotype_id"].astype(str)
        mapping = (groups or {}).get(modality)
        gene = np.array(mapping.reindex(ids) if mapping is not None else genes_of(ids), dtype=object)
        missing = pd.isna(gene)
        gene[missing] = genes_of(ids[missing]).to_numpy()
        pos["phenotype_id"] = modality + SEPARATOR + ids
        parts.append(pos)
        values.append(table.subset_samples(samples).values)
        genes.append(gene)
    positions = pd.concat(parts, ignore_index=True)
    all_values = np.vstack(values)
    all_genes = np.concatenate(genes)
    chrom_rank = positions["chrom"].map(lambda c: chrom_sort_key(c))
    order = sorted(range(len(positions)), key=lambda i: (chrom_rank.iat[i], positions["start"].iat[i]))
    positions = positions.iloc[order].reset_index(drop=True)
    table = PhenotypeTable(all_values[order], positions, samples)
    return table, pd.Series(all_genes[order], index=pd.Index(positions["phenotype_id"], name="phenotype_id"), name="group_id")
