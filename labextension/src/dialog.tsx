// "Submit notebook to executor": one-time executions and schedules, also used to edit a
// schedule and to run an execution again with the same fields.

import { Dialog } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import React, { useEffect, useMemo, useState } from 'react';
import { ApiError, ExecutorClient, IConfig, IExecution, IKernel, ISchedule } from './api';
import { EnvironmentField, ImageList, MachineFields, NetworkField, OutputField, RegionField, ServiceAccountField } from './backendFields';
import { frequencyError, parseTime, timeText, toCron } from './cron';
import { errorPlace, errorText, fieldLabels } from './fields';
import { buildRequest, chosenBackend, initialState, IFormState, needsBucket, outputKind, switchBackend } from './form';
import { Field } from './formParts';
import { ParameterFields } from './parameterFields';
import { rowsFromNotebook } from './params';
import { ScheduleFields } from './scheduleFields';

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

function timeZones(): string[] {
  const zones = (Intl as any).supportedValuesOf ? ((Intl as any).supportedValuesOf('timeZone') as string[]) : [];
  return zones.includes('UTC') ? zones : ['UTC', ...zones];
}

function SubmitForm(props: { options: ISubmitOptions; config: IConfig; kernels: IKernel[]; onDone: (r: SubmitResult) => void; onCancel: () => void }): JSX.Element {
  const { options, config } = props;
  const { client, trans } = options;
  const __ = trans.__.bind(trans);
  const [state, setState] = useState<IFormState>(() => initialState(options.path, config, options.initial, options.schedule));
  const [serverErrors, setServerErrors] = useState<Record<string, string>>({});
  const [generalError, setGeneralError] = useState('');
  const [busy, setBusy] = useState(false);
  const [preview, setPreview] = useState<string[]>([]);
  const [advanced, setAdvanced] = useState(false);
  const [dirty, setDirty] = useState(!!options.save);
  const zones = useMemo(timeZones, []);
  // The time as typed (24-hour HH:MM); the schedule changes when it reads as a time.
  const [typedTime, setTypedTime] = useState(() => ('hour' in state.frequency ? timeText(state.frequency.hour, state.frequency.minute) : ''));
  const backend = chosenBackend(state, config);
  // A bucket that must be chosen is in view, not under Advanced options.
  const bucketInView = needsBucket(backend, config);
  const labels = useMemo(() => fieldLabels(__, outputKind(backend) === 'bucket'), [backend]);
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

  const { submission, errors: localErrors } = buildRequest(state, options.path, config, __);
  if ('hour' in state.frequency && state.kind === 'schedule' && !parseTime(typedTime)) {
    localErrors.time = __('Give a time as HH:MM on a 24-hour clock, e.g. 09:00 or 17:30.');
  }
  const shownServerErrors = Object.fromEntries(Object.entries(serverErrors).map(([field, message]) => [field, errorText(message, labels, true)]));
  const errors = { ...shownServerErrors, ...localErrors };
  const invalid = Object.keys(errors).length > 0;
  const fieldProps = { backend, state, update, errors, __ };

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
      const place = e instanceof ApiError ? errorPlace(e.field, backend) : 'form';
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
      <Field
        id="nx-backend"
        label={__('Backend')}
        error={errors.backend}
        hint={backend && !backend.configured ? __("Not set up on this server (the README's section on this backend says how).") : undefined}
      >
        <select className="jp-mod-styled" value={state.backend} onChange={e => update(switchBackend(e.target.value))}>
          {config.backends.map(b => (
            <option key={b.name} value={b.name}>
              {backendLabel(b.name, __)}
            </option>
          ))}
        </select>
      </Field>
      <MachineFields {...fieldProps} />
      <EnvironmentField {...fieldProps} kernels={props.kernels} />
      <ImageList backend={backend} />
      {bucketInView && <OutputField {...fieldProps} client={client} config={config} />}

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
        <ScheduleFields state={state} update={update} cron={cron} typedTime={typedTime} setTime={setTime} zones={zones} preview={preview} errors={errors} __={__} />
      )}

      <details className="nx-Advanced" open={advanced} onToggle={e => setAdvanced((e.target as HTMLDetailsElement).open)}>
        <summary>{__('Advanced options')}</summary>
        <RegionField {...fieldProps} />
        {!bucketInView && <OutputField {...fieldProps} client={client} config={config} />}
        <ParameterFields state={state} update={update} error={errors.parameters} __={__} />
        <ServiceAccountField {...fieldProps} />
        <NetworkField {...fieldProps} />
        <div className="nx-Row">
          <Field id="nx-timeout" label={__('Timeout (s)')} error={errors.timeout_seconds}>
            <input className="jp-mod-styled" inputMode="decimal" value={state.timeout_seconds} onChange={e => update({ timeout_seconds: e.target.value })} />
          </Field>
          <Field id="nx-cell-timeout" label={__('Cell timeout (s)')} error={errors.cell_timeout_seconds}>
            <input className="jp-mod-styled" inputMode="decimal" value={state.cell_timeout_seconds} onChange={e => update({ cell_timeout_seconds: e.target.value })} />
          </Field>
        </div>
      </details>

      <div className="nx-Footer">
        {/* In the footer, which stays in view: a form scrolled to its top still shows why. */}
        {generalError && (
          <div className="nx-FieldError nx-FormError" role="alert">
            {generalError}
          </div>
        )}
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

/** A backend as the dialog names it. */
function backendLabel(name: string, __: TranslationBundle['__']): string {
  const known: Record<string, string> = { local: __('Local (this server)'), vertex: __('Vertex AI'), ray: __('Ray cluster') };
  return known[name] ?? name;
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
