import type { Job } from 'bullmq';
import { ReplicaConfirmationError, WriteMark } from '../../redis/replica-confirmation';

/** A lane connection's replica confirmation as the worker uses it (BatchedConfirmation over ReplicaConfirmation; fakes in the spec). */
export interface Confirmer {
  mark(): Promise<WriteMark>;
  confirm(mark: WriteMark): Promise<void>;
  /** Replicas a write needs right now by a fresh sample (0: none to wait for), or null when unknown. */
  requiredNow(): number | null;
  /** Fewer replicas online than the minimum: waiting longer cannot help. */
  replicasMissing(): boolean;
}

/**
 * - `confirmed`: the replicas hold the writes;
 * - `unconfirmed`: same connection, but fewer replicas than required answered for `giveUpMs`, or fewer
 *   than the minimum are online at all — replicas that are gone rather than a failover; the writes stand
 *   on the primary alone (at least once);
 * - `moved`: the connection was replaced under the writes (a failover): they may be gone.
 */
export type Durability = 'confirmed' | 'unconfirmed' | 'moved';

export interface DurabilityOptions {
  /** Pause between two WAITs while replicas lag or the primary is failing over. */
  retryMs: number;
  /** How long a completion is held (its lock renewed) before the worker stops waiting for it. */
  giveUpMs: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Issue 14: a completion acknowledged by the old primary only is lost in a failover, and BullMQ's
 * stalled check then runs the job a second time. So a job counts as done (job:completed, the worker's
 * counts) only once the replicas hold its completion — one WAIT per lane connection and loop turn
 * covering every completion of the turn, and the next job BullMQ handed over in the same round trip.
 * If the connection moved (failover), the completion is looked for on the new primary and written again
 * while the job is still ours there; the job keeps its lock (the worker renews it) the whole time.
 */
export class CompletionDurability {
  constructor(
    private readonly confirmer: Confirmer,
    private readonly opts: DurabilityOptions,
    private readonly clock: { now: () => number; sleep: (ms: number) => Promise<void> } = { now: Date.now, sleep },
  ) {}

  /** Whether writes on this connection wait for replicas now (false: one Redis, QUEUE_DISPATCH_MIN_REPLICAS=0). */
  needed(): boolean {
    return this.confirmer.requiredNow() !== 0;
  }

  /** Before the writes; null when no replica has to confirm them (one Redis, QUEUE_DISPATCH_MIN_REPLICAS=0). */
  async mark(): Promise<WriteMark | null> {
    return this.needed() ? this.confirmer.mark() : null;
  }

  /** After the writes were answered: waits (retrying) until the replicas hold them, the connection moved, or giveUpMs. */
  async settle(mark: WriteMark): Promise<Durability> {
    const deadline = this.clock.now() + this.opts.giveUpMs;
    for (;;) {
      try {
        await this.confirmer.confirm(mark);
        return 'confirmed';
      } catch (err) {
        if (err instanceof ReplicaConfirmationError && err.code === 'moved') return 'moved';
        // Replicas that are not there at all (not a failover under way): no point holding every job giveUpMs.
        if (err instanceof ReplicaConfirmationError && this.confirmer.replicasMissing()) return 'unconfirmed';
        // A Redis error (failing over) leaves it unknown whether the writes reached the replicas.
        if (this.clock.now() >= deadline) return err instanceof ReplicaConfirmationError ? 'unconfirmed' : 'moved';
        await this.clock.sleep(this.opts.retryMs);
      }
    }
  }

  /**
   * After `moved`: is the completion on the primary now? Completed → done. Still active → ours if the
   * lock survived (the worker renews it): complete it again and confirm that. Anything else, or no
   * success within giveUpMs → lost: the stalled check will run the job again (handlers are idempotent).
   */
  async recomplete(job: Pick<Job, 'getState' | 'moveToCompleted'>, token: string, result: unknown): Promise<'completed' | 'lost'> {
    const deadline = this.clock.now() + this.opts.giveUpMs;
    while (this.clock.now() < deadline) {
      try {
        const state = await job.getState();
        if (state === 'completed') return 'completed';
        if (state !== 'active') return 'lost';
        const mark = await this.confirmer.mark();
        await job.moveToCompleted(result, token, false);
        if ((await this.settle(mark)) !== 'moved') return 'completed';
      } catch {
        // Redis still failing over, or the lock is gone (the next look says which, until the deadline).
      }
      await this.clock.sleep(this.opts.retryMs);
    }
    return 'lost';
  }
}
