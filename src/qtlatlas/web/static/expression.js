// Expression heatmap with its two dendrograms (genes on the left, tissues on top); data embedded.
import { EXPRESSION_SCALE, draw, geneURL, readJSON } from './plots.js';

const data = readJSON('expression-data');

function heatmap() {
  if (!data) return;
  const phone = (document.getElementById('heatmap-plot')?.clientWidth || 800) < 600;
  const [barLen, barMode] = phone ? [110, 'pixels'] : [0.13, 'fraction'];
  const nGenes = data.genes.length;
  const nTissues = data.tissues.length;
  const unit = data.unit || 'TPM';
  const label = data.log ? `log2(${unit} + 1)` : unit;
  const traces = [{
    type: 'heatmap', z: data.z, x: data.tissues.map((_, i) => i), y: data.genes.map((_, i) => i),
    colorscale: EXPRESSION_SCALE, xgap: 1, ygap: 1,
    colorbar: {
      orientation: 'h', x: 0, xanchor: 'left', y: 1, yanchor: 'top', len: barLen, lenmode: barMode, thickness: 10,
      title: { text: label, side: 'top', font: { size: 11 } }, tickfont: { size: 10 }, nticks: 4,
    },
    customdata: data.genes.map((g, i) => data.tissues.map((t, j) => [data.gene_names[i], data.tissue_names[j], data.tpm[i][j]])),
    hovertemplate: `%{customdata[0]} · %{customdata[1]}<br>median %{customdata[2]:.3g} ${unit}<extra></extra>`,
    xaxis: 'x', yaxis: 'y',
  }];
  if (data.tissue_tree.pos.length) {
    traces.push({ type: 'scatter', mode: 'lines', x: data.tissue_tree.pos, y: data.tissue_tree.height,
      line: { color: '#51627a', width: 1.2 }, hoverinfo: 'skip', xaxis: 'x2', yaxis: 'y2' });
  }
  if (data.gene_tree.pos.length) {
    traces.push({ type: 'scatter', mode: 'lines', x: data.gene_tree.height, y: data.gene_tree.pos,
      line: { color: '#51627a', width: 1.2 }, hoverinfo: 'skip', xaxis: 'x3', yaxis: 'y3' });
  }
  const left = 0.14;
  const top = nTissues > 1 ? Math.min(0.16, 90 / (160 + 16 * nGenes)) : 0.1;
  const xRange = [-0.5, nTissues - 0.5];
  const yRange = [nGenes - 0.5, -0.5]; // the first gene on top, as in the table below the heatmap
  const height = Math.max(320, Math.min(2400, 160 + 16 * nGenes));
  // on a phone the tissue names stand upright in a font that fits their columns, and the colour bar is long
  // enough for its ticks
  const width = document.getElementById('heatmap-plot')?.clientWidth || 800;
  const narrow = width < 600;
  const column = ((width - 90) * (1 - left)) / Math.max(nTissues, 1);
  const tissueFont = narrow ? Math.max(7, Math.min(11, Math.floor(column) - 2)) : 12;
  draw('heatmap-plot', traces, {
    margin: { l: 10, r: 20, t: 10, b: 110 },
    xaxis: { domain: [left, 1], range: xRange, tickmode: 'array', tickvals: data.tissues.map((_, i) => i),
      ticktext: data.tissue_names, tickangle: narrow ? -90 : -40, showgrid: false, zeroline: false,
      tickfont: { size: tissueFont } },
    yaxis: { domain: [0, 1 - top], range: yRange, tickmode: 'array', tickvals: data.genes.map((_, i) => i),
      ticktext: data.gene_names, side: 'right', showgrid: false, zeroline: false, automargin: true,
      tickfont: { size: nGenes > 60 ? 8 : 11 } },
    xaxis2: { domain: [left, 1], range: xRange, visible: false, anchor: 'y2' },
    yaxis2: { domain: [1 - top + 0.01, 1], visible: false, anchor: 'x2', rangemode: 'tozero' },
    xaxis3: { domain: [0, Math.max(left - 0.01, 0)], visible: false, autorange: 'reversed', anchor: 'y3' },
    yaxis3: { domain: [0, 1 - top], range: yRange, visible: false, anchor: 'x3' },
  }, {
    height,
    title: `Median expression (${label}) · ${nGenes} genes × ${nTissues} tissues`,
    onClick: (event) => {
      const p = event.points?.[0];
      if (p && p.data.type === 'heatmap') window.location.assign(geneURL(data.genes[p.y]));
    },
  });
}

heatmap();
