import { errorPlace } from '../fields';

describe('errorPlace', () => {
  it('puts an error next to the field the form shows', () => {
    expect(errorPlace('machine_type')).toBe('field');
    expect(errorPlace('cron_schedule')).toBe('field');
    expect(errorPlace('timeout_seconds')).toBe('advanced');
    expect(errorPlace('parameters')).toBe('advanced');
  });

  it('puts errors about no shown field on top of the form', () => {
    expect(errorPlace(undefined)).toBe('form');
    expect(errorPlace('submission')).toBe('form');
    expect(errorPlace('schedule')).toBe('form');
    expect(errorPlace('input_notebook')).toBe('form');
  });
});
