// "Submit notebook to executor": one-time executions and schedules, also used to edit a
// schedule and to run an execution again with the same fields.

import { Dialog } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import React, { useEffect, useMemo, useState } from 'react';
import { ApiError, ExecutorClient, IConfig, IExecution, IKernel, ISchedule, ISubmission, MissedRuns } from './api';
import { DAY_NAMES, defaultFrequency, describeCron, Frequency, FrequencyKind, frequencyError, fromCron, parseTime, timeText, toCron } from './cron';
import { errorPlace, errorText, fieldLabels } from './fields';
import { IParameterRow, parametersToSend, rowsFromNotebook } from './params';
import { browserTimeZone, formatZonedTime } from './states';

export interface ISubmitOptions {
  client: ExecutorClient;
  trans: TranslationBundle;
  /** The notebook, relative to the server's root. */
  path: string;
  /** Fields to start from (run again, edit a schedule). */
  initial?: Partial<IExecution>;
  /** Editing this schedule (PATCH) instead of creating. */
  schedule?: ISchedule;
  /** When the notebook has unsaved changes: saves it. */
  save?: () => Promise<void>;
}

export type SubmitResult = { execution: IExecution } | { schedule: ISchedule };

interface IFormState {
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
  service_account: string;
  network: string;
  timeout_seconds: string;
  cell_timeout_seconds: string;
}

function timeZones(): string[] {
  const zones = (Intl as any).supportedValuesOf ? ((Intl as any).supportedValuesOf('timeZone') as string[]) : [];
  return zones.includes('UTC') ? zones : ['UTC', ...zones];
}

function baseName(path: string): string {
  const name = path.split('/').pop() ?? path;
  return name.replace(/\.ipynb$/, '');
}

function initialState(options: ISubmitOptions, config: IConfig): IFormState {
  const from: Partial<IExecution> = options.schedule ? (options.schedule.execution_template as Partial<IExecution>) : options.initial ?? {};
  const params = Object.entries(from.parameters ?? {}).map(([name, value]) => ({ name, value: JSON.stringify(value) }));
  return {
    kind: options.schedule ? 'schedule' : 'once',
    display_name: options.schedule?.display_name ?? from.display_name ?? baseName(options.path),
    backend: from.backend || config.default_backend,
    machine_type: from.machine_type ?? '',
    accelerator_type: from.accelerator_type ?? '',
    accelerator_count: from.accelerator_count ? String(from.accelerator_count) : '',
    kernel_name: from.kernel_name ?? '',
    environment: from.environment ?? '',
    frequency: options.schedule ? fromCron(options.schedule.cron_schedule) : defaultFrequency('daily'),
    time_zone: options.schedule?.time_zone ?? browserTimeZone(),
    missed_runs: options.schedule?.missed_runs ?? 'run_once',
    region: from.region ?? '',
    output_location: from.output_location ?? '',
    rows: params,
    parameter_text: '',
    service_account: from.service_account ?? '',
    network: from.network ?? '',
    timeout_seconds: from.timeout_seconds ? String(from.timeout_seconds) : '',
    cell_timeout_seconds: from.cell_timeout_seconds ? String(from.cell_timeout_seconds) : ''
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

/** The request of a form, and what is wrong with it (field -> message). */
export function buildRequest(state: IFormState, path: string, __: TranslationBundle['__']): { submission: ISubmission; errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  let parameters: Record<string, unknown> = {};
  try {
    parameters = parametersToSend(state.rows, state.parameter_text);
  } catch (e) {
    errors.parameters = (e as Error).message;
  }
  const submission: ISubmission = {
    input_notebook: path,
    display_name: state.display_name.trim() || undefined,
    backend: state.backend,
    parameters,
    kernel_name: state.kernel_name || undefined,
    environment: state.environment || undefined,
    machine_type: state.machine_type || undefined,
    accelerator_type: state.accelerator_type || undefined,
    region: state.region || undefined,
    output_location: state.output_location.trim() || undefined,
    service_account: state.service_account.trim() || undefined,
    network: state.network.trim() || undefined,
    timeout_seconds: optionalNumber(state.timeout_seconds, 'timeout_seconds', errors, __),
    cell_timeout_seconds: optionalNumber(state.cell_timeout_seconds, 'cell_timeout_seconds', errors, __)
  };
  if (state.accelerator_count.trim()) {
    const n = Number(state.accelerator_count);
    if (!Number.isInteger(n) || n < 0) {
      errors.accelerator_count = __('A whole number.');
    } else {
      submission.accelerator_count = n;
    }
  }
  if (state.kind === 'schedule') {
    const problem = frequencyError(state.frequency, __);
    if (problem) {
      errors.cron_schedule = problem;
    }
  }
  return { submission, errors };
}

function FieldError(props: { id: string; message?: string }): JSX.Element | null {
  return props.message ? (
    <div className="nx-FieldError" id={props.id} role="alert">
      {props.message}
    </div>
  ) : null;
}

interface IFieldProps {
  id: string;
  label: string;
  error?: string;
  children: React.ReactElement;
  hint?: string;
}

function Field(props: IFieldProps): JSX.Element {
  const describedBy = props.error ? `${props.id}-error` : undefined;
  return (
    <div className="nx-Field">
      <label htmlFor={props.id}>{props.label}</label>
      {React.cloneElement(props.children, { id: props.id, 'aria-invalid': !!props.error, 'aria-describedby': describedBy })}
      {props.hint && <div className="nx-Hint">{props.hint}</div>}
      <FieldError id={`${props.id}-error`} message={props.error} />
    </div>
  );
}

function SubmitForm(props: { options: ISubmitOptions; config: IConfig; kernels: IKernel[]; onDone: (r: SubmitResult) => void; onCancel: () => void }): JSX.Element {
  const { options, config } = props;
  const { client, trans } = options;
  const __ = trans.__.bind(trans);
  const [state, setState] = useState<IFormState>(() => initialState(options, config));
  const [serverErrors, setServerErrors] = useState<Record<string, string>>({});
  const [generalError, setGeneralError] = useState('');
  const [busy, setBusy] = useState(false);
  const [preview, setPreview] = useState<string[]>([]);
  const [advanced, setAdvanced] = useState(false);
  const [dirty, setDirty] = useState(!!options.save);
  const zones = useMemo(timeZones, []);
  const labels = useMemo(() => fieldLabels(__), []);
  // The time as typed (24-hour HH:MM); the schedule changes when it reads as a time.
  const [typedTime, setTypedTime] = useState(() => ('hour' in state.frequency ? timeText(state.frequency.hour, state.frequency.minute) : ''));
  const backend = config.backends.find(b => b.name === state.backend) ?? config.backends[0];
  const cron = toCron(state.frequency);

  const update = (changes: Partial<IFormState>) => {
    setState(s => ({ ...s, ...changes }));
    setServerErrors(errors => {
      const out = { ...errors };
      for (const key of Object.keys(changes)) {
        delete out[key];
        if (key === 'frequency') {
          delete out.cron_schedule;
        }
        if (key === 'rows' || key === 'parameter_text') {
          delete out.parameters;
        }
      }
      return out;
    });
  };

  // The notebook's parameters cell fills the table (not when fields are given).
  useEffect(() => {
    if (options.schedule || options.initial) {
      return;
    }
    client
      .notebookParameters(options.path)
      .then(found => setState(s => ({ ...s, rows: rowsFromNotebook(found) })))
      .catch(e => setServerErrors(errors => ({ ...errors, parameters: (e as Error).message })));
  }, []);

  // The next run times, from the server, as the schedule changes.
  useEffect(() => {
    if (state.kind !== 'schedule' || frequencyError(state.frequency)) {
      setPreview([]);
      return;
    }
    const timer = setTimeout(() => {
      client
        .schedulePreview(cron, state.time_zone, 3)
        .then(times => {
          setPreview(times);
          setServerErrors(errors => {
            const { cron_schedule, time_zone, ...rest } = errors;
            return rest;
          });
        })
        .catch(e => {
          setPreview([]);
          const field = e instanceof ApiError && e.field ? e.field : 'cron_schedule';
          setServerErrors(errors => ({ ...errors, [field]: (e as Error).message }));
        });
    }, 250);
    return () => clearTimeout(timer);
  }, [state.kind, cron, state.time_zone]);

  const { submission, errors: localErrors } = buildRequest(state, options.path, __);
  if ('hour' in state.frequency && state.kind === 'schedule' && !parseTime(typedTime)) {
    localErrors.time = __('Give a time as HH:MM on a 24-hour clock, e.g. 09:00 or 17:30.');
  }
  const shownServerErrors = Object.fromEntries(Object.entries(serverErrors).map(([field, message]) => [field, errorText(message, labels, true)]));
  const errors = { ...shownServerErrors, ...localErrors };
  const invalid = Object.keys(errors).length > 0;

  const submit = async () => {
    setBusy(true);
    setGeneralError('');
    try {
      let result: SubmitResult;
      if (state.kind === 'once') {
        result = { execution: await client.submit(submission) };
      } else {
        const fields = {
          display_name: submission.display_name,
          cron_schedule: cron,
          time_zone: state.time_zone,
          missed_runs: state.missed_runs,
          execution_template: submission
        };
        result = { schedule: options.schedule ? await client.updateSchedule(options.schedule.id, fields) : await client.createSchedule(fields) };
      }
      props.onDone(result);
    } catch (e) {
      const place = e instanceof ApiError ? errorPlace(e.field) : 'form';
      if (e instanceof ApiError && place !== 'form') {
        const field = e.field!;
        setServerErrors(errs => ({ ...errs, [field]: e.message }));
        if (place === 'advanced') {
          setAdvanced(true);
        }
      } else {
        setGeneralError(errorText((e as Error).message, labels, false));
      }
    } finally {
      setBusy(false);
    }
  };

  const f = state.frequency;
  const setTime = (text: string) => {
    setTypedTime(text);
    const parsed = parseTime(text);
    if (parsed && 'hour' in f) {
      update({ frequency: { ...f, hour: parsed[0], minute: parsed[1] } });
    }
  };
  // A schedule changed elsewhere (the cron field, another kind) shows its time here.
  const builderTime = 'hour' in f ? timeText(f.hour, f.minute) : '';
  useEffect(() => {
    const typed = parseTime(typedTime);
    if (builderTime && (!typed || timeText(typed[0], typed[1]) !== builderTime)) {
      setTypedTime(builderTime);
    }
  }, [builderTime]);
  const kinds: [FrequencyKind, string][] = [
    ['minutes', __('Every N minutes')],
    ['hourly', __('Hourly')],
    ['daily', __('Daily')],
    ['weekdays', __('Weekdays')],
    ['weekly', __('Weekly')],
    ['monthly', __('Monthly')],
    ['custom', __('Custom (cron)')]
  ];
  const remote = state.backend !== 'local';

  return (
    <form
      className="nx-SubmitForm"
      aria-label={__('Submit notebook to executor')}
      onSubmit={e => {
        e.preventDefault();
        if (!invalid && !busy) {
          void submit();
        }
      }}
    >
      <div className="nx-Notebook">
        {__('Notebook')}: <code>{options.path}</code>
      </div>
      {dirty && options.save && (
        <div className="nx-Warning" role="status">
          {__('The notebook has unsaved changes: the executor runs the saved file.')}{' '}
          <button
            type="button"
            className="jp-mod-styled jp-mod-accept nx-SmallButton"
            onClick={() => {
              void options.save!().then(() => setDirty(false));
            }}
          >
            {__('Save now')}
          </button>
        </div>
      )}
      <Field id="nx-display-name" label={__('Execution name')} error={errors.display_name}>
        <input className="jp-mod-styled" value={state.display_name} onChange={e => update({ display_name: e.target.value })} />
      </Field>
      <Field id="nx-backend" label={__('Backend')} error={errors.backend}>
        <select className="jp-mod-styled" value={state.backend} onChange={e => update({ backend: e.target.value, machine_type: '', accelerator_type: '', environment: '' })}>
          {config.backends.map(b => (
            <option key={b.name} value={b.name}>
              {b.name}
            </option>
          ))}
        </select>
      </Field>
      {backend && backend.machine_types.length > 0 && (
        <Field id="nx-machine-type" label={__('Machine type')} error={errors.machine_type}>
          <select className="jp-mod-styled" value={state.machine_type} onChange={e => update({ machine_type: e.target.value })}>
            <option value="">{__('Default')}</option>
            {backend.machine_types.map(m => (
              <option key={m}>{m}</option>
            ))}
          </select>
        </Field>
      )}
      {backend && backend.accelerator_types.length > 0 && (
        <div className="nx-Row">
          <Field id="nx-accelerator-type" label={__('Accelerator type')} error={errors.accelerator_type}>
            <select className="jp-mod-styled" value={state.accelerator_type} onChange={e => update({ accelerator_type: e.target.value })}>
              <option value="">{__('None')}</option>
              {backend.accelerator_types.map(a => (
                <option key={a}>{a}</option>
              ))}
            </select>
          </Field>
          <Field id="nx-accelerator-count" label={__('Accelerator count')} error={errors.accelerator_count}>
            <input className="jp-mod-styled" type="number" min={0} value={state.accelerator_count} onChange={e => update({ accelerator_count: e.target.value })} />
          </Field>
        </div>
      )}
      {remote ? (
        <Field id="nx-environment" label={__('Environment')} error={errors.environment}>
          <select className="jp-mod-styled" value={state.environment} onChange={e => update({ environment: e.target.value })}>
            <option value="">{__('Default image')}</option>
            {config.container_images.map(i => (
              <option key={i}>{i}</option>
            ))}
          </select>
        </Field>
      ) : (
        <Field id="nx-kernel" label={__('Environment')} error={errors.kernel_name} hint={__('The kernel the notebook runs on.')}>
          <select className="jp-mod-styled" value={state.kernel_name} onChange={e => update({ kernel_name: e.target.value })}>
            <option value="">{__("The notebook's kernel")}</option>
            {props.kernels.map(k => (
              <option key={k.name} value={k.name}>
                {k.display_name}
              </option>
            ))}
          </select>
        </Field>
      )}

      {!options.schedule && (
        <fieldset className="nx-Kind">
          <legend>{__('Type')}</legend>
          <label>
            <input type="radio" name="nx-kind" checked={state.kind === 'once'} onChange={() => update({ kind: 'once' })} /> {__('One-time execution')}
          </label>
          <label>
            <input type="radio" name="nx-kind" checked={state.kind === 'schedule'} onChange={() => update({ kind: 'schedule' })} /> {__('Schedule-based recurring executions')}
          </label>
        </fieldset>
      )}

      {state.kind === 'schedule' && (
        <fieldset className="nx-Schedule">
          <legend>{__('Schedule')}</legend>
          <Field id="nx-frequency" label={__('Repeat')}>
            <select className="jp-mod-styled" value={f.kind} onChange={e => update({ frequency: defaultFrequency(e.target.value as FrequencyKind, f) })}>
              {kinds.map(([k, label]) => (
                <option key={k} value={k}>
                  {label}
                </option>
              ))}
            </select>
          </Field>
          {f.kind === 'minutes' && (
            <Field id="nx-every" label={__('Every (minutes)')}>
              <input className="jp-mod-styled" type="number" min={1} max={59} value={f.every} onChange={e => update({ frequency: { kind: 'minutes', every: Number(e.target.value) } })} />
            </Field>
          )}
          {f.kind === 'hourly' && (
            <Field id="nx-minute" label={__('At minute')}>
              <input className="jp-mod-styled" type="number" min={0} max={59} value={f.minute} onChange={e => update({ frequency: { kind: 'hourly', minute: Number(e.target.value) } })} />
            </Field>
          )}
          {f.kind === 'weekly' && (
            <fieldset className="nx-Days">
              <legend>{__('On')}</legend>
              {DAY_NAMES.map((d, i) => (
                <label key={d}>
                  <input
                    type="checkbox"
                    checked={f.days.includes(i)}
                    onChange={e => update({ frequency: { ...f, days: e.target.checked ? [...f.days, i] : f.days.filter(x => x !== i) } })}
                  />{' '}
                  {__(d)}
                </label>
              ))}
            </fieldset>
          )}
          {f.kind === 'monthly' && (
            <Field id="nx-day" label={__('On day')}>
              <input className="jp-mod-styled" type="number" min={1} max={31} value={f.day} onChange={e => update({ frequency: { ...f, day: Number(e.target.value) } })} />
            </Field>
          )}
          {'hour' in f && (
            <Field id="nx-time" label={__('At (24-hour clock)')} error={errors.time}>
              <input className="jp-mod-styled nx-TimeInput" inputMode="numeric" placeholder="HH:MM" value={typedTime} onChange={e => setTime(e.target.value)} />
            </Field>
          )}
          <Field id="nx-cron" label={__('Cron expression')} error={errors.cron_schedule} hint={describeCron(cron, __)}>
            <input
              className="jp-mod-styled nx-Cron"
              value={f.kind === 'custom' ? f.cron : cron}
              onChange={e => {
                // Typed text stays as typed (spaces and all) unless the builder can show it.
                const parsed = fromCron(e.target.value);
                update({ frequency: parsed.kind === 'custom' ? { kind: 'custom', cron: e.target.value } : parsed });
              }}
            />
          </Field>
          <Field id="nx-time-zone" label={__('Time zone')} error={errors.time_zone}>
            <select className="jp-mod-styled" value={state.time_zone} onChange={e => update({ time_zone: e.target.value })}>
              {(zones.includes(state.time_zone) ? zones : [state.time_zone, ...zones]).map(z => (
                <option key={z}>{z}</option>
              ))}
            </select>
          </Field>
          <Field id="nx-missed-runs" label={__('Missed runs')} hint={__('What to do about runs missed while nothing was running.')}>
            <select className="jp-mod-styled" value={state.missed_runs} onChange={e => update({ missed_runs: e.target.value as MissedRuns })}>
              <option value="skip">{__('Skip them')}</option>
              <option value="run_once">{__('Run once')}</option>
              <option value="run_all">{__('Run each')}</option>
            </select>
          </Field>
          <div className="nx-Preview" aria-live="polite">
            <div>{__('Next runs')}:</div>
            <ul>
              {preview.map(t => (
                <li key={t}>{formatZonedTime(t, state.time_zone, undefined, true)}</li>
              ))}
            </ul>
          </div>
        </fieldset>
      )}

      <details className="nx-Advanced" open={advanced} onToggle={e => setAdvanced((e.target as HTMLDetailsElement).open)}>
        <summary>{__('Advanced options')}</summary>
        {backend && backend.regions.length > 0 && (
          <Field id="nx-region" label={__('Region')} error={errors.region}>
            <select className="jp-mod-styled" value={state.region} onChange={e => update({ region: e.target.value })}>
              <option value="">{__('Default')}</option>
              {backend.regions.map(r => (
                <option key={r}>{r}</option>
              ))}
            </select>
          </Field>
        )}
        <Field
          id="nx-output-location"
          label={__('Output location')}
          error={errors.output_location}
          hint={__('A folder under the server root (a gs:// bucket URI for remote backends). Left empty, results go to the default shown.')}
        >
          <input className="jp-mod-styled" value={state.output_location} placeholder={config.default_output_location} onChange={e => update({ output_location: e.target.value })} />
        </Field>
        <fieldset className="nx-Parameters">
          <legend>{__('Input parameters')}</legend>
          <table className="nx-ParameterTable">
            <thead>
              <tr>
                <th scope="col">{__('Name')}</th>
                <th scope="col">{__('Value')}</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {state.rows.map((row, i) => (
                <tr key={i}>
                  <td>
                    {row.initial !== undefined ? (
                      <span title={row.help}>{row.name}</span>
                    ) : (
                      <input
                        className="jp-mod-styled"
                        aria-label={__('Parameter name')}
                        value={row.name}
                        onChange={e => update({ rows: state.rows.map((r, j) => (j === i ? { ...r, name: e.target.value } : r)) })}
                      />
                    )}
                  </td>
                  <td>
                    <input
                      className="jp-mod-styled"
                      aria-label={__('Value of %1', row.name)}
                      data-parameter={row.name}
                      value={row.value}
                      onChange={e => update({ rows: state.rows.map((r, j) => (j === i ? { ...r, value: e.target.value } : r)) })}
                    />
                  </td>
                  <td>
                    {row.initial === undefined && (
                      <button type="button" className="jp-mod-styled nx-SmallButton" aria-label={__('Remove')} onClick={() => update({ rows: state.rows.filter((_, j) => j !== i) })}>
                        ×
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <button type="button" className="jp-mod-styled nx-SmallButton" onClick={() => update({ rows: [...state.rows, { name: '', value: '' }] })}>
            {__('Add parameter')}
          </button>
          <Field id="nx-parameter-text" label={__('Or as text')} hint={__('e.g. optimizer="SGD",learning_rate=0.01 (wins over the table)')} error={errors.parameters}>
            <input className="jp-mod-styled" value={state.parameter_text} onChange={e => update({ parameter_text: e.target.value })} />
          </Field>
        </fieldset>
        <Field id="nx-service-account" label={__('Service account')} error={errors.service_account}>
          <input className="jp-mod-styled" value={state.service_account} onChange={e => update({ service_account: e.target.value })} />
        </Field>
        <Field id="nx-network" label={__('Network')} error={errors.network}>
          <input className="jp-mod-styled" value={state.network} onChange={e => update({ network: e.target.value })} />
        </Field>
        <div className="nx-Row">
          <Field id="nx-timeout" label={__('Timeout (s)')} error={errors.timeout_seconds}>
            <input className="jp-mod-styled" inputMode="decimal" value={state.timeout_seconds} onChange={e => update({ timeout_seconds: e.target.value })} />
          </Field>
          <Field id="nx-cell-timeout" label={__('Cell timeout (s)')} error={errors.cell_timeout_seconds}>
            <input className="jp-mod-styled" inputMode="decimal" value={state.cell_timeout_seconds} onChange={e => update({ cell_timeout_seconds: e.target.value })} />
          </Field>
        </div>
      </details>

      {generalError && (
        <div className="nx-FieldError" role="alert">
          {generalError}
        </div>
      )}
      <div className="nx-Footer">
        <button type="button" className="jp-Dialog-button jp-mod-reject jp-mod-styled" onClick={props.onCancel}>
          <div className="jp-Dialog-buttonLabel">{__('Cancel')}</div>
        </button>
        <button type="submit" className="jp-Dialog-button jp-mod-accept jp-mod-styled" disabled={invalid || busy}>
          <div className="jp-Dialog-buttonLabel">{busy ? __('Submitting…') : options.schedule ? __('Save') : __('Submit')}</div>
        </button>
      </div>
    </form>
  );
}

/** Opens the dialog; resolves with what was created, or null when cancelled. */
export async function openSubmitDialog(options: ISubmitOptions): Promise<SubmitResult | null> {
  const [config, environments] = await Promise.all([options.client.config(), options.client.environments()]);
  let result: SubmitResult | null = null;
  let dialog: Dialog<unknown>;
  const body = ReactWidget.create(
    <SubmitForm
      options={options}
      config={config}
      kernels={environments.kernels}
      onDone={r => {
        result = r;
        dialog.reject(); // closes it: the result is ours, not a button's
      }}
      onCancel={() => dialog.reject()}
    />
  );
  body.addClass('nx-SubmitDialogBody');
  dialog = new Dialog({
    title: options.schedule ? options.trans.__('Edit schedule') : options.trans.__('Submit notebook to executor'),
    body,
    buttons: [],
    hasClose: true
  });
  dialog.addClass('nx-SubmitDialog');
  await dialog.launch();
  return result;
}
