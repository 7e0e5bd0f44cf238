/**
 * The remote backends in a real JupyterLab: Vertex AI against the customJobs contract double
 * and Cloud Storage against fake-gcs-server (started around the server by remote_doubles.py,
 * on loopback), and Ray's part of the dialog (no Ray head: its address answers nothing, so a
 * submission ends with the backend's error, shown in the dialog). Nothing reaches Google: the
 * console links are checked, never followed. Screenshots of the new dialog states, the panel's
 * remote rows, the logs view and the share dialog go to artifacts/screenshots/.
 */
import { expect, test } from '@jupyterlab/galata';
import { Request } from '@playwright/test';
import * as path from 'path';
import { dialog, openDialogFromToolbar, openPanel, panel, rowAction, SHOTS, upload } from './helpers';

test.use({ timezoneId: 'Europe/Paris' });

const EXECUTIONS = '/notebook-executor/api/v1/executions';

/** A POST to an API path (JupyterLab adds a cache-busting query to its requests). */
function isPost(r: Request, apiPath: string): boolean {
  return r.method() === 'POST' && new URL(r.url()).pathname === apiPath;
}

function uniqueBucket(): string {
  return `nx-ui-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`;
}

test.describe('Remote backends', () => {
  test('Vertex AI: the fields, a bucket created and selected, a run with console links, the region filter, logs, a signed URL', async ({ page, tmpPath, request }) => {
    const nb = await upload(page, tmpPath, 'train.ipynb');
    await openDialogFromToolbar(page, nb);
    const d = dialog(page);
    // Local: the kernel, none of the remote fields.
    await expect(d.locator('#nx-kernel')).toBeVisible();
    for (const id of ['#nx-machine-type', '#nx-accelerator-type', '#nx-environment', '#nx-new-bucket']) {
      await expect(d.locator(id)).toHaveCount(0);
    }
    await d.locator('#nx-display-name').fill('train on vertex');
    await d.locator('#nx-backend').selectOption('vertex');
    await expect(d.locator('#nx-kernel')).toHaveCount(0);
    await expect(d.locator('#nx-environment')).toHaveAttribute('placeholder', /notebook-executor:ui$/);
    await d.locator('#nx-machine-type').selectOption('n1-standard-8');
    await d.locator('#nx-accelerator-type').selectOption('NVIDIA_TESLA_T4');
    await expect(d.locator('#nx-accelerator-count')).toHaveValue('1'); // an accelerator starts at one
    // No default bucket on this server: one must be chosen, and it is in view.
    const submit = d.getByRole('button', { name: 'Submit' });
    await expect(d.locator('#nx-output-location-error')).toHaveText('Select a bucket, or create one.');
    await expect(submit).toBeDisabled();
    await expect(d.locator('label[for="nx-output-location"]')).toHaveText('Cloud Storage bucket');
    // The project's buckets are listed (one is there from the start).
    await expect.poll(async () => d.locator('#nx-output-location option').count()).toBeGreaterThan(1);

    // A new bucket: the server's refusals by the field, then Create and select.
    const newBucket = d.locator('#nx-new-bucket');
    await newBucket.fill('Not A Bucket!');
    await d.getByRole('button', { name: 'Create and select' }).click();
    await expect(d.locator('#nx-new-bucket-error')).toContainText('is not a Cloud Storage bucket name');
    await expect(d.locator('#nx-new-bucket-error')).not.toContainText('name:');
    await expect(newBucket).toHaveAttribute('aria-invalid', 'true');
    const name = uniqueBucket();
    await newBucket.fill(name);
    await d.getByRole('button', { name: 'Create and select' }).click();
    await expect(d.locator('#nx-output-location')).toHaveValue(`gs://${name}/`);
    await expect(newBucket).toHaveValue('');
    await expect(d.locator('#nx-output-location-error')).toHaveCount(0);
    // The same name again: taken (409), said by the field.
    await newBucket.fill(name);
    await d.getByRole('button', { name: 'Create and select' }).click();
    await expect(d.locator('#nx-new-bucket-error')).toBeVisible();
    await newBucket.fill('');
    await page.screenshot({ path: path.join(SHOTS, 'dialog-vertex-light.png') });

    // Advanced options: region, the default service account (or an email), network.
    await d.getByText('Advanced options').click();
    await expect(d.locator('#nx-region option').first()).toHaveText('Default (us-central1)');
    await d.locator('#nx-region').selectOption('europe-west1');
    const defaultAccount = d.getByLabel("Use Vertex AI Training's default service account");
    await expect(defaultAccount).toBeChecked();
    await expect(d.locator('#nx-service-account')).toHaveCount(0);
    await defaultAccount.uncheck();
    await expect(d.locator('#nx-service-account')).toBeVisible();
    await expect(submit).toBeDisabled(); // an email is wanted now
    await page.screenshot({ path: path.join(SHOTS, 'dialog-vertex-advanced-light.png') });
    await defaultAccount.check();
    await expect(d.locator('#nx-network')).toBeVisible();

    // The server's validation by the field's label: an A100 does not fit an n1 machine.
    await d.locator('#nx-accelerator-type').selectOption('NVIDIA_TESLA_A100');
    await submit.click();
    await expect(d.locator('#nx-accelerator-type-error')).toBeVisible();
    await expect(d.locator('#nx-accelerator-type-error')).not.toContainText('accelerator_type');
    await d.locator('#nx-accelerator-type').selectOption('NVIDIA_TESLA_T4');

    const [sent] = await Promise.all([
      page.waitForRequest(r => isPost(r, EXECUTIONS)),
      submit.click()
    ]);
    expect(sent.postDataJSON()).toMatchObject({
      backend: 'vertex',
      machine_type: 'n1-standard-8',
      accelerator_type: 'NVIDIA_TESLA_T4',
      accelerator_count: 1,
      region: 'europe-west1',
      output_location: `gs://${name}/`
    });
    expect(sent.postDataJSON()).not.toHaveProperty('service_account');
    expect(sent.postDataJSON()).not.toHaveProperty('kernel_name');
    await expect(d).toBeHidden();

    // The row: state live to SUCCEEDED, and the job and its logs in the console (new tabs).
    await openPanel(page, 'Executions');
    const row = panel(page).locator('.nx-Item').filter({ hasText: 'train on vertex' });
    await expect(row.locator('.nx-Badge')).toHaveAttribute('data-state', 'SUCCEEDED', { timeout: 120_000 });
    const links = row.locator('.nx-JobLinks a');
    await expect(links).toHaveCount(2);
    await expect(links.nth(0)).toHaveText('Vertex AI job');
    await expect(links.nth(0)).toHaveAttribute('href', /^https:\/\/console\.cloud\.google\.com\/vertex-ai\/locations\/europe-west1\/training\/\d+\/cpu\?project=nx-ui-project$/);
    await expect(links.nth(1)).toHaveText('Logs');
    await expect(links.nth(1)).toHaveAttribute('href', /^https:\/\/console\.cloud\.google\.com\/logs\/query;query=.*project=nx-ui-project$/);
    for (const link of [links.nth(0), links.nth(1)]) {
      await expect(link).toHaveAttribute('target', '_blank');
      await expect(link).toHaveAttribute('rel', /noopener/);
    }
    await page.screenshot({ path: path.join(SHOTS, 'executions-vertex-light.png') });

    // The region filter ("Select the Region that contains your results").
    const region = panel(page).getByLabel('Filter by region');
    await region.selectOption('asia-east1');
    await expect(panel(page).locator('.nx-Item')).toHaveCount(0);
    await expect(panel(page).locator('.nx-Empty')).toHaveText('No executions match this filter.');
    await region.selectOption('europe-west1');
    await expect(row).toBeVisible();
    await expect(panel(page).locator('.nx-Item')).toHaveCount(1);
    await page.screenshot({ path: path.join(SHOTS, 'executions-region-filter-light.png') });
    await region.selectOption('');

    // The logs view: the end of what the run printed, refreshable.
    await rowAction(page, row, 'View logs');
    const logs = page.locator('.nx-LogsDialog');
    await expect(logs.locator('.nx-LogsText')).toContainText('trained with Adam', { timeout: 30_000 });
    await expect(logs).toContainText("The notebook's output and errors");
    await logs.getByRole('button', { name: 'Refresh' }).click();
    await expect(logs.locator('.nx-LogsText')).toContainText('trained with Adam');
    await page.screenshot({ path: path.join(SHOTS, 'logs-light.png') });
    await logs.getByRole('button', { name: 'Close' }).click();

    // Share: a signed URL for an hour, shown once with a copy button; it opens the result.
    await rowAction(page, row, 'Share execution result');
    const share = page.locator('.jp-Dialog').filter({ hasText: 'Share as' });
    await share.getByLabel(/Cloud Storage signed URL/).check();
    await share.locator('#nx-share-lifetime').selectOption('3600');
    await share.getByRole('button', { name: 'Create signed URL' }).click();
    const signed = await share.getByLabel('Signed URL', { exact: true }).inputValue();
    expect(signed).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/.+X-Goog-Expires=3600/);
    expect(signed).toContain('X-Goog-Signature=');
    await expect(share.getByRole('button', { name: 'Copy' })).toBeVisible();
    await expect(share.locator('.nx-Hint')).toContainText(/Expires .* Europe\/Paris/);
    await page.screenshot({ path: path.join(SHOTS, 'share-signed-url-light.png') });
    const opened = await request.get(signed);
    expect(opened.status()).toBe(200);
    expect(await opened.text()).toContain('trained with Adam');
    // Read access to the bucket for one account, with the warning that it is the whole bucket.
    await share.getByLabel(/read access to the bucket/).check();
    await expect(share.locator('.nx-Warning')).toContainText(`gs://${name}`);
    await share.locator('#nx-share-member').fill('ana@example.com');
    await share.getByRole('button', { name: 'Grant access' }).click();
    await expect(share.locator('.nx-ShareMade')).toContainText(`user:ana@example.com can now read gs://${name}`);
    await share.getByRole('button', { name: 'Close' }).click();
  });

  test('Vertex AI on a schedule: the template carries the fields, and Edit shows them again', async ({ page, tmpPath }) => {
    const nb = await upload(page, tmpPath, 'train.ipynb');
    await openDialogFromToolbar(page, nb);
    const d = dialog(page);
    await d.locator('#nx-display-name').fill('nightly on vertex');
    await d.locator('#nx-backend').selectOption('vertex');
    await d.getByLabel('Schedule-based recurring executions').check();
    // The bucket that the first list holds.
    await expect.poll(async () => d.locator('#nx-output-location option').count()).toBeGreaterThan(1);
    const bucket = await d.locator('#nx-output-location option').nth(1).getAttribute('value');
    await d.locator('#nx-output-location').selectOption(bucket!);
    await d.locator('#nx-machine-type').selectOption('n1-highmem-8');
    await d.getByText('Advanced options').click();
    await d.locator('#nx-region').selectOption('asia-east1');
    await d.getByLabel("Use Vertex AI Training's default service account").uncheck();
    await d.locator('#nx-service-account').fill('runner@nx-ui-project.iam.gserviceaccount.com');
    const [sent] = await Promise.all([
      page.waitForRequest(r => isPost(r, '/notebook-executor/api/v1/schedules')),
      d.getByRole('button', { name: 'Submit' }).click()
    ]);
    expect(sent.postDataJSON().execution_template).toMatchObject({
      backend: 'vertex',
      machine_type: 'n1-highmem-8',
      region: 'asia-east1',
      output_location: bucket,
      service_account: 'runner@nx-ui-project.iam.gserviceaccount.com'
    });
    await expect(d).toBeHidden();
    await openPanel(page, 'Schedules');
    const row = panel(page).locator('.nx-Item').filter({ hasText: 'nightly on vertex' });
    await rowAction(page, row, 'Edit');
    await expect(d.locator('#nx-backend')).toHaveValue('vertex');
    await expect(d.locator('#nx-machine-type')).toHaveValue('n1-highmem-8');
    await expect(d.locator('#nx-output-location')).toHaveValue(bucket!);
    await d.getByText('Advanced options').click();
    await expect(d.locator('#nx-region')).toHaveValue('asia-east1');
    await expect(d.locator('#nx-service-account')).toHaveValue('runner@nx-ui-project.iam.gserviceaccount.com');
    await d.locator('.nx-Footer').getByRole('button', { name: 'Cancel' }).click();
    await rowAction(page, row, 'Delete');
    await page.locator('.jp-Dialog').getByRole('button', { name: 'Delete' }).click();
  });

  test("Ray: the resource shapes from the server, the request with backend ray and the shape, the backend's error in the dialog", async ({ page, tmpPath }) => {
    const nb = await upload(page, tmpPath, 'train.ipynb');
    await openDialogFromToolbar(page, nb);
    const d = dialog(page);
    await d.locator('#nx-backend').selectOption('ray');
    const shapes = d.locator('#nx-machine-type option');
    await expect(shapes).toHaveText(['Default (small)', /^small \(.*CPU.*\)$/, 'gpu (4 CPUs, 1 GPU, 16 GiB)']);
    await d.locator('#nx-machine-type').selectOption('gpu');
    // None of the cloud's fields: no accelerators (they come with the shapes), image, region, account, network.
    await d.getByText('Advanced options').click();
    for (const id of ['#nx-accelerator-type', '#nx-environment', '#nx-kernel', '#nx-region', '#nx-new-bucket', '#nx-network']) {
      await expect(d.locator(id)).toHaveCount(0);
    }
    await expect(d.getByLabel("Use Vertex AI Training's default service account")).toHaveCount(0);
    await expect(d.locator('label[for="nx-output-location"]')).toHaveText('Output location');
    await page.screenshot({ path: path.join(SHOTS, 'dialog-ray-light.png') });
    const [sent] = await Promise.all([
      page.waitForRequest(r => isPost(r, EXECUTIONS)),
      d.getByRole('button', { name: 'Submit' }).click()
    ]);
    const body = sent.postDataJSON();
    expect(body).toMatchObject({ backend: 'ray', machine_type: 'gpu' });
    for (const field of ['accelerator_type', 'accelerator_count', 'environment', 'region', 'service_account', 'network', 'kernel_name']) {
      expect(body).not.toHaveProperty(field);
    }
    // No head answers at this address: the dialog stays, saying so by its buttons, in view.
    const error = d.locator('.nx-Footer .nx-FormError[role="alert"]');
    await expect(error).toContainText(/Ray head .* cannot be reached/);
    await expect(error).toBeInViewport();
    await expect(d).toBeVisible();
    await page.screenshot({ path: path.join(SHOTS, 'dialog-ray-error-light.png') });
    await d.locator('.nx-Footer').getByRole('button', { name: 'Cancel' }).click();
  });

  test('the Vertex AI dialog and its rows in the dark theme', async ({ page, tmpPath }) => {
    const nb = await upload(page, tmpPath, 'train.ipynb');
    await page.theme.setDarkTheme();
    await openDialogFromToolbar(page, nb);
    const d = dialog(page);
    await d.locator('#nx-backend').selectOption('vertex');
    await d.locator('#nx-accelerator-type').selectOption('NVIDIA_TESLA_T4');
    await d.locator('#nx-new-bucket').fill('Not A Bucket!');
    await d.getByRole('button', { name: 'Create and select' }).click();
    await expect(d.locator('#nx-new-bucket-error')).toBeVisible();
    await page.screenshot({ path: path.join(SHOTS, 'dialog-vertex-dark.png') });
    await d.locator('.nx-Footer').getByRole('button', { name: 'Cancel' }).click();
    // The run of the first test, with its console links.
    await openPanel(page, 'Executions');
    await panel(page).getByRole('button', { name: 'Refresh' }).click();
    await expect(panel(page).locator('.nx-JobLinks').first()).toBeVisible();
    await page.screenshot({ path: path.join(SHOTS, 'executions-vertex-dark.png') });
    await page.theme.setLightTheme();
  });
});
