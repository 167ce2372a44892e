// Variant page plots: the forest plot of effects across tissues × modalities × phenotypes, the PheWAS of every
// tested pair (phewas.js), and the phenotype-by-genotype violins of the chosen phenotype (the first embedded,
// others fetched from the API).
import { phewas } from './phewas.js';
import { apiURL, draw, fmtP, geneURL, getJSON, message, readJSON, violins } from './plots.js';

const data = readJSON('variant-data');
const v = data.variant;

function forest() {
  const rows = data.forest;
  if (!rows.length) { message('forest-plot', 'No association with an effect estimate.'); return; }
  const labels = rows.map((r) => r.label);
  const byTissue = new Map();
  rows.forEach((r, i) => {
    if (!byTissue.has(r.tissue)) byTissue.set(r.tissue, { name: r.tissue_name, colour: r.colour, idx: [] });
    byTissue.get(r.tissue).idx.push(i);
  });
  const traces = [...byTissue.values()].map((t) => ({
    type: 'scatter', mode: 'markers', name: t.name,
    x: t.idx.map((i) => rows[i].slope), y: t.idx.map((i) => labels[i]),
    customdata: t.idx.map((i) => [rows[i].gene]),
    error_x: { type: 'data', array: t.idx.map((i) => 1.96 * rows[i].se), color: t.colour, thickness: 1.5, width: 3 },
    marker: { color: t.colour, size: 9, symbol: 'square', line: { width: 1, color: '#1b2430' } },
    text: t.idx.map((i) => `${rows[i].tissue_name} · ${rows[i].modality}<br>${rows[i].feature || rows[i].gene}`
      + ` (${rows[i].phenotype_id})<br>`
      + `slope = ${rows[i].slope.toFixed(3)} ± ${(1.96 * rows[i].se).toFixed(3)}<br>p = ${fmtP(rows[i].p)}`),
    hoverinfo: 'text',
  }));
  const el = document.getElementById('forest-plot');
  const narrow = (el?.clientWidth || 800) < 600;
  // on a phone, a label's parts (tissue · modality · gene · feature) go on lines of their own, and each row is
  // as tall as its lines; the legend goes above the plot (beside it on a wide screen), clear of the axes
  const ticktext = narrow ? labels.map((l) => l.split(' · ').join('<br>')) : labels;
  const lines = narrow ? Math.max(...labels.map((l) => l.split(' · ').length)) : 1;
  const rowPx = narrow ? Math.max(24, 13 * lines + 8) : 24;
  const legend = narrow
    ? { orientation: 'h', x: 0, xanchor: 'left', y: 1, yanchor: 'bottom', font: { size: 11 } }
    : { orientation: 'v', x: 1, xanchor: 'left', y: 1, yanchor: 'top', font: { size: 12 },
      title: { text: 'tissue', font: { size: 12 } } };
  draw('forest-plot', traces, {
    margin: { l: 20, r: 20, t: narrow && byTissue.size > 1 ? 16 : 10, b: 50 },
    showlegend: byTissue.size > 1, legend,
    xaxis: { title: { text: `slope (effect of ${v.alt}) ± 1.96 SE` }, zeroline: true, zerolinecolor: '#8a96a5',
      zerolinewidth: 1.5, automargin: true, nticks: narrow ? 5 : undefined },
    yaxis: { type: 'category', categoryorder: 'array', categoryarray: [...labels].reverse(), automargin: true,
      tickmode: 'array', tickvals: labels, ticktext, tickfont: { size: narrow ? 10 : 12 }, ticklen: 4, ticks: 'outside',
      tickcolor: '#ffffff' },
  }, {
    // a phone's legend takes up to a line per tissue above the rows
    height: Math.max(260, 110 + rowPx * rows.length + (narrow && byTissue.size > 1 ? 22 * byTissue.size : 0)),
    title: `${v.variant_id} · every tissue and modality with an effect estimate`,
    onClick: (event) => { const g = event.points?.[0]?.customdata?.[0]; if (g) window.location.assign(geneURL(g)); },
  });
}

/** What the violins show: variant · tissue · modality · phenotype (names, as the choice list gives them). */
function pbgChoice(pbg) {
  return data.choices.find((c) => c.tissue === pbg.tissue && c.modality === pbg.modality
    && c.phenotype_id === pbg.phenotype_id) || {};
}

function pbgPlot(pbg) {
  if (!pbg) { message('pbg-plot', 'No phenotype-by-genotype data for this variant.'); return; }
  const ref = pbg.ref;
  const alt = pbg.alt;
  const classes = [`${ref}/${ref}`, `${ref}/${alt}`, `${alt}/${alt}`];
  const el = document.getElementById('pbg-plot');
  const narrow = (el?.clientWidth || 800) < 500;
  // on a phone the sample counts go on a second line, or the three names run into each other
  const groups = classes.map((label, i) => ({
    label: `${label}${narrow ? '<br>' : ' '}(n = ${pbg.groups[i].length})`, values: pbg.groups[i] }));
  const traces = violins(groups, { colours: ['#6f9fd8', '#8e7cc3', '#e38a6d'], showPoints: true });
  const choice = pbgChoice(pbg);
  const name = pbg.label || choice.label || pbg.phenotype_id;
  const unit = pbg.value_kind === 'tpm' ? pbg.value_unit || 'TPM' : 'normalised';
  draw('pbg-plot', traces, {
    margin: { l: 60, r: 20, t: 10, b: 50 },
    yaxis: { title: { text: `${name} (${unit})` }, zeroline: false, automargin: true },
    xaxis: { title: { text: `${pbg.variant_id} genotype` }, automargin: true },
  }, {
    title: [pbg.variant_id, choice.tissue_name || pbg.tissue, choice.modality_name || pbg.modality, name].join(' · '),
  });
}

function updateStats(pbg) {
  const table = document.getElementById('pbg-table');
  if (!table || !pbg) return;
  const choice = pbgChoice(pbg);
  table.caption.textContent = `${choice.tissue_name || pbg.tissue} · ${choice.modality_name || pbg.modality} · `
    + `${pbg.label || choice.label || pbg.phenotype_id} (${pbg.phenotype_id})`;
  for (const key of ['hom_ref', 'het', 'hom_alt', 'missing']) {
    const row = table.querySelector(`tr[data-class="${key}"]`);
    if (row) row.cells[1].textContent = String(pbg.counts[key]);
  }
  // the mapped statistics (with covariates) first; the plot's own regression without covariates only as a
  // secondary note
  const fixed = (x) => (x === null || x === undefined ? '–' : x.toFixed(3));
  const note = document.getElementById('pbg-note');
  if (note) {
    const source = data.statistics_sources[pbg.statistics_source] || pbg.statistics_source;
    const mapped = pbg.pval_nominal === null || pbg.pval_nominal === undefined
      ? 'Nominal p (mapping model): not available for this pair in this release. '
      : `Nominal p (mapping model) = ${fmtP(pbg.pval_nominal)}, slope ${fixed(pbg.slope)} ± ${fixed(pbg.slope_se)}: `
        + `with the mapping's covariates, from ${source}. `;
    note.textContent = mapped
      + (pbg.pval_nominal_threshold ? `Significance threshold of the phenotype: p ≤ ${fmtP(pbg.pval_nominal_threshold)}.` : '');
  }
  const unadjusted = document.getElementById('pbg-unadjusted');
  if (unadjusted) {
    unadjusted.textContent = `Unadjusted, without covariates${pbg.value_kind === 'tpm' ? `, on ${pbg.value_unit || 'TPM'}` : ''} (illustrates the `
      + `plot, not the mapped result): slope ${fixed(pbg.slope_unadjusted)} ± ${fixed(pbg.slope_se_unadjusted)}, `
      + `p = ${fmtP(pbg.pval_unadjusted)} (n = ${pbg.n}).`;
  }
}

function groupsOf(pbg) {
  const groups = [[], [], []];
  pbg.values.forEach((x, i) => {
    const g = pbg.genotypes[i];
    if (x !== null && g !== null) groups[g].push(x);
  });
  return { ...pbg, groups };
}

async function choose(index) {
  const c = data.choices[index];
  if (!c) return;
  try {
    const body = await getJSON(apiURL('/phenotype-by-genotype', {
      phenotype_id: c.phenotype_id, variant: v.variant_id, tissue: c.tissue, modality: c.modality,
    }));
    const pbg = { ...groupsOf(body.data), label: c.label };
    pbgPlot(pbg);
    updateStats(pbg);
    const url = new URL(window.location.href);
    url.searchParams.set('pbg', String(index + 1));
    window.history.replaceState(null, '', url);
  } catch (error) {
    message('pbg-plot', `Could not load these data: ${error.message}`);
  }
}

forest();
pbgPlot(data.pbg);
requestAnimationFrame(() => setTimeout(() => phewas('phewas-plot', data.phewas,
  `${v.variant_id} · every tissue and modality tested`), 0));
const select = document.getElementById('pbg-choice');
if (select) select.addEventListener('change', () => choose(Number(select.value) - 1));
