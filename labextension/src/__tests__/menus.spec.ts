import { IExecution, ISchedule } from '../api';
import { executionMenu, scheduleMenu } from '../menus';
import { IPanelActions } from '../panel';

const done: string[] = [];
const actions = new Proxy({}, { get: (_, name) => () => done.push(String(name)) }) as unknown as IPanelActions;
const __ = (text: string) => text;

function labels(state: IExecution['state']): string[] {
  return executionMenu({ state } as IExecution, actions, __).map(a => a.label);
}

describe('the rows\' "more" menus', () => {
  it('offer what fits an execution\'s state, in the original\'s words', () => {
    expect(labels('SUCCEEDED')).toEqual(['Share execution result', 'Import executed notebook', 'View logs', 'Run again', 'Delete']);
    expect(labels('FAILED')).toEqual(['Share execution result', 'Import executed notebook', 'View logs', 'Run again', 'Delete']);
    expect(labels('CANCELLED')).toEqual(['Share execution result', 'View logs', 'Run again', 'Delete']);
    expect(labels('RUNNING')).toEqual(['View logs', 'Cancel', 'Run again']);
    expect(labels('CANCELLING')).toEqual(['View logs', 'Run again']);
  });

  it('run the action they name', () => {
    done.length = 0;
    executionMenu({ state: 'SUCCEEDED' } as IExecution, actions, __)
      .find(a => a.label === 'Import executed notebook')!
      .run();
    expect(done).toEqual(['importResult']);
    done.length = 0;
    executionMenu({ state: 'PREPARING' } as IExecution, actions, __)
      .find(a => a.label === 'View logs')!
      .run();
    expect(done).toEqual(['viewLogs']);
  });

  it('offer a schedule\'s actions, pause or resume by its state', () => {
    const s = { state: 'ENABLED', last_execution: { id: 'e', state: 'SUCCEEDED' } } as ISchedule;
    expect(scheduleMenu(s, actions, __).map(a => a.label)).toEqual(['Run now', 'Pause', 'Edit', 'View latest execution result', 'Delete']);
    expect(scheduleMenu({ ...s, state: 'PAUSED', last_execution: null }, actions, __).map(a => a.label)).toEqual(['Run now', 'Resume', 'Edit', 'Delete']);
  });
});
