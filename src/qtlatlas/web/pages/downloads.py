"""Downloads of a release (``/downloads``: the manifest's download files in sections by kind, with sizes,
sha256 and descriptions), the files themselves (``/releases/{release}/{path}``, only files the manifest
lists), and the study pages (``/studies``, ``/studies/{id}``, ``/studies/{id}/files/{path}``)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from ...store import NotFound
from ...store.params import is_clean
from .assets import IMMUTABLE
from .context import Page, page_for
from .errors import PageRoute
from .tables import Column, table_from_records
from .templating import render

router = APIRouter(route_class=PageRoute, include_in_schema=False)

#: Sections of the downloads page: file kind (the first part of a file name) -> (title, what the files hold;
#: ``{unit}``: the unit of the release's expression values).
SECTIONS = {
    "top_assoc": ("Top QTL per phenotype", "tensorQTL columns plus gene, position, alleles, TSS distance and log2 aFC; "
                  "one file per tissue × modality."),
    "indep_assoc": ("Conditionally independent QTLs", "as the top QTL files, with the rank of each signal."),
    "signif_pairs": ("Significant variant–phenotype pairs", "every pair below its phenotype's significance threshold."),
    "nominal": ("Every tested pair (nominal pass)", "every cis variant–phenotype pair tested, with tensorQTL's "
                "cis_qtl_pairs columns, gene symbol, position, alleles and −log10 p; bgzipped, sorted by position and "
                "tabix-indexed (tabix FILE chr:start-end); column mapping to the eQTL Catalogue's in the API docs."),
    "trans_pairs": ("trans-QTL pairs", "pairs below the trans reporting threshold."),
    "aFC": ("Allelic fold change", "log2 aFC of the top and independent QTLs."),
    "credible_sets": ("SuSiE credible sets", "per tissue × modality, every member of every credible set of the "
                      "fine-mapped phenotypes (q ≤ FDR), in the eQTL Catalogue's columns."),
    "lbf_variable": ("SuSiE log Bayes factors", "per tissue × modality, every variant fine-mapped with the natural-log "
                     "Bayes factor of each single effect (lbf_variable1…L, the input of coloc.bf_bf)."),
    "phenotypes": ("Phenotypes", "BED files (bgzipped, tabix-indexed), normalised (norm) and input values (raw)."),
    "covariates": ("Covariates", "the covariates used for mapping, in tensorQTL layout."),
    "samples": ("Samples", "sample ids of each tissue."),
    "median_tpm": ("Median expression", "median {unit} per gene and tissue."),
    "genotypes": ("Genotypes", "the genotypes of the mapped samples (bgzipped VCF with its index)."),
    "twas_assoc": ("TWAS associations", "per trait, every model tested, in FUSION's .dat columns (full precision)."),
    "twas_pos": ("TWAS weight panels", "per tissue × modality, FUSION's .pos index of the weight files."),
    "twas_weights": ("TWAS weights", "per tissue × modality, FUSION .wgt.RDat weight files (tar.gz), readable by "
                     "FUSION and by qtlatlas twas assoc."),
    "coloc": ("Colocalisation", "per trait, coloc.abf of each GWAS locus with every phenotype tested there, in "
              "every tissue × modality (PP.H0–PP.H4, the rows of /api/v1/coloc)."),
    "coloc_susie": ("Colocalisation of credible sets", "per trait, coloc.susie of each GWAS locus (fine-mapped from "
                    "its z-scores with LD from the release genotypes) with every fine-mapped phenotype: one row "
                    "per pair of credible sets (the rows of /api/v1/coloc?method=susie)."),
}
DOWNLOAD_COLUMNS = [
    Column("name", "File", link="url"), Column("tissue", "Tissue", filter=True), Column("modality", "Modality", filter=True),
    Column("bytes", "Size", "size"), Column("sha256", "sha256", "hash"), Column("description", "Description"),
]


def _parts(page: Page, name: str) -> dict:
    """Kind, tissue and modality of a download file name (``kind[.tissue][.modality]...``)."""
    parts = name.split(".")
    tissues, mods = set(page.release.tissue_ids()), set(page.release.modality_ids())
    return {"kind": parts[0], "tissue": next((p for p in parts[1:3] if p in tissues), None),
            "modality": next((p for p in parts[1:4] if p in mods), None)}


def sections(page: Page) -> list[dict]:
    """Download files grouped by kind (known kinds in :data:`SECTIONS` order, others after)."""
    groups: dict[str, list[dict]] = {}
    for d in page.release.downloads():
        name = d["path"].rsplit("/", 1)[-1]
        row = {**d, "name": name, **_parts(page, name), "url": page.file_url(d["path"])}
        groups.setdefault(row["kind"], []).append(row)
    order = [k for k in SECTIONS if k in groups] + sorted(k for k in groups if k not in SECTIONS)
    out = []
    for kind in order:
        rows = sorted(groups[kind], key=lambda r: r["name"])
        title, about = SECTIONS.get(kind, (kind.replace("_", " ").capitalize(), ""))
        table = table_from_records(page, f"downloads-{kind}", rows, DOWNLOAD_COLUMNS, tsv_name=f"downloads.{kind}.{page.release.id}")
        out.append({"kind": kind, "title": title, "about": about.replace("{unit}", page.unit), "table": table, "bytes": sum(r["bytes"] for r in rows)})
    return out


@router.get("/downloads")
def downloads_page(request: Request) -> Response:
    """The download files of the release, in sections by kind."""
    page = page_for(request)
    groups = sections(page)
    return render(page, "downloads.html", sections=groups, total_bytes=sum(s["bytes"] for s in groups),
                  n_files=sum(s["table"].shown for s in groups))


@router.get("/releases/{release}/{path:path}")
def release_file(release: str, path: str, request: Request) -> Response:
    """A download file of a release (only files its manifest lists as downloads)."""
    site = request.app.state.site
    file = site.release(release).download_file(path)
    return FileResponse(file, filename=file.name, headers={"Cache-Control": IMMUTABLE},
                        media_type="application/octet-stream" if file.suffix == ".gz" else None)


@router.get("/studies")
def studies_page(request: Request) -> Response:
    """Every study of the site."""
    page = page_for(request)
    return render(page, "studies.html", studies=page.site.studies())


def _study_files(page: Page, study: dict) -> list[dict]:
    base = "/studies/" + study["id"] + "/files/"
    return [{**f, "name": f["path"], "url": base + f["path"]} for f in study.get("files", [])]


@router.get("/studies/{study}")
def study_page(request: Request, study: str) -> Response:
    """A study: citation, genome build, DOI and files."""
    page = page_for(request)
    data = page.site.study(study)
    files = _study_files(page, data)
    table = table_from_records(page, "study-files", files, [c for c in DOWNLOAD_COLUMNS if c.key not in ("tissue", "modality")],
                               tsv_name=f"study.{data['id']}", empty="No file is published with this study.")
    return render(page, "study.html", study=data, table=table)


@router.get("/studies/{study}/files/{path:path}")
def study_file(request: Request, study: str, path: str) -> Response:
    """A file of a study (only files its manifest lists)."""
    data = request.app.state.site.study(study)
    if not is_clean(path, 500) or path not in {f["path"] for f in data.get("files", [])}:
        raise NotFound("study file", path[:100])
    file = Path(data["path"]) / path
    if not file.is_file():
        raise NotFound("study file", path[:100])
    return FileResponse(file, filename=file.name, headers={"Cache-Control": IMMUTABLE})
