// The panel's data: pages of executions and schedules from the REST API, kept current by
// the server's change events (no polling of rows).

import { ISignal, Signal } from '@lumino/signaling';
import { ApiError, ExecutorClient, IChangeEvent, IConfig, IExecution, ISchedule } from './api';

export const PAGE_SIZE = 50;

export class ListModel<T extends { id: string }> {
  constructor(private readonly matches: (item: T) => boolean) {}

  items: T[] = [];
  nextPageToken: string | null = null;
  loading = false;
  error: string | null = null;

  /** Puts changed records in place; a new one that matches the filter goes on top. */
  apply(changed: T[], deleted: string[], isNew: (item: T) => boolean): boolean {
    let touched = false;
    if (deleted.length) {
      const before = this.items.length;
      this.items = this.items.filter(i => !deleted.includes(i.id));
      touched = touched || before !== this.items.length;
    }
    for (const item of changed) {
      const at = this.items.findIndex(i => i.id === item.id);
      if (at >= 0) {
        this.items = this.matches(item) ? [...this.items.slice(0, at), item, ...this.items.slice(at + 1)] : this.items.filter(i => i.id !== item.id);
        touched = true;
      } else if (this.matches(item) && isNew(item)) {
        this.items = [item, ...this.items];
        touched = true;
      }
    }
    return touched;
  }
}

export class ExecutorModel {
  constructor(readonly client: ExecutorClient) {
    this.executions = new ListModel<IExecution>(e => this.executionMatches(e));
    this.schedules = new ListModel<ISchedule>(() => true);
  }

  readonly executions: ListModel<IExecution>;
  readonly schedules: ListModel<ISchedule>;
  stateFilter = '';
  /** The schedule whose executions the list shows ('' for all), and its name. */
  scheduleFilter = '';
  scheduleFilterName = '';
  /** The region whose executions the list shows ('' for all). */
  regionFilter = '';
  /** The server's configuration (the backends), once loaded. */
  config: IConfig | null = null;

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  private executionMatches(e: IExecution): boolean {
    return (
      (!this.stateFilter || e.state === this.stateFilter) &&
      (!this.scheduleFilter || e.schedule_id === this.scheduleFilter) &&
      (!this.regionFilter || e.region === this.regionFilter)
    );
  }

  async loadConfig(): Promise<void> {
    try {
      this.config = await this.client.config();
      this._changed.emit();
    } catch {
      // Without it the panel only lacks the region filter; the dialog says why when opened.
    }
  }

  /** Shows the executions of one region ("Select the Region that contains your results"). */
  setRegionFilter(region: string): Promise<void> {
    this.regionFilter = region;
    return this.refreshExecutions();
  }

  private get listQuery() {
    return { state: this.stateFilter, schedule_id: this.scheduleFilter, region: this.regionFilter, page_size: PAGE_SIZE };
  }

  /**
   * Filters the list by state and schedule. The schedule's name is shown with the filter:
   * given, found in the list, or asked of the server; a schedule that no longer exists is no
   * filter.
   */
  async setExecutionFilter(state: string, scheduleId: string, scheduleName?: string): Promise<void> {
    this.stateFilter = state;
    this.scheduleFilter = scheduleId;
    this.scheduleFilterName = scheduleId ? scheduleName ?? this.schedules.items.find(s => s.id === scheduleId)?.display_name ?? '' : '';
    if (scheduleId && !this.scheduleFilterName) {
      try {
        this.scheduleFilterName = (await this.client.getSchedule(scheduleId)).display_name;
      } catch (e) {
        if (e instanceof ApiError && e.status === 404) {
          this.scheduleFilter = '';
        }
      }
    }
    await this.refreshExecutions();
  }

  private async load<T extends { id: string }>(list: ListModel<T>, fetch: () => Promise<{ items: T[]; next_page_token: string | null }>, append: boolean) {
    list.loading = true;
    this._changed.emit();
    try {
      const page = await fetch();
      list.items = append ? [...list.items, ...page.items.filter(i => !list.items.some(x => x.id === i.id))] : page.items;
      list.nextPageToken = page.next_page_token;
      list.error = null;
    } catch (e) {
      list.error = e instanceof ApiError ? e.message : String(e);
    } finally {
      list.loading = false;
      this._changed.emit();
    }
  }

  refreshExecutions(): Promise<void> {
    return this.load(this.executions, () => this.client.listExecutions(this.listQuery), false);
  }

  moreExecutions(): Promise<void> {
    const token = this.executions.nextPageToken;
    return this.load(this.executions, () => this.client.listExecutions({ ...this.listQuery, page_token: token }), true);
  }

  refreshSchedules(): Promise<void> {
    return this.load(this.schedules, () => this.client.listSchedules({ page_size: PAGE_SIZE }), false);
  }

  moreSchedules(): Promise<void> {
    const token = this.schedules.nextPageToken;
    return this.load(this.schedules, () => this.client.listSchedules({ page_size: PAGE_SIZE, page_token: token }), true);
  }

  /** A change event from the server's event bus. */
  applyChanges(event: IChangeEvent): void {
    if (this.scheduleFilter && event.deleted_schedules.includes(this.scheduleFilter)) {
      // The filtered schedule is gone: its executions stay, among all the others.
      void this.setExecutionFilter(this.stateFilter, '');
    }
    const renamed = event.schedules.find(s => s.id === this.scheduleFilter);
    if (renamed) {
      this.scheduleFilterName = renamed.display_name;
    }
    const newest = this.executions.items[0]?.create_time ?? '';
    const a = this.executions.apply(event.executions, event.deleted_executions, e => e.create_time >= newest);
    const b = this.schedules.apply(event.schedules, event.deleted_schedules, s => !this.schedules.items.some(x => x.id === s.id));
    if (a || b || renamed) {
      this._changed.emit();
    }
  }

  /** After an action here: the record as the server returned it, at once. */
  upsertExecution(e: IExecution): void {
    this.applyChanges({ executions: [e], schedules: [], deleted_executions: [], deleted_schedules: [] });
  }

  upsertSchedule(s: ISchedule): void {
    this.applyChanges({ executions: [], schedules: [s], deleted_executions: [], deleted_schedules: [] });
  }

  removeExecution(id: string): void {
    this.applyChanges({ executions: [], schedules: [], deleted_executions: [id], deleted_schedules: [] });
  }

  removeSchedule(id: string): void {
    this.applyChanges({ executions: [], schedules: [], deleted_executions: [], deleted_schedules: [id] });
  }

  private _changed = new Signal<this, void>(this);
}
