import type { ExecutionState } from '../api';
import { ILogRead, LogFollower } from '../logFollow';

/** A server whose answers are given in order; the last one repeats. */
function server(answers: Array<[ExecutionState, string] | Error>) {
  let i = 0;
  const read = jest.fn(async (): Promise<ILogRead> => {
    const answer = answers[Math.min(i++, answers.length - 1)];
    if (answer instanceof Error) {
      throw answer;
    }
    return { state: answer[0], logs: { source: 'notebook', text: answer[1] } };
  });
  return read;
}

describe('following the logs of an execution', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('reads again every few seconds while it runs, and stops once it has ended', async () => {
    const read = server([
      ['RUNNING', 'epoch 1\n'],
      ['RUNNING', 'epoch 1\nepoch 2\n'],
      ['SUCCEEDED', 'epoch 1\nepoch 2\ndone\n']
    ]);
    const texts: string[] = [];
    const follower = new LogFollower({ read, onRead: r => texts.push(r.logs.text), onError: fail, every: 1000 });
    await follower.refresh();
    expect(follower.following).toBe(true);
    await jest.advanceTimersByTimeAsync(999);
    expect(read).toHaveBeenCalledTimes(1);
    await jest.advanceTimersByTimeAsync(1);
    await jest.advanceTimersByTimeAsync(1000);
    expect(texts).toEqual(['epoch 1\n', 'epoch 1\nepoch 2\n', 'epoch 1\nepoch 2\ndone\n']);
    expect(follower.following).toBe(false);
    await jest.advanceTimersByTimeAsync(10_000);
    expect(read).toHaveBeenCalledTimes(3);
  });

  it('reads an ended execution once', async () => {
    const read = server([['FAILED', 'Traceback']]);
    const follower = new LogFollower({ read, onRead: () => undefined, onError: fail, every: 1000 });
    await follower.refresh();
    await jest.advanceTimersByTimeAsync(5000);
    expect(read).toHaveBeenCalledTimes(1);
    expect(follower.following).toBe(false);
  });

  it('says a failed read and keeps following', async () => {
    const read = server([new Error('server restarting'), ['RUNNING', 'back']]);
    const errors: string[] = [];
    const texts: string[] = [];
    const follower = new LogFollower({ read, onRead: r => texts.push(r.logs.text), onError: e => errors.push(e.message), every: 1000 });
    await follower.refresh();
    expect(errors).toEqual(['server restarting']);
    await jest.advanceTimersByTimeAsync(1000);
    expect(texts).toEqual(['back']);
    expect(follower.following).toBe(true);
    follower.dispose();
  });

  it('a refresh reads now and restarts the wait; a closed view reads no more', async () => {
    const read = server([['RUNNING', 'x']]);
    const follower = new LogFollower({ read, onRead: () => undefined, onError: fail, every: 1000 });
    await follower.refresh();
    await jest.advanceTimersByTimeAsync(600);
    await follower.refresh();
    expect(read).toHaveBeenCalledTimes(2);
    await jest.advanceTimersByTimeAsync(600);
    expect(read).toHaveBeenCalledTimes(2); // the wait began again at the refresh
    await jest.advanceTimersByTimeAsync(400);
    expect(read).toHaveBeenCalledTimes(3);
    follower.dispose();
    await jest.advanceTimersByTimeAsync(5000);
    expect(read).toHaveBeenCalledTimes(3);
    expect(follower.following).toBe(false);
  });

  it('drops the answer of a read overtaken by a newer one', async () => {
    let release: (r: ILogRead) => void = () => undefined;
    const slow = new Promise<ILogRead>(resolve => (release = resolve));
    const read = jest
      .fn<Promise<ILogRead>, []>()
      .mockReturnValueOnce(slow)
      .mockResolvedValue({ state: 'SUCCEEDED', logs: { source: 'notebook', text: 'new' } });
    const texts: string[] = [];
    const follower = new LogFollower({ read, onRead: r => texts.push(r.logs.text), onError: fail, every: 1000 });
    const first = follower.refresh();
    await follower.refresh();
    release({ state: 'RUNNING', logs: { source: 'notebook', text: 'old' } });
    await first;
    expect(texts).toEqual(['new']);
    expect(follower.following).toBe(false);
  });
});

function fail(e: Error): never {
  throw e;
}
