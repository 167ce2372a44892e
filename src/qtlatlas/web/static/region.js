// The region view: every tested pair of a region drawn by regional.js from the page's embedded payload,
// coloured by r² with the reference (a click on a point makes it the reference) or by phenotype; the colour
// select redraws without reloading the page.
import { message, readJSON } from './plots.js';
import { interactiveRegional } from './regional.js';

const data = readJSON('region-data');
const colour = document.getElementById('r-colour');
const tissue = document.getElementById('r-tissue');

if (data) {
  if (!data.variants.id.length) message('region-plot', 'No tested pair in this region for this tissue and modality.');
  else {
    const plot = interactiveRegional('region-plot', data, {
      tissue: data.tissue, tissueName: tissue?.selectedOptions[0]?.textContent ?? data.tissue,
      status: document.getElementById('region-status'),
      colourBy: () => colour?.value || 'ld',
    });
    plot.redraw();
    colour?.addEventListener('change', () => {
      plot.redraw();
      const url = new URL(window.location.href);
      url.searchParams.set('colour', colour.value);
      window.history.replaceState(null, '', url);
    });
  }
}
