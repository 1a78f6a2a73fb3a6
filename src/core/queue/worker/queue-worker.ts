import { Logger } from '@nestjs/common';
import { Job, UnrecoverableError } from 'bullmq';
import { randomUUID } from 'node:crypto';
import type { AppConfig } from '../../../config/app-config';
import { runUnitOfWork } from '../../database/unit-of-work';
import { queueJobDuration } from '../../metrics/metrics';
import { checkMarkerKeyType, checkNextJobFromJobData, FetchingWorker, markerKey } from '../../patches/bullmq';
import { reportPatch } from '../../patches/patch-check';
import type { RealtimeService } from '../../realtime/realtime.contract';
import { createRedis, RedisClient } from '../../redis/redis.factory';
import { JobAnnouncer } from '../job-announcer';
import type { JobHandlers } from '../job-handlers';
import { bullPrefix, restartKey } from '../queue.keys';
import { runAttempt } from './job-attempt';
import { QueueLane } from './queue-lane';
import { SlotWaker } from './slot-waker';
import { Fetched, StrictPriority } from './strict-priority';

export { JobTimeoutError } from './job-attempt';

export interface WorkOptions {
  /** In priority order: a free slot always takes from the first queue that has a job. */
  queues: string[];
  tries: number;
  backoffMs: number;
  concurrency: number;
  /** 0: no limit. */
  maxJobs: number;
  /** Seconds; 0: no limit. */
  maxTimeS: number;
  /** Seconds per attempt; 0: none. */
  timeoutS: number;
  stopWhenEmpty: boolean;
}

export type StopReason = 'signal' | 'restart' | 'max-jobs' | 'max-time' | 'empty';

const IDLE_WAIT_S = 1;
const RESTART_POLL_MS = 1000;
const COUNTS_REFRESH_MS = 10000;
/** A queue seen empty is asked again at least this often even without a marker (other processes may take the marker). */
const EMPTY_RECHECK_MS = 20;
const SLOT_RETRY_MS = 1000;

/**
 * `queue:work`: Laravel's worker over BullMQ with strict cross-queue priority.
 *
 * One QueueLane per queue (a BullMQ Worker used only as a fetcher, and a marker watcher);
 * `concurrency` slots each loop "take the first job of the first non-empty queue, run it, finish
 * it" (StrictPriority); idle slots wait in the SlotWaker. Locks are renewed every lockMs/2 and each
 * fetcher's stalled-job checker runs, so a job of a SIGKILLed worker is back in its queue within
 * lockMs + 2 × stalledIntervalMs.
 */
export class QueueWorker {
  readonly id = randomUUID().slice(0, 8);
  private readonly logger = new Logger('QueueWorker');
  private readonly waker = new SlotWaker();
  private readonly lanes: QueueLane[] = [];
  private readonly connections: RedisClient[] = [];
  private readonly priority = new StrictPriority(this.lanes, () => this.stopping);
  /** Slot token → its running job (a slot runs one job at a time). */
  private readonly active = new Map<string, Job>();
  private readonly announcer: JobAnnouncer;
  private readonly timers: NodeJS.Timeout[] = [];
  private stopping = false;
  private reason: StopReason | undefined;
  private processed = 0;

  constructor(
    private readonly config: AppConfig,
    private readonly handlers: JobHandlers,
    realtime: RealtimeService,
    private readonly redis: RedisClient,
    private readonly opts: WorkOptions,
    /** Called every 10 s (the monitor's counts into the queue_jobs gauge). */
    private readonly refreshCounts: () => Promise<void> = async () => undefined,
  ) {
    this.announcer = new JobAnnouncer(realtime);
  }

  get stopReason(): StopReason | undefined {
    return this.reason;
  }

  get processedCount(): number {
    return this.processed;
  }

  /** Stop taking jobs; running ones finish. */
  stop(reason: StopReason): void {
    if (this.stopping) return;
    this.stopping = true;
    this.reason = reason;
    this.logger.log({ reason, active: this.active.size }, 'worker stopping after its running jobs');
    this.waker.wakeAll();
    for (const lane of this.lanes) lane.stopWatching();
  }

  async run(): Promise<StopReason> {
    reportPatch(checkNextJobFromJobData(), 'required');
    await this.openLanes();
    const restartStamp = await this.redis.get(restartKey(this.config.redis.prefix)).catch(() => null);
    this.every(RESTART_POLL_MS, async () => {
      const now = await this.redis.get(restartKey(this.config.redis.prefix));
      if (now !== restartStamp) this.stop('restart');
    });
    this.every(Math.max(250, Math.floor(this.config.queue.lockMs / 2)), () => this.renewLocks());
    this.every(COUNTS_REFRESH_MS, () => this.refreshCounts());
    this.every(EMPTY_RECHECK_MS, async () => {
      for (const lane of this.lanes) lane.markPossiblyReady();
    });
    if (this.opts.maxTimeS > 0) this.timers.push(setTimeout(() => this.stop('max-time'), this.opts.maxTimeS * 1000));
    void this.refreshCounts().catch(() => undefined);
    const watching = Promise.all(this.lanes.map((lane) => lane.watchForWork()));

    this.logger.log({ worker: this.id, queues: this.opts.queues, concurrency: this.opts.concurrency }, 'worker started');
    // Slot 0 looks first; each slot that finds a job wakes the next (QueueLane → SlotWaker.wakeNext).
    await Promise.all(Array.from({ length: this.opts.concurrency }, (_, i) => this.slot(`${this.id}:${i}`, i > 0)));

    for (const t of this.timers) clearInterval(t);
    this.stopping = true;
    await Promise.all(this.lanes.map((lane) => lane.close()));
    await watching;
    await Promise.all(this.connections.map((c) => c.quit().catch(() => c.disconnect())));
    this.logger.log({ worker: this.id, processed: this.processed, reason: this.reason }, 'worker stopped');
    return this.reason ?? 'signal';
  }

  private async openLanes(): Promise<void> {
    const { lockMs, stalledIntervalMs } = this.config.queue;
    const prefix = bullPrefix(this.config);
    const markerOk = reportPatch(checkMarkerKeyType(await this.redis.type(markerKey(prefix, this.opts.queues[0]))), 'optional').ok;
    for (const queue of this.opts.queues) {
      const fetchConnection = this.connection(`worker:${queue}`);
      const fetcher = new FetchingWorker(queue, null, {
        connection: fetchConnection,
        prefix,
        autorun: false,
        lockDuration: lockMs,
        stalledInterval: stalledIntervalMs,
        maxStalledCount: 2,
        concurrency: this.opts.concurrency,
      });
      fetcher.on('error', (err) => this.logger.warn({ queue, err: err.message }, 'queue connection error'));
      const watch = { markerKey: markerOk ? markerKey(prefix, queue) : null, idleWaitS: IDLE_WAIT_S };
      this.lanes.push(new QueueLane(queue, fetcher, this.connection(`worker:wake:${queue}`), this.waker, watch));
      await fetcher.waitUntilReady();
      await fetcher.startStalledCheckTimer();
    }
  }

  private connection(name: string): RedisClient {
    const connection = createRedis(this.config.redis, { name, failFast: false });
    this.connections.push(connection);
    return connection;
  }

  private every(ms: number, fn: () => Promise<void>): void {
    this.timers.push(setInterval(() => void fn().catch(() => undefined), ms));
  }

  private async slot(token: string, startIdle: boolean): Promise<void> {
    let next: Fetched | undefined;
    if (startIdle) await this.idle();
    while (next || !this.stopping) {
      try {
        if (!next) {
          const generation = this.waker.generation;
          next = await this.priority.first(token);
          if (!next) {
            if (this.opts.stopWhenEmpty && this.active.size === 0) {
              this.stop('empty');
              break;
            }
            // A job added while we looked bumped the generation: look again instead of sleeping.
            if (generation === this.waker.generation) await this.idle();
            continue;
          }
        }
        next = await this.execute(next, token);
      } catch (err) {
        next = undefined;
        this.logger.warn({ err: (err as Error).message }, 'worker slot error; retrying in 1s');
        await new Promise((r) => setTimeout(r, SLOT_RETRY_MS));
      }
    }
  }

  /** An idle slot found every queue empty, so every queue is watched while it waits. */
  private idle(): Promise<void> {
    for (const lane of this.lanes) lane.stopDraining();
    return this.waker.idle();
  }

  private async execute({ job, index }: Fetched, token: string): Promise<Fetched | undefined> {
    const queue = this.opts.queues[index];
    this.active.set(token, job);
    const handler = this.handlers.get(job.name);
    // Laravel: a job's own tries win over the worker's --tries.
    if (!job.opts.attempts) job.opts.attempts = this.opts.tries;
    if (!job.opts.backoff) job.opts.backoff = { type: 'exponential', delay: this.opts.backoffMs };
    const started = process.hrtime.bigint();
    let result: unknown;
    let error: Error | undefined;
    try {
      if (!handler) throw new UnrecoverableError(`No handler is registered for job "${job.name}"`);
      if (handler.announce) await this.announcer.started(queue, job).catch(() => undefined);
      const onProgress = handler.announce
        ? (percent: number, extra?: Parameters<JobAnnouncer['progress']>[3]) => this.announcer.progress(queue, job, percent, extra).catch(() => undefined)
        : undefined;
      result = await runUnitOfWork(() => runAttempt(handler, job, { queue, timeoutS: this.opts.timeoutS, onProgress }), { userId: ownerOf(job) });
    } catch (err) {
      error = err instanceof Error ? err : new Error(String(err));
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    this.processed++;
    if (this.opts.maxJobs > 0 && this.processed >= this.opts.maxJobs) this.stop('max-jobs');
    try {
      if (!error) {
        const next = await this.priority.finish(index, token, (fetchNext) => job.moveToCompleted(result, token, fetchNext));
        queueJobDuration.observe({ queue, name: job.name, status: 'completed' }, seconds);
        if (handler?.announce) await this.announcer.completed(queue, job, result).catch(() => undefined);
        return next;
      }
      const final = error instanceof UnrecoverableError || error.name === 'UnrecoverableError' || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      await job.moveToFailed(error, token, false);
      queueJobDuration.observe({ queue, name: job.name, status: final ? 'failed' : 'retried' }, seconds);
      this.logger.warn({ queue, jobId: job.id, name: job.name, attempt: job.attemptsMade, final, reason: error.message }, 'job failed');
      if (final) {
        await handler?.onFailed?.(job, error).catch((err: Error) => this.logger.error({ err: err.message, jobId: job.id }, 'onFailed hook failed'));
        if (handler?.announce) await this.announcer.failed(queue, job, error).catch(() => undefined);
        await this.announcer.failedForGood(queue, job, error).catch(() => undefined);
      }
      return this.stopping ? undefined : this.priority.first(token);
    } catch (err) {
      // Typically "Missing lock": the job stalled (we were too slow) and is another worker's now.
      this.logger.warn({ queue, jobId: job.id, err: (err as Error).message }, 'could not finish job');
      return undefined;
    } finally {
      this.active.delete(token);
    }
  }

  private async renewLocks(): Promise<void> {
    await Promise.all(
      [...this.active].map(async ([token, job]) => {
        const ok = await job.extendLock(token, this.config.queue.lockMs).catch(() => 0);
        if (!ok) this.logger.warn({ jobId: job.id, queue: job.queueName }, 'could not extend a job lock');
      }),
    );
  }
}

function ownerOf(job: Job): string | undefined {
  const data = job.data as { userId?: unknown } | undefined;
  return data && (typeof data.userId === 'number' || typeof data.userId === 'string') ? String(data.userId) : undefined;
}
