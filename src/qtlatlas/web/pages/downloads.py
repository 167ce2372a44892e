"""Downloads of a release (``/downloads``: the manifest's download files as a matrix of kinds × tissues with
sizes, checksums and descriptions; ``/releases/{release}/SHA256SUMS`` and ``urls.txt`` for bulk download),
the files themselves (``/releases/{release}/{path}``, only files the manifest lists), and the study pages (``/studies``, ``/studies/{id}``, ``/studies/{id}/files/{path}``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, PlainTextResponse, Response

from ...store import BadQuery, NotFound
from ...store.params import is_clean
from ..access import site_of
from .assets import IMMUTABLE
from .context import Page, page_for
from .download_matrix import KindGroup, build_groups, parse_name, sha256sums
from .errors import PageRoute
from .tables import Column, table_from_records
from .templating import render

router = APIRouter(route_class=PageRoute, include_in_schema=False)

#: Sections of the downloads page: file kind (the first part of a file name) -> (title, what the files hold;
#: ``{unit}``: the unit of the release's expression values).
SECTIONS = {
    "top_assoc": ("Top QTL per phenotype", "tensorQTL columns plus gene, position, alleles, TSS distance and log2 aFC; "
                  "one file per tissue × modality, and per modality one file of every tissue (All tissues: a leading "
                  "tissue column, then the same columns)."),
    "indep_assoc": ("Conditionally independent QTLs", "as the top QTL files, with the rank of each signal; per tissue "
                    "and of every tissue (the cross-modality row: the conditionally independent xQTLs)."),
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
    "phenotypes": ("Phenotypes", "BED files (bgzipped, tabix-indexed), phenotypes × samples: normalised (norm) and "
                   "unnormalised input values (raw; expression in {unit})."),
    "log2_counts": ("Read counts, log2(count + 1)", "per tissue, log2(read count + 1) of each phenotype × sample "
                    "(the values of allelic fold change); BED, bgzipped and tabix-indexed."),
    "covariates": ("Covariates", "the covariates used for mapping, in tensorQTL layout."),
    "samples": ("Samples", "sample ids of each tissue; where the atlas gives a sample table, every RNA sample with its "
                "individual, tissue, accession, FASTQ files and metadata in one release-wide file."),
    "individuals": ("Individuals", "every individual with sex, batch, metadata and the tissues sampled."),
    "fastq": ("FASTQ lists", "per tissue, the RNA-seq FASTQ files of each sample with its sample and individual ids."),
    "sample_qc": ("Sample quality control", "every individual's declared sex against the sex marker genes, and "
                  "every sample's RNA against every individual's genotypes at its tissue's strongest cis-QTLs; flag "
                  "marks what needs a look (see the Samples page)."),
    "median_tpm": ("Median expression", "median {unit} per gene and tissue."),
    "genotypes": ("Genotypes", "the genotypes of the mapped samples (bgzipped VCF with its index)."),
    "twas_assoc": ("TWAS associations", "per trait, every model tested, in FUSION's .dat columns (full precision)."),
    "twas_pos": ("TWAS weight panels", "per tissue × modality, FUSION's .pos index of the weight files."),
    "twas_weights": ("TWAS weights", "per tissue × modality, FUSION .wgt.RDat weight files (tar.gz), readable by "
                     "FUSION and by qtlatlas twas assoc."),
    "phenotype_stats": ("Phenotype heritability (TWAS)", "per tissue × modality, every tested phenotype: REML h², its SE "
                        "and p, whether it passed the heritability filter, its best TWAS model with CV R² and p."),
    "predictions": ("Predicted phenotypes", "per tissue × modality, every heritable phenotype predicted from the "
                    "genotypes with its best TWAS model: one line per individual, standardised scale."),
    "coloc": ("Colocalisation", "per trait, coloc.abf of each GWAS locus with every phenotype tested there, in "
              "every tissue × modality (PP.H0–PP.H4, the rows of /api/v1/coloc)."),
    "coloc_susie": ("Colocalisation of credible sets", "per trait, coloc.susie of each GWAS locus (fine-mapped from "
                    "its z-scores with LD from the release genotypes) with every fine-mapped phenotype: one row "
                    "per pair of credible sets (the rows of /api/v1/coloc?method=susie)."),
    "qtl_coloc": ("QTL–QTL colocalisation", "coloc between the significant phenotypes of each gene: two modalities "
                  "of a tissue, or a phenotype in two tissues (the rows of /api/v1/coloc/qtl)."),
}
DOWNLOAD_COLUMNS = [
    Column("name", "File", link="url"), Column("bytes", "Size", "size"), Column("sha256", "sha256", "hash"),
    Column("description", "Description"),
]


def _files(page: Page, release=None) -> list[dict]:
    """The release's download files: manifest rows plus ``name`` (file name) and ``url``."""
    release = release or page.release
    return [{**d, "name": d["path"].rsplit("/", 1)[-1],
             "url": f"/releases/{quote(release.id, safe='')}/{quote(d['path'])}"} for d in release.downloads()]


def groups(page: Page) -> list[KindGroup]:
    """The download files as kinds × tissues (see :mod:`.download_matrix`), kinds in :data:`SECTIONS` order."""
    sections = {k: (title, about.replace("{unit}", page.unit)) for k, (title, about) in SECTIONS.items()}
    return build_groups(_files(page), page.release.id, page.release.tissue_ids(), page.modality_names, sections,
                        unit=page.unit)


@router.get("/downloads")
def downloads_page(request: Request) -> Response:
    """The download files of the release: a matrix of file kinds × tissues, checksums and bulk download."""
    page = page_for(request)
    kinds = groups(page)
    base = str(request.base_url).rstrip("/")
    release = quote(page.release.id, safe="")
    return render(page, "downloads.html", kinds=kinds, tissues=page.release.tissue_ids(),
                  total_bytes=sum(k.bytes for k in kinds), n_files=sum(k.n_files for k in kinds),
                  urls_url=f"{base}/releases/{release}/urls.txt", sums_url=f"{base}/releases/{release}/SHA256SUMS")


def _selected(page: Page, release, kind: str | None, tissue: str | None) -> list[dict]:
    """Download files of ``release``, of one ``kind`` and/or ``tissue`` when given (BadQuery naming the
    parameter when it names none)."""
    files = _files(page, release)
    tissues, mods = set(release.tissue_ids()), set(release.modality_ids())
    parsed = [(f, parse_name(f["name"], tissues, mods)) for f in files]
    if kind is not None:
        kinds = sorted({p["kind"] for _, p in parsed})
        if kind not in kinds:
            raise BadQuery("kind", f"{kind[:60]!r} is no kind of file of release {release.id}; kinds: {', '.join(kinds)}")
        parsed = [(f, p) for f, p in parsed if p["kind"] == kind]
    if tissue is not None:
        if tissue not in tissues:
            raise BadQuery("tissue", f"{tissue[:60]!r} is no tissue of release {release.id}; tissues: "
                           f"{', '.join(sorted(tissues))}")
        parsed = [(f, p) for f, p in parsed if p["tissue"] == tissue]
    return [f for f, _ in parsed]


KindQuery = Annotated[str | None, Query(max_length=100, description="only files of this kind (e.g. top_assoc)")]
TissueQuery = Annotated[str | None, Query(max_length=100, description="only files of this tissue")]


@router.get("/releases/{release}/SHA256SUMS")
def release_checksums(request: Request, release: str, kind: KindQuery = None, tissue: TissueQuery = None) -> Response:
    """The checksums of a release's downloads (all, or of a ``kind`` / ``tissue``), as ``sha256sum -c`` reads
    them: one ``HASH  FILE-NAME`` line per file."""
    page = page_for(request)
    store = page.site.release(release)
    text = sha256sums(_selected(page, store, kind, tissue))
    return PlainTextResponse(text, headers={"Cache-Control": IMMUTABLE})


@router.get("/releases/{release}/urls.txt")
def release_urls(request: Request, release: str, kind: KindQuery = None, tissue: TissueQuery = None) -> Response:
    """The URLs of a release's downloads (all, or of a ``kind`` / ``tissue``), one per line, for
    ``wget -i`` / ``xargs curl -O``."""
    page = page_for(request)
    store = page.site.release(release)
    base = str(request.base_url).rstrip("/")
    text = "".join(f"{base}{f['url']}\n" for f in _selected(page, store, kind, tissue))
    return PlainTextResponse(text, headers={"Cache-Control": "public, max-age=3600"})


@router.get("/releases/{release}/{path:path}")
def release_file(release: str, path: str, request: Request) -> Response:
    """A download file of a release (only files its manifest lists as downloads)."""
    site = site_of(request)
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
    data = site_of(request).study(study)
    if not is_clean(path, 500) or path not in {f["path"] for f in data.get("files", [])}:
        raise NotFound("study file", path[:100])
    file = Path(data["path"]) / path
    if not file.is_file():
        raise NotFound("study file", path[:100])
    return FileResponse(file, filename=file.name, headers={"Cache-Control": IMMUTABLE})
