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

/** 65 -> "1 min 5 s"; 3725 -> "1 h 2 min"; 0.4 -> "0 s". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) {
    return `${s} s`;
  }
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

/** A time for the lists: "14:05" today, else "28 Nov 14:05" (the browser's zone). */
export function formatTime(iso: string | null, now: Date = new Date()): string {
  if (!iso) {
    return '';
  }
  const t = new Date(iso);
  const hm = `${String(t.getHours()).padStart(2, '0')}:${String(t.getMinutes()).padStart(2, '0')}`;
  if (t.toDateString() === now.toDateString()) {
    return hm;
  }
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const year = t.getFullYear() !== now.getFullYear() ? ` ${t.getFullYear()}` : '';
  return `${t.getDate()} ${months[t.getMonth()]}${year} ${hm}`;
}
