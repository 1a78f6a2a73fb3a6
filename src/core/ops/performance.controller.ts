import { Controller, Get, Optional } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { Roles } from '../session/auth.decorators';
import { ConnectionStatsSource } from './connection-stats.source';
import { DbPoolStats } from './db-pool-stats';
import { InstanceRegistry } from './instance-registry';
import { QueueStats } from './queue-stats';
import { RuntimeSampler } from './runtime-sampler';

/** Operators' view of the process that answers and of the whole cluster (SPEC §4 Operations). */
@Controller('api/performance')
export class PerformanceController {
  constructor(
    private readonly config: AppConfig,
    private readonly runtime: RuntimeSampler,
    private readonly db: DbPoolStats,
    private readonly queues: QueueStats,
    private readonly instances: InstanceRegistry,
    @Optional() private readonly connections?: ConnectionStatsSource,
  ) {}

  @Roles('admin')
  @Get('detailed')
  async detailed() {
    const [queues, cluster, connections] = await Promise.all([this.queues.counts(), this.instances.cluster().catch(() => null), this.connectionsReport()]);
    const sample = this.runtime.latest();
    return {
      timestamp: new Date().toISOString(),
      instance: this.config.instanceId,
      pid: process.pid,
      uptimeSeconds: Math.round(process.uptime()),
      node: process.version,
      memory: this.runtime.memory(),
      eventLoop: { ...sample.eventLoop, windowMs: sample.windowMs, sampledAt: sample.at },
      cpu: sample.cpu,
      gc: this.runtime.gcTotals(),
      db: this.db.report(),
      queues,
      connections,
      cluster: cluster && { instances: cluster.length, processes: cluster },
    };
  }

  private async connectionsReport() {
    if (!this.connections) {
      return { available: false, reason: 'no ConnectionStatsSource is registered (the realtime module provides one)' };
    }
    try {
      const r = await this.connections.report();
      return { available: true, percent: r.limit ? Math.round((r.total / r.limit) * 10000) / 100 : 0, ...r };
    } catch (err) {
      return { available: false, reason: (err as Error).message };
    }
  }
}
