import { Logger } from '@nestjs/common';
import type { Job } from 'bullmq';
import type { RealtimeService } from '../../realtime/realtime.contract';
import { BATCH_ID, batchCallbackJob, BatchCallbackKind, BatchView, batchView, dueCallbacks, progressPayload } from './batch';
import type { BatchCallbacks } from './batch-callbacks';
import type { BatchStore } from './batch-store';

/** batch:progress at most this often per batch and process, plus every change of state (finished, failed, cancelled). */
const PROGRESS_EVERY_MS = 250;
/** A batch seen not cancelled is asked again after this long (cancelled stays cancelled). */
const CANCELLED_RECHECK_MS = 500;
/** Bounds the per-batch memory of a long-running worker. */
const MAX_TRACKED = 10000;

export type JobOutcome = 'success' | 'failure' | 'skip';
export type QueueCallbackJob = (queue: string, name: string, data: object, jobId: string) => Promise<unknown>;

/** `batch:progress` to the batch's owner, or to the admins for an operator's batch (queue:probe --batch). */
export function announceBatch(realtime: RealtimeService, batch: BatchView): Promise<string> {
  const payload = progressPayload(batch);
  return batch.ownerId !== null ? realtime.toUser(batch.ownerId, 'batch:progress', payload) : realtime.toAdmins('batch:progress', payload);
}

/**
 * The worker's side of batches: skips the jobs of a cancelled batch (Laravel's SkipIfBatchCancelled,
 * for every batch job), counts each job's final outcome, queues the callbacks that fall due and
 * publishes `batch:progress`.
 */
export class BatchTracker {
  private readonly logger = new Logger('Batches');
  private readonly lastProgress = new Map<string, number>();
  /** Batch id → when it was seen not cancelled, or Infinity once cancelled. */
  private readonly cancelled = new Map<string, number>();

  constructor(
    private readonly store: BatchStore,
    private readonly callbacks: BatchCallbacks,
    private readonly realtime: RealtimeService,
    private readonly queueCallback: QueueCallbackJob,
  ) {}

  /** The batch a job belongs to: `batchId` in its data, as Laravel's Batchable jobs carry it. */
  static batchOf(job: Job): string | undefined {
    const id = (job.data as { batchId?: unknown } | undefined)?.batchId;
    return typeof id === 'string' && BATCH_ID.test(id) ? id : undefined;
  }

  async isCancelled(batchId: string): Promise<boolean> {
    const seen = this.cancelled.get(batchId);
    if (seen === Infinity) return true;
    if (seen !== undefined && Date.now() - seen < CANCELLED_RECHECK_MS) return false;
    const cancelled = await this.store.isCancelled(batchId);
    if (this.cancelled.size >= MAX_TRACKED) this.cancelled.clear();
    this.cancelled.set(batchId, cancelled ? Infinity : Date.now());
    return cancelled;
  }

  /**
   * Counts a job's final outcome. Called before the job is moved to completed/failed: if this
   * process dies in between, the job is re-run and counted once all the same. A Redis error
   * propagates, so the job is not moved either (it stalls and is re-run).
   */
  async record(batchId: string, ref: string, outcome: JobOutcome, error?: Error): Promise<void> {
    const state = await this.store.update(batchId, outcome, ref, error ? error.message.slice(0, 1000) : '');
    if (!state) {
      this.logger.warn({ batchId, job: ref }, 'job of a batch that no longer exists (pruned?)');
      return;
    }
    // This process's own failure may just have cancelled the batch: its next jobs must see it at once.
    if (state.hash.cancelledAt !== undefined) this.cancelled.set(batchId, Infinity);
    const due = dueCallbacks(state.hash);
    if (due.length) await this.queueCallbacks(batchId, state.hash, due);
    const finished = state.hash.finishedAt !== undefined;
    const now = Date.now();
    if (due.length || finished || outcome === 'failure' || now - (this.lastProgress.get(batchId) ?? 0) >= PROGRESS_EVERY_MS) {
      if (this.lastProgress.size >= MAX_TRACKED) this.lastProgress.clear();
      this.lastProgress.set(batchId, now);
      await announceBatch(this.realtime, batchView(batchId, state.hash, state.failed, [])).catch((err: Error) =>
        this.logger.warn({ batchId, err: err.message }, 'batch:progress not sent'),
      );
    }
  }

  /** One job per due callback, its id derived from the batch: queued twice (a re-run) it is still one job. */
  private async queueCallbacks(batchId: string, hash: Record<string, string>, due: BatchCallbackKind[]): Promise<void> {
    const registered = this.callbacks.get(hash.name);
    for (const kind of due) {
      if (registered?.[kind]) await this.queueCallback(hash.queue, batchCallbackJob(kind), { batch: batchId }, `batch-${batchId}-${kind}`);
    }
    await this.store.update(batchId, 'queued', '', due.join(','));
  }
}
