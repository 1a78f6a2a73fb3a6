import type { Job } from 'bullmq';
import type { FetchingWorker } from '../../patches/bullmq';
import type { RedisClient } from '../../redis/redis.factory';
import type { SlotWaker } from './slot-waker';
import type { Lane } from './strict-priority';

const WATCH_RETRY_MS = 200;
/** A queue seen empty is worth probing again after this long even without a marker (other processes may take the marker). */
export const EMPTY_RECHECK_MS = 20;

export interface LaneWatch {
  /** BullMQ's marker key of this queue (core/patches/bullmq.ts), or null: no watching (the worker's IdleLook polls). */
  markerKey: string | null;
  /** Seconds one BZPOPMIN blocks before it is sent again (a timeout wakes nobody: IdleLook does the periodic look). */
  blockS: number;
}

/**
 * One queue of queue:work: its BullMQ fetcher, its marker watcher and what the worker knows about
 * it between fetches.
 *
 * - `maybeReady` is dropped when a fetch finds the queue empty and raised by its marker, or
 *   EMPTY_RECHECK_MS after the empty fetch (a time test, not a timer: an idle worker wakes for nothing):
 *   probes of higher queues after a lower queue's job skip queues without it.
 * - While our slots are draining the queue (the last fetch found a job), its marker is not watched:
 *   it would fire once per job for nothing, a round trip and a wake-up per job. Watching resumes
 *   when a fetch finds the queue empty or a slot goes idle.
 * - A marker wakes one idle slot (SlotWaker). A BZPOPMIN that times out wakes nobody: the periodic
 *   look of an idle worker (delayed jobs coming due, markers other processes took, polling when the
 *   marker patch is off) is IdleLook's, once per worker rather than once per queue.
 */
export class QueueLane implements Lane {
  private maybeReady = true;
  /** When a fetch last found the queue empty (Date.now()). */
  private emptyAt = 0;
  /** Bumped by every marker: a fetch that started before it must not conclude "empty". */
  private readyGeneration = 0;
  /** A probe is under way; other slots do not probe the same queue at the same time. */
  private probing = false;
  private draining = false;
  private resumeWatcher: (() => void) | undefined;
  private stopped = false;

  constructor(
    readonly queue: string,
    private readonly fetcher: FetchingWorker,
    private readonly watchConnection: RedisClient,
    private readonly waker: SlotWaker,
    private readonly watch: LaneWatch,
  ) {}

  worthProbing(): boolean {
    return !this.probing && (this.maybeReady || Date.now() - this.emptyAt >= EMPTY_RECHECK_MS);
  }

  async take(token: string, probe: boolean): Promise<Job | undefined> {
    const generation = this.readyGeneration;
    if (probe) this.probing = true;
    let job: Job | undefined;
    try {
      job = await this.fetcher.getNextJob(token, { block: false });
    } finally {
      if (probe) this.probing = false;
    }
    this.noteFetched(job !== undefined, generation);
    return job;
  }

  async finishAndTakeNext(move: (fetchNext: boolean) => Promise<unknown>, token: string): Promise<Job | undefined> {
    const generation = this.readyGeneration;
    const next = await this.fetcher.adopt(await move(true), token);
    this.noteFetched(next !== undefined, generation);
    return next;
  }

  /** A slot went idle having found every queue empty: watch this queue's marker again. */
  stopDraining(): void {
    if (!this.draining) return;
    this.draining = false;
    this.resumeWatcher?.();
  }

  private noteFetched(found: boolean, generation: number): void {
    if (found) {
      this.maybeReady = true;
      this.draining = true;
      this.waker.wakeNext();
      return;
    }
    // A marker that fired while we looked means "ask again": keep the flag up then.
    if (generation === this.readyGeneration) {
      this.maybeReady = false;
      this.emptyAt = Date.now();
    }
    this.stopDraining();
  }

  /** The watcher loop; resolves after stopWatching(). */
  async watchForWork(): Promise<void> {
    if (this.stopped) return;
    while (!this.stopped) {
      if (this.draining) {
        await this.parked();
        continue;
      }
      if (this.watch.markerKey === null) {
        await this.parked(this.watch.blockS * 1000);
        continue;
      }
      try {
        if (await this.watchConnection.bzpopmin(this.watch.markerKey, this.watch.blockS)) {
          this.maybeReady = true;
          this.readyGeneration++;
          if (!this.stopped) this.waker.wakeOne();
        }
      } catch {
        if (!this.stopped) await this.parked(WATCH_RETRY_MS);
      }
    }
  }

  stopWatching(): void {
    this.stopped = true;
    this.watchConnection.disconnect();
    this.resumeWatcher?.();
  }

  async close(): Promise<void> {
    this.stopWatching();
    await this.fetcher.close().catch(() => undefined);
  }

  /** Waits until resumed (stopDraining, stopWatching) or, with `ms`, that long at most. */
  private parked(ms?: number): Promise<void> {
    return new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (): void => {
        clearTimeout(timer);
        if (this.resumeWatcher === done) this.resumeWatcher = undefined;
        resolve();
      };
      if (ms !== undefined) timer = setTimeout(done, ms);
      this.resumeWatcher = done;
    });
  }
}
