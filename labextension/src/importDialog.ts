// The import dialog's body: what importing does, and the kernel to open the copy with
// (asked, as the original asks).

import { Dialog } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';
import { IExecution, IKernel } from './api';
import { defaultImportKernel } from './importing';

/** The import dialog's body: what happens, and the kernel to open the copy with ('' for the notebook's own). */
export class ImportBody extends Widget implements Dialog.IBodyWidget<string> {
  constructor(e: IExecution, kernels: IKernel[], trans: TranslationBundle) {
    super();
    this.addClass('nx-ImportBody');
    const what = document.createElement('p');
    what.textContent = trans.__('Copies the executed notebook of "%1" into %2 and opens it.', e.display_name, 'imported_notebook_jobs/');
    const label = document.createElement('label');
    label.textContent = trans.__('Open it with the kernel');
    this.select = document.createElement('select');
    this.select.className = 'jp-mod-styled nx-ImportKernel';
    const own = document.createElement('option');
    own.value = '';
    own.textContent = trans.__("The notebook's kernel");
    this.select.appendChild(own);
    for (const k of kernels) {
      const option = document.createElement('option');
      option.value = k.name;
      option.textContent = k.display_name;
      this.select.appendChild(option);
    }
    this.select.value = defaultImportKernel(e, kernels);
    label.appendChild(this.select);
    this.node.append(what, label);
  }

  getValue(): string {
    return this.select.value;
  }

  private select: HTMLSelectElement;
}
