// Gene page plots: expression violins, bubble map of variants × tissues and the regional plot with the gene
// track. Data come from <script id="gene-data"> (no round trip).
import {
  EFFECT_SCALE, draw, fillSelect, fmtP, message, mlog10, readJSON, variantURL, violins,
} from './plots.js';

const data = readJSON('gene-data');
const pairs = data.pairs;
const nPairs = pairs.variant.length;
const tissueName = (i) => data.tissues[i]?.name ?? '?';
const modalityName = (i) => data.modalities[i]?.name ?? '?';
const openVariant = (event) => {
  const point = event.points?.[0];
  const id = point?.customdata?.[0] ?? point?.customdata;
  if (id) window.location.assign(variantURL(id));
};

// -- bubble map ------------------------------------------------------------------------------------

const bubbleModality = document.getElementById('bubble-modality');
const bubbleMin = document.getElementById('bubble-min');
const bubbleMax = document.getElementById('bubble-max');

function bubbleMap() {
  if (!nPairs) { message('bubble-plot', 'No significant variant–phenotype pair for this gene in this release.'); return; }
  const m = Number(bubbleModality.value);
  const minLog = Math.max(0, Number(bubbleMin.value) || 0);
  const most = Math.min(500, Math.max(5, Number(bubbleMax.value) || 40));
  const best = new Map();  // "variant\ttissue" -> pair index with the smallest p
  const variantBest = new Map();  // variant -> smallest p
  for (let i = 0; i < nPairs; i += 1) {
    if (pairs.m[i] !== m) continue;
    const lp = mlog10(pairs.p[i]);
    if (lp === null || lp < minLog) continue;
    const key = `${pairs.variant[i]}\t${pairs.t[i]}`;
    const prev = best.get(key);
    if (prev === undefined || pairs.p[i] < pairs.p[prev]) best.set(key, i);
    const v = pairs.variant[i];
    if (!variantBest.has(v) || pairs.p[i] < pairs.p[variantBest.get(v)]) variantBest.set(v, i);
  }
  if (!best.size) { message('bubble-plot', 'No pair passes these thresholds.'); return; }
  const keep = [...variantBest.entries()].sort((a, b) => pairs.p[a[1]] - pairs.p[b[1]]).slice(0, most);
  const chosen = new Set(keep.map(([v]) => v));
  const order = keep.sort((a, b) => pairs.pos[a[1]] - pairs.pos[b[1]]).map(([v]) => v);
  const idx = [...best.values()].filter((i) => chosen.has(pairs.variant[i]));
  const lps = idx.map((i) => mlog10(pairs.p[i]));
  const maxLog = Math.max(...lps, 1);
  const maxAbs = Math.max(...idx.map((i) => Math.abs(pairs.slope[i] || 0)), 1e-6);
  const tissuesShown = [...new Set(idx.map((i) => pairs.t[i]))].sort((a, b) => a - b).map(tissueName);
  const trace = {
    type: 'scatter', mode: 'markers',
    x: idx.map((i) => pairs.variant[i]), y: idx.map((i) => tissueName(pairs.t[i])),
    customdata: idx.map((i) => [pairs.variant[i]]),
    marker: {
      size: lps.map((lp) => 6 + 22 * (lp / maxLog)), sizemode: 'diameter',
      color: idx.map((i) => pairs.slope[i]), colorscale: EFFECT_SCALE, cmin: -maxAbs, cmax: maxAbs,
      line: { color: '#33415580', width: 0.8 },
      colorbar: { title: { text: 'slope' }, thickness: 12, len: 0.8 },
    },
    text: idx.map((i) => `${pairs.variant[i]} (${pairs.pos[i].toLocaleString()})<br>${tissueName(pairs.t[i])} · `
      + `${data.phenotypes[pairs.ph[i]]}<br>p = ${fmtP(pairs.p[i])}<br>slope = ${pairs.slope[i]?.toFixed(3)}`),
    hoverinfo: 'text',
  };
  const height = Math.max(260, 90 + 42 * tissuesShown.length);
  draw('bubble-plot', [trace], {
    margin: { l: 130, r: 20, t: 10, b: 110 },
    xaxis: { type: 'category', categoryorder: 'array', categoryarray: order, tickangle: -50, title: { text: '' }, automargin: true },
    yaxis: { type: 'category', categoryorder: 'array', categoryarray: tissuesShown, automargin: true },
  }, { height, onClick: openVariant });
}

function initBubble() {
  const present = [...new Set(pairs.m)].sort((a, b) => a - b);
  const options = (present.length ? present : data.modalities.map((_, i) => i))
    .map((i) => ({ value: String(i), label: modalityName(i) }));
  let first = present[0];
  if (nPairs) {  // the modality of the most significant pair
    let best = 0;
    for (let i = 1; i < nPairs; i += 1) if (pairs.p[i] < pairs.p[best]) best = i;
    first = pairs.m[best];
  }
  fillSelect(bubbleModality, options, String(first));
  for (const el of [bubbleModality, bubbleMin, bubbleMax]) el.addEventListener('change', bubbleMap);
  bubbleMap();
}

// -- regional plot ---------------------------------------------------------------------------------

const regionalTissue = document.getElementById('regional-tissue');
const regionalModality = document.getElementById('regional-modality');

function regional() {
  const tissue = data.tissues[Number(regionalTissue.value)];
  const modality = data.modalities[Number(regionalModality.value)];
  if (!tissue || !modality) { message('regional-plot', 'This gene has no QTL result to show.'); return; }
  const t = Number(regionalTissue.value);
  const m = Number(regionalModality.value);
  const idx = [];
  for (let i = 0; i < nPairs; i += 1) if (pairs.t[i] === t && pairs.m[i] === m) idx.push(i);
  const leads = data.leads.filter((r) => r.tissue === tissue.id && r.modality === modality.id);
  const indep = data.independent.filter((r) => r.tissue === tissue.id && r.modality === modality.id);
  if (!idx.length && !leads.length) {
    message('regional-plot', `${data.gene.gene_name} was not tested in ${tissue.name} (${modality.name}).`);
    return;
  }
  const mb = (x) => x / 1e6;
  const traces = [
    {
      type: 'scatter', mode: 'markers', name: 'significant pairs',
      x: idx.map((i) => mb(pairs.pos[i])), y: idx.map((i) => mlog10(pairs.p[i])), customdata: idx.map((i) => [pairs.variant[i]]),
      marker: { size: 7, color: tissue.colour, opacity: 0.75, line: { width: 0.5, color: '#1b2430' } },
      text: idx.map((i) => `${pairs.variant[i]} (${pairs.pos[i].toLocaleString()})<br>${data.phenotypes[pairs.ph[i]]}`
        + `<br>p = ${fmtP(pairs.p[i])}<br>slope = ${pairs.slope[i]?.toFixed(3)}`),
      hoverinfo: 'text', xaxis: 'x', yaxis: 'y',
    },
    {
      type: 'scatter', mode: 'markers', name: 'lead variant',
      x: leads.map((r) => mb(r.pos)), y: leads.map((r) => mlog10(r.pval_nominal)), customdata: leads.map((r) => [r.variant_id]),
      marker: { size: 14, color: 'rgba(0,0,0,0)', line: { width: 2.5, color: '#a4262c' } },
      text: leads.map((r) => `lead ${r.variant_id}<br>${r.phenotype_id}<br>p = ${fmtP(r.pval_nominal)}, q = ${fmtP(r.qval)}`),
      hoverinfo: 'text', xaxis: 'x', yaxis: 'y',
    },
    {
      type: 'scatter', mode: 'markers', name: 'independent signals',
      x: indep.map((r) => mb(r.pos)), y: indep.map((r) => mlog10(r.pval_nominal)), customdata: indep.map((r) => [r.variant_id]),
      marker: { size: 11, symbol: 'diamond', color: '#f2a900', line: { width: 1, color: '#1b2430' } },
      text: indep.map((r) => `independent #${r.rank} ${r.variant_id}<br>${r.phenotype_id}<br>p = ${fmtP(r.pval_nominal)}`),
      hoverinfo: 'text', xaxis: 'x', yaxis: 'y',
    },
  ];
  // gene track: one row per transcript (at most 8), exons as boxes, introns as a line
  const shapes = [];
  const txs = data.transcripts.slice(0, 8);
  const lineX = [];
  const lineY = [];
  const labels = [];
  txs.forEach((tx, row) => {
    const y = -row;
    lineX.push(mb(tx.start), mb(tx.end), null);
    lineY.push(y, y, null);
    for (const [s, e] of tx.exons) {
      shapes.push({ type: 'rect', xref: 'x', yref: 'y2', x0: mb(s), x1: mb(e), y0: y - 0.3, y1: y + 0.3,
        fillcolor: '#0a58a8', line: { width: 0 } });
    }
    labels.push(`${tx.name} (${tx.strand})`);
  });
  if (!txs.length) {  // no transcript: the gene body
    const g = data.gene;
    shapes.push({ type: 'rect', xref: 'x', yref: 'y2', x0: mb(g.start), x1: mb(g.end), y0: -0.3, y1: 0.3,
      fillcolor: '#0a58a8', line: { width: 0 } });
  }
  traces.push({
    type: 'scatter', mode: 'lines', name: 'transcripts', x: lineX, y: lineY,
    line: { color: '#0a58a8', width: 1.5 }, hoverinfo: 'skip', xaxis: 'x', yaxis: 'y2',
  });
  const g = data.gene;
  shapes.push({ type: 'line', xref: 'x', yref: 'paper', x0: mb(g.tss), x1: mb(g.tss), y0: 0, y1: 1,
    line: { color: '#8a96a5', width: 1, dash: 'dot' } });
  const thresholds = [...new Set(leads.map((r) => r.pval_nominal_threshold).filter((x) => x > 0))];
  if (thresholds.length === 1) {
    shapes.push({ type: 'line', xref: 'paper', yref: 'y', x0: 0, x1: 1, y0: mlog10(thresholds[0]), y1: mlog10(thresholds[0]),
      line: { color: '#a4262c', width: 1, dash: 'dash' } });
  }
  // x range: every point and the gene, at least ±100 kb around the TSS, padded by 4 %
  const xs = [...traces[0].x, ...traces[1].x, ...traces[2].x, mb(g.start), mb(g.end), mb(g.tss) - 0.1, mb(g.tss) + 0.1];
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  const pad = (hi - lo) * 0.04;
  const rows = Math.max(txs.length, 1);
  const trackFraction = Math.min(0.4, 0.1 + 0.045 * rows);
  draw('regional-plot', traces, {
    margin: { l: 60, r: 20, t: 10, b: 50 },
    xaxis: { title: { text: `${g.chrom} position (Mb)` }, anchor: 'y2', showgrid: false, zeroline: false, range: [lo - pad, hi + pad] },
    yaxis: { title: { text: '−log10 p' }, domain: [trackFraction + 0.06, 1], rangemode: 'tozero', zeroline: false },
    yaxis2: {
      domain: [0, trackFraction], showgrid: false, zeroline: false, range: [-rows + 0.4, 0.6], automargin: true,
      tickmode: 'array', tickvals: labels.map((_, i) => -i), ticktext: labels, tickfont: { size: 10, color: '#4f5b69' },
      showticklabels: labels.length > 0,
    },
    shapes,
  }, { onClick: openVariant });
}

function initRegional() {
  const withData = new Set();
  for (let i = 0; i < nPairs; i += 1) withData.add(`${pairs.t[i]}:${pairs.m[i]}`);
  const tIndex = new Map(data.tissues.map((t, i) => [t.id, i]));
  const mIndex = new Map(data.modalities.map((x, i) => [x.id, i]));
  for (const r of data.leads) withData.add(`${tIndex.get(r.tissue)}:${mIndex.get(r.modality)}`);
  const tissues = [...new Set([...withData].map((k) => Number(k.split(':')[0])))].sort((a, b) => a - b);
  const modalities = [...new Set([...withData].map((k) => Number(k.split(':')[1])))].sort((a, b) => a - b);
  // start on the tissue × modality of the most significant lead
  let start = data.leads.reduce((acc, r) => (acc === null || r.pval_nominal < acc.pval_nominal ? r : acc), null);
  fillSelect(regionalTissue, tissues.filter((i) => i >= 0).map((i) => ({ value: String(i), label: data.tissues[i].name })),
    start ? String(tIndex.get(start.tissue)) : undefined);
  fillSelect(regionalModality, modalities.filter((i) => i >= 0).map((i) => ({ value: String(i), label: data.modalities[i].name })),
    start ? String(mIndex.get(start.modality)) : undefined);
  start = null;
  regionalTissue.addEventListener('change', regional);
  regionalModality.addEventListener('change', regional);
  regional();
}

// -- expression violins ----------------------------------------------------------------------------
// The page carries the values (data.expression: [{t: tissue index, tpm: [...]}]) and a server-drawn SVG of
// the same violins, which the interactive plot replaces.

const scaleSelect = document.getElementById('expr-scale');

function expressionPlot() {
  const groups = data.expression.filter((g) => data.tissues[g.t]);
  if (!groups.length) { message('expression-plot', 'This gene has no expression value in this release.'); return; }
  const log = scaleSelect.value === 'log';
  const values = (g) => g.tpm.filter((v) => v !== null).map((v) => (log ? Math.log10(v + 1) : v));
  const traces = violins(groups.map((g) => ({ label: tissueName(g.t), values: values(g) })),
    { colours: groups.map((g) => data.tissues[g.t].colour) });
  draw('expression-plot', traces, {
    margin: { l: 70, r: 20, t: 10, b: 80 },
    yaxis: { title: { text: log ? 'log10(TPM + 1)' : 'TPM' }, zeroline: false, rangemode: 'tozero' },
    xaxis: { tickangle: groups.length > 6 ? -35 : 0, automargin: true },
    violingap: 0.25,
  });
}

function initExpression() {
  scaleSelect.addEventListener('change', expressionPlot);
  expressionPlot();
}

// The first plot of the page first; the others after the browser has painted it.
initExpression();
const later = (fn) => requestAnimationFrame(() => setTimeout(fn, 0));
later(initBubble);
later(initRegional);
