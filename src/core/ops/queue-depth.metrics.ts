import { Inject, Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { onScrape, queueJobs, queueMonitorAlert } from '../metrics/metrics';
import { monitorAlertsKey } from '../queue/queue.keys';
import type { RedisClient } from '../redis/redis.factory';
import { REDIS } from '../redis/redis.module';
import { JOB_STATES, QueueJobCounts } from './queue-job-counts';

/** Scrapes closer together than this share one read of Redis (several Prometheus replicas, a busy dashboard). */
const CACHE_MS = 2000;

/**
 * The api's /metrics: queue depth by state (`queue_jobs{queue,state}`) and the last
 * `queue:monitor` verdict per queue (`queue_monitor_alert{queue}`), read from Redis at scrape time,
 * so they are there on every api process whether or not a worker or monitor runs beside it.
 */
@Injectable()
export class QueueDepthMetrics implements OnModuleInit, OnApplicationShutdown {
  private readAt = 0;
  private reading: Promise<void> | undefined;
  private unregister: (() => void) | undefined;

  constructor(
    private readonly stats: QueueJobCounts,
    private readonly config: AppConfig,
    @Inject(REDIS) private readonly redis: RedisClient,
  ) {}

  onModuleInit(): void {
    this.unregister = onScrape(() => this.refresh());
  }

  onApplicationShutdown(): void {
    this.unregister?.();
  }

  refresh(): Promise<void> {
    if (Date.now() - this.readAt < CACHE_MS) return Promise.resolve();
    this.reading ??= this.read().finally(() => {
      this.readAt = Date.now();
      this.reading = undefined;
    });
    return this.reading;
  }

  private async read(): Promise<void> {
    const [counts, alerts] = await Promise.all([this.stats.counts(), this.redis.hgetall(monitorAlertsKey(this.config.redis.prefix))]);
    for (const [queue, c] of Object.entries(counts)) {
      if ('error' in c) continue;
      for (const state of JOB_STATES) queueJobs.set({ queue, state }, c[state]);
    }
    for (const [queue, raw] of Object.entries(alerts)) queueMonitorAlert.set({ queue }, raw === '1' ? 1 : 0);
  }
}
