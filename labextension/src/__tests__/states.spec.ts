import {
  executionDuration,
  formatDuration,
  formatTime,
  formatZonedTime,
  isTerminal,
  progressFraction,
  shownStateMessage,
  stateLabel,
  stateTone,
  submissionWarnings
} from '../states';

describe('states', () => {
  it('labels and tones', () => {
    expect(stateLabel('RUNNING')).toBe('Running');
    expect(stateTone('SUCCEEDED')).toBe('ok');
    expect(stateTone('FAILED')).toBe('error');
    expect(stateTone('EXPIRED')).toBe('error');
    expect(stateTone('QUEUED')).toBe('active');
    expect(stateTone('CANCELLED')).toBe('idle');
    expect(isTerminal('CANCELLED')).toBe(true);
    expect(isTerminal('CANCELLING')).toBe(false);
  });

  it('durations', () => {
    expect(formatDuration(0.4)).toBe('0.4 s');
    expect(formatDuration(12.34)).toBe('12.3 s');
    expect(formatDuration(59.97)).toBe('1 min');
    expect(formatDuration(65)).toBe('1 min 5 s');
    expect(formatDuration(120)).toBe('2 min');
    expect(formatDuration(3725)).toBe('1 h 2 min');
    expect(formatDuration(7200)).toBe('2 h');
    expect(executionDuration({ start_time: null, end_time: null })).toBe('');
    expect(executionDuration({ start_time: '2026-01-01T00:00:00Z', end_time: '2026-01-01T00:01:05Z' })).toBe('1 min 5 s');
    expect(executionDuration({ start_time: '2026-01-01T00:00:00Z', end_time: null }, Date.parse('2026-01-01T00:00:10Z'))).toBe('10.0 s');
  });

  it('messages: failures and warnings are shown, cancel notes are not', () => {
    const warning = 'parameter n: "It works" does not convert to int (the type of its default): passed as a string';
    expect(shownStateMessage({ state: 'FAILED', state_message: 'In [2] raised ValueError: x' })).toBe('In [2] raised ValueError: x');
    expect(shownStateMessage({ state: 'SUCCEEDED', state_message: warning })).toBe(warning);
    expect(shownStateMessage({ state: 'QUEUED', state_message: warning })).toBe(warning);
    expect(shownStateMessage({ state: 'SUCCEEDED', state_message: '' })).toBe('');
    expect(shownStateMessage({ state: 'CANCELLING', state_message: 'cancel requested' })).toBe('');
    expect(submissionWarnings({ state: 'QUEUED', state_message: warning })).toBe(warning);
    expect(submissionWarnings({ state: 'QUEUED', state_message: '' })).toBe('');
    expect(submissionWarnings({ state: 'SUCCEEDED', state_message: warning })).toBe('');
  });

  it('progress', () => {
    expect(progressFraction({ progress: { cells_total: 0, cells_done: 0, current_cell: null } })).toBe(0);
    expect(progressFraction({ progress: { cells_total: 4, cells_done: 1, current_cell: 1 } })).toBe(0.25);
  });

  it('times, in the zone they are shown in', () => {
    const now = new Date('2026-11-28T15:00:00Z');
    expect(formatTime('2026-11-28T14:05:00Z', 'UTC', now)).toBe('14:05');
    expect(formatTime('2026-11-28T14:05:00Z', 'Europe/Paris', now)).toBe('15:05');
    expect(formatTime('2026-11-27T09:00:00Z', 'UTC', now)).toBe('27 Nov 09:00');
    expect(formatTime('2025-01-02T09:00:00Z', 'UTC', now)).toBe('2 Jan 2025 09:00');
    // "Today" is today in that zone: at 10:00 UTC it is the 28th in Tokyo, and 23:30 UTC is
    // 08:30 on the 29th there; at 15:00 UTC it is already the 29th in Tokyo.
    expect(formatTime('2026-11-28T23:30:00Z', 'Asia/Tokyo', new Date('2026-11-28T10:00:00Z'))).toBe('29 Nov 08:30');
    expect(formatTime('2026-11-28T23:30:00Z', 'Asia/Tokyo', now)).toBe('08:30');
    expect(formatTime('2026-11-28T00:30:00Z', 'America/New_York', now)).toBe('27 Nov 19:30');
    // Midnight is 00, not 24.
    expect(formatTime('2026-11-28T00:00:00Z', 'UTC', now)).toBe('00:00');
    expect(formatTime(null, 'UTC')).toBe('');
  });

  it('times name their zone, with the weekday for schedules', () => {
    const now = new Date('2026-11-28T15:00:00Z');
    expect(formatZonedTime('2026-11-30T08:00:00Z', 'Europe/Paris', now, true)).toBe('Mon 30 Nov 09:00 Europe/Paris');
    expect(formatZonedTime('2026-11-28T16:20:00Z', 'UTC', now)).toBe('16:20 UTC');
    // The preview's times come with an offset: the same instant, shown in the schedule's zone.
    expect(formatZonedTime('2026-12-01T09:00:00+01:00', 'Europe/Paris', now, true)).toBe('Tue 1 Dec 09:00 Europe/Paris');
    expect(formatZonedTime(null, 'UTC')).toBe('');
  });
});
