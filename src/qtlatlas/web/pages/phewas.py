"""The variant page's PheWAS: every tested association of the variant (the nominal pass, all tissues ×
modalities) as −log10 p grouped by tissue × modality, the pairs of the significant, top and independent tables
highlighted; and the nominal rows the page's association table adds to those tables' rows.

The points are embedded in the page as column arrays (tissues, modalities, genes and phenotypes as indices into
lists sent once); at most :data:`MAX_PHEWAS` of them, the most significant, when a variant was tested with more.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..regional import rounded, significant_digits
from .context import Page

#: Most tested pairs of a variant drawn (the most significant when it has more).
MAX_PHEWAS = 20_000
#: Most nominal rows added to the page's association table (the most significant; all of them in the API's TSV).
MAX_NOMINAL_ROWS = 200
#: All-pairs fields the PheWAS and the table read.
TESTED_FIELDS = ["tissue", "modality", "phenotype_id", "gene_id", "pval_nominal", "nlog10p", "slope", "slope_se"]
#: Bits of a point's ``flags``: the tables that hold its pair.
SIGNIFICANT, TOP, INDEPENDENT = 1, 2, 4
_FLAG = {"significant": SIGNIFICANT, "top": TOP, "independent": INDEPENDENT}


def tested_pairs(release, variant_id: str) -> tuple[pd.DataFrame, int, float | None]:
    """Every tested pair of the variant (``(rows, total, cut)`` of ``all_pairs_strongest`` with
    :data:`TESTED_FIELDS`), without the pairs of tissues the release view hides; no rows when the release
    publishes no nominal pass."""
    if not release.all_pairs_targets():
        return pd.DataFrame(columns=TESTED_FIELDS), 0, None
    rows, total, cut = release.all_pairs_strongest(MAX_PHEWAS, variant=variant_id, fields=TESTED_FIELDS)
    if release.hidden.tissues and len(rows):
        visible = release.visible_rows(rows)
        if len(visible) < len(rows):  # a store that kept them: every pair was read when none was cut
            total = len(visible) if cut is None else max(total - (len(rows) - len(visible)), len(visible))
            rows = visible
    return rows, total, cut


def _keys(frame: pd.DataFrame) -> list[tuple]:
    if frame.empty:
        return []
    return list(zip(frame["tissue"].tolist(), frame["modality"].tolist(), frame["phenotype_id"].tolist(), strict=True))


def flags_of(listed: pd.DataFrame, fdr: float | None) -> tuple[dict, set]:
    """``({(tissue, modality, phenotype): flags}, significant keys)`` of the listed rows: a pair is
    significant when it is a significant pair, an independent QTL, or the top QTL of a phenotype with q ≤
    the release's FDR."""
    flags: dict[tuple, int] = {}
    significant: set[tuple] = set()
    if listed.empty:
        return flags, significant
    q = listed["qval"] if "qval" in listed.columns else pd.Series(np.nan, index=listed.index)
    for key, source, qval in zip(_keys(listed), listed["source"].tolist(), q.tolist(), strict=True):
        flags[key] = flags.get(key, 0) | _FLAG.get(source, 0)
        if source in ("significant", "independent") or (source == "top" and fdr is not None and qval <= fdr):
            significant.add(key)
    return flags, significant


def phewas_data(page: Page, listed: pd.DataFrame, tested: pd.DataFrame, total: int, cut: float | None,
                names: dict[str, str]) -> dict:
    """The PheWAS payload: ``tissues`` ({id, name, colour}), ``modalities`` ({id, name}), ``genes`` ([id, symbol]),
    ``phenotypes`` (ids), and per point ``t, m, g, ph`` (indices), ``y`` (−log10 p, 3 decimals), ``slope``
    (3 significant digits), ``flags`` (bits of the tables holding the pair: 1 significant pair, 2 top QTL, 4
    independent QTL) and ``hi`` (1 for a significant association); points ordered by tissue and modality
    (release order), then gene and phenotype. Pairs of the listed rows without a nominal-pass row (a modality
    mapped without one) come from those rows. ``n_total``: pairs tested; ``min_nlog10p``: the −log10 p below
    which pairs were left out (None when none was)."""
    fdr = (page.release.info.get("mapping") or {}).get("fdr")
    flags, significant = flags_of(listed, fdr)
    cols = ["tissue", "modality", "phenotype_id", "gene_id", "nlog10p", "slope"]
    points = list(zip(*(tested[c].tolist() for c in cols), strict=True)) if len(tested) else []
    have = {p[:3] for p in points}
    if not listed.empty:  # listed pairs the nominal pass lacks, with the statistics of their best row
        order = {"significant": 0, "top": 1, "independent": 2}
        found = zip(*(listed[c].tolist() for c in ["source", "tissue", "modality", "phenotype_id", "gene_id",
                                                    "pval_nominal", "slope"]), strict=True)
        for _, t, m, pid, gid, p, slope in sorted(found, key=lambda r: order.get(r[0], 9)):
            if (t, m, pid) not in have and p == p:
                have.add((t, m, pid))
                points.append((t, m, pid, gid, -float(np.log10(max(float(p), 1e-320))), slope))
    t_index = {t["tissue_id"]: i for i, t in enumerate(page.tissues)}
    m_index = {m["id"]: i for i, m in enumerate(page.modalities)}
    points = sorted((p for p in points if p[0] in t_index and p[1] in m_index),
                    key=lambda p: (t_index[p[0]], m_index[p[1]], str(p[3]), str(p[2])))
    genes = list(dict.fromkeys(str(p[3]) for p in points))
    phenotypes = list(dict.fromkeys(str(p[2]) for p in points))
    g_index = {g: i for i, g in enumerate(genes)}
    p_index = {p: i for i, p in enumerate(phenotypes)}
    keys = [p[:3] for p in points]
    return {
        "tissues": [{"id": t["tissue_id"], "name": t.get("name") or t["tissue_id"],
                     "colour": page.tissue_colour(t["tissue_id"])} for t in page.tissues],
        "modalities": [{"id": m["id"], "name": m["name"]} for m in page.modalities],
        "genes": [[g, names.get(g, g)] for g in genes], "phenotypes": phenotypes,
        "t": [t_index[p[0]] for p in points], "m": [m_index[p[1]] for p in points],
        "g": [g_index[str(p[3])] for p in points], "ph": [p_index[str(p[2])] for p in points],
        "y": rounded([p[4] for p in points], 3), "slope": significant_digits([p[5] for p in points]),
        "flags": [flags.get(k, 0) for k in keys], "hi": [int(k in significant) for k in keys],
        "n_total": int(max(total, len(points))), "min_nlog10p": cut,
    }


def nominal_rows(listed: pd.DataFrame, tested: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """The tested pairs the listed rows lack, as association rows with ``source = "nominal"``: the
    :data:`MAX_NOMINAL_ROWS` most significant (then by tissue, modality, phenotype) and how many there are."""
    if tested.empty:
        return tested.assign(source=pd.Series(dtype=object)), 0
    listed_keys = set(_keys(listed))
    rows = tested[[k not in listed_keys for k in _keys(tested)]]
    rows = rows.sort_values(["pval_nominal", "tissue", "modality", "phenotype_id"], kind="stable")
    return rows.head(MAX_NOMINAL_ROWS).assign(source="nominal"), len(rows)
