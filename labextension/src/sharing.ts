// Which ways of sharing a result the Share dialog offers (pure, unit-tested).

import type { IExecution } from './api';

export type ShareKind = 'link' | 'signed_url' | 'bucket_access';

/** The signed URL's lives offered (Cloud Storage signs for 7 days at most). */
export const SIGNED_URL_LIFETIMES: { seconds: number; label: string }[] = [
  { seconds: 3600, label: '1 hour' },
  { seconds: 86400, label: '1 day' },
  { seconds: 7 * 86400, label: '7 days' }
];

/** The bucket of a result in Cloud Storage, else null. */
export function bucketOfResult(e: Pick<IExecution, 'output_notebook_uri'>): string | null {
  const match = /^gs:\/\/([^/]+)\//.exec(e.output_notebook_uri ?? '');
  return match ? match[1] : null;
}

/** Our link always; for a result in Cloud Storage also a signed URL and bucket access. */
export function shareKinds(e: Pick<IExecution, 'output_notebook_uri'>): ShareKind[] {
  return bucketOfResult(e) ? ['link', 'signed_url', 'bucket_access'] : ['link'];
}
