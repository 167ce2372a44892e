// Gene page plots: expression violins, bubble map of variants × tissues and the regional plot with the gene
// track. Data come from <script id="gene-data"> (no round trip); the regional plot's other choices and LD
// references from the API.
import {
  EFFECT_SCALE, apiURL, draw, fillSelect, fmtP, getJSON, message, mlog10, phenotypeLabel, readJSON, textWidth, variantURL,
  violins,
} from './plots.js';
import { interactiveRegional } from './regional.js';

const data = readJSON('gene-data');
const pairs = data.pairs;
const nPairs = pairs.variant.length;
const tissueName = (i) => data.tissues[i]?.name ?? '?';
const modalityName = (i) => data.modalities[i]?.name ?? '?';
const symbol = data.gene.gene_name || data.gene.gene_id;
/** A name cut to `chars` characters (an ellipsis marks the cut). */
const cut = (text, chars) => (text.length > chars ? `${text.slice(0, chars - 1)}…` : text);
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
  // on a phone: fewer columns (one upright variant name each), short tissue names, the colour bar above
  const el = document.getElementById('bubble-plot');
  const width = el?.clientWidth || 800;
  const narrow = width < 600;
  const columns = narrow ? Math.max(5, Math.floor((width - 130) / 15)) : most;
  const keep = [...variantBest.entries()].sort((a, b) => pairs.p[a[1]] - pairs.p[b[1]]).slice(0, Math.min(most, columns));
  const chosen = new Set(keep.map(([v]) => v));
  const order = keep.sort((a, b) => pairs.pos[a[1]] - pairs.pos[b[1]]).map(([v]) => v);
  const idx = [...best.values()].filter((i) => chosen.has(pairs.variant[i]));
  const lps = idx.map((i) => mlog10(pairs.p[i]));
  const maxLog = Math.max(...lps, 1);
  const maxAbs = Math.max(...idx.map((i) => Math.abs(pairs.slope[i] || 0)), 1e-6);
  const tissuesShown = [...new Set(idx.map((i) => pairs.t[i]))].sort((a, b) => a - b).map(tissueName);
  const rowName = (name) => (narrow ? cut(name, 12) : name);
  const biggest = narrow ? Math.min(28, Math.max(10, (width - 130) / order.length)) : 28;
  const trace = {
    type: 'scatter', mode: 'markers',
    x: idx.map((i) => pairs.variant[i]), y: idx.map((i) => rowName(tissueName(pairs.t[i]))),
    customdata: idx.map((i) => [pairs.variant[i]]),
    marker: {
      size: lps.map((lp) => 6 + (biggest - 6) * (lp / maxLog)), sizemode: 'diameter',
      color: idx.map((i) => pairs.slope[i]), colorscale: EFFECT_SCALE, cmin: -maxAbs, cmax: maxAbs,
      line: { color: '#33415580', width: 0.8 },
      colorbar: narrow
        ? { orientation: 'h', x: 0, xanchor: 'left', y: 1, yanchor: 'bottom', ypad: 14, lenmode: 'pixels', len: 160,
          thickness: 8, title: { text: 'slope', side: 'top', font: { size: 11 } }, tickfont: { size: 10 }, nticks: 4 }
        : { title: { text: 'slope' }, thickness: 12, len: 0.8 },
    },
    text: idx.map((i) => `${pairs.variant[i]} (${pairs.pos[i].toLocaleString()})<br>${tissueName(pairs.t[i])} · `
      + `${phenotypeLabel(data.modalities[pairs.m[i]]?.id, data.phenotypes[pairs.ph[i]], data.gene.gene_name)}`
      + `<br>p = ${fmtP(pairs.p[i])}<br>slope = ${pairs.slope[i]?.toFixed(3)}`),
    hoverinfo: 'text',
  };
  const height = Math.max(260, (narrow ? 150 : 90) + 42 * tissuesShown.length);
  draw('bubble-plot', [trace], {
    margin: { l: narrow ? 10 : 130, r: 20, t: narrow ? 56 : 10, b: narrow ? 20 : 110 },
    xaxis: { type: 'category', categoryorder: 'array', categoryarray: order, tickangle: narrow ? -90 : -50,
      title: { text: '' }, automargin: true, tickfont: { size: narrow ? 10 : 12 } },
    yaxis: { type: 'category', categoryorder: 'array', categoryarray: tissuesShown.map(rowName), automargin: true,
      tickfont: { size: narrow ? 11 : 12 } },
  }, { height, onClick: openVariant, title: `${symbol} · ${modalityName(m)} · every tissue` });
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
// Every tested variant of one phenotype's cis window (static/regional.js). The page embeds the payload of its
// default phenotype (and its server-drawn SVG); other tissues, modalities and phenotypes come from
// /api/v1/regional/gene/{gene}.

const regionalTissue = document.getElementById('regional-tissue');
const regionalModality = document.getElementById('regional-modality');
const regionalPhenotype = document.getElementById('regional-phenotype');
const regionalStatus = document.getElementById('regional-status');
const choices = data.regional_choices || [];
let regionalToken = 0;

function showRegional(payload) {
  const tissue = data.tissues.find((t) => t.id === payload.tissue);
  const modality = data.modalities.find((x) => x.id === payload.modality);
  const el = document.getElementById('regional-plot');
  if (el) {
    // the phenotype's label begins with the gene's symbol: only its feature is added (none for expression)
    const label = phenotypeLabel(payload.modality, payload.phenotype_id, data.gene.gene_name);
    const feature = label.startsWith(`${symbol} · `) ? label.slice(symbol.length + 3) : (label === symbol ? '' : label);
    el.dataset.exportTitle = [symbol, tissue?.name ?? payload.tissue, modality?.name ?? payload.modality, feature]
      .filter(Boolean).join(' · ');
  }
  const plot = interactiveRegional('regional-plot', payload, {
    tissue: payload.tissue, tissueName: tissue?.name ?? payload.tissue, highlight: data.gene.gene_id,
    status: regionalStatus,
  });
  return plot.redraw();
}

function fillPhenotypes(choice, selected) {
  const modality = data.modalities[choice.m]?.id;
  const labels = choice.ph.map((id, k) => {
    const name = phenotypeLabel(modality, id, data.gene.gene_name);
    return { value: id, label: choice.p[k] === null ? name : `${name} (p = ${fmtP(choice.p[k])})` };
  });
  fillSelect(regionalPhenotype, labels, selected ?? choice.ph[0]);
  regionalPhenotype.closest('.field').hidden = choice.ph.length < 2;
}

function fillModalities(t, selected) {
  const mods = choices.filter((c) => c.t === t).map((c) => c.m);
  const keep = mods.includes(selected) ? selected : mods[0];
  fillSelect(regionalModality, mods.map((m) => ({ value: String(m), label: modalityName(m) })), String(keep));
  return keep;
}

async function changeRegional(event) {
  const t = Number(regionalTissue.value);
  const m = fillModalities(t, Number(regionalModality.value));
  const choice = choices.find((c) => c.t === t && c.m === m);
  if (!choice) return;
  // another tissue or modality starts on its most significant phenotype
  if (event.target !== regionalPhenotype) fillPhenotypes(choice);
  const mine = (regionalToken += 1);
  regionalStatus.textContent = 'Loading every tested variant of the window…';
  try {
    const body = await getJSON(apiURL(`/regional/gene/${encodeURIComponent(data.gene.gene_id)}`, {
      tissue: data.tissues[t].id, modality: data.modalities[m].id, phenotype: regionalPhenotype.value,
    }));
    if (mine === regionalToken) await showRegional(body.data);
  } catch (error) {
    if (mine === regionalToken) message('regional-plot', `Could not load the regional plot: ${error.message}`);
  }
}

function initRegional() {
  const d = data.regional;
  if (!d) { message('regional-plot', data.regional_problem || 'No regional plot for this gene.'); return; }
  const tIndex = new Map(data.tissues.map((t, i) => [t.id, i]));
  const mIndex = new Map(data.modalities.map((x, i) => [x.id, i]));
  const t0 = tIndex.get(d.tissue);
  const m0 = mIndex.get(d.modality);
  const tissues = [...new Set(choices.map((c) => c.t))];
  fillSelect(regionalTissue, tissues.map((t) => ({ value: String(t), label: tissueName(t) })), String(t0));
  fillModalities(t0, m0);
  fillPhenotypes(choices.find((c) => c.t === t0 && c.m === m0) || { ph: [d.phenotype_id], p: [null] }, d.phenotype_id);
  for (const el of [regionalTissue, regionalModality, regionalPhenotype]) el.addEventListener('change', changeRegional);
  showRegional(d);
}

// -- expression violins ----------------------------------------------------------------------------
// The page carries the values (data.expression: [{t: tissue index, tpm: [...]}], in data.unit) and a
// server-drawn SVG of the same violins, which the interactive plot replaces. A release without expression
// values has no such section.

const scaleSelect = document.getElementById('expr-scale');

function expressionPlot() {
  const groups = data.expression.filter((g) => data.tissues[g.t]);
  if (!groups.length) { message('expression-plot', 'This gene has no expression value in this release.'); return; }
  const log = scaleSelect.value === 'log';
  const values = (g) => g.tpm.filter((v) => v !== null).map((v) => (log ? Math.log10(v + 1) : v));
  const traces = violins(groups.map((g) => ({ label: tissueName(g.t), values: values(g) })),
    { colours: groups.map((g) => data.tissues[g.t].colour) });
  // tissue names upright when they do not fit their violins' width side by side (a phone), slanted when they
  // do not fit level
  const width = document.getElementById('expression-plot')?.clientWidth || 800;
  const slot = (width - 90) / groups.length;
  const widest = Math.max(...groups.map((g) => textWidth(tissueName(g.t), 12)));
  const angle = widest + 6 <= slot ? 0 : (slot >= 24 && width >= 600 ? -35 : -90);
  draw('expression-plot', traces, {
    margin: { l: 70, r: 20, t: 10, b: 80 },
    yaxis: { title: { text: log ? `log10(${data.unit} + 1)` : data.unit }, zeroline: false, rangemode: 'tozero' },
    xaxis: { tickangle: angle, automargin: true },
    violingap: 0.25,
  }, { title: `${symbol} · Expression (${data.unit}) · every tissue` });
}

function initExpression() {
  scaleSelect.addEventListener('change', expressionPlot);
  expressionPlot();
}

// -- colocalisation heatmap ----------------------------------------------------------------------------
// Tissue × modality cells of the largest PP.H4 with one trait's loci (or every trait's); a click filters the
// colocalisation table to that tissue and modality.

const colocTrait = document.getElementById('coloc-trait');
const PP4_SCALE = [[0, '#f4f6f9'], [0.5, '#9ecae1'], [0.8, '#3182bd'], [1, '#08306b']];

function filterTable(tableId, values) {
  const tools = document.querySelector(`.table-tools[data-for="${tableId}"]`);
  if (!tools) return;
  for (const [key, value] of Object.entries(values)) {
    const select = tools.querySelector(`select[data-filter-key="${key}"]`);
    if (!select || ![...select.options].some((o) => o.value === value)) continue;
    select.value = value;
    select.dispatchEvent(new Event('change'));
  }
  document.getElementById(tableId)?.scrollIntoView({ behavior: 'smooth', block: 'nearest' });
}

function colocHeatmap() {
  const c = data.coloc;
  const chosen = colocTrait.value === '' ? null : Number(colocTrait.value);
  const z = c.tissues.map(() => c.modalities.map(() => null));
  const label = c.tissues.map(() => c.modalities.map(() => ''));
  c.cells.pp4.forEach((pp4, k) => {
    if (pp4 === null || (chosen !== null && c.cells.trait[k] !== chosen)) return;
    const [t, m] = [c.cells.t[k], c.cells.m[k]];
    if (z[t][m] === null || pp4 > z[t][m]) {
      z[t][m] = pp4;
      label[t][m] = `${c.traits[c.cells.trait[k]].name}<br>${c.cells.phenotype_id[k]}<br>PP.H4 = ${pp4.toFixed(3)}`;
    }
  });
  const tissues = c.tissues.map((t) => t.name);
  const modalities = c.modalities.map((m) => m.name);
  draw('coloc-plot', [{
    type: 'heatmap', z, x: modalities, y: tissues, zmin: 0, zmax: 1, colorscale: PP4_SCALE, xgap: 2, ygap: 2,
    text: label, hoverinfo: 'text', hoverongaps: false,
    customdata: c.tissues.map((t) => c.modalities.map((m) => [t.id, m.id])),
    colorbar: { title: { text: 'PP.H4', side: 'right' }, thickness: 12, len: 0.9, x: 1.01 },
  }], {
    margin: { l: 10, r: 70, t: 10, b: 60 },
    xaxis: { type: 'category', automargin: true, side: 'bottom' },
    yaxis: { type: 'category', automargin: true, autorange: 'reversed' },
  }, {
    title: `${symbol} · ${chosen === null ? 'every trait' : c.traits[chosen].name} · every tissue and modality`,
    height: Math.max(220, 80 + 34 * tissues.length),
    onClick: (event) => {
      const cell = event.points?.[0]?.customdata;
      if (cell) filterTable('coloc-table', { tissue: cell[0], modality: cell[1] });
    },
  });
}

function initColoc() {
  const options = [{ value: '', label: 'Every trait' }, ...data.coloc.traits.map((t, i) => ({ value: String(i), label: t.name }))];
  fillSelect(colocTrait, options, '');
  colocTrait.addEventListener('change', colocHeatmap);
  colocHeatmap();
}

// The first plot of the page first; the others after the browser has painted it.
if (scaleSelect) initExpression();
const later = (fn) => requestAnimationFrame(() => setTimeout(fn, 0));
later(initBubble);
later(initRegional);
if (data.coloc && colocTrait) later(initColoc);
