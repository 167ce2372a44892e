// The regional plot (LocusZoom's look), shared by the gene page and the region view: −log10 p of every
// tested variant of a window coloured by r² with a reference variant (LocusZoom's five bins, grey where r² is
// unknown; the reference a purple diamond), the significance threshold dashed, independent signals ringed
// and labelled by rank, and a track of the window's genes (exons, strand, names) under it. Clicking a point
// makes it the LD reference: r² is fetched from the LD API (columns layout) and the plot recoloured.
import {
  apiURL, column, draw, fmtP, geneURL, getJSON,
} from './plots.js';

/** LocusZoom's r² bins: upper bound, colour, label (the same as pages/regional_svg.py). */
export const LD_BINS = [
  { upper: 0.2, colour: '#357ebd', label: '0–0.2' },
  { upper: 0.4, colour: '#46b8da', label: '0.2–0.4' },
  { upper: 0.6, colour: '#5cb85c', label: '0.4–0.6' },
  { upper: 0.8, colour: '#eea236', label: '0.6–0.8' },
  { upper: 1.0, colour: '#d43f3a', label: '0.8–1' },
];
export const LD_UNKNOWN = '#b8b8b8';
export const REFERENCE_COLOUR = '#9632b8';
/** Qualitative colours of phenotypes (region view coloured by phenotype). */
export const PHENOTYPE_COLOURS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2',
  '#7f7f7f', '#bcbd22', '#17becf', '#aec7e8', '#ffbb78', '#98df8a', '#ff9896', '#c5b0d5', '#c49c94', '#f7b6d2',
  '#c7c7c7', '#dbdb8d', '#9edae5'];
const MAX_LD_BP = 2000000;
const PANEL_PX = 300;
const ROW_PX = 34;
const MAX_ROWS = 10;
const CHAR_PX = 6.8;

/** The LocusZoom bin of an r² value (0–4), -1 when unknown. */
export function binOf(r2) {
  if (r2 === null || r2 === undefined || Number.isNaN(r2)) return -1;
  const k = LD_BINS.findIndex((b) => r2 < b.upper);
  return k === -1 ? LD_BINS.length - 1 : k;
}

/** The LD window of a plot spanning lo..hi with its reference at refPos (web/regional.py's ld_region). */
export function ldRegion(chrom, lo, hi, refPos) {
  let a = lo;
  let b = hi;
  if (b - a + 1 > MAX_LD_BP) {
    a = Math.max(a, refPos - MAX_LD_BP / 2 + 1);
    b = Math.min(b, a + MAX_LD_BP - 1);
  }
  return `${chrom}:${a}-${b}`;
}

/** r² with `reference` over `tissue`'s samples for each id of `ids` (null where unknown), from the LD API. */
export async function fetchR2(reference, region, tissue, ids) {
  const body = await getJSON(apiURL('/ld', {
    variant: reference, region, tissue, fields: 'variant_id,r2', layout: 'columns',
  }));
  const r2s = column(body, 'r2');
  const byId = new Map(column(body, 'variant_id').map((v, i) => [v, r2s[i]]));
  return ids.map((v) => {
    const r2 = byId.get(v);
    return r2 === undefined || r2 === null ? null : Math.round(r2 * 1000) / 1000;
  });
}

/** Track rows of genes: the first row whose last extent (gene body or label, px) ends 8 px before. */
export function packRows(genes, xOf, xLo, xHi) {
  const ends = [];
  return genes.map((g) => {
    const a = Math.max(xOf(g.start), xLo);
    const b = Math.min(xOf(g.end), xHi);
    const name = g.gene_name || g.gene_id;
    const label = g.strand === '+' ? `${name} →` : g.strand === '-' ? `← ${name}` : name;
    const half = (label.length * CHAR_PX) / 2;
    const cx = Math.min(Math.max((a + b) / 2, xLo + half), xHi - half);
    const left = Math.min(a, cx - half);
    const right = Math.max(b, cx + half);
    let row = ends.findIndex((end) => left >= end + 8);
    if (row === -1) { ends.push(right); row = ends.length - 1; } else ends[row] = right;
    return { gene: g, row, cx, label };
  });
}

const mb = (x) => x / 1e6;

function geneTrack(d, highlight, widthPx, margin) {
  const [lo, hi] = d.window;
  const plotW = Math.max(widthPx - margin.l - margin.r, 100);
  const xOf = (bp) => ((bp - lo) / Math.max(hi - lo, 1)) * plotW;
  const placed = packRows(d.genes, xOf, 0, plotW);
  const shown = placed.filter((p) => p.row < MAX_ROWS);
  const rows = Math.max(1, Math.min(MAX_ROWS, 1 + Math.max(-1, ...placed.map((p) => p.row))));
  const traces = [];
  for (const accent of [false, true]) {
    const mine = shown.filter((p) => (p.gene.gene_id === highlight) === accent);
    if (!mine.length) continue;
    const colour = accent ? '#0a58a8' : '#4f5b69';
    const lineX = [];
    const lineY = [];
    const boxX = [];
    const boxY = [];
    for (const { gene, row } of mine) {
      const s = Math.max(gene.start, lo);
      const e = Math.min(gene.end, hi);
      lineX.push(mb(s), mb(e), null);
      lineY.push(-row, -row, null);
      for (const [a, b] of (gene.exons.length ? gene.exons : [[gene.start, gene.end]])) {
        const x0 = mb(Math.max(a, lo));
        const x1 = mb(Math.min(b, hi));
        if (x1 < x0) continue;
        boxX.push(x0, x1, x1, x0, x0, null);
        boxY.push(-row - 0.16, -row - 0.16, -row + 0.16, -row + 0.16, -row - 0.16, null);
      }
    }
    traces.push({
      type: 'scatter', mode: 'lines', x: lineX, y: lineY, line: { color: colour, width: 1.5 },
      hoverinfo: 'skip', showlegend: false, xaxis: 'x2', yaxis: 'y2',
    });
    traces.push({
      type: 'scatter', mode: 'lines', x: boxX, y: boxY, fill: 'toself', fillcolor: colour,
      line: { color: colour, width: 0.5 }, hoverinfo: 'skip', showlegend: false, xaxis: 'x2', yaxis: 'y2',
    });
    traces.push({
      type: 'scatter', mode: 'text', meta: 'gene', name: 'genes',
      x: mine.map((p) => mb(lo + (p.cx / plotW) * (hi - lo))), y: mine.map((p) => -p.row - 0.52),
      text: mine.map((p) => (accent ? `<b>${p.label}</b>` : p.label)),
      textfont: { size: 11, color: colour }, textposition: 'middle center', cliponaxis: false,
      customdata: mine.map((p) => p.gene.gene_name || p.gene.gene_id),
      hovertext: mine.map((p) => `${p.gene.gene_name || p.gene.gene_id} (${p.gene.gene_id})<br>`
        + `${p.gene.chrom}:${p.gene.start.toLocaleString()}–${p.gene.end.toLocaleString()} (${p.gene.strand})`
        + `<br>${p.gene.gene_type || ''}<br>click: the gene's page`),
      hoverinfo: 'text', showlegend: false, xaxis: 'x2', yaxis: 'y2',
    });
  }
  return { traces, rows, hidden: placed.length - shown.length };
}

function hover(d, i, r2) {
  const v = d.variants;
  const p = v.nlog10p[i] === null ? null : 10 ** -v.nlog10p[i];
  const ph = v.ph && d.phenotypes ? `<br>${d.phenotypes[v.ph[i]].label}` : '';
  const ld = r2 === null || r2 === undefined ? 'unknown' : r2.toFixed(3);
  const fm = d.finemapping;
  let pip = '';
  if (fm && fm.pip[i] !== null) {
    const cs = fm.cs[i];
    pip = `<br>PIP = ${fm.pip[i]}${cs === null || cs === undefined ? '' : ` · credible set ${cs + 1}`}`;
  }
  return `<b>${v.id[i]}</b> (${d.chrom}:${v.pos[i].toLocaleString()})${ph}<br>p = ${fmtP(p)} (−log10 p = `
    + `${v.nlog10p[i]})<br>slope = ${v.slope?.[i] ?? '–'}<br>r² with ${d.reference ?? '–'} = ${ld}${pip}`;
}

/** Colours of the SuSiE credible sets' rings (set 1 first), apart from the LD bins' colours. */
export const CS_COLOURS = ['#0a7d5a', '#c2185b', '#e08a00', '#5e35b1', '#00838f', '#6d4c41'];

/** One ring trace per credible set of `d.finemapping`: its members drawn as coloured open circles sized by
 *  PIP, named in the legend with their size. */
function credibleSetTraces(d, short) {
  const fm = d.finemapping;
  if (!fm || !fm.sets.length) return [];
  const v = d.variants;
  return fm.sets.map((set, k) => {
    const idx = [];
    for (let i = 0; i < v.id.length; i += 1) if (fm.cs[i] === k && v.nlog10p[i] !== null) idx.push(i);
    const colour = CS_COLOURS[k % CS_COLOURS.length];
    const size = set.size === 1 ? '1 variant' : `${set.size} variants`;
    return {
      type: 'scatter', mode: 'markers', meta: 'variant', legendrank: 40 + k,
      name: short ? `CS ${k + 1} (${set.size})` : `credible set ${k + 1} (${size}, max PIP ${set.max_pip})`,
      x: idx.length ? idx.map((i) => mb(v.pos[i])) : [null], y: idx.length ? idx.map((i) => v.nlog10p[i]) : [null],
      customdata: idx,
      marker: { symbol: 'circle-open', color: colour, line: { width: 2.2, color: colour },
        size: idx.map((i) => 11 + 9 * (fm.pip[i] ?? 0)) },
      text: idx.map((i) => hover(d, i, (d.r2 || [])[i])), hoverinfo: 'text',
    };
  });
}

/** The point of the reference variant: of its pairs (one per phenotype in the region view), the most
 *  significant; -1 when it is not drawn. */
function refIndex(d) {
  const v = d.variants;
  let best = -1;
  if (!d.reference) return best;
  for (let i = 0; i < v.id.length; i += 1) {
    if (v.id[i] === d.reference && v.nlog10p[i] !== null && (best < 0 || v.nlog10p[i] > v.nlog10p[best])) best = i;
  }
  return best;
}

/** Variant traces: one per r² bin (or per phenotype when colourBy is 'phenotype'), the reference diamond,
 *  the independent signals and the threshold line (named in the legend). */
function pointTraces(d, colourBy, short) {
  const v = d.variants;
  const n = v.id.length;
  const r2 = d.r2 || new Array(n).fill(null);
  const ref = refIndex(d);
  const groups = [];
  if (colourBy === 'phenotype' && v.ph) {
    const cut = (label) => (short && label.length > 44 ? `${label.slice(0, 43)}…` : label);
    d.phenotypes.forEach((ph, k) => groups.push({
      name: cut(ph.label), colour: PHENOTYPE_COLOURS[k % PHENOTYPE_COLOURS.length], test: (i) => v.ph[i] === k,
    }));
  } else {
    groups.push({ name: 'r² unknown', colour: LD_UNKNOWN, test: (i) => binOf(r2[i]) === -1 });  // short names: a phone's
    // legend fits two entries a row
    LD_BINS.forEach((b, k) => groups.push({ name: `r² ${b.label}`, colour: b.colour, test: (i) => binOf(r2[i]) === k }));
    groups.reverse();  // legend: the highest bin first; drawn last, on top
  }
  const traces = [];
  for (const g of [...groups].reverse()) {
    const idx = [];
    for (let i = 0; i < n; i += 1) if (v.nlog10p[i] !== null && g.test(i)) idx.push(i);
    // a bin without variants keeps its legend entry (plotly leaves an empty trace out of the legend)
    const none = idx.length === 0;
    traces.push({
      type: 'scatter', mode: 'markers', name: g.name, meta: 'variant', legendrank: groups.indexOf(g) + 1,
      x: none ? [null] : idx.map((i) => mb(v.pos[i])), y: none ? [null] : idx.map((i) => v.nlog10p[i]), customdata: idx,
      marker: { size: 7, color: g.colour, line: { width: 0.6, color: '#333a44' } },
      text: idx.map((i) => hover(d, i, r2[i])), hoverinfo: 'text',
    });
  }
  if (ref >= 0 && v.nlog10p[ref] !== null) {
    traces.push({
      type: 'scatter', mode: 'markers', name: short ? `${d.reference} (ref.)` : `${d.reference} (reference)`,
      meta: 'variant', legendrank: 0,
      x: [mb(v.pos[ref])], y: [v.nlog10p[ref]], customdata: [ref],
      marker: { size: 14, symbol: 'diamond', color: REFERENCE_COLOUR, line: { width: 1, color: '#18212c' } },
      text: [hover(d, ref, 1)], hoverinfo: 'text',
    });
  }
  traces.push(...credibleSetTraces(d, short));
  const indep = (d.independent || []).filter((s) => s.i >= 0 && v.nlog10p[s.i] !== null);
  if (indep.length) {
    traces.push({
      type: 'scatter', mode: 'markers', name: short ? 'independent #' : 'independent signal (#rank)', meta: 'variant',
      legendrank: 50,
      x: indep.map((s) => mb(v.pos[s.i])), y: indep.map((s) => v.nlog10p[s.i]), customdata: indep.map((s) => s.i),
      marker: { size: 16, color: 'rgba(0,0,0,0)', line: { width: 2, color: '#18212c' } },
      text: indep.map((s) => `independent signal #${s.rank}: ${s.variant_id}<br>${s.phenotype_id}<br>`
        + `p = ${fmtP(s.p)} (conditional on the other signals)`), hoverinfo: 'text',
    });
  }
  if (d.threshold) {
    const y = -Math.log10(d.threshold);
    traces.push({
      type: 'scatter', mode: 'lines', name: short ? 'p threshold' : `p threshold (${fmtP(d.threshold)})`, legendrank: 60,
      x: [mb(d.window[0]), mb(d.window[1])], y: [y, y], line: { color: '#a4262c', width: 1.3, dash: 'dash' },
      text: new Array(2).fill(`significance threshold of ${d.phenotype_id}: p = ${fmtP(d.threshold)}`),
      hoverinfo: 'text',
    });
  }
  return traces;
}

const pointCache = new WeakMap();
/** pointTraces(d, colourBy), computed once per payload state and colouring. */
function traces0(d, colourBy, short) {
  const key = `${colourBy}\t${short}\t${d.reference}\t${d.r2 ? d.r2.length : -1}`;
  const hit = pointCache.get(d);
  if (hit && hit.key === key && hit.r2 === d.r2) return hit.traces;
  const traces = pointTraces(d, colourBy, short);
  pointCache.set(d, { key, r2: d.r2, traces });
  return traces;
}

/** Height (px) of the horizontal legend of `traces` in `width` px: its items packed into rows. */
function legendHeight(traces, width) {
  let rows = 1;
  let x = 0;
  for (const t of traces) {
    const w = 46 + 6.2 * String(t.name || '').length;
    if (x > 0 && x + w > width) { rows += 1; x = 0; }
    x += w;
  }
  return rows * 21 + 10;
}

/** Draw the regional plot of `d` (a regional payload) in element `id`. Options: `highlight` (gene id drawn in
 *  the accent colour), `colourBy` ('ld' or 'phenotype'), `onPick(index)` (a point clicked). */
export async function drawRegional(id, d, { highlight = null, colourBy = 'ld', onPick = null } = {}) {
  const el = document.getElementById(id);
  const width = el.clientWidth || 800;
  const short = width < 600;
  const margin = { l: 56, r: short ? 8 : 16, t: 8, b: 44 };
  const track = geneTrack(d, highlight, width, margin);
  const measured = Number(el.dataset.legendPx || 0);
  const legendPx = Number(el.dataset.legendWidth) === width && measured
    ? measured : legendHeight(traces0(d, colourBy, short), width - margin.l - margin.r);
  const trackPx = track.rows * ROW_PX + 10;
  const height = margin.t + legendPx + PANEL_PX + 42 + trackPx + margin.b;
  const inner = height - margin.t - margin.b;
  const trackTop = trackPx / inner;
  const panelBottom = (trackPx + 42) / inner;
  const panelTop = (trackPx + 42 + PANEL_PX) / inner;
  const v = d.variants;
  const ys = v.nlog10p.filter((y) => y !== null);
  const yMax = Math.max(1, ...ys, d.threshold ? -Math.log10(d.threshold) : 0) * 1.15;
  const range = [mb(d.window[0]), mb(d.window[1])];
  const traces = [...traces0(d, colourBy, short), ...track.traces];
  const annotations = [];
  const ref = refIndex(d);
  if (ref >= 0 && v.nlog10p[ref] !== null) {  // the reference's name, on a white ground over lines and points
    annotations.push({ x: mb(v.pos[ref]), y: v.nlog10p[ref], yshift: 16, text: d.reference, showarrow: false,
      font: { size: 11, color: REFERENCE_COLOUR }, bgcolor: 'rgba(255,255,255,0.85)', borderpad: 1,
      xanchor: v.pos[ref] > d.window[0] + 0.9 * (d.window[1] - d.window[0]) ? 'right' : 'center' });
  }
  for (const s of d.independent || []) {  // ranks beside the rings
    if (s.i < 0 || v.nlog10p[s.i] === null) continue;
    annotations.push({ x: mb(v.pos[s.i]), y: v.nlog10p[s.i], xshift: 11, yshift: -11, xanchor: 'left', showarrow: false,
      text: `<b>#${s.rank}</b>`, font: { size: 12, color: '#18212c' }, bgcolor: 'rgba(255,255,255,0.7)' });
  }
  if (!d.genes.length) {
    annotations.push({ xref: 'x2 domain', yref: 'y2 domain', x: 0.5, y: 0.5, text: 'No gene in this window',
      showarrow: false, font: { color: '#4f5b69' } });
  }
  if (track.hidden) {
    annotations.push({ xref: 'x2 domain', yref: 'paper', x: 1, y: 0, yanchor: 'top', xanchor: 'right', showarrow: false,
      text: `+${track.hidden} more genes`, font: { size: 11, color: '#4f5b69' } });
  }
  const drawn = await draw(id, traces, {
    margin, showlegend: true,
    legend: { orientation: 'h', x: 0, xanchor: 'left', y: 1, yanchor: 'top', font: { size: 11 },
      traceorder: 'normal', itemclick: false, itemdoubleclick: false,
      ...(short && colourBy !== 'phenotype'
        ? { entrywidthmode: 'pixels', entrywidth: Math.floor((width - margin.l - margin.r) / 2) - 44 } : {}) },
    xaxis: { range, anchor: 'y', showgrid: false, zeroline: false, ticks: 'outside', showline: true,
      linecolor: '#9aa4b2' },
    xaxis2: { range, matches: 'x', anchor: 'y2', showgrid: false, zeroline: false, showticklabels: false,
      title: { text: `${d.chrom} position (Mb)` } },
    yaxis: { domain: [panelBottom, Math.min(panelTop, 1)], range: [0, yMax], title: { text: '−log10 p' }, zeroline: false,
      showline: true, linecolor: '#9aa4b2', gridcolor: '#e6e9ee' },
    yaxis2: { domain: [0, trackTop], range: [-track.rows + 0.2, 0.45], showgrid: false, zeroline: false,
      showticklabels: false, fixedrange: true },
    annotations, hovermode: 'closest',
  }, {
    height,
    onClick: (event) => {
      const point = event.points?.[0];
      if (!point) return;
      if (point.data.meta === 'gene' && point.customdata) window.location.assign(geneURL(point.customdata));
      else if (point.data.meta === 'variant' && onPick && Number.isInteger(point.customdata)) onPick(point.customdata);
    },
  });
  // the legend wraps as the browser lays it out: reserve what it took (redrawn once when the guess was short)
  const box = drawn?.querySelector('g.legend')?.getBoundingClientRect();
  const needed = box ? Math.ceil(box.height) + 10 : legendPx;
  el.dataset.legendWidth = String(width);
  el.dataset.legendPx = String(Math.max(needed, 30));
  if (needed > legendPx + 2 || needed < legendPx - 12) return drawRegional(id, d, { highlight, colourBy, onPick });
  return drawn;
}

/** The index of the variant of `d` with the largest −log10 p (null when none). */
export function leadIndex(d) {
  let best = null;
  d.variants.nlog10p.forEach((y, i) => { if (y !== null && (best === null || y > d.variants.nlog10p[best])) best = i; });
  return best;
}

/** A regional plot that follows clicks: each picked point becomes the LD reference (r² re-fetched over the
 *  samples of `tissue`, an id, named `tissueName`, then redrawn); `status` (an element) tells what is shown. */
export function interactiveRegional(id, d, {
  tissue, tissueName = tissue, highlight = null, status = null, colourBy = () => 'ld',
}) {
  let token = 0;
  const say = (text) => { if (status) status.textContent = text; };
  const describe = () => {
    if (!d.reference) return say(d.ld_note || 'No LD reference.');
    const note = d.r2 ? `r² with ${d.reference} over the samples of ${tissueName}` : (d.ld_note || 'r² unknown');
    say(`${note}. Click a point to make it the LD reference; click a gene's name for its page.`);
  };
  const pick = async (i) => {
    const ref = d.variants.id[i];
    if (ref === d.reference) return;
    const mine = (token += 1);
    say(`Computing r² with ${ref}…`);
    const region = ldRegion(d.chrom, Math.min(...d.variants.pos), Math.max(...d.variants.pos), d.variants.pos[i]);
    try {
      const r2 = await fetchR2(ref, region, tissue, d.variants.id);
      if (mine !== token) return;
      Object.assign(d, { reference: ref, r2, ld_region: region, ld_note: null });
      await drawRegional(id, d, { highlight, colourBy: colourBy(), onPick: pick });
      describe();
    } catch (error) {
      if (mine === token) say(`Could not compute LD with ${ref}: ${error.message}`);
    }
  };
  const redraw = () => drawRegional(id, d, { highlight, colourBy: colourBy(), onPick: pick }).then(describe);
  return { redraw, pick, data: d };
}
