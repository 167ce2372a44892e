"""The samples page (``/samples``): counts of samples and individuals by tissue (sex, batches), the individuals shared
between tissues as a tissue × tissue heatmap (SVG drawn here), the most common tissue combinations (UpSet-style
bars), the sample table with tissue and individual filters, and links to the sample, individual and FASTQ-list
downloads, and the sample QC report (:mod:`.sample_qc_plot`). A release without sample tables shows the mapped
samples of each tissue, each its own individual."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from markupsafe import Markup, escape

from .context import Page, page_for
from .downloads import _files
from .errors import PageRoute
from .sample_qc_plot import FLAGGED_COLUMNS, qc_summary, sex_strip_svg
from .tables import Column, table_from_frame
from .templating import render

router = APIRouter(route_class=PageRoute, include_in_schema=False)

#: Sample rows shown on the page (the API and the downloads have them all).
MAX_SAMPLE_ROWS = 100
#: Tissue combinations listed.
TOP_COMBINATIONS = 15
#: Heatmap geometry, px: cell side, room for the row labels (left) and the column labels (top).
CELL, LEFT, TOP = 34, 150, 120

COUNT_COLUMNS = [
    Column("tissue", "Tissue", link="tissue"),
    Column("n_samples", "Samples", "int"),
    Column("n_individuals", "Individuals", "int"),
    Column("n_female", "Female", "int", help="individuals of the tissue recorded as female"),
    Column("n_male", "Male", "int", help="individuals of the tissue recorded as male"),
    Column("n_unknown_sex", "Sex unknown", "int"),
    Column("batch_text", "Samples per batch", help="batch: samples of the tissue in it"),
]
SAMPLE_COLUMNS = [
    Column("sample_id", "Sample"),
    Column("individual_id", "Individual", filter=True),
    Column("tissue", "Tissue", link="tissue", filter=True),
    Column("accession", "Accession"),
    Column("fastq", "FASTQ files", short=True),
    Column("batch", "Batch", filter=True),
]


def heatmap_svg(matrix: pd.DataFrame, names: dict[str, str]) -> Markup:
    """Tissue × tissue individuals shared (``matrix``: square, tissue ids as index and columns) as an SVG heatmap:
    shade by the share of the row tissue's individuals, the count written in each cell; each ``rect`` carries
    ``data-a``, ``data-b`` (tissue ids) and ``data-n`` (individuals)."""
    tissues = list(matrix.index)
    n = len(tissues)
    width, height = LEFT + CELL * n + TOP, TOP + CELL * n + 8  # room on the right for the slanted labels
    parts = [f'<svg class="heatmap" id="shared-individuals" viewBox="0 0 {width} {height}" width="{width}" '
             f'height="{height}" role="img" aria-labelledby="shared-title"><title id="shared-title">Individuals with '
             f'samples of both tissues</title>']
    for i, tissue in enumerate(tissues):
        label = escape(names.get(tissue, tissue))
        y = TOP + CELL * i + CELL / 2 + 4
        parts.append(f'<text class="axis-label" x="{LEFT - 6}" y="{y:.0f}" text-anchor="end">{label}</text>')
        x = LEFT + CELL * i + CELL / 2
        parts.append(f'<text class="axis-label" transform="translate({x:.0f},{TOP - 6}) rotate(-45)">{label}</text>')
    for i, a in enumerate(tissues):
        own = int(matrix.at[a, a]) or 1
        for j, b in enumerate(tissues):
            count = int(matrix.at[a, b])
            share = count / own
            x, y = LEFT + CELL * j, TOP + CELL * i
            ink = "#fff" if share > 0.55 else "#1d2430"
            parts.append(f'<rect x="{x}" y="{y}" width="{CELL - 2}" height="{CELL - 2}" fill="rgb(37, 99, 235)" '
                         f'fill-opacity="{0.08 + 0.92 * share:.3f}" data-a="{escape(a)}" data-b="{escape(b)}" '
                         f'data-n="{count}"><title>{escape(names.get(a, a))} and {escape(names.get(b, b))}: {count} '
                         f'individuals</title></rect>')
            parts.append(f'<text x="{x + (CELL - 2) / 2:.0f}" y="{y + CELL / 2 + 3:.0f}" text-anchor="middle" '
                         f'class="cell-label" fill="{ink}">{count}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


#: The release-wide tables of samples (name, API path, description): files of every tissue, which a view hiding
#: tissues replaces by the API's answer over its visible tissues (:func:`_downloads`).
WHOLE_RELEASE = (("samples", "/samples", "the RNA samples of the tissues you can see (TSV, API)"),
                 ("individuals", "/individuals", "the individuals sampled in the tissues you can see (TSV, API)"))


def _downloads(page: Page) -> list[dict]:
    """The release's sample, individual and FASTQ-list downloads (name, url, bytes, description), in that order. The
    sample and individual files hold every tissue: a store that hides tissues links the API's TSV instead (no
    ``bytes``)."""
    release = page.release.id
    wanted = [f"samples.{release}.tsv", f"individuals.{release}.tsv"]
    files = [f for f in _files(page) if f["name"] in wanted or f["name"].startswith("fastq.")]
    if page.release.hidden.tissues:
        files = [f for f in files if f["name"] not in wanted]
        files += [{"name": f"{name}.{release}.tsv", "url": page.api_url(path, format="tsv", limit=100_000),
                   "bytes": None, "description": about} for name, path, about in WHOLE_RELEASE]
    return sorted(files, key=lambda f: (wanted.index(f["name"]) if f["name"] in wanted else len(wanted), f["name"]))


def _qc_files(page: Page) -> list[dict]:
    """The sample QC report's download, or (a store that hides tissues: the file may have their rows, and is then
    not listed) the API's TSV."""
    files = [f for f in _files(page) if f["name"].startswith("sample_qc.")]
    if page.release.hidden.tissues and page.release.has_sample_qc():
        return [{"name": f"sample_qc.{page.release.id}.tsv", "bytes": None,
                 "url": page.api_url("/samples/qc", format="tsv", limit=100_000)}]
    return files


@router.get("/samples")
def samples_page(request: Request,
                 tissue: Annotated[str | None, Query(max_length=100)] = None,
                 individual: Annotated[str | None, Query(max_length=200)] = None) -> Response:
    """Samples and individuals of the release (see the module docstring)."""
    page = page_for(request)
    release = page.release
    tissue = tissue or None
    individual = individual or None
    rows = release.sample_rows(tissue=tissue, individual=individual)
    counts = release.sample_counts().copy()
    counts["batch_text"] = [", ".join(f"{b}: {n}" for b, n in batches.items()) for batches in counts["batches"]]
    names = {t: page.tissue_name(t) for t in release.sample_tissues()}
    combos = release.tissue_combinations(TOP_COMBINATIONS)
    widest = int(combos["n_individuals"].max()) if len(combos) else 1
    combinations = [{"tissues": t, "names": [names.get(x, x) for x in t.split(",")], "n": int(n),
                     "percent": 100 * int(n) / widest}
                    for t, n in zip(combos["tissues"], combos["n_individuals"], strict=True)]
    shown = rows.head(MAX_SAMPLE_ROWS)
    api = page.api_url("/samples", tissue=tissue, individual=individual, format="tsv")
    table = table_from_frame(page, "sample-table", shown, SAMPLE_COLUMNS, caption="RNA samples",
                             tsv_name=f"samples.{release.id}", total=len(rows), empty="No sample matches.",
                             links={"All rows (TSV, API)": api})
    count_table = table_from_frame(page, "sample-counts", counts, COUNT_COLUMNS,
                                   caption="Samples and individuals by tissue", tsv_name=f"sample_counts.{release.id}",
                                   empty="This release lists no sample.")
    matrix = release.shared_individuals()
    qc = release.sample_qc_rows()
    qc_files = _qc_files(page)
    flagged = table_from_frame(page, "sample-qc-flagged", qc[qc["flag"]], FLAGGED_COLUMNS,
                               caption="Flagged by sample QC", tsv_name=f"sample_qc_flagged.{release.id}",
                               empty="Sample QC flagged nothing.")
    return render(page, "samples.html", has_metadata=release.has_sample_metadata(), counts=count_table,
                  qc=qc_summary(qc) if len(qc) else None, qc_flagged=flagged, qc_plot=sex_strip_svg(qc),
                  qc_files=qc_files,
                  heatmap=heatmap_svg(matrix, names) if len(matrix) else None, combinations=combinations,
                  table=table, files=_downloads(page), tissue=tissue, individual=individual or "",
                  tissues=[(t, names[t]) for t in release.sample_tissues()], n_shown=len(shown), n_rows=len(rows))
