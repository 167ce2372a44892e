"""Plots drawn on the server as SVG, so that a page shows its first plot as soon as its HTML is painted —
before (and without) JavaScript. The browser replaces them with the interactive plotly versions of the same
data once plotly.js has loaded.

Pure functions: numbers in, SVG markup out (presentation attributes only, no inline style or script, so
the portal's Content-Security-Policy needs no exception). Coordinates are in a fixed ``viewBox`` that the
page scales to its width.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from markupsafe import Markup, escape

#: Font of the plots (the portal's system font stack).
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
#: Points along each violin's outline.
KDE_POINTS = 64
#: A group with fewer values has its points drawn over its violin.
SMALL_GROUP = 10
#: A group with at most this many values is drawn as its points only (no density, no box).
POINTS_ONLY = 2
#: A violin's density reaches this many bandwidths past the group's smallest and largest values (plotly's
#: ``spanmode: 'soft'``), but not below 0 when every value of the plot is ≥ 0 (TPM).
SPAN_BANDWIDTHS = 2


@dataclass(frozen=True)
class Group:
    """One violin: its label, colour (``#rrggbb``) and values (any length; NaN values are ignored)."""

    label: str
    colour: str
    values: np.ndarray


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About ``count`` round tick values (steps of 1, 2, 2.5 or 5 × 10^k) from the last one ≤ ``low`` to the
    last one ≤ ``high`` (an axis ends at its data, not at a tick)."""
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        high = low + 1.0
    raw = (high - low) / max(count, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.floor(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    return ticks


def _tick_label(value: float) -> str:
    return f"{value:g}" if abs(value) < 1e5 else f"{value:.2g}"


def silverman_bandwidth(values: np.ndarray) -> float:
    """Silverman's rule of thumb, ``1.059 · min(sd, IQR / 1.349) · n^(-1/5)`` (plotly's default for violins);
    0 when the values do not spread."""
    n = len(values)
    if n < 2:
        return 0.0
    sd = float(np.std(values, ddof=1))
    q1, q3 = np.percentile(values, [25, 75])
    spread = min(sd, float(q3 - q1) / 1.349) or sd
    return 1.059 * spread * n ** -0.2


def kde(values: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Gaussian kernel density of ``values`` at ``grid`` (Silverman's bandwidth); shape ``grid.shape``."""
    bw = silverman_bandwidth(values)
    if bw <= 0:
        return np.ones_like(grid)
    z = (grid[:, None] - values[None, :]) / bw
    return np.exp(-0.5 * z * z).sum(axis=1) / (len(values) * bw * math.sqrt(2 * math.pi))


def _num(x: float) -> str:
    return f"{x:.1f}"


def violin_span(values: np.ndarray, floor: float = -math.inf) -> tuple[float, float]:
    """Where a violin's density is drawn: :data:`SPAN_BANDWIDTHS` Silverman bandwidths past the smallest and the
    largest value (the density is not cut at the data), not below ``floor``."""
    bw = silverman_bandwidth(values)
    return max(float(values.min()) - SPAN_BANDWIDTHS * bw, floor), float(values.max()) + SPAN_BANDWIDTHS * bw


def _jitter(n: int) -> np.ndarray:
    """Fixed horizontal offsets in [-1, 1] for ``n`` points (the same drawing every time)."""
    return np.array([((k * 0.618034) % 1.0) * 2 - 1 for k in range(n)]) if n > 1 else np.zeros(n)


def violin_svg(groups: list[Group], *, y_title: str, height: int = 360, width: int = 1100,
               label: str = "") -> Markup:
    """Violins (Gaussian KDE reaching two bandwidths past each group's data, floored at 0 when every value is
    ≥ 0; width-scaled alike) with a box of the quartiles, whiskers to the furthest values within 1.5 IQR and a
    median line, one per group, on a shared linear y axis starting at 0 when every value is ≥ 0 — the look of
    the portal's plotly violins. A group of fewer than :data:`SMALL_GROUP` values has its points drawn over
    the violin; one of at most :data:`POINTS_ONLY` values is drawn as points only.

    Returns an ``<svg class="static-plot">`` element ``height`` pixels high (``viewBox`` ``width × height``,
    scaled down to narrower pages); groups without a finite value keep their place and draw nothing.
    """
    values = [np.asarray(g.values, dtype=np.float64) for g in groups]
    values = [v[np.isfinite(v)] for v in values]
    present = [v for v in values if len(v)]
    lo = min((float(v.min()) for v in present), default=0.0)
    floor = 0.0 if lo >= 0 else -math.inf
    spans = [violin_span(v, floor) if len(v) > POINTS_ONLY else None for v in values]
    hi = max([float(v.max()) for v in present] + [s[1] for s in spans if s], default=1.0)
    lo = min([lo] + [s[0] for s in spans if s])
    if floor == 0.0:
        lo = 0.0
    ticks = nice_ticks(lo, hi)
    lo, hi = min(lo, ticks[0]), max(hi, ticks[-1])
    rotate = len(groups) > 6
    left, right, top = 70, 20, 10
    bottom = 110 if rotate else 50
    plot_w, plot_h = width - left - right, height - top - bottom

    def y(v: float) -> float:
        return top + plot_h * (1 - (v - lo) / (hi - lo))

    slot = plot_w / max(len(groups), 1)
    half = slot * 0.75 * 0.7 / 2  # the widest violin: plotly's violingap 0.25 and violingroupgap 0.3
    out = [f'<svg class="static-plot" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
           f'width="100%" height="{height}" preserveAspectRatio="xMidYMid meet" aria-hidden="true" font-family="{FONT}" font-size="12" '
           f'fill="#18212c"><title>{escape(label or y_title)}</title>']
    for t in ticks:
        yy = _num(y(t))
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{yy}" y2="{yy}" stroke="#e6e9ee"/>'
                   f'<text x="{left - 6}" y="{yy}" text-anchor="end" dominant-baseline="middle">{_tick_label(t)}</text>')
    out.append(f'<text transform="translate(16 {_num(top + plot_h / 2)}) rotate(-90)" text-anchor="middle">'
               f'{escape(y_title)}</text>')
    for i, (g, v, span) in enumerate(zip(groups, values, spans, strict=True)):
        cx = left + slot * (i + 0.5)
        label_y = top + plot_h + 16
        if rotate:
            out.append(f'<text transform="translate({_num(cx)} {label_y}) rotate(-35)" text-anchor="end">'
                       f'{escape(g.label)}</text>')
        else:
            out.append(f'<text x="{_num(cx)}" y="{label_y}" text-anchor="middle">{escape(g.label)}</text>')
        if not len(v):
            continue
        colour = escape(g.colour)
        if span is not None:
            out.append(_violin_body(v, span, cx, half, y, colour))
        if len(v) < SMALL_GROUP:
            for p, dx in zip(v, _jitter(len(v)) * half * 0.35, strict=True):
                out.append(f'<circle cx="{_num(cx + dx)}" cy="{_num(y(p))}" r="3" fill="{colour}" fill-opacity="0.8"/>')
    out.append(f'<line x1="{left}" x2="{left}" y1="{top}" y2="{top + plot_h}" stroke="#9aa4b2"/>')
    out.append("</svg>")
    return Markup("".join(out))


def _violin_body(v: np.ndarray, span: tuple[float, float], cx: float, half: float, y, colour: str) -> str:
    """The density outline (over ``span``) and the box of one group's values ``v`` at x = ``cx``."""
    out = []
    if float(v.max()) > float(v.min()):
        grid = np.linspace(span[0], span[1], KDE_POINTS)
        dens = kde(v, grid)
        dens = dens / dens.max() * half
        side = [f"{_num(cx + d)},{_num(y(p))}" for p, d in zip(grid, dens, strict=True)]
        back = [f"{_num(cx - d)},{_num(y(p))}" for p, d in zip(grid[::-1], dens[::-1], strict=True)]
        out.append(f'<polygon points="{" ".join(side + back)}" fill="{colour}" fill-opacity="0.35" '
                   f'stroke="{colour}" stroke-width="1.2"/>')
    q1, med, q3 = np.percentile(v, [25, 50, 75])
    low = float(v[v >= q1 - 1.5 * (q3 - q1)].min())
    high = float(v[v <= q3 + 1.5 * (q3 - q1)].max())
    box = max(2 * half * 0.15, 4)  # plotly's box: 0.15 of the violin's width
    out.append(f'<line x1="{_num(cx)}" x2="{_num(cx)}" y1="{_num(y(high))}" y2="{_num(y(low))}" stroke="{colour}"/>'
               f'<rect x="{_num(cx - box / 2)}" y="{_num(y(q3))}" width="{_num(box)}" '
               f'height="{_num(max(y(q1) - y(q3), 0.5))}" fill="#ffffff" stroke="{colour}"/>'
               f'<rect x="{_num(cx - box / 2)}" y="{_num(y(q3))}" width="{_num(box)}" '
               f'height="{_num(max(y(q1) - y(q3), 0.5))}" fill="{colour}" fill-opacity="0.35"/>'
               f'<line x1="{_num(cx - box / 2)}" x2="{_num(cx + box / 2)}" y1="{_num(y(med))}" y2="{_num(y(med))}" '
               f'stroke="{colour}" stroke-width="1.5"/>')
    return "".join(out)


@dataclass(frozen=True)
class ForestRow:
    """One estimate of a forest plot: its label, colour, legend group, effect and standard error."""

    label: str
    colour: str
    group: str
    effect: float
    se: float


#: Approximate width of one character of the plots' 12 px font, for margins and legends.
CHAR_PX = 6.6
#: Height of one row of a forest plot, px.
FOREST_ROW_PX = 24


def forest_height(n_rows: int) -> int:
    """Height (px) of a forest plot of ``n_rows`` estimates (the same rule as the interactive plot)."""
    return max(260, 80 + FOREST_ROW_PX * n_rows)


def _fit(label: str, chars: int) -> str:
    return label if len(label) <= chars else label[:max(chars - 1, 1)] + "…"


def forest_svg(rows: list[ForestRow], *, x_title: str, width: int = 600, label: str = "") -> Markup:
    """A forest plot: one row per estimate (top to bottom in ``rows`` order), a square at the effect and a
    bar of ± 1.96 SE, coloured by group, with a line at zero and a legend of the groups when there are
    several (below the axis, 18 px per line). ``<svg class="static-plot">`` of :func:`forest_height` pixels
    plus the legend; labels longer than half the width are cut with an ellipsis."""
    height = forest_height(len(rows))
    lows = [r.effect - 1.96 * r.se for r in rows if math.isfinite(r.effect) and math.isfinite(r.se)]
    highs = [r.effect + 1.96 * r.se for r in rows if math.isfinite(r.effect) and math.isfinite(r.se)]
    lo, hi = min([0.0, *lows]), max([0.0, *highs])
    pad = (hi - lo) * 0.05 or 1.0
    lo, hi = lo - pad, hi + pad
    groups = list(dict.fromkeys((r.group, r.colour) for r in rows))
    max_chars = int(width * 0.5 / CHAR_PX)
    left = min(max((len(r.label) for r in rows), default=4), max_chars) * CHAR_PX + 14
    right, top = 20, 10
    legend_rows: list[list[tuple[str, str, float]]] = [[]]
    if len(groups) > 1:  # legend items left to right, wrapped to the width
        x = left
        for name, colour in groups:
            w = 22 + CHAR_PX * len(name)
            if legend_rows[-1] and x + w > width - right:
                legend_rows.append([])
                x = left
            legend_rows[-1].append((name, colour, x))
            x += w + 12
    legend_px = 18 * len(legend_rows) + 8 if len(groups) > 1 else 0
    height_px = height + legend_px  # the legend below the axis adds to the plot's height
    plot_w, plot_h = width - left - right, height - top - 50

    def x(v: float) -> float:
        return left + plot_w * (v - lo) / (hi - lo)

    step = plot_h / max(len(rows), 1)
    out = [f'<svg class="static-plot" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height_px}" '
           f'width="100%" height="{height_px}" preserveAspectRatio="xMidYMid meet" aria-hidden="true" '
           f'font-family="{FONT}" font-size="12" fill="#18212c"><title>{escape(label or x_title)}</title>']
    for t in nice_ticks(lo, hi):
        if t < lo:
            continue
        xx = _num(x(t))
        out.append(f'<line x1="{xx}" x2="{xx}" y1="{top}" y2="{top + plot_h}" stroke="#e6e9ee"/>'
                   f'<text x="{xx}" y="{_num(top + plot_h + 16)}" text-anchor="middle">{_tick_label(t)}</text>')
    zero = _num(x(0.0))
    out.append(f'<line x1="{zero}" x2="{zero}" y1="{top}" y2="{top + plot_h}" stroke="#8a96a5" stroke-width="1.5"/>')
    out.append(f'<text x="{_num(left + plot_w / 2)}" y="{_num(top + plot_h + 36)}" text-anchor="middle">'
               f'{escape(x_title)}</text>')
    for i, r in enumerate(rows):
        cy = top + step * (i + 0.5)
        out.append(f'<text x="{left - 8}" y="{_num(cy)}" text-anchor="end" dominant-baseline="middle">'
                   f'{escape(_fit(r.label, max_chars))}</text>')
        if not (math.isfinite(r.effect) and math.isfinite(r.se)):
            continue
        colour = escape(r.colour)
        a, b, c = _num(x(r.effect - 1.96 * r.se)), _num(x(r.effect + 1.96 * r.se)), x(r.effect)
        out.append(f'<line x1="{a}" x2="{b}" y1="{_num(cy)}" y2="{_num(cy)}" stroke="{colour}" stroke-width="1.5"/>'
                   f'<rect x="{_num(c - 4.5)}" y="{_num(cy - 4.5)}" width="9" height="9" fill="{colour}" '
                   f'stroke="#1b2430"/>')
    if len(groups) > 1:
        for j, items in enumerate(legend_rows):
            ly = top + plot_h + 58 + 18 * j
            for name, colour, lx in items:
                out.append(f'<rect x="{_num(lx)}" y="{_num(ly - 5)}" width="10" height="10" fill="{escape(colour)}"/>'
                           f'<text x="{_num(lx + 14)}" y="{_num(ly)}" dominant-baseline="middle">{escape(name)}</text>')
    out.append(f'<line x1="{left}" x2="{width - right}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="#9aa4b2"/>')
    out.append("</svg>")
    return Markup("".join(out))
