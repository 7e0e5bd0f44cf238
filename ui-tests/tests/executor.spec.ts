/**
 * The extension in a real JupyterLab (Debian chromium): the Execute button and dialog,
 * the panel's Executions and Schedules tabs, result pages, import and share links.
 * Screenshots of the dialog, both tabs of the panel and result pages, light and dark (and
 * high contrast), go to artifacts/screenshots/.
 *
 * The browser runs in Europe/Paris, so that "the browser's zone" is a known one and
 * differs from the zones the schedules are given.
 */
import { expect, galata, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import { Locator, Page } from '@playwright/test';
import * as path from 'path';
import { dialog, EXAMPLES, executeButton, openDialogFromToolbar, openPanel, panel, rowAction, SHOTS, upload } from './helpers';

test.use({ timezoneId: 'Europe/Paris' });

/** Every part of `row` lies inside the panel (nothing cut off or hidden by its width). */
async function expectInsidePanel(page: Page, parts: Locator[]) {
  const box = (await panel(page).boundingBox())!;
  for (const part of parts) {
    const b = (await part.boundingBox())!;
    expect(b.x).toBeGreaterThanOrEqual(box.x);
    expect(b.x + b.width).toBeLessThanOrEqual(box.x + box.width);
  }
}

/** Drags the left sidebar's edge to make the panel `width` pixels wide. */
async function resizePanel(page: Page, width: number) {
  const box = (await panel(page).boundingBox())!;
  const handle = page.locator('#jp-main-split-panel > .lm-SplitPanel-handle').first();
  const h = (await handle.boundingBox())!;
  await page.mouse.move(h.x + h.width / 2, h.y + h.height / 2);
  await page.mouse.down();
  await page.mouse.move(h.x + h.width / 2 + (width - box.width), h.y + h.height / 2, { steps: 5 });
  await page.mouse.up();
}

/** Creates a schedule over REST (the dialog's way is tested on its own). */
async function createSchedule(page: Page, body: Record<string, unknown>): Promise<{ id: string }> {
  return page.evaluate(async b => {
    const r = await fetch('/notebook-executor/api/v1/schedules', { method: 'POST', body: JSON.stringify(b) });
    if (r.status !== 201) {
      throw new Error(await r.text());
    }
    return r.json();
  }, body);
}

/** Submits a notebook over REST and waits for its end. */
async function runOverRest(page: Page, body: Record<string, unknown>): Promise<{ id: string; state: string }> {
  return page.evaluate(async b => {
    const api = '/notebook-executor/api/v1/executions';
    const r = await fetch(api, { method: 'POST', body: JSON.stringify(b) });
    if (r.status !== 201) {
      throw new Error(await r.text());
    }
    const { id } = await r.json();
    for (let i = 0; i < 600; i++) {
      const e = await (await fetch(`${api}/${id}`)).json();
      if (['SUCCEEDED', 'FAILED', 'CANCELLED', 'EXPIRED'].includes(e.state)) {
        return e;
      }
      await new Promise(resolve => setTimeout(resolve, 100));
    }
    throw new Error(`${id} did not end`);
  }, body);
}

test.describe('Notebook Executor', () => {
  test('the Execute button says Execute, with an icon of its own', async ({ page, tmpPath }) => {
    const nb = await upload(page, tmpPath, 'train.ipynb');
    await page.notebook.openByPath(nb);
    await page.notebook.activate('train.ipynb');
    const button = executeButton(page);
    await expect(button.locator('.jp-ToolbarButtonComponent-label')).toHaveText('Execute', { timeout: 30_000 });
    const icon = await button.locator('> svg').getAttribute('data-icon');
    const panelIcon = await page.locator('.lm-TabBar-tab[data-id="notebook-executor-panel"] svg').getAttribute('data-icon');
    expect(icon).toBe('notebook-executor:execute');
    expect(panelIcon).toBe('notebook-executor:executor');
    // Not the notebook's own run triangle either.
    const runIcon = await page.locator('.jp-NotebookPanel:visible [data-command="notebook:run-cell-and-select-next"] svg').getAttribute('data-icon');
    expect(icon).not.toBe(runIcon);
  });

  test('execute a notebook with a changed parameter, read its result page, download and import it', async ({ page, tmpPath, context }) => {
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
    // Compact: name, state, time, duration, View result and more; in the narrow sidebar, two lines
    // where nothing is cut off; in a wider panel, one line.
    const parts = ['.nx-Name', '.nx-Badge', '.nx-Time', '.nx-Duration', '.nx-PrimaryAction', '.nx-MoreButton'].map(c => row.locator(c));
    await expectInsidePanel(page, parts);
    expect((await row.locator('.nx-ItemRow').boundingBox())!.height).toBeLessThan(50);
    await page.screenshot({ path: path.join(SHOTS, 'executions-light.png') });
    await resizePanel(page, 460);
    await expect.poll(async () => (await row.locator('.nx-ItemRow').boundingBox())!.height).toBeLessThan(30);
    await expectInsidePanel(page, parts);
    await page.screenshot({ path: path.join(SHOTS, 'executions-wide-light.png') });
    await expect(row.locator('.nx-Time')).toHaveText(/^\d\d:\d\d$/);
    await expect(row.locator('.nx-Time')).toHaveAttribute('title', /Europe\/Paris$/);
    await expect(row.locator('.nx-Duration')).toHaveText(/^\d+\.\d s$/);
    await expect(panel(page).locator('.nx-ListCaption')).toHaveText('Times in Europe/Paris');
    await expect(row.getByRole('button')).toHaveCount(2);

    // The result opens in a new browser tab, rendered, under a header that says what ran.
    const [result] = await Promise.all([context.waitForEvent('page'), row.getByRole('button', { name: 'View result' }).click()]);
    await result.waitForLoadState();
    await expect(result.locator('body')).toContainText('trained with Adam at lr=0.25');
    const header = result.locator('header.nx-header');
    await expect(header.locator('h1')).toHaveText('train');
    await expect(header.locator('[data-state]')).toHaveText('Succeeded');
    await expect(header).toContainText('train.ipynb');
    await expect(header).toContainText('learning_rate = 0.25');
    await expect(header).toContainText('local');
    // Times in the reader's zone, named, as the panel shows them.
    await expect(header.locator('time').first()).toHaveText(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d Europe\/Paris$/);
    await expect(header.locator('dd', { hasText: / s$/ })).toHaveCount(1);
    await expect(result.locator('[role="alert"]')).toHaveCount(0);
    await result.screenshot({ path: path.join(SHOTS, 'result-light.png'), fullPage: true });
    // The download link is the authenticated notebook route, as a download.
    const [download] = await Promise.all([result.waitForEvent('download'), header.getByRole('link', { name: /Download/ }).click()]);
    expect(download.suggestedFilename()).toMatch(/^train-.*\.ipynb$/);
    await result.close();

    // Import, from the row's menu: which kernel, then the copy opens and shows in the file browser
    // (open on the root, where the import's folder will be).
    await page.sidebar.openTab('filebrowser');
    await page.filebrowser.openHomeDirectory();
    await expect(page.locator('.jp-DirListing-item[title^="Name: imported_notebook_jobs"]')).toHaveCount(0);
    await openPanel(page, 'Executions');
    await rowAction(page, row, 'Import executed notebook');
    const ask = page.locator('.jp-Dialog');
    await expect(ask).toContainText('Import executed notebook');
    await expect(ask.locator('select.nx-ImportKernel')).toHaveValue('python3');
    await ask.getByRole('button', { name: 'Import' }).click();
    await expect(page.locator('.jp-NotebookPanel:visible .jp-OutputArea-output').first()).toContainText('lr=0.25');
    // Opened with the kernel chosen.
    await expect
      .poll(() =>
        page.evaluate(async () => {
          const sessions = await (await fetch('/api/sessions')).json();
          return sessions.filter((s: any) => s.path.startsWith('imported_notebook_jobs/train')).map((s: any) => s.kernel?.name);
        })
      )
      .toEqual(['python3']);
    // At once, not at the file browser's next poll (every 10 s).
    await page.sidebar.openTab('filebrowser');
    await expect(page.locator('.jp-DirListing-item[title^="Name: imported_notebook_jobs"]')).toBeVisible({ timeout: 2_000 });
    const imported = await page.evaluate(async () => {
      const r = await fetch('/api/contents/imported_notebook_jobs');
      return (await r.json()).content.map((f: any) => f.path);
    });
    expect(imported.some((p: string) => p.startsWith('imported_notebook_jobs/train'))).toBe(true);
  });

  test("the result page's import link opens JupyterLab, which asks and imports", async ({ page, tmpPath, context }) => {
    const nb = await upload(page, tmpPath, 'train.ipynb');
    const run = await runOverRest(page, { input_notebook: nb, display_name: 'linked import' });
    expect(run.state).toBe('SUCCEEDED');
    const result = await context.newPage();
    await result.goto(`/notebook-executor/api/v1/executions/${run.id}/result`);
    const [lab] = await Promise.all([context.waitForEvent('page'), result.getByRole('link', { name: /Import it into JupyterLab/ }).click()]);
    const ask = lab.locator('.jp-Dialog');
    await expect(ask).toContainText('Import executed notebook', { timeout: 60_000 });
    await expect(ask).toContainText('linked import');
    await ask.getByRole('button', { name: 'Import' }).click();
    await expect(lab.locator('.jp-NotebookPanel:visible .jp-OutputArea-output').first()).toContainText('trained with Adam', { timeout: 30_000 });
    // Followed once: the address no longer asks for it.
    expect(lab.url()).not.toContain('notebook-executor-import');
    await lab.close();
    await result.close();
  });

  test('a failing notebook: its row says why on a line of its own, its result page first of all', async ({ page, tmpPath, context }) => {
    await upload(page, tmpPath, 'broken.ipynb');
    await page.filebrowser.openDirectory(tmpPath);
    await page.locator('.jp-DirListing-item[data-file-type="notebook"]', { hasText: 'broken.ipynb' }).click({ button: 'right' });
    await page.locator('.lm-Menu-item[data-command="notebook-executor:execute-file"]').click();
    await expect(dialog(page)).toBeVisible();
    await dialog(page).locator('#nx-display-name').fill('broken nightly data preparation of the quarterly report');
    await dialog(page).getByRole('button', { name: 'Submit' }).click();
    await openPanel(page, 'Executions');
    const row = panel(page).locator('.nx-Item').filter({ hasText: 'broken' }).first();
    await expect(row.locator('.nx-Badge')).toHaveAttribute('data-state', 'FAILED', { timeout: 60_000 });
    // The cell as the result page numbers it; the message cut on its own line, whole on hover.
    const message = row.locator('.nx-StateMessage');
    await expect(message).toHaveText('In [2] raised ValueError: the data is missing');
    await expect(message).toHaveAttribute('title', 'In [2] raised ValueError: the data is missing');
    await expect(message).toHaveCSS('text-overflow', 'ellipsis');
    await expect(message).toHaveCSS('white-space', 'nowrap');
    // The name keeps the row's room (the message is below it), cut with an ellipsis.
    const name = row.locator('.nx-Name');
    expect((await name.boundingBox())!.width).toBeGreaterThan(120);
    await expect(name).toHaveCSS('text-overflow', 'ellipsis');
    await expectInsidePanel(page, [name, message, row.locator('.nx-Badge'), row.locator('.nx-MoreButton')]);

    const [result] = await Promise.all([context.waitForEvent('page'), row.getByRole('button', { name: 'View result' }).click()]);
    await result.waitForLoadState();
    const alert = result.locator('[role="alert"]');
    await expect(alert).toHaveText('This run failed: In [2] raised ValueError: the data is missing');
    const top = await result.evaluate(() => document.body.innerText.trimStart().split('\n')[0]);
    expect(top).toBe('This run failed: In [2] raised ValueError: the data is missing');
    // The banner cell keeps papermill's structure (its tools find it), in our words.
    await expect(result.locator('#papermill-error-cell')).toHaveText("The run stopped here, at this cell's exception:");
    await expect(result.locator('body')).toContainText("The run stopped at an exception in 'In [2]'.");
    await expect(result.locator('body')).not.toContainText('papermill');
    await result.screenshot({ path: path.join(SHOTS, 'result-failed-light.png'), fullPage: true });
    await result.close();
    await page.screenshot({ path: path.join(SHOTS, 'executions-failed-light.png') });
  });

  test('the logs of a running execution follow it until it ends', async ({ page, tmpPath }) => {
    const nb = await upload(page, tmpPath, 'steps.ipynb');
    await page.evaluate(async b => {
      const r = await fetch('/notebook-executor/api/v1/executions', { method: 'POST', body: JSON.stringify(b) });
      if (r.status !== 201) {
        throw new Error(await r.text());
      }
    }, { input_notebook: nb, display_name: 'followed logs' });
    await openPanel(page, 'Executions');
    const row = panel(page).locator('.nx-Item').filter({ hasText: 'followed logs' }).first();
    await expect(row.locator('.nx-Badge')).toHaveAttribute('data-state', 'RUNNING', { timeout: 60_000 });
    await rowAction(page, row, 'View logs');
    const logs = page.locator('.nx-LogsDialog');
    const text = logs.locator('.nx-LogsText');
    await expect(text).toContainText('step 1: loading', { timeout: 30_000 });
    await expect(text).not.toContainText('step 2');
    await expect(logs).toContainText('following while it runs');
    // No click: the next line comes by itself, and the following stops with the run.
    await expect(text).toContainText('step 2: training', { timeout: 30_000 });
    await expect(row.locator('.nx-Badge')).toHaveAttribute('data-state', 'SUCCEEDED', { timeout: 30_000 });
    await expect(logs).not.toContainText('following while it runs', { timeout: 10_000 });
    await expect(text).toContainText('step 1: loading');
    await logs.getByRole('button', { name: 'Close' }).click();
  });

  test('a schedule: its times in its zone everywhere, its filter named and cleared when it is deleted', async ({ page, tmpPath }) => {
    const nb = await upload(page, tmpPath, 'train.ipynb');
    await openDialogFromToolbar(page, nb);
    const d = dialog(page);
    await d.getByLabel('Schedule-based recurring executions').check();
    await d.locator('#nx-frequency').selectOption('weekly');
    await d.getByLabel('Wed').check();
    await d.locator('#nx-time').fill('07:30');
    await expect(d.locator('#nx-cron')).toHaveValue('30 7 * * 1,3');
    await expect(d.getByText('Weekly on Mon, Wed at 07:30')).toBeVisible();
    // Another zone than the browser's: every time of the schedule is shown in it, named.
    await d.locator('#nx-time-zone').selectOption('America/New_York');
    await expect(d.locator('.nx-Preview li')).toHaveCount(3);
    const firstRun = (await d.locator('.nx-Preview li').first().textContent())!;
    expect(firstRun).toMatch(/^(Mon|Wed) \d+ \w{3}( \d{4})? 07:30 America\/New_York$/);
    const longName = 'weekly training of the quarterly forecasting model for every region';
    await d.locator('#nx-display-name').fill(longName);
    await page.screenshot({ path: path.join(SHOTS, 'dialog-schedule-light.png') });
    await d.getByRole('button', { name: 'Submit' }).click();
    await expect(d).toBeHidden();

    await openPanel(page, 'Schedules');
    const row = panel(page).locator('.nx-Item').filter({ hasText: longName });
    await expect(row).toContainText('Weekly on Mon, Wed at 07:30');
    await expect(row.locator('.nx-NextRun')).toHaveText(`Next run: ${firstRun}`);
    await expect(row.locator('.nx-Badge').first()).toHaveAttribute('data-state', 'ENABLED');
    await rowAction(page, row, 'Pause');
    await expect(row.locator('.nx-Badge').first()).toHaveAttribute('data-state', 'PAUSED');
    await rowAction(page, row, 'Resume');
    await expect(row.locator('.nx-Badge').first()).toHaveAttribute('data-state', 'ENABLED');

    await rowAction(page, row, 'Run now');
    await page.locator('.nx-RunNowParameters').fill('learning_rate=0.5');
    await page.locator('.jp-Dialog').getByRole('button', { name: 'Run' }).click();
    await openPanel(page, 'Executions');
    const run = panel(page).locator('.nx-Item').filter({ hasText: longName }).first();
    await expect(run.locator('.nx-Badge')).toHaveAttribute('data-state', 'SUCCEEDED', { timeout: 60_000 });

    await openPanel(page, 'Schedules');
    await expect(row.locator('.nx-Badge[data-state="SUCCEEDED"]')).toBeVisible({ timeout: 10_000 });
    await page.screenshot({ path: path.join(SHOTS, 'schedules-light.png') });

    // Its executions: the filter names the schedule, cut to the panel's width, with a clear button.
    await row.getByRole('button', { name: 'Executions' }).click();
    const filter = panel(page).locator('.nx-Filter');
    await expect(filter).toContainText(`Schedule: ${longName}`);
    const text = filter.locator('.nx-FilterText');
    await expect(text).toHaveCSS('text-overflow', 'ellipsis');
    expect(await text.evaluate(el => el.scrollWidth > el.clientWidth)).toBe(true);
    const panelBox = (await panel(page).boundingBox())!;
    const filterBox = (await filter.boundingBox())!;
    expect(filterBox.x + filterBox.width).toBeLessThanOrEqual(panelBox.x + panelBox.width);
    await page.screenshot({ path: path.join(SHOTS, 'executions-filtered-light.png') });
    await filter.getByRole('button', { name: 'Clear the schedule filter' }).click();
    await expect(filter).toHaveCount(0);

    // Deleting the schedule clears a filter on it; its executions are kept.
    await openPanel(page, 'Schedules');
    await row.getByRole('button', { name: 'Executions' }).click();
    await expect(filter).toBeVisible();
    await openPanel(page, 'Schedules');
    await rowAction(page, row, 'Delete');
    await expect(page.locator('.jp-Dialog')).toContainText('executions are kept');
    await page.locator('.jp-Dialog').getByRole('button', { name: 'Delete' }).click();
    await expect(row).toHaveCount(0);
    await openPanel(page, 'Executions');
    await expect(filter).toHaveCount(0);
    await expect(panel(page).locator('.nx-Item').filter({ hasText: longName })).toHaveCount(1);
  });

  test('a share link opens in a fresh browser context without a token, without the owner links', async ({ page, tmpPath, browser }) => {
    const nb = await upload(page, tmpPath, 'train.ipynb');
    await openDialogFromToolbar(page, nb);
    await dialog(page).locator('#nx-display-name').fill('shared run');
    await dialog(page).getByRole('button', { name: 'Submit' }).click();
    await openPanel(page, 'Executions');
    const row = panel(page).locator('.nx-Item').filter({ hasText: 'shared run' }).first();
    await expect(row.locator('.nx-Badge')).toHaveAttribute('data-state', 'SUCCEEDED', { timeout: 60_000 });
    await rowAction(page, row, 'Share execution result');
    await page.getByRole('button', { name: 'Create link' }).click();
    const link = await page.getByLabel('Share link').inputValue();
    expect(link).toContain('/notebook-executor/shared/');
    await expect(page.locator('.jp-Dialog .nx-Hint')).toContainText(/Expires .* Europe\/Paris/);
    const stranger = await browser.newContext();
    const view = await stranger.newPage();
    const response = await view.goto(link);
    expect(response?.status()).toBe(200);
    await expect(view.locator('body')).toContainText('trained with Adam');
    await expect(view.locator('header h1')).toHaveText('shared run');
    await expect(view.locator('a')).toHaveCount(0);
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
    await executeButton(page).click();
    const d = dialog(page);
    await expect(d.locator('.nx-Warning')).toContainText('unsaved changes');
    await d.getByRole('button', { name: 'Save now' }).click();
    await expect(d.locator('.nx-Warning')).toHaveCount(0);
    const saved = await page.evaluate(async p => (await (await fetch(`/api/contents/${p}`)).json()).content.cells[1].source, nb);
    expect(saved).toBe('print("edited")');
    await d.locator('.nx-Footer').getByRole('button', { name: 'Cancel' }).click();
  });

  test('the shipped example, and a notebook JupyterLab fills metadata in, open without a false warning', async ({ page, tmpPath }) => {
    // examples/analysis.ipynb as it is shipped: JupyterLab finds nothing to change in it.
    const example = await upload(page, tmpPath, 'analysis.ipynb', EXAMPLES);
    await page.notebook.openByPath(example);
    await page.notebook.activate('analysis.ipynb');
    await expect(page.locator('.jp-NotebookPanel:visible .jp-Notebook-ExecutionIndicator[data-status="idle"]')).toBeVisible({ timeout: 30_000 });
    await executeButton(page).click();
    await expect(dialog(page)).toBeVisible();
    await expect(dialog(page).locator('#nx-display-name')).toHaveValue('analysis');
    await expect(dialog(page).locator('.nx-Warning')).toHaveCount(0);
    await dialog(page).locator('.nx-Footer').getByRole('button', { name: 'Cancel' }).click();

    // A notebook with an incomplete language_info: JupyterLab completes it from the kernel and marks
    // the notebook changed, but nothing that a run reads changed.
    await upload(page, tmpPath, 'train.ipynb');
    await page.notebook.openByPath(`${tmpPath}/train.ipynb`);
    await page.notebook.activate('train.ipynb');
    await expect(page.locator('.jp-NotebookPanel:visible.jp-mod-dirty, .lm-TabBar-tab.jp-mod-dirty').first()).toBeVisible({ timeout: 30_000 });
    await executeButton(page).click();
    await expect(dialog(page)).toBeVisible();
    await expect(dialog(page).locator('#nx-display-name')).toHaveValue('train');
    await expect(dialog(page).locator('.nx-Warning')).toHaveCount(0);
    await dialog(page).locator('.nx-Footer').getByRole('button', { name: 'Cancel' }).click();
  });

  test('the dialog: buttons in view, default output location, errors by label, even fields, a 24-hour time', async ({ page, tmpPath }) => {
    const nb = await upload(page, tmpPath, 'train.ipynb');
    await openDialogFromToolbar(page, nb);
    const d = dialog(page);
    await d.getByLabel('Schedule-based recurring executions').check();
    await d.getByText('Advanced options').click();
    const submit = d.getByRole('button', { name: 'Submit' });
    await expect(submit).toBeInViewport();
    await expect(d.locator('.nx-Footer').getByRole('button', { name: 'Cancel' })).toBeInViewport();
    // Empty means the default, and the field says which.
    const output = d.locator('#nx-output-location');
    await expect(output).toHaveValue('');
    await expect(output).toHaveAttribute('placeholder', /notebook_executor\/outputs$/);
    // Inputs and selects are one height.
    const heights = await Promise.all(['#nx-display-name', '#nx-backend', '#nx-frequency', '#nx-time', '#nx-time-zone', '#nx-output-location'].map(
      async id => (await d.locator(id).boundingBox())!.height
    ));
    expect(new Set(heights.map(Math.round)).size).toBe(1);
    // 24-hour time, as the words and the cron say it.
    await expect(d.locator('#nx-time')).toHaveValue('09:00');
    await expect(d.getByText('Daily at 09:00')).toBeVisible();
    await d.locator('#nx-time').fill('5:30 PM');
    await expect(d.locator('#nx-time-error')).toContainText('24-hour');
    await expect(submit).toBeDisabled();
    await d.locator('#nx-time').fill('17:30');
    await expect(d.getByText('Daily at 17:30')).toBeVisible();
    await expect(d.locator('#nx-cron')).toHaveValue('30 17 * * *');
    await page.screenshot({ path: path.join(SHOTS, 'dialog-advanced-light.png') });
    // The server's errors in the form's words, next to their field.
    await d.getByLabel('One-time execution').check();
    await output.fill('../outside');
    await submit.click();
    const error = d.locator('#nx-output-location-error');
    await expect(error).toBeVisible();
    await expect(error).not.toContainText('output_location');
    await expect(submit).toBeInViewport();
    await d.locator('.nx-Footer').getByRole('button', { name: 'Cancel' }).click();
  });

  test('a schedule is edited from the panel', async ({ page, tmpPath }) => {
    const nb = await upload(page, tmpPath, 'train.ipynb');
    await createSchedule(page, { display_name: 'to edit', cron_schedule: '0 9 * * *', time_zone: 'UTC', execution_template: { input_notebook: nb } });
    await openPanel(page, 'Schedules');
    await panel(page).getByRole('button', { name: 'Refresh' }).click();
    const row = panel(page).locator('.nx-Item').filter({ hasText: 'to edit' });
    await expect(row).toContainText('Daily at 09:00');
    await expect(row.locator('.nx-NextRun')).toHaveText(/ 09:00 UTC$/);
    await rowAction(page, row, 'Edit');
    const d = dialog(page);
    await expect(d).toContainText('Edit schedule');
    await expect(d.locator('#nx-cron')).toHaveValue('0 9 * * *');
    await expect(d.locator('#nx-time')).toHaveValue('09:00');
    await d.locator('#nx-frequency').selectOption('weekdays');
    await d.locator('#nx-time').fill('06:15');
    await d.getByRole('button', { name: 'Save' }).click();
    await expect(d).toBeHidden();
    await expect(row).toContainText('Weekdays at 06:15');
    await expect(row).toContainText('15 6 * * 1-5');
  });

  test('screenshots in the dark and high-contrast themes', async ({ page, tmpPath, context }) => {
    const nb = await upload(page, tmpPath, 'train.ipynb');
    const broken = await upload(page, tmpPath, 'broken.ipynb');
    await createSchedule(page, { display_name: 'nightly report', cron_schedule: '0 2 * * *', execution_template: { input_notebook: nb } });
    const ok = await runOverRest(page, { input_notebook: nb, display_name: 'train', parameters: { learning_rate: 0.25 } });
    const failed = await runOverRest(page, { input_notebook: broken, display_name: 'broken' });
    expect([ok.state, failed.state]).toEqual(['SUCCEEDED', 'FAILED']);
    await page.theme.setDarkTheme();
    await openDialogFromToolbar(page, nb);
    await dialog(page).getByText('Advanced options').click();
    await page.screenshot({ path: path.join(SHOTS, 'dialog-dark.png') });
    await dialog(page).locator('.nx-Footer').getByRole('button', { name: 'Cancel' }).click();
    await openPanel(page, 'Executions');
    await panel(page).getByRole('button', { name: 'Refresh' }).click();
    await expect(panel(page).locator(`[data-execution-id="${failed.id}"] .nx-StateMessage`)).toBeVisible();
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

    // The result pages follow the reader's preference (dark) and forced colours (high contrast).
    const result = await context.newPage();
    for (const [mode, media] of [
      ['dark', { colorScheme: 'dark' }],
      ['high-contrast', { colorScheme: 'dark', forcedColors: 'active' }]
    ] as const) {
      await result.emulateMedia(media);
      for (const [name, run] of [
        ['result', ok],
        ['result-failed', failed]
      ] as const) {
        await result.goto(`/notebook-executor/api/v1/executions/${run.id}/result`);
        await expect(result.locator('header h1')).toHaveText(run === ok ? 'train' : 'broken');
        await result.screenshot({ path: path.join(SHOTS, `${name}-${mode}.png`), fullPage: true });
      }
    }
    await result.close();
  });
});

test.describe('Set-up', () => {
  // JupyterLab's settings as the environment gives them: galata's own test defaults
  // (which switch the news off) are left out.
  const { ['@jupyterlab/apputils-extension:notification']: _news, ...settings } = galata.DEFAULT_SETTINGS as Record<string, unknown>;
  test.use({ mockSettings: settings });

  test('no prompt about Jupyter news', async ({ page }) => {
    // The environment (make develop) turns the news off by default; users may still turn them on.
    const defaults = await page.evaluate(async () => {
      const r = await fetch('/lab/api/settings/@jupyterlab/apputils-extension:notification');
      const props = (await r.json()).schema.properties;
      return { fetchNews: props.fetchNews.default, checkForUpdates: props.checkForUpdates.default };
    });
    expect(defaults).toEqual({ fetchNews: 'false', checkForUpdates: false });
    // The prompt would come once the application is restored.
    await page.waitForTimeout(2_000);
    await expect(page.getByText('Would you like to get notified about official Jupyter news?')).toHaveCount(0);
  });
});
