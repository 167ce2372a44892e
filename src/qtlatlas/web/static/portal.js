// Enhancements shared by every page: marks the document as scripted, switches release as soon as one is
// chosen, and sets up the search autocomplete and the sortable/filterable tables.
import { initAutocomplete } from './autocomplete.js';
import { initTables } from './tables.js';

document.documentElement.classList.add('js');
for (const select of document.querySelectorAll('select[data-autosubmit]')) {
  select.addEventListener('change', () => select.form.submit());
}
document.querySelectorAll('input[data-autocomplete]').forEach(initAutocomplete);
initTables(document);
