// The schedule part of the submit dialog: the frequency builder, its cron expression in
// words, the time zone, the missed-runs policy, and the next run times from the server.

import type { TranslationBundle } from '@jupyterlab/translation';
import React from 'react';
import { DAY_NAMES, defaultFrequency, describeCron, FrequencyKind, fromCron } from './cron';
import type { MissedRuns } from './api';
import type { IFormState } from './form';
import { Field, Update } from './formParts';
import { formatZonedTime } from './states';

export interface IScheduleFieldsProps {
  state: IFormState;
  update: Update;
  /** The cron expression of the frequency. */
  cron: string;
  /** The time as typed, and its setter (the schedule changes when it reads as a time). */
  typedTime: string;
  setTime: (text: string) => void;
  zones: string[];
  preview: string[];
  errors: Record<string, string>;
  __: TranslationBundle['__'];
}

export function ScheduleFields(props: IScheduleFieldsProps): JSX.Element {
  const { state, update, cron, typedTime, setTime, zones, preview, errors, __ } = props;
  const f = state.frequency;
  const kinds: [FrequencyKind, string][] = [
    ['minutes', __('Every N minutes')],
    ['hourly', __('Hourly')],
    ['daily', __('Daily')],
    ['weekdays', __('Weekdays')],
    ['weekly', __('Weekly')],
    ['monthly', __('Monthly')],
    ['custom', __('Custom (cron)')]
  ];
  return (
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
  );
}
