"""The gene page's regional plot on the server: which phenotype it starts on, the choices of its selects,
its payload (:mod:`qtlatlas.web.regional`, read side by side with the page's other reads) and its SVG first
paint (:mod:`.regional_svg`)."""

from __future__ import annotations

from concurrent.futures import Executor

import numpy as np
import pandas as pd

from ...store.errors import StoreError
from ..regional import regional_data
from .context import Page
from .regional_svg import Locus, regional_svgs


def default_choice(top: pd.DataFrame, runs: pd.DataFrame) -> tuple[str, str, str] | None:
    """``(tissue, modality, phenotype_id)`` the plot starts on: the phenotype of the gene's most significant
    top QTL among those whose every tested pair the release publishes (the first such phenotype when none
    has a top QTL); None when the release publishes no tested pair of the gene."""
    if runs.empty:
        return None
    published = set(zip(runs["tissue"], runs["modality"], runs["phenotype_id"], strict=True))
    if top is not None and len(top):
        ranked = top.sort_values(["pval_nominal", "tissue", "modality", "phenotype_id"], na_position="last")
        for t, m, pid in zip(ranked["tissue"], ranked["modality"], ranked["phenotype_id"], strict=True):
            if (t, m, pid) in published:
                return t, m, pid
    first = runs.iloc[0]
    return first["tissue"], first["modality"], first["phenotype_id"]


def regional_choices(page: Page, runs: pd.DataFrame, top: pd.DataFrame) -> list[dict]:
    """The tissue × modality pairs with published pairs, in release order: ``{"t", "m"}`` (indices of the
    page's tissues and modalities), ``ph`` (phenotype ids, the most significant top QTL first, then those
    without one) and ``p`` (their top QTL's p-value, None without one)."""
    t_index = {t["tissue_id"]: i for i, t in enumerate(page.tissues)}
    m_index = {m["id"]: i for i, m in enumerate(page.modalities)}
    p = {}
    if top is not None and len(top):
        p = {(r.tissue, r.modality, r.phenotype_id): float(r.pval_nominal)
             for r in top[["tissue", "modality", "phenotype_id", "pval_nominal"]].itertuples()}
    out = []
    for (t, m), part in runs.groupby(["tissue", "modality"], sort=False):
        if t not in t_index or m not in m_index:
            continue
        ids = sorted(part["phenotype_id"], key=lambda x: (p.get((t, m, x)) is None, p.get((t, m, x), 0.0), x))
        out.append({"t": t_index[t], "m": m_index[m], "ph": ids, "p": [p.get((t, m, x)) for x in ids]})
    return out


def locus_of(data: dict, highlight: str | None = None) -> Locus:
    """The :class:`Locus` of a regional payload."""
    v = data["variants"]
    r2 = None if data.get("r2") is None else np.array([np.nan if x is None else x for x in data["r2"]], dtype=float)
    ids = v["id"]
    reference = ids.index(data["reference"]) if data.get("reference") in ids else None
    return Locus(chrom=data["chrom"], window=tuple(data["window"]), pos=np.asarray(v["pos"], dtype=np.float64),
                 nlog10p=np.array([np.nan if x is None else x for x in v["nlog10p"]], dtype=float), r2=r2,
                 reference=reference, reference_label=data.get("reference") or "", threshold=data.get("threshold"),
                 independent=[(s["i"], s["rank"]) for s in data.get("independent", []) if s["i"] >= 0],
                 genes=data.get("genes", []), highlight=highlight)


def gene_regional(page: Page, gene: dict, top: pd.DataFrame, independent: pd.DataFrame,
                  pool: Executor) -> dict:
    """The gene page's regional plot: ``data`` (the payload of the default phenotype, None without one),
    ``choices`` (:func:`regional_choices`), ``svg`` (its server-drawn first paint, None without data) with
    its ``height`` (px) and ``problem`` (why there is no plot, else "")."""
    release = page.release
    try:
        runs = release.phenotype_runs(gene["gene_id"])
    except StoreError:
        runs = pd.DataFrame(columns=["tissue", "modality", "phenotype_id"])
    choice = default_choice(top, runs)
    out = {"data": None, "choices": regional_choices(page, runs, top) if choice else [], "svg": None, "height": 420,
           "problem": ""}
    if choice is None:
        out["problem"] = "This release publishes no tested variant–phenotype pair of this gene."
        return out
    t, m, pid = choice
    try:
        data = regional_data(release, gene, t, m, pid, top=top, independent=independent, runs=runs, pool=pool)
    except StoreError as exc:
        out["problem"] = f"The regional plot is not available: {exc}"
        return out
    name = gene.get("gene_name") or gene["gene_id"]
    out["data"] = data
    out["svg"], out["height"] = regional_svgs(
        locus_of(data, gene["gene_id"]), label=f"−log10 p of every tested variant of {pid} in {page.tissue_name(t)}, "
                                               f"{page.modality_names.get(m, m)}, around {name}")
    return out
