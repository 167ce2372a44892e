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


def violin_svg(groups: list[Group], *, y_title: str, height: int = 360, width: int = 1100,
               label: str = "") -> Markup:
    """Violins (Gaussian KDE over each group's range, width-scaled alike) with a box of the quartiles, whiskers
    to the furthest values within 1.5 IQR and a median line, one per group, on a shared linear y axis starting
    at 0 when every value is ≥ 0 — the look of the portal's plotly violins.

    Returns an ``<svg class="static-plot">`` element ``height`` pixels high (``viewBox`` ``width × height``,
    scaled down to narrower pages); groups without a finite value keep their place and draw nothing.
    """
    values = [np.asarray(g.values, dtype=np.float64) for g in groups]
    values = [v[np.isfinite(v)] for v in values]
    present = [v for v in values if len(v)]
    lo = min((float(v.min()) for v in present), default=0.0)
    hi = max((float(v.max()) for v in present), default=1.0)
    if lo >= 0:
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
    for i, (g, v) in enumerate(zip(groups, values, strict=True)):
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
        if float(v.max()) > float(v.min()):
            grid = np.linspace(float(v.min()), float(v.max()), KDE_POINTS)
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
    out.append(f'<line x1="{left}" x2="{left}" y1="{top}" y2="{top + plot_h}" stroke="#9aa4b2"/>')
    out.append("</svg>")
    return Markup("".join(out))
