// Search box autocomplete (ARIA combobox with a listbox): tissues whose id, name or abbreviation has a word
// starting with the text, genes by symbol or id prefix from the API, a variant when the text is an rsID or a position (checked against the API), variants whose rsID starts with the
// text or that lie at/after a chr:pos (the API's variant search), a region for chr:start-end.
// Enter on a suggestion opens it; Enter without one submits the form to /search, which resolves the text.
import { pageURL } from './plots.js';

const REGION = /^[A-Za-z0-9_.]{1,40}:[\d,]+-[\d,]+$/;
const VARIANT = /^(rs\d+|[A-Za-z0-9.]{1,40}[:_]\d[\d,]*([:_][A-Za-z*]+[:_/>][A-Za-z*,]+)?)$/i;
// The start of an rsID (rs and at least three digits) or a position (chr:pos): variants by prefix or at/after it.
const PARTIAL_VARIANT = /^(rs\d{3,}|[A-Za-z0-9.]{1,40}:\d+)$/i;
let counter = 0;
let tissueList = null; // the release's tissues, fetched once per page

function tissues(release) {
  if (!tissueList) {
    tissueList = fetch(`/api/v1/tissues?${new URLSearchParams({ release })}`)
      .then((r) => (r.ok ? r.json() : { data: [] })).then((body) => body.data)
      .catch(() => { tissueList = null; return []; });
  }
  return tissueList;
}

// Tissues matching the text: the start of a word of their id, name or abbreviation (case-insensitive).
export function matchTissues(all, q) {
  const needle = q.trim().toLowerCase();
  if (needle.length < 2) return [];
  const words = (t) => [t.tissue_id, t.name, t.abbreviation].filter(Boolean)
    .flatMap((s) => [s.toLowerCase(), ...s.toLowerCase().split(/[\s_()-]+/)]);
  return all.filter((t) => words(t).some((w) => w.startsWith(needle)));
}

function variantOption(options, v) {
  if (options.some((o) => o.label === v.variant_id)) return;
  options.push({ label: v.variant_id, hint: `variant ${v.chrom}:${v.pos.toLocaleString()} ${v.ref}>${v.alt}`,
    href: pageURL(`/variant/${encodeURIComponent(v.variant_id)}`) });
}

function option(list, { label, hint, href }) {
  const li = document.createElement('li');
  counter += 1;
  li.id = `${list.id}-opt-${counter}`;
  li.setAttribute('role', 'option');
  li.setAttribute('aria-selected', 'false');
  li.dataset.href = href;
  const main = document.createElement('span');
  main.textContent = label;
  li.append(main);
  if (hint) {
    const small = document.createElement('span');
    small.className = 'hint';
    small.textContent = hint;
    li.append(small);
  }
  return li;
}

export function initAutocomplete(input) {
  const combo = input.closest('.combo') || input.parentElement;
  const list = document.createElement('ul');
  list.id = `${input.id}-list`;
  list.className = 'combo-list';
  list.setAttribute('role', 'listbox');
  list.setAttribute('aria-label', 'Suggestions');
  list.hidden = true;
  combo.append(list);
  input.setAttribute('role', 'combobox');
  input.setAttribute('aria-autocomplete', 'list');
  input.setAttribute('aria-expanded', 'false');
  input.setAttribute('aria-controls', list.id);

  let active = -1;
  let controller = null;
  let timer = null;
  const release = document.body.dataset.release;

  const items = () => [...list.querySelectorAll('[role="option"]')];
  function close() {
    list.hidden = true;
    input.setAttribute('aria-expanded', 'false');
    input.removeAttribute('aria-activedescendant');
    active = -1;
  }
  function highlight(i) {
    const all = items();
    if (!all.length) return;
    active = (i + all.length) % all.length;
    all.forEach((el, k) => el.setAttribute('aria-selected', String(k === active)));
    input.setAttribute('aria-activedescendant', all[active].id);
    all[active].scrollIntoView({ block: 'nearest' });
  }
  function show(options) {
    list.replaceChildren(...options.map((o) => option(list, o)));
    active = -1;
    if (options.length) {
      list.hidden = false;
      input.setAttribute('aria-expanded', 'true');
    } else close();
  }

  async function suggest() {
    const q = input.value.trim();
    if (controller) controller.abort();
    if (!q) { close(); return; }
    controller = new AbortController();
    const { signal } = controller;
    const options = [];
    const query = (params) => new URLSearchParams({ ...params, release }).toString();
    try {
      if (REGION.test(q.replace(/\s/g, ''))) {
        options.push({ label: `Region ${q}`, hint: 'QTL browser', href: pageURL('/qtls', { region: q.replace(/\s/g, '') }) });
      }
      if (VARIANT.test(q)) {
        const r = await fetch(`/api/v1/variants/${encodeURIComponent(q)}?${query({})}`, { signal });
        if (r.ok) variantOption(options, (await r.json()).data);
      }
      if (PARTIAL_VARIANT.test(q.replace(/,/g, ''))) {
        const r = await fetch(`/api/v1/variants/search?${query({ q: q.replace(/,/g, ''), limit: 5 })}`, { signal });
        if (r.ok) for (const v of (await r.json()).data) variantOption(options, v);
      }
      for (const t of matchTissues(await tissues(release), q).slice(0, 3)) {
        options.push({ label: t.name || t.tissue_id, hint: `tissue ${t.tissue_id} · ${t.n_samples} samples`,
          href: pageURL(`/tissue/${encodeURIComponent(t.tissue_id)}`) });
      }
      const r = await fetch(`/api/v1/genes/search?${query({ q, limit: 8 })}`, { signal });
      if (r.ok) {
        for (const g of (await r.json()).data) {
          const name = g.gene_name || g.gene_id;
          options.push({ label: name, hint: `${g.gene_id} · ${g.chrom}:${Number(g.tss).toLocaleString()}`,
            href: pageURL(`/gene/${encodeURIComponent(name)}`) });
        }
      }
    } catch (error) {
      if (error.name === 'AbortError') return;
    }
    if (input.value.trim() === q) show(options);
  }

  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(suggest, 120);
  });
  input.addEventListener('keydown', (event) => {
    if (event.key === 'ArrowDown') {
      event.preventDefault();
      if (list.hidden) { suggest(); return; }
      highlight(active + 1);
    } else if (event.key === 'ArrowUp') {
      event.preventDefault();
      highlight(active - 1);
    } else if (event.key === 'Enter' && active >= 0 && !list.hidden) {
      event.preventDefault();
      window.location.assign(items()[active].dataset.href);
    } else if (event.key === 'Escape') {
      close();
    }
  });
  list.addEventListener('mousedown', (event) => {
    const li = event.target.closest('[role="option"]');
    if (li) {
      event.preventDefault();
      window.location.assign(li.dataset.href);
    }
  });
  input.addEventListener('blur', () => setTimeout(close, 150));
}
