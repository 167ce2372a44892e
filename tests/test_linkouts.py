"""External link-outs (atlas.yaml ``links:``): validation of the templates, which links apply to which item, and
the links on the gene, variant and data-access pages of the small demo site."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from qtlatlas.config import parse_atlas
from qtlatlas.config_links import DEFAULT_ACCESSION_LINKS, LinkOuts
from qtlatlas.errors import ConfigError
from qtlatlas.web.pages import linkouts

ATLAS = textwrap.dedent(
    """\
    atlas: {name: Test atlas}
    tissues: [{id: BLA, name: Basolateral amygdala}]
    releases:
      - {id: v1, genome: rn7, annotation: genes.gtf.gz, genotypes: geno.vcf.gz, tissues: {BLA: {expression: {bed: b.bed.gz}}}}
    """
)


def parse(links: str):
    return parse_atlas(ATLAS + textwrap.dedent(links), base_dir=Path("."))


def test_links_default_to_accessions_only():
    atlas = parse("")
    assert atlas.links.gene == [] and atlas.links.variant == []
    assert [link.label for link in atlas.links.accession] == [link.label for link in DEFAULT_ACCESSION_LINKS]


@pytest.mark.parametrize("block, words", [
    ('links: {gene: [{label: Ensembl, url: "https://e.org/{gene_symbol}"}]}', ["links", "gene_symbol", "{gene_id}"]),
    ('links: {variant: [{label: dbSNP, url: "ftp://x.org/{rsid}"}]}', ["links", "http"]),
    ('links: {variant: [{label: dbSNP, url: "https://x.org/{rsid:>10}"}]}', ["links", "plain field name"]),
    ('links: {accession: [{label: SRA, url: "https://x.org/{accession}", pattern: "(SRP"}]}', ["pattern", "regular"]),
    ('links: {genes: []}', ["links", "genes"]),
])
def test_bad_links_are_named(block, words):
    with pytest.raises(ConfigError) as err:
        parse(block)
    for word in words:
        assert word in str(err.value), (word, str(err.value))


class FakeSite:
    def __init__(self, links):
        self.atlas = {"links": links}


def test_which_links_apply():
    site = FakeSite({"gene": [{"label": "Ensembl", "url": "https://e.org/Gene?g={gene_id}"},
                              {"label": "RGD", "url": "https://rgd.org/s?term={gene_name}"}],
                     "variant": [{"label": "dbSNP", "url": "https://ncbi/snp/{rsid}"},
                                 {"label": "Ensembl", "url": "https://e.org/Location/View?r={chrom}:{pos}"}]})
    gene = linkouts.link_outs(site, "gene", {"gene_id": "ENSRNOG1", "gene_name": "A b/c", "chrom": "chr1"})
    assert gene == [{"label": "Ensembl", "url": "https://e.org/Gene?g=ENSRNOG1"},
                    {"label": "RGD", "url": "https://rgd.org/s?term=A%20b%2Fc"}]  # values quoted
    # no gene_name: the RGD link cannot be built and is left out
    assert [x["label"] for x in linkouts.link_outs(site, "gene", {"gene_id": "G", "gene_name": None})] == ["Ensembl"]
    rs = linkouts.link_outs(site, "variant", {"variant_id": "rs123", "chrom": "chr2", "pos": 55})
    assert rs == [{"label": "dbSNP", "url": "https://ncbi/snp/rs123"},
                  {"label": "Ensembl", "url": "https://e.org/Location/View?r=chr2:55"}]
    positional = linkouts.link_outs(site, "variant", {"variant_id": "chr2:55", "chrom": "chr2", "pos": 55})
    assert [x["label"] for x in positional] == ["Ensembl"]  # no rsID, no dbSNP link
    defaults = FakeSite(LinkOuts().model_dump(mode="json"))
    assert [x["label"] for x in linkouts.link_outs(defaults, "accession", {"accession": "PRJNA12345"})] == \
        ["BioProject", "ENA"]
    assert [x["url"] for x in linkouts.link_outs(defaults, "accession", {"accession": "SRP000941"})] == \
        ["https://www.ncbi.nlm.nih.gov/sra/SRP000941", "https://www.ebi.ac.uk/ena/browser/view/SRP000941"]
    assert linkouts.link_outs(defaults, "accession", {"accession": "not-an-accession"}) == []
    assert linkouts.link_outs(defaults, "gene", {"gene_id": "G"}) == []
    # a site built before link-outs (no "links" in atlas.json) links accessions by default
    assert [x["label"] for x in linkouts.link_outs(FakeSite(None), "accession", {"accession": "GSE1"})] == ["GEO"]


def external(html: str) -> dict[str, str]:
    """label -> href of the external links of a page."""
    return {m[2].strip(): m[1].replace("&amp;", "&")
            for m in re.finditer(r'<a class="btn btn-ghost external" href="([^"]+)"[^>]*>([^<]+)<', html)}


def test_gene_and_variant_pages_link_out(client, site):
    genes = pd.read_parquet(site / "releases" / "v2" / "tables" / "genes.parquet")
    gene = genes.iloc[0]
    links = external(client.get(f"/gene/{gene['gene_id']}").text)
    assert links == {"Ensembl": f"https://www.ensembl.org/Multi/Search/Results?q={gene['gene_name']}",
                     "NCBI Gene": f"https://www.ncbi.nlm.nih.gov/gene/?term={gene['gene_name']}"}
    pairs = pd.read_parquet(site / "releases" / "v2" / "tables" / "signif_pairs.parquet")
    variant = pairs.iloc[0]
    assert variant["variant_id"].startswith("rs")
    links = external(client.get(f"/variant/{variant['variant_id']}").text)
    assert links == {"dbSNP": f"https://www.ncbi.nlm.nih.gov/snp/{variant['variant_id']}",
                     "Ensembl": f"https://www.ensembl.org/Multi/Search/Results?q={variant['chrom']}:{int(variant['pos'])}"}


def test_data_access_accessions_are_links(client):
    html = client.get("/data-access").text
    assert "<code>PRJNA000000</code>" in html
    assert 'href="https://www.ncbi.nlm.nih.gov/bioproject/PRJNA000000"' in html
    assert 'href="https://www.ebi.ac.uk/ena/browser/view/PRJNA000000"' in html
