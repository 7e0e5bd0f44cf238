// The REST client of the server extension (python/notebook_executor/openapi.yaml), over
// JupyterLab's ServerConnection settings (base URL, token, XSRF).

import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

export type ExecutionState =
  | 'QUEUED'
  | 'PREPARING'
  | 'RUNNING'
  | 'SUCCEEDED'
  | 'FAILED'
  | 'CANCELLING'
  | 'CANCELLED'
  | 'EXPIRED';

export interface IProgress {
  cells_total: number;
  cells_done: number;
  current_cell: number | null;
}

/** The fields a submission sets (SPEC's Execution fields). */
export interface ISubmission {
  input_notebook: string;
  display_name?: string;
  parameters?: Record<string, unknown> | string;
  kernel_name?: string;
  environment?: string;
  backend?: string;
  machine_type?: string;
  accelerator_type?: string;
  accelerator_count?: number;
  region?: string;
  output_location?: string;
  service_account?: string;
  network?: string;
  labels?: Record<string, string>;
  timeout_seconds?: number | null;
  cell_timeout_seconds?: number | null;
}

export interface IExecution extends Required<Omit<ISubmission, 'parameters' | 'timeout_seconds' | 'cell_timeout_seconds'>> {
  id: string;
  parameters: Record<string, unknown>;
  timeout_seconds: number | null;
  cell_timeout_seconds: number | null;
  state: ExecutionState;
  state_message: string;
  /** What kind of failure ended the run ('' for any other end, or a failure of the platform). */
  failure_kind: '' | 'cell_error' | 'kernel_died' | 'kernel_not_found' | 'timeout';
  schedule_id: string | null;
  scheduled_time: string | null;
  create_time: string;
  start_time: string | null;
  end_time: string | null;
  update_time: string;
  progress: IProgress;
  output_notebook_uri: string;
  output_html_uri: string;
  backend_job_id: string;
  /** Where its job can be seen outside JupyterLab (Vertex AI: the job and its logs in the console). */
  links: IJobLink[];
}

export interface IJobLink {
  label: string;
  url: string;
}

/** What a run has printed so far: the engine's job log (Ray) or the notebook's own output. */
export interface ILogs {
  source: 'job' | 'notebook';
  text: string;
}

export type MissedRuns = 'skip' | 'run_once' | 'run_all';

export interface ISchedule {
  id: string;
  display_name: string;
  cron_schedule: string;
  time_zone: string;
  state: 'ENABLED' | 'PAUSED';
  missed_runs: MissedRuns;
  execution_template: Partial<IExecution>;
  create_time: string;
  update_time: string;
  next_run_time: string | null;
  last_execution: { id: string; state: ExecutionState } | null;
}

export interface IScheduleFields {
  display_name?: string;
  cron_schedule: string;
  time_zone?: string;
  missed_runs?: MissedRuns;
  execution_template: ISubmission;
}

export interface IShare {
  id: string;
  execution_id: string;
  create_time: string;
  expire_time: string;
  url?: string;
}

/** The ways to share a result (`POST executions/{id}/share`). */
export type ShareRequest =
  | { kind: 'link'; lifetime_seconds?: number }
  | { kind: 'signed_url'; lifetime_seconds?: number; include_notebook?: boolean }
  | { kind: 'bucket_access'; member: string };

export type ShareAnswer =
  | ({ kind: 'link' } & Required<IShare>)
  | { kind: 'signed_url'; url: string; notebook_url?: string; expire_time: string }
  | { kind: 'bucket_access'; bucket: string; member: string; role: string; changed: boolean; warning: string };

/** A submission field that only some backends take (see IBackend.fields). */
export type BackendField = 'kernel_name' | 'machine_type' | 'accelerator_type' | 'accelerator_count' | 'environment' | 'region' | 'service_account' | 'network';

export interface IBackend {
  name: string;
  remote: boolean;
  /** Its settings say where to run (a project, a cluster); the local backend always is. */
  configured: boolean;
  /** The fields of its own it takes: the dialog shows only these. */
  fields: BackendField[];
  machine_types: string[];
  /** What a machine type is, where its name does not say it (Ray's resource shapes). */
  machine_type_descriptions: Record<string, string>;
  accelerator_types: string[];
  regions: string[];
  default_region: string | null;
  /** The images it runs, the first the default. */
  container_images: string[];
  /** URL schemes of the output locations it writes to ("" is a local path). */
  output_schemes: string[];
  /** Where its results go when a submission names none (null: the server's default). */
  default_output_location: string | null;
}

export interface IBucket {
  name: string;
  location: string;
  create_time: string;
}

export interface IConfig {
  backends: IBackend[];
  default_backend: string;
  machine_types: string[];
  accelerator_types: string[];
  regions: string[];
  container_images: string[];
  default_kernel_name: string;
  default_output_location: string;
  missed_runs: MissedRuns[];
  share_lifetime_seconds: number;
  imported_notebooks_dir: string;
}

export interface IKernel {
  name: string;
  display_name: string;
  language: string;
}

export interface INotebookParameter {
  name: string;
  type: string;
  default: unknown;
  source: string;
  help: string;
}

export interface IListQuery {
  state?: string;
  region?: string;
  page_size?: number;
  page_token?: string | null;
}

export interface IPage<T> {
  items: T[];
  next_page_token: string | null;
}

/** An error answer of the API: its status, code, message and, when known, the field. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string
  ) {
    super(message);
  }
}

export const API_PATH = 'notebook-executor/api/v1';

export class ExecutorClient {
  constructor(readonly settings: ServerConnection.ISettings = ServerConnection.makeSettings()) {}

  /** The absolute URL of an API path (for links a browser tab opens). */
  url(...parts: string[]): string {
    return URLExt.join(this.settings.baseUrl, API_PATH, ...parts.map(encodeURIComponent));
  }

  private async request<T>(method: string, parts: string[], body?: unknown, query?: Record<string, string | undefined>): Promise<T> {
    let url = this.url(...parts);
    const params = Object.entries(query ?? {}).filter(([, v]) => v !== undefined && v !== '') as [string, string][];
    if (params.length) {
      url += '?' + new URLSearchParams(params).toString();
    }
    const init: RequestInit = { method };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { 'Content-Type': 'application/json' };
    }
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(url, init, this.settings);
    } catch (e) {
      throw new ApiError(0, 'network', `The server cannot be reached: ${(e as Error).message}`);
    }
    if (response.status === 204) {
      return undefined as T;
    }
    const text = await response.text();
    let data: any = undefined;
    try {
      data = text ? JSON.parse(text) : undefined;
    } catch {
      data = undefined;
    }
    if (!response.ok) {
      const error = data?.error;
      throw new ApiError(response.status, error?.code ?? 'error', error?.message || response.statusText || `HTTP ${response.status}`, error?.field);
    }
    return data as T;
  }

  config(): Promise<IConfig> {
    return this.request('GET', ['config']);
  }

  async environments(): Promise<{ kernels: IKernel[]; container_images: string[] }> {
    return this.request('GET', ['environments']);
  }

  async notebookParameters(path: string): Promise<INotebookParameter[]> {
    return (await this.request<{ parameters: INotebookParameter[] }>('GET', ['notebooks', 'parameters'], undefined, { path })).parameters;
  }

  async schedulePreview(cron: string, timeZone: string, count = 3): Promise<string[]> {
    const r = await this.request<{ next_run_times: string[] }>('GET', ['schedules', 'preview'], undefined, {
      cron_schedule: cron,
      time_zone: timeZone,
      count: String(count)
    });
    return r.next_run_times;
  }

  submit(fields: ISubmission): Promise<IExecution> {
    return this.request('POST', ['executions'], fields);
  }

  /** A page of a collection: `key` names the items in the answer. */
  private async page<T>(collection: 'executions' | 'schedules', query: IListQuery): Promise<IPage<T>> {
    const { page_size, page_token, ...filters } = query;
    const r = await this.request<Record<string, unknown>>('GET', [collection], undefined, {
      ...filters,
      page_size: page_size ? String(page_size) : undefined,
      page_token: page_token ?? undefined
    });
    return { items: r[collection] as T[], next_page_token: (r.next_page_token as string | null) ?? null };
  }

  listExecutions(query: IListQuery & { schedule_id?: string }): Promise<IPage<IExecution>> {
    return this.page('executions', query);
  }

  getExecution(id: string): Promise<IExecution> {
    return this.request('GET', ['executions', id]);
  }

  cancel(id: string): Promise<IExecution> {
    return this.request('POST', ['executions', id, 'cancel'], {});
  }

  deleteExecution(id: string): Promise<void> {
    return this.request('DELETE', ['executions', id]);
  }

  async importResult(id: string, destDir?: string): Promise<string> {
    return (await this.request<{ path: string }>('POST', ['executions', id, 'import'], destDir ? { dest_dir: destDir } : {})).path;
  }

  async shares(id: string): Promise<IShare[]> {
    return (await this.request<{ shares: IShare[] }>('GET', ['executions', id, 'shares'])).shares;
  }

  revokeShare(id: string, shareId: string): Promise<void> {
    return this.request('DELETE', ['executions', id, 'shares', shareId]);
  }

  logs(id: string): Promise<ILogs> {
    return this.request('GET', ['executions', id, 'logs']);
  }

  share(id: string, request: ShareRequest): Promise<ShareAnswer> {
    return this.request('POST', ['executions', id, 'share'], request);
  }

  async buckets(): Promise<IBucket[]> {
    return (await this.request<{ buckets: IBucket[] }>('GET', ['storage', 'buckets'])).buckets;
  }

  createBucket(name: string, location?: string): Promise<IBucket> {
    return this.request('POST', ['storage', 'buckets'], location ? { name, location } : { name });
  }

  resultUrl(id: string): string {
    return this.url('executions', id, 'result');
  }

  createSchedule(fields: IScheduleFields): Promise<ISchedule> {
    return this.request('POST', ['schedules'], fields);
  }

  listSchedules(query: IListQuery): Promise<IPage<ISchedule>> {
    return this.page('schedules', query);
  }

  getSchedule(id: string): Promise<ISchedule> {
    return this.request('GET', ['schedules', id]);
  }

  updateSchedule(id: string, changes: Partial<IScheduleFields> & { state?: 'ENABLED' | 'PAUSED' }): Promise<ISchedule> {
    return this.request('PATCH', ['schedules', id], changes);
  }

  deleteSchedule(id: string): Promise<void> {
    return this.request('DELETE', ['schedules', id]);
  }

  runScheduleNow(id: string, parameters?: Record<string, unknown> | string): Promise<IExecution> {
    return this.request('POST', ['schedules', id, 'run'], parameters !== undefined ? { parameters } : {});
  }
}

/** The schema of the server's change events (see the server's event_schemas). */
export const CHANGE_SCHEMA_ID = 'https://events.jupyter.org/notebook_executor/change/v1';

export interface IChangeEvent {
  executions: IExecution[];
  schedules: ISchedule[];
  deleted_executions: string[];
  deleted_schedules: string[];
}
