import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { FlowJob, FlowProducer, JobsOptions, Queue } from 'bullmq';
import { AppConfig } from '../../config/app-config';
import { NotFoundError, UnavailableError } from '../errors/domain-error';
import type { RedisClient } from '../redis/redis.factory';
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

/**
 * Producer side of the configured queues (plain BullMQ Queue objects: this
 * never consumes). Uses the shared fail-fast connection, so with Redis away a
 * dispatch fails at once (503) instead of hanging a request.
 */
@Injectable()
export class QueueRegistry implements OnApplicationShutdown {
  private readonly queues = new Map<string, Queue>();

  constructor(
    readonly config: AppConfig,
    @Inject(REDIS) private readonly redis: RedisClient,
    private readonly handlers: JobHandlers,
  ) {}

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

  async dispatch<Data extends object>(queueName: string, name: string, data: Data, opts: DispatchOptions = {}): Promise<DispatchedJob> {
    this.handlers.assertDispatchable(name);
    const queue = this.select([queueName])[0];
    const jobOpts: JobsOptions = {};
    if (opts.attempts) jobOpts.attempts = opts.attempts;
    if (opts.delayMs) jobOpts.delay = opts.delayMs;
    if (opts.jobId) jobOpts.jobId = opts.jobId;
    // ShouldBeUnique: while a job with this key is queued or running, the same job is returned.
    const unique = this.handlers.get(name)?.uniqueBy?.(data);
    if (unique !== undefined) jobOpts.deduplication = { id: `${name}:${unique}` };
    const job = await withTimeout(queue.add(name, data, jobOpts), DISPATCH_TIMEOUT_MS);
    const id = job.id as string;
    if (opts.ownerId !== undefined) {
      await withTimeout(recordJobOwner(this.redis, this.config.redis.prefix, queueName, id, opts.ownerId), DISPATCH_TIMEOUT_MS);
    }
    return { queue: queueName, id };
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
    const producer = new FlowProducer({ connection: this.redis, prefix: bullPrefix(this.config) });
    producer.on('error', () => undefined);
    try {
      let node = await withTimeout(producer.add(flow as FlowJob), DISPATCH_TIMEOUT_MS);
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
    await Promise.all([...this.queues.values()].map((q) => q.close().catch(() => undefined)));
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
