// The variant page's PheWAS: −log10 p of every tested pair of the variant, one slot per tissue × modality
// (grouped by tissue, coloured by tissue, labelled by modality below and tissue above), the significant
// associations as triangles pointing with the slope's sign. Data: the page's embedded `phewas` payload
// (pages/phewas.py). A click opens the gene's page.
import { draw, fmtP, geneURL, message } from './plots.js';

const TABLES = [[1, 'significant pair'], [2, 'top QTL'], [4, 'independent QTL']];

function describe(d, i) {
  const [gid, name] = d.genes[d.g[i]];
  const tables = TABLES.filter(([bit]) => d.flags[i] & bit).map(([, label]) => label);
  const p = d.y[i] === null ? null : 10 ** -d.y[i];
  return `<b>${name}</b> (${gid})<br>${d.phenotypes[d.ph[i]]}<br>${d.tissues[d.t[i]].name} · `
    + `${d.modalities[d.m[i]].name}<br>p = ${fmtP(p)}, slope = ${d.slope[i] ?? '–'}<br>`
    + `${tables.length ? `in: ${tables.join(', ')}` : 'tested (nominal pass)'}${d.hi[i] ? ' — significant' : ''}`;
}

/** A modality's name in a word ("Alternative TSS" → "TSS", "Isoform ratio" → "Isoform"). */
function shortName(m) {
  const words = m.name.replace(/^(Alternative|Alt\.?|RNA)\s+/i, '').split(/\s+/);
  return words[0].length > 10 ? `${words[0].slice(0, 9)}…` : words[0];
}

/** Draw the PheWAS of payload `d` in element `id`. */
export function phewas(id, d, title = '') {
  const n = d.y.length;
  if (!n) { message(id, 'This variant was not tested with any phenotype in this release.'); return null; }
  // slots: the tissue × modality pairs present, in release order; points spread across their slot
  const slotOf = new Map();
  for (let i = 0; i < n; i += 1) {
    const key = `${d.t[i]}:${d.m[i]}`;
    if (!slotOf.has(key)) slotOf.set(key, { t: d.t[i], m: d.m[i], idx: [] });
    slotOf.get(key).idx.push(i);
  }
  const slots = [...slotOf.values()];
  const x = new Array(n);
  slots.forEach((slot, k) => slot.idx.forEach((i, j) => { x[i] = k + 0.15 + (0.7 * (j + 0.5)) / slot.idx.length; }));
  const traces = [];
  const tissues = [...new Set(slots.map((s) => s.t))];
  for (const t of tissues) {
    const tissue = d.tissues[t];
    for (const significant of [false, true]) {
      const idx = [];
      for (let i = 0; i < n; i += 1) if (d.t[i] === t && Boolean(d.hi[i]) === significant && d.y[i] !== null) idx.push(i);
      if (!idx.length) continue;
      traces.push({
        type: 'scatter', mode: 'markers', name: tissue.name, legendgroup: tissue.id, showlegend: !significant,
        x: idx.map((i) => x[i]), y: idx.map((i) => d.y[i]), customdata: idx.map((i) => d.genes[d.g[i]][1]),
        marker: significant
          ? { size: 12, color: tissue.colour, symbol: idx.map((i) => ((d.slope[i] ?? 0) >= 0 ? 'triangle-up' : 'triangle-down')),
            line: { width: 1.4, color: '#18212c' } }
          : { size: 7, color: tissue.colour, opacity: 0.7, line: { width: 0.5, color: '#333a44' } },
        text: idx.map((i) => describe(d, i)), hoverinfo: 'text',
      });
    }
  }
  // tissue bands, a bar of the tissue's colour on top and its name above (cut to the band's width)
  const shapes = [];
  const annotations = [];
  const el = document.getElementById(id);
  const slotPx = Math.max(((el?.clientWidth || 600) - 66) / slots.length, 1);
  for (const t of tissues) {
    const ks = slots.map((s, k) => (s.t === t ? k : -1)).filter((k) => k >= 0);
    const lo = Math.min(...ks);
    const hi = Math.max(...ks) + 1;
    if (tissues.indexOf(t) % 2 === 0) {
      shapes.push({ type: 'rect', xref: 'x', yref: 'paper', x0: lo, x1: hi, y0: 0, y1: 1, fillcolor: '#f3f5f8',
        line: { width: 0 }, layer: 'below' });
    }
    shapes.push({ type: 'line', xref: 'x', yref: 'paper', x0: lo + 0.05, x1: hi - 0.05, y0: 1, y1: 1,
      line: { width: 4, color: d.tissues[t].colour } });
    const room = Math.max(3, Math.floor(((hi - lo) * slotPx) / 6.6));
    const name = d.tissues[t].name;
    annotations.push({ xref: 'x', yref: 'paper', x: (lo + hi) / 2, y: 1, yanchor: 'bottom', yshift: 3, showarrow: false,
      text: name.length > room ? `${name.slice(0, room - 1)}…` : name, hovertext: name,
      font: { size: 11, color: '#18212c' } });
  }
  // on a phone the modality names stand upright, shortened, each in its slot (every k-th when slots are
  // narrower than a line of text)
  const narrow = (el?.clientWidth || 600) < 600;
  const tickSize = narrow ? Math.max(8, Math.min(10, Math.floor(slotPx) - 3)) : 10;
  const step = narrow ? Math.max(1, Math.ceil((tickSize + 3) / slotPx)) : 1;
  const ticks = slots.map((_, k) => k).filter((k) => k % step === 0);
  return draw(id, traces, {
    margin: { l: 56, r: 10, t: 28, b: 20 }, showlegend: false, shapes, annotations, hovermode: 'closest',
    xaxis: { range: [0, slots.length], tickmode: 'array', tickvals: ticks.map((k) => k + 0.5),
      ticktext: ticks.map((k) => (narrow ? shortName : (m) => m.name)(d.modalities[slots[k].m])),
      tickangle: narrow ? -90 : -50, automargin: true, showgrid: false, zeroline: false, tickfont: { size: tickSize } },
    yaxis: { title: { text: '−log10 p' }, rangemode: 'tozero', zeroline: false, gridcolor: '#e6e9ee' },
  }, {
    title,
    onClick: (event) => { const gene = event.points?.[0]?.customdata; if (gene) window.location.assign(geneURL(gene)); },
  });
}
