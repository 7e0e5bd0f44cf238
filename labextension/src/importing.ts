// Importing an executed notebook: the kernel offered to open the copy with, and the result
// page's link back into JupyterLab.

import type { IExecution, IKernel } from './api';

/** The query parameter of the result page's import link (`{base}lab?notebook-executor-import=ID`, written by src/render/header.rs). */
export const IMPORT_LINK_PARAMETER = 'notebook-executor-import';

/** The execution an import link names, from a URL's query (`?a=1&notebook-executor-import=ID`); '' for none. */
export function importLinkExecution(search: string): string {
  const id = new URLSearchParams(search.startsWith('?') ? search : `?${search}`).get(IMPORT_LINK_PARAMETER) ?? '';
  return /^[0-9A-Za-z_-]+$/.test(id) ? id : '';
}

/** The URL without the import link's parameter (so that a reload does not import again). */
export function withoutImportLink(href: string): string {
  const url = new URL(href);
  url.searchParams.delete(IMPORT_LINK_PARAMETER);
  return url.toString();
}

/**
 * The kernel offered first: the one the execution ran on, when the server has it; else the
 * notebook's own ('').
 */
export function defaultImportKernel(e: Pick<IExecution, 'kernel_name'>, kernels: IKernel[]): string {
  return kernels.some(k => k.name === e.kernel_name) ? e.kernel_name : '';
}
