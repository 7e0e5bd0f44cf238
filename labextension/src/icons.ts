import { LabIcon } from '@jupyterlab/ui-components';

// `jp-icon3` lets the theme recolour an icon.

/** The side panel's icon: a play button in a circle (the runs the executor keeps). */
const executorSvg = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm0 2a8 8 0 1 1 0 16 8 8 0 0 1 0-16z"/>
    <path d="M10 7.5v9l7-4.5z"/>
  </g>
</svg>`;

export const executorIcon = new LabIcon({
  name: 'notebook-executor:executor',
  svgstr: executorSvg
});

/**
 * The Execute command's icon: a paper plane (the notebook is sent off to run), unlike the
 * panel's and unlike the notebook toolbar's own run triangle.
 */
const executeSvg = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M2.5 20.5 22 12 2.5 3.5v6.6L16 12 2.5 13.9z"/>
  </g>
</svg>`;

export const executeIcon = new LabIcon({
  name: 'notebook-executor:execute',
  svgstr: executeSvg
});

/** Three vertical dots: a row's "more actions" menu. */
const moreSvg = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <circle cx="12" cy="5" r="2"/><circle cx="12" cy="12" r="2"/><circle cx="12" cy="19" r="2"/>
  </g>
</svg>`;

export const moreIcon = new LabIcon({
  name: 'notebook-executor:more',
  svgstr: moreSvg
});
