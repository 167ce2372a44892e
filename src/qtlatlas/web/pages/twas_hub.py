"""What the TWAS hub pages (``/twas/...``: :mod:`.twas`, :mod:`.twas_locus`, :mod:`.twas_genes`,
:mod:`.twas_methods`) share: hub URLs, −log10 p from z, table helpers, server paging, the hub's navigation,
its "no TWAS in this release" and 404 pages, and the release's panels.

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
from fastapi.responses import Response

from ...store import NotFound
from ...store.params import MAX_LIMIT
from .context import Page
from .formatting import finite_list
from .tables import Column, Table, table_from_records
from .templating import render

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


#: What a conditional statistic's status shows instead of a number (statuses of
#: :mod:`qtlatlas.twas.conditional`; ``tested`` and ``joint`` show the number).
STATUS_TEXT = {"explained": "explained", "unstable": "unstable", "undefined": "—"}
#: Help of the statuses (tooltips, table notes, the Methods page).
STATUS_HELP = {
    "explained": "the joint models explain more than {max_explained:.0%} of its variance: no conditional test",
    "unstable": "conditioning raised its χ² by more than {max_increase:g}²: a misfit of the joint models (LD "
                "mismatch, a proxy or a missing gene) or a masked signal, not reported as a p-value",
}


def mark_statuses(table: Table, statuses, keys: tuple[str, ...] = ("cond_z", "cond_p")) -> Table:
    """Show ``explained`` / ``unstable`` (:data:`STATUS_TEXT`) instead of the conditional z and p of rows whose
    status says they have none, in the page and in its TSV (``statuses``: one per row, None for older
    releases)."""
    cols = [c.key for c in table.columns]
    where = [cols.index(k) for k in keys if k in cols]
    for row, status in zip(table.rows, statuses, strict=True):
        text = STATUS_TEXT.get(str(status)) if status is not None else None
        if text is None:
            continue
        for j in where:
            row[j] = (text, text if text != "—" else "", None)
    return table


def mark_weak(table: Table, weak, key: str = "twas_p") -> Table:
    """Append ``(weak model)`` to the TWAS P of weakly predicted models (``weak``: one flag per row)."""
    cols = [c.key for c in table.columns]
    if key not in cols:
        return table
    j = cols.index(key)
    for row, flag in zip(table.rows, weak, strict=True):
        if flag is True or (flag is not None and flag == flag and bool(flag)):
            text, raw, href = row[j]
            row[j] = (f"{text} (weak model)", raw, href)
    return table


def weak_column(help_floor: float | None) -> Column:
    """The ``weak_model`` column of the association and model tables."""
    floor = f"{help_floor:g}" if help_floor is not None else "the documented floor"
    return Column("weak_model", "Weak model", filter=True,
                  help=f"cross-validated R² below {floor}: the prediction explains little of the phenotype, so its "
                       "TWAS P says more about the GWAS at its SNPs than about expression")


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

_SUMMARIES: dict[tuple, dict] = {}
_SUMMARY_LOCK = threading.Lock()


def model_summary(page: Page) -> dict:
    """``best`` (panel -> {method: models whose best model it is}) and ``genes`` (names and ids of the genes
    with a model), read once per release and view (releases do not change once published; a restricted view
    summarises the models of its visible tissues)."""
    key = (str(page.release.path), page.release.id, page.release.hidden)  # one summary per view
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
             ("predict", "Predicted phenotypes", hub_url(page, "predict")), ("methods", "Methods", hub_url(page, "methods")),
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

