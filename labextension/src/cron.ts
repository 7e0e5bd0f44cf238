// The schedule builder of the submit dialog: friendly frequencies <-> 5-field cron, and
// a cron expression in words. The server validates and previews; this only shapes.

export type Frequency =
  | { kind: 'minutes'; every: number }
  | { kind: 'hourly'; minute: number }
  | { kind: 'daily'; hour: number; minute: number }
  | { kind: 'weekdays'; hour: number; minute: number }
  | { kind: 'weekly'; days: number[]; hour: number; minute: number }
  | { kind: 'monthly'; day: number; hour: number; minute: number }
  | { kind: 'custom'; cron: string };

export type FrequencyKind = Frequency['kind'];

/** Translates a message with `%1`-style arguments (JupyterLab's TranslationBundle.__). */
export type Translate = (msg: string, ...args: (string | number)[]) => string;

const identity: Translate = (msg, ...args) => args.reduce<string>((out, arg, i) => out.replace(`%${i + 1}`, String(arg)), msg);

export const DAY_NAMES = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

const pad = (n: number) => String(n).padStart(2, '0');

/** The default of each kind, keeping the time of `from` where it has one. */
export function defaultFrequency(kind: FrequencyKind, from?: Frequency): Frequency {
  const hour = from && 'hour' in from ? from.hour : 9;
  const minute = from && 'minute' in from ? from.minute : 0;
  switch (kind) {
    case 'minutes':
      return { kind, every: 15 };
    case 'hourly':
      return { kind, minute };
    case 'daily':
    case 'weekdays':
      return { kind, hour, minute };
    case 'weekly':
      return { kind, days: [1], hour, minute };
    case 'monthly':
      return { kind, day: 1, hour, minute };
    case 'custom':
      return { kind, cron: from ? toCron(from) : '0 9 * * *' };
  }
}

function inRange(n: number, low: number, high: number): boolean {
  return Number.isInteger(n) && n >= low && n <= high;
}

/** What is wrong with a frequency, or null. */
export function frequencyError(f: Frequency, __: Translate = identity): string | null {
  if ('minute' in f && !inRange(f.minute, 0, 59)) {
    return __('The minute must be 0 to 59.');
  }
  if ('hour' in f && !inRange(f.hour, 0, 23)) {
    return __('The hour must be 0 to 23.');
  }
  switch (f.kind) {
    case 'minutes':
      return inRange(f.every, 1, 59) ? null : __('Every 1 to 59 minutes.');
    case 'weekly':
      return f.days.length && f.days.every(d => inRange(d, 0, 6)) ? null : __('Pick at least one day.');
    case 'monthly':
      return inRange(f.day, 1, 31) ? null : __('The day of the month must be 1 to 31.');
    case 'custom':
      return f.cron.trim().split(/\s+/).length === 5 ? null : __('A cron expression has 5 fields: minute hour day month weekday.');
    default:
      return null;
  }
}

export function toCron(f: Frequency): string {
  switch (f.kind) {
    case 'minutes':
      return f.every === 1 ? '* * * * *' : `*/${f.every} * * * *`;
    case 'hourly':
      return `${f.minute} * * * *`;
    case 'daily':
      return `${f.minute} ${f.hour} * * *`;
    case 'weekdays':
      return `${f.minute} ${f.hour} * * 1-5`;
    case 'weekly':
      return `${f.minute} ${f.hour} * * ${[...new Set(f.days)].sort((a, b) => a - b).join(',')}`;
    case 'monthly':
      return `${f.minute} ${f.hour} ${f.day} * *`;
    case 'custom':
      return f.cron.trim().split(/\s+/).join(' ');
  }
}

const NUMBER = /^\d{1,2}$/;

/** The friendly form of a cron expression when it has one, else `custom`. */
export function fromCron(cron: string): Frequency {
  const fields = cron.trim().split(/\s+/);
  const custom: Frequency = { kind: 'custom', cron: fields.join(' ') };
  if (fields.length !== 5) {
    return custom;
  }
  const [min, hour, dom, month, dow] = fields;
  if (month !== '*') {
    return custom;
  }
  if (hour === '*' && dom === '*' && dow === '*') {
    if (min === '*') {
      return { kind: 'minutes', every: 1 };
    }
    const step = /^\*\/(\d{1,2})$/.exec(min);
    if (step) {
      return { kind: 'minutes', every: Number(step[1]) };
    }
    if (NUMBER.test(min)) {
      return { kind: 'hourly', minute: Number(min) };
    }
    return custom;
  }
  if (!NUMBER.test(min) || !NUMBER.test(hour)) {
    return custom;
  }
  const time = { hour: Number(hour), minute: Number(min) };
  if (dom === '*' && dow === '*') {
    return { kind: 'daily', ...time };
  }
  if (dom === '*' && dow === '1-5') {
    return { kind: 'weekdays', ...time };
  }
  if (dom === '*' && /^[0-7](,[0-7])*$/.test(dow)) {
    const days = [...new Set(dow.split(',').map(d => Number(d) % 7))].sort((a, b) => a - b);
    return { kind: 'weekly', days, ...time };
  }
  if (NUMBER.test(dom) && dow === '*') {
    return { kind: 'monthly', day: Number(dom), ...time };
  }
  return custom;
}

/** A cron expression in words ("Weekdays at 09:00"); custom ones are shown as they are. */
export function describeCron(cron: string, __: Translate = identity): string {
  const f = fromCron(cron);
  const at = 'hour' in f ? `${pad(f.hour)}:${pad(f.minute)}` : '';
  switch (f.kind) {
    case 'minutes':
      return f.every === 1 ? __('Every minute') : __('Every %1 minutes', f.every);
    case 'hourly':
      return __('Hourly at :%1', pad(f.minute));
    case 'daily':
      return __('Daily at %1', at);
    case 'weekdays':
      return __('Weekdays at %1', at);
    case 'weekly':
      return __('Weekly on %1 at %2', f.days.map(d => __(DAY_NAMES[d])).join(', '), at);
    case 'monthly':
      return __('Monthly on day %1 at %2', f.day, at);
    case 'custom':
      return __('Custom: %1', f.cron);
  }
}

/** "7:30" or "07:30" (24-hour clock) -> [7, 30]; null for anything else. */
export function parseTime(text: string): [number, number] | null {
  const match = /^\s*([01]?\d|2[0-3]):([0-5]\d)\s*$/.exec(text);
  return match ? [Number(match[1]), Number(match[2])] : null;
}

/** 7, 5 -> "07:05". */
export function timeText(hour: number, minute: number): string {
  return `${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}`;
}
