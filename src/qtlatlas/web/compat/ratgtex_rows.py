"""Rows of the RatGTEx-compatible responses (see :mod:`qtlatlas.web.compat.ratgtex`), built from the store's
look-ups: a gene's QTLs and pairs from its runs of ``associations_by_gene``, medians from the in-memory
matrix, exons from the exon look-up file."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ...analysis.clustering import ratgtex_newick
from ...store import NotFound

#: Our column -> RatGTEx field of QTL rows; RatGTEx keeps ``pval_beta`` and ``log2_aFC`` under their table names.
QTL_FIELDS = {"tissue": "tissueSiteDetailId", "gene_id": "geneId", "variant_id": "variantId", "ref": "ref",
              "alt": "alt", "pval_beta": "pval_beta", "log2_aFC": "log2_aFC", "phenotype_id": "phenotypeId",
              "chrom": "chromosome", "pos": "pos", "pval_nominal": "pValue", "slope": "nes", "rank": "rank"}
NOT_ENOUGH = "Not enough data"


def _value(v):
    """A JSON-ready scalar: numpy values unwrapped, NaN and pandas' missing values as None."""
    if v is None or v is pd.NA:
        return None
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


def _records(table: pa.Table, fields: dict[str, str]) -> list[dict]:
    """Rows of an Arrow table as dicts named by ``fields`` (column -> field), NaN as None."""
    cols = [c for c in fields if c in table.column_names]
    names = [fields[c] for c in cols]
    columns = [table.column(c).to_pylist() for c in cols]
    return [{n: (None if isinstance(v, float) and v != v else v) for n, v in zip(names, row, strict=True)}
            for row in zip(*columns, strict=True)]


def _tissue_order(store, table: pa.Table, *extra: str) -> pa.Table:
    """``table`` sorted by tissue in release order, then by ``extra`` columns."""
    order = store.tissue_ids()
    rank = pc.index_in(table.column("tissue"), value_set=pa.array(order, pa.string()))
    keys = [("_t", "ascending")] + [(c, "ascending") for c in extra if c in table.column_names]
    table = table.append_column("_t", pc.fill_null(rank, len(order)))
    return table.take(pc.sort_indices(table, sort_keys=keys)).drop_columns(["_t"])


def _of_modalities(table: pa.Table, modalities: list[str] | None) -> pa.Table:
    if modalities is None or not table.num_rows:
        return table
    return table.filter(pc.is_in(table.column("modality"), value_set=pa.array(modalities, pa.string())))


def qtl_rows(store, gene: dict, kind: str, modalities: list[str] | None) -> list[dict]:
    """The ``kind`` (``independent`` or ``top``) QTLs of a gene in ``modalities`` (all when None), tissues in
    release order, then rank."""
    rows = _of_modalities(store.gene_table(gene, kind, [*QTL_FIELDS, "modality"]), modalities)
    if not rows.num_rows:
        return []
    return _records(_tissue_order(store, rows, "modality", "rank"), QTL_FIELDS)


def xqtl_rows(store, gene: dict) -> list[dict]:
    """Independent xQTLs of a gene: its cross-modality QTLs (``modality:phenotype_id`` split into ``modality`` and
    ``phenotypeId``) when the release mapped modalities together, else the independent QTLs of every modality."""
    rows = store.gene_table(gene, "independent", [*QTL_FIELDS, "modality"])
    if not rows.num_rows:
        return []
    cross = _of_modalities(rows, ["cross_modality"])
    if cross.num_rows:
        pids = cross.column("phenotype_id").to_pylist()
        split = [p.split(":", 1) if p and ":" in p else [None, p] for p in pids]
        rows = cross.set_column(cross.schema.get_field_index("phenotype_id"), "phenotype_id",
                                pa.array([b for _, b in split], pa.string()))
        rows = rows.set_column(rows.schema.get_field_index("modality"), "modality",
                               pa.array([a for a, _ in split], pa.string()))
    rows = _tissue_order(store, rows, "rank")
    return _records(rows, {**QTL_FIELDS, "modality": "modality"})


def single_tissue_rows(store, gene: dict) -> list[dict]:
    """Significant expression pairs of a gene: ``variantId, pValue`` (4 significant digits, as RatGTEx),
    ``nes, chromosome, pos, tissueSiteDetailId, geneId``."""
    fields = {"variant_id": "variantId", "pval_nominal": "pValue", "slope": "nes", "chrom": "chromosome",
              "pos": "pos", "tissue": "tissueSiteDetailId", "gene_id": "geneId", "slope_se": "nesSe",
              "phenotype_id": "phenotypeId"}
    rows = _of_modalities(store.gene_table(gene, "significant", [*fields, "modality"]), ["expression"])
    if not rows.num_rows:
        return []
    out = _records(_tissue_order(store, rows, "pos"), fields)
    for r in out:
        p = r.get("pValue")
        if p is not None:
            r["pValue"] = float(f"{p:.3e}")
    return out


def exon_rows(store, gene: dict) -> list[dict]:
    """Exons of a gene's transcripts: ``chromosome, end, exonId, exonNumber, featureType, geneId, start, strand,
    transcriptId`` (``exonId``: the annotation's, else ``{transcript}_{number}``)."""
    out = []
    for e in store.exons(gene["gene_id"])["exons"]:
        number = e.get("exon_number")
        out.append({"chromosome": e.get("chrom"), "end": e.get("end"),
                    "exonId": e.get("exon_id") or f"{e.get('transcript_id')}_{number}",
                    "exonNumber": number, "featureType": e.get("feature_type") or "exon", "geneId": gene["gene_id"],
                    "start": e.get("start"), "strand": e.get("strand"), "transcriptId": e.get("transcript_id")})
    return out


def median_rows(store, gene_ids: list[str], tissues: list[str] | None) -> dict:
    """``medianGeneExpression`` (tissue by tissue, genes in the order asked) and ``clusters`` (Newick trees of the
    genes and of the tissues, clustered on the medians; ``Not enough data`` for a single gene or tissue)."""
    index, all_tissues, matrix = store.median_matrix() if store.has_table("medians") else ({}, [], np.zeros((0, 0)))
    if tissues is None:
        cols = list(range(len(all_tissues)))
    else:
        position = {t: j for j, t in enumerate(all_tissues)}
        cols = []
        for t in tissues:
            if t not in position:
                raise NotFound("tissue", t, detail=f"with expression in release {store.id} "
                               f"(tissues: {', '.join(all_tissues)})")
            cols.append(position[t])
    genes = [g for g in gene_ids if g in index]
    values = matrix[[index[g] for g in genes]][:, cols] if genes else np.zeros((0, len(cols)))
    names = [all_tissues[j] for j in cols]
    gene_tree = ratgtex_newick(values, genes) if len(genes) > 1 else NOT_ENOUGH
    tissue_tree = ratgtex_newick(values.T, names) if len(cols) > 1 and genes else NOT_ENOUGH
    rows = [{"geneId": g, "tissueSiteDetailId": names[k], "median": _value(float(values[i, k]))}
            for k in range(len(cols)) for i, g in enumerate(genes)]
    return {"clusters": {"gene": gene_tree, "tissue": tissue_tree}, "medianGeneExpression": rows}
