// The logs of one execution (every backend): the end of what its run has printed, the
// engine's job log for Ray or the notebook's own output for the others, read again every few
// seconds while the execution runs, and refreshable.

import { Dialog } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import React, { useEffect, useLayoutEffect, useRef, useState } from 'react';
import { ExecutorClient, IExecution, ILogs } from './api';
import { ILogRead, LogFollower } from './logFollow';
import { browserTimeZone, formatZonedTime } from './states';

function LogsPanel(props: { client: ExecutorClient; execution: IExecution; trans: TranslationBundle }): JSX.Element {
  const { client, execution } = props;
  const __ = props.trans.__.bind(props.trans);
  const [logs, setLogs] = useState<ILogs | null>(null);
  const [error, setError] = useState('');
  const [loading, setLoading] = useState(false);
  const [following, setFollowing] = useState(false);
  const [readAt, setReadAt] = useState('');
  const text = useRef<HTMLPreElement>(null);
  const follower = useRef<LogFollower | null>(null);

  useEffect(() => {
    const read = async (): Promise<ILogRead> => {
      const { state } = await client.getExecution(execution.id);
      return { state, logs: await client.logs(execution.id) };
    };
    const f = new LogFollower({
      read,
      onRead: r => {
        setLogs(r.logs);
        setError('');
        setReadAt(new Date().toISOString());
        setFollowing(f.following);
      },
      onError: e => setError(e.message)
    });
    follower.current = f;
    void load();
    return () => f.dispose();
  }, []);

  const load = async () => {
    setLoading(true);
    try {
      await follower.current?.refresh();
    } finally {
      setLoading(false);
    }
  };

  // The end is what matters (the newest lines, an error): show it.
  useLayoutEffect(() => {
    if (text.current) {
      text.current.scrollTop = text.current.scrollHeight;
    }
  }, [logs]);

  return (
    <div className="nx-Logs">
      <div className="nx-Toolbar">
        <span className="nx-ListCaption">
          {logs ? (logs.source === 'job' ? __("The job's log on the cluster") : __("The notebook's output and errors")) : ''}
          {readAt && ` · ${__('read %1', formatZonedTime(readAt, browserTimeZone()))}`}
          {following && ` · ${__('following while it runs')}`}
        </span>
        <button type="button" className="jp-mod-styled nx-SmallButton" disabled={loading} onClick={() => void load()}>
          {loading ? __('Loading…') : __('Refresh')}
        </button>
      </div>
      {error && (
        <div className="nx-Error" role="alert">
          {error}
        </div>
      )}
      <pre className="nx-LogsText" ref={text} tabIndex={0} aria-label={__('Logs of "%1"', execution.display_name)}>
        {logs ? logs.text || __('Nothing printed yet.') : ''}
      </pre>
    </div>
  );
}

export async function openLogsDialog(client: ExecutorClient, execution: IExecution, trans: TranslationBundle): Promise<void> {
  const body = ReactWidget.create(<LogsPanel client={client} execution={execution} trans={trans} />);
  body.addClass('nx-LogsBody');
  const dialog = new Dialog({
    title: trans.__('Logs of "%1"', execution.display_name),
    body,
    buttons: [Dialog.okButton({ label: trans.__('Close') })]
  });
  dialog.addClass('nx-LogsDialog');
  await dialog.launch();
}
