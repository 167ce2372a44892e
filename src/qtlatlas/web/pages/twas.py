"""The TWAS hub's traits index, projects and trait pages (``/twas``, ``/twas/traits``, ``/twas/projects``,
``/twas/traits/{trait}``: genome-wide plot, loci, associations by panel, cross-trait associations,
downloads). Shared helpers: :mod:`.twas_hub`."""

from __future__ import annotations

import math
from urllib.parse import quote

import numpy as np
import pandas as pd
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ...store import NotFound
from ...store.params import MAX_LIMIT
from ...store.portal import portal_queries
from . import params, twas_hub
from .context import Page, page_for
from .errors import PageRoute
from .evidence import coloc_rows, coloc_settings, coloc_table
from .formatting import finite_list
from .tables import Column, Table, table_from_frame, table_from_records
from .twas_hub import (
    downloads_table,
    gene_hub_url,
    hub_render,
    hub_url,
    locus_url,
    mark_weak,
    mlog10_p,
    no_twas,
    not_found,
    paging,
    panel_info,
    release_downloads,
    rounded,
    set_links,
    trait_associations,
    trait_url,
    weak_column,
    yes_no,
)

router = APIRouter(route_class=PageRoute, include_in_schema=False)

# ------------------------------------------------------------------------------------------------------------
# Traits index and projects
# ------------------------------------------------------------------------------------------------------------

TRAIT_COLUMNS = [
    Column("id", "Trait", link="url"), Column("name", "Name"), Column("n", "N", "int", help="GWAS sample size"),
    Column("project", "Project", filter=True), Column("tags_text", "Tags"),
    Column("n_tested", "Models tested", "int", help="models with a TWAS association (of the models with weights)"),
    Column("n_significant", "Significant models", "int", help="models above the trait's Bonferroni threshold"),
    Column("n_loci", "Loci", "int", help="loci with a significant model (joint/conditional analysis)"),
    Column("n_joint_genes", "Independent genes", "int",
           help="genes of the models kept by the joint (conditional) analysis of the loci"),
    Column("n_genes", "Total genes", "int", help="genes with at least one significant model"),
    Column("bonferroni_p", "Bonferroni p", "p", help="0.05 / models tested"),
]


def _tags_text(tags) -> str:
    return ", ".join(str(t) for t in (tags if tags is not None else []))


def traits_frame(page: Page, frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["tags_text"] = [_tags_text(t) for t in out["tags"]] if len(out) else []
    out["url"] = [trait_url(page, t) for t in out["id"]] if len(out) else []
    return out


@router.get("/twas")
def hub_root(request: Request) -> Response:
    """``/twas``: the traits index."""
    page = page_for(request)
    return RedirectResponse(hub_url(page, "traits"), status_code=303)


@router.get("/twas/traits")
def traits_page(request: Request) -> Response:
    """Traits of the release with their counts; ``?tag=`` and ``?project=`` filter them."""
    page = page_for(request)
    tag = params.text(request, "tag", max_len=100)
    project = params.text(request, "project", max_len=200)
    if not page.release.has_twas():
        return no_twas(page, "traits")
    everything = page.release.twas_traits()
    shown = page.release.twas_traits(tag=tag, project=project)
    frame = traits_frame(page, shown)
    table = table_from_frame(page, "traits-table", frame, TRAIT_COLUMNS, tsv_name=f"twas_traits.{page.release.id}",
                             caption="TWAS traits: models tested, significant models, loci, independent and total "
                                     "genes", empty="No trait matches these filters.",
                             links={"TSV (API)": page.api_url("/twas/traits", tag=tag, project=project, format="tsv")})
    tags = sorted({str(t) for tags in everything["tags"] for t in (tags if tags is not None else [])}, key=str.lower)
    projects = sorted({str(p) for p in everything["project"].dropna()}, key=str.lower)
    data = {"view": "traits", "traits": [{"id": r["id"], "name": r["name"], "n_genes": int(r["n_genes"]),
                                          "n_joint_genes": int(r["n_joint_genes"]), "n_loci": int(r["n_loci"])}
                                         for r in shown.to_dict("records")]}
    return hub_render(page, "twas_traits.html", "traits", uses_plots=True, table=table, tags=tags, projects=projects,
                      tag=tag, project=project, n_all=len(everything), n_shown=len(shown), data=data)


@router.get("/twas/projects")
def projects_page(request: Request) -> Response:
    """Projects of the release's traits (each links to the traits index filtered by project)."""
    page = page_for(request)
    if not page.release.has_twas():
        return no_twas(page, "projects")
    traits = page.release.twas_traits()
    rows = []
    for project, group in traits.groupby(traits["project"].fillna("(none)").astype(str), sort=False):
        rows.append({"project": project, "url": hub_url(page, "traits", project=project),
                     "n_traits": len(group), "traits": ", ".join(str(x) for x in group["name"]),
                     "n_min": int(group["n"].min()), "n_max": int(group["n"].max()),
                     "n_significant": int(group["n_significant"].sum()), "n_loci": int(group["n_loci"].sum()),
                     "n_genes": int(group["n_genes"].sum())})
    rows.sort(key=lambda r: r["project"].lower())
    table = table_from_records(page, "projects-table", rows, [
        Column("project", "Project", link="url"), Column("n_traits", "Traits", "int"), Column("traits", "Trait names"),
        Column("n_min", "Smallest N", "int"), Column("n_max", "Largest N", "int"),
        Column("n_significant", "Significant models", "int", help="summed over the project's traits"),
        Column("n_loci", "Loci", "int", help="summed over the project's traits"),
        Column("n_genes", "Genes", "int", help="significant genes summed over the project's traits")],
        tsv_name=f"twas_projects.{page.release.id}", caption="Projects (GWAS sources) of the TWAS traits",
        empty="No project.")
    return hub_render(page, "twas_projects.html", "projects", table=table, n_projects=len(rows))


# ------------------------------------------------------------------------------------------------------------
# A trait
# ------------------------------------------------------------------------------------------------------------

ASSOC_COLUMNS = [
    Column("gene_name", "Gene"), Column("panel", "Panel", filter=True),
    Column("tissue", "Tissue", filter=True, more=True), Column("modality", "Modality", filter=True, more=True),
    Column("phenotype_id", "Phenotype", short=True, more=True),
    Column("model", "Model", filter=True, help="weights model used (best cross-validation p)", more=True),
    Column("hsq", "h²", "fixed", help="cis-heritability (REML)", more=True),
    Column("model_cv_r2", "CV R²", "fixed", help="cross-validated R² of the model"),
    Column("nsnp", "SNPs", "int", help="SNPs of the model found in the GWAS", more=True),
    Column("twas_z", "TWAS Z", "fixed"), Column("twas_p", "TWAS P", "p"),
    Column("coloc_pp4", "PP4", "fixed", help="coloc posterior of one shared causal variant"),
    Column("significant", "Significant", filter=True, help="above the trait's Bonferroni threshold"),
    Column("locus", "Locus", "int"), Column("joint", "Joint", filter=True,
                                            help="kept by the joint (conditional) analysis of its locus"),
]
PANEL_SUMMARY_COLUMNS = [
    Column("panel", "Panel", link="url"), Column("tissue", "Tissue", link="tissue"), Column("modality", "Modality"),
    Column("n_tested", "Models tested", "int"), Column("n_significant", "Significant", "int"),
    Column("n_genes", "Significant genes", "int"), Column("best_gene", "Best gene"), Column("best_p", "Best P", "p"),
]
LOCUS_COLUMNS = [
    Column("locus", "Locus", "int", link="url"), Column("chrom", "Chr"), Column("start", "Start", "int"),
    Column("end", "End", "int"), Column("n_models", "Models", "int"), Column("n_genes", "Genes", "int"),
    Column("n_joint_genes", "Joint genes", "int"), Column("joint_gene_names", "Independent (joint) genes"),
    Column("best_twas_p", "Best TWAS P", "p"), Column("best_snp_p", "Best GWAS P", "p", help="best SNP of the locus"),
    Column("best_cond_p", "Conditional GWAS P", "p",
           help="smallest p of the locus SNPs conditioned on the joint models (the locus plot's conditional top)"),
    Column("var_exp", "Variance explained", "fixed",
           help="share of the lead SNP's GWAS χ² explained by the joint models (1 when they explain the SNP)"),
]
CORRELATION_COLUMNS = [
    Column("trait", "Trait", link="url"), Column("name", "Name"),
    Column("n_models", "Shared models", "int", help="models tested for both traits (same weights)"),
    Column("r", "r", "fixed", help="Pearson correlation of the TWAS z-scores over the shared models"),
    Column("pval", "P", "p", help="two-sided t-test of r on n − 2 degrees of freedom (treats models as independent)"),
    Column("n_shared_genes", "Shared significant genes", "int"),
]


def _chrom_offsets(page: Page, rows: pd.DataFrame) -> tuple[dict, list, list]:
    """Cumulative offsets of the chromosomes present (natural order), tick positions and labels."""
    order = portal_queries(page.release).chromosome_order()
    span = rows.groupby(rows["chrom"].astype(str), sort=False)["p1"].max()
    names = [c for c in order if c in span.index] + sorted(c for c in span.index if c not in order)
    offsets, ticks, labels, total = {}, [], [], 0
    for c in names:
        offsets[c] = total
        ticks.append(total + int(span[c]) / 2)
        labels.append(str(c).removeprefix("chr"))
        total += int(span[c]) + 1
    return offsets, ticks, labels



def manhattan_data(page: Page, rows: pd.DataFrame, panels: list[dict]) -> dict:
    """Every tested model at the middle of its weight SNPs, genome-wide, with its −log10 P (from Z)."""
    tested = rows[rows["twas_z"].notna() | rows["twas_p"].notna()].reset_index(drop=True)
    empty = {"x": [], "y": [], "gene": [], "panel": [], "z": [], "p": [], "sig": [], "locus": [], "ticks": [],
             "labels": []}
    if tested.empty:
        return empty
    offsets, ticks, labels = _chrom_offsets(page, tested)
    mid = (tested["p0"].to_numpy(np.float64) + tested["p1"].to_numpy(np.float64)) / 2
    x = tested["chrom"].astype(str).map(offsets).to_numpy(np.float64) + mid
    index = {p["id"]: i for i, p in enumerate(panels)}
    return {"x": x.astype(np.int64).tolist(), "y": rounded(mlog10_p(tested["twas_z"], tested["twas_p"]), 3),
            "gene": [str(g) if g == g and g is not None else str(i) for g, i in
                     zip(tested["gene_name"].to_numpy(object), tested["gene_id"].to_numpy(object), strict=True)],
            "panel": [index.get(str(p), -1) for p in tested["panel"]],
            "z": rounded(tested["twas_z"], 3), "p": finite_list(tested["twas_p"].astype(np.float64).tolist()),
            "sig": tested["significant"].fillna(False).astype(bool).astype(np.int8).tolist(),
            "locus": [None if v != v or v is None else int(v) for v in tested["locus"].to_numpy(np.float64)],
            "ticks": ticks, "labels": labels}


def panel_summary(page: Page, tid: str, rows: pd.DataFrame, panels: list[dict]) -> list[dict]:
    out = []
    for p in panels:
        mine = rows[rows["panel"] == p["id"]]
        tested = mine[mine["twas_p"].notna()]
        sig = tested[tested["significant"].fillna(False).astype(bool)]
        best = tested.sort_values("twas_p").head(1)
        out.append({"panel": p["id"], "tissue": p["tissue"], "modality": p["modality"], "n_tested": len(tested),
                    "n_significant": len(sig), "n_genes": sig["gene_id"].nunique(),
                    "best_gene": best["gene_name"].iloc[0] if len(best) else None,
                    "best_p": float(best["twas_p"].iloc[0]) if len(best) else None,
                    "url": trait_url(page, tid, panel=p["id"]) + "#associations"})
    return out


def associations_table(page: Page, tid: str, rows: pd.DataFrame, table_id: str, **options) -> Table:
    shown = rows.copy()
    shown["significant"] = yes_no(shown["significant"])
    shown["joint"] = yes_no(shown["joint"])
    columns = list(ASSOC_COLUMNS)
    if "weak_model" in shown:
        shown["weak_model"] = yes_no(shown["weak_model"])
        columns.insert(columns.index(next(c for c in columns if c.key == "model_cv_r2")) + 1,
                       weak_column(page.release.twas_methods().get("weak_cv_r2")))
    table = table_from_frame(page, table_id, shown, columns, **options)
    mark_weak(table, rows.get("weak_model", [None] * len(rows)))
    loci = [None if v != v or v is None else locus_url(page, tid, int(v)) for v in shown["locus"].to_numpy(np.float64)]
    genes = [gene_hub_url(page, g if g == g and g else i) for g, i in
             zip(shown["gene_name"].to_numpy(object), shown["gene_id"].to_numpy(object), strict=True)]
    return set_links(table, {"gene_name": genes, "locus": loci})


@router.get("/twas/traits/{trait}")
def trait_page(request: Request, trait: str) -> Response:
    """A trait: facts, genome-wide plot, loci, associations by panel (``?panel=``, ``?significant=1``,
    ``?assoc_page=N``), cross-trait associations and downloads."""
    page = page_for(request)
    number = params.integer(request, "assoc_page", 1, maximum=1_000_000)
    only_significant = params.flag(request, "significant", False)
    if not page.release.has_twas():
        return no_twas(page, "traits")
    release = page.release
    try:
        tid = release.check_trait(trait)
    except NotFound as exc:
        return not_found(page, exc, "traits")
    panels = panel_info(page)
    panel = params.choice(request, "panel", [p["id"] for p in panels])
    info = release.twas_trait(tid)
    rows = trait_associations(page, tid)

    # associations, by panel: a summary per panel, and the rows of one panel (or all), paged by the server
    chosen = rows
    if panel is not None:
        chosen = chosen[chosen["panel"] == panel]
    if only_significant:
        chosen = chosen[chosen["significant"].fillna(False).astype(bool)]
    pages = paging(page, number, len(chosen), "assoc_page", "associations")
    part = chosen.iloc[(pages["number"] - 1) * twas_hub.PER_PAGE: pages["number"] * twas_hub.PER_PAGE]
    what = ("significant associations" if only_significant else "associations") + (f" in {panel}" if panel else "")
    assoc = associations_table(
        page, tid, part, "associations-table", caption=f"TWAS {what} of {info['name']}, smallest P first",
        tsv_name=f"twas_associations.{tid}{'.' + panel if panel else ''}.{release.id}", total=len(chosen),
        empty="No association matches.",
        links={"All rows (TSV, API)": page.api_url(f"/twas/traits/{quote(tid, safe='')}/associations",
                                                   panel=panel, significant="true" if only_significant else None,
                                                   format="tsv", limit=MAX_LIMIT)})
    by_panel = table_from_records(page, "panels-table", panel_summary(page, tid, rows, panels), PANEL_SUMMARY_COLUMNS,
                                  caption="Associations by weights panel (select a panel for its rows)",
                                  tsv_name=f"twas_panels.{tid}.{release.id}")
    loci = release.twas_loci(tid)
    loci_frame = loci.assign(url=[locus_url(page, tid, n) for n in loci["locus"]]) if len(loci) else loci
    loci_table = table_from_frame(page, "loci-table", loci_frame, LOCUS_COLUMNS, tsv_name=f"twas_loci.{tid}.{release.id}",
                                  caption="Loci with a significant model, in genome order",
                                  empty="No model of this trait passes the Bonferroni threshold: no locus.",
                                  links={"TSV (API)": page.api_url(f"/twas/traits/{quote(tid, safe='')}/loci",
                                                                   format="tsv")})
    correlations = release.twas_correlations(tid)
    corr_frame = correlations.assign(url=[trait_url(page, t) for t in correlations["trait"]])
    corr_table = table_from_frame(page, "correlations-table", corr_frame, CORRELATION_COLUMNS,
                                  tsv_name=f"twas_correlations.{tid}.{release.id}",
                                  caption=f"Cross-trait association of {info['name']} with every other trait",
                                  empty="No other trait in this release.")
    coloc = coloc_table(page, "coloc-table", f"Colocalisation of {info['name']}'s GWAS loci with every phenotype "
                        "tested there, most probable shared causal variant (PP.H4) first", tid,
                        coloc_rows(page, trait=tid), trait=tid)
    # the store leaves out the trait's files when they hold rows of a tissue this reader may not see
    listed = release_downloads(page, (f"twas_assoc.{tid}.", f"coloc.{tid}."))
    files = downloads_table(page, "trait-downloads", listed, f"twas_downloads.{tid}.{release.id}",
                            "No download file for this trait.")
    data = {"view": "trait", "trait": {"id": tid, "name": info["name"]}, "panels": panels,
            "threshold": float(-math.log10(info["bonferroni_p"])) if info.get("bonferroni_p") else None,
            "zthresh": info.get("zthresh"), "manhattan": manhattan_data(page, rows, panels),
            "correlations": {"trait": correlations["trait"].astype(str).tolist(),
                             "name": correlations["name"].astype(str).tolist(),
                             "r": rounded(correlations["r"], 4), "n": correlations["n_models"].astype(int).tolist(),
                             "p": finite_list(correlations["pval"].astype(np.float64).tolist())}}
    return hub_render(page, "twas_trait.html", "traits", uses_plots=True, trait=info, tid=tid, assoc=assoc,
                      pages=pages, by_panel=by_panel, loci=loci_table, correlations=corr_table, files=files, coloc=coloc,
                      coloc_settings=coloc_settings(page),
                      panels=panels, panel=panel, only_significant=only_significant, data=data,
                      n_rows=len(rows), tags_text=_tags_text(info.get("tags")),
                      json_url=page.api_url(f"/twas/traits/{quote(tid, safe='')}"))


