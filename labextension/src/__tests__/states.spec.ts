import { executionDuration, formatDuration, formatTime, isTerminal, progressFraction, shownStateMessage, stateLabel, stateTone, submissionWarnings } from '../states';

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
    expect(formatDuration(0.4)).toBe('0 s');
    expect(formatDuration(65)).toBe('1 min 5 s');
    expect(formatDuration(120)).toBe('2 min');
    expect(formatDuration(3725)).toBe('1 h 2 min');
    expect(formatDuration(7200)).toBe('2 h');
    expect(executionDuration({ start_time: null, end_time: null })).toBe('');
    expect(executionDuration({ start_time: '2026-01-01T00:00:00Z', end_time: '2026-01-01T00:01:05Z' })).toBe('1 min 5 s');
    expect(executionDuration({ start_time: '2026-01-01T00:00:00Z', end_time: null }, Date.parse('2026-01-01T00:00:10Z'))).toBe('10 s');
  });

  it('messages: failures and warnings are shown, cancel notes are not', () => {
    const warning = 'parameter n: "It works" does not convert to int (the type of its default): passed as a string';
    expect(shownStateMessage({ state: 'FAILED', state_message: 'cell 1 raised ValueError: x' })).toBe('cell 1 raised ValueError: x');
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

  it('times', () => {
    const now = new Date(2026, 10, 28, 15, 0);
    expect(formatTime(new Date(2026, 10, 28, 14, 5).toISOString(), now)).toBe('14:05');
    expect(formatTime(new Date(2026, 10, 27, 9, 0).toISOString(), now)).toBe('27 Nov 09:00');
    expect(formatTime(new Date(2025, 0, 2, 9, 0).toISOString(), now)).toBe('2 Jan 2025 09:00');
    expect(formatTime(null)).toBe('');
  });
});
