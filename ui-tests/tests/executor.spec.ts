/**
 * The extension in a real JupyterLab (Debian chromium): the Execute button and dialog,
 * the panel's Executions and Schedules tabs, results, import and share links.
 * Screenshots of the dialog and both tabs, light and dark (and both tabs in high contrast),
 * go to artifacts/screenshots/.
 */
import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import { Page } from '@playwright/test';
import * as path from 'path';

const SHOTS = path.join(__dirname, '..', 'artifacts', 'screenshots');
const NOTEBOOKS = path.join(__dirname, '..', 'notebooks');

async function upload(page: IJupyterLabPageFixture, tmpPath: string, name: string): Promise<string> {
  const target = `${tmpPath}/${name}`;
  await page.contents.uploadFile(path.join(NOTEBOOKS, name), target);
  return target;
}

function panel(page: Page) {
  return page.locator('#notebook-executor-panel');
}

async function openPanel(page: IJupyterLabPageFixture, tab: 'Executions' | 'Schedules') {
  if (!(await panel(page).isVisible())) {
    await page.locator('.jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id="notebook-executor-panel"]').click();
  }
  await panel(page).getByRole('tab', { name: tab }).click();
}

function dialog(page: Page) {
  return page.locator('.nx-SubmitDialog');
}

async function openDialogFromToolbar(page: IJupyterLabPageFixture, notebookPath: string) {
  await page.notebook.openByPath(notebookPath);
  await page.notebook.activate(path.basename(notebookPath));
  await page.locator('.jp-NotebookPanel-toolbar [data-jp-item-name="notebook-executor-execute"] button').click();
  await expect(dialog(page)).toBeVisible();
}

test.describe('Notebook Executor', () => {
  test('execute a notebook with a changed parameter, watch it succeed, view, import', async ({ page, tmpPath, context }) => {
    const nb = await upload(page, tmpPath, 'train.ipynb');
    await openDialogFromToolbar(page, nb);
    const d = dialog(page);
    await expect(d.locator('#nx-display-name')).toHaveValue('train');
    await d.getByText('Advanced options').click();
    // Prefilled from the notebook's parameters cell.
    const lr = d.locator('input[data-parameter="learning_rate"]');
    await expect(lr).toHaveValue('0.001');
    await expect(d.locator('input[data-parameter="optimizer"]')).toHaveValue('"Adam"');
    await lr.fill('0.25');
    await page.screenshot({ path: path.join(SHOTS, 'dialog-light.png') });
    await d.getByRole('button', { name: 'Submit' }).click();
    await expect(d).toBeHidden();

    await openPanel(page, 'Executions');
    const row = panel(page).locator('.nx-Item').filter({ hasText: 'train' }).first();
    await expect(row.locator('.nx-Badge')).toHaveAttribute('data-state', 'SUCCEEDED', { timeout: 60_000 });
    await page.screenshot({ path: path.join(SHOTS, 'executions-light.png') });

    // The result opens in a new browser tab, rendered, with the new parameter's effect.
    const [result] = await Promise.all([context.waitForEvent('page'), row.getByRole('button', { name: 'View result' }).click()]);
    await result.waitForLoadState();
    await expect(result.locator('body')).toContainText('trained with Adam at lr=0.25');
    await result.close();

    // Import: the executed notebook opens from imported_notebook_jobs/.
    await row.getByRole('button', { name: 'Import' }).click();
    await expect(page.locator('.jp-mod-current .lm-TabBar-tabLabel, .lm-DockPanel-tabBar .lm-mod-current .lm-TabBar-tabLabel').first()).toContainText('train');
    expect(await page.contents.directoryExists('imported_notebook_jobs')).toBe(true);
    const imported = await page.evaluate(async () => {
      const r = await fetch('/api/contents/imported_notebook_jobs');
      return (await r.json()).content.map((f: any) => f.path);
    });
    expect(imported.some((p: string) => p.startsWith('imported_notebook_jobs/train'))).toBe(true);
    await expect(page.locator('.jp-NotebookPanel:visible .jp-OutputArea-output').first()).toContainText('lr=0.25');
  });

  test('a failing notebook shows FAILED with the error', async ({ page, tmpPath }) => {
    const nb = await upload(page, tmpPath, 'broken.ipynb');
    await page.filebrowser.openDirectory(tmpPath);
    await page.locator('.jp-DirListing-item[data-file-type="notebook"]', { hasText: 'broken.ipynb' }).click({ button: 'right' });
    await page.locator('.lm-Menu-item[data-command="notebook-executor:execute-file"]').click();
    await expect(dialog(page)).toBeVisible();
    await dialog(page).getByRole('button', { name: 'Submit' }).click();
    await openPanel(page, 'Executions');
    const row = panel(page).locator('.nx-Item').filter({ hasText: 'broken' }).first();
    await expect(row.locator('.nx-Badge')).toHaveAttribute('data-state', 'FAILED', { timeout: 60_000 });
    await expect(row.locator('.nx-StateMessage')).toContainText('the data is missing');
    void nb;
  });

  test('a schedule from the builder: preview, pause, resume, run now, delete keeps its runs', async ({ page, tmpPath }) => {
    const nb = await upload(page, tmpPath, 'train.ipynb');
    await openDialogFromToolbar(page, nb);
    const d = dialog(page);
    await d.getByLabel('Schedule-based recurring executions').check();
    await d.locator('#nx-frequency').selectOption('weekly');
    await d.getByLabel('Wed').check();
    await d.locator('#nx-time').fill('07:30');
    await expect(d.locator('#nx-cron')).toHaveValue('30 7 * * 1,3');
    await expect(d.getByText('Weekly on Mon, Wed at 07:30')).toBeVisible();
    await d.locator('#nx-time-zone').selectOption('Europe/Paris');
    await expect(d.locator('.nx-Preview li')).toHaveCount(3);
    await expect(d.locator('.nx-Preview li').first()).toContainText('07:30:00+0');
    await d.locator('#nx-display-name').fill('weekly training');
    await page.screenshot({ path: path.join(SHOTS, 'dialog-schedule-light.png') });
    await d.getByRole('button', { name: 'Submit' }).click();
    await expect(d).toBeHidden();

    await openPanel(page, 'Schedules');
    const row = panel(page).locator('.nx-Item').filter({ hasText: 'weekly training' });
    await expect(row).toContainText('Weekly on Mon, Wed at 07:30');
    await expect(row).toContainText('Europe/Paris');
    await expect(row.locator('.nx-Badge').first()).toHaveAttribute('data-state', 'ENABLED');
    await row.getByRole('button', { name: 'Pause' }).click();
    await expect(row.locator('.nx-Badge').first()).toHaveAttribute('data-state', 'PAUSED');
    await row.getByRole('button', { name: 'Resume' }).click();
    await expect(row.locator('.nx-Badge').first()).toHaveAttribute('data-state', 'ENABLED');

    await row.getByRole('button', { name: 'Run now' }).click();
    await page.locator('.nx-RunNowParameters').fill('learning_rate=0.5');
    await page.locator('.jp-Dialog').getByRole('button', { name: 'Run' }).click();
    await openPanel(page, 'Executions');
    const run = panel(page).locator('.nx-Item').filter({ hasText: 'weekly training' }).first();
    await expect(run.locator('.nx-Badge')).toHaveAttribute('data-state', 'SUCCEEDED', { timeout: 60_000 });

    await openPanel(page, 'Schedules');
    await expect(row.locator('.nx-Badge[data-state="SUCCEEDED"]')).toBeVisible({ timeout: 10_000 });
    await page.screenshot({ path: path.join(SHOTS, 'schedules-light.png') });
    await row.getByRole('button', { name: 'Delete' }).click();
    await expect(page.locator('.jp-Dialog')).toContainText('executions are kept');
    await page.locator('.jp-Dialog').getByRole('button', { name: 'Delete' }).click();
    await expect(row).toHaveCount(0);
    await openPanel(page, 'Executions');
    await expect(panel(page).locator('.nx-Item').filter({ hasText: 'weekly training' })).toHaveCount(1);
  });

  test('a share link opens in a fresh browser context without a token', async ({ page, tmpPath, browser }) => {
    const nb = await upload(page, tmpPath, 'train.ipynb');
    await openDialogFromToolbar(page, nb);
    await dialog(page).locator('#nx-display-name').fill('shared run');
    await dialog(page).getByRole('button', { name: 'Submit' }).click();
    await openPanel(page, 'Executions');
    const row = panel(page).locator('.nx-Item').filter({ hasText: 'shared run' }).first();
    await expect(row.locator('.nx-Badge')).toHaveAttribute('data-state', 'SUCCEEDED', { timeout: 60_000 });
    await row.getByRole('button', { name: 'Share' }).click();
    await page.getByRole('button', { name: 'Create link' }).click();
    const link = await page.getByLabel('Share link').inputValue();
    expect(link).toContain('/notebook-executor/shared/');
    const stranger = await browser.newContext();
    const view = await stranger.newPage();
    const response = await view.goto(link);
    expect(response?.status()).toBe(200);
    await expect(view.locator('body')).toContainText('trained with Adam');
    await stranger.close();
    await page.locator('.jp-Dialog').getByRole('button', { name: 'Revoke' }).click();
    await expect(page.locator('.jp-Dialog')).toContainText('No live links.');
    const again = await browser.newContext();
    expect((await (await again.newPage()).goto(link))?.status()).toBe(404);
    await again.close();
    await page.locator('.jp-Dialog').getByRole('button', { name: 'Close' }).click();
  });

  test('unsaved changes are flagged, and can be saved from the dialog', async ({ page, tmpPath }) => {
    const nb = await upload(page, tmpPath, 'train.ipynb');
    await page.notebook.openByPath(nb);
    await page.notebook.activate('train.ipynb');
    await page.notebook.setCell(1, 'code', 'print("edited")');
    await page.locator('.jp-NotebookPanel-toolbar [data-jp-item-name="notebook-executor-execute"] button').click();
    const d = dialog(page);
    await expect(d.locator('.nx-Warning')).toContainText('unsaved changes');
    await d.getByRole('button', { name: 'Save now' }).click();
    await expect(d.locator('.nx-Warning')).toHaveCount(0);
    const saved = await page.evaluate(async p => (await (await fetch(`/api/contents/${p}`)).json()).content.cells[1].source, nb);
    expect(saved).toBe('print("edited")');
    await d.locator('.nx-Footer').getByRole('button', { name: 'Cancel' }).click();
  });

  test('a schedule is edited from the panel', async ({ page, tmpPath }) => {
    const nb = await upload(page, tmpPath, 'train.ipynb');
    await page.evaluate(async p => {
      const r = await fetch('/notebook-executor/api/v1/schedules', {
        method: 'POST',
        body: JSON.stringify({ display_name: 'to edit', cron_schedule: '0 9 * * *', time_zone: 'UTC', execution_template: { input_notebook: p } })
      });
      if (r.status !== 201) {
        throw new Error(await r.text());
      }
    }, nb);
    await openPanel(page, 'Schedules');
    await panel(page).getByRole('button', { name: 'Refresh' }).click();
    const row = panel(page).locator('.nx-Item').filter({ hasText: 'to edit' });
    await expect(row).toContainText('Daily at 09:00');
    await row.getByRole('button', { name: 'Edit' }).click();
    const d = dialog(page);
    await expect(d).toContainText('Edit schedule');
    await expect(d.locator('#nx-cron')).toHaveValue('0 9 * * *');
    await d.locator('#nx-frequency').selectOption('weekdays');
    await d.locator('#nx-time').fill('06:15');
    await d.getByRole('button', { name: 'Save' }).click();
    await expect(d).toBeHidden();
    await expect(row).toContainText('Weekdays at 06:15');
    await expect(row).toContainText('15 6 * * 1-5');
  });

  test('screenshots in the dark and high-contrast themes', async ({ page, tmpPath }) => {
    const nb = await upload(page, tmpPath, 'train.ipynb');
    await page.evaluate(async p => {
      await fetch('/notebook-executor/api/v1/schedules', {
        method: 'POST',
        body: JSON.stringify({ display_name: 'nightly report', cron_schedule: '0 2 * * *', execution_template: { input_notebook: p } })
      });
    }, nb);
    await page.theme.setDarkTheme();
    await openDialogFromToolbar(page, nb);
    await dialog(page).getByText('Advanced options').click();
    await page.screenshot({ path: path.join(SHOTS, 'dialog-dark.png') });
    await dialog(page).locator('.nx-Footer').getByRole('button', { name: 'Cancel' }).click();
    await openPanel(page, 'Executions');
    await page.screenshot({ path: path.join(SHOTS, 'executions-dark.png') });
    await openPanel(page, 'Schedules');
    await panel(page).getByRole('button', { name: 'Refresh' }).click();
    await expect(panel(page).locator('.nx-Item').filter({ hasText: 'nightly report' })).toBeVisible();
    await page.screenshot({ path: path.join(SHOTS, 'schedules-dark.png') });
    // JupyterLab's own high-contrast theme: the panel uses only its CSS variables.
    await page.theme.setTheme('JupyterLab Dark High Contrast');
    await expect(panel(page).locator('.nx-Item').filter({ hasText: 'nightly report' })).toBeVisible();
    await page.screenshot({ path: path.join(SHOTS, 'schedules-high-contrast.png') });
    await openPanel(page, 'Executions');
    await page.screenshot({ path: path.join(SHOTS, 'executions-high-contrast.png') });
    await page.theme.setLightTheme();
  });
});
