import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { Queue } from 'bullmq';
import { bullPrefix } from '../queue/queue.keys';
import { AppConfig } from '../../config/app-config';
import { createRedis, RedisClient } from '../redis/redis.factory';

export const JOB_STATES = ['waiting', 'prioritized', 'active', 'delayed', 'failed', 'completed', 'paused'] as const;
export type QueueCounts = Record<(typeof JOB_STATES)[number], number>;

/**
 * Job counts per configured queue, read with plain BullMQ (Queue.getJobCounts) on a fail-fast
 * connection of its own: the api never consumes jobs, it only looks.
 */
@Injectable()
export class QueueJobCounts implements OnApplicationShutdown {
  private connection?: RedisClient;
  private readonly queues = new Map<string, Queue>();

  constructor(private readonly config: AppConfig) {}

  /** BullMQ's key prefix, as the queue module sets it (`sb:{bull}:high:wait`). */
  get prefix(): string {
    return bullPrefix(this.config);
  }

  /** Per queue, in the configured order. */
  async counts(): Promise<Record<string, QueueCounts | { error: string }>> {
    const names = this.config.queue.names;
    const results = await Promise.all(
      names.map((name) => this.queue(name).getJobCounts(...JOB_STATES).then((c) => c as QueueCounts, (err: Error) => ({ error: err.message }))),
    );
    return Object.fromEntries(names.map((name, i) => [name, results[i]]));
  }

  private queue(name: string): Queue {
    let q = this.queues.get(name);
    if (!q) {
      this.connection ??= createRedis(this.config.redis, { name: 'ops-queue-stats' });
      q = new Queue(name, { connection: this.connection, prefix: this.prefix });
      // Redis errors surface in counts(); nothing to crash here.
      q.on('error', () => undefined);
      this.queues.set(name, q);
    }
    return q;
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close().catch(() => undefined)));
    this.connection?.disconnect();
  }
}
