import type { Job } from 'bullmq';
import type { FetchingWorker } from '../../patches/bullmq';
import type { RedisClient } from '../../redis/redis.factory';
import { EMPTY_RECHECK_MS, QueueLane } from './queue-lane';
import { SlotWaker } from './slot-waker';

/** A fetcher whose getNextJob answers are queued by the test (a deferred answer lets a marker arrive mid-fetch). */
class FakeFetcher {
  answers: Array<Job | undefined | Promise<Job | undefined>> = [];
  async getNextJob(): Promise<Job | undefined> {
    return this.answers.shift();
  }
  async adopt(raw: unknown): Promise<Job | undefined> {
    return raw as Job | undefined;
  }
  async close(): Promise<void> {}
}

/** The watcher's blocking connection: each BZPOPMIN waits until the test fires or times it out. */
class FakeWatchConnection {
  calls = 0;
  private pending: Array<(v: unknown) => void> = [];
  bzpopmin(): Promise<unknown> {
    this.calls++;
    return new Promise((resolve) => this.pending.push(resolve));
  }
  fire(): void {
    this.pending.shift()?.(['marker', '0', '0']);
  }
  timeOut(): void {
    this.pending.shift()?.(null);
  }
  disconnect(): void {
    for (const p of this.pending.splice(0)) p(null);
  }
}

const tick = () => new Promise((r) => setImmediate(r));
const job = (name: string) => ({ name }) as Job;

function lane(markerKey: string | null = 'sb:{bull}:high:marker', blockS = 1) {
  const fetcher = new FakeFetcher();
  const conn = new FakeWatchConnection();
  const waker = new SlotWaker();
  const l = new QueueLane('high', fetcher as unknown as FetchingWorker, conn as unknown as RedisClient, waker, { markerKey, blockS });
  return { l, fetcher, conn, waker };
}

describe('QueueLane', () => {
  afterEach(() => jest.useRealTimers());

  it('drops "maybe ready" when a fetch finds the queue empty, so probes skip it until its marker fires', async () => {
    const { l, fetcher, conn } = lane();
    fetcher.answers.push(undefined);
    expect(await l.take('t', true)).toBeUndefined();
    expect(l.worthProbing()).toBe(false);
    const watching = l.watchForWork();
    await tick();
    conn.fire();
    await tick();
    expect(l.worthProbing()).toBe(true);
    l.stopWatching();
    await watching;
  });

  it('keeps the flag up when a marker arrives while a fetch that will find nothing is under way', async () => {
    const { l, fetcher, conn } = lane();
    let answer!: (j: Job | undefined) => void;
    fetcher.answers.push(new Promise((r) => (answer = r)));
    const watching = l.watchForWork();
    await tick();
    const taking = l.take('t', false);
    conn.fire(); // a job was added after the fetch looked
    await tick();
    answer(undefined);
    await taking;
    expect(l.worthProbing()).toBe(true);
    l.stopWatching();
    await watching;
  });

  it('does not watch its marker while our slots drain the queue, and watches again once a fetch finds it empty', async () => {
    const { l, fetcher, conn } = lane();
    fetcher.answers.push(job('a'));
    expect(await l.take('t', false)).toEqual(job('a'));
    const watching = l.watchForWork();
    await tick();
    expect(conn.calls).toBe(0); // draining: parked, no BZPOPMIN per job
    fetcher.answers.push(undefined);
    await l.take('t', false);
    await tick();
    expect(conn.calls).toBe(1);
    l.stopWatching();
    await watching;
  });

  it('a job found hands the search on to the next idle slot; a marker wakes one idle slot', async () => {
    const { l, fetcher, conn, waker } = lane();
    const first = waker.idle();
    const second = waker.idle();
    let woke = 0;
    void first.then(() => woke++);
    void second.then(() => woke++);
    fetcher.answers.push(job('a'));
    await l.take('t', false);
    await tick();
    expect(woke).toBe(1);
    fetcher.answers.push(undefined);
    await l.take('t', false);
    const watching = l.watchForWork();
    await tick();
    conn.fire();
    await tick();
    expect(woke).toBe(2);
    l.stopWatching();
    await watching;
  });

  it('a BZPOPMIN that times out wakes no slot and is sent again (the periodic look is IdleLook\'s)', async () => {
    const { l, fetcher, conn, waker } = lane();
    fetcher.answers.push(undefined);
    await l.take('t', false);
    const watching = l.watchForWork();
    let woke = 0;
    void waker.idle().then(() => woke++);
    await tick();
    conn.timeOut();
    await tick();
    expect(woke).toBe(0);
    expect(conn.calls).toBe(2);
    l.stopWatching();
    await watching;
  });

  it('without the marker patch never calls BZPOPMIN and wakes no slot itself', async () => {
    jest.useFakeTimers();
    const { l, conn, waker } = lane(null, 1);
    const watching = l.watchForWork();
    let woke = 0;
    void waker.idle().then(() => woke++);
    await jest.advanceTimersByTimeAsync(5000);
    expect(woke).toBe(0);
    expect(conn.calls).toBe(0);
    l.stopWatching();
    await watching;
  });

  it('a queue seen empty is worth probing again EMPTY_RECHECK_MS later without a marker (another process may have taken it)', async () => {
    jest.useFakeTimers();
    const { l, fetcher } = lane();
    fetcher.answers.push(undefined);
    await l.take('t', true);
    expect(l.worthProbing()).toBe(false);
    jest.advanceTimersByTime(EMPTY_RECHECK_MS - 1);
    expect(l.worthProbing()).toBe(false);
    jest.advanceTimersByTime(1);
    expect(l.worthProbing()).toBe(true);
  });

  it('finishAndTakeNext adopts the job BullMQ handed over with the completion', async () => {
    const { l } = lane();
    const moves: boolean[] = [];
    const next = await l.finishAndTakeNext(async (fetchNext) => {
      moves.push(fetchNext);
      return job('b');
    }, 't');
    expect(next).toEqual(job('b'));
    expect(moves).toEqual([true]);
  });
});
