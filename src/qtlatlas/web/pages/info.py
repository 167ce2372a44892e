"""Pages generated from the atlas and release metadata: Methods (``/about``: data, parameters, the
phenotypes and covariates of each tissue × modality, thresholds actually used, software versions) and Data
access (``/data-access``: raw reads, archives, variant calls, code, how to cite, data-use policy, from
atlas.yaml)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ...mapping.covariate_design import name_runs
from ...store.portal import portal_queries
from .context import page_for
from .errors import PageRoute
from .tables import Column, table_from_frame, table_from_records
from .templating import render

router = APIRouter(route_class=PageRoute, include_in_schema=False)

#: Sections of the data-access page: atlas.yaml key -> (title, what it lists).
ACCESS_SECTIONS = {
    "raw_reads": ("Raw sequencing reads", "Where the RNA-seq reads of every sample are deposited."),
    "archives": ("Processed data archives", "Archived copies of the processed data, with their DOIs."),
    "variant_calls": ("Variant calls", "The source of the genotypes used for mapping."),
    "code": ("Code", "The code that produced the atlas."),
}


#: How the phenotypes of a tissue × modality were obtained (release.json ``inputs[].phenotypes``).
#: How samples were made comparable (release.json ``inputs[].normalization``), for the Methods page.
NORMALIZATION_NAMES = {"quantile": "quantile-normalised samples", "tmm": "TMM-scaled samples",
                       "rank": "no scaling of samples"}
PHENOTYPE_SOURCES = {
    "normalised": "normalised by qtlatlas",
    "as_given": "as given (normalised by the lab)",
    "imported": "imported results",
    "concatenated": "every modality of the tissue, concatenated",
}


def covariate_summary(names: list[str] | None) -> str:
    """The covariates of a tissue × modality in a few words: runs of numbered names shortened
    (``gPC1–3, ePC1–50``, :func:`~qtlatlas.mapping.covariate_design.name_runs`), ``none`` for none, empty
    when unknown."""
    return "" if names is None else name_runs(names)


def _lab_pcs_note(lab_pcs: dict | None) -> str:
    """Why no PC of a kind was computed (release.json ``inputs[].lab_pcs``: kind -> ``{"covariates": the lab's
    covariates taken for such PCs, ...}``), in a few words; empty when every kind asked for was computed."""
    if not lab_pcs:
        return ""
    names = [n for found in lab_pcs.values() for n in found.get("covariates", [])]
    return f": the lab's {covariate_summary(names)} {'is a PC' if len(names) == 1 else 'are PCs'}"


def _inputs_table(page, inputs: list[dict]):
    rows = []
    for r in inputs:
        names, lab = r.get("covariates"), r.get("lab_covariates")
        computed = [n for n in names if n not in set(lab or [])] if names is not None else None
        rows.append({"tissue": r["tissue"], "modality_name": page.modality_names.get(r["modality"], r["modality"]),
                     "phenotypes": PHENOTYPE_SOURCES.get(r.get("phenotypes"), r.get("phenotypes") or "")
                     + (f" ({NORMALIZATION_NAMES.get(r['normalization'], r['normalization'])})"
                        if r.get("normalization") else ""),
                     "n_covariates": len(names) if names is not None else None,
                     "lab": covariate_summary(lab if names is not None else None),
                     "computed": covariate_summary(computed) + _lab_pcs_note(r.get("lab_pcs"))})
    return table_from_records(page, "inputs-table", rows, [
        Column("tissue", "Tissue", link="tissue", filter=True), Column("modality_name", "Modality", filter=True),
        Column("phenotypes", "Phenotypes mapped"),
        Column("n_covariates", "Covariates", "int", help="number of covariates the phenotypes were adjusted for"),
        Column("lab", "The lab's covariates", help="from the covariates file of the tissue and modality"),
        Column("computed", "Computed PCs", help="principal components computed by qtlatlas: gPC of the genotypes, "
               "pPC of the normalised phenotypes; none of a kind when the lab's covariates already hold such PCs")],
        tsv_name=f"inputs.{page.release.id}", caption="Phenotypes and covariates of each tissue and modality")


@router.get("/about")
def about(request: Request) -> Response:
    """Methods, parameters, thresholds and software of the release."""
    page = page_for(request)
    info = page.release.info
    mapping = info.get("mapping") or {}
    thresholds = portal_queries(page.release).threshold_summary().copy()
    thresholds["tissue_name"] = [page.tissue_name(t) for t in thresholds["tissue"]]
    thresholds["modality_name"] = [page.modality_names.get(m, m) for m in thresholds["modality"]]
    threshold_table = table_from_frame(page, "thresholds-table", thresholds, [
        Column("tissue", "Tissue", link="tissue", filter=True), Column("modality_name", "Modality", filter=True),
        Column("n_phenotypes", "Tested", "int", help="phenotypes or groups tested"),
        Column("n_significant", "Significant", "int", help="q-value ≤ FDR"),
        Column("pval_beta_threshold", "Permutation p bar", "p",
               help="genome-wide bar on the permutation p-value (pval_beta) that q ≤ FDR implies"),
        Column("median_nominal_threshold", "Median nominal p bar", "p",
               help="median over phenotypes of pval_nominal_threshold, the nominal p bar of significant pairs")],
        tsv_name=f"thresholds.{page.release.id}", caption="Significance thresholds used, per tissue and modality")
    modality_rows = [{**m, "grouped": "yes" if m.get("grouped") else "no"} for m in page.modalities]
    modalities = table_from_records(page, "modalities-table", modality_rows, [
        Column("id", "Id"), Column("name", "Name"), Column("grouped", "Grouped"), Column("description", "Description")],
        tsv_name=f"modalities.{page.release.id}")
    software = sorted((info.get("software") or {}).items())
    inputs = info.get("inputs") or []  # absent from releases built before it was recorded
    return render(page, "about.html", info=info, mapping=mapping, thresholds=threshold_table, modalities=modalities,
                  software=software, counts=info.get("counts") or {},
                  inputs=_inputs_table(page, inputs) if inputs else None,
                  phenotype_sources={r.get("phenotypes") for r in inputs},
                  normalizations={r.get("normalization") or "quantile" for r in inputs
                                  if r.get("phenotypes") == "normalised"} or {"quantile"})


@router.get("/data-access")
def data_access(request: Request) -> Response:
    """How to obtain, cite and use the data (atlas.yaml's data_access)."""
    page = page_for(request)
    access = page.site.atlas.get("data_access") or {}
    sections = [{"key": k, "title": title, "about": about, "links": list(access.get(k) or [])}
                for k, (title, about) in ACCESS_SECTIONS.items()]
    return render(page, "data_access.html", sections=sections, citation=access.get("citation") or "",
                  data_use=access.get("data_use") or "", studies=page.site.studies(), items=_cited_items(page))


#: How each kind of item is named on the data-access page, and the page it links to.
ITEM_KINDS = {"release": ("Release", "/downloads?release={id}"), "tissue": ("Tissue", "/tissue/{id}"),
              "study": ("Study", "/studies/{id}"), "trait": ("TWAS trait", "/twas/traits/{id}")}


def _cited_items(page) -> list[dict]:
    """The citation and data-use texts of the releases, tissues, studies and traits the reader may see."""
    names = {t.get("id"): t.get("name") for t in page.site.atlas.get("tissues") or [] if isinstance(t, dict)}
    out = []
    for item in page.site.cited_items():
        label, url = ITEM_KINDS.get(item["kind"], (item["kind"], ""))
        out.append({**item, "label": label, "url": url.format(id=item["id"]) if url else "",
                    "name": names.get(item["id"], item["id"]) if item["kind"] == "tissue" else item["id"]})
    return out
