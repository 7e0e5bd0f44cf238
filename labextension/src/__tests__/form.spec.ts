import { IBackend, IConfig } from '../api';
import { bucketUri, buildRequest, filterRegions, initialState, machineTypeLabel, needsBucket, outputKind, switchBackend, takes } from '../form';

const __ = (text: string) => text;

// As GET config answers (python/notebook_executor/app.py, the backends' capabilities).
const LOCAL: IBackend = {
  name: 'local',
  remote: false,
  configured: true,
  fields: ['kernel_name'],
  machine_types: [],
  machine_type_descriptions: {},
  accelerator_types: [],
  regions: [],
  default_region: null,
  container_images: [],
  output_schemes: ['', 'gs'],
  default_output_location: null
};
const VERTEX: IBackend = {
  name: 'vertex',
  remote: true,
  configured: true,
  fields: ['machine_type', 'accelerator_type', 'accelerator_count', 'environment', 'region', 'service_account', 'network'],
  machine_types: ['n1-standard-4', 'a2-highgpu-1g'],
  machine_type_descriptions: {},
  accelerator_types: ['NVIDIA_TESLA_T4', 'NVIDIA_TESLA_A100'],
  regions: ['us-central1', 'europe-west1'],
  default_region: 'us-central1',
  container_images: ['us-docker.pkg.dev/p/notebooks/nx:1'],
  output_schemes: ['gs'],
  default_output_location: 'gs://results/vertex/'
};
const RAY: IBackend = {
  name: 'ray',
  remote: true,
  configured: false,
  fields: ['machine_type'],
  machine_types: ['small', 'gpu'],
  machine_type_descriptions: { small: '1 CPU, 2 GiB memory', gpu: '4 CPUs, 1 GPU' },
  accelerator_types: [],
  regions: [],
  default_region: null,
  container_images: [],
  output_schemes: ['', 'gs'],
  default_output_location: null
};
const CONFIG = { backends: [LOCAL, VERTEX, RAY], default_backend: 'local', default_output_location: '/data/outputs' } as unknown as IConfig;

function filled(backend: string) {
  // Every field filled in, as a user who tried each backend in turn could leave them.
  return {
    ...initialState('work/train.ipynb', CONFIG),
    backend,
    machine_type: 'n1-standard-4',
    accelerator_type: 'NVIDIA_TESLA_T4',
    accelerator_count: '2',
    kernel_name: 'python3',
    environment: 'us-docker.pkg.dev/p/notebooks/nx:1',
    region: 'europe-west1',
    output_location: 'gs://results/',
    default_service_account: false,
    service_account: 'runner@p.iam.gserviceaccount.com',
    network: 'projects/1/global/networks/default',
    parameter_text: 'alpha=2'
  };
}

describe('the fields each backend shows', () => {
  it('follow the fields the backend takes', () => {
    expect(['kernel_name', 'machine_type', 'region', 'service_account'].filter(f => takes(LOCAL, f as never))).toEqual(['kernel_name']);
    expect(takes(VERTEX, 'accelerator_count') && takes(VERTEX, 'network') && !takes(VERTEX, 'kernel_name')).toBe(true);
    expect(['machine_type', 'accelerator_type', 'region', 'environment', 'network'].filter(f => takes(RAY, f as never))).toEqual(['machine_type']);
    expect(takes(undefined, 'machine_type')).toBe(false);
  });

  it('pick a bucket where only Cloud Storage is written, a folder or URI elsewhere', () => {
    expect(outputKind(VERTEX)).toBe('bucket');
    expect(outputKind(LOCAL)).toBe('path');
    expect(outputKind(RAY)).toBe('path');
    expect(bucketUri('my-results')).toBe('gs://my-results/');
  });

  it("say what Ray's shapes are", () => {
    expect(machineTypeLabel(RAY, 'gpu')).toBe('gpu (4 CPUs, 1 GPU)');
    expect(machineTypeLabel(VERTEX, 'n1-standard-4')).toBe('n1-standard-4');
  });
});

describe('the request of the form', () => {
  it('sends all of Vertex AI\'s fields', () => {
    const { submission, errors } = buildRequest(filled('vertex'), 'work/train.ipynb', CONFIG, __);
    expect(errors).toEqual({});
    expect(submission).toMatchObject({
      input_notebook: 'work/train.ipynb',
      backend: 'vertex',
      machine_type: 'n1-standard-4',
      accelerator_type: 'NVIDIA_TESLA_T4',
      accelerator_count: 2,
      environment: 'us-docker.pkg.dev/p/notebooks/nx:1',
      region: 'europe-west1',
      output_location: 'gs://results/',
      service_account: 'runner@p.iam.gserviceaccount.com',
      network: 'projects/1/global/networks/default',
      parameters: { alpha: 2 }
    });
    expect(submission.kernel_name).toBeUndefined();
  });

  it('leaves out the fields the backend does not take', () => {
    const local = buildRequest(filled('local'), 'a.ipynb', CONFIG, __).submission;
    expect(local.kernel_name).toBe('python3');
    for (const field of ['machine_type', 'accelerator_type', 'accelerator_count', 'environment', 'region', 'service_account', 'network'] as const) {
      expect(local[field]).toBeUndefined();
    }
    const ray = buildRequest({ ...filled('ray'), machine_type: 'gpu' }, 'a.ipynb', CONFIG, __).submission;
    expect(ray).toMatchObject({ backend: 'ray', machine_type: 'gpu' });
    for (const field of ['kernel_name', 'accelerator_type', 'accelerator_count', 'environment', 'region', 'service_account', 'network'] as const) {
      expect(ray[field]).toBeUndefined();
    }
  });

  it("sends no service account while Vertex AI Training's default one is chosen, and wants an email otherwise", () => {
    expect(buildRequest({ ...filled('vertex'), default_service_account: true }, 'a.ipynb', CONFIG, __).submission.service_account).toBeUndefined();
    const { errors } = buildRequest({ ...filled('vertex'), service_account: ' ' }, 'a.ipynb', CONFIG, __);
    expect(Object.keys(errors)).toEqual(['service_account']);
  });

  it('wants a bucket for Vertex AI when no default one is set', () => {
    const noDefault = { ...CONFIG, backends: [LOCAL, { ...VERTEX, default_output_location: null }, RAY] } as IConfig;
    expect(needsBucket(VERTEX, CONFIG)).toBe(false);
    expect(needsBucket(noDefault.backends[1], noDefault)).toBe(true);
    expect(needsBucket(RAY, noDefault)).toBe(false);
    expect(buildRequest({ ...filled('vertex'), output_location: '' }, 'a.ipynb', noDefault, __).errors).toEqual({ output_location: 'Select a bucket, or create one.' });
    expect(buildRequest({ ...filled('vertex'), output_location: '' }, 'a.ipynb', CONFIG, __).errors).toEqual({});
    // The server's default location in a bucket is a default for Vertex AI too.
    const serverBucket = { ...noDefault, default_output_location: 'gs://all-results/' } as IConfig;
    expect(needsBucket(noDefault.backends[1], serverBucket)).toBe(false);
  });

  it('checks the accelerator count', () => {
    expect(buildRequest({ ...filled('vertex'), accelerator_count: '1.5' }, 'a.ipynb', CONFIG, __).errors).toHaveProperty('accelerator_count');
  });

  it('starts a backend\'s own fields over when the backend changes', () => {
    const next = { ...filled('vertex'), ...switchBackend('ray') };
    expect(next).toMatchObject({ backend: 'ray', machine_type: '', region: '', output_location: '', default_service_account: true, service_account: '' });
    expect(next.parameter_text).toBe('alpha=2'); // the common fields stay
  });

  it('starts from a run\'s own fields (Run again)', () => {
    const state = initialState('a.ipynb', CONFIG, { backend: 'vertex', region: 'europe-west1', service_account: 'sa@p.iam.gserviceaccount.com', accelerator_count: 1 });
    expect(state).toMatchObject({ backend: 'vertex', region: 'europe-west1', default_service_account: false, accelerator_count: '1' });
    expect(initialState('a.ipynb', CONFIG).default_service_account).toBe(true);
  });
});

describe('the region filter', () => {
  it('offers the regions of configured remote backends', () => {
    expect(filterRegions(CONFIG)).toEqual(['us-central1', 'europe-west1']);
    expect(filterRegions({ ...CONFIG, backends: [LOCAL, { ...VERTEX, configured: false }, RAY] })).toEqual([]);
    expect(filterRegions(null)).toEqual([]);
  });
});
