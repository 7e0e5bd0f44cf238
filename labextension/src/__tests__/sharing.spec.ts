import { bucketOfResult, shareKinds } from '../sharing';

describe('the ways to share a result', () => {
  it('are our link for a result on this server', () => {
    expect(shareKinds({ output_notebook_uri: '/data/outputs/a-1.ipynb' })).toEqual(['link']);
    expect(bucketOfResult({ output_notebook_uri: '/data/outputs/a-1.ipynb' })).toBeNull();
  });

  it('add a signed URL and bucket access for a result in Cloud Storage', () => {
    expect(shareKinds({ output_notebook_uri: 'gs://team-results/vertex/a-1.ipynb' })).toEqual(['link', 'signed_url', 'bucket_access']);
    expect(bucketOfResult({ output_notebook_uri: 'gs://team-results/vertex/a-1.ipynb' })).toBe('team-results');
  });
});
