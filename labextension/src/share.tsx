// The Share dialog: makes a link to a read-only copy of one result, copies it, and lists
// and revokes the execution's links.

import { Clipboard, Dialog, showDialog } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import React, { useEffect, useState } from 'react';
import { ExecutorClient, IExecution, IShare } from './api';
import { browserTimeZone, formatZonedTime } from './states';

function SharePanel(props: { client: ExecutorClient; execution: IExecution; trans: TranslationBundle }): JSX.Element {
  const { client, execution } = props;
  const __ = props.trans.__.bind(props.trans);
  const [link, setLink] = useState<IShare | null>(null);
  const [shares, setShares] = useState<IShare[]>([]);
  const [error, setError] = useState('');
  const [copied, setCopied] = useState(false);

  const reload = () =>
    client
      .shares(execution.id)
      .then(setShares)
      .catch(e => setError((e as Error).message));

  useEffect(() => {
    void reload();
  }, []);

  const create = async () => {
    setError('');
    try {
      const made = await client.share(execution.id);
      setLink(made);
      setCopied(false);
      await reload();
    } catch (e) {
      setError((e as Error).message);
    }
  };

  return (
    <div className="nx-Share">
      <p>{__('Anyone with a link can view this result (read-only) until it expires, without signing in. The link is shown once: copy it now.')}</p>
      {link ? (
        <div className="nx-ShareLink">
          <input className="jp-mod-styled" readOnly value={link.url} aria-label={__('Share link')} onFocus={e => e.target.select()} />
          <button
            type="button"
            className="jp-mod-styled jp-mod-accept nx-SmallButton"
            onClick={() => {
              Clipboard.copyToSystem(link.url ?? '');
              setCopied(true);
            }}
          >
            {copied ? __('Copied') : __('Copy')}
          </button>
          <div className="nx-Hint">{__('Expires %1', formatZonedTime(link.expire_time, browserTimeZone()))}</div>
        </div>
      ) : (
        <button type="button" className="jp-mod-styled jp-mod-accept nx-SmallButton" onClick={() => void create()}>
          {__('Create link')}
        </button>
      )}
      {error && (
        <div className="nx-Error" role="alert">
          {error}
        </div>
      )}
      <h3>{__('Links of this result')}</h3>
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
                    .catch(e => setError((e as Error).message))
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
