"""Fine-mapping and colocalisation on the portal's pages: the tables of SuSiE credible sets, of coloc.abf with
the GWAS traits and of QTL–QTL coloc, for a gene, a variant, a trait or a TWAS locus, and the compact data of
the gene page's colocalisation heatmap (tissue × modality by PP.H4)."""

from __future__ import annotations

from urllib.parse import quote

import pandas as pd

from .context import Page
from .formatting import finite_list
from .tables import Column, Table, table_from_frame

#: Rows of one evidence table read for a page (the API pages through the rest).
MAX_PAGE_ROWS = 2_000
#: PP.H4 from which a page calls a test a colocalisation (coloc's customary 0.8).
STRONG_PP4 = 0.8

PP_HELP = ("posterior probabilities of coloc.abf: H3 two distinct causal variants, H4 one shared causal variant "
           "(Giambartolomei et al. 2014)")
# the statistic a reader compares comes right after what locates the row, so it stays on screen
CREDIBLE_SET_COLUMNS = [
    Column("tissue", "Tissue", link="tissue", filter=True), Column("modality", "Modality", filter=True),
    Column("variant_id", "Variant", link="variant"),
    Column("pip", "PIP", "fixed", help="posterior inclusion probability over all single effects"),
    Column("cs_id", "Credible set", help="SuSiE credible set (95% coverage)"), Column("cs_size", "Set size", "int"),
    Column("cs_min_r2", "Min r²", "fixed", help="purity: smallest r² between members"), Column("z", "z", "num"),
    Column("posterior_mean", "Posterior mean", "num"), Column("phenotype_id", "Phenotype", short=True),
]
COLOC_COLUMNS = [
    Column("trait_name", "Trait", link="url", filter=True), Column("tissue", "Tissue", link="tissue", filter=True),
    Column("modality", "Modality", filter=True), Column("gene_name", "Gene", link="gene"),
    Column("PP.H4.abf", "PP.H4", "fixed", help=PP_HELP), Column("PP.H3.abf", "PP.H3", "fixed", help=PP_HELP),
    Column("lead_variant_id", "GWAS lead", link="variant"), Column("hit2", "QTL top variant", link="variant"),
    Column("nsnps", "Variants", "int", help="variants both the GWAS and the QTL have in the locus"),
    Column("phenotype_id", "Phenotype", short=True),
]
COLOC_SUSIE_COLUMNS = [
    Column("trait_name", "Trait", link="url", filter=True), Column("tissue", "Tissue", link="tissue", filter=True),
    Column("modality", "Modality", filter=True),
    Column("PP.H4.abf", "PP.H4", "fixed", help=PP_HELP), Column("PP.H3.abf", "PP.H3", "fixed", help=PP_HELP),
    Column("idx1", "GWAS set", help="the GWAS's single effect (SuSiE on its z-scores, LD from the release genotypes)"),
    Column("idx2", "QTL set", help="the phenotype's single effect (its credible set, as in the table below)"),
    Column("hit1", "GWAS top variant", link="variant"), Column("hit2", "QTL top variant", link="variant"),
    Column("nsnps", "Variants", "int"), Column("phenotype_id", "Phenotype", short=True),
]
QTL_COLOC_COLUMNS = [
    Column("tissue1", "Tissue 1", link="tissue", filter=True), Column("modality1", "Modality 1", filter=True),
    Column("tissue2", "Tissue 2", filter=True), Column("modality2", "Modality 2", filter=True),
    Column("PP.H4.abf", "PP.H4", "fixed", help=PP_HELP), Column("PP.H3.abf", "PP.H3", "fixed", help=PP_HELP),
    Column("hit1", "Top variant 1", link="variant"), Column("hit2", "Top variant 2", link="variant"),
    Column("nsnps", "Variants", "int"), Column("phenotype_id1", "Phenotype 1", short=True), Column("phenotype_id2", "Phenotype 2", short=True),
]


def coloc_settings(page: Page) -> dict:
    """The colocalisation settings the release was built with (``window``, ``lead_distance``, ``p_threshold``,
    priors; atlas.yaml's defaults where release.json has none)."""
    from ...config import ColocSettings

    recorded = page.release.coloc_recorded().get("settings") or {}
    return {**ColocSettings().model_dump(), **recorded}


def _with_trait_links(page: Page, rows: pd.DataFrame) -> pd.DataFrame:
    """``rows`` with ``trait_name`` (the trait's name) and ``url`` (its TWAS hub page)."""
    traits = page.release.twas_traits() if page.has_twas else None
    names = dict(zip(traits["id"], traits["name"], strict=True)) if traits is not None and len(traits) else {}
    out = rows.copy()
    out["trait_name"] = [names.get(t, t) for t in out["trait"]]
    out["url"] = [page.url("/twas/traits/" + quote(str(t), safe="")) if page.has_twas else None for t in out["trait"]]
    return out


def coloc_rows(page: Page, **query) -> tuple[pd.DataFrame, int] | None:
    """The coloc.abf rows of ``query`` (``trait=``, ``gene=``, ``variant=``, ``tissues=``…, as the store's
    ``coloc_table``; at most :data:`MAX_PAGE_ROWS`, most colocalised first) with ``trait_name`` and ``url``,
    and their total; None when the release has no colocalisation."""
    if not page.release.has_coloc():
        return None
    rows, total, _ = page.release.coloc_table(**query, limit=MAX_PAGE_ROWS)
    return _with_trait_links(page, rows), total


def coloc_rows_in_span(page: Page, trait: str, chrom: str, lo: int, hi: int) -> tuple[pd.DataFrame, int] | None:
    """The trait's coloc rows (the :data:`MAX_PAGE_ROWS` most colocalised) of loci overlapping ``chrom:lo-hi``."""
    found = coloc_rows(page, trait=trait)
    if found is None:
        return None
    rows = found[0]
    if len(rows):
        same = rows["chrom"].astype(str).str.removeprefix("chr") == str(chrom).removeprefix("chr")
        rows = rows[same & (rows["locus_start"] <= hi) & (rows["locus_end"] >= lo)]
    return rows, len(rows)


def coloc_table(page: Page, table_id: str, caption: str, name: str, found: tuple[pd.DataFrame, int] | None,
                **query) -> Table | None:
    """The table of :func:`coloc_rows`' answer ``found`` to ``query``; None when it is None. A gene's (a
    trait's) own table leaves out the gene (trait) column."""
    if found is None:
        return None
    rows, total = found
    release = page.release
    api = {k: v for k, v in query.items() if k in ("trait", "gene", "variant")}
    mine = {"gene_name": "gene", "trait_name": "trait"}  # a page of one gene or trait: no column of it
    columns = [c for c in COLOC_COLUMNS if mine.get(c.key) not in query]
    return table_from_frame(page, table_id, rows, columns, caption=caption,
                            tsv_name=f"coloc.{name}.{release.id}", total=total,
                            empty="No GWAS locus of any trait overlaps a tested window here.",
                            links={"TSV (API)": page.api_url("/coloc", **api, format="tsv", limit=10_000)})


def coloc_susie_table(page: Page, gene_id: str, name: str) -> Table | None:
    """The gene's coloc.susie rows (each pair of a GWAS credible set and one of its phenotypes'), most
    colocalised first; None when the release has none."""
    release = page.release
    if not (release.has_coloc() and release.has_coloc_susie()):
        return None
    rows, total, _ = release.coloc_table(gene=gene_id, method="susie", limit=MAX_PAGE_ROWS)
    return table_from_frame(page, "coloc-susie-table", _with_trait_links(page, rows), COLOC_SUSIE_COLUMNS,
                            caption="Pairs of credible sets of a GWAS locus and of the gene's fine-mapped phenotypes",
                            tsv_name=f"coloc_susie.{name}.{release.id}", total=total,
                            empty="No GWAS locus with a credible set overlaps a fine-mapped phenotype of the gene.",
                            links={"TSV (API)": page.api_url("/coloc", gene=gene_id, method="susie", format="tsv",
                                                             limit=10_000)})


def qtl_coloc_table(page: Page, gene_id: str, name: str) -> Table | None:
    """The gene's QTL–QTL coloc rows (pairs of its significant phenotypes across modalities and tissues); None
    when the release has none."""
    release = page.release
    if not release.has_qtl_coloc():
        return None
    rows, total, _ = release.qtl_coloc_table(gene=gene_id, limit=MAX_PAGE_ROWS)
    rows = rows.sort_values("PP.H4.abf", ascending=False, kind="stable") if len(rows) else rows
    return table_from_frame(page, "qtl-coloc-table", rows, QTL_COLOC_COLUMNS,
                            caption="Pairs of the gene's significant phenotypes: one shared causal variant (H4) "
                                    "or two (H3)",
                            tsv_name=f"qtl_coloc.{name}.{release.id}", total=total,
                            empty="Fewer than two significant phenotypes of the gene: no pair to compare.",
                            links={"TSV (API)": page.api_url("/coloc/qtl", gene=gene_id, format="tsv", limit=10_000)})


def credible_set_table(page: Page, table_id: str, name: str, **query) -> Table | None:
    """SuSiE credible-set members of ``query`` (``gene=`` or ``variant=``); None without fine-mapping."""
    release = page.release
    if not release.has_finemapping():
        return None
    rows, total, _ = release.finemapping_table(**query, limit=MAX_PAGE_ROWS)
    return table_from_frame(page, table_id, rows, CREDIBLE_SET_COLUMNS,
                            caption="Members of SuSiE credible sets (95% coverage), by set and PIP",
                            tsv_name=f"credible_sets.{name}.{release.id}", total=total,
                            empty="No credible set: not fine-mapped here (only phenotypes with a significant QTL "
                                  "are), or no set passed the purity filter.",
                            links={"TSV (API)": page.api_url("/finemapping", **query, format="tsv", limit=10_000)})


def coloc_heatmap(page: Page, found: tuple[pd.DataFrame, int] | None) -> dict | None:
    """The gene page's heatmap data from the gene's :func:`coloc_rows`: ``traits`` (id, name),
    ``tissues``/``modalities`` (id, name; release order) and ``cells`` (``trait, t, m`` indices, ``pp4`` the
    largest PP.H4 over the gene's phenotypes and the trait's loci there, ``phenotype_id`` of that test); None
    without colocalisation or with no test."""
    if found is None or not len(found[0]):
        return None
    rows = found[0]
    best = rows.sort_values("PP.H4.abf", ascending=False, kind="stable").drop_duplicates(["trait", "tissue", "modality"])
    traits = sorted(set(best["trait"]))
    tissues = [t["tissue_id"] for t in page.tissues if t["tissue_id"] in set(best["tissue"])]
    modalities = [m["id"] for m in page.modalities if m["id"] in set(best["modality"])]
    names = dict(zip(best["trait"], best["trait_name"], strict=False))
    t_at, m_at, tr_at = ({v: i for i, v in enumerate(xs)} for xs in (tissues, modalities, traits))
    best = best[best["tissue"].isin(t_at) & best["modality"].isin(m_at)]
    return {"traits": [{"id": t, "name": names.get(t, t)} for t in traits],
            "tissues": [{"id": t, "name": page.tissue_name(t)} for t in tissues],
            "modalities": [{"id": m, "name": page.modality_names.get(m, m)} for m in modalities],
            "cells": {"trait": [tr_at[t] for t in best["trait"]], "t": [t_at[t] for t in best["tissue"]],
                      "m": [m_at[m] for m in best["modality"]], "pp4": finite_list(best["PP.H4.abf"]),
                      "phenotype_id": best["phenotype_id"].astype(str).tolist()},
            "strong": STRONG_PP4}
