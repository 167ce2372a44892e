// Sortable, filterable tables with TSV download of the rows shown. The server renders every table (pages
// work without JavaScript); this module adds, to each <table class="data" data-sortable>:
//  - sort buttons in the headers (numbers by value, missing values last; aria-sort tells the order),
//  - a value filter for each header marked data-filter, and a free-text filter,
//  - a "TSV" button that downloads the rows currently shown, in the order shown, with raw values (a cell
//    joining two columns, its header naming both in data-tsv-keys, gives back its two tab-separated values);
//  - to every <table class="data"> with secondary columns (class "more"), a "More columns" button: they are
//    hidden until it is pressed (without JavaScript every column shows).

function cellValue(cell) {
  return cell.dataset.v !== undefined ? cell.dataset.v : cell.textContent.trim();
}

// The text a row is searched in: what it shows and its raw values (full ids of shortened cells).
function rowText(row) {
  if (row.searchText === undefined) {
    const raw = [...row.cells].map((c) => c.dataset.v ?? '').join(' ');
    row.searchText = `${row.textContent} ${raw}`.toLowerCase();
  }
  return row.searchText;
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
      if (ok && needle) ok = rowText(row).includes(needle);
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
      const width = headers.map((h) => (h.dataset.tsvKeys ? h.dataset.tsvKeys.split(' ').length : 1));
      const fields = (cell, index) => {
        if (width[index] === 1) return [tsvField(cellValue(cell))];
        const parts = cellValue(cell).split('\t');
        return Array.from({ length: width[index] }, (_, i) => tsvField(parts[i] ?? ''));
      };
      const names = headers.flatMap((h) => (h.dataset.tsvKeys ? h.dataset.tsvKeys.split(' ') : [h.dataset.key || h.textContent]));
      const lines = [names.map(tsvField).join('\t')];
      for (const row of body.rows) {
        if (!row.hidden) lines.push([...row.cells].flatMap(fields).join('\t'));
      }
      download(`${table.dataset.tsvName || table.id}.tsv`, `${lines.join('\n')}\n`);
    });
    tools.append(tsv);
  }
}

// The "More columns" toggle of a table with secondary columns, in its tools (before the TSV button).
function moreColumns(table) {
  const tools = document.querySelector(`.table-tools[data-for="${table.id}"]`);
  const secondary = table.tHead?.rows[0]?.querySelectorAll('th.more') ?? [];
  if (!tools || !secondary.length) return;
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'btn btn-small btn-ghost more-toggle';
  button.dataset.more = table.id;
  button.setAttribute('aria-controls', table.id);
  const names = [...secondary].map((th) => th.textContent.trim()).join(', ');
  button.title = `Show or hide: ${names}`;
  const show = (more) => {
    table.classList.toggle('less', !more);
    button.setAttribute('aria-pressed', String(more));
    button.textContent = more ? 'Fewer columns' : `More columns (${secondary.length})`;
  };
  button.addEventListener('click', () => show(table.classList.contains('less')));
  show(false);
  tools.insertBefore(button, tools.querySelector('button[data-tsv]'));
}

export function initTables(root = document) {
  for (const table of root.querySelectorAll('table.data[data-sortable]')) enhance(table);
  for (const table of root.querySelectorAll('table.data')) moreColumns(table);
}
