// How executions' states and times read in the panel.

import type { ExecutionState, IExecution } from './api';

export const TERMINAL_STATES: ReadonlySet<ExecutionState> = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED', 'EXPIRED']);

export const ALL_STATES: ExecutionState[] = ['QUEUED', 'PREPARING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLING', 'CANCELLED', 'EXPIRED'];

export function isTerminal(state: ExecutionState): boolean {
  return TERMINAL_STATES.has(state);
}

/** "RUNNING" -> "Running". */
export function stateLabel(state: string): string {
  return state.charAt(0) + state.slice(1).toLowerCase();
}

/** The CSS modifier of a state's badge: ok, error, active, idle. */
export function stateTone(state: ExecutionState): 'ok' | 'error' | 'active' | 'idle' {
  switch (state) {
    case 'SUCCEEDED':
      return 'ok';
    case 'FAILED':
    case 'EXPIRED':
      return 'error';
    case 'CANCELLED':
      return 'idle';
    default:
      return 'active';
  }
}

/** The message an execution's row shows: why it failed or expired, or the run's warnings
 * (a string parameter passed as a string...), which a queued, running or successful
 * execution's message holds. */
export function shownStateMessage(e: Pick<IExecution, 'state' | 'state_message'>): string {
  switch (e.state) {
    case 'CANCELLING':
    case 'CANCELLED':
      return '';
    default:
      return e.state_message;
  }
}

/** The warnings of a submission just made (its queued record's message), "" when none. */
export function submissionWarnings(e: Pick<IExecution, 'state' | 'state_message'>): string {
  return e.state === 'QUEUED' ? e.state_message : '';
}

/** 0.4 -> "0.4 s"; 65 -> "1 min 5 s"; 3725 -> "1 h 2 min" (as the result page writes them). */
export function formatDuration(seconds: number): string {
  const exact = Math.max(0, seconds);
  if (exact < 59.95) {
    return `${exact.toFixed(1)} s`;
  }
  const s = Math.round(exact);
  if (s < 3600) {
    const rest = s % 60;
    return rest ? `${Math.floor(s / 60)} min ${rest} s` : `${Math.floor(s / 60)} min`;
  }
  const minutes = Math.floor((s % 3600) / 60);
  return minutes ? `${Math.floor(s / 3600)} h ${minutes} min` : `${Math.floor(s / 3600)} h`;
}

/** How long a run took, or has been running (at `now`); "" before it started. */
export function executionDuration(e: Pick<IExecution, 'start_time' | 'end_time'>, now: number = Date.now()): string {
  if (!e.start_time) {
    return '';
  }
  const start = Date.parse(e.start_time);
  const end = e.end_time ? Date.parse(e.end_time) : now;
  return formatDuration((end - start) / 1000);
}

/** Cells done as a fraction 0..1 (0 when the total is not known yet). */
export function progressFraction(e: Pick<IExecution, 'progress'>): number {
  const { cells_done, cells_total } = e.progress;
  return cells_total > 0 ? Math.min(1, cells_done / cells_total) : 0;
}

/** The browser's IANA time zone (UTC when it cannot tell). */
export function browserTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const WEEKDAYS: Record<string, string> = { Mon: 'Mon', Tue: 'Tue', Wed: 'Wed', Thu: 'Thu', Fri: 'Fri', Sat: 'Sat', Sun: 'Sun' };

interface IWallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  weekday: string;
}

/** The wall-clock time of `t` in `zone`. */
function wallClock(t: Date, zone: string): IWallClock {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    weekday: 'short',
    hourCycle: 'h23'
  }).formatToParts(t);
  const part = (type: string) => parts.find(p => p.type === type)?.value ?? '';
  return {
    year: Number(part('year')),
    month: Number(part('month')),
    day: Number(part('day')),
    hour: Number(part('hour')) % 24,
    minute: Number(part('minute')),
    weekday: WEEKDAYS[part('weekday')] ?? part('weekday')
  };
}

/**
 * A time as the panel and the dialog show it, in `zone` (an IANA name): "14:05" today,
 * "27 Nov 09:00" this year, "2 Jan 2025 09:00" before; `weekday` adds the day's name
 * ("Mon 30 Nov 09:00"). Every time shown names its zone: see `formatZonedTime`.
 */
export function formatTime(iso: string | null, zone: string, now: Date = new Date(), weekday = false): string {
  if (!iso) {
    return '';
  }
  const t = wallClock(new Date(iso), zone);
  const today = wallClock(now, zone);
  const hm = `${String(t.hour).padStart(2, '0')}:${String(t.minute).padStart(2, '0')}`;
  const sameDay = t.year === today.year && t.month === today.month && t.day === today.day;
  if (sameDay && !weekday) {
    return hm;
  }
  const year = t.year !== today.year ? ` ${t.year}` : '';
  return `${weekday ? `${t.weekday} ` : ''}${t.day} ${MONTHS[t.month - 1]}${year} ${hm}`;
}

/** `formatTime` followed by the zone's name: "30 Nov 09:00 Europe/Paris". */
export function formatZonedTime(iso: string | null, zone: string, now: Date = new Date(), weekday = false): string {
  return iso ? `${formatTime(iso, zone, now, weekday)} ${zone}` : '';
}
