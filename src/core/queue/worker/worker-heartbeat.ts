import { hostname } from 'node:os';
import type { RedisClient } from '../../redis/redis.factory';
import { workerKey, workersIndexKey } from '../queue.keys';
import type { QueueRate } from './queue-rates';

/** What queue:status shows for one worker (Horizon's workers page). */
export interface WorkerStatus {
  id: string;
  name: string;
  host: string;
  pid: number;
  queues: string[];
  startedAt: string;
  /** Attempts finished since start, and how many of them failed. */
  processed: number;
  failed: number;
  /** `<queue>:<id> <name>` of each running job. */
  current: string[];
  memoryMb: number;
  /** running | paused (maintenance mode) | stopping */
  state: string;
  /** Started with --force: keeps taking jobs in maintenance mode (`down` does not wait for it to pause). */
  force?: boolean;
  /** Per queue, the last minute: attempts done and failed, waits (absent from workers older than this field). */
  rates?: Record<string, QueueRate>;
  seenAt: string;
}

export type WorkerCounters = Pick<WorkerStatus, 'processed' | 'failed' | 'current' | 'state' | 'rates' | 'force'>;

export const HEARTBEAT_MS = 2000;
/** A worker not heard from for this long is gone (SIGKILL, lost host); its entry expires with it. */
export const WORKER_TTL_MS = 3 * HEARTBEAT_MS + 1000;

/**
 * Each worker's entry in Redis, for queue:status from any machine: a key with a TTL (so a
 * SIGKILLed worker disappears by itself) and an index sorted by last heartbeat.
 */
export class WorkerHeartbeat {
  private timer: NodeJS.Timeout | undefined;
  private readonly startedAt = new Date().toISOString();

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly identity: Pick<WorkerStatus, 'id' | 'name' | 'queues'>,
    private readonly counters: () => WorkerCounters,
  ) {}

  start(): void {
    void this.beat().catch(() => undefined);
    this.timer = setInterval(() => void this.beat().catch(() => undefined), HEARTBEAT_MS);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all([this.redis.del(workerKey(this.prefix, this.identity.id)), this.redis.zrem(workersIndexKey(this.prefix), this.identity.id)]).catch(() => undefined);
  }

  async beat(): Promise<void> {
    const now = Date.now();
    const status: WorkerStatus = {
      ...this.identity,
      host: hostname(),
      pid: process.pid,
      startedAt: this.startedAt,
      ...this.counters(),
      memoryMb: Math.round(process.memoryUsage.rss() / 1024 / 1024),
      seenAt: new Date(now).toISOString(),
    };
    await this.redis.set(workerKey(this.prefix, this.identity.id), JSON.stringify(status), 'PX', WORKER_TTL_MS);
    await this.redis.zadd(workersIndexKey(this.prefix), now, this.identity.id);
  }
}

/** Every live worker of the cluster, oldest first; entries of dead workers are dropped from the index. */
export async function liveWorkers(redis: RedisClient, prefix: string): Promise<WorkerStatus[]> {
  const index = workersIndexKey(prefix);
  await redis.zremrangebyscore(index, 0, Date.now() - WORKER_TTL_MS);
  const ids = await redis.zrange(index, 0, 999);
  const out: WorkerStatus[] = [];
  for (const id of ids) {
    const raw = await redis.get(workerKey(prefix, id));
    if (raw) out.push(JSON.parse(raw) as WorkerStatus);
  }
  return out.sort((a, b) => a.startedAt.localeCompare(b.startedAt));
}
