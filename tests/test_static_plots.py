"""Server-drawn SVG plots (web/pages/static_plots.py, web/pages/regional_svg.py): the numbers behind the shapes
and the markup."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from qtlatlas.store.gene_track import merge_intervals
from qtlatlas.web.pages.regional_svg import Locus, ld_bin, pack_rows, regional_svg
from qtlatlas.web.pages.static_plots import Group, kde, nice_ticks, silverman_bandwidth, violin_svg

SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize("low, high", [(0, 1), (0, 3.27), (-2.5, 7.1), (0, 12_345), (0.001, 0.0042), (5, 5)])
def test_nice_ticks_cover_the_range_with_round_steps(low, high):
    ticks = nice_ticks(low, high)
    assert 2 <= len(ticks) <= 12
    steps = np.diff(ticks)
    assert ticks[0] <= low < ticks[0] + steps[0]
    top = high if high > low else low + 1  # an empty range is widened by 1
    assert ticks[-1] <= top + 1e-12 < ticks[-1] + steps[0] + 1e-12
    assert np.allclose(steps, steps[0])
    mantissa = steps[0] / 10 ** math.floor(math.log10(steps[0]))
    assert any(math.isclose(mantissa, m) for m in (1, 2, 2.5, 5))


def test_kde_is_a_density_with_silvermans_bandwidth():
    rng = np.random.default_rng(0)
    values = rng.normal(3, 0.5, 400)
    q1, q3 = np.percentile(values, [25, 75])
    expected = 1.059 * min(values.std(ddof=1), (q3 - q1) / 1.349) * len(values) ** -0.2
    assert silverman_bandwidth(values) == pytest.approx(expected)
    grid = np.linspace(-2, 8, 4001)
    density = kde(values, grid)
    assert np.trapezoid(density, grid) == pytest.approx(1, abs=1e-6)
    assert grid[np.argmax(density)] == pytest.approx(3, abs=0.2)
    assert silverman_bandwidth(np.array([1.0, 1.0, 1.0])) == 0


def _polygon_points(el) -> np.ndarray:
    return np.array([[float(x) for x in p.split(",")] for p in el.get("points").split()])


def test_violins_follow_their_groups():
    rng = np.random.default_rng(1)
    groups = [Group("low <b>", "#1f77b4", rng.normal(1, 0.2, 80)), Group("none", "#ff7f0e", np.array([np.nan])),
              Group("high & wide", "#2ca02c", rng.normal(4, 0.8, 80))]
    markup = str(violin_svg(groups, y_title="log10(TPM + 1)", height=360))
    root = ET.fromstring(markup)  # well-formed XML, labels escaped
    assert root.get("height") == "360" and root.get("class") == "static-plot"
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "low <b>" in texts and "high & wide" in texts and "none" in texts
    polygons = list(root.iter(f"{SVG}polygon"))
    assert len(polygons) == 2  # the empty group keeps its slot and draws nothing
    low, high = (_polygon_points(p) for p in polygons)
    # SVG y grows downwards: the higher group sits higher; each density reaches two bandwidths past its data
    assert high[:, 1].mean() < low[:, 1].mean()
    assert low[:, 0].mean() < high[:, 0].mean()  # left to right in order
    # the y axis maps values linearly: read it back from the tick labels
    ticks = {float(t.text): float(t.get("y")) for t in root.iter(f"{SVG}text") if t.get("y") and re.fullmatch(r"-?[\d.]+", t.text or "")}
    (v0, y0), (v1, y1) = sorted(ticks.items())[:2]
    to_value = lambda yy: v0 + (yy - y0) * (v1 - v0) / (y1 - y0)  # noqa: E731
    values = groups[2].values
    bw = silverman_bandwidth(values)
    assert to_value(high[:, 1].max()) == pytest.approx(values.min() - 2 * bw, abs=0.02)
    assert to_value(high[:, 1].min()) == pytest.approx(values.max() + 2 * bw, abs=0.02)
    assert not list(root.iter(f"{SVG}circle"))  # groups of 80 show no points
    # the median line of each box
    medians = [float(line.get("y1")) for line in root.iter(f"{SVG}line")
               if line.get("stroke-width") == "1.5"]
    assert [to_value(y) for y in medians] == pytest.approx([np.median(groups[0].values), np.median(values)], abs=0.02)


def test_small_groups_show_their_points_and_tiny_ones_only_points():
    """A tissue of 5 samples: violin, box and its 5 points; of 2: its 2 points and no density; densities of
    non-negative values (TPM) stop at 0."""
    groups = [Group("five", "#1f77b4", np.array([0.05, 0.1, 0.2, 0.4, 0.9])),
              Group("two", "#ff7f0e", np.array([3.0, 3.5])),
              Group("many", "#2ca02c", np.linspace(0.0, 2.0, 50))]
    root = ET.fromstring(str(violin_svg(groups, y_title="log10(TPM + 1)")))
    assert len(list(root.iter(f"{SVG}polygon"))) == 2
    circles = list(root.iter(f"{SVG}circle"))
    assert len(circles) == 7
    assert {c.get("fill") for c in circles} == {"#1f77b4", "#ff7f0e"}
    ticks = {float(t.text): float(t.get("y")) for t in root.iter(f"{SVG}text") if t.get("y") and re.fullmatch(r"-?[\d.]+", t.text or "")}
    zero = ticks[0.0]
    for polygon in root.iter(f"{SVG}polygon"):
        assert _polygon_points(polygon)[:, 1].max() <= zero + 1e-6  # nothing drawn below 0


def test_no_values_at_all_still_draws_axes():
    markup = str(violin_svg([Group("a", "#000000", np.array([]))], y_title="TPM"))
    root = ET.fromstring(markup)
    assert not list(root.iter(f"{SVG}polygon")) and any(t.text == "TPM" for t in root.iter(f"{SVG}text"))


def test_forest_rows_sit_at_their_effects():
    from qtlatlas.web.pages.static_plots import ForestRow, forest_height, forest_svg

    rows = [ForestRow("Liver · Expression · GeneA", "#aa0000", "Liver", -0.8, 0.1),
            ForestRow("Brain & co · Splicing · <GeneB>", "#0000aa", "Brain & co", 0.4, 0.2),
            ForestRow("x" * 200, "#0000aa", "Brain & co", 0.1, 0.05)]
    root = ET.fromstring(str(forest_svg(rows, x_title="slope (effect of T)")))
    assert int(root.get("height")) > forest_height(3)  # plus the legend of two groups
    texts = [t for t in root.iter(f"{SVG}text")]
    ticks = {float(t.text): float(t.get("x")) for t in texts if re.fullmatch(r"-?[\d.]+", t.text or "")}
    (v0, x0), (v1, x1) = sorted(ticks.items())[:2]
    to_value = lambda xx: v0 + (xx - x0) * (v1 - v0) / (x1 - x0)  # noqa: E731
    squares = [r for r in root.iter(f"{SVG}rect") if r.get("width") == "9"]
    assert [to_value(float(s.get("x")) + 4.5) for s in squares] == pytest.approx([r.effect for r in rows], abs=0.01)
    ys = [float(s.get("y")) for s in squares]
    assert ys == sorted(ys)  # top to bottom in row order
    bars = [ln for ln in root.iter(f"{SVG}line") if ln.get("stroke") in {"#aa0000", "#0000aa"}]
    for bar, row in zip(bars, rows, strict=True):
        assert to_value(float(bar.get("x1"))) == pytest.approx(row.effect - 1.96 * row.se, abs=0.01)
        assert to_value(float(bar.get("x2"))) == pytest.approx(row.effect + 1.96 * row.se, abs=0.01)
    labels = [t.text for t in texts]
    assert "Brain & co · Splicing · <GeneB>" in labels  # escaped in the markup, intact once parsed
    assert any(t.endswith("…") and len(t) < 60 for t in labels)  # a long label is cut
    assert labels.count("Brain & co") == 1 and labels.count("Liver") == 1  # the legend
    single = ET.fromstring(str(forest_svg(rows[:1], x_title="slope")))
    assert int(single.get("height")) == forest_height(1) and "Liver" not in [t.text for t in single.iter(f"{SVG}text")]


# -- the regional plot -------------------------------------------------------------------------------------


def test_ld_bins_are_locuszooms():
    r2 = np.array([0.0, 0.19, 0.2, 0.39, 0.4, 0.6, 0.79, 0.8, 1.0, np.nan])
    assert ld_bin(r2).tolist() == [0, 0, 1, 1, 2, 3, 3, 4, 4, -1]


def test_gene_track_rows_never_overlap():
    rng = np.random.default_rng(3)
    extents = sorted((float(a), float(a + w)) for a, w in zip(rng.uniform(0, 1000, 60), rng.uniform(5, 200, 60),
                                                               strict=True))
    rows = pack_rows(extents, gap=8)
    for r in set(rows):
        mine = [e for e, row in zip(extents, rows, strict=True) if row == r]
        assert all(b[0] >= a[1] + 8 for a, b in zip(mine, mine[1:], strict=False))
    assert max(rows) < len(extents) and rows[0] == 0


def test_merged_exons_are_the_union_of_the_transcripts_exons():
    starts = np.array([100, 150, 400, 201, 900])
    ends = np.array([200, 180, 500, 300, 950])
    assert merge_intervals(starts, ends) == [[100, 300], [400, 500], [900, 950]]
    assert merge_intervals(np.array([], int), np.array([], int)) == []


def _locus(**changes) -> Locus:
    pos = np.arange(1_000_000, 1_200_000, 2_000, dtype=float)
    values = dict(chrom="chr3", window=(1_000_000, 1_200_000), pos=pos, nlog10p=np.linspace(0.1, 6, len(pos)),
                  r2=np.linspace(0, 1, len(pos)), reference=len(pos) - 1, reference_label="rs9", threshold=1e-4,
                  independent=[(len(pos) - 1, 1), (10, 2)],
                  genes=[{"gene_id": "G1", "gene_name": "Alpha", "start": 1_050_000, "end": 1_080_000, "strand": "+",
                          "exons": [[1_050_000, 1_052_000], [1_070_000, 1_080_000]]},
                         {"gene_id": "G2", "gene_name": "Beta", "start": 1_055_000, "end": 1_060_000, "strand": "-",
                          "exons": []}],
                  highlight="G1")
    values.update(changes)
    return Locus(**values)


def test_regional_svg_draws_bins_reference_threshold_signals_and_genes():
    svg, height = regional_svg(_locus(), label="a locus")
    root = ET.fromstring(str(svg))
    assert root.get("viewBox") == f"0 0 1100 {height}" and root.find(f"{SVG}title").text == "a locus"
    colours = re.findall(r'stroke="(#[0-9a-f]{6})" stroke-width="6.4"', str(svg))
    assert colours == ["#357ebd", "#46b8da", "#5cb85c", "#eea236", "#d43f3a"]  # the highest bin drawn last
    assert svg.count("h0") == 2 * 100  # every point once, outline and colour
    assert str(svg).count('stroke-dasharray="6 4"') == 1  # the threshold
    assert ">#1</text>" in svg and ">#2</text>" in svg and ">rs9</text>" in svg
    assert "Alpha →" in svg and "← Beta" in svg and 'font-weight="700"' in svg  # the page's gene in bold
    texts = [t for t in root.iter(f"{SVG}text") if t.text in ("Alpha →", "← Beta")]
    assert len({t.get("y") for t in texts}) == 2  # overlapping genes go on two rows
    assert "<script" not in svg and "style=" not in svg


def test_regional_svg_without_ld_genes_or_threshold():
    svg, _ = regional_svg(_locus(r2=None, reference=None, threshold=None, independent=[], genes=[]))
    assert re.findall(r'stroke="(#[0-9a-f]{6})" stroke-width="6.4"', str(svg)) == ["#b8b8b8"]
    assert "No gene in this window" in svg and "stroke-dasharray" not in svg and "r² with" not in svg
    ET.fromstring(str(svg))
