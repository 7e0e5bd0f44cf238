// The actions of a panel row's "more" menu, by the record's state.

import type { TranslationBundle } from '@jupyterlab/translation';
import type { IExecution, ISchedule } from './api';
import type { IPanelActions } from './panel';
import { isTerminal } from './states';

/** An entry of a row's "more" menu. */
export interface IRowAction {
  label: string;
  run: () => void;
}

/** The actions of an execution's "more" menu, in the original's words where it had them. */
export function executionMenu(e: IExecution, actions: IPanelActions, __: TranslationBundle['__']): IRowAction[] {
  const out: IRowAction[] = [];
  if (isTerminal(e.state)) {
    out.push({ label: __('Share execution result'), run: () => void actions.share(e) });
  }
  if (isTerminal(e.state) && e.state !== 'CANCELLED') {
    out.push({ label: __('Import executed notebook'), run: () => void actions.importResult(e) });
  }
  out.push({ label: __('View logs'), run: () => void actions.viewLogs(e) });
  if (!isTerminal(e.state) && e.state !== 'CANCELLING') {
    out.push({ label: __('Cancel'), run: () => void actions.cancel(e) });
  }
  out.push({ label: __('Run again'), run: () => void actions.runAgain(e) });
  if (isTerminal(e.state)) {
    out.push({ label: __('Delete'), run: () => void actions.deleteExecution(e) });
  }
  return out;
}

export function scheduleMenu(s: ISchedule, actions: IPanelActions, __: TranslationBundle['__']): IRowAction[] {
  const out: IRowAction[] = [
    { label: __('Run now'), run: () => void actions.runNow(s) },
    { label: s.state === 'ENABLED' ? __('Pause') : __('Resume'), run: () => void actions.pauseResume(s) },
    { label: __('Edit'), run: () => void actions.editSchedule(s) }
  ];
  if (s.last_execution) {
    const id = s.last_execution.id;
    out.push({ label: __('View latest execution result'), run: () => actions.viewResult(id) });
  }
  out.push({ label: __('Delete'), run: () => void actions.deleteSchedule(s) });
  return out;
}

