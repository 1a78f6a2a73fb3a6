import type { Job } from 'bullmq';
import type { FetchingWorker } from '../../patches/bullmq';
import type { RedisClient } from '../../redis/redis.factory';
import type { SlotWaker } from './slot-waker';
import type { Lane } from './strict-priority';

const WATCH_RETRY_MS = 200;

export interface LaneWatch {
  /** BullMQ's marker key of this queue (core/patches/bullmq.ts), or null to poll instead. */
  markerKey: string | null;
  /** How long an idle watcher waits for a marker (or sleeps when polling) before waking a slot anyway. */
  idleWaitS: number;
}

/**
 * One queue of queue:work: its BullMQ fetcher, its marker watcher and what the worker knows about
 * it between fetches.
 *
 * - `maybeReady` is dropped when a fetch finds the queue empty and raised by its marker (or every
 *   few ms by the worker): probes of higher queues after a lower queue's job skip queues without it.
 * - While our slots are draining the queue (the last fetch found a job), its marker is not watched:
 *   it would fire once per job for nothing, a round trip and a wake-up per job. Watching resumes
 *   when a fetch finds the queue empty or a slot goes idle.
 * - A marker wakes one idle slot (SlotWaker); without a marker the watcher wakes one every idleWaitS
 *   (delayed jobs coming due, or polling when the marker patch is off).
 */
export class QueueLane implements Lane {
  private maybeReady = true;
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
    return this.maybeReady && !this.probing;
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

  /** Lets probes ask this queue again (the worker's periodic re-check: another process may have taken the marker). */
  markPossiblyReady(): void {
    this.maybeReady = true;
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
    if (generation === this.readyGeneration) this.maybeReady = false;
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
        await this.parked(this.watch.idleWaitS * 1000);
        this.maybeReady = true;
      } else {
        try {
          if (await this.watchConnection.bzpopmin(this.watch.markerKey, this.watch.idleWaitS)) {
            this.maybeReady = true;
            this.readyGeneration++;
          }
        } catch {
          if (!this.stopped) await this.parked(WATCH_RETRY_MS);
        }
      }
      if (!this.stopped) this.waker.wakeOne();
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
