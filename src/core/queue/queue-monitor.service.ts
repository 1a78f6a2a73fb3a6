import { Injectable, Logger } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { queueJobs, queueMonitorAlert } from '../metrics/metrics';
import { RealtimeService } from '../realtime/realtime.contract';
import { QueueRegistry } from './queue-registry';

export interface QueueStats {
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
}

@Injectable()
export class QueueMonitor {
  private readonly logger = new Logger('QueueMonitor');

  constructor(
    private readonly registry: QueueRegistry,
    private readonly realtime: RealtimeService,
  ) {}

  async stats(queue: Queue, max = Infinity): Promise<QueueStats> {
    const c = await queue.getJobCounts('wait', 'paused', 'prioritized', 'delayed', 'active', 'failed', 'completed');
    const [oldest] = await queue.getJobs(['wait'], 0, 0, true);
    const waiting = (c.wait ?? 0) + (c.paused ?? 0) + (c.prioritized ?? 0);
    const size = waiting + (c.delayed ?? 0) + (c.active ?? 0);
    for (const [state, n] of Object.entries({ waiting, delayed: c.delayed ?? 0, active: c.active ?? 0, failed: c.failed ?? 0, completed: c.completed ?? 0 })) {
      queueJobs.set({ queue: queue.name, state }, n);
    }
    return {
      queue: queue.name,
      waiting,
      delayed: c.delayed ?? 0,
      active: c.active ?? 0,
      failed: c.failed ?? 0,
      size,
      oldestWaitingS: oldest ? Math.max(0, Math.round((Date.now() - oldest.timestamp) / 1000)) : null,
      alert: size >= max,
    };
  }

  /** Counts into the queue_jobs gauge (the worker calls this periodically). */
  async refresh(names: string[]): Promise<void> {
    for (const q of this.registry.select(names)) await this.stats(q);
  }

  /** queue:monitor: stats for each queue; at or over `max` an alert is logged, sent to admins and set as a metric. */
  async check(names: string[], max: number): Promise<QueueStats[]> {
    const out: QueueStats[] = [];
    for (const q of this.registry.select(names)) {
      const s = await this.stats(q, max);
      queueMonitorAlert.set({ queue: q.name }, s.alert ? 1 : 0);
      if (s.alert) {
        const message = `Queue ${q.name} holds ${s.size} jobs (max ${max})`;
        // Logged as one JSON line on stderr, so `--json` stdout stays parseable whatever the CLI's logger does.
        process.stderr.write(JSON.stringify({ level: 'warn', context: 'QueueMonitor', queue: q.name, size: s.size, max, msg: message }) + '\n');
        await this.realtime
          .toAdmins('system:warning', { code: 'queue_backlog', queue: q.name, size: s.size, max, message })
          .catch((err: Error) => this.logger.error({ err: err.message }, 'could not send the queue alert to admins'));
      }
      out.push(s);
    }
    return out;
  }
}
