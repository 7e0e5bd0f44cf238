// The Share dialog: a link to a read-only copy of one result on this server (listed and
// revocable here); for a result in Cloud Storage also Cloud Storage's own ways, a signed
// URL for a chosen time, or read access to the bucket for one account. A link is shown
// once, with a copy button.

import { Clipboard, Dialog, showDialog } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import React, { useEffect, useState } from 'react';
import { ApiError, ExecutorClient, IExecution, IShare, ShareAnswer, ShareRequest } from './api';
import { FieldError } from './formParts';
import { bucketOfResult, shareKinds, ShareKind, SIGNED_URL_LIFETIMES } from './sharing';
import { browserTimeZone, formatZonedTime } from './states';

type Tr = TranslationBundle['__'];

/** A link to copy: shown once (the server keeps no copy of its secret). */
function CopyLink(props: { label: string; url: string; __: Tr }): JSX.Element {
  const [copied, setCopied] = useState(false);
  return (
    <div className="nx-ShareLink">
      <input className="jp-mod-styled" readOnly value={props.url} aria-label={props.label} onFocus={e => e.target.select()} />
      <button
        type="button"
        className="jp-mod-styled jp-mod-accept nx-SmallButton"
        onClick={() => {
          Clipboard.copyToSystem(props.url);
          setCopied(true);
        }}
      >
        {copied ? props.__('Copied') : props.__('Copy')}
      </button>
    </div>
  );
}

function Made(props: { made: ShareAnswer; __: Tr }): JSX.Element {
  const { made, __ } = props;
  const zone = browserTimeZone();
  if (made.kind === 'bucket_access') {
    return (
      <div className="nx-ShareMade" role="status">
        <div>
          {made.changed
            ? __('%1 can now read gs://%2 (%3).', made.member, made.bucket, made.role)
            : __('%1 could already read gs://%2 (%3): nothing changed.', made.member, made.bucket, made.role)}
        </div>
        <div className="nx-Warning">{made.warning}</div>
      </div>
    );
  }
  return (
    <div className="nx-ShareMade">
      <CopyLink label={made.kind === 'signed_url' ? __('Signed URL') : __('Share link')} url={made.url} __={__} />
      {made.kind === 'signed_url' && made.notebook_url && <CopyLink label={__('Signed URL of the notebook')} url={made.notebook_url} __={__} />}
      <div className="nx-Hint">{__('Expires %1. Shown once: copy it now.', formatZonedTime(made.expire_time, zone))}</div>
    </div>
  );
}

function SharePanel(props: { client: ExecutorClient; execution: IExecution; trans: TranslationBundle }): JSX.Element {
  const { client, execution } = props;
  const __ = props.trans.__.bind(props.trans);
  const bucket = bucketOfResult(execution);
  const kinds = shareKinds(execution);
  const [kind, setKind] = useState<ShareKind>('link');
  const [lifetime, setLifetime] = useState(SIGNED_URL_LIFETIMES[1].seconds);
  const [includeNotebook, setIncludeNotebook] = useState(false);
  const [member, setMember] = useState('');
  const [made, setMade] = useState<ShareAnswer | null>(null);
  const [shares, setShares] = useState<IShare[]>([]);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);

  const reload = () =>
    client
      .shares(execution.id)
      .then(setShares)
      .catch(e => setErrors({ form: (e as Error).message }));

  useEffect(() => {
    void reload();
  }, []);

  const request = (): ShareRequest =>
    kind === 'signed_url'
      ? { kind, lifetime_seconds: lifetime, include_notebook: includeNotebook }
      : kind === 'bucket_access'
        ? { kind, member: member.trim() }
        : { kind: 'link' };

  const create = async () => {
    setErrors({});
    setBusy(true);
    try {
      setMade(await client.share(execution.id, request()));
      if (kind === 'link') {
        await reload();
      }
    } catch (e) {
      const field = e instanceof ApiError && e.field && ['lifetime_seconds', 'member'].includes(e.field) ? e.field : 'form';
      setErrors({ [field]: (e as Error).message });
    } finally {
      setBusy(false);
    }
  };

  const labels: Record<ShareKind, string> = {
    link: __('A link to this result on this Jupyter server (read-only, no sign-in)'),
    signed_url: __('A Cloud Storage signed URL (anyone holding it can open the result until it expires)'),
    bucket_access: __('Grant an account read access to the bucket')
  };
  const actions: Record<ShareKind, string> = { link: __('Create link'), signed_url: __('Create signed URL'), bucket_access: __('Grant access') };

  return (
    <div className="nx-Share">
      {kinds.length > 1 ? (
        <fieldset className="nx-ShareKinds">
          <legend>{__('Share as')}</legend>
          {kinds.map(k => (
            <label key={k} className="nx-Check">
              <input
                type="radio"
                name="nx-share-kind"
                value={k}
                checked={kind === k}
                onChange={() => {
                  setKind(k);
                  setMade(null);
                  setErrors({});
                }}
              />{' '}
              {labels[k]}
            </label>
          ))}
        </fieldset>
      ) : (
        <p>{__('Anyone with a link can view this result (read-only) until it expires, without signing in. The link is shown once: copy it now.')}</p>
      )}
      {kind === 'signed_url' && (
        <div className="nx-Row">
          <div className="nx-Field">
            <label htmlFor="nx-share-lifetime">{__('Valid for')}</label>
            <select
              id="nx-share-lifetime"
              className="jp-mod-styled"
              value={lifetime}
              aria-invalid={!!errors.lifetime_seconds}
              aria-describedby={errors.lifetime_seconds ? 'nx-share-lifetime-error' : undefined}
              onChange={e => setLifetime(Number(e.target.value))}
            >
              {SIGNED_URL_LIFETIMES.map(l => (
                <option key={l.seconds} value={l.seconds}>
                  {__(l.label)}
                </option>
              ))}
            </select>
            <FieldError id="nx-share-lifetime-error" message={errors.lifetime_seconds} />
          </div>
          <label className="nx-Check">
            <input type="checkbox" checked={includeNotebook} onChange={e => setIncludeNotebook(e.target.checked)} /> {__('Also the executed notebook (.ipynb)')}
          </label>
        </div>
      )}
      {kind === 'bucket_access' && (
        <div className="nx-Field">
          <label htmlFor="nx-share-member">{__('Email of the person (or user:, group:, serviceAccount:, domain:)')}</label>
          <input
            id="nx-share-member"
            className="jp-mod-styled"
            value={member}
            placeholder="ana@example.com"
            aria-invalid={!!errors.member}
            aria-describedby={errors.member ? 'nx-share-member-error' : undefined}
            onChange={e => setMember(e.target.value)}
          />
          <FieldError id="nx-share-member-error" message={errors.member} />
          <div className="nx-Warning">
            {__('This grants Storage Object Viewer on the whole bucket gs://%1: the account can read every object in it, not only this result.', bucket ?? '')}
          </div>
        </div>
      )}
      {made ? (
        <>
          <Made made={made} __={__} />
          <button type="button" className="jp-mod-styled nx-SmallButton" onClick={() => setMade(null)}>
            {__('Make another')}
          </button>
        </>
      ) : (
        <button type="button" className="jp-mod-styled jp-mod-accept nx-SmallButton" disabled={busy || (kind === 'bucket_access' && !member.trim())} onClick={() => void create()}>
          {actions[kind]}
        </button>
      )}
      <FieldError id="nx-share-error" message={errors.form} />
      <h3>{__('Links of this result on this server')}</h3>
      {shares.length === 0 ? (
        <div className="nx-Empty">{__('No live links.')}</div>
      ) : (
        <ul className="nx-ShareList">
          {shares.map(s => (
            <li key={s.id}>
              {__('Created %1, expires %2', formatZonedTime(s.create_time, browserTimeZone()), formatZonedTime(s.expire_time, browserTimeZone()))}{' '}
              <button
                type="button"
                className="jp-mod-styled nx-SmallButton"
                onClick={() =>
                  void client
                    .revokeShare(execution.id, s.id)
                    .then(reload)
                    .catch(e => setErrors({ form: (e as Error).message }))
                }
              >
                {__('Revoke')}
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export async function openShareDialog(client: ExecutorClient, execution: IExecution, trans: TranslationBundle): Promise<void> {
  const body = ReactWidget.create(<SharePanel client={client} execution={execution} trans={trans} />);
  await showDialog({
    title: trans.__('Share "%1"', execution.display_name),
    body,
    buttons: [Dialog.okButton({ label: trans.__('Close') })]
  });
}
