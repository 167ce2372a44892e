"""The phenotype-by-genotype dashboard: gene–variant pairs × chosen tissues as a grid of violins.

``?pairs=`` holds one ``GENE VARIANT`` pair per line (or ``GENE VARIANT; GENE VARIANT``), ``?tissue=``
(repeatable; default: every tissue) and ``?modality=`` (default: expression). In each tissue, the phenotype
of a pair is the gene's lead phenotype for the modality (its top QTL). Each plot shows the pair's mapped
nominal p-value and slope (the mapping model, with its covariates) and, as secondary text, the plot's own
regression without covariates, as on the variant page.
"""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ...store import BadQuery, NotFound
from ...store.portal import portal_queries
from . import params
from .context import Page, page_for
from .errors import PageRoute
from .templating import render
from .variant import STATISTICS_SOURCES

router = APIRouter(route_class=PageRoute, include_in_schema=False)
MAX_PAIRS = 12
MAX_CELLS = 72
_SEPARATORS = re.compile(r"[\s,]+")


def parse_pairs(text: str | None) -> list[tuple[str, str]]:
    """``[(gene, variant)]`` from one pair per line (or per ``;``); BadQuery for a line that is not two words."""
    if not text:
        return []
    out: list[tuple[str, str]] = []
    for line in re.split(r"[\n;]+", text):
        words = [w for w in _SEPARATORS.split(line.strip()) if w]
        if not words:
            continue
        if len(words) != 2:
            raise BadQuery("pairs", f"each line must hold a gene and a variant, not {line.strip()[:60]!r}")
        pair = (words[0], words[1])
        if pair not in out:
            out.append(pair)
        if len(out) > MAX_PAIRS:
            raise BadQuery("pairs", f"at most {MAX_PAIRS} gene–variant pairs")
    return out


def lead_phenotypes(page: Page, gene: dict) -> dict[tuple[str, str], str]:
    """``(tissue, modality) -> phenotype`` of the gene's most significant top QTL in each, from one read of
    its top rows (already by p-value)."""
    top, _ = portal_queries(page.release).gene_rows(gene, "top")
    leads: dict[tuple[str, str], str] = {}
    if len(top):
        for key in zip(top["tissue"], top["modality"], top["phenotype_id"], strict=True):
            leads.setdefault((str(key[0]), str(key[1])), str(key[2]))
    return leads


def _cell(page: Page, leads: dict[tuple[str, str], str], variant: dict, tissue: str, modality: str) -> dict:
    """One grid cell: the phenotype-by-genotype data of a gene's lead phenotype, or why there is none."""
    cell = {"tissue": tissue, "tissue_name": page.tissue_name(tissue), "colour": page.tissue_colour(tissue)}
    if modality not in page.tissue_info.get(tissue, {}).get("modalities", []):
        return {**cell, "problem": f"{modality} was not measured in this tissue"}
    phenotype = leads.get((tissue, modality))
    if phenotype is None:
        return {**cell, "problem": "gene not tested"}
    try:
        d = page.release.phenotype_by_genotype(phenotype, variant["variant_id"], tissue, modality)
    except NotFound as exc:
        return {**cell, "problem": str(exc)}
    groups: list[list[float]] = [[], [], []]
    for x, g in zip(d["values"], d["genotypes"], strict=True):
        if x is not None and g is not None:
            groups[g].append(round(x, 4))
    return {**cell, "phenotype_id": phenotype, "groups": groups, "counts": d["counts"], "n": d["n"],
            "ref": d["ref"], "alt": d["alt"], "value_kind": d["value_kind"],
            "value_unit": d["value_unit"],
            "pval_nominal": d["pval_nominal"], "slope": d["slope"], "statistics_source": d["statistics_source"],
            "slope_unadjusted": d["slope_unadjusted"], "pval_unadjusted": d["pval_unadjusted"]}


@router.get("/dashboard")
def dashboard(request: Request) -> Response:
    """The dashboard form and, for the pairs given, the grid of phenotype-by-genotype plots."""
    page = page_for(request)
    release = page.release
    text = params.text(request, "pairs", max_len=4000, multiline=True)
    pairs = parse_pairs(text)
    tissues = [release.check_tissue(t) for t in params.text_list(request, "tissue", max_items=200)] or release.tissue_ids()
    mods = release.modality_ids()
    modality = params.choice(request, "modality", mods, default="expression" if "expression" in mods else mods[0])
    if len(pairs) * len(tissues) > MAX_CELLS:
        raise BadQuery("pairs", f"at most {MAX_CELLS} plots (pairs × tissues); choose fewer tissues or pairs")
    rows = []
    for gene_text, variant_text in pairs:
        row = {"gene_query": gene_text, "variant_query": variant_text, "cells": [], "problem": None}
        try:
            gene = release.resolve_gene(gene_text)
            variant = release.variant(variant_text)
        except NotFound as exc:
            row["problem"] = str(exc)
            rows.append(row)
            continue
        row.update(gene=gene["gene_name"] or gene["gene_id"], gene_id=gene["gene_id"], variant=variant["variant_id"])
        leads = lead_phenotypes(page, gene)
        row["cells"] = [_cell(page, leads, variant, t, modality) for t in tissues]
        rows.append(row)
    example = portal_queries(release).search_examples()
    return render(page, "dashboard.html", uses_plots=True, pairs_text=text or "", rows=rows, tissues=tissues,
                  modality=modality, modalities=page.modalities, example=example, max_pairs=MAX_PAIRS,
                  statistics_sources=STATISTICS_SOURCES, data={"rows": rows})
