"""The release-wide summary tables a build writes once every tissue × modality is read: gene status, counts per
tissue × modality, trans pairs and medians (:func:`write_status_tables`), and the tissues with their samples
(:func:`write_tissue_tables`). Paths come from :mod:`qtlatlas.release.layout`; ``table``, ``index`` and
``download`` are the builder's recorders (relative path or kind + description -> absolute path)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pyarrow as pa

from ..config import Atlas
from ..results import CROSS_MODALITY
from . import layout
from .downloads import median_tpm_download, samples_download
from .tables import write_gene_status_index, write_table

TableRecorder = Callable[[str, str], Path]
DownloadRecorder = Callable[..., Path]


def write_status_tables(status: list[pd.DataFrame], tissue_modality: list[dict], trans_frames: list[pd.DataFrame],
                        medians: list[pd.DataFrame], unit: str | None, table: TableRecorder,
                        index: Callable[[str, str], None], download: DownloadRecorder) -> None:
    """``gene_status`` (+ its index), ``tissue_modality`` counts, ``trans_pairs`` (when any tissue × modality has
    trans results) and ``medians`` with the ``median_tpm`` download (when expression was given; ``unit`` the
    release's expression unit)."""
    frame = pd.concat(status, ignore_index=True) if status else pd.DataFrame(
        columns=["gene_id", "tissue", "modality", "expressed", "tested", "has_qtl", "n_independent"])
    frame = frame.sort_values(["gene_id", "tissue", "modality"], kind="stable").reset_index(drop=True)
    write_table(frame, table(layout.table_path("gene_status"),
                             "expressed / tested / has a QTL, per gene, tissue and modality"))
    write_gene_status_index(frame, table(layout.table_path("gene_status_index"),
                                         "gene_status keyed by gene id (Arrow IPC batches for gene look-ups)"))
    index(layout.table_path("gene_status_index"), "key range of each batch of gene_status_index")
    tm = pd.DataFrame(tissue_modality, columns=["tissue", "modality", "n_samples", "n_tested", "n_egenes",
                                                "n_independent"])
    write_table(tm, table(layout.table_path("tissue_modality"), "counts per tissue × modality"))
    if trans_frames:
        trans = pa.Table.from_pandas(pd.concat(trans_frames, ignore_index=True), preserve_index=False)
        # text as large_string like the other tables, whichever string type the result files were read with
        trans = trans.cast(pa.schema([pa.field(f.name, pa.large_string()) if pa.types.is_string(f.type) else f
                                      for f in trans.schema]))
        write_table(trans, table(layout.table_path("trans_pairs"), "trans-QTL pairs, every tissue × modality"))
    if medians:
        med = pd.concat(medians, ignore_index=True).drop_duplicates(["tissue", "gene_id"])
        med = med.sort_values(["gene_id", "tissue"], kind="stable").reset_index(drop=True)
        write_table(med, table(layout.table_path("medians"), f"median expression ({unit}) per gene and tissue"))
        median_tpm_download(med, download("median_tpm", f"median expression ({unit}), genes × tissues"))


def write_tissue_tables(atlas: Atlas, tissues: list[str], samples: dict[str, dict[str, list[str]]],
                        expressed: dict[tuple[str, str], set[str]], table: TableRecorder,
                        download: DownloadRecorder) -> None:
    """``tissues`` (one row per tissue of the release, in ``tissues`` order, with its sample and expressed-gene
    counts), ``samples`` (sample id, tissue, modalities measured; ``samples``: tissue -> modality -> sample ids)
    and the per-tissue sample id lists; ``expressed``: (tissue, modality) -> genes expressed."""
    rows, sample_rows = [], []
    for t in tissues:
        info = atlas.tissue(t)
        by_mod = samples.get(t, {})
        union = list(dict.fromkeys(s for ss in by_mod.values() for s in ss))
        if (t, "expression") in expressed:
            n_expr = len(expressed[(t, "expression")])
        else:
            n_expr = len(set().union(*[g for (tt, m), g in expressed.items() if tt == t and m != CROSS_MODALITY]))
        rows.append({"tissue_id": t, "name": info.name, "colour": info.colour, "ontology_id": info.ontology_id,
                     "n_samples": len(union), "n_expressed_genes": n_expr, "site": info.site,
                     "abbreviation": info.abbreviation})
        for s in union:
            sample_rows.append({"sample_id": s, "tissue": t, "modalities": [m for m, ss in by_mod.items() if s in set(ss)]})
        if union:
            samples_download(union, download("samples", f"sample ids of {info.name}", tissue=t))
    write_table(pd.DataFrame(rows, columns=["tissue_id", "name", "colour", "ontology_id", "n_samples",
                                            "n_expressed_genes", "site", "abbreviation"]),
                table(layout.table_path("tissues"), "tissues of the release"))
    schema = pa.schema([("sample_id", pa.string()), ("tissue", pa.string()), ("modalities", pa.list_(pa.string()))])
    write_table(pa.Table.from_pylist(sample_rows, schema=schema),
                table(layout.table_path("samples"), "samples per tissue and their modalities"))
