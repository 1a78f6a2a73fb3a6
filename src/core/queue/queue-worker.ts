import { Logger } from '@nestjs/common';
import { Job, UnrecoverableError, Worker } from 'bullmq';
import { randomUUID } from 'node:crypto';
import type { AppConfig } from '../../config/app-config';
import { runUnitOfWork } from '../database/unit-of-work';
import { queueJobDuration } from '../metrics/metrics';
import type { RealtimeService } from '../realtime/realtime.contract';
import { createRedis, RedisClient } from '../redis/redis.factory';
import { JobAnnouncer } from './job-announcer';
import type { JobContext, JobHandler, JobHandlers } from './job-handlers';
import { bullPrefix, restartKey } from './queue.keys';

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

interface Fetched {
  job: Job;
  index: number;
}

export class JobTimeoutError extends Error {
  constructor(seconds: number) {
    super(`Job exceeded the ${seconds}s timeout`);
    this.name = 'JobTimeoutError';
  }
}

/**
 * A BullMQ Worker that never runs its own loop: we fetch from it (getNextJob
 * without blocking) and finish jobs ourselves. `adopt` turns the next-job data
 * that moveToCompleted(fetchNext) returns into a Job, as Worker's own loop does.
 */
class FetchingWorker extends Worker {
  async adopt(raw: unknown, token: string): Promise<Job | undefined> {
    const [jobData, jobId] = (Array.isArray(raw) ? raw : []) as [Parameters<Worker['createJob']>[0] | undefined, string | undefined];
    if (!jobData || !jobId) return undefined;
    return this.nextJobFromJobData(jobData, jobId, token);
  }
}

const IDLE_WAIT_S = 1;
const WAKER_RETRY_MS = 200;
const RESTART_POLL_MS = 1000;
const COUNTS_REFRESH_MS = 10000;
/** A queue seen empty is asked again at least this often even without a marker (other processes may take the marker). */
const EMPTY_RECHECK_MS = 20;

/**
 * `queue:work`: Laravel's worker over BullMQ with strict cross-queue priority.
 *
 * One BullMQ Worker per queue (autorun off) serves as a fetcher; `concurrency`
 * slots each loop "take the first job of the first non-empty queue, run it,
 * finish it". When a slot finishes a job of the top queue it lets BullMQ hand
 * over the next one of that queue in the same round trip (fetchNext); after a
 * lower queue's job it first looks at the higher queues. Locks are renewed
 * every lockMs/2 and each Worker's stalled-job checker runs, so a job of a
 * SIGKILLed worker is back in its queue within lockMs + 2 × stalledIntervalMs.
 *
 * Waking: each queue has a blocking connection that BZPOPMINs its marker key
 * (BullMQ sets it on every add, and again on every fetch while jobs remain),
 * or returns after IDLE_WAIT_S (delayed retries come due). A queue our slots
 * are draining is not watched: its marker would fire once per job for nothing,
 * a round trip and a wake-up per job. Its watcher resumes when a fetch finds
 * the queue empty or a slot goes idle. A marker wakes ONE idle slot; a slot that finds a job wakes
 * the next, as BullMQ's own loop fetches one at a time, so one new job does
 * not send every idle slot to Redis.
 */
export class QueueWorker {
  readonly id = randomUUID().slice(0, 8);
  private readonly logger = new Logger('QueueWorker');
  private readonly workers: FetchingWorker[] = [];
  private readonly connections: RedisClient[] = [];
  /** Slot token → its running job (a slot runs one job at a time). */
  private readonly active = new Map<string, Job>();
  private readonly announcer: JobAnnouncer;
  private stopping = false;
  private reason: StopReason | undefined;
  private processed = 0;
  private wakeGeneration = 0;
  private waiters: Array<() => void> = [];
  private timers: NodeJS.Timeout[] = [];
  private readonly watchers: RedisClient[] = [];
  /** Per queue: false once a fetch found it empty, true again on its marker or every EMPTY_RECHECK_MS. */
  private maybeReady: boolean[] = [];
  private readyGeneration: number[] = [];
  /** Per queue: a skipEmpty probe is under way; other slots do not probe the same queue at the same time. */
  private probing: boolean[] = [];
  /** Per queue: our last fetch from it found a job and no slot is idle since, so its marker is not watched (see the class comment). */
  private draining: boolean[] = [];
  /** Per queue: resumes its parked marker watcher. */
  private resumeWatcher: Array<(() => void) | undefined> = [];

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
    this.wakeAll();
    this.stopWatchers();
  }

  async run(): Promise<StopReason> {
    const { lockMs, stalledIntervalMs } = this.config.queue;
    const prefix = bullPrefix(this.config);
    for (const name of this.opts.queues) {
      const connection = createRedis(this.config.redis, { name: `worker:${name}`, failFast: false });
      this.connections.push(connection);
      const worker = new FetchingWorker(name, null, {
        connection,
        prefix,
        autorun: false,
        lockDuration: lockMs,
        stalledInterval: stalledIntervalMs,
        maxStalledCount: 2,
        concurrency: this.opts.concurrency,
      });
      worker.on('error', (err) => this.logger.warn({ queue: name, err: err.message }, 'queue connection error'));
      this.workers.push(worker);
    }
    await Promise.all(this.workers.map((w) => w.waitUntilReady()));
    for (const w of this.workers) await w.startStalledCheckTimer();

    const restartStamp = await this.redis.get(restartKey(this.config.redis.prefix)).catch(() => null);
    this.every(RESTART_POLL_MS, async () => {
      const now = await this.redis.get(restartKey(this.config.redis.prefix));
      if (now !== restartStamp) this.stop('restart');
    });
    this.every(Math.max(250, Math.floor(lockMs / 2)), () => this.renewLocks());
    this.every(COUNTS_REFRESH_MS, () => this.refreshCounts());
    this.maybeReady = this.opts.queues.map(() => true);
    this.readyGeneration = this.opts.queues.map(() => 0);
    this.probing = this.opts.queues.map(() => false);
    this.draining = this.opts.queues.map(() => false);
    this.resumeWatcher = this.opts.queues.map(() => undefined);
    this.every(EMPTY_RECHECK_MS, async () => void this.maybeReady.fill(true));
    if (this.opts.maxTimeS > 0) this.timers.push(setTimeout(() => this.stop('max-time'), this.opts.maxTimeS * 1000));
    void this.refreshCounts().catch(() => undefined);
    const watching = Promise.all(this.opts.queues.map((_, index) => this.watchMarker(prefix, index)));

    this.logger.log({ worker: this.id, queues: this.opts.queues, concurrency: this.opts.concurrency }, 'worker started');
    // Slot 0 looks first; each slot that finds a job wakes the next (see noteFetched).
    await Promise.all(Array.from({ length: this.opts.concurrency }, (_, i) => this.slot(`${this.id}:${i}`, i > 0)));

    for (const t of this.timers) clearInterval(t);
    this.stopping = true;
    this.stopWatchers();
    await watching;
    await Promise.all(this.workers.map((w) => w.close().catch(() => undefined)));
    await Promise.all(this.connections.map((c) => c.quit().catch(() => c.disconnect())));
    this.logger.log({ worker: this.id, processed: this.processed, reason: this.reason }, 'worker stopped');
    return this.reason ?? 'signal';
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
          const generation = this.wakeGeneration;
          next = await this.fetch(token, 0, this.workers.length);
          if (!next) {
            if (this.opts.stopWhenEmpty && this.active.size === 0) {
              this.stop('empty');
              break;
            }
            // A job added while we looked bumped the generation: look again instead of sleeping.
            if (generation === this.wakeGeneration) await this.idle();
            continue;
          }
        }
        next = await this.execute(next, token);
      } catch (err) {
        next = undefined;
        this.logger.warn({ err: (err as Error).message }, 'worker slot error; retrying in 1s');
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  /**
   * The first job of queues [from, to) in priority order. With `skipEmpty`
   * (the check of higher queues after every lower-queue job) a queue seen
   * empty is not asked again until its marker fires or EMPTY_RECHECK_MS
   * passes: one cheap flag test instead of a Redis script per job.
   */
  private async fetch(token: string, from: number, to: number, skipEmpty = false): Promise<Fetched | undefined> {
    for (let index = from; index < to && !this.stopping; index++) {
      if (skipEmpty && (!this.maybeReady[index] || this.probing[index])) continue;
      const generation = this.readyGeneration[index];
      if (skipEmpty) this.probing[index] = true;
      let job: Job | undefined;
      try {
        job = await this.workers[index].getNextJob(token, { block: false });
      } finally {
        if (skipEmpty) this.probing[index] = false;
      }
      this.noteFetched(index, job !== undefined, generation);
      if (job) return { job, index };
    }
    return undefined;
  }

  /** Whether fetch(…, skipEmpty) would ask any queue above `index` (checked first: no promise per job when none). */
  private mayProbe(index: number): boolean {
    for (let i = 0; i < index; i++) if (this.maybeReady[i] && !this.probing[i]) return true;
    return false;
  }

  /** Bookkeeping after every fetch from a queue (getNextJob, or fetchNext of a finished job). */
  private noteFetched(index: number, found: boolean, generation: number): void {
    if (found) {
      this.maybeReady[index] = true;
      this.draining[index] = true;
      // There may be more: the next idle slot looks too (one at a time, not every idle slot at once).
      this.waiters.shift()?.();
      return;
    }
    // A marker that fired while we looked means "ask again"; keep the flag up then.
    if (generation === this.readyGeneration[index]) this.maybeReady[index] = false;
    if (this.draining[index]) {
      this.draining[index] = false;
      this.resumeWatcher[index]?.();
    }
  }

  private idle(): Promise<void> {
    // An idle slot found every queue empty, so every queue is watched while it waits (another slot's
    // success may have marked one "draining" after this slot looked; its marker must still wake us).
    for (let index = 0; index < this.draining.length; index++) {
      if (!this.draining[index]) continue;
      this.draining[index] = false;
      this.resumeWatcher[index]?.();
    }
    return new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  /** A marker fired: wakes one idle slot, and a slot that is looking right now looks again (the generation). */
  private wakeOne(): void {
    this.wakeGeneration++;
    this.waiters.shift()?.();
  }

  private wakeAll(): void {
    this.wakeGeneration++;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private stopWatchers(): void {
    for (const connection of this.watchers) connection.disconnect();
    for (const resume of this.resumeWatcher) resume?.();
  }

  /**
   * Waits on one queue's marker key (its own blocking connection) while our
   * slots are not draining that queue; a marker sets the queue's ready flag
   * and wakes one idle slot, and so does IDLE_WAIT_S without one (delayed jobs).
   */
  private async watchMarker(prefix: string, index: number): Promise<void> {
    const connection = createRedis(this.config.redis, { name: `worker:wake:${this.opts.queues[index]}`, failFast: false });
    this.connections.push(connection);
    this.watchers.push(connection);
    if (this.stopping) connection.disconnect();
    const marker = `${prefix}:${this.opts.queues[index]}:marker`;
    while (!this.stopping) {
      if (this.draining[index]) {
        await new Promise<void>((resolve) => (this.resumeWatcher[index] = resolve));
        this.resumeWatcher[index] = undefined;
        continue;
      }
      try {
        if (await connection.bzpopmin(marker, IDLE_WAIT_S)) {
          this.maybeReady[index] = true;
          this.readyGeneration[index]++;
        }
      } catch {
        if (!this.stopping) await new Promise((r) => setTimeout(r, WAKER_RETRY_MS));
      }
      this.wakeOne();
    }
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
      result = await runUnitOfWork(() => this.runAttempt(handler, job, queue), { userId: ownerOf(job) });
    } catch (err) {
      error = err instanceof Error ? err : new Error(String(err));
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    this.processed++;
    if (this.opts.maxJobs > 0 && this.processed >= this.opts.maxJobs) this.stop('max-jobs');
    try {
      if (!error) {
        const next = await this.finish(index, token, (fetchNext) => job.moveToCompleted(result, token, fetchNext));
        queueJobDuration.observe({ queue, name: job.name, status: 'completed' }, seconds);
        if (handler?.announce) await this.announcer.completed(queue, job).catch(() => undefined);
        return next;
      }
      const final = error instanceof UnrecoverableError || error.name === 'UnrecoverableError' || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      await job.moveToFailed(error, token, false);
      queueJobDuration.observe({ queue, name: job.name, status: final ? 'failed' : 'retried' }, seconds);
      this.logger.warn({ queue, jobId: job.id, name: job.name, attempt: job.attemptsMade, final, reason: error.message }, 'job failed');
      if (final) {
        await handler?.onFailed?.(job, error).catch((err: Error) => this.logger.error({ err: err.message, jobId: job.id }, 'onFailed hook failed'));
        if (handler?.announce) await this.announcer.failed(queue, job, error).catch(() => undefined);
      }
      return this.stopping ? undefined : this.fetch(token, 0, this.workers.length);
    } catch (err) {
      // Typically "Missing lock": the job stalled (we were too slow) and is another worker's now.
      this.logger.warn({ queue, jobId: job.id, err: (err as Error).message }, 'could not finish job');
      return undefined;
    } finally {
      this.active.delete(token);
    }
  }

  /**
   * Moves the finished job and picks the next one, keeping strict priority:
   * from the top queue, BullMQ may fetch the next job in the same call; from
   * a lower queue, higher queues are asked first.
   */
  private async finish(index: number, token: string, move: (fetchNext: boolean) => Promise<unknown>): Promise<Fetched | undefined> {
    if (this.stopping) {
      await move(false);
      return undefined;
    }
    if (index > 0 && this.mayProbe(index)) {
      const higher = await this.fetch(token, 0, index, true);
      if (higher) {
        await move(false);
        return higher;
      }
    }
    const generation = this.readyGeneration[index];
    const raw = await move(true);
    const same = await this.workers[index].adopt(raw, token);
    this.noteFetched(index, same !== undefined, generation);
    if (same) return { job: same, index };
    return this.fetch(token, index + 1, this.workers.length);
  }

  private async runAttempt(handler: JobHandler, job: Job, queue: string): Promise<unknown> {
    // The AbortController is made only when a handler looks at ctx.signal (most never do; it costs per job).
    let controller: AbortController | undefined;
    let timedOut = false;
    const ctx: JobContext = {
      queue,
      attempt: job.attemptsMade + 1,
      get signal() {
        controller ??= new AbortController();
        if (timedOut) controller.abort();
        return controller.signal;
      },
      progress: async (percent, extra) => {
        await job.updateProgress(percent);
        if (handler.announce) await this.announcer.progress(queue, job, percent, extra).catch(() => undefined);
      },
    };
    const timeoutS = this.opts.timeoutS;
    if (!timeoutS) return handler.run(job, ctx);
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        handler.run(job, ctx),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            timedOut = true;
            controller?.abort();
            reject(new JobTimeoutError(timeoutS));
          }, timeoutS * 1000);
        }),
      ]);
    } finally {
      clearTimeout(timer);
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
