/**
 * What the browser tests share: where notebooks and screenshots are, and the ways to the
 * panel, the dialog and a row's menu.
 */
import { expect, IJupyterLabPageFixture } from '@jupyterlab/galata';
import { Locator, Page } from '@playwright/test';
import * as path from 'path';

export const SHOTS = path.join(__dirname, '..', 'artifacts', 'screenshots');
export const NOTEBOOKS = path.join(__dirname, '..', 'notebooks');
export const EXAMPLES = path.join(__dirname, '..', '..', 'examples');

export async function upload(page: IJupyterLabPageFixture, tmpPath: string, name: string, from = NOTEBOOKS): Promise<string> {
  const target = `${tmpPath}/${name}`;
  await page.contents.uploadFile(path.join(from, name), target);
  return target;
}

export function panel(page: Page) {
  return page.locator('#notebook-executor-panel');
}

export async function openPanel(page: IJupyterLabPageFixture, tab: 'Executions' | 'Schedules') {
  if (!(await panel(page).isVisible())) {
    await page.locator('.jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id="notebook-executor-panel"]').click();
  }
  await panel(page).getByRole('tab', { name: tab }).click();
}

export function dialog(page: Page) {
  return page.locator('.nx-SubmitDialog');
}

export function executeButton(page: Page) {
  return page.locator('.jp-NotebookPanel:visible .jp-NotebookPanel-toolbar [data-jp-item-name="notebook-executor-execute"] jp-button');
}

export async function openDialogFromToolbar(page: IJupyterLabPageFixture, notebookPath: string) {
  await page.notebook.openByPath(notebookPath);
  await page.notebook.activate(path.basename(notebookPath));
  await executeButton(page).click();
  await expect(dialog(page)).toBeVisible();
}

/** Picks an entry of a row's "more" menu. */
export async function rowAction(page: Page, row: Locator, label: string) {
  await row.locator('.nx-MoreButton').click();
  await page.locator('.nx-RowMenu .lm-Menu-item', { hasText: label }).click();
}

