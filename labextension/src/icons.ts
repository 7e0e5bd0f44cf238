import { LabIcon } from '@jupyterlab/ui-components';

/** A play button in a circle. `jp-icon3` lets the theme recolour it. */
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
