"""The TWAS hub's Methods page (``/twas/methods``), generated from the release's TWAS metadata (``twas.json``:
:func:`qtlatlas.release.twas_tables.methods_metadata`) and its TWAS tables, like the QTL Methods page
(:mod:`.info`): the weights (models, cross-validation, heritability filter), the LD reference, association and
imputation, coloc and its priors, the Bonferroni denominator of each trait, the loci and the guarded
joint/conditional analysis, the weak-model floor and the cross-trait statistic. A release built before the
metadata was written shows what its tables hold and says that the settings were not recorded."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from .context import Page, page_for
from .errors import PageRoute
from .tables import Column, table_from_frame
from .twas_hub import METHOD_NAMES, STATUS_HELP, hub_render, no_twas, trait_url

router = APIRouter(route_class=PageRoute, include_in_schema=False)

PANEL_COLUMNS = [
    Column("panel", "Panel"), Column("tissue", "Tissue", link="tissue", filter=True),
    Column("modality", "Modality", filter=True), Column("n_samples", "Samples", "int"),
    Column("n_phenotypes", "Phenotypes", "int", help="phenotypes considered (before the heritability filter)"),
    Column("n_models", "Models", "int", help="phenotypes with weights (heritable)"),
    Column("window", "Window (bp)", "int", help="weight SNPs within this distance of the TSS"),
    Column("crossval", "CV folds", "int"), Column("hsq_p", "h² P filter", "p"),
]
THRESHOLD_COLUMNS = [
    Column("id", "Trait", link="url"), Column("name", "Name"), Column("n", "GWAS N", "int"),
    Column("n_tested", "Models tested", "int", help="the Bonferroni denominator: models with a TWAS p, every panel "
                                                   "and chromosome"),
    Column("bonferroni_p", "Bonferroni p", "p", help="0.05 / models tested"),
    Column("zthresh", "|Z| threshold", "fixed", help="Φ⁻¹(1 − 0.05 / (2 × models tested))"),
    Column("n_significant", "Significant models", "int"), Column("n_loci", "Loci", "int"),
]


def _ld_reference(methods: dict, page: Page) -> str:
    ld = methods.get("ld_reference") or {}
    sources = ld.get("sources") or []
    n = ld.get("n")
    who = f" ({n:,} individuals)" if isinstance(n, int) else ""
    if sources:
        return f"{', '.join(sources)}{who}"
    return f"the release's own genotypes{who}"


@router.get("/twas/methods")
def methods_page(request: Request) -> Response:
    """How the release's TWAS was computed, from its metadata."""
    page = page_for(request)
    if not page.release.has_twas():
        return no_twas(page, "methods")
    release = page.release
    methods = release.twas_methods()
    panels = table_from_frame(page, "methods-panels-table", release.twas_panels(), PANEL_COLUMNS,
                              tsv_name=f"twas_panels.{release.id}", caption="Weights panels (tissue × modality)")
    traits = release.twas_traits()
    traits = traits.assign(url=[trait_url(page, t) for t in traits["id"]])
    thresholds = table_from_frame(page, "methods-thresholds-table", traits, THRESHOLD_COLUMNS,
                                  tsv_name=f"twas_thresholds.{release.id}",
                                  caption="Significance per trait: one Bonferroni threshold over every model tested")
    loci = methods.get("loci") or {}
    help_values = {"max_explained": loci.get("max_explained") or 0.8, "max_increase": loci.get("max_increase") or 1.96}
    weights = methods.get("weights") or {}
    software = {k: v for k, v in (release.info.get("software") or {}).items()
                if k in ("qtlatlas", "numpy", "scipy", "glmnet", "scikit-learn", "duckdb", "pandas")}
    return hub_render(page, "twas_methods.html", "methods", methods=methods, weights=weights, loci=loci,
                      association=methods.get("association") or {}, coloc=methods.get("coloc") or {},
                      model_names=[METHOD_NAMES.get(m, m) for m in weights.get("models") or []],
                      ld_reference=_ld_reference(methods, page), panels=panels, thresholds=thresholds,
                      status_help={k: v.format(**help_values) for k, v in STATUS_HELP.items()},
                      software=sorted(software.items()), recorded=bool(methods))
