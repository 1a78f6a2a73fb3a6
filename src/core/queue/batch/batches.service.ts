import { Inject, Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../../../config/app-config';
import { BadRequestError, ConflictError, ForbiddenError, NotFoundError } from '../../errors/domain-error';
import { RealtimeService } from '../../realtime/realtime.contract';
import type { RedisClient } from '../../redis/redis.factory';
import { REDIS } from '../../redis/redis.module';
import type { Principal } from '../../session/principal';
import { FailedJobs } from '../failed-jobs.service';
import { DispatchedJob, QueueRegistry } from '../queue-registry';
import { parseQueueName } from '../queue.keys';
import { BATCH_ID, BatchView, runsByQueue } from './batch';
import { BatchCallbacks } from './batch-callbacks';
import { BatchStore, PruneCutoffs } from './batch-store';
import { announceBatch, BatchTracker } from './batch-tracker';

export interface BatchJob {
  queue: string;
  name: string;
  data: object;
}

export interface BatchOptions {
  /** The kind of batch: its callbacks are the ones registered under this name (BatchCallbacks). */
  name: string;
  /** The user the batch belongs to: batch:progress goes to them, GET /api/batches/:id is theirs. */
  ownerId?: number;
  /** Laravel's allowFailures(): a failed job does not cancel the batch. */
  allowFailures?: boolean;
  /** Where then/catch/finally run (default: the first job's queue). */
  callbackQueue?: string;
  /** After each addBulk chunk: jobs added so far. */
  onProgress?: (added: number) => void;
}

export interface DispatchedBatch {
  id: string;
  jobs: DispatchedJob[];
}

/**
 * Laravel's Bus::batch over BullMQ: a batch record in Redis (BatchStore) and its jobs, each carrying
 * `batchId` in its data; workers count outcomes (BatchTracker). docs/queues.md "Batches".
 */
@Injectable()
export class Batches {
  private readonly logger = new Logger(Batches.name);
  readonly store: BatchStore;

  constructor(
    config: AppConfig,
    @Inject(REDIS) redis: RedisClient,
    private readonly registry: QueueRegistry,
    private readonly failed: FailedJobs,
    private readonly callbacks: BatchCallbacks,
    private readonly realtime: RealtimeService,
  ) {
    this.store = new BatchStore(redis, config.redis.prefix);
  }

  /** For queue:work. */
  tracker(): BatchTracker {
    return new BatchTracker(this.store, this.callbacks, this.realtime, (queue, name, data, jobId) => this.registry.dispatch(queue, name, data, { jobId }));
  }

  async dispatch(jobs: readonly BatchJob[], opts: BatchOptions): Promise<DispatchedBatch> {
    if (!jobs.length) throw new BadRequestError('A batch needs at least one job');
    const queued = jobs.map((j) => ({ ...j, queue: parseQueueName(j.queue) }));
    const callbackQueue = parseQueueName(opts.callbackQueue ?? queued[0].queue);
    // The whole count first (Laravel increments total_jobs before pushing): a fast worker cannot finish the batch early.
    const id = await this.store.create({ name: opts.name, ownerId: opts.ownerId, allowFailures: opts.allowFailures ?? false, total: jobs.length, queue: callbackQueue });
    const out: DispatchedJob[] = [];
    try {
      for (const run of runsByQueue(queued)) {
        const before = out.length;
        const added = await this.registry.dispatchBulk(run.queue, run.jobs.map((j) => ({ name: j.name, data: { ...j.data, batchId: id } })), {
          ownerId: opts.ownerId,
          onChunk: (n) => opts.onProgress?.(before + n),
        });
        out.push(...added);
      }
    } catch (err) {
      // Jobs that never went out would never report: the batch shrinks to what was added and is cancelled, so it still finishes.
      await this.store.update(id, 'shrink', '', String(jobs.length - out.length)).catch(() => undefined);
      await this.store.update(id, 'cancel').catch(() => undefined);
      this.logger.error({ batchId: id, added: out.length, total: jobs.length, err: (err as Error).message }, 'batch dispatch failed part-way; batch cancelled');
      throw err;
    }
    return { id, jobs: out };
  }

  /** Any batch, for operators. */
  async find(id: string): Promise<BatchView> {
    if (!BATCH_ID.test(id)) throw new BadRequestError(`"${id.slice(0, 80)}" is not a batch id (a UUID)`);
    const batch = await this.store.find(id);
    if (!batch) throw new NotFoundError(`Batch ${id}`);
    return batch;
  }

  /** GET /api/batches/:id: the owner or an admin; 404 for anything that is not a batch. */
  async viewFor(me: Principal, id: string): Promise<BatchView> {
    const batch = BATCH_ID.test(id) ? await this.store.find(id) : null;
    if (!batch) throw new NotFoundError('Batch');
    if (me.role !== 'admin' && batch.ownerId !== me.id) throw new ForbiddenError('Only the batch owner or an admin can see this batch');
    return batch;
  }

  async cancelFor(me: Principal, id: string): Promise<BatchView> {
    await this.viewFor(me, id);
    return this.cancel(id);
  }

  /** Laravel's $batch->cancel(): jobs not started yet are skipped when a worker takes them; running ones finish. */
  async cancel(id: string): Promise<BatchView> {
    const batch = await this.find(id);
    if (batch.finishedAt) throw new ConflictError(`Batch ${id} has already finished`);
    await this.store.update(id, 'cancel');
    const now = await this.find(id);
    await announceBatch(this.realtime, now).catch((err: Error) => this.logger.warn({ batchId: id, err: err.message }, 'batch:progress not sent'));
    return now;
  }

  /**
   * queue:retry-batch: the batch's failed jobs back on their queues (attempts reset). A failed job
   * that is gone (forgotten, flushed) is reported, not fatal. A cancelled batch is refused: its
   * other jobs were skipped, so retrying the failed ones would not make it whole.
   */
  async retryFailed(id: string): Promise<{ retried: string[]; gone: string[] }> {
    const batch = await this.find(id);
    if (batch.cancelledAt) throw new ConflictError(`Batch ${id} was cancelled (its jobs not yet run were skipped): dispatch a new batch instead`);
    const retried: string[] = [];
    const gone: string[] = [];
    for (const ref of (await this.store.failedRefs(id)).sort()) {
      try {
        retried.push(...(await this.failed.retry([ref])));
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
        gone.push(ref);
      }
    }
    return { retried, gone };
  }

  prune(cutoffs: PruneCutoffs): Promise<number> {
    return this.store.prune(cutoffs);
  }
}
