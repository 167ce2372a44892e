"""The TWAS hub pages (``/twas/...``) of a release: traits index, a trait (genome-wide plot, loci, associations
by panel, cross-trait associations, downloads), a locus (marginal and conditional GWAS with a gene track, its
models), a gene (models per tissue × modality, trait × model Z heatmap), weights panels and models, projects.

Every page reads through the store's TWAS queries (:mod:`qtlatlas.store.twas`). A release built without TWAS
answers a "no TWAS in this release" page (200, with links to the releases that have TWAS); an unknown trait,
locus or gene answers a 404 page whose suggestions link to hub pages.

−log10 p of the plots is computed from the z-score when there is one (``p = 2 Φ(−|z|)`` in log space), so that
models or SNPs whose p-value underflowed to 0 are drawn at their true height.
"""

from __future__ import annotations

import difflib
import math
import threading
from urllib.parse import quote

import numpy as np
import pandas as pd
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ...store import BadQuery, NotFound
from ...store.params import MAX_LIMIT, encode_cursor
from ...store.portal import portal_queries
from . import params
from .context import Page, page_for
from .errors import PageRoute
from .formatting import finite_list
from .tables import Column, Table, table_from_frame, table_from_records
from .templating import render

router = APIRouter(route_class=PageRoute, include_in_schema=False)

#: Rows per page of the server-paged tables (a trait's associations, the models of the panels page).
PER_PAGE = 100
#: Weight models of the TWAS weights, in the order shown.
METHODS = ("top1", "lasso", "enet", "blup")
METHOD_NAMES = {"top1": "top1", "lasso": "LASSO", "enet": "elastic net", "blup": "BLUP"}
#: Marker symbols of the modalities on the genome-wide plot (by modality order in the release).
SYMBOLS = ("circle", "diamond", "square", "triangle-up", "cross", "x", "star", "pentagon")
#: Largest −log10 p drawn (a z-score of about 37 already gives 300).
MAX_MLOG10 = 1000.0
_LN10 = math.log(10.0)
_LOG2 = math.log(2.0)

# ------------------------------------------------------------------------------------------------------------
# Links and small helpers
# ------------------------------------------------------------------------------------------------------------


def hub_url(page: Page, *parts: object, **query) -> str:
    """A hub URL ``/twas/part/part…`` (each part quoted) that keeps the browsed release."""
    return page.url("/twas/" + "/".join(quote(str(p), safe="") for p in parts), **query)


def trait_url(page: Page, trait: str, **query) -> str:
    return hub_url(page, "traits", trait, **query)


def locus_url(page: Page, trait: str, number: int) -> str:
    return hub_url(page, "traits", trait, "loci", int(number))


def gene_hub_url(page: Page, gene: str) -> str:
    return hub_url(page, "genes", gene)


def mlog10_p(z, p) -> np.ndarray:
    """−log10 of a two-sided normal p-value: from ``z`` where it is finite (exact when ``p`` underflowed to 0),
    else from ``p``; NaN where neither is known."""
    z = np.asarray(pd.to_numeric(pd.Series(z), errors="coerce"), dtype=np.float64)
    p = np.asarray(pd.to_numeric(pd.Series(p), errors="coerce"), dtype=np.float64)
    from scipy.special import log_ndtr  # here, not at import: the portal starts without SciPy

    with np.errstate(divide="ignore", invalid="ignore"):
        from_z = -(log_ndtr(-np.abs(z)) + _LOG2) / _LN10
        from_p = -np.log10(np.clip(p, 1e-320, 1.0))
    out = np.where(np.isfinite(z), from_z, from_p)
    return np.minimum(out, MAX_MLOG10)


def rounded(values, digits: int = 4) -> list:
    """Finite values rounded for the embedded JSON (NaN as None)."""
    arr = np.round(np.asarray(values, dtype=np.float64), digits)
    return finite_list(arr.tolist())


def yes_no(values) -> list:
    """Booleans as ``yes``/``no`` (missing stays missing), for tables and their TSV."""
    out = []
    for v in values:
        if v is None or (isinstance(v, float) and v != v) or v is pd.NA:
            out.append(None)
        else:
            out.append("yes" if bool(v) else "no")
    return out


def set_links(table: Table, links: dict[str, list]) -> Table:
    """Give the cells of some columns links (``{column key: [href or None per row]}``)."""
    keys = [c.key for c in table.columns]
    for key, hrefs in links.items():
        if key not in keys:
            continue
        j = keys.index(key)
        for row, href in zip(table.rows, hrefs, strict=True):
            text, raw, _ = row[j]
            row[j] = (text, raw, href)
    return table


def paging(page: Page, number: int, total: int, param: str, anchor: str) -> dict:
    """Pager links of a server-paged table (``param`` is the page parameter)."""
    count = max(1, -(-total // PER_PAGE))
    number = min(number, count)

    def link(n: int) -> str:
        return page.url_with(**{param: str(n)}) + "#" + anchor

    return {"number": number, "count": count, "prev": link(number - 1) if number > 1 else None,
            "next": link(number + 1) if number < count else None}


def release_downloads(page: Page, prefixes: tuple[str, ...]) -> list[dict]:
    """Download files of the release (manifest) whose names start with one of ``prefixes``."""
    out = []
    for d in page.release.downloads():
        name = d["path"].rsplit("/", 1)[-1]
        if name.startswith(prefixes):
            out.append({**d, "name": name, "url": page.file_url(d["path"])})
    return sorted(out, key=lambda r: r["name"])


DOWNLOAD_COLUMNS = [Column("name", "File", link="url"), Column("bytes", "Size", "size"),
                    Column("sha256", "sha256", "hash"), Column("description", "Description")]


def downloads_table(page: Page, table_id: str, rows: list[dict], tsv_name: str, empty: str) -> Table:
    return table_from_records(page, table_id, rows, DOWNLOAD_COLUMNS, tsv_name=tsv_name, empty=empty)


def all_rows(fetch) -> pd.DataFrame:
    """Every row of a paged store query (``fetch(cursor) -> (rows, total, next_cursor)``)."""
    frames, cursor = [], None
    while True:
        rows, _, cursor = fetch(cursor)
        frames.append(rows)
        if not cursor:
            break
    frames = [f for f in frames if len(f)] or frames[:1]
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0].reset_index(drop=True)


def trait_associations(page: Page, tid: str) -> pd.DataFrame:
    """Every association row of a trait, the smallest TWAS p first (untested models last)."""
    return all_rows(lambda cursor: page.release.twas_associations(tid, sort="twas_p", limit=MAX_LIMIT,
                                                                  cursor=cursor))


# -- per-release summaries of every model (computed once per release and process) ----------------------------

_SUMMARIES: dict[tuple[str, str], dict] = {}
_SUMMARY_LOCK = threading.Lock()


def model_summary(page: Page) -> dict:
    """``best`` (panel -> {method: models whose best model it is}) and ``genes`` (names and ids of the genes
    with a model), read once per release (releases do not change once published)."""
    key = (str(page.release.path), page.release.id)
    found = _SUMMARIES.get(key)
    if found is not None:
        return found
    with _SUMMARY_LOCK:
        found = _SUMMARIES.get(key)
        if found is None:
            models = all_rows(lambda cursor: page.release.twas_models(sort="panel", limit=MAX_LIMIT, cursor=cursor))
            best: dict[str, dict[str, int]] = {}
            if len(models):
                counts = models.groupby(["panel", "best_model"], dropna=True).size()
                for (panel, method), n in counts.items():
                    best.setdefault(str(panel), {})[str(method)] = int(n)
            names = sorted({str(n) for n in models.get("gene_name", pd.Series(dtype=object)).dropna()})
            ids = sorted({str(g) for g in models.get("gene_id", pd.Series(dtype=object)).dropna()})
            found = {"best": best, "genes": names, "gene_ids": ids, "n_models": len(models)}
            _SUMMARIES[key] = found
    return found


# ------------------------------------------------------------------------------------------------------------
# The hub frame: navigation, no TWAS, not found
# ------------------------------------------------------------------------------------------------------------


def hub_nav(page: Page, current: str) -> list[dict]:
    items = [("traits", "Traits", hub_url(page, "traits")), ("projects", "Projects", hub_url(page, "projects")),
             ("panels", "Panels and models", hub_url(page, "panels")),
             ("downloads", "TWAS downloads", page.url("/downloads") + "#kind-twas_assoc")]
    return [{"key": k, "label": label, "url": url, "current": k == current} for k, label, url in items]


def hub_render(page: Page, template: str, section: str, status_code: int = 200, **context) -> Response:
    return render(page, template, status_code=status_code, hub=hub_nav(page, section), **context)


def releases_with_twas(page: Page) -> list[dict]:
    out = []
    for r in page.releases:
        try:
            if page.site.release(r["id"]).has_twas():
                out.append({"id": r["id"], "latest": r["latest"], "url": page.url_for_release(r["id"])})
        except (NotFound, OSError):  # a release that cannot be opened is not offered
            continue
    return out


def no_twas(page: Page, section: str) -> Response:
    """The "no TWAS in this release" page (not an error: 200)."""
    return hub_render(page, "twas_none.html", section, others=releases_with_twas(page))


def _trait_links(page: Page) -> list[dict]:
    try:
        traits = page.release.twas_traits()
    except NotFound:
        return []
    return [{"label": f"{r['name']} ({r['id']})", "url": trait_url(page, r["id"])}
            for r in traits[["id", "name"]].to_dict("records")]


def not_found(page: Page, exc: NotFound, section: str, trait: str | None = None) -> Response:
    """A 404 page of the hub: what was not found, links to what may have been meant, and the traits."""
    what = str(getattr(exc, "what", "") or "page")
    found = [str(s) for s in getattr(exc, "suggestions", None) or []]
    suggestions: list[dict] = []
    if what == "trait":
        suggestions = [{"label": s, "url": trait_url(page, s)} for s in found]
    elif what == "gene":
        key = str(getattr(exc, "key", "") or "")
        names = model_summary(page)["genes"]
        lower = {n.lower(): n for n in names}
        close = [lower[c] for c in difflib.get_close_matches(key.lower(), list(lower), n=5, cutoff=0.5)]
        close += [n for n in names if key and n.lower().startswith(key.lower()[:3]) and n not in close][:5 - len(close)]
        suggestions = [{"label": f"{g} (TWAS models)", "url": gene_hub_url(page, g)} for g in close]
        suggestions += [{"label": g, "url": gene_hub_url(page, g)} for g in found if g not in close]
    elif what == "locus" and trait is not None:
        loci = page.release.twas_loci(trait)
        suggestions = [{"label": f"Locus {int(r['locus'])}: {r['chrom']}:{int(r['start']):,}–{int(r['end']):,} "
                                 f"({r['joint_gene_names'] or 'no joint gene'})",
                        "url": locus_url(page, trait, r["locus"])} for r in loci.to_dict("records")]
    return hub_render(page, "twas_404.html", section, status_code=404, title=f"{what.capitalize()} not found",
                      message=str(exc), suggestions=suggestions, traits=_trait_links(page), what=what,
                      query=str(getattr(exc, "key", "") or "")[:100] if what == "gene" else "")


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
    Column("gene_name", "Gene"), Column("panel", "Panel", filter=True), Column("tissue", "Tissue", filter=True),
    Column("modality", "Modality", filter=True), Column("phenotype_id", "Phenotype"),
    Column("model", "Model", filter=True, help="weights model used (best cross-validation p)"),
    Column("hsq", "h²", "fixed", help="cis-heritability (REML)"),
    Column("model_cv_r2", "CV R²", "fixed", help="cross-validated R² of the model"),
    Column("nsnp", "SNPs", "int", help="SNPs of the model found in the GWAS"),
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
    Column("cond_snp_p", "Conditional GWAS P", "p", help="best SNP after conditioning on the joint models"),
    Column("var_exp", "Variance explained", "fixed",
           help="share of the locus's GWAS signal explained by the joint models"),
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


def panel_info(page: Page) -> list[dict]:
    """The release's panels with their colours (tissue) and marker symbols (modality)."""
    panels = page.release.twas_panels()
    mods = [m["id"] for m in page.modalities]
    out = []
    for r in panels.to_dict("records"):
        m = str(r["modality"])
        out.append({"id": str(r["panel"]), "tissue": str(r["tissue"]), "modality": m,
                    "name": f"{page.tissue_name(str(r['tissue']))} · {page.modality_names.get(m, m)}",
                    "colour": page.tissue_colour(str(r["tissue"])),
                    "symbol": SYMBOLS[mods.index(m) % len(SYMBOLS)] if m in mods else SYMBOLS[0]})
    return out


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
    table = table_from_frame(page, table_id, shown, ASSOC_COLUMNS, **options)
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
    part = chosen.iloc[(pages["number"] - 1) * PER_PAGE: pages["number"] * PER_PAGE]
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
    files = downloads_table(page, "trait-downloads", release_downloads(page, (f"twas_assoc.{tid}.",)),
                            f"twas_downloads.{tid}.{release.id}", "No download file for this trait.")
    data = {"view": "trait", "trait": {"id": tid, "name": info["name"]}, "panels": panels,
            "threshold": float(-math.log10(info["bonferroni_p"])) if info.get("bonferroni_p") else None,
            "zthresh": info.get("zthresh"), "manhattan": manhattan_data(page, rows, panels),
            "correlations": {"trait": correlations["trait"].astype(str).tolist(),
                             "name": correlations["name"].astype(str).tolist(),
                             "r": rounded(correlations["r"], 4), "n": correlations["n_models"].astype(int).tolist(),
                             "p": finite_list(correlations["pval"].astype(np.float64).tolist())}}
    return hub_render(page, "twas_trait.html", "traits", uses_plots=True, trait=info, tid=tid, assoc=assoc,
                      pages=pages, by_panel=by_panel, loci=loci_table, correlations=corr_table, files=files,
                      panels=panels, panel=panel, only_significant=only_significant, data=data,
                      n_rows=len(rows), tags_text=_tags_text(info.get("tags")),
                      json_url=page.api_url(f"/twas/traits/{quote(tid, safe='')}"))


# ------------------------------------------------------------------------------------------------------------
# A locus
# ------------------------------------------------------------------------------------------------------------

LOCUS_MODEL_COLUMNS = [
    Column("gene_name", "Gene"), Column("panel", "Panel", filter=True), Column("tissue", "Tissue", filter=True),
    Column("modality", "Modality", filter=True), Column("phenotype_id", "Phenotype"), Column("model", "Model"),
    Column("hsq", "h²", "fixed", help="cis-heritability (REML)"),
    Column("model_cv_r2", "CV R²", "fixed", help="cross-validated R² of the model"),
    Column("model_cv_pval", "CV P", "p", help="cross-validation p-value of the model"),
    Column("nsnp", "SNPs", "int"), Column("twas_z", "TWAS Z", "fixed"), Column("twas_p", "TWAS P", "p"),
    Column("coloc_pp3", "PP3", "fixed", help="coloc posterior of two distinct causal variants"),
    Column("coloc_pp4", "PP4", "fixed", help="coloc posterior of one shared causal variant"),
    Column("joint", "Joint", filter=True, help="kept by the joint (conditional) analysis of the locus"),
    Column("joint_z", "Joint Z", "fixed", help="z of a joint model in the joint model"),
    Column("joint_p", "Joint P", "p"),
    Column("cond_z", "Conditional Z", "fixed", help="z of a model conditioned on the joint models"),
    Column("cond_p", "Conditional P", "p"),
    Column("top_snp_cor", "r with top SNP", "fixed", help="correlation of the predicted expression with the best GWAS SNP"),
]


def gene_track(page: Page, models: list[dict], span: tuple[int, int] | None = None) -> list[dict]:
    """Genes of a locus's models with their coordinates, joint flag and a track row (genes and their labels do
    not overlap within a row; ``span`` is the plotted range)."""
    genes: dict[str, dict] = {}
    for m in models:
        gid = str(m["gene_id"])
        g = genes.get(gid)
        if g is None:
            try:
                row = page.release.resolve_gene(gid)
                start, end, strand = int(row["start"]), int(row["end"]), row.get("strand")
                name = row.get("gene_name") or m.get("gene_name") or gid
            except NotFound:  # not in the genes table: the model's weight SNPs
                start, end, strand, name = int(m["p0"]), int(m["p1"]), None, m.get("gene_name") or gid
            g = genes[gid] = {"id": gid, "name": str(name), "start": start, "end": end, "strand": strand,
                              "joint": False, "best_p": None, "n_models": 0}
        g["n_models"] += 1
        g["joint"] = g["joint"] or bool(m.get("joint"))
        p = m.get("twas_p")
        if p is not None and (g["best_p"] is None or p < g["best_p"]):
            g["best_p"] = p
    ordered = sorted(genes.values(), key=lambda g: (g["start"], g["end"], g["name"]))
    lo = min([g["start"] for g in ordered] + ([int(span[0])] if span else []), default=0)
    hi = max([g["end"] for g in ordered] + ([int(span[1])] if span else []), default=1)
    width = max(hi - lo, 1)
    rows_end: list[float] = []
    for g in ordered:
        # a gene and its label (about 0.6 % of the plot width per character) must not overlap another in its row
        half = max((g["end"] - g["start"]) / 2, width * (0.006 * len(g["name"]) + 0.01) / 2)
        mid = (g["start"] + g["end"]) / 2
        left, right = mid - half, mid + half
        for k, end in enumerate(rows_end):
            if left > end:
                g["row"] = k
                rows_end[k] = right
                break
        else:
            g["row"] = len(rows_end)
            rows_end.append(right)
        g["url"] = gene_hub_url(page, g["name"])
    return ordered


@router.get("/twas/traits/{trait}/loci/{n}")
def locus_page(request: Request, trait: str, n: str) -> Response:
    """A locus of a trait: marginal and conditional GWAS with the genes of its models, and its models."""
    page = page_for(request)
    if not page.release.has_twas():
        return no_twas(page, "traits")
    release = page.release
    try:
        tid = release.check_trait(trait)
    except NotFound as exc:
        return not_found(page, exc, "traits")
    try:
        data = release.twas_locus(tid, n)  # the store checks the number
    except NotFound as exc:
        return not_found(page, exc, "traits", trait=tid)
    info = release.twas_trait(tid)
    locus, models = data["locus"], data["models"]
    number = int(locus["locus"])
    count = int(info.get("n_loci") or 0)
    frame = pd.DataFrame.from_records(models) if models else pd.DataFrame(columns=["gene_name", "gene_id", "joint"])
    if len(frame):
        frame["joint"] = yes_no(frame["joint"])
    table = table_from_frame(page, "models-table", frame, LOCUS_MODEL_COLUMNS,
                             tsv_name=f"twas_locus.{tid}.{number}.{release.id}",
                             caption="Models of the locus: joint models first, then by TWAS P", empty="No model.")
    set_links(table, {"gene_name": [gene_hub_url(page, g if g else i) for g, i in
                                    zip(frame.get("gene_name", []), frame.get("gene_id", []), strict=True)]})
    gwas = pd.DataFrame.from_records(data["gwas"]) if data["gwas"] else pd.DataFrame(
        columns=["variant_id", "pos", "gwas_z", "gwas_p", "cond_z", "cond_p"])
    gwas_table = table_from_frame(page, "gwas-table", gwas.sort_values("gwas_p", na_position="last").head(50), [
        Column("variant_id", "Variant", link="variant"), Column("pos", "Position", "int"),
        Column("gwas_z", "GWAS Z", "fixed"), Column("gwas_p", "GWAS P", "p"),
        Column("cond_z", "Conditional Z", "fixed", help="after conditioning on the joint models"),
        Column("cond_p", "Conditional P", "p")],
        tsv_name=f"twas_locus_gwas.{tid}.{number}.{release.id}", total=len(gwas),
        caption="Most significant GWAS SNPs of the locus, marginal and conditional on the joint models",
        empty="No GWAS SNP in this locus.",
        links={"Every SNP (JSON, API)": page.api_url(f"/twas/traits/{quote(tid, safe='')}/loci/{number}")})
    lo = min([int(locus["start"])] + ([int(gwas["pos"].min())] if len(gwas) else []))
    hi = max([int(locus["end"])] + ([int(gwas["pos"].max())] if len(gwas) else []))
    genes = gene_track(page, models, (lo, hi))
    plot = {"view": "locus", "trait": {"id": tid, "name": info["name"]},
            "locus": {k: locus.get(k) for k in ("locus", "chrom", "start", "end", "p0", "p1")},
            "gwas": {"variant": gwas["variant_id"].astype(str).tolist(), "pos": gwas["pos"].astype(np.int64).tolist(),
                     "y": rounded(mlog10_p(gwas["gwas_z"], gwas["gwas_p"]), 3),
                     "cy": rounded(mlog10_p(gwas["cond_z"], gwas["cond_p"]), 3),
                     "z": rounded(gwas["gwas_z"], 3), "cz": rounded(gwas["cond_z"], 3)},
            "genes": genes, "gwas_threshold": -math.log10(5e-8)}
    nav = {"prev": locus_url(page, tid, number - 1) if number > 1 else None,
           "next": locus_url(page, tid, number + 1) if number < count else None}
    return hub_render(page, "twas_locus.html", "traits", uses_plots=True, trait=info, tid=tid, locus=locus,
                      number=number, count=count, table=table, gwas=gwas_table, genes=genes, locus_nav=nav, data=plot,
                      trait_link=trait_url(page, tid),
                      n_joint=sum(1 for m in models if m.get("joint")), n_models=len(models))


# ------------------------------------------------------------------------------------------------------------
# A gene
# ------------------------------------------------------------------------------------------------------------

GENE_MODEL_COLUMNS = [
    Column("tissue", "Tissue", link="tissue", filter=True), Column("modality", "Modality", filter=True),
    Column("panel", "Panel"), Column("phenotype_id", "Phenotype"), Column("n", "Samples", "int"),
    Column("n_snps", "SNPs", "int", help="SNPs in the weights window"),
    Column("hsq", "h²", "fixed", help="cis-heritability (REML)"), Column("hsq_se", "h² SE", "fixed"),
    Column("hsq_pval", "h² P", "p"),
    *[c for m in METHODS for c in (
        Column(f"{m}_r2", f"{METHOD_NAMES[m]} CV R²", "fixed", help=f"cross-validated R² of {METHOD_NAMES[m]}"),
        Column(f"{m}_pval", f"{METHOD_NAMES[m]} CV P", "p", help=f"cross-validation p-value of {METHOD_NAMES[m]}"))],
    Column("best_model", "Best model", filter=True, help="the model used for the associations (best CV P)"),
]
GENE_ASSOC_COLUMNS = [
    Column("trait", "Trait"), Column("panel", "Panel", filter=True), Column("tissue", "Tissue", filter=True),
    Column("modality", "Modality", filter=True), Column("phenotype_id", "Phenotype"), Column("model", "Model"),
    Column("twas_z", "TWAS Z", "fixed"), Column("twas_p", "TWAS P", "p"),
    Column("significant", "Significant", filter=True), Column("joint", "Joint", filter=True),
    Column("locus", "Locus", "int"),
]


def _grid(page: Page, models: pd.DataFrame, panels: list[dict]) -> dict:
    """Tissue × modality overview of a gene's models: models, best h² and best CV R² per cell (None: a panel
    without a model of the gene; absent: no panel)."""
    panel_keys = {(p["tissue"], p["modality"]) for p in panels}
    tissues = [t for t in dict.fromkeys(p["tissue"] for p in panels)]
    mods = [m for m in dict.fromkeys(p["modality"] for p in panels)]
    r2 = [f"{m}_r2" for m in METHODS if f"{m}_r2" in models.columns]
    rows = []
    for t in tissues:
        cells = []
        for m in mods:
            if (t, m) not in panel_keys:
                cells.append({"state": "none"})
                continue
            mine = models[(models["tissue"] == t) & (models["modality"] == m)] if len(models) else models
            if not len(mine):
                cells.append({"state": "empty"})
                continue
            best_r2 = np.nanmax(mine[r2].to_numpy(np.float64)) if r2 else np.nan
            cells.append({"state": "model", "n": len(mine), "hsq": float(mine["hsq"].max()),
                          "r2": None if not np.isfinite(best_r2) else float(best_r2)})
        rows.append({"tissue": t, "name": page.tissue_name(t), "colour": page.tissue_colour(t), "cells": cells})
    return {"modalities": [{"id": m, "name": page.modality_names.get(m, m)} for m in mods], "rows": rows}


def model_labels(page: Page, models: list[dict]) -> dict[tuple[str, str], tuple[str, str]]:
    """Short and full labels of a gene's models, by (panel, phenotype): ``Tissue · Modality`` (numbered when the
    gene has several models in a panel, e.g. splicing clusters) and the same with the phenotype id."""
    per_panel: dict[str, int] = {}
    for m in models:
        per_panel[str(m["panel"])] = per_panel.get(str(m["panel"]), 0) + 1
    seen: dict[str, int] = {}
    out = {}
    for m in models:
        panel, pheno = str(m["panel"]), str(m["phenotype_id"])
        base = f"{page.tissue_name(str(m['tissue']))} · {page.modality_names.get(str(m['modality']), m['modality'])}"
        if per_panel[panel] > 1:
            seen[panel] = seen.get(panel, 0) + 1
            base += f" #{seen[panel]}"
        out[(panel, pheno)] = (base, f"{base} ({pheno})")
    return out


def gene_plot_data(page: Page, result: dict, names: dict[str, str]) -> dict:
    """The trait × model Z matrix (with P and significance) and h² / CV R² per method of a gene's models."""
    matrix = result["matrix"]
    labels = model_labels(page, result["models"])
    lookup = {(str(r["trait"]), str(r["panel"]), str(r["phenotype_id"])): r for r in result["associations"]}
    keys = [(str(m["panel"]), str(m["phenotype_id"])) for m in matrix["models"]]

    def cell(trait: str, key: tuple[str, str]) -> dict:
        return lookup.get((trait, *key)) or {}

    models = pd.DataFrame.from_records(result["models"]) if result["models"] else pd.DataFrame()
    methods = [m for m in METHODS if f"{m}_r2" in models.columns and models[f"{m}_r2"].notna().any()]
    model_keys = list(zip(models.get("panel", []), models.get("phenotype_id", []), strict=True))
    return {"view": "gene", "gene": {k: result["gene"].get(k) for k in ("gene_id", "gene_name", "chrom", "start", "end")},
            "zmap": {"traits": matrix["traits"], "names": [names.get(t, t) for t in matrix["traits"]],
                     "models": [labels.get(k, (k[1], k[1]))[0] for k in keys],
                     "full": [labels.get(k, (k[1], k[1]))[1] for k in keys],
                     "z": [[None if v is None else round(float(v), 4) for v in row] for row in matrix["z"]],
                     "p": [[cell(t, k).get("twas_p") for k in keys] for t in matrix["traits"]],
                     "sig": [[int(bool(cell(t, k).get("significant"))) for k in keys] for t in matrix["traits"]]},
            "cv": {"labels": [labels[(str(p), str(ph))][0] for p, ph in model_keys],
                   "full": [labels[(str(p), str(ph))][1] for p, ph in model_keys],
                   "hsq": rounded(models["hsq"], 4) if len(models) else [],
                   "methods": [{"id": m, "name": METHOD_NAMES[m], "r2": rounded(models[f"{m}_r2"], 4)}
                               for m in methods]}}


@router.get("/twas/genes")
def gene_search(request: Request) -> Response:
    """``?q=GENE``: the hub page of that gene."""
    page = page_for(request)
    q = params.text(request, "q", max_len=100)
    if q is None:
        raise BadQuery("q", "give a gene symbol or id")
    return RedirectResponse(gene_hub_url(page, q), status_code=303)


@router.get("/twas/genes/{gene}")
def gene_page(request: Request, gene: str) -> Response:
    """A gene's TWAS: models per tissue × modality (h² and CV per method), trait × model Z, associations."""
    page = page_for(request)
    if not page.release.has_twas():
        return no_twas(page, "genes")
    release = page.release
    try:
        result = release.twas_gene(gene)
    except NotFound as exc:
        return not_found(page, exc, "genes")
    g = result["gene"]
    name = g.get("gene_name") or g["gene_id"]
    traits = release.twas_traits()
    names = dict(zip(traits["id"].astype(str), traits["name"].astype(str), strict=True))
    panels = panel_info(page)
    models = pd.DataFrame.from_records(result["models"]) if result["models"] else pd.DataFrame(
        columns=[c.key for c in GENE_MODEL_COLUMNS])
    empty_methods = [f"{m}_{s}" for m in METHODS for s in ("r2", "pval")
                     if f"{m}_r2" not in models.columns or not models[f"{m}_r2"].notna().any()]
    models_table = table_from_frame(
        page, "gene-models-table", models, [c for c in GENE_MODEL_COLUMNS if c.key not in empty_methods],
        tsv_name=f"twas_models.{name}.{release.id}", caption=f"TWAS models of {name} per tissue × modality",
        empty=f"{name} has no TWAS model in this release (no heritable phenotype in any panel).",
        links={"TSV (API)": page.api_url("/twas/models", gene=g["gene_id"], format="tsv", limit=MAX_LIMIT)})
    assoc = pd.DataFrame.from_records(result["associations"]) if result["associations"] else pd.DataFrame(
        columns=[c.key for c in GENE_ASSOC_COLUMNS])
    if len(assoc):
        assoc["significant"] = yes_no(assoc["significant"])
        assoc["joint"] = yes_no(assoc["joint"])
        assoc = assoc.sort_values(["twas_p", "trait", "panel"], na_position="last").reset_index(drop=True)
    assoc_table = table_from_frame(page, "gene-assoc-table", assoc, GENE_ASSOC_COLUMNS,
                                   tsv_name=f"twas_gene_associations.{name}.{release.id}",
                                   caption=f"Associations of the models of {name} with every trait, smallest P first",
                                   empty="No association.")
    set_links(assoc_table, {
        "trait": [trait_url(page, t) for t in assoc.get("trait", [])],
        "locus": [None if v is None or v != v else locus_url(page, t, int(v))
                  for t, v in zip(assoc.get("trait", []), assoc.get("locus", []), strict=True)]})
    significant = sorted({names.get(str(t), str(t)) for t, s in zip(assoc.get("trait", []), assoc.get("significant", []),
                                                                    strict=True) if s == "yes"})
    return hub_render(page, "twas_gene.html", "genes", uses_plots=True, gene=g, name=name, models=models_table,
                      assoc=assoc_table, grid=_grid(page, models, panels), n_models=len(models),
                      significant=significant, data=gene_plot_data(page, result, names),
                      gene_url=page.gene_url(name))


# ------------------------------------------------------------------------------------------------------------
# Panels and models
# ------------------------------------------------------------------------------------------------------------

PANEL_COLUMNS = [
    Column("panel", "Panel", link="url"), Column("tissue", "Tissue", link="tissue", filter=True),
    Column("modality", "Modality", filter=True), Column("n_samples", "Samples", "int"),
    Column("n_phenotypes", "Phenotypes", "int", help="phenotypes considered (before the heritability filter)"),
    Column("n_models", "Models", "int", help="phenotypes with weights (heritable)"),
    Column("n_genes", "Genes", "int"), Column("n_weights", "Weights", "int", help="SNP weights over every model"),
    Column("mean_hsq", "Mean h²", "fixed"), Column("window", "Window (bp)", "int"),
    Column("crossval", "CV folds", "int"), Column("hsq_p", "h² P filter", "p"),
]
MODEL_COLUMNS = [
    Column("gene_name", "Gene"), Column("panel", "Panel"), Column("tissue", "Tissue", filter=True),
    Column("modality", "Modality", filter=True), Column("phenotype_id", "Phenotype"),
    Column("n", "Samples", "int"), Column("n_snps", "SNPs", "int"), Column("hsq", "h²", "fixed"),
    Column("hsq_se", "h² SE", "fixed"), Column("hsq_pval", "h² P", "p"),
    *[Column(f"{m}_r2", f"{METHOD_NAMES[m]} CV R²", "fixed") for m in METHODS],
    Column("best_model", "Best model", filter=True),
]
MODEL_SORTS = ("hsq_pval", "hsq", "gene_name", "panel", "n_snps", *(f"{m}_r2" for m in METHODS))


@router.get("/twas/panels")
def panels_page(request: Request) -> Response:
    """Weights panels (counts, downloads) and their models, filtered (``panel``, ``best_model``,
    ``max_hsq_pval``, ``gene``), sorted (``sort``, ``order``) and paged (``models_page``) by the server."""
    page = page_for(request)
    best_model = params.choice(request, "best_model", METHODS)
    max_hsq_pval = params.number(request, "max_hsq_pval", minimum=0.0, maximum=1.0)
    gene = params.text(request, "gene", max_len=100)
    sort = params.choice(request, "sort", MODEL_SORTS, default="hsq_pval")
    order = params.choice(request, "order", ("asc", "desc"), default="asc")
    number = params.integer(request, "models_page", 1, maximum=1_000_000)
    if not page.release.has_twas():
        return no_twas(page, "panels")
    release = page.release
    panels = panel_info(page)
    panel = params.choice(request, "panel", [p["id"] for p in panels])
    frame = release.twas_panels()
    frame = frame.assign(url=[page.url_with(panel=p, models_page=None) + "#models" for p in frame["panel"]])
    panels_table = table_from_frame(page, "panels-table", frame, PANEL_COLUMNS, tsv_name=f"twas_panels.{release.id}",
                                    caption="Weights panels: one per tissue × modality",
                                    links={"TSV (API)": page.api_url("/twas/panels", format="tsv")})
    try:
        rows, total, _ = release.twas_models(
            panels=[panel] if panel else None, genes=[gene] if gene else None, max_hsq_pval=max_hsq_pval,
            best_model=best_model, sort=sort, descending=order == "desc", limit=PER_PAGE,
            cursor=encode_cursor((number - 1) * PER_PAGE, "twas-models") if number > 1 else None)
    except NotFound as exc:
        return not_found(page, exc, "panels")
    pages = paging(page, number, total, "models_page", "models")
    models_table = table_from_frame(
        page, "models-table", rows, [c for c in MODEL_COLUMNS if c.key in rows.columns and (
            not c.key.endswith("_r2") or rows[c.key].notna().any() or not len(rows))],
        tsv_name=f"twas_models.{release.id}", total=total, caption="TWAS models: heritability and cross-validated R² "
        "per method", empty="No model matches these filters.",
        links={"All rows (TSV, API)": page.api_url("/twas/models", panel=panel, gene=gene, max_hsq_pval=max_hsq_pval,
                                                   best_model=best_model, sort=sort, order=order, format="tsv",
                                                   limit=MAX_LIMIT)})
    set_links(models_table, {"gene_name": [gene_hub_url(page, g if g == g and g else i) for g, i in
                                           zip(rows.get("gene_name", []), rows.get("gene_id", []), strict=True)]})
    files = downloads_table(page, "panel-downloads", release_downloads(page, ("twas_pos.", "twas_weights.")),
                            f"twas_weights_downloads.{release.id}", "No weights download in this release.")
    summary = model_summary(page)
    methods = [m for m in METHODS if any(m in counts for counts in summary["best"].values())]
    data = {"view": "panels", "panels": panels,
            "best": {"methods": [{"id": m, "name": METHOD_NAMES[m]} for m in methods],
                     "counts": [[summary["best"].get(p["id"], {}).get(m, 0) for p in panels] for m in methods]}}
    return hub_render(page, "twas_panels.html", "panels", uses_plots=True, panels=panels, panels_table=panels_table,
                      models=models_table, pages=pages, files=files, data=data, panel=panel, best_model=best_model,
                      max_hsq_pval=max_hsq_pval, gene=gene, sort=sort, order=order, methods=METHODS,
                      method_names=METHOD_NAMES, sorts=MODEL_SORTS, n_models=summary["n_models"])
