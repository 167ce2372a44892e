"""The sample QC section of the Samples page: counts of what was checked and flagged, the flagged rows, and the
sex check as a strip plot (SVG drawn here, readable without JavaScript): one dot per individual at its sex score,
one row per declared sex, flagged individuals ringed and labelled."""

from __future__ import annotations

import math

import pandas as pd
from markupsafe import Markup, escape

from .tables import Column

#: Plot geometry, px: width, height of a row, margins (left: row labels; bottom: axis).
WIDTH, ROW, LEFT, RIGHT, TOP, BOTTOM = 760, 54, 120, 24, 14, 46
#: Dot colour by declared sex.
COLOURS = {"female": "#c2410c", "male": "#1d4ed8", "": "#6b7280"}
ROWS = (("female", "Declared female"), ("male", "Declared male"), ("", "Sex not declared"))

FLAGGED_COLUMNS = [
    Column("check", "Check"),
    Column("tissue", "Tissue"),
    Column("sample_id", "Sample"),
    Column("individual_id", "Individual"),
    Column("declared", "Declared", help="declared sex (sex check) or declared individual (identity check)"),
    Column("observed", "Observed", help="sex the marker genes say, or the individual whose genotypes the RNA "
                                        "matches best"),
    Column("message", "Why"),
]


def qc_summary(rows: pd.DataFrame) -> dict:
    """Counts of the report: individuals sex-checked (and called), samples identity-checked (and tissues), flagged of
    each, and the identity checks that could not decide (with the commonest reason, its figures dropped)."""
    sex, identity = rows[rows["check"] == "sex"], rows[rows["check"] == "identity"]
    undecided = identity[~identity["flag"] & (identity["message"] != "")]
    reasons = undecided["message"].str.replace(r"\s*\(.*\)$", "", regex=True).value_counts()
    return {"n_sex": len(sex), "n_sex_flagged": int(sex["flag"].sum()), "n_identity": len(identity),
            "n_identity_flagged": int(identity["flag"].sum()), "n_tissues": identity["tissue"].nunique(),
            "n_sex_called": int((sex["observed"] != "").sum()), "n_identity_undecided": len(undecided),
            "undecided_reason": reasons.index[0] if len(reasons) else ""}


def _ticks(lo: float, hi: float) -> list[float]:
    step = 10 ** math.floor(math.log10(max(hi - lo, 1e-9) / 4))
    for m in (1, 2, 5, 10):
        if (hi - lo) / (step * m) <= 6:
            step *= m
            break
    first = math.ceil(lo / step) * step
    return [first + k * step for k in range(int((hi - first) / step) + 1)]


def sex_strip_svg(rows: pd.DataFrame) -> Markup | None:
    """Strip plot of the sex rows of the report (None when none has a score); each ``circle`` carries
    ``data-individual``, ``data-declared``, ``data-score`` and ``data-flag``."""
    sex = rows[(rows["check"] == "sex") & rows["score"].notna()]
    if sex.empty:
        return None
    present = [(key, label) for key, label in ROWS if (sex["declared"] == key).any()]
    lo, hi = float(sex["score"].min()), float(sex["score"].max())
    pad = 0.05 * (hi - lo or 1.0)
    lo, hi = lo - pad, hi + pad
    height = TOP + ROW * len(present) + BOTTOM

    def x(v: float) -> float:
        return LEFT + (v - lo) / (hi - lo) * (WIDTH - LEFT - RIGHT)

    parts = [f'<svg class="qc-strip" id="sex-check-plot" viewBox="0 0 {WIDTH} {height}" width="100%" '
             f'role="img" aria-labelledby="sex-plot-title"><title id="sex-plot-title">Sex score of every individual '
             f'by declared sex</title>']
    axis_y = TOP + ROW * len(present)
    for t in _ticks(lo, hi):
        parts.append(f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{TOP}" y2="{axis_y}" class="grid"/>'
                     f'<text class="tick" x="{x(t):.1f}" y="{axis_y + 16}" text-anchor="middle">{t:g}</text>')
    parts.append(f'<text class="axis-title" x="{(LEFT + WIDTH - RIGHT) / 2:.0f}" y="{axis_y + 36}" '
                 'text-anchor="middle">sex score (female marker genes − male marker genes, standardised)</text>')
    for i, (key, label) in enumerate(present):
        mid = TOP + ROW * i + ROW / 2
        parts.append(f'<text class="axis-label" x="{LEFT - 8}" y="{mid + 4:.0f}" text-anchor="end">{label}</text>')
        group = sex[sex["declared"] == key].sort_values("score")
        for k, r in enumerate(group.itertuples()):
            jitter = ((k * 7919) % 23 - 11) / 11 * (ROW * 0.28)
            cx, cy = x(float(r.score)), mid + jitter
            ring = ' stroke="#111" stroke-width="2.5" r="6"' if r.flag else ' r="3.5" fill-opacity="0.65"'
            parts.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" fill="{COLOURS.get(key, "#6b7280")}"{ring} '
                         f'data-individual="{escape(r.individual_id)}" data-declared="{escape(key)}" '
                         f'data-score="{float(r.score):.4g}" data-flag="{str(bool(r.flag)).lower()}">'
                         f'<title>{escape(r.individual_id)}: declared {escape(key or "unknown")}, score '
                         f'{float(r.score):.2f}{" — flagged" if r.flag else ""}</title></circle>')
            if r.flag:
                anchor = "end" if cx > WIDTH - 140 else "start"
                dx = -9 if anchor == "end" else 9
                parts.append(f'<text class="flag-label" x="{cx + dx:.1f}" y="{cy - 8:.1f}" '
                             f'text-anchor="{anchor}">{escape(r.individual_id)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
