import type { Job } from 'bullmq';

/** One queue as the priority logic sees it (QueueLane; fakes in the spec). */
export interface Lane {
  /** Whether a probe of higher queues after a lower queue's job should ask this one (cheap flag test). */
  worthProbing(): boolean;
  /** The queue's next job, or undefined when it has none. */
  take(token: string, probe: boolean): Promise<Job | undefined>;
  /** Finishes the current job with `move(true)` and returns the next job BullMQ handed over, if any. */
  finishAndTakeNext(move: (fetchNext: boolean) => Promise<unknown>, token: string): Promise<Job | undefined>;
}

export interface Fetched {
  job: Job;
  /** The lane (queue) index, 0 = highest priority. */
  index: number;
}

/**
 * Laravel's `--queue=high,default` across BullMQ queues: a free slot always takes the first job of
 * the first queue that has one. After a lower queue's job the higher queues are asked first (only
 * those whose flag says they may have work, so a busy low queue costs no Redis call per job for an
 * empty high one); after a top-queue job BullMQ hands over the next one in the same call.
 */
export class StrictPriority {
  constructor(
    private readonly lanes: readonly Lane[],
    private readonly stopping: () => boolean,
  ) {}

  /** The first job of lanes [from, to) in priority order; with `probe`, lanes not worth probing are skipped. */
  async first(token: string, from = 0, to = this.lanes.length, probe = false): Promise<Fetched | undefined> {
    for (let index = from; index < to && !this.stopping(); index++) {
      const lane = this.lanes[index];
      if (probe && !lane.worthProbing()) continue;
      const job = await lane.take(token, probe);
      if (job) return { job, index };
    }
    return undefined;
  }

  /** Finishes a job of lane `index` through `move` and returns the next job to run, keeping strict priority. */
  async finish(index: number, token: string, move: (fetchNext: boolean) => Promise<unknown>): Promise<Fetched | undefined> {
    if (this.stopping()) {
      await move(false);
      return undefined;
    }
    if (index > 0 && this.anyWorthProbing(index)) {
      const higher = await this.first(token, 0, index, true);
      if (higher) {
        await move(false);
        return higher;
      }
    }
    const same = await this.lanes[index].finishAndTakeNext(move, token);
    if (same) return { job: same, index };
    return this.first(token, index + 1);
  }

  /** Checked before probing: no promise per job when no higher lane may have work. */
  private anyWorthProbing(below: number): boolean {
    for (let i = 0; i < below; i++) if (this.lanes[i].worthProbing()) return true;
    return false;
  }
}
