// Dashboard: one small violin plot per gene–variant pair × tissue (data embedded).
import { draw, readJSON, violins } from './plots.js';

const data = readJSON('dashboard-data');

data.rows.forEach((row, r) => {
  row.cells.forEach((cell, c) => {
    if (cell.problem || !cell.groups) return;
    const labels = [`${cell.ref}/${cell.ref}`, `${cell.ref}/${cell.alt}`, `${cell.alt}/${cell.alt}`];
    const traces = violins(labels.map((label, i) => ({ label, values: cell.groups[i] })),
      { colours: [cell.colour, cell.colour, cell.colour] });
    draw(`dash-${r}-${c}`, traces, {
      margin: { l: 45, r: 10, t: 8, b: 30 },
      yaxis: { zeroline: false, title: { text: cell.value_kind === 'tpm' ? cell.value_unit || 'TPM' : 'normalised', font: { size: 10 } } },
      violingap: 0.3,
    }, { height: 240 });
  });
});
