"""Readable labels of phenotypes for plot axes and figure titles: the gene symbol, then what the phenotype
measures of that gene in its modality, instead of the raw phenotype id.

Phenotype ids follow Pantry (``GENE__feature`` for grouped modalities, the gene id for gene-level ones):

==============  ==========================================  ===============================
modality        id                                          label
==============  ==========================================  ===============================
expression      ``ENSG1``                                   ``Sym``
stability       ``ENSG1``                                   ``Sym · stability``
isoforms        ``ENSG1__ENST2``                            ``Sym · ENST2``
splicing        ``ENSG1__chr1:682920:686663:clu_1[_+]``     ``Sym · intron 682,920–686,663``
alt_TSS         ``ENSG1__TSS_2``                            ``Sym · TSS_2 usage``
alt_polyA       ``ENSG1__PAS_3``                            ``Sym · polyA site 3 usage``
cross_modality  ``MODALITY:ID``                             the label of ID ``(MODALITY)``
==============  ==========================================  ===============================

Features of other shapes keep their text (``Sym · feature``). The same rule lives in ``static/plots.js``
(``phenotypeLabel``) for phenotypes a page fetches; a test checks that both agree.
"""

from __future__ import annotations

import re

SEPARATOR = "__"
_INTRON = re.compile(r"^(?:chr)?[^:]+:(\d+):(\d+)(?::.*)?$")
_NUMBERED = re.compile(r"^(?:TSS|PAS)_(\d+)$")


def _thousands(digits: str) -> str:
    return f"{int(digits):,}"


def feature_label(modality: str, feature: str) -> str:
    """What a grouped phenotype's feature (the part after ``__``) measures, in words."""
    if modality == "splicing":
        m = _INTRON.match(feature)
        return f"intron {_thousands(m.group(1))}–{_thousands(m.group(2))}" if m else f"intron {feature}"
    if modality == "alt_TSS":
        return f"{feature} usage" if _NUMBERED.match(feature) else f"TSS {feature} usage"
    if modality == "alt_polyA":
        m = _NUMBERED.match(feature)
        return f"polyA site {m.group(1)} usage" if m else f"polyA site {feature} usage"
    return feature


def phenotype_label(modality: str, phenotype_id: str, gene_name: str | None = None) -> str:
    """The readable label of ``phenotype_id`` of ``modality``, naming its gene by ``gene_name`` (the gene id
    when missing)."""
    pid = str(phenotype_id)
    if modality == "cross_modality" and ":" in pid.split(SEPARATOR, 1)[0]:
        inner, rest = pid.split(":", 1)
        return f"{phenotype_label(inner, rest, gene_name)} ({inner})"
    gene, _, feature = pid.partition(SEPARATOR)
    symbol = gene_name if isinstance(gene_name, str) and gene_name else gene
    if not feature:
        return f"{symbol} · stability" if modality == "stability" else symbol
    return f"{symbol} · {feature_label(modality, feature)}"
