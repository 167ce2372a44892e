"""The regional plot (LocusZoom's look) drawn on the server as SVG, so that it shows before plotly.js has
loaded (and without JavaScript): −log10 p of every variant along the window, coloured by r² with the
reference variant in LocusZoom's five bins (grey where r² is unknown), the reference a purple diamond, the
significance threshold dashed, independent signals ringed and labelled by rank, and below them a track of
every gene of the window (exons as boxes, introns as a line, the name with an arrow giving the strand).

A window has thousands of variants: points are drawn as zero-length round-capped strokes of one ``<path>``
per colour (about a dozen bytes per point), and points falling on the same pixel of a colour are drawn
once. Pure function, presentation attributes only (no inline style or script), like :mod:`.static_plots`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from markupsafe import Markup, escape

from .static_plots import CHAR_PX, FONT, nice_ticks

#: LocusZoom's colours of the r² bins (upper bounds 0.2, 0.4, 0.6, 0.8, 1), of unknown r² and of the reference.
LD_BINS = [(0.2, "#357ebd"), (0.4, "#46b8da"), (0.6, "#5cb85c"), (0.8, "#eea236"), (1.0, "#d43f3a")]
LD_UNKNOWN = "#b8b8b8"
REFERENCE_COLOUR = "#9632b8"
#: Height of the −log10 p panel, of one gene-track row and most rows of the track, px.
PANEL_PX = 300
TRACK_ROW_PX = 30
MAX_TRACK_ROWS = 10


@dataclass
class Locus:
    """What a regional plot shows. ``pos``, ``nlog10p`` and ``r2`` are aligned arrays (r2 NaN where unknown,
    or None for no LD at all); ``reference`` is the index of the LD reference among them (None: none shown);
    ``independent`` holds ``(index, rank)`` of the signals to ring; ``genes`` are gene-track rows
    (``gene_id, gene_name, start, end, strand, exons``); ``highlight`` the gene id drawn in the accent colour."""

    chrom: str
    window: tuple[int, int]
    pos: np.ndarray
    nlog10p: np.ndarray
    r2: np.ndarray | None = None
    reference: int | None = None
    reference_label: str = ""
    threshold: float | None = None
    independent: list[tuple[int, int]] = field(default_factory=list)
    genes: list[dict] = field(default_factory=list)
    highlight: str | None = None


def ld_bin(r2: np.ndarray) -> np.ndarray:
    """The LocusZoom bin of each r² (0: below 0.2 … 4: 0.8 and above), -1 where r² is unknown."""
    r2 = np.asarray(r2, dtype=np.float64)
    out = np.searchsorted(np.array([0.2, 0.4, 0.6, 0.8]), np.nan_to_num(r2, nan=0.0), side="right")
    return np.where(np.isnan(r2), -1, out)


def pack_rows(extents: list[tuple[float, float]], gap: float = 8.0) -> list[int]:
    """The track row of each ``(left, right)`` extent (in order): the first row whose last extent ends
    ``gap`` before it starts."""
    ends: list[float] = []
    rows = []
    for left, right in extents:
        for i, end in enumerate(ends):
            if left >= end + gap:
                ends[i] = right
                rows.append(i)
                break
        else:
            ends.append(right)
            rows.append(len(ends) - 1)
    return rows


def _n(x: float) -> str:
    return f"{x:.1f}"


def track_layout(genes: list[dict], x, x_lo: float, x_hi: float) -> list[tuple[dict, int, float, str]]:
    """``(gene, row, label x, label)`` of each gene: labels (name and strand arrow) centred under the gene
    within the track, rows packed so that neither bodies nor labels overlap."""
    placed = []
    extents = []
    for g in genes:
        a, b = max(x(g["start"]), x_lo), min(x(g["end"]), x_hi)
        name = g.get("gene_name") or g["gene_id"]
        label = f"{name} →" if g.get("strand") == "+" else f"← {name}" if g.get("strand") == "-" else name
        half = len(label) * CHAR_PX / 2
        cx = min(max((a + b) / 2, x_lo + half), x_hi - half)
        extents.append((min(a, cx - half), max(b, cx + half)))
        placed.append((g, cx, label))
    rows = pack_rows(extents)
    return [(g, row, cx, label) for (g, cx, label), row in zip(placed, rows, strict=True)]


def regional_svg(locus: Locus, *, width: int = 1100, panel: int = PANEL_PX, label: str = "",
                 css: str = "") -> tuple[Markup, int]:
    """The regional plot of ``locus`` as ``<svg class="static-plot regional-static {css}">`` and its height in px
    (``viewBox`` ``width`` wide; the −log10 p panel ``panel`` px high; the height grows with the legend's rows
    and the gene track's, at most :data:`MAX_TRACK_ROWS`)."""
    left, right = 62, 16 if width > 600 else 10
    legend, legend_h = _legend(locus, left, width - right)
    lo, hi = locus.window
    plot_w = width - left - right
    y_val = np.asarray(locus.nlog10p, dtype=np.float64)
    finite = np.isfinite(y_val)
    top_value = max([1.0, *(y_val[finite].tolist() or [0.0])])
    if locus.threshold:
        top_value = max(top_value, -math.log10(locus.threshold))
    ticks = nice_ticks(0.0, top_value * 1.08)
    y_max = max(ticks[-1], top_value * 1.08)

    def x(bp: float) -> float:
        return left + plot_w * (bp - lo) / max(hi - lo, 1)

    def y(v: float) -> float:
        return legend_h + panel * (1 - v / y_max)

    layout = track_layout(locus.genes, x, left, width - right)
    n_rows = min(max((row for _, row, _, _ in layout), default=-1) + 1, MAX_TRACK_ROWS)
    axis_y = legend_h + panel
    track_top = axis_y + 40
    height = int(track_top + max(n_rows, 1) * TRACK_ROW_PX + 34)
    out = [f'<svg class="static-plot regional-static{" " + css if css else ""}" xmlns="http://www.w3.org/2000/svg" '
           f'viewBox="0 0 {width} {height}" width="100%" height="{height}" preserveAspectRatio="xMidYMid meet" '
           f'aria-hidden="true" font-family="{FONT}" font-size="12" fill="#18212c">'
           f'<title>{escape(label or "Regional plot")}</title>']
    out.append(legend)
    for t in ticks:  # y grid and labels
        yy = _n(y(t))
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{yy}" y2="{yy}" stroke="#e6e9ee"/>'
                   f'<text x="{left - 6}" y="{yy}" text-anchor="end" dominant-baseline="middle">{t:g}</text>')
    out.append(f'<text transform="translate(16 {_n(legend_h + panel / 2)}) rotate(-90)" text-anchor="middle">'
               f'−log10 p</text>')
    for t in nice_ticks(lo / 1e6, hi / 1e6, max(4, plot_w // 110)):  # x ticks, in Mb
        if t * 1e6 < lo:
            continue
        xx = _n(x(t * 1e6))
        out.append(f'<line x1="{xx}" x2="{xx}" y1="{axis_y}" y2="{axis_y + 5}" stroke="#9aa4b2"/>'
                   f'<text x="{xx}" y="{axis_y + 18}" text-anchor="middle">{t:g}</text>')
    out.append(f'<line x1="{left}" x2="{width - right}" y1="{axis_y}" y2="{axis_y}" stroke="#9aa4b2"/>'
               f'<line x1="{left}" x2="{left}" y1="{legend_h}" y2="{axis_y}" stroke="#9aa4b2"/>')
    if locus.threshold:
        ty = _n(y(-math.log10(locus.threshold)))
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{ty}" y2="{ty}" stroke="#a4262c" '
                   f'stroke-width="1.2" stroke-dasharray="6 4"/>')
    out.append(_points(locus, x, y, finite))
    out.append(_track(locus, layout, x, left, width - right, track_top, n_rows))
    out.append(f'<text x="{_n(left + plot_w / 2)}" y="{height - 8}" text-anchor="middle">'
               f'{escape(locus.chrom)} position (Mb)</text>')
    out.append("</svg>")
    return Markup("".join(out)), height


def _legend(locus: Locus, x0: float, x1: float) -> tuple[str, int]:
    """The legend above the panel: r² bins (with the reference's name), the reference, the threshold and the
    independent signals, left to right in rows 20 px high; and the height it takes (with the gap below it)."""
    items: list[tuple[str, str]] = []
    if locus.r2 is not None:
        items.append(("text", f"r² with {locus.reference_label}:" if locus.reference_label else "r²:"))
        bounds = [0.0] + [b for b, _ in LD_BINS]
        for (b, colour), a in zip(reversed(LD_BINS), reversed(bounds[:-1]), strict=True):
            items.append((colour, f"{a:g}–{b:g}"))
        items.append((LD_UNKNOWN, "no r²"))
    if locus.reference is not None:
        items.append(("diamond", "reference"))
    if locus.threshold:
        items.append(("dash", "p threshold"))
    if locus.independent:
        items.append(("ring", "independent signal"))
    out, x, y = [], x0, 15
    for kind, text in items:
        w = CHAR_PX * len(text) + (0 if kind == "text" else 16) + 12
        if x + w > x1 and x > x0:
            x, y = x0, y + 20
        if kind == "text":
            out.append(f'<text x="{_n(x)}" y="{y}" dominant-baseline="middle">{escape(text)}</text>')
        else:
            out.append(_legend_mark(kind, x + 5, y))
            out.append(f'<text x="{_n(x + 14)}" y="{y}" dominant-baseline="middle">{escape(text)}</text>')
        x += w
    return "".join(out), y + 15


def _legend_mark(kind: str, cx: float, cy: float) -> str:
    if kind == "diamond":
        return _diamond(cx, cy, 6)
    if kind == "dash":
        return (f'<line x1="{_n(cx - 6)}" x2="{_n(cx + 6)}" y1="{cy}" y2="{cy}" stroke="#a4262c" stroke-width="1.5" '
                f'stroke-dasharray="4 2"/>')
    if kind == "ring":
        return f'<circle cx="{_n(cx)}" cy="{cy}" r="5.5" fill="none" stroke="#18212c" stroke-width="1.8"/>'
    return f'<circle cx="{_n(cx)}" cy="{cy}" r="4.5" fill="{kind}" stroke="#333a44" stroke-width="0.8"/>'


def _diamond(cx: float, cy: float, r: float) -> str:
    return (f'<path d="M{_n(cx)} {_n(cy - r)}L{_n(cx + r)} {_n(cy)}L{_n(cx)} {_n(cy + r)}L{_n(cx - r)} {_n(cy)}Z" '
            f'fill="{REFERENCE_COLOUR}" stroke="#18212c" stroke-width="1"/>')


def _points(locus: Locus, x, y, finite: np.ndarray) -> str:
    """The variants, one path per r² bin (grey first, the highest bin on top), then the independent
    signals' rings and the reference diamond."""
    pos = np.asarray(locus.pos, dtype=np.float64)
    vals = np.asarray(locus.nlog10p, dtype=np.float64)
    bins = ld_bin(locus.r2) if locus.r2 is not None else np.full(len(pos), -1)
    out = []
    for b in range(-1, len(LD_BINS)):
        sel = np.flatnonzero((bins == b) & finite)
        if not len(sel):
            continue
        px = np.round(x(pos[sel])).astype(np.int64)  # x and y are affine: they map whole arrays
        py = np.round(y(vals[sel])).astype(np.int64)
        _, first = np.unique(px * 100_000 + py, return_index=True)  # one point per pixel, in drawing order
        keep = np.sort(first)
        d = "".join(f"M{a} {c}h0" for a, c in zip(px[keep].tolist(), py[keep].tolist(), strict=True))
        colour = LD_UNKNOWN if b < 0 else LD_BINS[b][1]
        out.append(f'<path d="{d}" stroke="#333a44" stroke-width="8" stroke-linecap="round" fill="none"/>'
                   f'<path d="{d}" stroke="{colour}" stroke-width="6.4" stroke-linecap="round" fill="none"/>')
    for i, rank in locus.independent:
        if 0 <= i < len(pos) and finite[i]:
            cx, cy = x(pos[i]), y(vals[i])
            out.append(f'<circle cx="{_n(cx)}" cy="{_n(cy)}" r="7.5" fill="none" stroke="#18212c" stroke-width="2"/>'
                       f'<text x="{_n(cx + 9)}" y="{_n(cy + 17)}" font-weight="600" stroke="#ffffff" stroke-width="3" '
                       f'paint-order="stroke">#{rank}</text>')
    r = locus.reference
    if r is not None and 0 <= r < len(pos) and finite[r]:
        cx, cy = x(pos[r]), y(vals[r])
        out.append(_diamond(cx, cy, 7.5))
        if locus.reference_label:
            right_edge = x(locus.window[1])
            anchor = "end" if cx > right_edge - 0.3 * (right_edge - x(locus.window[0])) else "start"
            dx = -10 if anchor == "end" else 10
            out.append(f'<text x="{_n(cx + dx)}" y="{_n(max(cy - 10, 40))}" text-anchor="{anchor}" '
                       f'fill="{REFERENCE_COLOUR}" font-weight="600" stroke="#ffffff" stroke-width="3" '
                       f'paint-order="stroke">{escape(locus.reference_label)}</text>')
    return "".join(out)


def _track(locus: Locus, layout, x, x_lo: float, x_hi: float, top: float, n_rows: int) -> str:
    """The gene track: one row per packed row of genes, exons as boxes on a line, names below."""
    out = []
    hidden = 0
    for g, row, cx, label in layout:
        if row >= n_rows:
            hidden += 1
            continue
        mid = top + row * TRACK_ROW_PX + 6
        accent = g["gene_id"] == locus.highlight
        colour = "#0a58a8" if accent else "#4f5b69"
        a, b = max(x(g["start"]), x_lo), min(x(g["end"]), x_hi)
        out.append(f'<line x1="{_n(a)}" x2="{_n(max(b, a + 1))}" y1="{_n(mid)}" y2="{_n(mid)}" stroke="{colour}" '
                   f'stroke-width="1.5"/>')
        for s, e in g.get("exons") or [[g["start"], g["end"]]]:
            ea, eb = max(x(s), x_lo), min(x(e), x_hi)
            if eb >= ea:
                out.append(f'<rect x="{_n(ea)}" y="{_n(mid - 5)}" width="{_n(max(eb - ea, 1))}" height="10" '
                           f'fill="{colour}"/>')
        weight = ' font-weight="700"' if accent else ""
        out.append(f'<text x="{_n(cx)}" y="{_n(mid + 18)}" text-anchor="middle" font-size="11" fill="{colour}"'
                   f'{weight}>{escape(label)}</text>')
    if hidden:
        out.append(f'<text x="{_n(x_hi)}" y="{_n(top + n_rows * TRACK_ROW_PX + 4)}" text-anchor="end" '
                   f'font-size="11" fill="#4f5b69">+{hidden} more genes</text>')
    if not layout:
        out.append(f'<text x="{_n((x_lo + x_hi) / 2)}" y="{_n(top + 10)}" text-anchor="middle" fill="#4f5b69">'
                   f'No gene in this window</text>')
    return "".join(out)


def regional_svgs(locus: Locus, label: str) -> tuple[Markup, int]:
    """The plot drawn twice, for wide pages (1100 px) and for phones (420 px, shown by CSS below 640 px, so that
    its text stays legible), and the wide one's height."""
    wide, height = regional_svg(locus, label=label, css="static-wide")
    narrow, _ = regional_svg(locus, width=420, panel=240, label=label, css="static-narrow")
    return Markup(wide + narrow), height
