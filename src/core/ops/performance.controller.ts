import { Controller, Get } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { Roles } from '../session/auth.decorators';
import { DbPoolStats } from './db-pool-stats';
import { InstanceRegistry } from './instance-registry';
import { QueueJobCounts } from './queue-job-counts';
import { RuntimeSampler } from './runtime-sampler';
import { StatusSnapshots } from './status-snapshot';

/** Operators' view of the process that answers and of the whole cluster (SPEC §4 Operations). */
@Controller('api/performance')
export class PerformanceController {
  constructor(
    private readonly config: AppConfig,
    private readonly runtime: RuntimeSampler,
    private readonly db: DbPoolStats,
    private readonly queues: QueueJobCounts,
    private readonly instances: InstanceRegistry,
    private readonly snapshots: StatusSnapshots,
  ) {}

  @Roles('admin')
  @Get('detailed')
  async detailed() {
    const [queues, cluster, connections] = await Promise.all([this.queues.counts(), this.instances.cluster().catch(() => null), this.snapshots.connections()]);
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
      activeResources: this.runtime.activeResources(),
      db: this.db.report(),
      queues,
      connections,
      cluster: cluster && { instances: cluster.length, processes: cluster },
    };
  }
}
