import { Inject, Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import type { Queue } from 'bullmq';
import { queueJobs, queueMonitorAlert } from '../metrics/metrics';
import { RealtimeService } from '../realtime/realtime.contract';
import { MonitorWebhook } from './monitor-webhook';
import { QueueRegistry } from './queue-registry';
import { monitorAlertsKey } from './queue.keys';
import type { RedisClient } from '../redis/redis.factory';
import { REDIS } from '../redis/redis.module';

export interface QueueMonitorReport {
  queue: string;
  waiting: number;
  delayed: number;
  active: number;
  failed: number;
  /** Laravel's queue size: waiting + delayed + active (reserved). Compared with --max. */
  size: number;
  /** Age in seconds of the oldest job still waiting; null when none waits. */
  oldestWaitingS: number | null;
  alert: boolean;
  /** Why it alerts: `size` (at or over --max), `wait` (oldest waiting job at or over --max-wait). */
  reasons: Array<'size' | 'wait'>;
}

export interface MonitorThresholds {
  max: number;
  /** Seconds; undefined: wait time is shown but never alerts. */
  maxWaitS?: number;
}

@Injectable()
export class QueueMonitor {
  private readonly logger = new Logger('QueueMonitor');

  constructor(
    private readonly registry: QueueRegistry,
    private readonly realtime: RealtimeService,
    private readonly webhook: MonitorWebhook,
    private readonly config: AppConfig,
    @Inject(REDIS) private readonly redis: RedisClient,
  ) {}

  async stats(queue: Queue, limits: MonitorThresholds = { max: Infinity }): Promise<QueueMonitorReport> {
    const c = await queue.getJobCounts('wait', 'paused', 'prioritized', 'delayed', 'active', 'failed', 'completed');
    const [oldest] = await queue.getJobs(['wait'], 0, 0, true);
    const waiting = (c.wait ?? 0) + (c.paused ?? 0) + (c.prioritized ?? 0);
    const size = waiting + (c.delayed ?? 0) + (c.active ?? 0);
    for (const [state, n] of Object.entries({ waiting, delayed: c.delayed ?? 0, active: c.active ?? 0, failed: c.failed ?? 0, completed: c.completed ?? 0 })) {
      queueJobs.set({ queue: queue.name, state }, n);
    }
    const oldestWaitingS = oldest ? Math.max(0, Math.round((Date.now() - oldest.timestamp) / 1000)) : null;
    const reasons: QueueMonitorReport['reasons'] = [];
    if (size >= limits.max) reasons.push('size');
    if (limits.maxWaitS !== undefined && oldestWaitingS !== null && oldestWaitingS >= limits.maxWaitS) reasons.push('wait');
    return { queue: queue.name, waiting, delayed: c.delayed ?? 0, active: c.active ?? 0, failed: c.failed ?? 0, size, oldestWaitingS, alert: reasons.length > 0, reasons };
  }

  /** Counts into the queue_jobs gauge (the worker calls this periodically). */
  async refresh(names: string[]): Promise<void> {
    for (const q of this.registry.select(names)) await this.stats(q);
  }

  /**
   * queue:monitor (Laravel's QueueBusy): stats for each queue; over a threshold an alert is logged,
   * sent to admins as system:warning, set as a metric and POSTed to the webhook when one is set.
   */
  async check(names: string[], limits: MonitorThresholds): Promise<QueueMonitorReport[]> {
    const out: QueueMonitorReport[] = [];
    for (const q of this.registry.select(names)) {
      const s = await this.stats(q, limits);
      queueMonitorAlert.set({ queue: q.name }, s.alert ? 1 : 0);
      // This process ends in a moment: the verdict is kept where every api's /metrics reads it.
      await this.redis.hset(monitorAlertsKey(this.config.redis.prefix), q.name, s.alert ? '1' : '0');
      if (s.alert) await this.alert(s, limits);
      out.push(s);
    }
    return out;
  }

  private async alert(s: QueueMonitorReport, { max, maxWaitS }: MonitorThresholds): Promise<void> {
    const parts = [];
    if (s.reasons.includes('size')) parts.push(`holds ${s.size} jobs (max ${max})`);
    if (s.reasons.includes('wait')) parts.push(`its oldest job has waited ${s.oldestWaitingS}s (max ${maxWaitS}s)`);
    const message = `Queue ${s.queue} ${parts.join(' and ')}`;
    const code = s.reasons.includes('size') ? 'queue_backlog' : 'queue_wait';
    const fields = { code, queue: s.queue, size: s.size, max, oldestWaitingS: s.oldestWaitingS, maxWaitS: maxWaitS ?? null, message };
    // Logged as one JSON line on stderr, so `--json` stdout stays parseable whatever the CLI's logger does.
    process.stderr.write(JSON.stringify({ level: 'warn', context: 'QueueMonitor', ...fields, msg: message }) + '\n');
    await this.realtime.toAdmins('system:warning', fields).catch((err: Error) => this.logger.error({ err: err.message }, 'could not send the queue alert to admins'));
    await this.webhook.notify(message, fields);
  }
}
