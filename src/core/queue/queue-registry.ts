import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { FlowJob, FlowProducer, JobsOptions, Queue } from 'bullmq';
import { AppConfig } from '../../config/app-config';
import { NotFoundError, UnavailableError } from '../errors/domain-error';
import { ReplicationSampler } from '../redis/replication-sampler';
import { noReplicaWarning, ReplicaConfirmation, ReplicaConfirmationError, WriteMark } from '../redis/replica-confirmation';
import { createRedis, redisReady, RedisClient } from '../redis/redis.factory';
import { REDIS } from '../redis/redis.module';
import { JobHandlers } from './job-handlers';
import { bullPrefix, parseQueueName, QUEUE_NAME, readJobOwner, recordJobOwner } from './queue.keys';

export interface DispatchOptions {
  /** The user the job belongs to (job room authorisation, GET /api/jobs). */
  ownerId?: number;
  /** Overrides the worker's --tries for this job (Laravel's $tries). */
  attempts?: number;
  delayMs?: number;
  /**
   * A custom id makes dispatch idempotent (a second add with the same id is a no-op).
   * BullMQ refuses ids that are integers or contain ":" (e.g. use `assistant-reply-<messageId>`).
   */
  jobId?: string;
}

export interface DispatchedJob {
  queue: string;
  id: string;
}

/** Keep succeeded jobs a day (GET /api/jobs), failed ones until an operator deals with them. */
const DEFAULT_JOB_OPTIONS: JobsOptions = { removeOnComplete: { age: 24 * 3600, count: 10000 }, removeOnFail: false };
const DISPATCH_TIMEOUT_MS = 3000;
/** Jobs per addBulk call (one Redis round trip): queue:probe --count=100000 is 100 of them. */
export const BULK_CHUNK = 1000;
const BULK_TIMEOUT_MS = 30000;

/**
 * Producer side of the configured queues (plain BullMQ Queue objects: this
 * never consumes). Uses the shared fail-fast connection, so with Redis away a
 * dispatch fails at once (503) instead of hanging a request.
 */
@Injectable()
export class QueueRegistry implements OnModuleInit, OnApplicationShutdown {
  private readonly queues = new Map<string, Queue>();
  /** Dispatch-only queues, on a connection of their own: WAIT blocks the connection it is sent on. */
  private readonly producers = new Map<string, Queue>();
  private producer?: { client: RedisClient; confirmation: ReplicaConfirmation };
  private readonly logger = new Logger(QueueRegistry.name);

  constructor(
    readonly config: AppConfig,
    @Inject(REDIS) private readonly redis: RedisClient,
    private readonly handlers: JobHandlers,
    private readonly sampler: ReplicationSampler,
  ) {}

  /**
   * The replica confirmation needs to have watched the primary before a failover starts (a process
   * whose first dispatch came in the middle of a SENTINEL FAILOVER saw only the replica left and
   * acknowledged a job that was then lost): the producer connection starts sampling at boot.
   */
  onModuleInit(): void {
    if (this.config.queue.dispatchWaitMs > 0) this.producerConnection();
  }

  get names(): string[] {
    return this.config.queue.names;
  }

  /** Names a job this provider dispatches (JobHandlers.declare): queue:work then refuses to start without its handler. */
  declare(jobName: string): void {
    this.handlers.declare(jobName);
  }

  has(name: string): boolean {
    return this.config.queue.names.includes(name);
  }

  /**
   * The queue. Any well-formed name works, as Laravel creates queues on first use; HTTP callers
   * check has() first, so a request can only reach the configured ones.
   */
  get(name: string): Queue {
    if (!QUEUE_NAME.test(name)) throw new NotFoundError(`Queue "${name.slice(0, 80)}"`);
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new Queue(name, { connection: this.redis, prefix: bullPrefix(this.config), defaultJobOptions: DEFAULT_JOB_OPTIONS });
      queue.on('error', () => undefined); // surfaced by the failing call itself
      this.queues.set(name, queue);
    }
    return queue;
  }

  /**
   * The named queues (all configured ones when `only` is empty). Laravel's `connection:queue` form
   * (`redis:high`) is accepted; bad_request for a malformed name or another connection.
   */
  select(only?: string | string[]): Queue[] {
    const raw = only === undefined || only.length === 0 ? this.names : Array.isArray(only) ? only : only.split(',');
    return raw.map((n) => this.get(parseQueueName(n)));
  }

  /**
   * The producer connection and its replica confirmation (created on first dispatch). A failover
   * promotes a replica, and Redis replicates asynchronously: a job only the old primary held is gone.
   * So a dispatch is acknowledged only once the replicas hold it (ReplicaConfirmation: WAIT).
   */
  private producerConnection(): { client: RedisClient; confirmation: ReplicaConfirmation } {
    if (!this.producer) {
      // A command in flight when a failover moves the connection fails (503) instead of being resent
      // to the new primary, where a WAIT would count none of the earlier writes.
      const client = createRedis(this.config.redis, { name: 'queue-producer', extra: { autoResendUnfulfilledCommands: false } });
      client.on('error', () => undefined); // surfaced by the failing dispatch itself
      const confirmation = new ReplicaConfirmation(client, {
        minReplicas: this.config.queue.dispatchMinReplicas,
        timeoutMs: this.config.queue.dispatchWaitMs,
        slotKey: `${bullPrefix(this.config)}:x`,
        onNoReplica: noReplicaWarning(this.config.redis, (f, m) => this.logger.warn(f, m), 'dispatched jobs'),
        sampler: this.sampler,
      });
      if (this.config.queue.dispatchWaitMs > 0) confirmation.start();
      this.producer = { client, confirmation };
    }
    return this.producer;
  }

  /** The fail-fast producer connection refuses commands until it is connected: the first dispatch waits for it. */
  private async producerReady(): Promise<void> {
    const { client } = this.producerConnection();
    if (client.status !== 'ready') await withTimeout(redisReady(client, DISPATCH_TIMEOUT_MS), DISPATCH_TIMEOUT_MS);
  }

  private producerQueue(name: string): Queue {
    this.get(name); // validates the name
    let queue = this.producers.get(name);
    if (!queue) {
      queue = new Queue(name, { connection: this.producerConnection().client, prefix: bullPrefix(this.config), defaultJobOptions: DEFAULT_JOB_OPTIONS });
      queue.on('error', () => undefined);
      this.producers.set(name, queue);
    }
    return queue;
  }

  /**
   * Waits until the replicas hold what the producer connection wrote; 503 otherwise, after undoing
   * what it can (`undo`): the client is told the dispatch failed, so the job should not run.
   */
  private async markWrites(): Promise<WriteMark | null> {
    if (this.config.queue.dispatchWaitMs === 0) return null;
    return withTimeout(this.producerConnection().confirmation.mark(), DISPATCH_TIMEOUT_MS);
  }

  private async confirmReplicated(mark: WriteMark | null, undo: () => Promise<unknown>): Promise<void> {
    if (!mark) return;
    try {
      await this.producerConnection().confirmation.confirm(mark);
    } catch (err) {
      // In the background: the 503 must not wait for a Redis that is failing over (a job a worker
      // already took stays: at least once).
      void withTimeout(undo(), DISPATCH_TIMEOUT_MS).catch(() => undefined);
      const why = err instanceof ReplicaConfirmationError ? err.message : 'Redis did not confirm the write';
      throw new UnavailableError(`The queue is unavailable: ${why}`);
    }
  }

  async dispatch<Data extends object>(queueName: string, name: string, data: Data, opts: DispatchOptions = {}): Promise<DispatchedJob> {
    this.handlers.assertDispatchable(name);
    const queue = this.producerQueue(parseQueueName(queueName));
    await this.producerReady();
    const jobOpts: JobsOptions = {};
    if (opts.attempts) jobOpts.attempts = opts.attempts;
    if (opts.delayMs) jobOpts.delay = opts.delayMs;
    if (opts.jobId) jobOpts.jobId = opts.jobId;
    // ShouldBeUnique: while a job with this key is queued or running, the same job is returned.
    const unique = this.handlers.get(name)?.uniqueBy?.(data);
    if (unique !== undefined) jobOpts.deduplication = { id: `${name}:${unique}` };
    const mark = await this.markWrites();
    const job = await withTimeout(queue.add(name, data, jobOpts), DISPATCH_TIMEOUT_MS);
    const id = job.id as string;
    if (opts.ownerId !== undefined) {
      // On the producer connection, so that (on one Redis or Sentinel) the confirmation covers it too.
      await withTimeout(recordJobOwner(this.producerConnection().client, this.config.redis.prefix, queueName, id, opts.ownerId), DISPATCH_TIMEOUT_MS);
    }
    // A deduplicated dispatch returns the job already queued; removing that one on a failed
    // confirmation would cancel someone else's dispatch.
    await this.confirmReplicated(mark, () => (unique === undefined ? job.remove() : Promise.resolve()));
    return { queue: queueName, id };
  }

  /**
   * Many jobs of one queue, BULK_CHUNK per addBulk (no ShouldBeUnique: every job is added);
   * `onChunk` after each chunk with the number added so far.
   */
  async dispatchBulk(
    queueName: string,
    jobs: ReadonlyArray<{ name: string; data: object }>,
    opts: { ownerId?: number; onChunk?: (added: number) => void } = {},
  ): Promise<DispatchedJob[]> {
    const queue = this.select([queueName])[0];
    const out: DispatchedJob[] = [];
    for (let i = 0; i < jobs.length; i += BULK_CHUNK) {
      const chunk = jobs.slice(i, i + BULK_CHUNK);
      const added = await withTimeout(queue.addBulk(chunk.map((j) => ({ name: j.name, data: j.data }))), BULK_TIMEOUT_MS);
      const ids = added.map((j) => j.id as string);
      const owner = opts.ownerId;
      if (owner !== undefined) {
        await withTimeout(Promise.all(ids.map((id) => recordJobOwner(this.redis, this.config.redis.prefix, queue.name, id, owner))), BULK_TIMEOUT_MS);
      }
      for (const id of ids) out.push({ queue: queue.name, id });
      opts.onChunk?.(out.length);
    }
    return out;
  }

  /**
   * Laravel's Bus::chain: the jobs run one after another, in order, and a job that fails for good
   * stops the rest (they are failed too, never run). A BullMQ flow in which each job is the parent of
   * the one before it: BullMQ releases a parent when its child completes, and
   * `failParentOnFailure` carries a failure up the chain.
   */
  async chain(steps: Array<{ queue: string; name: string; data: object }>): Promise<DispatchedJob[]> {
    if (steps.length === 0) return [];
    for (const s of steps) this.handlers.assertDispatchable(s.name);
    for (const s of steps) this.get(parseQueueName(s.queue));
    let flow: FlowJob | undefined;
    for (const s of steps) {
      flow = { name: s.name, queueName: parseQueueName(s.queue), data: s.data, opts: { ...DEFAULT_JOB_OPTIONS, failParentOnFailure: true }, children: flow ? [flow] : undefined };
    }
    await this.producerReady();
    const producer = new FlowProducer({ connection: this.producerConnection().client, prefix: bullPrefix(this.config) });
    producer.on('error', () => undefined);
    try {
      const mark = await this.markWrites();
      let node = await withTimeout(producer.add(flow as FlowJob), DISPATCH_TIMEOUT_MS);
      const root = node.job;
      // Removing the last job of the chain (the flow's parent) removes the chain.
      await this.confirmReplicated(mark, () => root.remove());
      const out: DispatchedJob[] = [];
      for (;;) {
        out.unshift({ queue: node.job.queueName, id: node.job.id as string });
        if (!node.children?.length) break;
        node = node.children[0];
      }
      return out;
    } finally {
      await producer.close().catch(() => undefined);
    }
  }

  /** The owner recorded at dispatch, if any. */
  async ownerOf(queueName: string, jobId: string): Promise<number | undefined> {
    return (await readJobOwner(this.redis, this.config.redis.prefix, queueName, jobId)) ?? undefined;
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([...this.queues.values(), ...this.producers.values()].map((q) => q.close().catch(() => undefined)));
    if (this.producer) {
      this.producer.confirmation.stop();
      await this.producer.client.quit().catch(() => this.producer?.client.disconnect());
    }
  }
}

/** Redis trouble on the dispatch path is a 503, never a hung request. */
async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new UnavailableError('The queue is unavailable')), ms))),
    ]);
  } catch (err) {
    if (err instanceof UnavailableError) throw err;
    throw new UnavailableError('The queue is unavailable');
  } finally {
    clearTimeout(timer);
  }
}
