import { errorPlace, errorText, fieldLabels } from '../fields';

describe('errorPlace', () => {
  it('puts an error next to the field the form shows', () => {
    expect(errorPlace('machine_type')).toBe('field');
    expect(errorPlace('cron_schedule')).toBe('field');
    expect(errorPlace('timeout_seconds')).toBe('advanced');
    expect(errorPlace('parameters')).toBe('advanced');
  });

  it("puts an error about a field the backend does not show on top of the form", () => {
    const local = { fields: ['kernel_name'] } as never;
    const vertex = { fields: ['machine_type', 'region', 'service_account'] } as never;
    expect(errorPlace('region', vertex)).toBe('advanced');
    expect(errorPlace('service_account', vertex)).toBe('advanced');
    expect(errorPlace('region', local)).toBe('form');
    expect(errorPlace('machine_type', local)).toBe('form');
    expect(errorPlace('kernel_name', local)).toBe('field');
    expect(errorPlace('output_location', local)).toBe('advanced'); // every backend's
  });

  it('puts errors about no shown field on top of the form', () => {
    expect(errorPlace(undefined)).toBe('form');
    expect(errorPlace('submission')).toBe('form');
    expect(errorPlace('schedule')).toBe('form');
    expect(errorPlace('input_notebook')).toBe('form');
  });
});

describe('errorText', () => {
  const labels = fieldLabels((text: string) => text);

  it('drops the field name next to its field, where the label says it', () => {
    expect(errorText('output_location: not a folder: /x', labels, true)).toBe('Not a folder: /x');
    expect(errorText('cell_timeout_seconds: give a positive number', labels, true)).toBe('Give a positive number');
  });

  it('names the field by its label elsewhere', () => {
    expect(errorText('output_location: not a folder: /x', labels, false)).toBe('Output location: not a folder: /x');
    expect(errorText('execution_template.output_location: not a folder', labels, false)).toBe('Output location: not a folder');
    expect(errorText('kernel_name: no kernel cobol', labels, false)).toBe('Environment: no kernel cobol');
  });

  it("names a bucket backend's output location by its label", () => {
    expect(errorText('output_location: the bucket does not exist', fieldLabels(__ => __, true), false)).toBe('Cloud Storage bucket: the bucket does not exist');
  });

  it('leaves other messages as they are', () => {
    expect(errorText('The server cannot be reached: timeout', labels, false)).toBe('The server cannot be reached: timeout');
    expect(errorText('page_token: not a page token', labels, false)).toBe('page_token: not a page token');
    expect(errorText('day of week field "MON-FRX": bad (at column 9)', labels, true)).toBe('day of week field "MON-FRX": bad (at column 9)');
  });
});
