// The Notebook Executor side panel: Executions and Schedules tabs, kept live by the
// model (server events). One compact row per record: its primary action as a button, the
// others in the row's "more" menu.

import { TranslationBundle } from '@jupyterlab/translation';
import { closeIcon, ReactWidget, UseSignal } from '@jupyterlab/ui-components';
import { CommandRegistry } from '@lumino/commands';
import { Menu } from '@lumino/widgets';
import React, { useEffect, useState } from 'react';
import { IExecution, ISchedule } from './api';
import { describeCron } from './cron';
import { filterRegions } from './form';
import { moreIcon } from './icons';
import { executionMenu, IRowAction, scheduleMenu } from './menus';
import { ExecutorModel, ListModel } from './model';
import {
  ALL_STATES,
  browserTimeZone,
  executionDuration,
  formatTime,
  formatZonedTime,
  isTerminal,
  progressFraction,
  shownStateMessage,
  stateLabel,
  stateTone
} from './states';

export interface IPanelActions {
  viewResult(executionId: string): void;
  importResult(e: IExecution): Promise<void>;
  share(e: IExecution): Promise<void>;
  viewLogs(e: IExecution): Promise<void>;
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

/** The rows' "more" menu: one JupyterLab (Lumino) menu, filled with a row's actions when opened. */
class RowMenu {
  constructor() {
    this.commands.addCommand(RowMenu.COMMAND, {
      label: args => this.actions[args.index as number]?.label ?? '',
      execute: args => this.actions[args.index as number]?.run()
    });
    this.menu.addClass('nx-RowMenu');
    // Keyboard users come back to the button that opened it.
    this.menu.aboutToClose.connect(() => this.anchor?.focus());
  }

  open(actions: IRowAction[], anchor: HTMLElement, byKeyboard: boolean): void {
    this.actions = actions;
    this.anchor = anchor;
    this.menu.clearItems();
    actions.forEach((_, index) => this.menu.addItem({ command: RowMenu.COMMAND, args: { index } }));
    const box = anchor.getBoundingClientRect();
    this.menu.open(box.left, box.bottom);
    if (byKeyboard) {
      this.menu.activateNextItem();
    }
  }

  dispose(): void {
    this.menu.dispose();
  }

  private static COMMAND = 'notebook-executor:row-action';
  private commands = new CommandRegistry();
  private menu = new Menu({ commands: this.commands });
  private actions: IRowAction[] = [];
  private anchor: HTMLElement | null = null;
}

type OpenMenu = (actions: IRowAction[], anchor: HTMLElement, byKeyboard: boolean) => void;

function MoreButton(props: { label: string; actions: IRowAction[]; openMenu: OpenMenu }): JSX.Element {
  return (
    <button
      type="button"
      className="nx-MoreButton"
      aria-label={props.label}
      title={props.label}
      aria-haspopup="menu"
      onClick={e => props.openMenu(props.actions, e.currentTarget, e.detail === 0)}
    >
      <moreIcon.react tag="span" elementSize="normal" />
    </button>
  );
}

function StateBadge(props: { state: string; label: string; title?: string }): JSX.Element {
  return (
    <span className={`nx-Badge nx-mod-${stateTone(props.state as IExecution['state'])}`} data-state={props.state} title={props.title}>
      {props.label}
    </span>
  );
}

function Progress(props: { e: IExecution; __: TranslationBundle['__'] }): JSX.Element | null {
  const { e, __ } = props;
  const running = e.state === 'RUNNING' || e.state === 'CANCELLING';
  if (!running || e.progress.cells_total <= 0) {
    return null;
  }
  const text = __('%1 of %2 cells done', e.progress.cells_done, e.progress.cells_total);
  return (
    <div
      className="nx-Progress"
      role="progressbar"
      aria-valuemin={0}
      aria-valuemax={e.progress.cells_total}
      aria-valuenow={e.progress.cells_done}
      aria-label={text}
      title={text}
    >
      <div className="nx-Progress-bar" style={{ width: `${Math.round(progressFraction(e) * 100)}%` }} />
    </div>
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

/** Where a remote job can be seen outside JupyterLab (the console's job and logs pages), in new tabs. */
function JobLinks(props: { e: IExecution; __: TranslationBundle['__'] }): JSX.Element | null {
  const links = props.e.links ?? [];
  if (links.length === 0) {
    return null;
  }
  return (
    <div className="nx-JobLinks">
      {links.map(link => (
        <a key={link.url} href={link.url} target="_blank" rel="noopener noreferrer" title={props.__('%1 (opens in a new tab)', link.label)}>
          {props.__(link.label)}
        </a>
      ))}
    </div>
  );
}

/** "Select the Region that contains your results": shown when a configured remote backend has regions. */
function RegionFilter(props: { model: ExecutorModel; __: TranslationBundle['__'] }): JSX.Element | null {
  const { model, __ } = props;
  const regions = filterRegions(model.config);
  if (regions.length === 0 && !model.regionFilter) {
    return null;
  }
  const shown = model.regionFilter && !regions.includes(model.regionFilter) ? [model.regionFilter, ...regions] : regions;
  return (
    <label>
      {__('Region')}{' '}
      <select className="jp-mod-styled" aria-label={__('Filter by region')} title={__('Select the region that contains your results')} value={model.regionFilter} onChange={e => void model.setRegionFilter(e.target.value)}>
        <option value="">{__('All')}</option>
        {shown.map(r => (
          <option key={r} value={r}>
            {r}
          </option>
        ))}
      </select>
    </label>
  );
}

function ExecutionRow(props: {
  e: IExecution;
  model: ExecutorModel;
  actions: IPanelActions;
  highlight: boolean;
  zone: string;
  openMenu: OpenMenu;
  __: TranslationBundle['__'];
}): JSX.Element {
  const { e, actions, zone, __ } = props;
  const scheduleName = e.schedule_id ? props.model.schedules.items.find(s => s.id === e.schedule_id)?.display_name ?? __('a schedule') : '';
  const about = [e.display_name, e.input_notebook, scheduleName && __('Schedule: %1', scheduleName)].filter(Boolean).join('\n');
  const message = shownStateMessage(e);
  return (
    <li className={`nx-Item${props.highlight ? ' nx-mod-highlight' : ''}`} data-execution-id={e.id}>
      <div className="nx-ItemRow nx-ExecutionRow">
        <span className="nx-Name" title={about}>
          {e.display_name}
        </span>
        <StateBadge state={e.state} label={__(stateLabel(e.state))} />
        <span className="nx-Time" title={__('Created %1', formatZonedTime(e.create_time, zone, undefined, true))}>
          {formatTime(e.create_time, zone)}
        </span>
        <span className="nx-Duration" title={__('Duration')}>
          {executionDuration(e)}
        </span>
        <button type="button" className="nx-PrimaryAction" onClick={() => actions.viewResult(e.id)}>
          {__('View result')}
        </button>
        <MoreButton label={__('More actions for "%1"', e.display_name)} actions={executionMenu(e, actions, __)} openMenu={props.openMenu} />
      </div>
      <Progress e={e} __={__} />
      <JobLinks e={e} __={__} />
      {message && (
        <div className="nx-StateMessage" title={message}>
          {message}
        </div>
      )}
    </li>
  );
}

function Executions(props: { model: ExecutorModel; actions: IPanelActions; state: PanelState; openMenu: OpenMenu; __: TranslationBundle['__'] }): JSX.Element {
  const { model, __ } = props;
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
  const zone = browserTimeZone();
  const filterName = model.scheduleFilterName || model.scheduleFilter;
  return (
    <div className="nx-Tab" role="tabpanel" aria-label={__('Executions')}>
      <div className="nx-Toolbar">
        <label>
          {__('State')}{' '}
          <select className="jp-mod-styled" aria-label={__('Filter by state')} value={model.stateFilter} onChange={e => void model.setExecutionFilter(e.target.value, model.scheduleFilter, model.scheduleFilterName)}>
            <option value="">{__('All')}</option>
            {ALL_STATES.map(s => (
              <option key={s} value={s}>
                {__(stateLabel(s))}
              </option>
            ))}
          </select>
        </label>
        <RegionFilter model={model} __={__} />
        <button type="button" className="jp-mod-styled nx-SmallButton" onClick={() => void model.refreshExecutions()}>
          {__('Refresh')}
        </button>
        <span className="nx-ListCaption">{__('Times in %1', zone)}</span>
      </div>
      {model.scheduleFilter && (
        <div className="nx-Filter">
          <span className="nx-FilterText" title={__('Schedule: %1', filterName)}>
            {__('Schedule: %1', filterName)}
          </span>
          <button
            type="button"
            className="nx-IconButton"
            aria-label={__('Clear the schedule filter')}
            title={__('Clear the schedule filter')}
            onClick={() => void model.setExecutionFilter(model.stateFilter, '')}
          >
            <closeIcon.react tag="span" elementSize="normal" />
          </button>
        </div>
      )}
      <ListError list={list} />
      {!list.loading && !list.error && list.items.length === 0 && (
        <div className="nx-Empty">
          {model.stateFilter || model.scheduleFilter || model.regionFilter
            ? __('No executions match this filter.')
            : __('No executions yet. Open a notebook and click Execute in its toolbar (or right-click a notebook in the file browser) to run it in the background.')}
        </div>
      )}
      <ul className="nx-List" aria-label={__('Executions')}>
        {list.items.map(e => (
          <ExecutionRow key={e.id} e={e} model={model} actions={props.actions} highlight={props.state.highlight === e.id} zone={zone} openMenu={props.openMenu} __={__} />
        ))}
      </ul>
      <ListFooter list={list} more={() => model.moreExecutions()} __={__} />
    </div>
  );
}

function Schedules(props: { model: ExecutorModel; actions: IPanelActions; onExecutions: (s: ISchedule) => void; openMenu: OpenMenu; __: TranslationBundle['__'] }): JSX.Element {
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
            <div className="nx-ItemRow">
              <span className="nx-Name" title={[s.display_name, s.execution_template.input_notebook].filter(Boolean).join('\n')}>
                {s.display_name}
              </span>
              <span className={`nx-Badge nx-mod-${s.state === 'ENABLED' ? 'ok' : 'idle'}`} data-state={s.state}>
                {s.state === 'ENABLED' ? __('Enabled') : __('Paused')}
              </span>
              <MoreButton label={__('More actions for "%1"', s.display_name)} actions={scheduleMenu(s, actions, __)} openMenu={props.openMenu} />
            </div>
            <div className="nx-Meta">
              <span className="nx-Frequency">
                {describeCron(s.cron_schedule, __)} (<code>{s.cron_schedule}</code>, {s.time_zone})
              </span>
              <span className="nx-NextRun">
                {s.next_run_time ? __('Next run: %1', formatZonedTime(s.next_run_time, s.time_zone, undefined, true)) : __('No next run (paused)')}
              </span>
            </div>
            <div className="nx-ItemRow nx-ScheduleFooter">
              {s.last_execution ? (
                <span className="nx-Latest">
                  {__('Latest:')} <StateBadge state={s.last_execution.state} label={__(stateLabel(s.last_execution.state))} />
                </span>
              ) : (
                <span className="nx-Latest">{__('No run yet')}</span>
              )}
              <button type="button" className="nx-PrimaryAction" onClick={() => props.onExecutions(s)}>
                {__('Executions')}
              </button>
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

  dispose(): void {
    this.rowMenu.dispose();
    super.dispose();
  }

  protected render(): JSX.Element {
    const __ = this.trans.__.bind(this.trans);
    const tab = this.view.tab;
    const openMenu: OpenMenu = (actions, anchor, byKeyboard) => this.rowMenu.open(actions, anchor, byKeyboard);
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
              <Executions model={this.model} actions={this.actions} state={this.view} openMenu={openMenu} __={__} />
            ) : (
              <Schedules
                model={this.model}
                actions={this.actions}
                openMenu={openMenu}
                __={__}
                onExecutions={s => {
                  this.showTab('executions');
                  void this.model.setExecutionFilter('', s.id, s.display_name);
                }}
              />
            )}
          </div>
        )}
      </UseSignal>
    );
  }

  private rowMenu = new RowMenu();
}
