// The submit dialog's fields that depend on the backend: machine type and accelerators,
// environment (a kernel, or a container image), where results go (a folder, or a Cloud
// Storage bucket to pick or create), service account and network. Each shows only for a
// backend that takes it (IBackend.fields).

import type { TranslationBundle } from '@jupyterlab/translation';
import React, { useEffect, useState } from 'react';
import { ExecutorClient, IBackend, IBucket, IConfig, IKernel } from './api';
import { errorText } from './fields';
import { bucketUri, defaultOutputLocation, IFormState, machineTypeLabel, outputKind, takes } from './form';
import { Field, FieldError, Update } from './formParts';

interface IBackendFieldProps {
  backend: IBackend | undefined;
  state: IFormState;
  update: Update;
  errors: Record<string, string>;
  __: TranslationBundle['__'];
}

/** Machine type (Ray: its resource shapes, with what each is), accelerator type and count. */
export function MachineFields(props: IBackendFieldProps): JSX.Element | null {
  const { backend, state, update, errors, __ } = props;
  if (!backend) {
    return null;
  }
  const described = Object.keys(backend.machine_type_descriptions ?? {}).length > 0;
  return (
    <>
      {takes(backend, 'machine_type') && (
        <Field
          id="nx-machine-type"
          label={__('Machine type')}
          error={errors.machine_type}
          hint={described ? __('Resource shapes of the cluster: the first is the default.') : undefined}
        >
          <select className="jp-mod-styled" value={state.machine_type} onChange={e => update({ machine_type: e.target.value })}>
            <option value="">{backend.machine_types.length && described ? __('Default (%1)', backend.machine_types[0]) : __('Default')}</option>
            {backend.machine_types.map(m => (
              <option key={m} value={m}>
                {machineTypeLabel(backend, m)}
              </option>
            ))}
          </select>
        </Field>
      )}
      {takes(backend, 'accelerator_type') && (
        <div className="nx-Row">
          <Field id="nx-accelerator-type" label={__('Accelerator type')} error={errors.accelerator_type}>
            <select
              className="jp-mod-styled"
              value={state.accelerator_type}
              onChange={e => {
                const type = e.target.value;
                // An accelerator needs a count of at least 1: start there.
                update(type && !state.accelerator_count ? { accelerator_type: type, accelerator_count: '1' } : { accelerator_type: type });
              }}
            >
              <option value="">{__('None')}</option>
              {backend.accelerator_types.map(a => (
                <option key={a}>{a}</option>
              ))}
            </select>
          </Field>
          {takes(backend, 'accelerator_count') && (
            <Field id="nx-accelerator-count" label={__('Accelerator count')} error={errors.accelerator_count}>
              <input className="jp-mod-styled" type="number" min={0} value={state.accelerator_count} onChange={e => update({ accelerator_count: e.target.value })} />
            </Field>
          )}
        </div>
      )}
    </>
  );
}

/** The environment: the server's kernels (local), or a container image (any image URI; the configured ones listed). */
export function EnvironmentField(props: IBackendFieldProps & { kernels: IKernel[] }): JSX.Element | null {
  const { backend, state, update, errors, __ } = props;
  if (takes(backend, 'environment')) {
    const images = backend!.container_images;
    return (
      <Field id="nx-environment" label={__('Environment')} error={errors.environment} hint={__('A container image with notebook-executor installed.')}>
        <input
          className="jp-mod-styled"
          list="nx-environment-images"
          value={state.environment}
          placeholder={images[0] ? __('Default: %1', images[0]) : __('Container image URI')}
          onChange={e => update({ environment: e.target.value })}
        />
      </Field>
    );
  }
  if (takes(backend, 'kernel_name')) {
    return (
      <Field id="nx-kernel" label={__('Environment')} error={errors.kernel_name} hint={__('The kernel the notebook runs on.')}>
        <select className="jp-mod-styled" value={state.kernel_name} onChange={e => update({ kernel_name: e.target.value })}>
          <option value="">{__("The notebook's kernel")}</option>
          {props.kernels.map(k => (
            <option key={k.name} value={k.name}>
              {k.display_name}
            </option>
          ))}
        </select>
      </Field>
    );
  }
  return null;
}

/** The configured images as suggestions of the environment field (a datalist, outside the field's label). */
export function ImageList(props: { backend: IBackend | undefined }): JSX.Element | null {
  return takes(props.backend, 'environment') ? (
    <datalist id="nx-environment-images">
      {props.backend!.container_images.map(i => (
        <option key={i} value={i} />
      ))}
    </datalist>
  ) : null;
}

export function RegionField(props: IBackendFieldProps): JSX.Element | null {
  const { backend, state, update, errors, __ } = props;
  if (!backend || !takes(backend, 'region')) {
    return null;
  }
  return (
    <Field id="nx-region" label={__('Region')} error={errors.region}>
      <select className="jp-mod-styled" value={state.region} onChange={e => update({ region: e.target.value })}>
        <option value="">{backend.default_region ? __('Default (%1)', backend.default_region) : __('Default')}</option>
        {backend.regions.map(r => (
          <option key={r}>{r}</option>
        ))}
      </select>
    </Field>
  );
}

/** Where results go: a bucket (Vertex AI), or a folder or URI (local, Ray). */
export function OutputField(props: IBackendFieldProps & { client: ExecutorClient; config: IConfig }): JSX.Element {
  const { backend, config, state, update, errors, __ } = props;
  const fallback = defaultOutputLocation(backend, config);
  if (outputKind(backend) === 'bucket') {
    return <BucketField {...props} fallback={fallback} />;
  }
  return (
    <Field
      id="nx-output-location"
      label={__('Output location')}
      error={errors.output_location}
      hint={
        backend?.output_schemes.includes('gs')
          ? __('A folder under the server root, or a gs:// bucket URI (for remote backends, a place the cluster reaches). Left empty, results go to the default shown.')
          : __('A folder under the server root. Left empty, results go to the default shown.')
      }
    >
      <input className="jp-mod-styled" value={state.output_location} placeholder={fallback} onChange={e => update({ output_location: e.target.value })} />
    </Field>
  );
}

/**
 * "Cloud Storage bucket": one of the project's buckets, or a new name and "Create and
 * select" (the original's). The list's and the creation's errors show by the field.
 */
function BucketField(props: IBackendFieldProps & { client: ExecutorClient; fallback: string }): JSX.Element {
  const { client, state, update, errors, fallback, __ } = props;
  const [buckets, setBuckets] = useState<IBucket[] | null>(null);
  const [listError, setListError] = useState('');
  const [name, setName] = useState('');
  const [createError, setCreateError] = useState('');
  const [creating, setCreating] = useState(false);

  useEffect(() => {
    client
      .buckets()
      .then(setBuckets)
      .catch(e => {
        setBuckets([]);
        setListError((e as Error).message);
      });
  }, []);

  const create = async () => {
    setCreating(true);
    setCreateError('');
    try {
      const made = await client.createBucket(name.trim(), state.region || props.backend?.default_region || undefined);
      setBuckets(list => [...(list ?? []).filter(b => b.name !== made.name), made].sort((a, b) => a.name.localeCompare(b.name)));
      update({ output_location: bucketUri(made.name) });
      setName('');
    } catch (e) {
      // 400 (a bad name), 403 (no permission), 409 (the name is taken): all said by the field,
      // without the request field's name that the label already says.
      setCreateError(errorText((e as Error).message, { name: __('Bucket name'), location: __('Region') }, true));
    } finally {
      setCreating(false);
    }
  };

  const options = (buckets ?? []).map(b => bucketUri(b.name));
  const current = state.output_location.trim();
  if (current && !options.includes(current)) {
    options.unshift(current); // a run again's or a schedule's own location
  }
  return (
    <div className="nx-Bucket">
      <Field
        id="nx-output-location"
        label={__('Cloud Storage bucket')}
        error={errors.output_location || listError}
        hint={__('Results (the executed notebook and its HTML) are written to this bucket.')}
      >
        <select className="jp-mod-styled" value={current} onChange={e => update({ output_location: e.target.value })}>
          <option value="">{fallback.startsWith('gs://') ? __('Default (%1)', fallback) : buckets === null ? __('Loading buckets…') : __('Select a bucket')}</option>
          {options.map(uri => (
            <option key={uri} value={uri}>
              {uri}
            </option>
          ))}
        </select>
      </Field>
      <div className="nx-NewBucket">
        <label htmlFor="nx-new-bucket">{__('Or a new bucket')}</label>
        <div className="nx-InlineControls">
          <input
            id="nx-new-bucket"
            className="jp-mod-styled"
            value={name}
            placeholder={__('new-bucket-name')}
            aria-invalid={!!createError}
            aria-describedby={createError ? 'nx-new-bucket-error' : undefined}
            onChange={e => {
              setName(e.target.value);
              setCreateError('');
            }}
            onKeyDown={e => {
              if (e.key === 'Enter') {
                e.preventDefault(); // not the form's Submit
                if (name.trim() && !creating) {
                  void create();
                }
              }
            }}
          />
          <button type="button" className="jp-mod-styled nx-SmallButton" disabled={!name.trim() || creating} onClick={() => void create()}>
            {creating ? __('Creating…') : __('Create and select')}
          </button>
        </div>
        <FieldError id="nx-new-bucket-error" message={createError} />
      </div>
    </div>
  );
}

/** "Use Vertex AI Training's default service account" (checked by default), or an email. */
export function ServiceAccountField(props: IBackendFieldProps): JSX.Element | null {
  const { backend, state, update, errors, __ } = props;
  if (!takes(backend, 'service_account')) {
    return null;
  }
  return (
    <div className="nx-Field nx-ServiceAccount">
      <label className="nx-Check">
        <input
          type="checkbox"
          checked={state.default_service_account}
          onChange={e => update({ default_service_account: e.target.checked, service_account: e.target.checked ? '' : state.service_account })}
        />{' '}
        {__("Use Vertex AI Training's default service account")}
      </label>
      {!state.default_service_account && (
        <Field id="nx-service-account" label={__('Service account')} error={errors.service_account}>
          <input
            className="jp-mod-styled"
            type="email"
            placeholder="name@project.iam.gserviceaccount.com"
            value={state.service_account}
            onChange={e => update({ service_account: e.target.value })}
          />
        </Field>
      )}
      {state.default_service_account && <FieldError id="nx-service-account-error" message={errors.service_account} />}
    </div>
  );
}

export function NetworkField(props: IBackendFieldProps): JSX.Element | null {
  const { backend, state, update, errors, __ } = props;
  if (!takes(backend, 'network')) {
    return null;
  }
  return (
    <Field id="nx-network" label={__('Network')} error={errors.network} hint={__('A VPC network the job joins, e.g. projects/123/global/networks/default. Empty: none.')}>
      <input className="jp-mod-styled" value={state.network} onChange={e => update({ network: e.target.value })} />
    </Field>
  );
}
