// Following an execution's logs while it runs, as a cloud console's log view does: a read
// every few seconds until the execution has ended, then no more (that read has its last lines).

import type { ExecutionState, ILogs } from './api';
import { isTerminal } from './states';

/** One read: the execution's state, then its logs (read after the state, so logs read once
 * the state is final are the whole of them). */
export interface ILogRead {
  state: ExecutionState;
  logs: ILogs;
}

export interface ILogFollowerOptions {
  read: () => Promise<ILogRead>;
  onRead: (read: ILogRead) => void;
  onError: (error: Error) => void;
  /** Milliseconds between the end of one read and the next. */
  every?: number;
}

export const FOLLOW_EVERY_MS = 3000;

export class LogFollower {
  constructor(private readonly options: ILogFollowerOptions) {}

  /** Whether another read will come by itself (the execution has not ended). */
  get following(): boolean {
    return !this._ended && !this._disposed;
  }

  /** Reads now (the first read, or the Refresh button), then on the timer while it runs. */
  async refresh(): Promise<void> {
    if (this._disposed) {
      return;
    }
    clearTimeout(this._timer);
    this._timer = undefined;
    const turn = ++this._turn;
    try {
      const read = await this.options.read();
      if (this._disposed || turn !== this._turn) {
        return; // a newer read is on its way, or the view closed
      }
      this._ended = isTerminal(read.state);
      this.options.onRead(read);
    } catch (e) {
      if (this._disposed || turn !== this._turn) {
        return;
      }
      this.options.onError(e as Error); // a failed read (the server restarting): try again later
    }
    if (this.following) {
      this._timer = setTimeout(() => void this.refresh(), this.options.every ?? FOLLOW_EVERY_MS);
    }
  }

  dispose(): void {
    this._disposed = true;
    clearTimeout(this._timer);
    this._timer = undefined;
  }

  private _ended = false;
  private _disposed = false;
  private _turn = 0;
  private _timer: ReturnType<typeof setTimeout> | undefined;
}
