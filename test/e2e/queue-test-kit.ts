import { decodeChannelMessage, envelope } from '../../src/core/realtime/event-log';
import { Job, Queue } from 'bullmq';
import type { RedisClient } from '../../src/core/redis/redis.factory';
import { createRedis } from '../../src/core/redis/redis.factory';
import { shardTags } from '../../src/core/realtime/shard-layout';
import { HEARING_WINDOW_MS, hearingKey } from '../../src/core/realtime/room-hearing';
import { redisConfig, testRedis } from '../support/redis';
import { randomUUID } from 'node:crypto';
import { CliResult, ManagedProcess, runCli, spawnCli } from '../support/api-process';
import { waitFor } from '../support/http-client';

export interface PublishedEvent {
  room: string;
  event: string;
  payload: Record<string, unknown>;
}

/**
 * Each test file gets its own REDIS_PREFIX, so its queues, failed lists,
 * restart key and sessions are its own on the shared test Redis.
 */
export class QueueKit {
  readonly prefix = `t${randomUUID().slice(0, 8)}:`;
  // Connects on first use: a file whose tests are all filtered out (`-t`) never runs afterAll, and an
  // idle open connection kept Jest from exiting.
  private client?: RedisClient;
  get redis(): RedisClient {
    return (this.client ??= testRedis('queue-kit'));
  }
  private readonly queues = new Map<string, Queue>();
  private readonly procs: ManagedProcess[] = [];
  private readonly connections: RedisClient[] = [];

  constructor(readonly extraEnv: Record<string, string> = {}) {}

  get env(): Record<string, string> {
    return { REDIS_PREFIX: this.prefix, QUEUE_LOCK_MS: '2000', QUEUE_STALLED_INTERVAL_MS: '1000', ...this.extraEnv };
  }

  queue(name: string): Queue {
    let q = this.queues.get(name);
    if (!q) {
      const connection = this.redis.duplicate();
      this.connections.push(connection);
      q = new Queue(name, { connection, prefix: `${this.prefix}{bull}` });
      this.queues.set(name, q);
    }
    return q;
  }

  cli(args: string[], env: Record<string, string> = {}, timeoutMs?: number): Promise<CliResult> {
    return runCli(args, { ...this.env, ...env }, timeoutMs);
  }

  work(args: string[] = [], env: Record<string, string> = {}): ManagedProcess {
    const p = spawnCli(['queue:work', ...args], { ...this.env, ...env });
    this.procs.push(p);
    return p;
  }

  async probe(args: string[]): Promise<Array<{ queue: string; id: string }>> {
    const r = await this.cli(['queue:probe', '--json', ...args]);
    if (r.code !== 0) throw new Error(`queue:probe failed: ${r.stderr}`);
    return JSON.parse(r.stdout) as Array<{ queue: string; id: string }>;
  }

  job(queue: string, id: string): Promise<Job | undefined> {
    return this.queue(queue).getJob(id);
  }

  /**
   * The job once it is in `state`, read after the state matched: the job hash
   * read before the state check can be from before the move (an active job's
   * hash, no returnvalue yet, with the state already completed).
   */
  waitState(queue: string, id: string, state: string, timeoutMs = 30000): Promise<Job> {
    return waitFor(async () => {
      const job = await this.job(queue, id);
      return job && (await job.getState()) === state ? this.job(queue, id) : undefined;
    }, timeoutMs);
  }

  /**
   * Collects what RealtimeService publishes, from the same Redis fan-out
   * channel every api process delivers from (`<prefix>{rt}:events`; with
   * REALTIME_SHARDS > 1 every shard's SPUBLISH channel): one entry per target
   * room, the payload as clients receive it (with eventId, eventType, timestamp).
   */
  /**
   * Every event on the fan-out channel, as an api process hears it. It also counts as a listener of
   * these queues' rooms (QUEUE_JOB_EVENTS=heard, room-hearing.ts): their jobs without an owner are
   * announced from the time it resolves, as they are while an admin listens to a queue's room.
   */
  async listen(queues: string[] = ['default', 'high']): Promise<{ events: PublishedEvent[]; close: () => Promise<void> }> {
    for (const queue of queues) await this.redis.set(hearingKey(this.prefix, `queue:${queue}`), `${Date.now()}:1`, 'PX', 600000);
    await new Promise((resolve) => setTimeout(resolve, HEARING_WINDOW_MS + 100)); // a worker already running reads the marks
    const shards = Number(process.env.REALTIME_SHARDS || 1);
    const events: PublishedEvent[] = [];
    if (shards > 1) {
      const channels = shardTags(shards).map((tag) => `${this.prefix}{${tag}}:events`);
      const sharded = createRedis(redisConfig(), { name: 'queue-kit-listen', failFast: false, shardedSubscribers: true });
      sharded.on('smessage', (channel: string, message: string) => {
        const e = decodeChannelMessage(message, channels.indexOf(channel));
        for (const room of e.rooms) events.push({ room, event: e.eventType, payload: envelope(e) });
      });
      for (const channel of channels) await sharded.ssubscribe(channel);
      return { events, close: async () => void (await sharded.quit()) };
    }
    const sub = this.redis.duplicate();
    sub.on('message', (_channel: string, message: string) => {
      const e = decodeChannelMessage(message);
      for (const room of e.rooms) events.push({ room, event: e.eventType, payload: envelope(e) });
    });
    await sub.subscribe(`${this.prefix}{rt}:events`);
    return { events, close: async () => void (await sub.quit()) };
  }

  /** Ends every process a test started, so a failed test's worker cannot take the next test's jobs. */
  async killProcesses(): Promise<void> {
    await Promise.all(this.procs.splice(0).map((p) => p.kill()));
  }

  async close(): Promise<void> {
    await this.killProcesses();
    for (const q of this.queues.values()) {
      await q.obliterate({ force: true }).catch(() => undefined);
      await q.close();
    }
    await Promise.all(this.connections.map((c) => c.quit()));
    await this.client?.quit();
  }
}

export function exitOf(p: ManagedProcess, timeoutMs = 30000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return Promise.race([
    p.exited,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${p.name} did not exit in ${timeoutMs} ms:\n${p.logs()}`)), timeoutMs)),
  ]);
}
