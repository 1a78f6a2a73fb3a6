import type { Job } from 'bullmq';
import type { WriteMark } from '../../redis/replica-confirmation';
import type { CompletionDurability } from './durable-finish';
import type { Fetched } from './strict-priority';

/** What the worker lends a start being confirmed: its lock renewed meanwhile, its lock checked after a failover. */
export interface StartHolder {
  hold(token: string, job: Job): void;
  release(token: string): void;
  /** The job is locked by this slot on the primary now. */
  stillOurs(job: Job, token: string): Promise<boolean>;
  warn(fields: Record<string, unknown>, message: string): void;
}

export type LaneMarks = Array<WriteMark | null>;

/**
 * Issue 14: taking a job (BullMQ's move to active and its lock) is a write like a completion. Acknowledged
 * by the old primary only, a kill -9 loses it: the job is waiting again on the new primary, another worker
 * starts it, and it runs twice (Cluster kill drill, drills/RESULTS.md). So a job that no completion's
 * confirmation covered runs once the replicas hold its start; if a failover moved the connection meanwhile,
 * it runs here only if the new primary still has it locked by this slot — otherwise it is back in its
 * queue and runs once, elsewhere. With nothing to confirm (one Redis) it costs no Redis call and no promise.
 */
export class StartConfirmation {
  constructor(
    /** Per lane (queue index): its connection's durability, undefined when confirmations are off. */
    private readonly lanes: ReadonlyArray<CompletionDurability | undefined>,
    private readonly holder: StartHolder,
  ) {}

  /** Before a fetch: per lane, the connection the fetch will go over; null when no lane needs confirming now. */
  marks(): Promise<LaneMarks> | null {
    if (!this.lanes.some((d) => d?.needed())) return null;
    // A mark that cannot be taken (no master known for the slot right now) leaves that start unconfirmed: at least once.
    return Promise.all(this.lanes.map((d) => (d ? d.mark().catch(() => null) : Promise.resolve(null))));
  }

  /** After the fetch: the job to run, or undefined when its start was lost in a failover (it is queued again). */
  async confirm(fetched: Fetched, marks: LaneMarks | null, token: string): Promise<Fetched | undefined> {
    const mark = marks?.[fetched.index];
    const durability = this.lanes[fetched.index];
    if (!mark || !durability) return fetched;
    const ref = { queue: fetched.job.queueName, jobId: fetched.job.id };
    this.holder.hold(token, fetched.job);
    try {
      const outcome = await durability.settle(mark);
      if (outcome === 'unconfirmed') this.holder.warn(ref, 'the Redis replicas did not confirm a job start: it stands on the primary alone');
      if (outcome !== 'moved' || (await this.holder.stillOurs(fetched.job, token))) return fetched;
      this.holder.warn(ref, 'a job start was lost in a Redis failover: it runs once, from its queue');
      return undefined;
    } finally {
      this.holder.release(token);
    }
  }
}
