// Where the dialog shows an error the server put on a field.

/** Fields under "Advanced options": an error in one opens that section. */
const ADVANCED_FIELDS = ['region', 'output_location', 'service_account', 'network', 'timeout_seconds', 'cell_timeout_seconds', 'parameters'];

/** Fields shown with their own error line in the dialog. */
const SHOWN_FIELDS = [
  'display_name',
  'backend',
  'machine_type',
  'accelerator_type',
  'accelerator_count',
  'environment',
  'kernel_name',
  'cron_schedule',
  'time_zone',
  ...ADVANCED_FIELDS
];

/**
 * Next to a field on the form (`field`), next to one under Advanced options (`advanced`),
 * or on top of the form (`form`) for errors about no field the form shows, so that none is silent.
 */
export function errorPlace(field: string | undefined | null): 'field' | 'advanced' | 'form' {
  if (!field || !SHOWN_FIELDS.includes(field)) {
    return 'form';
  }
  return ADVANCED_FIELDS.includes(field) ? 'advanced' : 'field';
}
