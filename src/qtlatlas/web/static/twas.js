// TWAS hub plots. Each hub page embeds its data in <script id="twas-data"> with a `view` naming the page:
// traits (genes per trait), trait (genome-wide plot, cross-trait correlations), locus (marginal and conditional
// GWAS with a gene track), gene (trait × model Z heatmap, h² and CV R² per method), panels (models per panel).
import {
  EFFECT_SCALE, categoryTicks, draw, fmtP, message, pageURL, readJSON, textWidth,
} from './plots.js';

const data = readJSON('twas-data');
const traitURL = (id) => pageURL(`/twas/traits/${encodeURIComponent(id)}`);
const hubGeneURL = (name) => pageURL(`/twas/genes/${encodeURIComponent(name)}`);
const fixed = (x, digits = 2) => (x === null || x === undefined ? '–' : Number(x).toFixed(digits));
const first = (event) => event.points?.[0];
const go = (url) => { if (url) window.location.assign(url); };

// -- traits index ----------------------------------------------------------------------------------------

function traitsView() {
  const traits = data.traits;
  if (!traits.length) { message('traits-plot', 'No trait matches these filters.'); return; }
  const names = traits.map((t) => t.name);
  const bars = (key, name, colour) => ({
    type: 'bar', name, x: names, y: traits.map((t) => t[key]), customdata: traits.map((t) => [t.id]),
    marker: { color: colour }, hovertemplate: `%{x}<br>${name}: %{y}<extra></extra>`,
  });
  draw('traits-plot', [bars('n_genes', 'total genes', '#0a58a8'), bars('n_joint_genes', 'independent genes', '#e38a6d')], {
    barmode: 'group', showlegend: true, legend: { orientation: 'h', y: 1.12, x: 1, xanchor: 'right' },
    margin: { l: 60, r: 20, t: 30, b: 90 },
    xaxis: { automargin: true, ...categoryTicks('traits-plot', names, { slant: traits.length > 6 ? -30 : 0 }) },
    yaxis: { title: { text: 'genes' }, rangemode: 'tozero', dtick: 1 },
  }, { onClick: (e) => go(traitURL(first(e)?.customdata?.[0])) });
}

// -- a trait ---------------------------------------------------------------------------------------------

function manhattan() {
  const m = data.manhattan;
  if (!m.x.length) { message('manhattan-plot', 'No model was tested for this trait.'); return; }
  const byPanel = new Map();
  m.x.forEach((_, i) => {
    if (!byPanel.has(m.panel[i])) byPanel.set(m.panel[i], []);
    byPanel.get(m.panel[i]).push(i);
  });
  const panels = [...byPanel.keys()].sort((a, b) => a - b);
  const traces = panels.map((k) => {
    const idx = byPanel.get(k);
    const panel = data.panels[k] || { name: 'other', colour: '#5b6b7f', symbol: 'circle' };
    return {
      type: idx.length > 5000 ? 'scattergl' : 'scatter', mode: 'markers', name: panel.name,
      x: idx.map((i) => m.x[i]), y: idx.map((i) => m.y[i]), customdata: idx.map((i) => [m.gene[i]]),
      marker: {
        color: panel.colour, symbol: panel.symbol, size: idx.map((i) => (m.sig[i] ? 11 : 7)), opacity: 0.85,
        line: { width: idx.map((i) => (m.sig[i] ? 1.5 : 0.5)), color: '#1b2430' },
      },
      text: idx.map((i) => `${m.gene[i]} · ${panel.name}<br>Z = ${fixed(m.z[i])}, P = ${fmtP(m.p[i])}`
        + `${m.sig[i] ? '<br>significant' : ''}${m.locus[i] ? ` · locus ${m.locus[i]}` : ''}`),
      hoverinfo: 'text',
    };
  });
  const shapes = [];
  if (data.threshold) {
    shapes.push({ type: 'line', xref: 'paper', yref: 'y', x0: 0, x1: 1, y0: data.threshold, y1: data.threshold,
      line: { color: '#a4262c', width: 1, dash: 'dash' } });
  }
  draw('manhattan-plot', traces, {
    showlegend: true, legend: { orientation: 'h', y: -0.2, x: 0 }, margin: { l: 60, r: 20, t: 10, b: 60 },
    xaxis: { tickmode: 'array', tickvals: m.ticks, ticktext: m.labels, showgrid: false, zeroline: false,
      title: { text: 'chromosome' } },
    yaxis: { title: { text: 'TWAS −log10 P' }, rangemode: 'tozero' },
    shapes,
  }, { title: data.trait?.name, onClick: (e) => go(hubGeneURL(first(e)?.customdata?.[0])) });
}

function correlations() {
  const c = data.correlations;
  const idx = c.trait.map((_, i) => i).filter((i) => c.r[i] !== null);
  if (!idx.length) { message('correlation-plot', 'No other trait shares enough models with this one.'); return; }
  idx.reverse();  // the strongest correlation at the top
  draw('correlation-plot', [{
    type: 'bar', orientation: 'h', x: idx.map((i) => c.r[i]), y: idx.map((i) => c.name[i]),
    customdata: idx.map((i) => [c.trait[i]]),
    marker: { color: idx.map((i) => (c.r[i] >= 0 ? '#a4262c' : '#1f4e9c')) },
    text: idx.map((i) => `${c.name[i]}<br>r = ${fixed(c.r[i], 3)} over ${c.n[i]} models<br>P = ${fmtP(c.p[i])}`),
    hoverinfo: 'text', textposition: 'none',
  }], {
    margin: { l: 20, r: 20, t: 10, b: 50 },
    xaxis: { title: { text: 'r (TWAS Z)' }, range: [-1, 1], zeroline: true, zerolinecolor: '#8a96a5' },
    yaxis: { automargin: true },
  }, {
    height: Math.max(200, 90 + 40 * idx.length), title: data.trait?.name,
    onClick: (e) => go(traitURL(first(e)?.customdata?.[0])),
  });
}

function traitView() {
  manhattan();
  correlations();
}

// -- a locus ---------------------------------------------------------------------------------------------

function locusView() {
  const g = data.gwas;
  const genes = data.genes;
  if (!g.pos.length && !genes.length) { message('locus-plot', 'This locus has no GWAS SNP and no gene.'); return; }
  const mb = (x) => x / 1e6;
  // on a narrow screen the legend names are short and only the joint genes are labelled (all are listed below)
  const narrow = (document.getElementById('locus-plot')?.clientWidth || 0) < 600;
  const r2 = (i) => (g.r2 && g.r2[i] !== null && g.r2[i] !== undefined ? `<br>R² by the joint models = ${fixed(g.r2[i])}` : '');
  const hover = (y, z, label) => g.pos.map((p, i) => `${g.variant[i]} (${p.toLocaleString()})<br>${label}: `
    + `Z = ${fixed(z[i])}, −log10 P = ${fixed(y[i])}${label === 'conditional' ? r2(i) : ''}`);
  // SNPs without a conditional statistic: explained by the joint models, or raised by conditioning (unstable)
  const WHY = { explained: 'explained by the joint models: no conditional test',
    unstable: 'unstable: conditioning raised its χ² beyond 1.96², not a p-value' };
  const untested = g.pos.map((_, i) => i).filter((i) => WHY[(g.status || [])[i]]);
  const traces = [
    { type: 'scatter', mode: 'markers', name: narrow ? 'marginal' : 'marginal GWAS', x: g.pos.map(mb), y: g.y,
      marker: { size: 6, color: '#9aa6b5', line: { width: 0.4, color: '#4f5b69' } },
      text: hover(g.y, g.z, 'marginal'), hoverinfo: 'text', xaxis: 'x', yaxis: 'y' },
    { type: 'scatter', mode: 'markers', name: narrow ? 'conditional' : 'conditional on the joint models',
      x: g.pos.map(mb), y: g.cy,
      marker: { size: 6, color: '#0a58a8', symbol: 'diamond', opacity: 0.85 },
      text: hover(g.cy, g.cz, 'conditional'), hoverinfo: 'text', xaxis: 'x', yaxis: 'y' },
  ];
  if (untested.length) {
    traces.push({ type: 'scatter', mode: 'markers', name: 'no conditional test', x: untested.map((i) => mb(g.pos[i])),
      y: untested.map(() => 0), marker: { size: 7, color: '#b35900', symbol: 'triangle-up-open', line: { width: 1.2 } },
      text: untested.map((i) => `${g.variant[i]} (${g.pos[i].toLocaleString()})<br>marginal −log10 P = ${fixed(g.y[i])}`
        + `<br>${WHY[g.status[i]]}${r2(i)}`), hoverinfo: 'text', xaxis: 'x', yaxis: 'y', cliponaxis: false });
  }
  // gene track: one segment per gene (rows keep genes from overlapping); joint genes in red
  const rows = Math.max(1, ...genes.map((x) => x.row + 1));
  const l = data.locus;
  const extent = Math.max(...g.pos, l.end, ...genes.map((x) => x.end)) - Math.min(...g.pos, l.start, ...genes.map((x) => x.start));
  const least = extent * 0.004;  // a short gene is still drawn visibly
  const segments = (joint) => {
    const x = [];
    const y = [];
    const text = [];
    const custom = [];
    for (const gene of genes.filter((x) => x.joint === joint)) {
      const label = `${gene.name}${gene.strand ? ` (${gene.strand})` : ''}<br>${gene.n_models} model(s), best P = ${fmtP(gene.best_p)}`
        + `${gene.joint ? '<br>joint' : ''}`;
      const mid = (gene.start + gene.end) / 2;
      const half = Math.max((gene.end - gene.start) / 2, least / 2);
      x.push(mb(mid - half), mb(mid), mb(mid + half), null);
      y.push(-gene.row, -gene.row, -gene.row, null);
      text.push(label, label, label, null);
      custom.push(gene.name, gene.name, gene.name, null);
    }
    return { x, y, text, customdata: custom };
  };
  for (const [joint, name, colour] of [[false, 'genes', '#51627a'], [true, 'joint genes', '#a4262c']]) {
    const s = segments(joint);
    traces.push({ type: 'scatter', mode: 'lines+markers', name, ...s, line: { color: colour, width: 6 },
      marker: { size: 4, color: colour }, hoverinfo: 'text', connectgaps: false, xaxis: 'x', yaxis: 'y2' });
  }
  const annotations = genes.filter((gene) => gene.joint || !narrow).map((gene) => ({
    x: mb((gene.start + gene.end) / 2), y: -gene.row + 0.42, xref: 'x', yref: 'y2', text: gene.name, showarrow: false,
    font: { size: 10, color: gene.joint ? '#a4262c' : '#33415c' },
  }));
  const shapes = [{ type: 'rect', xref: 'x', yref: 'paper', x0: mb(l.p0), x1: mb(l.p1), y0: 0, y1: 1,
    fillcolor: 'rgba(10,88,168,0.04)', line: { width: 0 }, layer: 'below' }];
  if (data.gwas_threshold) {
    shapes.push({ type: 'line', xref: 'paper', yref: 'y', x0: 0, x1: 1, y0: data.gwas_threshold, y1: data.gwas_threshold,
      line: { color: '#a4262c', width: 1, dash: 'dot' } });
  }
  const track = Math.min(0.4, 0.12 + 0.06 * rows);
  draw('locus-plot', traces, {
    // the legend sits above the plotting area (never over the peaks): a phone wraps it on three rows
    showlegend: true, legend: { orientation: 'h', y: 1.01, yanchor: 'bottom', x: 0 },
    margin: { l: 60, r: 20, t: narrow ? 80 : 40, b: 50 },
    xaxis: { title: { text: `${l.chrom} position (Mb)` }, anchor: 'y2', zeroline: false, showgrid: false },
    yaxis: { title: { text: 'GWAS −log10 P' }, domain: [track + 0.06, 1], rangemode: 'tozero', zeroline: false },
    yaxis2: { domain: [0, track], range: [-rows + 0.3, 0.9], showticklabels: false, showgrid: false, zeroline: false },
    shapes, annotations,
  }, {
    title: `${data.trait?.name ?? ''} · locus ${l.locus} (${l.chrom}:${l.start}–${l.end})`,
    onClick: (e) => { const p = first(e); if (p && p.data.yaxis === 'y2') go(hubGeneURL(p.customdata)); },
  });
}

// -- a gene ----------------------------------------------------------------------------------------------

function zmap() {
  const z = data.zmap;
  if (!z.models.length || !z.traits.length) {
    message('zmap-plot', 'This gene has no TWAS model, so no association with any trait.');
    return;
  }
  const values = z.z.flat().filter((v) => v !== null);
  const top = Math.max(2, ...values.map((v) => Math.abs(v)));
  const text = z.z.map((row, i) => row.map((v, j) => `${z.names[i]} × ${z.full[j]}<br>`
    + (v === null ? 'not tested' : `Z = ${fixed(v)}, P = ${fmtP(z.p[i][j])}${z.sig[i][j] ? '<br>significant' : ''}`)));
  const phone = (document.getElementById('zmap-plot')?.clientWidth || 800) < 600;
  const rowNames = z.names.map((n) => (phone && n.length > 16 ? `${n.slice(0, 15)}…` : n));
  const sx = [];
  const sy = [];
  z.sig.forEach((row, i) => row.forEach((s, j) => { if (s) { sx.push(z.models[j]); sy.push(z.names[i]); } }));
  draw('zmap-plot', [
    { type: 'heatmap', x: z.models, y: z.names, z: z.z, zmin: -top, zmax: top, zmid: 0, colorscale: EFFECT_SCALE,
      text, hoverinfo: 'text', xgap: 2, ygap: 2, customdata: z.z.map((row, i) => row.map(() => z.traits[i])),
      colorbar: { title: { text: 'TWAS Z' }, thickness: 12, len: 0.9 } },
    { type: 'scatter', mode: 'markers', name: 'significant', x: sx, y: sy, hoverinfo: 'skip',
      marker: { symbol: 'x-thin-open', size: 14, line: { width: 2.5, color: '#18212c' }, color: '#18212c' } },
  ], {
    margin: { l: 20, r: 20, t: 10, b: 40 },
    xaxis: { type: 'category', automargin: true,
      // the width left once the trait names (left) and the colour bar (right) have theirs
      ...categoryTicks('zmap-plot', z.models, { slant: z.models.length > 2 ? -30 : 0,
        reserved: 110 + Math.max(...rowNames.map((n) => textWidth(n, 12))) }) },
    // a phone keeps the heatmap's width for its cells: trait names cut short (hovers give them whole)
    yaxis: { type: 'category', automargin: true, autorange: 'reversed', tickmode: 'array', tickvals: z.names,
      ticktext: rowNames },
  }, { height: Math.max(240, 170 + 42 * z.traits.length),
    onClick: (e) => { const p = first(e); if (p && p.data.type === 'heatmap') go(traitURL(p.customdata)); } });
}

function cvPlot() {
  const cv = data.cv;
  if (!cv.labels.length) { message('cv-plot', 'This gene has no TWAS model in this release.'); return; }
  const colours = { top1: '#6f9fd8', lasso: '#17693c', enet: '#f2a900', blup: '#a4262c' };
  const traces = [{ type: 'bar', name: 'h²', x: cv.labels, y: cv.hsq, marker: { color: '#0d2540' }, customdata: cv.full,
    hovertemplate: '%{customdata}<br>h² = %{y:.3f}<extra></extra>' }];
  for (const m of cv.methods) {
    traces.push({ type: 'bar', name: `${m.name} CV R²`, x: cv.labels, y: m.r2, marker: { color: colours[m.id] || '#5b6b7f' },
      customdata: cv.full, hovertemplate: `%{customdata}<br>${m.name} CV R² = %{y:.3f}<extra></extra>` });
  }
  draw('cv-plot', traces, {
    barmode: 'group', showlegend: true, legend: { orientation: 'h', y: 1.12, x: 1, xanchor: 'right' },
    margin: { l: 60, r: 20, t: 30, b: 60 },
    xaxis: { type: 'category', automargin: true,
      ...categoryTicks('cv-plot', cv.labels, { slant: cv.labels.length > 2 ? -30 : 0 }) },
    yaxis: { title: { text: 'h² or R²' }, zeroline: true },
  }, { title: data.gene?.gene_name });
}

function geneView() {
  zmap();
  cvPlot();
}

// -- panels ----------------------------------------------------------------------------------------------

function panelsView() {
  const b = data.best;
  if (!b.methods.length) { message('panels-plot', 'No panel has a model.'); return; }
  const names = data.panels.map((p) => p.id);
  const colours = { top1: '#6f9fd8', lasso: '#17693c', enet: '#f2a900', blup: '#a4262c' };
  draw('panels-plot', b.methods.map((m, k) => ({
    type: 'bar', name: m.name, x: names, y: b.counts[k], marker: { color: colours[m.id] || '#5b6b7f' },
    hovertemplate: `%{x}<br>best ${m.name}: %{y}<extra></extra>`,
  })), {
    barmode: 'stack', showlegend: true, legend: { orientation: 'h', y: 1.12, x: 1, xanchor: 'right' },
    margin: { l: 60, r: 20, t: 30, b: 60 },
    xaxis: { automargin: true, ...categoryTicks('panels-plot', names, { slant: names.length > 4 ? -30 : 0 }) },
    yaxis: { title: { text: 'models' } },
  });
}

const views = { traits: traitsView, trait: traitView, locus: locusView, gene: geneView, panels: panelsView };
if (data && views[data.view]) views[data.view]();
