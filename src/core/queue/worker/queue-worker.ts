import { Logger } from '@nestjs/common';
import { Job, UnrecoverableError } from 'bullmq';
import { randomUUID } from 'node:crypto';
import type { AppConfig } from '../../../config/app-config';
import { runInRequestContext } from '../../database/request-context';
import { queueJobDuration, queueJobWait } from '../../metrics/metrics';
import { checkMarkerKeyType, checkNextJobFromJobData, FetchingWorker, markerKey } from '../../patches/bullmq';
import { reportPatch } from '../../patches/patch-check';
import type { RealtimeService } from '../../realtime/realtime.contract';
import { createRedis, RedisClient } from '../../redis/redis.factory';
import { BatchedConfirmation, noReplicaWarning, ReplicaConfirmation } from '../../redis/replica-confirmation';
import { ReplicationSampler } from '../../redis/replication-sampler';
import { BatchTracker } from '../batch/batch-tracker';
import { JobAnnouncer } from '../job-announcer';
import { HeardRooms } from '../../realtime/room-hearing';
import { ReleaseJob } from '../job-middleware';
import type { JobHandlers } from '../job-handlers';
import { bullPrefix, maintenanceKey, restartKey } from '../queue.keys';
import { BackoffSeconds, backoffDelayMs } from './backoff';
import { CompletionDurability } from './durable-finish';
import { JobTimeoutError, runAttempt } from './job-attempt';
import { IdleLook } from './idle-look';
import { QueueLane } from './queue-lane';
import { QueueRates } from './queue-rates';
import { SlotWaker } from './slot-waker';
import { StartConfirmation } from './start-confirmation';
import { Fetched, StrictPriority } from './strict-priority';
import type { WorkConsole } from './work-console';
import { JobMiddlewareRunner } from './job-middleware-runner';
import { WorkerHeartbeat } from './worker-heartbeat';

export { JobTimeoutError } from './job-attempt';

export interface WorkOptions {
  /** In priority order: a free slot always takes from the first queue that has a job. */
  queues: string[];
  tries: number;
  /** Seconds (Laravel's --backoff): one value doubled per retry, or one per retry. */
  backoff: BackoffSeconds;
  concurrency: number;
  /** 0: no limit. */
  maxJobs: number;
  /** Seconds; 0: no limit. */
  maxTimeS: number;
  /** Seconds per attempt; 0: none. */
  timeoutS: number;
  stopWhenEmpty: boolean;
  /** Seconds an idle worker waits for a wake-up before looking again anyway (Laravel's --sleep). */
  sleepS: number;
  /** Seconds to pause after each job (Laravel's --rest); 0: none. */
  restS: number;
  /** MB of resident memory after which the worker exits once its running jobs are done; 0: none. */
  memoryMb: number;
  /** Shown in logs and queue:status (Laravel's --name). */
  name: string;
  /** Work even while the application is down for maintenance. */
  force: boolean;
}

export interface WorkerHooks {
  /** Called every 10 s (the monitor's counts into the queue_jobs gauge). */
  refreshCounts?: () => Promise<void>;
  /** artisan-style job lines on stdout. */
  console?: WorkConsole;
  /** Batches (Bus::batch): skips jobs of cancelled batches, counts outcomes, queues callbacks. */
  batches?: BatchTracker;
  /** The process's shared replica sampler (the producer's too): one INFO per Redis server, not one per queue. */
  replicationSampler?: ReplicationSampler;
}

/**
 * Why run() returned. `memory` (over --memory) and `timeout` (a handler ignored its abort signal)
 * make queue:work exit non-zero, so Supervisor starts a fresh process, as Laravel's worker does.
 */
export type StopReason = 'signal' | 'restart' | 'max-jobs' | 'max-time' | 'empty' | 'memory' | 'timeout';

/** How long a timed-out handler gets to honour ctx.signal before the worker gives its process up. */
const TIMEOUT_GRACE_MS = 1000;
const RESTART_POLL_MS = 1000;
const COUNTS_REFRESH_MS = 10000;
/** How long one marker BZPOPMIN blocks before it is sent again (BullMQ's own drainDelay); its timeout wakes nobody. */
const MARKER_BLOCK_S = 5;
const SLOT_RETRY_MS = 1000;
const MEMORY_CHECK_MS = 100;
/** A completion the replicas have not confirmed is re-checked this often, for at most DURABLE_GIVE_UP_MS. */
const DURABLE_RETRY_MS = 250;
/** As long as a replica that left is remembered (ReplicaHighWater): past it, the replicas really are fewer. */
const DURABLE_GIVE_UP_MS = 10000;

/**
 * `queue:work`: Laravel's worker over BullMQ with strict cross-queue priority.
 *
 * One QueueLane per queue (a BullMQ Worker used only as a fetcher, and a marker watcher);
 * `concurrency` slots each loop "take the first job of the first non-empty queue, run it, finish
 * it" (StrictPriority); idle slots wait in the SlotWaker for a marker, and one of them looks
 * again every --sleep (IdleLook). Locks are renewed every lockMs/2 and each
 * fetcher's stalled-job checker runs, so a job of a SIGKILLed worker is back in its queue within
 * lockMs + 2 × stalledIntervalMs.
 */
export class QueueWorker {
  readonly id = randomUUID().slice(0, 8);
  private readonly logger = new Logger('QueueWorker');
  private readonly waker = new SlotWaker();
  private readonly idleLook: IdleLook;
  private readonly lanes: QueueLane[] = [];
  /** Per lane (same index): waits until the replicas hold its connection's completions; none with QUEUE_DISPATCH_WAIT_MS=0. */
  private readonly durability: Array<CompletionDurability | undefined> = [];
  private readonly confirmations: ReplicaConfirmation[] = [];
  private readonly connections: RedisClient[] = [];
  /** Maintenance mode (bin/switchboard down) holds every slot unless --force; polled with the restart key. */
  private held = false;
  private readonly priority = new StrictPriority(this.lanes, () => this.stopping || this.held);
  /** Slot token → its running job (a slot runs one job at a time). */
  private readonly active = new Map<string, Job>();
  /** Slots whose job is completed and waiting for the replicas: its lock is gone unless a failover lost the completion. */
  private readonly confirming = new Set<string>();
  /** job:started / job:completed on their way: the job does not wait for them, the worker's exit does. */
  private announcing = 0;
  /** Resolves run()'s wait for the announcements once the last one has left. */
  private announced: (() => void) | undefined;
  private readonly announcer: JobAnnouncer;
  private readonly timers: NodeJS.Timeout[] = [];
  private stopping = false;
  private reason: StopReason | undefined;
  private processed = 0;
  private memoryCheckedAt = 0;
  private failedAttempts = 0;
  private readonly heartbeat: WorkerHeartbeat;
  private readonly middleware: JobMiddlewareRunner;
  private readonly refreshCounts: () => Promise<void>;
  private readonly console: WorkConsole | undefined;
  private readonly batches: BatchTracker | undefined;
  private readonly sampler: ReplicationSampler;
  /** Jobs per minute and wait per queue, for /status (published with the heartbeat). */
  private readonly rates = new QueueRates();
  /** A fetched job runs once the replicas hold its start (per lane, over `durability`). */
  private readonly starts = new StartConfirmation(this.durability, {
    hold: (token, job) => {
      this.active.set(token, job); // its lock is renewed meanwhile, as a running job's
      this.confirming.add(token);
    },
    release: (token) => {
      this.active.delete(token);
      this.confirming.delete(token);
    },
    stillOurs: (job, token) => this.stillOurs(job, token),
    warn: (fields, message) => this.logger.warn(fields, message),
  });

  constructor(
    private readonly config: AppConfig,
    private readonly handlers: JobHandlers,
    realtime: RealtimeService,
    private readonly redis: RedisClient,
    private readonly opts: WorkOptions,
    hooks: WorkerHooks = {},
  ) {
    this.announcer = new JobAnnouncer(realtime, config.queue.jobEvents, new HeardRooms(redis, config.redis.prefix));
    this.idleLook = new IdleLook(this.waker, opts.sleepS * 1000);
    this.refreshCounts = hooks.refreshCounts ?? (async () => undefined);
    this.console = hooks.console;
    this.batches = hooks.batches;
    this.sampler = hooks.replicationSampler ?? new ReplicationSampler();
    this.middleware = new JobMiddlewareRunner(redis, config.redis.prefix);
    this.heartbeat = new WorkerHeartbeat(redis, config.redis.prefix, { id: this.id, name: opts.name, queues: opts.queues }, () => ({
      processed: this.processed,
      failed: this.failedAttempts,
      current: [...this.active.values()].map((job) => `${job.queueName}:${String(job.id)} ${job.name}`),
      state: this.stopping ? 'stopping' : this.held ? 'paused' : 'running',
      force: this.opts.force,
      rates: this.rates.lastMinute(),
    }));
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
    await this.pollControl(restartStamp).catch(() => undefined);
    this.every(RESTART_POLL_MS, () => this.pollControl(restartStamp));
    this.every(Math.max(250, Math.floor(this.config.queue.lockMs / 2)), () => this.renewLocks());
    this.every(COUNTS_REFRESH_MS, () => this.refreshCounts());
    this.idleLook.start();
    if (this.opts.maxTimeS > 0) this.timers.push(setTimeout(() => this.stop('max-time'), this.opts.maxTimeS * 1000));
    void this.refreshCounts().catch(() => undefined);
    this.heartbeat.start();
    const watching = Promise.all(this.lanes.map((lane) => lane.watchForWork()));

    this.logger.log({ worker: this.id, name: this.opts.name, queues: this.opts.queues, concurrency: this.opts.concurrency }, 'worker started');
    // Slot 0 looks first; each slot that finds a job wakes the next (QueueLane → SlotWaker.wakeNext).
    await Promise.all(Array.from({ length: this.opts.concurrency }, (_, i) => this.slot(`${this.id}:${i}`, i > 0)));

    for (const t of this.timers) clearInterval(t);
    this.idleLook.stop();
    this.stopping = true;
    await Promise.all(this.lanes.map((lane) => lane.close()));
    await watching;
    if (this.announcing > 0) await new Promise<void>((resolve) => (this.announced = resolve));
    for (const c of this.confirmations) c.stop();
    await this.heartbeat.stop();
    await Promise.all(this.connections.map((c) => c.quit().catch(() => c.disconnect())));
    this.logger.log({ worker: this.id, name: this.opts.name, processed: this.processed, reason: this.reason }, 'worker stopped');
    return this.reason ?? 'signal';
  }

  /** queue:restart and maintenance mode: both live in Redis so they reach every worker of the cluster. */
  private async pollControl(restartStamp: string | null): Promise<void> {
    const [now, down] = await Promise.all([this.redis.get(restartKey(this.config.redis.prefix)), this.redis.exists(maintenanceKey(this.config.redis.prefix))]);
    if (now !== restartStamp) this.stop('restart');
    const held = down === 1 && !this.opts.force;
    if (held === this.held) return;
    this.held = held;
    this.logger.log({ worker: this.id, name: this.opts.name }, held ? 'maintenance mode: not taking jobs' : 'maintenance mode over: taking jobs');
    // `down` waits for every worker to say it paused (waitForWorkersToPause): say so now, not at the next beat.
    void this.heartbeat.beat().catch(() => undefined);
    // Only when maintenance ends: the slots it held went idle without a marker to wait for. Waking every idle
    // slot at every poll sent each of them through every queue once a second (~20 fetches/s at c=10, two queues).
    if (!held) this.waker.wakeAll();
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
      this.durability.push(this.completionDurability(fetchConnection));
      const watch = { markerKey: markerOk ? markerKey(prefix, queue) : null, blockS: MARKER_BLOCK_S };
      this.lanes.push(new QueueLane(queue, fetcher, this.connection(`worker:wake:${queue}`), this.waker, watch));
      await fetcher.waitUntilReady();
      await fetcher.startStalledCheckTimer();
    }
  }

  /**
   * Completions are confirmed like dispatches (QUEUE_DISPATCH_MIN_REPLICAS, QUEUE_DISPATCH_WAIT_MS): on the
   * connection that moved the job, which BullMQ's fetcher uses for every job command of its queue.
   */
  private completionDurability(connection: RedisClient): CompletionDurability | undefined {
    const { dispatchWaitMs, dispatchMinReplicas, lockMs } = this.config.queue;
    if (dispatchWaitMs <= 0) return undefined;
    // A WAIT holds back every later command of its connection, the lock renewals of the other running jobs
    // included: it gives up (and is retried) well inside a lock's life, so lagging replicas cannot let a lock lapse.
    const timeoutMs = Math.max(1, Math.min(dispatchWaitMs, Math.floor(lockMs / 4)));
    const confirmation = new ReplicaConfirmation(connection, {
      minReplicas: dispatchMinReplicas,
      timeoutMs,
      slotKey: `${bullPrefix(this.config)}:x`,
      onNoReplica: noReplicaWarning(this.config.redis, (f, m) => this.logger.warn(f, m), 'job starts and completions'),
      sampler: this.sampler,
    });
    confirmation.start();
    this.confirmations.push(confirmation);
    const batched = new BatchedConfirmation(confirmation);
    return new CompletionDurability(
      { mark: () => batched.mark(), confirm: (m) => batched.confirm(m), requiredNow: () => confirmation.requiredNow(), replicasMissing: () => confirmation.replicasMissing() },
      { retryMs: DURABLE_RETRY_MS, giveUpMs: DURABLE_GIVE_UP_MS },
    );
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
          const marks = this.starts.marks();
          this.idleLook.looked();
          next = await this.priority.first(token);
          if (next) {
            next = await this.starts.confirm(next, await marks, token);
            if (!next) continue; // its start was lost in a failover: it is back in its queue
          }
          if (!next) {
            if (this.opts.stopWhenEmpty && this.active.size === 0 && !this.held) {
              this.stop('empty');
              break;
            }
            // A job added while we looked bumped the generation: look again instead of sleeping.
            if (generation === this.waker.generation) await this.idle();
            continue;
          }
        }
        next = await this.execute(next, token);
        if (this.opts.restS > 0 && !this.stopping) await new Promise((r) => setTimeout(r, this.opts.restS * 1000));
      } catch (err) {
        next = undefined;
        this.logger.warn({ err: (err as Error).message }, 'worker slot error; retrying in 1s');
        await new Promise((r) => setTimeout(r, SLOT_RETRY_MS));
      }
    }
  }

  /**
   * A job's events leave in the order they were announced (EventLog appends in call order, one
   * round trip per 5 ms in a worker), so job:completed never overtakes job:started; the job does not wait
   * for them (two waits per job cost most of a short job's throughput, bench/queues).
   */
  private announce(sent: Promise<unknown>): void {
    this.announcing++;
    sent.then(this.announceSettled, this.announceSettled);
  }

  /** One function for every announcement (a count, not a set of promises: two per job). */
  private readonly announceSettled = (): void => {
    if (--this.announcing === 0) this.announced?.();
  };

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
    const ref = `${queue}:${String(job.id)}`;
    this.console?.started(job.name, ref);
    const started = performance.now();
    let result: unknown;
    let error: Error | undefined;
    const batches = this.batches;
    const batchId = batches ? BatchTracker.batchOf(job) : undefined;
    let skipped = false;
    try {
      if (!handler) throw new UnrecoverableError(`No handler is registered for job "${job.name}"`);
      // Laravel's SkipIfBatchCancelled, for every batch job: a cancelled batch's jobs finish without running.
      skipped = batchId !== undefined && batches !== undefined && (await batches.isCancelled(batchId));
      if (skipped) result = { skipped: 'batch cancelled' };
      else {
        // An event that is not announced (QUEUE_JOB_EVENTS) is not even built.
        if (this.announcer.announces(queue, job)) this.announce(this.announcer.started(queue, job));
        const onProgress = (percent: number, extra?: Parameters<JobAnnouncer['progress']>[3]) => this.announcer.progress(queue, job, percent, extra).then(ignore, ignore);
        if (job.attemptsMade === 0 && !job.opts.repeat) {
          const waitS = Math.max(0, Date.now() - job.timestamp - (job.opts.delay ?? 0)) / 1000;
          queueJobWait.observe({ queue }, waitS);
          this.rates.waited(queue, waitS);
        }
        const attempt = () => runAttempt(handler, job, { queue, timeoutS: this.opts.timeoutS, onProgress });
        const middleware = handler.middleware;
        result = await runInRequestContext(() => (middleware?.length ? this.middleware.run(middleware, job, attempt) : attempt()), { userId: ownerOf(job) });
      }
    } catch (err) {
      error = err instanceof Error ? err : new Error(String(err));
    }
    const seconds = (performance.now() - started) / 1000;
    if (error instanceof ReleaseJob) return this.release(job, token, ref, error);
    this.processed++;
    if (error) this.failedAttempts++;
    this.rates.finished(queue, !error);
    this.console?.finished(job.name, ref, !error, seconds);
    if (this.opts.maxJobs > 0 && this.processed >= this.opts.maxJobs) this.stop('max-jobs');
    this.checkMemory();
    try {
      if (!error) {
        // Counted in its batch before the job is moved: if this process dies in between, the job is re-run and still counted once.
        if (batchId && batches) await batches.record(batchId, ref, skipped ? 'skip' : 'success');
        const durability = this.durability[index];
        // One mark per lane before the writes: this lane's covers the completion (and the job BullMQ hands over
        // with it); another lane's, what finish() may fetch from that queue. No mark while the Cluster has no
        // master for the slot (mid-failover): the completion goes out anyway (the connection queues it until the
        // new master is known) unconfirmed — a throw here had left the job active with nobody renewing its lock,
        // and it ran a second time (Cluster kill drill). None at all when no lane needs confirming (one Redis).
        const marking = this.starts.marks();
        const marks = marking && (await marking);
        const mark = marks?.[index] ?? null;
        // With --rest the slot pauses before its next job, so it must not be handed one now.
        let next =
          this.opts.restS > 0
            ? void (await job.moveToCompleted(result, token, false))
            : await this.priority.finish(index, token, (fetchNext) => job.moveToCompleted(result, token, fetchNext));
        let startCovered = !mark;
        if (mark && durability) {
          this.confirming.add(token);
          const outcome = await durability.settle(mark);
          // The job BullMQ handed over in the same call is covered by this confirmation.
          startCovered = outcome === 'confirmed';
          if (outcome === 'unconfirmed') this.logger.warn({ queue, jobId: job.id }, 'the Redis replicas did not confirm a completion: it stands on the primary alone');
          if (outcome === 'moved') {
            const kept = await durability.recomplete(job, token, result);
            // The job handed over in the same round trip runs here only if the new primary still has it
            // locked by this slot; otherwise it is back in its queue (or its lock lapses and the stalled
            // check puts it back) and runs once elsewhere.
            if (next && !(await this.stillOurs(next.job, token))) next = undefined;
            if (kept === 'lost') {
              this.logger.warn({ queue, jobId: job.id }, 'a completion was lost in a Redis failover: the job will run again');
              return next;
            }
          }
        }
        queueJobDuration.observe({ queue, name: job.name, status: 'completed' }, seconds);
        if (this.announcer.announces(queue, job)) this.announce(this.announcer.completed(queue, job, result));
        if (next && !(startCovered && next.index === index)) next = await this.starts.confirm(next, marks, token);
        return next;
      }
      const final = error instanceof UnrecoverableError || error.name === 'UnrecoverableError' || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      if (final && batchId && batches) await batches.record(batchId, ref, 'failure', error);
      // A list gives each retry its own delay: BullMQ reads a fixed delay from job.opts when the attempt fails.
      if (!job.opts.backoff) job.opts.backoff = { type: 'fixed', delay: backoffDelayMs(this.opts.backoff, job.attemptsMade + 1) };
      await job.moveToFailed(error, token, false);
      queueJobDuration.observe({ queue, name: job.name, status: final ? 'failed' : 'retried' }, seconds);
      this.logger.warn({ queue, jobId: job.id, name: job.name, attempt: job.attemptsMade, final, reason: error.message }, 'job failed');
      if (error instanceof JobTimeoutError) await this.abandonIfStuck(error, job);
      if (final) {
        await handler?.onFailed?.(job, error).catch((err: Error) => this.logger.error({ err: err.message, jobId: job.id }, 'onFailed hook failed'));
        await this.announcer.failed(queue, job, error).catch(() => undefined);
        await this.announcer.failedForGood(queue, job, error).catch(() => undefined);
      }
      return this.stopping ? undefined : await this.fetchConfirmed(token);
    } catch (err) {
      // Typically "Missing lock": the job stalled (we were too slow) and is another worker's now.
      this.logger.warn({ queue, jobId: job.id, err: (err as Error).message }, 'could not finish job');
      return undefined;
    } finally {
      this.active.delete(token);
      this.confirming.delete(token);
    }
  }

  /** The first job in priority order, run here only once its start is confirmed (StartConfirmation). */
  private async fetchConfirmed(token: string): Promise<Fetched | undefined> {
    const marks = this.starts.marks();
    this.idleLook.looked();
    const next = await this.priority.first(token);
    return next && this.starts.confirm(next, await marks, token);
  }

  /** The job is locked by this slot on the primary now (extending the lock checks the token). */
  private async stillOurs(job: Job, token: string): Promise<boolean> {
    return (await job.extendLock(token, this.config.queue.lockMs).catch(() => 0)) === 1;
  }

  /** A middleware sent the job back (Laravel's release): delayed, no attempt used, the slot looks again. */
  private async release(job: Job, token: string, ref: string, release: ReleaseJob): Promise<Fetched | undefined> {
    try {
      await job.moveToDelayed(Date.now() + release.delayMs, token);
      this.console?.released(job.name, ref, release.delayMs / 1000);
      this.logger.log({ queue: job.queueName, jobId: job.id, delayMs: release.delayMs, reason: release.message }, 'job released');
    } catch (err) {
      this.logger.warn({ queue: job.queueName, jobId: job.id, err: (err as Error).message }, 'could not release job');
    } finally {
      this.active.delete(token);
    }
    return this.stopping ? undefined : this.fetchConfirmed(token);
  }

  /**
   * Laravel exits with 12 over --memory; checked after a job, so the running ones finish first. At most
   * every MEMORY_CHECK_MS: reading the RSS per job was ~3 % of a trivial job's worker CPU (bench/queues).
   */
  private checkMemory(): void {
    if (this.opts.memoryMb <= 0) return;
    const now = Date.now();
    if (now - this.memoryCheckedAt < MEMORY_CHECK_MS) return;
    this.memoryCheckedAt = now;
    const rssMb = process.memoryUsage.rss() / 1024 / 1024;
    if (rssMb < this.opts.memoryMb) return;
    this.logger.warn({ worker: this.id, name: this.opts.name, rssMb: Math.round(rssMb), limitMb: this.opts.memoryMb }, 'memory limit exceeded: worker exits');
    this.stop('memory');
  }

  /**
   * JavaScript cannot kill a running function: a handler that ignores ctx.signal past --timeout
   * keeps its memory, sockets and CPU for ever. Its job is already failed or retried; once it has
   * had a moment to honour the signal, the worker stops and exits non-zero so Supervisor replaces
   * the process (Laravel's worker kills itself at the timeout).
   */
  private async abandonIfStuck(error: JobTimeoutError, job: Job): Promise<void> {
    const settled = await Promise.race([error.handlerSettled.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), TIMEOUT_GRACE_MS).unref())]);
    if (settled) return;
    this.logger.error({ worker: this.id, name: this.opts.name, jobId: job.id, queue: job.queueName }, 'a job handler ignored its abort signal past --timeout: worker exits');
    this.stop('timeout');
  }

  private async renewLocks(): Promise<void> {
    await Promise.all(
      [...this.active].map(async ([token, job]) => {
        const ok = await job.extendLock(token, this.config.queue.lockMs).catch(() => 0);
        if (!ok && !this.confirming.has(token)) this.logger.warn({ jobId: job.id, queue: job.queueName }, 'could not extend a job lock');
      }),
    );
  }
}

function ignore(): void {}

function ownerOf(job: Job): string | undefined {
  const data = job.data as { userId?: unknown } | undefined;
  return data && (typeof data.userId === 'number' || typeof data.userId === 'string') ? String(data.userId) : undefined;
}
