// The submit dialog's form: its state, which fields the chosen backend shows, and the
// request it sends. Pure (no DOM), so that the mapping is unit-tested.

import type { TranslationBundle } from '@jupyterlab/translation';
import type { BackendField, IBackend, IConfig, IExecution, ISchedule, ISubmission, MissedRuns } from './api';
import { defaultFrequency, Frequency, frequencyError, fromCron } from './cron';
import { IParameterRow, parametersToSend } from './params';
import { browserTimeZone } from './states';

export interface IFormState {
  kind: 'once' | 'schedule';
  display_name: string;
  backend: string;
  machine_type: string;
  accelerator_type: string;
  accelerator_count: string;
  kernel_name: string;
  environment: string;
  frequency: Frequency;
  time_zone: string;
  missed_runs: MissedRuns;
  region: string;
  output_location: string;
  rows: IParameterRow[];
  parameter_text: string;
  /** "Use Vertex AI Training's default service account" (then `service_account` is not sent). */
  default_service_account: boolean;
  service_account: string;
  network: string;
  timeout_seconds: string;
  cell_timeout_seconds: string;
}

/** Whether the backend takes a field of its own (the dialog shows only those). */
export function takes(backend: IBackend | undefined, field: BackendField): boolean {
  return !!backend && backend.fields.includes(field);
}

/**
 * How the output location is chosen: a Cloud Storage bucket from the project's list for a
 * backend that writes only there (Vertex AI), else a folder or URI typed in.
 */
export function outputKind(backend: IBackend | undefined): 'bucket' | 'path' {
  return backend && backend.output_schemes.length > 0 && backend.output_schemes.every(s => s === 'gs') ? 'bucket' : 'path';
}

/** Where results go when the output location is left empty. */
export function defaultOutputLocation(backend: IBackend | undefined, config: IConfig): string {
  return backend?.default_output_location ?? config.default_output_location;
}

/** A bucket must be chosen: the backend writes only to Cloud Storage, and no default bucket is set. */
export function needsBucket(backend: IBackend | undefined, config: IConfig): boolean {
  return outputKind(backend) === 'bucket' && !defaultOutputLocation(backend, config).startsWith('gs://');
}

/** A bucket as an output location: results go into its root, each run's files named after it. */
export function bucketUri(name: string): string {
  return `gs://${name}/`;
}

/** A machine type as the dialog lists it: with what it is, where its name does not say it. */
export function machineTypeLabel(backend: IBackend, name: string): string {
  const description = backend.machine_type_descriptions?.[name];
  return description ? `${name} (${description})` : name;
}

/** The backends' regions that the Executions list can filter by ([]: no region filter). */
export function filterRegions(config: IConfig | null): string[] {
  const regions = (config?.backends ?? []).filter(b => b.remote && b.configured).flatMap(b => b.regions);
  return [...new Set(regions)];
}

function baseName(path: string): string {
  const name = path.split('/').pop() ?? path;
  return name.replace(/\.ipynb$/, '');
}

/** The form for a notebook: from an execution (run again), a schedule (edit), or anew. */
export function initialState(path: string, config: IConfig, initial?: Partial<IExecution>, schedule?: ISchedule): IFormState {
  const from: Partial<IExecution> = schedule ? (schedule.execution_template as Partial<IExecution>) : initial ?? {};
  const params = Object.entries(from.parameters ?? {}).map(([name, value]) => ({ name, value: JSON.stringify(value) }));
  return {
    kind: schedule ? 'schedule' : 'once',
    display_name: schedule?.display_name ?? from.display_name ?? baseName(path),
    backend: from.backend || config.default_backend,
    machine_type: from.machine_type ?? '',
    accelerator_type: from.accelerator_type ?? '',
    accelerator_count: from.accelerator_count ? String(from.accelerator_count) : '',
    kernel_name: from.kernel_name ?? '',
    environment: from.environment ?? '',
    frequency: schedule ? fromCron(schedule.cron_schedule) : defaultFrequency('daily'),
    time_zone: schedule?.time_zone ?? browserTimeZone(),
    missed_runs: schedule?.missed_runs ?? 'run_once',
    region: from.region ?? '',
    output_location: from.output_location ?? '',
    rows: params,
    parameter_text: '',
    default_service_account: !from.service_account,
    service_account: from.service_account ?? '',
    network: from.network ?? '',
    timeout_seconds: from.timeout_seconds ? String(from.timeout_seconds) : '',
    cell_timeout_seconds: from.cell_timeout_seconds ? String(from.cell_timeout_seconds) : ''
  };
}

/** The changes of choosing another backend: its own fields start over (another backend's
 * machine type, region or output location would not fit it). */
export function switchBackend(name: string): Partial<IFormState> {
  return {
    backend: name,
    machine_type: '',
    accelerator_type: '',
    accelerator_count: '',
    environment: '',
    region: '',
    output_location: '',
    default_service_account: true,
    service_account: '',
    network: ''
  };
}

function optionalNumber(text: string, field: string, errors: Record<string, string>, __: TranslationBundle['__']): number | undefined {
  if (!text.trim()) {
    return undefined;
  }
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) {
    errors[field] = __('Give a positive number.');
    return undefined;
  }
  return n;
}

/** The backend the form has chosen. */
export function chosenBackend(state: Pick<IFormState, 'backend'>, config: IConfig): IBackend | undefined {
  return config.backends.find(b => b.name === state.backend);
}

/**
 * The request of a form, and what is wrong with it (field -> message). Only the fields the
 * chosen backend shows are sent: what another backend's form held stays out.
 */
export function buildRequest(state: IFormState, path: string, config: IConfig, __: TranslationBundle['__']): { submission: ISubmission; errors: Record<string, string> } {
  const backend = chosenBackend(state, config);
  const errors: Record<string, string> = {};
  let parameters: Record<string, unknown> = {};
  try {
    parameters = parametersToSend(state.rows, state.parameter_text);
  } catch (e) {
    errors.parameters = (e as Error).message;
  }
  const own = (field: BackendField, value: string) => (takes(backend, field) && value.trim() ? value.trim() : undefined);
  const submission: ISubmission = {
    input_notebook: path,
    display_name: state.display_name.trim() || undefined,
    backend: state.backend,
    parameters,
    kernel_name: own('kernel_name', state.kernel_name),
    environment: own('environment', state.environment),
    machine_type: own('machine_type', state.machine_type),
    accelerator_type: own('accelerator_type', state.accelerator_type),
    region: own('region', state.region),
    output_location: state.output_location.trim() || undefined,
    service_account: state.default_service_account ? undefined : own('service_account', state.service_account),
    network: own('network', state.network),
    timeout_seconds: optionalNumber(state.timeout_seconds, 'timeout_seconds', errors, __),
    cell_timeout_seconds: optionalNumber(state.cell_timeout_seconds, 'cell_timeout_seconds', errors, __)
  };
  if (takes(backend, 'accelerator_count') && state.accelerator_count.trim()) {
    const n = Number(state.accelerator_count);
    if (!Number.isInteger(n) || n < 0) {
      errors.accelerator_count = __('A whole number.');
    } else {
      submission.accelerator_count = n;
    }
  }
  if (needsBucket(backend, config) && !submission.output_location) {
    errors.output_location = __('Select a bucket, or create one.');
  }
  if (takes(backend, 'service_account') && !state.default_service_account && !state.service_account.trim()) {
    errors.service_account = __("Give the service account's email, or use the default one.");
  }
  if (state.kind === 'schedule') {
    const problem = frequencyError(state.frequency, __);
    if (problem) {
      errors.cron_schedule = problem;
    }
  }
  return { submission, errors };
}
