// Tissue page plots: QQ plot and Manhattan plot of the lead p-value of every gene (data embedded).
import { FONT, draw, geneURL, message, readJSON, withAlpha } from './plots.js';

const data = readJSON('tissue-data');
/** Genes labelled on the Manhattan plot of a narrow screen (the server sends the top five). */
const PHONE_LABELS = 3;
const LABEL_FONT = 11;
/** What the exported figures name: the tissue and the modality. */
const exportContext = `${data.tissue.name} · ${data.modality_name || data.modality}`;

function qq() {
  const { expected, observed, n, column, band } = data.qq;
  if (!n) { message('qq-plot', 'No gene was tested in this modality.'); return; }
  // Independent axes: x up to the largest expected value, y up to the largest observed one.
  const xMax = -Math.log10(1 / (n + 1));
  const yMax = Math.max(...observed, xMax);
  const diagonal = Math.min(xMax, yMax) * 1.03;
  const traces = [
    { type: 'scatter', mode: 'lines', name: '95% band lower', x: band.x, y: band.lower, line: { width: 0 },
      hoverinfo: 'skip', showlegend: false },
    { type: 'scatter', mode: 'lines', name: '95% band', x: band.x, y: band.upper, line: { width: 0 },
      fill: 'tonexty', fillcolor: 'rgba(138, 150, 165, 0.28)', hoverinfo: 'skip' },
    { type: 'scatter', mode: 'lines', name: 'y = x', x: [0, diagonal], y: [0, diagonal],
      line: { color: '#5b6675', dash: 'dash', width: 1 }, hoverinfo: 'skip' },
    { type: expected.length > 5000 ? 'scattergl' : 'scatter', mode: 'markers', name: 'genes', x: expected, y: observed,
      marker: { color: data.tissue.colour, size: 5, line: { width: 0.4, color: '#1b2430' } },
      hovertemplate: 'expected %{x:.2f}<br>observed %{y:.2f}<extra></extra>' },
  ];
  const annotations = data.qq.lambda === null ? [] : [{
    xref: 'paper', yref: 'paper', x: 0.02, y: 0.98, xanchor: 'left', yanchor: 'top', showarrow: false,
    text: `λ<sub>GC</sub> = ${data.qq.lambda.toFixed(3)}`, bgcolor: 'rgba(255,255,255,0.85)', font: { size: 12 },
    name: 'lambda',
  }];
  draw('qq-plot', traces, {
    margin: { l: 56, r: 16, t: 16, b: 48 },
    xaxis: { title: { text: 'expected −log10 p' }, range: [0, xMax * 1.03], automargin: true, zeroline: false },
    yaxis: { title: { text: `observed −log10 ${column === 'pval_beta' ? 'p (permutation)' : 'p'}` },
      range: [0, yMax * 1.05], automargin: true, zeroline: false,
      // an invisible tick holds the y labels off the corner, where both axes' 0 would meet
      ticks: 'outside', ticklen: 5, tickcolor: 'rgba(0,0,0,0)' },
    annotations,
  }, { title: exportContext });
}

let measure;
function textWidth(text) {
  measure ??= document.createElement('canvas').getContext('2d');
  measure.font = `${LABEL_FONT}px ${FONT}`;
  return measure.measureText(text).width;
}

/** Annotations of the top genes at offsets chosen so that no two label boxes overlap and each stays in the
 * plot area (pixel geometry of the drawn plot). */
function placeLabels(el, genes) {
  const full = el._fullLayout;
  const { l, t, w, h } = full._size;
  const xa = full.xaxis;
  const ya = full.yaxis;
  const boxH = LABEL_FONT + 8;
  // Offsets tried in turn: above the point first, then ever further round it.
  const candidates = [];
  for (const r of [26, 42, 58, 76, 96, 118, 142]) {
    for (const a of [-90, -60, -120, -35, -145, -10, -170, 20, 160, 60, 120, 90]) {
      candidates.push([Math.round(r * 1.6 * Math.cos((a * Math.PI) / 180)), Math.round(r * Math.sin((a * Math.PI) / 180))]);
    }
  }
  const placed = [];
  const overlaps = (a, b) => a.x0 < b.x1 + 4 && b.x0 < a.x1 + 4 && a.y0 < b.y1 + 4 && b.y0 < a.y1 + 4;
  const annotations = [];
  for (const g of genes) {
    const px = l + xa.l2p(g.x);
    const py = t + ya.l2p(g.y);
    const boxW = textWidth(g.gene) + 8;
    let choice = null;
    for (const [ax, ay] of candidates) {
      const box = { x0: px + ax - boxW / 2, x1: px + ax + boxW / 2, y0: py + ay - boxH / 2, y1: py + ay + boxH / 2 };
      const inside = box.x0 >= l && box.x1 <= l + w && box.y0 >= t && box.y1 <= t + h;
      if (inside && !placed.some((b) => overlaps(b, box))) { choice = [ax, ay, box]; break; }
    }
    if (!choice) continue; // no free place: better unlabelled than overlapping
    placed.push(choice[2]);
    annotations.push({
      x: g.x, y: g.y, ax: choice[0], ay: choice[1], text: g.gene, showarrow: true, arrowhead: 0, arrowwidth: 1,
      arrowcolor: '#5b6675', font: { size: LABEL_FONT }, bgcolor: 'rgba(255,255,255,0.85)', borderpad: 2,
      xanchor: 'center', yanchor: 'middle', name: `gene-${g.gene}`, captureevents: false,
    });
  }
  return annotations;
}

async function manhattan() {
  const m = data.manhattan;
  if (!m.x.length) { message('manhattan-plot', 'No gene was tested in this modality.'); return; }
  const other = [];
  const eg = [];
  m.x.forEach((_, i) => (m.egene[i] ? eg : other).push(i));
  const type = m.x.length > 5000 ? 'scattergl' : 'scatter';
  const trace = (idx, colours, name) => ({
    type, mode: 'markers', name, x: idx.map((i) => m.x[i]), y: idx.map((i) => m.y[i]),
    customdata: idx.map((i) => [m.gene[i]]),
    text: idx.map((i) => `${m.gene[i]}<br>−log10 p = ${m.y[i].toFixed(2)}`),
    hoverinfo: 'text', marker: { size: 5, color: colours(idx) },
  });
  const xEnd = Math.max(...m.x) * 1.01 + 1;
  const traces = [
    trace(other, (idx) => idx.map((i) => (m.chrom[i] % 2 ? '#9aa6b5' : '#51627a')), 'other genes'),
    trace(eg, (idx) => idx.map(() => withAlpha(data.tissue.colour, 0.9)), 'eGenes'),
  ];
  if (m.threshold) {
    traces.push({
      type: 'scatter', mode: 'lines', name: `eGene threshold (q ≤ ${m.threshold.fdr})`, x: [0, xEnd],
      y: [m.threshold.y, m.threshold.y], line: { color: '#a4262c', dash: 'dash', width: 1 },
      hovertemplate: `largest lead p of an eGene: ${m.threshold.p.toPrecision(3)}<extra></extra>`,
    });
  }
  // Alternating shading of the chromosomes (every second one), behind the points.
  const bounds = m.ticks.map((c, i) => (i + 1 < m.ticks.length ? (c + m.ticks[i + 1]) / 2 : xEnd));
  const shapes = m.ticks.map((_, i) => ({
    type: 'rect', xref: 'x', yref: 'paper', layer: 'below', line: { width: 0 },
    x0: i ? bounds[i - 1] : 0, x1: bounds[i], y0: 0, y1: 1, fillcolor: i % 2 ? '#eef1f5' : 'rgba(0,0,0,0)',
  })).filter((_, i) => i % 2);
  const yMax = Math.max(...m.y, m.threshold ? m.threshold.y : 0, 1);
  const el = await draw('manhattan-plot', traces, {
    showlegend: true, legend: { orientation: 'h', y: 1.02, x: 1, xanchor: 'right', yanchor: 'bottom' },
    margin: { l: 56, r: 16, t: 36, b: 48 },
    xaxis: { tickmode: 'array', tickvals: m.ticks, ticktext: m.labels, showgrid: false, zeroline: false,
      range: [0, xEnd], title: { text: 'chromosome' }, automargin: true },
    yaxis: { title: { text: 'lead −log10 p' }, range: [0, yMax * 1.3], automargin: true, zeroline: false },
    shapes,
  }, {
    title: exportContext,
    onClick: (event) => { const g = event.points?.[0]?.customdata?.[0]; if (g) window.location.assign(geneURL(g)); },
  });
  if (!el) return;
  const label = () => {
    const genes = window.matchMedia('(max-width: 640px)').matches ? m.top.slice(0, PHONE_LABELS) : m.top;
    return window.Plotly.relayout(el, { annotations: placeLabels(el, genes) });
  };
  await label();
  el.dataset.labels = 'true';
  // The offsets are in pixels: place the labels again once the plot has followed a change of width.
  let timer;
  window.addEventListener('resize', () => { clearTimeout(timer); timer = setTimeout(label, 300); });
}

qq();
manhattan();
