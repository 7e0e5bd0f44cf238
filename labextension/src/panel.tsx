// The Notebook Executor side panel: Executions and Schedules tabs, kept live by the
// model (server events), with the actions of each row.

import { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget, UseSignal } from '@jupyterlab/ui-components';
import React, { useEffect, useState } from 'react';
import { IExecution, ISchedule } from './api';
import { describeCron } from './cron';
import { ExecutorModel, ListModel } from './model';
import { ALL_STATES, executionDuration, formatTime, isTerminal, progressFraction, shownStateMessage, stateLabel, stateTone } from './states';

export interface IPanelActions {
  viewResult(executionId: string): void;
  importResult(e: IExecution): Promise<void>;
  share(e: IExecution): Promise<void>;
  cancel(e: IExecution): Promise<void>;
  deleteExecution(e: IExecution): Promise<void>;
  runAgain(e: IExecution): Promise<void>;
  pauseResume(s: ISchedule): Promise<void>;
  runNow(s: ISchedule): Promise<void>;
  editSchedule(s: ISchedule): Promise<void>;
  deleteSchedule(s: ISchedule): Promise<void>;
}

type Tab = 'executions' | 'schedules';

export class PanelState {
  tab: Tab = 'executions';
  highlight = '';
}

function StateBadge(props: { e: IExecution; __: TranslationBundle['__'] }): JSX.Element {
  const { e } = props;
  const running = e.state === 'RUNNING' || e.state === 'CANCELLING';
  return (
    <div className="nx-State">
      <span className={`nx-Badge nx-mod-${stateTone(e.state)}`} data-state={e.state} title={e.state_message || undefined}>
        {props.__(stateLabel(e.state))}
      </span>
      {running && e.progress.cells_total > 0 && (
        <div
          className="nx-Progress"
          role="progressbar"
          aria-valuemin={0}
          aria-valuemax={e.progress.cells_total}
          aria-valuenow={e.progress.cells_done}
          aria-label={props.__('%1 of %2 cells done', e.progress.cells_done, e.progress.cells_total)}
          title={props.__('%1 of %2 cells done', e.progress.cells_done, e.progress.cells_total)}
        >
          <div className="nx-Progress-bar" style={{ width: `${Math.round(progressFraction(e) * 100)}%` }} />
        </div>
      )}
      {shownStateMessage(e) && <div className="nx-StateMessage">{shownStateMessage(e)}</div>}
    </div>
  );
}

function Action(props: { label: string; onClick: () => void; disabled?: boolean }): JSX.Element {
  return (
    <button type="button" className="jp-mod-styled nx-ActionButton" onClick={props.onClick} disabled={props.disabled}>
      {props.label}
    </button>
  );
}

/** A list's error, shown (never silent). */
function ListError(props: { list: Pick<ListModel<never>, 'error'> }): JSX.Element | null {
  return props.list.error ? (
    <div className="nx-Error" role="alert">
      {props.list.error}
    </div>
  ) : null;
}

/** Loading, or the next page (keyset paging: fast at any depth). */
function ListFooter(props: { list: Pick<ListModel<never>, 'loading' | 'nextPageToken'>; more: () => Promise<void>; __: TranslationBundle['__'] }): JSX.Element | null {
  const { list, __ } = props;
  if (list.loading) {
    return <div className="nx-Loading">{__('Loading…')}</div>;
  }
  return list.nextPageToken ? (
    <button type="button" className="jp-mod-styled nx-More" onClick={() => void props.more()}>
      {__('Load more')}
    </button>
  ) : null;
}

function Executions(props: { model: ExecutorModel; actions: IPanelActions; state: PanelState; __: TranslationBundle['__'] }): JSX.Element {
  const { model, actions, __ } = props;
  const list = model.executions;
  const [, tick] = useState(0);
  const active = list.items.some(e => !isTerminal(e.state));
  useEffect(() => {
    if (!active) {
      return;
    }
    const timer = setInterval(() => tick(n => n + 1), 1000); // running durations
    return () => clearInterval(timer);
  }, [active]);
  const schedule = model.scheduleFilter ? model.schedules.items.find(s => s.id === model.scheduleFilter) : undefined;
  return (
    <div className="nx-Tab" role="tabpanel" aria-label={__('Executions')}>
      <div className="nx-Toolbar">
        <label>
          {__('State')}{' '}
          <select className="jp-mod-styled" aria-label={__('Filter by state')} value={model.stateFilter} onChange={e => void model.setExecutionFilter(e.target.value, model.scheduleFilter)}>
            <option value="">{__('All')}</option>
            {ALL_STATES.map(s => (
              <option key={s} value={s}>
                {__(stateLabel(s))}
              </option>
            ))}
          </select>
        </label>
        {model.scheduleFilter && (
          <span className="nx-Filter">
            {__('Schedule: %1', schedule?.display_name ?? model.scheduleFilter)}{' '}
            <button type="button" className="jp-mod-styled nx-SmallButton" onClick={() => void model.setExecutionFilter(model.stateFilter, '')}>
              {__('Show all')}
            </button>
          </span>
        )}
        <button type="button" className="jp-mod-styled nx-SmallButton" onClick={() => void model.refreshExecutions()}>
          {__('Refresh')}
        </button>
      </div>
      <ListError list={list} />
      {!list.loading && !list.error && list.items.length === 0 && (
        <div className="nx-Empty">
          {model.stateFilter || model.scheduleFilter
            ? __('No executions match this filter.')
            : __('No executions yet. Open a notebook and click Execute in its toolbar (or right-click a notebook in the file browser) to run it in the background.')}
        </div>
      )}
      <ul className="nx-List" aria-label={__('Executions')}>
        {list.items.map(e => (
          <li key={e.id} className={`nx-Item${props.state.highlight === e.id ? ' nx-mod-highlight' : ''}`} data-execution-id={e.id}>
            <div className="nx-ItemHeader">
              <span className="nx-Name">{e.display_name}</span>
              <StateBadge e={e} __={__} />
            </div>
            <div className="nx-Meta">
              <span title={__('Notebook')}>{e.input_notebook}</span>
              <span title={__('Created')}>{formatTime(e.create_time)}</span>
              {e.start_time && <span title={__('Duration')}>{executionDuration(e)}</span>}
              {e.schedule_id && <span title={__('Schedule')}>⟳ {model.schedules.items.find(s => s.id === e.schedule_id)?.display_name ?? __('schedule')}</span>}
            </div>
            <div className="nx-Actions">
              <Action label={__('View result')} onClick={() => actions.viewResult(e.id)} />
              {isTerminal(e.state) && e.state !== 'CANCELLED' && <Action label={__('Import')} onClick={() => void actions.importResult(e)} />}
              {isTerminal(e.state) && <Action label={__('Share')} onClick={() => void actions.share(e)} />}
              {!isTerminal(e.state) && <Action label={__('Cancel')} disabled={e.state === 'CANCELLING'} onClick={() => void actions.cancel(e)} />}
              <Action label={__('Run again')} onClick={() => void actions.runAgain(e)} />
              {isTerminal(e.state) && <Action label={__('Delete')} onClick={() => void actions.deleteExecution(e)} />}
            </div>
          </li>
        ))}
      </ul>
      <ListFooter list={list} more={() => model.moreExecutions()} __={__} />
    </div>
  );
}

function Schedules(props: { model: ExecutorModel; actions: IPanelActions; onExecutions: (s: ISchedule) => void; __: TranslationBundle['__'] }): JSX.Element {
  const { model, actions, __ } = props;
  const list = model.schedules;
  return (
    <div className="nx-Tab" role="tabpanel" aria-label={__('Schedules')}>
      <div className="nx-Toolbar">
        <button type="button" className="jp-mod-styled nx-SmallButton" onClick={() => void model.refreshSchedules()}>
          {__('Refresh')}
        </button>
      </div>
      <ListError list={list} />
      {!list.loading && !list.error && list.items.length === 0 && (
        <div className="nx-Empty">{__('No schedules yet. Click Execute on a notebook and choose "Schedule-based recurring executions" to run it on a schedule.')}</div>
      )}
      <ul className="nx-List" aria-label={__('Schedules')}>
        {list.items.map(s => (
          <li key={s.id} className="nx-Item" data-schedule-id={s.id}>
            <div className="nx-ItemHeader">
              <span className="nx-Name">{s.display_name}</span>
              <span className={`nx-Badge nx-mod-${s.state === 'ENABLED' ? 'ok' : 'idle'}`} data-state={s.state}>
                {s.state === 'ENABLED' ? __('Enabled') : __('Paused')}
              </span>
            </div>
            <div className="nx-Meta">
              <span>{s.execution_template.input_notebook}</span>
              <span className="nx-Frequency">
                {describeCron(s.cron_schedule, __)} (<code>{s.cron_schedule}</code>, {s.time_zone})
              </span>
              <span>{s.next_run_time ? __('Next run: %1', formatTime(s.next_run_time)) : __('No next run (paused)')}</span>
              {s.last_execution && (
                <span>
                  {__('Latest:')}{' '}
                  <span className={`nx-Badge nx-mod-${stateTone(s.last_execution.state)}`} data-state={s.last_execution.state}>
                    {__(stateLabel(s.last_execution.state))}
                  </span>
                </span>
              )}
            </div>
            <div className="nx-Actions">
              <Action label={s.state === 'ENABLED' ? __('Pause') : __('Resume')} onClick={() => void actions.pauseResume(s)} />
              <Action label={__('Run now')} onClick={() => void actions.runNow(s)} />
              <Action label={__('Edit')} onClick={() => void actions.editSchedule(s)} />
              <Action label={__('Executions')} onClick={() => props.onExecutions(s)} />
              {s.last_execution && <Action label={__('View latest execution result')} onClick={() => actions.viewResult(s.last_execution!.id)} />}
              <Action label={__('Delete')} onClick={() => void actions.deleteSchedule(s)} />
            </div>
          </li>
        ))}
      </ul>
      <ListFooter list={list} more={() => model.moreSchedules()} __={__} />
    </div>
  );
}

export class ExecutorPanel extends ReactWidget {
  constructor(
    readonly model: ExecutorModel,
    private readonly actions: IPanelActions,
    private readonly trans: TranslationBundle
  ) {
    super();
    this.addClass('nx-Panel');
    model.changed.connect(() => this.update());
  }

  readonly view = new PanelState();

  /** Shows the Executions tab with that execution marked. */
  showExecution(id: string): void {
    this.view.tab = 'executions';
    this.view.highlight = id;
    this.update();
  }

  showTab(tab: Tab): void {
    this.view.tab = tab;
    this.update();
  }

  protected render(): JSX.Element {
    const __ = this.trans.__.bind(this.trans);
    const tab = this.view.tab;
    const tabs: [Tab, string][] = [
      ['executions', __('Executions')],
      ['schedules', __('Schedules')]
    ];
    return (
      <UseSignal signal={this.model.changed}>
        {() => (
          <div className="nx-PanelBody">
            <h2 className="nx-Title">{__('Notebook Executor')}</h2>
            <div className="nx-Tabs" role="tablist" aria-label={__('Notebook Executor')}>
              {tabs.map(([id, label]) => (
                <button
                  key={id}
                  type="button"
                  role="tab"
                  aria-selected={tab === id}
                  className={`nx-TabButton${tab === id ? ' nx-mod-active' : ''}`}
                  onClick={() => this.showTab(id)}
                >
                  {label}
                </button>
              ))}
            </div>
            {tab === 'executions' ? (
              <Executions model={this.model} actions={this.actions} state={this.view} __={__} />
            ) : (
              <Schedules
                model={this.model}
                actions={this.actions}
                __={__}
                onExecutions={s => {
                  this.showTab('executions');
                  void this.model.setExecutionFilter('', s.id);
                }}
              />
            )}
          </div>
        )}
      </UseSignal>
    );
  }
}
