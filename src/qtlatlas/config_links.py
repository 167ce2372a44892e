"""External link-outs of the portal (``links:`` in atlas.yaml): where a gene, a variant or an accession leads
outside the atlas (Ensembl, RGD, NCBI Gene, dbSNP, SRA, ENA, GEO …).

Each link is a label and a URL template whose ``{placeholders}`` name fields of the item::

    links:
      gene:
        - {label: Ensembl, url: "https://rat.ensembl.org/Rattus_norvegicus/Gene/Summary?g={gene_id}"}
        - {label: RGD, url: "https://rgd.mcw.edu/rgdweb/search/search.html?term={gene_name}"}
      variant:
        - {label: dbSNP, url: "https://www.ncbi.nlm.nih.gov/snp/{rsid}"}
        - {label: Ensembl, url: "https://rat.ensembl.org/Rattus_norvegicus/Location/View?r={chrom}:{pos}"}
      accession:
        - {label: SRA, url: "https://www.ncbi.nlm.nih.gov/sra/{accession}", pattern: "^(SRP|SRR|PRJNA)\\d+$"}

A link whose template names a field the item lacks (``{rsid}`` of a variant without an rsID) is not shown.
Gene and variant links have no default: which site serves a species is the atlas's choice. Accessions are linked
by default to the archive their prefix names (:data:`DEFAULT_ACCESSION_LINKS`).
"""

from __future__ import annotations

import re
import string

from pydantic import Field, field_validator, model_validator

from .config_base import ConfigModel

#: Fields a link template may name, per kind of item.
FIELDS = {
    "gene": {"gene_id", "gene_name", "chrom", "start", "end"},
    "variant": {"variant_id", "rsid", "chrom", "pos", "ref", "alt"},
    "accession": {"accession"},
}


class LinkOut(ConfigModel):
    """One external link: ``label`` shown, ``url`` with ``{field}`` placeholders, and (accessions only) a
    regular expression ``pattern`` the accession must match for the link to apply."""

    label: str = Field(min_length=1, max_length=40)
    url: str
    pattern: str | None = None

    @field_validator("url")
    @classmethod
    def _http(cls, v: str) -> str:
        if not re.match(r"^https?://[^\s{}]+", v):
            raise ValueError(f"url {v!r} must start with http:// or https:// and a host")
        try:
            placeholders(v)
        except ValueError as e:
            raise ValueError(f"url {v!r}: {e}") from None
        return v

    @field_validator("pattern")
    @classmethod
    def _regex(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                re.compile(v)
            except re.error as e:
                raise ValueError(f"pattern {v!r} is not a regular expression: {e}") from None
        return v


def placeholders(url: str) -> set[str]:
    """The ``{field}`` names of a URL template (ValueError on a malformed template or a format spec)."""
    names = set()
    for _, name, spec, conversion in string.Formatter().parse(url):
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise ValueError(f"placeholder {{{name}}} must be a plain field name such as {{gene_id}}")
        names.add(name)
    return names


#: Accession prefixes of the INSDC archives and GEO, linked when atlas.yaml lists no accession links.
DEFAULT_ACCESSION_LINKS = [
    LinkOut(label="SRA", url="https://www.ncbi.nlm.nih.gov/sra/{accession}",
            pattern=r"^(SRP|SRR|SRX|SRS|DRP|DRR|ERP|ERR|ERX|ERS)\d+$"),
    LinkOut(label="BioProject", url="https://www.ncbi.nlm.nih.gov/bioproject/{accession}", pattern=r"^PRJ(NA|EB|DB)\d+$"),
    LinkOut(label="ENA", url="https://www.ebi.ac.uk/ena/browser/view/{accession}",
            pattern=r"^(PRJ(NA|EB|DB)|ERP|ERR|ERX|ERS|SRP|SRR)\d+$"),
    LinkOut(label="BioSample", url="https://www.ncbi.nlm.nih.gov/biosample/{accession}", pattern=r"^SAM(N|EA|D)\d+$"),
    LinkOut(label="GEO", url="https://www.ncbi.nlm.nih.gov/geo/query/acc.cgi?acc={accession}", pattern=r"^GS[EM]\d+$"),
    LinkOut(label="dbGaP", url="https://www.ncbi.nlm.nih.gov/projects/gap/cgi-bin/study.cgi?study_id={accession}",
            pattern=r"^phs\d{6}(\.v\d+\.p\d+)?$"),
]


class LinkOuts(ConfigModel):
    """Link-outs per kind of item (see the module docstring)."""

    gene: list[LinkOut] = Field(default_factory=list, description="links of a gene page ({gene_id}, {gene_name}, "
                                "{chrom}, {start}, {end})")
    variant: list[LinkOut] = Field(default_factory=list, description="links of a variant page ({variant_id}, "
                                   "{rsid}, {chrom}, {pos}, {ref}, {alt})")
    accession: list[LinkOut] = Field(default_factory=lambda: list(DEFAULT_ACCESSION_LINKS),
                                     description="links of accessions ({accession}), each applied when its pattern "
                                     "matches; default: SRA, BioProject, ENA, BioSample, GEO and dbGaP by prefix")

    @model_validator(mode="after")
    def _fields_known(self) -> LinkOuts:
        for kind, allowed in FIELDS.items():
            for link in getattr(self, kind):
                unknown = placeholders(link.url) - allowed
                if unknown:
                    raise ValueError(f"links.{kind}: {link.label!r} names {', '.join(sorted(unknown))}; a {kind} link "
                                     f"may use {', '.join('{' + f + '}' for f in sorted(allowed))}")
        return self
