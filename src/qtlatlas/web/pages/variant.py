"""The variant page: alleles and frequency, every association across tissues and modalities (table, forest
plot, and the PheWAS of every tested pair, :mod:`.phewas`), and phenotype-by-genotype violins for a chosen
phenotype × tissue (the first one embedded, others fetched from the API; without JavaScript, ``?pbg=N`` chooses
it)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pandas as pd
from fastapi import APIRouter, Request
from fastapi.responses import Response

from ...store import NotFound
from ...store.portal import portal_queries
from . import params
from .context import Page, page_for
from .errors import PageRoute
from .evidence import coloc_rows, coloc_table, credible_set_table
from .phenotype_labels import phenotype_label
from .phewas import MAX_NOMINAL_ROWS, nominal_rows, phewas_data, tested_pairs
from .static_plots import ForestRow, forest_height, forest_svg
from .tables import Column, table_from_frame
from .templating import render
from .trans import trans_table

router = APIRouter(route_class=PageRoute, include_in_schema=False)
#: Threads that read a variant's tested pairs and its phenotype-by-genotype data beside its listed associations.
_READS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="qtlatlas-variant-page")
#: Most rows of the forest plot (the most significant associations).
MAX_FOREST = 80
#: Order in which a (tissue, modality, phenotype) keeps one row for the forest plot: nominal statistics first.
SOURCE_ORDER = {"significant": 0, "top": 1, "independent": 2}
#: What the pages say a pair's mapped statistics come from, by ``statistics_source`` of the
#: phenotype-by-genotype data (also given to the page script).
STATISTICS_SOURCES = {"nominal": "the nominal pass", "significant_pairs": "the significant pairs",
                      "top": "the top QTL table",
                      "independent": "the independent QTL table; conditional on the phenotype's other signals"}

ASSOCIATION_COLUMNS = [
    Column("source", "Table", filter=True, help="top: top QTL of the phenotype; independent: conditionally "
           "independent signal; significant: significant pair; nominal: tested, in none of those tables"),
    Column("tissue", "Tissue", link="tissue", filter=True),
    Column("modality", "Modality", filter=True),
    Column("gene_name", "Gene", link="gene", filter=True),
    Column("phenotype_id", "Phenotype", short=True),
    Column("rank", "Rank", "int", more=True),
    Column("tss_distance", "TSS dist.", "distance", help="variant position minus the TSS, strand-aware (bp)", more=True),
    Column("pval_nominal", "p", "p", help="nominal p-value"),
    Column("slope", "Slope", "fixed"),
    Column("slope_se", "SE", "fixed"),
    Column("pval_beta", "p (beta)", "p", help="permutation p-value (beta approximation)"),
    Column("qval", "q", "p"),
    Column("log2_aFC", "log2 aFC", "fixed"),
]


def pbg_choices(assoc: pd.DataFrame) -> list[dict]:
    """Distinct (tissue, modality, phenotype) of the associations, the most significant first:
    ``{tissue, modality, phenotype_id, gene_id, gene_name, pval_nominal}``."""
    if assoc.empty:
        return []
    cols = ["tissue", "modality", "phenotype_id", "gene_id", "gene_name", "pval_nominal"]
    df = assoc[cols].sort_values(["pval_nominal", "tissue", "modality", "phenotype_id"], na_position="last")
    df = df.drop_duplicates(["tissue", "modality", "phenotype_id"])
    out = df.to_dict("records")
    for c in out:  # what the plots name the phenotype by
        c["label"] = phenotype_label(c["modality"], c["phenotype_id"], c["gene_name"])
    return out


def name_choices(page: Page, choices: list[dict]) -> list[dict]:
    """The choices with their tissue's and modality's names (titles of the violins and of their exports)."""
    for c in choices:
        c["tissue_name"] = page.tissue_name(c["tissue"])
        c["modality_name"] = page.modality_names.get(c["modality"], c["modality"])
    return choices


def forest_rows(page: Page, assoc: pd.DataFrame) -> list[dict]:
    """One row per (tissue, modality, phenotype) with a slope and standard error (nominal statistics
    preferred), the most significant :data:`MAX_FOREST`, in release tissue order."""
    if assoc.empty:
        return []
    df = assoc.dropna(subset=["slope", "slope_se"]).copy()
    df["_s"] = df["source"].map(SOURCE_ORDER).fillna(9)
    df = df.sort_values(["_s"]).drop_duplicates(["tissue", "modality", "phenotype_id"])
    df = df.sort_values("pval_nominal").head(MAX_FOREST)
    order = {t["tissue_id"]: i for i, t in enumerate(page.tissues)}
    morder = {m["id"]: i for i, m in enumerate(page.modalities)}
    df["_t"] = df["tissue"].map(order).fillna(len(order))
    df["_m"] = df["modality"].map(morder).fillna(len(morder))
    df = df.sort_values(["_t", "_m", "gene_name", "phenotype_id"])
    out, seen = [], set()
    for r in df.itertuples():
        modality = page.modality_names.get(r.modality, r.modality)
        # every row named alike: tissue · modality · the phenotype's readable label (gene symbol and feature)
        feature = phenotype_label(r.modality, r.phenotype_id, r.gene_name)
        label = f"{page.tissue_name(r.tissue)} · {modality} · {feature}"
        if label in seen:  # two phenotypes that read alike
            label += f" · {r.phenotype_id}"
        seen.add(label)
        out.append({"tissue": r.tissue, "tissue_name": page.tissue_name(r.tissue), "colour": page.tissue_colour(r.tissue),
                    "modality": modality, "phenotype_id": r.phenotype_id, "gene": r.gene_name, "label": label,
                    "feature": feature,
                    "slope": r.slope, "se": r.slope_se, "p": r.pval_nominal})
    return out


def forest_plot_svg(rows: list[dict], alt: str, title: str) -> str | None:
    """The forest plot drawn on the server (replaced by the interactive one); None without rows."""
    if not rows:
        return None
    return forest_svg([ForestRow(r["label"], r["colour"], r["tissue_name"], float(r["slope"]), float(r["se"]))
                       for r in rows], x_title=f"slope (effect of {alt})", label=title)


def pbg_data(page: Page, variant: dict, choice: dict | None) -> tuple[dict | None, str]:
    """Phenotype-by-genotype data of a choice (or None with the reason)."""
    if choice is None:
        return None, "This variant has no association in this release."
    try:
        data = page.release.phenotype_by_genotype(choice["phenotype_id"], variant["variant_id"], choice["tissue"],
                                                  choice["modality"])
    except NotFound as exc:
        return None, f"Genotypes or phenotype values are not available: {exc}"
    values, genotypes = data.pop("values"), data.pop("genotypes")
    data.pop("samples")
    groups = {0: [], 1: [], 2: []}
    for x, g in zip(values, genotypes, strict=True):
        if x is not None and g is not None:
            groups[g].append(x)
    data["groups"] = [groups[0], groups[1], groups[2]]
    data["gene_name"] = choice.get("gene_name")
    data["label"] = choice.get("label") or phenotype_label(choice["modality"], choice["phenotype_id"], choice.get("gene_name"))
    return data, ""


@router.get("/variant/{variant}")
def variant_page(request: Request, variant: str) -> Response:
    """The page of a variant (rsID, ``chr:pos`` or ``chr_pos_ref_alt``); ``?pbg=N`` chooses its
    phenotype-by-genotype plot."""
    page = page_for(request)
    release = page.release
    v = release.variant(variant)
    tested_read = _READS.submit(tested_pairs, release, v["variant_id"])  # beside the listed rows and the violins
    sets_read = _READS.submit(credible_set_table, page, "credible-sets-table", v["variant_id"], variant=v["variant_id"])
    coloc_read = _READS.submit(coloc_rows, page, variant=v["variant_id"])
    assoc = release.variant_associations(v["variant_id"])
    names = portal_queries(release).gene_names(assoc["gene_id"].dropna().unique() if "gene_id" in assoc else [])
    if "gene_id" in assoc.columns and len(assoc):
        assoc["gene_name"] = assoc["gene_id"].map(names).fillna(assoc["gene_id"])
    else:
        assoc = assoc.assign(gene_name=pd.Series(dtype=object), gene_id=pd.Series(dtype=object),
                             tissue=pd.Series(dtype=object), modality=pd.Series(dtype=object),
                             phenotype_id=pd.Series(dtype=object), pval_nominal=pd.Series(dtype=float),
                             slope=pd.Series(dtype=float), slope_se=pd.Series(dtype=float))
    choices = name_choices(page, pbg_choices(assoc))
    chosen = params.integer(request, "pbg", 1, maximum=max(len(choices), 1)) - 1
    pbg_read = _READS.submit(pbg_data, page, v, choices[chosen] if choices else None)
    tested, n_tested, cut = tested_read.result()
    names.update(portal_queries(release).gene_names(tested["gene_id"].dropna().unique()))
    pbg, pbg_problem = pbg_read.result()
    nominal, n_nominal = nominal_rows(assoc, tested)
    nominal = nominal.assign(gene_name=nominal["gene_id"].map(names).fillna(nominal["gene_id"]))
    shown = pd.concat([assoc, nominal], ignore_index=True) if len(nominal) else assoc
    caption = f"Every association of {v['variant_id']} in release {release.id}"
    if n_nominal:
        caption += (f", then the {min(n_nominal, MAX_NOMINAL_ROWS):,} most significant of its {n_nominal:,} other "
                    "tested pairs (nominal)")
    table = table_from_frame(page, "associations-table", shown, ASSOCIATION_COLUMNS, caption=caption,
                             tsv_name=f"associations.{v['variant_id']}.{release.id}",
                             empty="This variant has no association in this release.",
                             links={"TSV (API)": page.api_url(f"/variants/{v['variant_id']}/associations", format="tsv"),
                                    "With every tested pair (TSV)": page.api_url(
                                        f"/variants/{v['variant_id']}/associations", include_nominal="true",
                                        format="tsv")})
    genes = (assoc.drop_duplicates("gene_id")[["gene_id", "gene_name"]].to_dict("records") if len(assoc) else [])
    maf = None if v.get("af") is None else min(v["af"], 1 - v["af"])
    forest = forest_rows(page, assoc)
    data = {"variant": {k: v.get(k) for k in ("variant_id", "chrom", "pos", "ref", "alt", "af")},
            "forest": forest, "choices": choices, "chosen": chosen, "pbg": pbg, "statistics_sources": STATISTICS_SOURCES,
            "phewas": phewas_data(page, assoc, tested, n_tested, cut, names)}
    title = f"Effect of {v['alt']} (slope ± 1.96 SE) per tissue, modality and phenotype"
    coloc = coloc_table(page, "coloc-table", f"Colocalisation tests of the GWAS loci holding {v['variant_id']}, most "
                        "probable shared causal variant (PP.H4) first", v["variant_id"], coloc_read.result(),
                        variant=v["variant_id"])
    return render(page, "variant.html", uses_plots=True, variant=v, maf=maf, table=table, genes=genes,
                  credible_sets=sets_read.result(), coloc=coloc,
                  trans=trans_table(page, "trans-table", f"Genes of which {v['variant_id']} is a trans-QTL, most "
                                    "significant first", variant=v["variant_id"]),
                  n_listed=len(assoc),
                  n_tissues=assoc["tissue"].nunique() if len(assoc) else 0, choices=choices, chosen=chosen, pbg=pbg,
                  pbg_problem=pbg_problem, statistics_sources=STATISTICS_SOURCES, data=data, forest_title=title,
                  forest_height=forest_height(len(forest)),
                  forest_svg=forest_plot_svg(forest, str(v["alt"]), title),
                  region=f"{v['chrom']}:{max(int(v['pos']) - 500_000, 1)}-{int(v['pos']) + 500_000}")
