import { ApiError, ExecutorClient, IExecution, ISchedule } from '../api';
import { ExecutorModel } from '../model';

/** The few REST calls the model makes, answered from memory (the REST client itself is tested in the browser tests). */
class MemoryClient {
  schedules: ISchedule[] = [];
  executions: IExecution[] = [];
  queries: Record<string, unknown>[] = [];

  async listExecutions(query: Record<string, unknown>) {
    this.queries.push(query);
    return { items: this.executions.filter(e => !query.schedule_id || e.schedule_id === query.schedule_id), next_page_token: null };
  }

  async listSchedules() {
    return { items: this.schedules, next_page_token: null };
  }

  async getSchedule(id: string) {
    const found = this.schedules.find(s => s.id === id);
    if (!found) {
      throw new ApiError(404, 'not_found', `schedule ${id} not found`);
    }
    return found;
  }
}

function schedule(id: string, name: string): ISchedule {
  return { id, display_name: name } as ISchedule;
}

function execution(id: string, scheduleId: string | null): IExecution {
  return { id, schedule_id: scheduleId, create_time: '2026-11-28T10:00:00Z', state: 'SUCCEEDED' } as IExecution;
}

function model(client: MemoryClient): ExecutorModel {
  return new ExecutorModel(client as unknown as ExecutorClient);
}

const flush = () => new Promise(resolve => setTimeout(resolve, 0));

describe('the schedule filter', () => {
  it('shows the name it was given, or finds it', async () => {
    const client = new MemoryClient();
    client.schedules = [schedule('5466c4198b84480d98802790674b05aa', 'nightly report')];
    const m = model(client);
    await m.setExecutionFilter('', '5466c4198b84480d98802790674b05aa', 'nightly report');
    expect(m.scheduleFilterName).toBe('nightly report');
    // Not in the loaded page of schedules: asked of the server.
    await m.setExecutionFilter('', '5466c4198b84480d98802790674b05aa');
    expect(m.scheduleFilterName).toBe('nightly report');
    expect(client.queries[client.queries.length - 1]).toMatchObject({ schedule_id: '5466c4198b84480d98802790674b05aa' });
  });

  it('is cleared when its schedule is deleted, and shows every execution again', async () => {
    const client = new MemoryClient();
    client.schedules = [schedule('s1', 'nightly')];
    client.executions = [execution('a', 's1'), execution('b', null)];
    const m = model(client);
    await m.setExecutionFilter('', 's1', 'nightly');
    expect(m.executions.items.map(e => e.id)).toEqual(['a']);
    client.schedules = [];
    m.applyChanges({ executions: [], schedules: [], deleted_executions: [], deleted_schedules: ['s1'] });
    await flush();
    expect(m.scheduleFilter).toBe('');
    expect(m.scheduleFilterName).toBe('');
    expect(m.executions.items.map(e => e.id)).toEqual(['a', 'b']);
  });

  it('is no filter for a schedule that no longer exists', async () => {
    const m = model(new MemoryClient());
    await m.setExecutionFilter('', 'gone');
    expect(m.scheduleFilter).toBe('');
  });

  it('follows a rename', async () => {
    const client = new MemoryClient();
    client.schedules = [schedule('s1', 'nightly')];
    const m = model(client);
    await m.setExecutionFilter('', 's1');
    m.applyChanges({ executions: [], schedules: [schedule('s1', 'nightly v2')], deleted_executions: [], deleted_schedules: [] });
    expect(m.scheduleFilterName).toBe('nightly v2');
  });
});

describe('the region filter', () => {
  it('asks the server for one region, and keeps live changes of other regions out', async () => {
    const client = new MemoryClient();
    const inRegion = { ...execution('a', null), region: 'europe-west1' };
    client.executions = [inRegion];
    const m = model(client);
    await m.setRegionFilter('europe-west1');
    expect(client.queries[client.queries.length - 1]).toMatchObject({ region: 'europe-west1' });
    m.applyChanges({
      executions: [
        { ...execution('b', null), region: 'us-central1', create_time: '2026-11-29T10:00:00Z' },
        { ...execution('c', null), region: 'europe-west1', create_time: '2026-11-29T10:00:00Z' }
      ],
      schedules: [],
      deleted_executions: [],
      deleted_schedules: []
    });
    expect(m.executions.items.map(e => e.id)).toEqual(['c', 'a']);
    // Paging keeps the filter.
    m.executions.nextPageToken = 'next';
    await m.moreExecutions();
    expect(client.queries[client.queries.length - 1]).toMatchObject({ region: 'europe-west1', page_token: 'next' });
    await m.setRegionFilter('');
    expect(client.queries[client.queries.length - 1]).toMatchObject({ region: '' });
  });
});
