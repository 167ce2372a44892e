"""trans-QTL tables of the gene page (the gene as a trans target), the variant page (the variant's trans
targets) and the tissue page (hotspots: loci with many trans targets), each with the lead's cis genes beside it."""

from __future__ import annotations

from .context import Page
from .tables import Column, Table, table_from_frame

TRANS_HELP = "the genes of which the variant is a significant cis pair in the same tissue: candidate mediators"
TRANS_COLUMNS = [
    Column("tissue", "Tissue", link="tissue", filter=True),
    Column("modality", "Modality", filter=True, more=True),
    Column("gene_name", "Target gene", link="gene"),
    Column("phenotype_id", "Phenotype", short=True, more=True),
    Column("variant_id", "Variant", link="variant"),
    Column("chrom", "Chr", more=True),
    Column("pos", "Position", "int"),
    Column("pval", "p", "p", help="nominal p-value of the trans association"),
    Column("b", "Slope", "fixed", help="effect of each ALT allele on the normalised target phenotype"),
    Column("b_se", "SE", "fixed"),
    Column("cis_genes", "cis genes of the variant", help=TRANS_HELP),
]
HOTSPOT_COLUMNS = [
    Column("modality", "Modality", filter=True),
    Column("locus", "Locus"),
    Column("lead_variant", "Lead variant", link="variant"),
    Column("pval", "p", "p", help="p-value of the locus's most significant trans pair"),
    Column("n_targets", "Targets", "int", help="distinct target genes of the locus's variants"),
    Column("targets", "Target genes", help="the first 10, most significant first"),
    Column("cis_genes", "cis genes of the lead", help=TRANS_HELP),
    Column("n_variants", "Variants", "int", more=True),
]


def trans_table(page: Page, table_id: str, caption: str, **query) -> Table | None:
    """The trans pairs of ``query`` (``gene=`` or ``variant=``), or None when the release has no trans table."""
    release = page.release
    if not release.has_trans():
        return None
    rows = release.trans_qtls(**query).copy()
    rows["gene_name"] = rows["gene_name"].where(rows["gene_name"].notna(), rows["gene_id"])
    key, value = next(iter(query.items()))
    return table_from_frame(page, table_id, rows, TRANS_COLUMNS, caption=caption,
                            tsv_name=f"trans.{value}.{release.id}", empty="No trans-QTL pair in this release.",
                            links={"TSV (API)": page.api_url("/qtls/trans", **{key: value}, format="tsv")})


def hotspot_table(page: Page, tissue: str) -> Table | None:
    """The trans hotspots of a tissue (every modality), or None when the release has no trans table."""
    release = page.release
    if not release.has_trans():
        return None
    rows = release.trans_hotspots(tissues=[tissue], min_targets=1).copy()
    rows["locus"] = [f"{c}:{s:,}–{e:,}" for c, s, e in zip(rows["chrom"], rows["start"], rows["end"], strict=True)]
    return table_from_frame(page, "hotspot-table", rows, HOTSPOT_COLUMNS,
                            caption=f"trans-QTL loci of {page.tissue_name(tissue)}, the most targets first",
                            tsv_name=f"trans_hotspots.{tissue}.{release.id}", empty="No trans-QTL pair in this tissue.",
                            links={"TSV (API)": page.api_url("/qtls/trans/hotspots", tissue=tissue, min_targets=1,
                                                             format="tsv")})
