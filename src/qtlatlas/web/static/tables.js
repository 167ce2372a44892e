// Sortable, filterable tables with TSV download of the rows shown. The server renders every table (pages
// work without JavaScript); this module adds, to each <table class="data" data-sortable>:
//  - sort buttons in the headers (numbers by value, missing values last; aria-sort tells the order),
//  - a value filter for each header marked data-filter, and a free-text filter,
//  - a "TSV" button that downloads the rows currently shown, in the order shown, with raw values.

function cellValue(cell) {
  return cell.dataset.v !== undefined ? cell.dataset.v : cell.textContent.trim();
}

function compare(numeric) {
  return (a, b) => {
    if (numeric) {
      const x = parseFloat(a);
      const y = parseFloat(b);
      const nx = Number.isNaN(x);
      const ny = Number.isNaN(y);
      if (nx || ny) return nx === ny ? 0 : nx ? 1 : -1;
      return x - y;
    }
    if (a === '' || b === '') return a === b ? 0 : a === '' ? 1 : -1;
    return a.localeCompare(b, undefined, { numeric: true, sensitivity: 'base' });
  };
}

function tsvField(text) {
  return String(text).replace(/[\t\r\n]+/g, ' ');
}

function download(name, text) {
  const blob = new Blob([text], { type: 'text/tab-separated-values' });
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.append(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
}

function enhance(table) {
  const headers = [...table.tHead.rows[0].cells];
  const body = table.tBodies[0];
  const rows = [...body.rows];
  const tools = document.querySelector(`.table-tools[data-for="${table.id}"]`);
  const count = tools?.querySelector('.table-count');
  const serverCount = count ? count.textContent : '';
  const filters = [];
  let text = '';

  function apply() {
    let shown = 0;
    const needle = text.toLowerCase();
    for (const row of rows) {
      let ok = filters.every(({ index, select }) => !select.value || cellValue(row.cells[index]) === select.value);
      if (ok && needle) ok = row.textContent.toLowerCase().includes(needle);
      row.hidden = !ok;
      if (ok) shown += 1;
    }
    if (count) {
      count.textContent = shown === rows.length ? serverCount : `${shown.toLocaleString()} of ${serverCount} shown`;
    }
  }

  headers.forEach((th, index) => {
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = th.textContent;
    button.setAttribute('aria-label', `Sort by ${th.textContent}`);
    th.replaceChildren(button);
    button.addEventListener('click', () => {
      const ascending = th.getAttribute('aria-sort') !== 'ascending';
      headers.forEach((h) => h.removeAttribute('aria-sort'));
      th.setAttribute('aria-sort', ascending ? 'ascending' : 'descending');
      const cmp = compare(th.dataset.type === 'num');
      const sorted = [...body.rows].sort((a, b) => {
        const r = cmp(cellValue(a.cells[index]), cellValue(b.cells[index]));
        return ascending ? r : -r;
      });
      body.append(...sorted);
    });
  });

  if (tools) {
    headers.forEach((th, index) => {
      if (!th.hasAttribute('data-filter')) return;
      const values = [...new Set(rows.map((r) => cellValue(r.cells[index])))].filter((v) => v !== '').sort();
      if (values.length < 2) return;
      const select = document.createElement('select');
      select.setAttribute('aria-label', `Filter ${table.id} by ${th.textContent}`);
      select.dataset.filterKey = th.dataset.key;
      const all = document.createElement('option');
      all.value = '';
      all.textContent = `All: ${th.textContent.toLowerCase()}`;
      select.append(all, ...values.map((v) => {
        const o = document.createElement('option');
        o.value = v;
        o.textContent = v;
        return o;
      }));
      select.addEventListener('change', apply);
      filters.push({ index, select });
      tools.append(select);
    });
    if (rows.length > 5) {
      const input = document.createElement('input');
      input.type = 'search';
      input.placeholder = 'Filter rows';
      input.setAttribute('aria-label', `Filter the rows of ${table.id}`);
      input.addEventListener('input', () => { text = input.value.trim(); apply(); });
      tools.append(input);
    }
    const tsv = document.createElement('button');
    tsv.type = 'button';
    tsv.className = 'btn btn-small btn-ghost';
    tsv.dataset.tsv = table.id;
    tsv.textContent = 'TSV';
    tsv.setAttribute('aria-label', `Download the rows shown in ${table.id} as TSV`);
    tsv.addEventListener('click', () => {
      const lines = [headers.map((h) => tsvField(h.dataset.key || h.textContent)).join('\t')];
      for (const row of body.rows) {
        if (!row.hidden) lines.push([...row.cells].map((c) => tsvField(cellValue(c))).join('\t'));
      }
      download(`${table.dataset.tsvName || table.id}.tsv`, `${lines.join('\n')}\n`);
    });
    tools.append(tsv);
  }
}

export function initTables(root = document) {
  for (const table of root.querySelectorAll('table.data[data-sortable]')) enhance(table);
}
