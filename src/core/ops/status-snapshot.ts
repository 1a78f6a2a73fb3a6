import { Inject, Injectable, Optional } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { ReplicaHealth, ReplicaStatus } from '../database/replica-health';
import { ConnectionsReport, ConnectionStatsSource } from './connection-stats.source';
import { InstanceRegistry } from './instance-registry';
import { QueueCounts, QueueJobCounts } from './queue-job-counts';
import { liveWorkers, WorkerStatus } from '../queue/worker/worker-heartbeat';
import type { RedisClient } from '../redis/redis.factory';
import { REDIS } from '../redis/redis.module';

export interface ProcessRow {
  instance: string;
  pid: number;
  eventLoopP99Ms: number;
  eventLoopUtilization: number;
  cpuPercent: number;
  rssBytes: number;
  sampledAt: string;
}

export interface StatusSnapshot {
  at: string;
  answeredBy: string;
  processes: ProcessRow[];
  queues: Record<string, QueueCounts | { error: string }>;
  /** Every live queue:work process of the cluster (their heartbeats in Redis). */
  workers: WorkerStatus[];
  replicas: ReplicaStatus[];
  connections: (ConnectionsReport & { available: true; percent: number }) | { available: false; reason: string };
}

/** What the status page shows, in one object: every api process, the queues, the replicas, capacity. */
@Injectable()
export class StatusSnapshots {
  constructor(
    private readonly config: AppConfig,
    private readonly instances: InstanceRegistry,
    private readonly queues: QueueJobCounts,
    private readonly replicas: ReplicaHealth,
    @Inject(REDIS) private readonly redis: RedisClient,
    @Optional() private readonly connectionSource?: ConnectionStatsSource,
  ) {}

  async connections(): Promise<StatusSnapshot['connections']> {
    if (!this.connectionSource) {
      return { available: false, reason: 'no ConnectionStatsSource is registered (the realtime module provides one)' };
    }
    try {
      const r = await this.connectionSource.report();
      return { ...r, available: true, percent: r.limit ? Math.round((r.total / r.limit) * 10000) / 100 : 0 };
    } catch (err) {
      return { available: false, reason: (err as Error).message };
    }
  }

  async take(): Promise<StatusSnapshot> {
    const [cluster, queues, connections, workers] = await Promise.all([
      this.instances.cluster().catch(() => [this.instances.report()]),
      this.queues.counts(),
      this.connections(),
      liveWorkers(this.redis, this.config.redis.prefix).catch(() => []),
    ]);
    return {
      at: new Date().toISOString(),
      answeredBy: this.config.instanceId,
      processes: cluster.map((r) => ({
        instance: r.instance,
        pid: r.pid,
        eventLoopP99Ms: r.sample.eventLoop.delayMs.p99,
        eventLoopUtilization: r.sample.eventLoop.utilization,
        cpuPercent: Math.round((r.sample.cpu.userPercent + r.sample.cpu.systemPercent) * 100) / 100,
        rssBytes: r.memory.rssBytes,
        sampledAt: r.sample.at,
      })),
      queues,
      workers,
      replicas: this.replicas.status,
      connections,
    };
  }
}
