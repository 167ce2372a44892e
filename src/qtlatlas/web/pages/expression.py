"""Expression heatmaps: median expression (in the release's unit, TPM by default) of genes × tissues,
clustered both ways with dendrograms. The genes are the most expressed of a tissue (``?tissue=&n=``) or a
list (``?genes=``, at most 100); ``?log=0`` clusters and colours the medians instead of log2(median + 1)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from fastapi import APIRouter, Request
from fastapi.responses import Response

from ...store import NotFound
from . import params
from .context import Page, page_for
from .errors import PageRoute
from .tables import Column, table_from_frame
from .templating import render

router = APIRouter(route_class=PageRoute, include_in_schema=False)
MAX_GENES = 100
TOP_CHOICES = ("10", "25", "50", "100")


def dendrogram(values: np.ndarray) -> tuple[list[int], dict]:
    """Leaf order of the rows of ``values`` (average linkage, Euclidean distance, as the API's clustered
    endpoint) and the dendrogram as line segments: ``{"pos": [...], "height": [...]}`` with None between
    segments, leaf ``i`` of the order at position ``i``."""
    n = values.shape[0]
    if n < 2:
        return list(range(n)), {"pos": [], "height": []}
    from scipy.cluster import hierarchy
    from scipy.spatial.distance import pdist

    tree = hierarchy.linkage(pdist(np.nan_to_num(values)), method="average", optimal_ordering=n <= 200)
    d = hierarchy.dendrogram(tree, no_plot=True)
    pos: list[float | None] = []
    height: list[float | None] = []
    for xs, ys in zip(d["icoord"], d["dcoord"], strict=True):
        pos += [(x - 5) / 10 for x in xs] + [None]
        height += [float(y) for y in ys] + [None]
    return [int(i) for i in d["leaves"]], {"pos": pos, "height": height}


def _resolve(page: Page, genes: list[str]) -> tuple[list[dict], list[dict]]:
    """Known genes (genes-table rows) and unknown ones with suggestions."""
    known, unknown = [], []
    for g in genes:
        try:
            known.append(page.release.resolve_gene(g))
        except NotFound as exc:
            unknown.append({"query": g, "suggestions": exc.suggestions})
    return known, unknown


def heatmap_data(page: Page, medians: pd.DataFrame, log: bool) -> dict | None:
    """Clustered matrix, labels and dendrograms of a long median table (None when empty)."""
    if medians.empty:
        return None
    matrix = medians.pivot_table(index="gene_id", columns="tissue", values="median", aggfunc="first")
    tissue_order = [t for t in page.release.tissue_ids() if t in matrix.columns]
    matrix = matrix[tissue_order]
    names = medians.drop_duplicates("gene_id").set_index("gene_id")["gene_name"]
    raw = matrix.to_numpy(np.float64)
    values = np.log2(raw + 1) if log else raw
    gene_order, gene_tree = dendrogram(values)
    tissue_order_idx, tissue_tree = dendrogram(values.T)
    ordered = values[np.ix_(gene_order, tissue_order_idx)]
    genes = [matrix.index[i] for i in gene_order]
    tissues = [matrix.columns[i] for i in tissue_order_idx]
    return {"z": [[None if not np.isfinite(x) else round(float(x), 4) for x in row] for row in ordered],
            "tpm": [[None if not np.isfinite(x) else round(float(x), 4) for x in row]
                    for row in raw[np.ix_(gene_order, tissue_order_idx)]],
            "genes": genes, "gene_names": [str(names.get(g) or g) for g in genes],
            "tissues": tissues, "tissue_names": [page.tissue_name(t) for t in tissues],
            "gene_tree": gene_tree, "tissue_tree": tissue_tree, "log": log, "unit": page.unit}


@router.get("/expression")
def expression_page(request: Request) -> Response:
    """The clustered heatmap of the top expressed genes of a tissue or of a gene list."""
    page = page_for(request)
    release = page.release
    asked = params.text_list(request, "genes", max_items=MAX_GENES)
    log = params.flag(request, "log", True)
    exclude_mito = params.flag(request, "exclude_mito", False)
    n = int(params.choice(request, "n", TOP_CHOICES, default="50"))
    tissue_ids = release.tissue_ids()
    tissue = params.choice(request, "tissue", tissue_ids, default=tissue_ids[0] if tissue_ids else None)
    unknown: list[dict] = []
    if asked:
        mode = "genes"
        known, unknown = _resolve(page, asked)
        gene_ids = list(dict.fromkeys(g["gene_id"] for g in known))
    else:
        mode = "top"
        top = release.top_expressed(tissue, n, exclude_mito) if tissue else pd.DataFrame(columns=["gene_id"])
        gene_ids = top["gene_id"].tolist()
    medians = release.medians(gene_ids) if gene_ids else pd.DataFrame(columns=["tissue", "gene_id", "gene_name", "median"])
    data = heatmap_data(page, medians, log)
    table = None
    if data is not None:
        wide = pd.DataFrame(data["tpm"], columns=data["tissues"])
        wide.insert(0, "gene_name", data["gene_names"])
        wide.insert(1, "gene_id", data["genes"])
        columns = [Column("gene_name", "Gene", link="gene"), Column("gene_id", "Id")]
        columns += [Column(t, page.tissue_name(t), "num") for t in data["tissues"]]
        table = table_from_frame(page, "median-table", wide, columns, caption=f"Median {page.unit}, in the order of the heatmap",
                                 tsv_name=f"median_tpm.{release.id}")
    return render(page, "expression.html", uses_plots=True, mode=mode, tissue=tissue, n=n, top_choices=TOP_CHOICES,
                  log=log, exclude_mito=exclude_mito, genes_text="\n".join(asked), unknown=unknown, data=data,
                  table=table, max_genes=MAX_GENES)
