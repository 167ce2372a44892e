// Tissue page plots: QQ plot and Manhattan plot of the lead p-value of every gene (data embedded).
import { draw, geneURL, message, readJSON, withAlpha } from './plots.js';

const data = readJSON('tissue-data');

function qq() {
  const { expected, observed, n, column } = data.qq;
  if (!n) { message('qq-plot', 'No gene was tested in this modality.'); return; }
  const top = Math.max(...expected, ...observed, 1) * 1.05;
  draw('qq-plot', [
    { type: 'scatter', mode: 'lines', x: [0, top], y: [0, top], line: { color: '#8a96a5', dash: 'dash', width: 1 }, hoverinfo: 'skip' },
    { type: expected.length > 5000 ? 'scattergl' : 'scatter', mode: 'markers', x: expected, y: observed,
      marker: { color: data.tissue.colour, size: 5, line: { width: 0.4, color: '#1b2430' } },
      hovertemplate: 'expected %{x:.2f}<br>observed %{y:.2f}<extra></extra>' },
  ], {
    xaxis: { title: { text: 'expected −log10 p' }, rangemode: 'tozero' },
    yaxis: { title: { text: `observed −log10 ${column === 'pval_beta' ? 'p (permutation)' : 'p'}` }, rangemode: 'tozero' },
  });
}

function manhattan() {
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
  draw('manhattan-plot', [
    trace(other, (idx) => idx.map((i) => (m.chrom[i] % 2 ? '#9aa6b5' : '#51627a')), 'other genes'),
    trace(eg, (idx) => idx.map(() => withAlpha(data.tissue.colour, 0.9)), 'eGenes'),
  ], {
    showlegend: true, legend: { orientation: 'h', y: 1.08, x: 1, xanchor: 'right' },
    xaxis: { tickmode: 'array', tickvals: m.ticks, ticktext: m.labels, showgrid: false, zeroline: false, title: { text: 'chromosome' } },
    yaxis: { title: { text: 'lead −log10 p' }, rangemode: 'tozero' },
  }, { onClick: (event) => { const g = event.points?.[0]?.customdata?.[0]; if (g) window.location.assign(geneURL(g)); } });
}

qq();
manhattan();
