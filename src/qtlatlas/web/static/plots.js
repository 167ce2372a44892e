// Plot helpers shared by the pages: waiting for plotly.js (served by the portal itself), drawing with a
// common layout and configuration, SVG/PNG export buttons, messages in place of a plot, and link building.

export const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';

/** Diverging colour scale for effects (blue: negative, red: positive), readable on white. */
export const EFFECT_SCALE = [
  [0, '#1f4e9c'], [0.25, '#6f9fd8'], [0.5, '#f2f2f2'], [0.75, '#e38a6d'], [1, '#a4262c'],
];
/** Sequential scale for expression heatmaps. */
export const EXPRESSION_SCALE = [
  [0, '#f7fbff'], [0.2, '#c6dbef'], [0.45, '#6baed6'], [0.7, '#2171b5'], [1, '#08306b'],
];

let measure;
/** The width in pixels of `text` in the portal's font at `size` px. */
export function textWidth(text, size = 12) {
  measure ??= document.createElement('canvas').getContext('2d');
  measure.font = `${size}px ${FONT}`;
  return measure.measureText(String(text)).width;
}

/** Resolves with window.Plotly once plotly.js has loaded. */
export function whenPlotly() {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  return new Promise((resolve, reject) => {
    let waited = 0;
    const timer = setInterval(() => {
      waited += 25;
      if (window.Plotly) { clearInterval(timer); resolve(window.Plotly); }
      else if (waited > 20000) { clearInterval(timer); reject(new Error('plotly.js did not load')); }
    }, 25);
  });
}

/** The JSON embedded in a <script type="application/json" id=...> element. */
export function readJSON(id) {
  const el = document.getElementById(id);
  return el ? JSON.parse(el.textContent) : null;
}

/** A layout with the portal's defaults, merged with `extra`. */
export function layout(extra = {}) {
  return {
    font: { family: FONT, size: 12, color: '#18212c' },
    paper_bgcolor: '#ffffff', plot_bgcolor: '#ffffff',
    margin: { l: 60, r: 20, t: 20, b: 50 },
    hoverlabel: { font: { family: FONT } },
    showlegend: false,
    ...extra,
  };
}

function config(filename) {
  return {
    responsive: true, displaylogo: false,
    modeBarButtonsToRemove: ['lasso2d', 'select2d', 'autoScale2d'],
    toImageButtonOptions: { format: 'svg', filename, scale: 2 },
  };
}

function filenameOf(el) {
  const base = (el.dataset.filename || el.id || 'plot').replace(/[^A-Za-z0-9_.-]+/g, '_');
  return `${base}.${document.body.dataset.release || 'release'}`;
}

/** Draw `traces` in the element `id` (replacing its placeholder) and enable its SVG/PNG buttons. */
export async function draw(id, traces, extraLayout = {}, options = {}) {
  const Plotly = await whenPlotly();
  const el = document.getElementById(id);
  if (!el) return null;
  if (!el.dataset.plotted) el.replaceChildren();
  el.classList.remove('has-message');
  const height = Number(options.height || el.dataset.height || 380);
  el.style.minHeight = `${height}px`;
  const lay = layout({ height, ...extraLayout });
  if (el.dataset.plotted) await Plotly.react(el, traces, lay, config(filenameOf(el)));
  else await Plotly.newPlot(el, traces, lay, config(filenameOf(el)));
  el.dataset.plotted = 'true';
  el.dataset.traces = String(traces.length);
  if (options.title) el.dataset.exportTitle = options.title;
  enableExport(el);
  if (options.onClick) {
    el.removeAllListeners?.('plotly_click');
    el.on('plotly_click', options.onClick);
  }
  return el;
}

/** The title drawn into an exported figure: what the plot shows of which gene / variant, tissue and modality
 * (`options.title` of draw(), or data-export-title of the plot element), after the plot's caption. */
export function exportTitle(el) {
  const caption = document.getElementById(`${el.id}-title`)?.textContent.trim() || '';
  const context = el.dataset.exportTitle || '';
  if (!context) return caption;
  if (!caption || caption.includes(context)) return context || caption;
  return `${context} — ${caption}`;
}

/** Lines of at most `chars` characters, broken at spaces (plotly titles wrap only at <br>). */
function wrap(text, chars) {
  const lines = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > chars) { lines.push(line); line = word; }
    else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

const escapeHTML = (t) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The figure an SVG/PNG export draws: the plot as shown, with its title on top (the margin grown to hold
 * it) and at least 640 px wide, so that a phone's export is not cramped. */
export function exportFigure(el) {
  const width = Math.max(el.clientWidth, 640);
  const height = Math.max(el.clientHeight, 200);
  const lines = wrap(exportTitle(el), Math.floor((width - 40) / 7.5));
  const full = el._fullLayout || {};
  const margin = { ...(el.layout.margin || {}) };
  const top = 16 + 18 * lines.length;
  margin.t = (margin.t ?? full.margin?.t ?? 20) + top;
  const layout = {
    ...el.layout, margin, width, height: height + top,
    // the first line's baseline a line below the top (plotly anchors a title of several lines by its first)
    title: { text: lines.map(escapeHTML).join('<br>'), x: 0, xref: 'container', xanchor: 'left',
      y: 1 - 26 / (height + top), yref: 'container', yanchor: 'bottom', pad: { l: 12 },
      font: { size: 14, color: '#18212c', family: FONT } },
  };
  return { data: el.data, layout, config: { displaylogo: false } };
}

function enableExport(el) {
  const tools = document.querySelector(`.plot-tools[data-plot="${el.id}"]`);
  if (!tools || tools.dataset.ready) { if (tools) tools.hidden = false; return; }
  tools.dataset.ready = 'true';
  tools.hidden = false;
  for (const button of tools.querySelectorAll('button[data-export]')) {
    button.addEventListener('click', () => {
      const figure = exportFigure(el);
      window.Plotly.downloadImage(figure, {
        format: button.dataset.export, filename: filenameOf(el),
        width: figure.layout.width, height: figure.layout.height, scale: button.dataset.export === 'png' ? 2 : 1,
      });
    });
  }
}

/** Show a message instead of a plot (no data, a failed request). */
export function message(id, text) {
  const el = document.getElementById(id);
  if (!el) return;
  if (el.dataset.plotted && window.Plotly) window.Plotly.purge(el);
  delete el.dataset.plotted;
  el.dataset.traces = '0';
  const p = document.createElement('p');
  p.className = 'plot-message';
  p.textContent = text;
  el.replaceChildren(p);
  el.classList.add('has-message');
  const tools = document.querySelector(`.plot-tools[data-plot="${id}"]`);
  if (tools) tools.hidden = true;
}

/** A portal URL that keeps the browsed release when the visitor chose one. */
export function pageURL(path, params = {}) {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') query.append(k, v);
  if (document.body.dataset.pinned === 'true') query.set('release', document.body.dataset.release);
  const qs = query.toString();
  return qs ? `${path}?${qs}` : path;
}

/** A REST API URL for the browsed release. */
export function apiURL(path, params = {}) {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (Array.isArray(v)) v.forEach((x) => query.append(k, x));
    else if (v !== undefined && v !== null && v !== '') query.append(k, v);
  }
  query.set('release', document.body.dataset.release);
  return `/api/v1${path}?${query}`;
}

/** Fetch JSON; rejects with the API's error detail. */
export async function getJSON(url) {
  const response = await fetch(url, { headers: { Accept: 'application/json' } });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(typeof body.detail === 'string' ? body.detail : `request failed (${response.status})`);
  return body;
}

/** One column of a list fetched with `layout: 'columns'`: its array, or its constant value repeated. */
export function column(body, name) {
  if (name in body.data) return body.data[name];
  return Array(body.meta.rows).fill(name in body.constant ? body.constant[name] : null);
}

export const variantURL = (id) => pageURL(`/variant/${encodeURIComponent(id)}`);
export const geneURL = (id) => pageURL(`/gene/${encodeURIComponent(id)}`);

/** −log10 p, capped for p = 0. */
export function mlog10(p) {
  if (p === null || p === undefined || !(p >= 0)) return null;
  return p > 0 ? -Math.log10(p) : 320;
}

/** Format a p-value like the tables do. */
export function fmtP(p) {
  if (p === null || p === undefined || Number.isNaN(p)) return '–';
  if (p === 0) return '< 1e-300';
  return p >= 0.001 ? p.toPrecision(3).replace(/\.?0+$/, '') : p.toExponential(2).replace('e-0', 'e-');
}

/** Fill a <select> with options [{value, label}] and select `selected` when present. */
export function fillSelect(select, options, selected) {
  select.replaceChildren(...options.map(({ value, label }) => {
    const o = document.createElement('option');
    o.value = value;
    o.textContent = label;
    if (value === selected) o.selected = true;
    return o;
  }));
}

/** `colour` (#rgb or #rrggbb) with an alpha channel (0–1); other colour syntaxes are returned as they are. */
export function withAlpha(colour, alpha) {
  let c = String(colour || '');
  if (/^#[0-9a-f]{3}$/i.test(c)) c = '#' + [...c.slice(1)].map((x) => x + x).join('');
  if (!/^#[0-9a-f]{6}$/i.test(c)) return c;
  return c + Math.round(alpha * 255).toString(16).padStart(2, '0');
}

/** A group with fewer values has its points drawn over its violin; one of at most POINTS_ONLY values is drawn
 * as its points only (the same rules as the server-drawn violins). */
const SMALL_GROUP = 10;
const POINTS_ONLY = 2;

/** Silverman's rule of thumb (plotly's default violin bandwidth): 1.059 · min(sd, IQR / 1.349) · n^(-1/5). */
function silverman(values) {
  const n = values.length;
  if (n < 2) return 0;
  const v = [...values].sort((a, b) => a - b);
  const mean = v.reduce((a, b) => a + b, 0) / n;
  const sd = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
  const q = (p) => { const h = (n - 1) * p; const i = Math.floor(h); return v[i] + (h - i) * ((v[i + 1] ?? v[i]) - v[i]); };
  const spread = Math.min(sd, (q(0.75) - q(0.25)) / 1.349) || sd;
  return 1.059 * spread * n ** -0.2;
}

/** Violin traces of values grouped by label (one trace per group): each density reaches two bandwidths past
 * its group's data (plotly's soft span), floored at 0 when every value is ≥ 0 (TPM); points over the violins
 * of small groups, points only for groups of one or two. */
export function violins(groups, { colours = [], showPoints = false } = {}) {
  const finite = groups.map((g) => g.values.filter(Number.isFinite));
  const nonNegative = finite.every((v) => v.every((x) => x >= 0));
  return groups.map((g, i) => {
    const colour = colours[i] || '#0a58a8';
    const v = finite[i];
    if (v.length <= POINTS_ONLY) {
      return { type: 'scatter', mode: 'markers', name: g.label, y: v, x: v.map(() => g.label),
        marker: { color: colour, size: 6 }, hoverinfo: 'y+name' };
    }
    const bw = silverman(v);
    let low = Math.min(...v) - 2 * bw;
    if (nonNegative) low = Math.max(low, 0);
    return {
      type: 'violin', name: g.label, y: g.values, x: g.values.map(() => g.label),
      box: { visible: true, width: 0.15 }, meanline: { visible: false },
      line: { color: colour, width: 1.2 }, fillcolor: withAlpha(colour, 0.35),
      points: showPoints || v.length < SMALL_GROUP ? 'all' : false, jitter: 0.35, pointpos: 0,
      marker: { size: 3, opacity: 0.6 },
      spanmode: 'manual', span: [low, Math.max(...v) + 2 * bw], scalemode: 'width', hoverinfo: 'y+name',
    };
  });
}

/** The readable label of a phenotype (the rule of qtlatlas.web.pages.phenotype_labels, which tests check this
 * against): the gene symbol, then what the phenotype measures ("Sym · TSS_2 usage", "Sym · intron 1,200–1,900",
 * "Sym · polyA site 3 usage", "Sym · ENST…", "Sym · stability"; expression: the symbol alone). */
export function phenotypeLabel(modality, phenotypeId, geneName) {
  const pid = String(phenotypeId);
  const head = pid.split('__', 1)[0];
  if (modality === 'cross_modality' && head.includes(':')) {
    const at = pid.indexOf(':');
    return `${phenotypeLabel(pid.slice(0, at), pid.slice(at + 1), geneName)} (${pid.slice(0, at)})`;
  }
  const cut = pid.indexOf('__');
  const gene = cut < 0 ? pid : pid.slice(0, cut);
  const feature = cut < 0 ? '' : pid.slice(cut + 2);
  const symbol = typeof geneName === 'string' && geneName ? geneName : gene;
  if (!feature) return modality === 'stability' ? `${symbol} · stability` : symbol;
  const thousands = (digits) => Number(digits).toLocaleString('en-US');
  let what = feature;
  if (modality === 'splicing') {
    const m = /^(?:chr)?[^:]+:(\d+):(\d+)(?::.*)?$/.exec(feature);
    what = m ? `intron ${thousands(m[1])}–${thousands(m[2])}` : `intron ${feature}`;
  } else if (modality === 'alt_TSS') {
    what = /^(?:TSS|PAS)_(\d+)$/.test(feature) ? `${feature} usage` : `TSS ${feature} usage`;
  } else if (modality === 'alt_polyA') {
    const m = /^(?:TSS|PAS)_(\d+)$/.exec(feature);
    what = m ? `polyA site ${m[1]} usage` : `polyA site ${feature} usage`;
  }
  return `${symbol} · ${what}`;
}

/** Ticks of a category x axis whose `labels` share the width of plot `id` (less `reserved` px for margins):
 * level when they fit side by side; on a wide screen slanted by `slant`; on a phone upright, in a font that fits
 * one slot, cut to `chars` characters, and only every k-th named when slots are thinner than a line of text.
 * Spread the answer into the layout's xaxis. */
export function categoryTicks(id, labels, { reserved = 80, size = 12, slant = -30, chars = 22 } = {}) {
  const width = document.getElementById(id)?.clientWidth || 800;
  const slot = (width - reserved) / Math.max(labels.length, 1);
  const widest = Math.max(0, ...labels.map((l) => textWidth(l, size)));
  if (widest + 6 <= slot) return { tickangle: 0, tickfont: { size } };
  if (width >= 600) return { tickangle: slant, tickfont: { size } };
  const font = Math.max(8, Math.min(size, Math.floor(slot) - 3));
  const step = Math.max(1, Math.ceil((font + 3) / slot));
  return {
    tickangle: -90, tickfont: { size: font }, tickmode: 'array', tickvals: labels,
    ticktext: labels.map((l, k) => (k % step ? '' : (l.length > chars ? `${l.slice(0, chars - 1)}…` : l))),
  };
}
