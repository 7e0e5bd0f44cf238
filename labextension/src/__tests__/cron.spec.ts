import { defaultFrequency, describeCron, frequencyError, fromCron, parseTime, timeText, toCron, Frequency } from '../cron';

describe('cron builder', () => {
  const cases: [Frequency, string, string][] = [
    [{ kind: 'minutes', every: 15 }, '*/15 * * * *', 'Every 15 minutes'],
    [{ kind: 'minutes', every: 1 }, '* * * * *', 'Every minute'],
    [{ kind: 'hourly', minute: 5 }, '5 * * * *', 'Hourly at :05'],
    [{ kind: 'daily', hour: 9, minute: 30 }, '30 9 * * *', 'Daily at 09:30'],
    [{ kind: 'weekdays', hour: 18, minute: 0 }, '0 18 * * 1-5', 'Weekdays at 18:00'],
    [{ kind: 'weekly', days: [1, 3], hour: 7, minute: 45 }, '45 7 * * 1,3', 'Weekly on Mon, Wed at 07:45'],
    [{ kind: 'monthly', day: 1, hour: 0, minute: 0 }, '0 0 1 * *', 'Monthly on day 1 at 00:00']
  ];

  it.each(cases)('%j is %s, %s, and back', (frequency, cron, words) => {
    expect(toCron(frequency)).toBe(cron);
    expect(fromCron(cron)).toEqual(frequency);
    expect(describeCron(cron)).toBe(words);
  });

  it('keeps what it cannot say in words as custom', () => {
    for (const cron of ['0 9 * 1 *', '0 9-17 * * *', '*/5 9 * * *', '0 9 1 * 1', '0 9 * * MON']) {
      expect(fromCron(cron)).toEqual({ kind: 'custom', cron });
      expect(describeCron(cron)).toBe(`Custom: ${cron}`);
    }
    expect(toCron({ kind: 'custom', cron: '  0   9 * * 1 ' })).toBe('0 9 * * 1');
  });

  it('reads Sunday as 0 or 7 and sorts days', () => {
    expect(fromCron('0 8 * * 7,1')).toEqual({ kind: 'weekly', days: [0, 1], hour: 8, minute: 0 });
    expect(toCron({ kind: 'weekly', days: [5, 1, 5], hour: 8, minute: 0 })).toBe('0 8 * * 1,5');
  });

  it('flags bad values', () => {
    expect(frequencyError({ kind: 'daily', hour: 24, minute: 0 })).toMatch(/hour/);
    expect(frequencyError({ kind: 'hourly', minute: 60 })).toMatch(/minute/);
    expect(frequencyError({ kind: 'minutes', every: 0 })).toMatch(/1 to 59/);
    expect(frequencyError({ kind: 'weekly', days: [], hour: 1, minute: 1 })).toMatch(/day/);
    expect(frequencyError({ kind: 'monthly', day: 32, hour: 1, minute: 1 })).toMatch(/1 to 31/);
    expect(frequencyError({ kind: 'custom', cron: '0 9 * *' })).toMatch(/5 fields/);
    expect(frequencyError({ kind: 'daily', hour: 9, minute: 0 })).toBeNull();
  });

  it('keeps the time when the kind changes', () => {
    expect(defaultFrequency('weekly', { kind: 'daily', hour: 6, minute: 15 })).toEqual({ kind: 'weekly', days: [1], hour: 6, minute: 15 });
    expect(defaultFrequency('custom', { kind: 'daily', hour: 6, minute: 15 })).toEqual({ kind: 'custom', cron: '15 6 * * *' });
  });

  it('translates through the given function', () => {
    const fr = (msg: string, ...args: (string | number)[]) =>
      args.reduce<string>((out, a, i) => out.replace(`%${i + 1}`, String(a)), msg === 'Daily at %1' ? 'Tous les jours à %1' : msg);
    expect(describeCron('0 9 * * *', fr)).toBe('Tous les jours à 09:00');
  });
});

describe('the time field (24-hour clock)', () => {
  it('reads HH:MM and H:MM', () => {
    expect(parseTime('09:00')).toEqual([9, 0]);
    expect(parseTime('7:30')).toEqual([7, 30]);
    expect(parseTime(' 23:59 ')).toEqual([23, 59]);
    expect(parseTime('00:00')).toEqual([0, 0]);
  });

  it('refuses 12-hour times and the impossible', () => {
    for (const text of ['09:00 AM', '9 PM', '24:00', '12:60', '9', '', '09:5']) {
      expect(parseTime(text)).toBeNull();
    }
  });

  it('writes what the cron words say', () => {
    expect(timeText(9, 0)).toBe('09:00');
    expect(describeCron(toCron({ kind: 'daily', hour: 9, minute: 0 }))).toBe('Daily at ' + timeText(9, 0));
  });
});
