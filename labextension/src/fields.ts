// Where the dialog shows an error the server put on a field, and in which words.

import type { TranslationBundle } from '@jupyterlab/translation';
import type { BackendField, IBackend } from './api';

/** Fields under "Advanced options": an error in one opens that section. */
const ADVANCED_FIELDS = ['region', 'output_location', 'service_account', 'network', 'timeout_seconds', 'cell_timeout_seconds', 'parameters'];

/** Fields shown with their own error line in the dialog. */
const SHOWN_FIELDS = [
  'display_name',
  'backend',
  'machine_type',
  'accelerator_type',
  'accelerator_count',
  'environment',
  'kernel_name',
  'cron_schedule',
  'time_zone',
  ...ADVANCED_FIELDS
];

/** Fields that only some backends take: shown only for those (see IBackend.fields). */
const BACKEND_FIELDS: string[] = [
  'kernel_name',
  'machine_type',
  'accelerator_type',
  'accelerator_count',
  'environment',
  'region',
  'service_account',
  'network'
] satisfies BackendField[];

/**
 * Next to a field on the form (`field`), next to one under Advanced options (`advanced`),
 * or by the form's buttons (`form`) for errors about no field the form shows (with `backend`,
 * a field of another backend is not shown), so that none is silent.
 */
export function errorPlace(field: string | undefined | null, backend?: IBackend): 'field' | 'advanced' | 'form' {
  if (!field || !SHOWN_FIELDS.includes(field)) {
    return 'form';
  }
  if (backend && BACKEND_FIELDS.includes(field) && !backend.fields.includes(field as BackendField)) {
    return 'form';
  }
  return ADVANCED_FIELDS.includes(field) ? 'advanced' : 'field';
}

/**
 * The dialog's label of each request field (the words users see on the form); `bucket`:
 * the output location is chosen as a Cloud Storage bucket.
 */
export function fieldLabels(__: TranslationBundle['__'], bucket = false): Record<string, string> {
  return {
    input_notebook: __('Notebook'),
    display_name: __('Execution name'),
    backend: __('Backend'),
    machine_type: __('Machine type'),
    accelerator_type: __('Accelerator type'),
    accelerator_count: __('Accelerator count'),
    environment: __('Environment'),
    kernel_name: __('Environment'),
    cron_schedule: __('Cron expression'),
    time_zone: __('Time zone'),
    missed_runs: __('Missed runs'),
    region: __('Region'),
    output_location: bucket ? __('Cloud Storage bucket') : __('Output location'),
    parameters: __('Input parameters'),
    service_account: __('Service account'),
    network: __('Network'),
    timeout_seconds: __('Timeout (s)'),
    cell_timeout_seconds: __('Cell timeout (s)'),
    labels: __('Labels')
  };
}

/** A leading `name: ` or `execution_template.name: ` of the server's messages. */
const FIELD_PREFIX = /^([a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*): /;

/**
 * The server's message in the form's words. Next to its field (`nextToField`), without the
 * field's name, which the label above already says ("output_location: not a folder" ->
 * "not a folder"); elsewhere, with the field's label ("Output location: not a folder").
 */
export function errorText(message: string, labels: Record<string, string>, nextToField: boolean): string {
  const match = FIELD_PREFIX.exec(message);
  if (!match) {
    return message;
  }
  const name = match[1].split('.').pop()!;
  const label = labels[name];
  if (!label) {
    return message;
  }
  const rest = message.slice(match[0].length);
  return nextToField ? rest.charAt(0).toUpperCase() + rest.slice(1) : `${label}: ${rest}`;
}
