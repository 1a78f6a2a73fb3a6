import { DynamicModule, Module, ModuleMetadata, Type } from '@nestjs/common';
import { ConnectionStatsSource } from './connection-stats.source';
import { ConnectionsController } from './connections.controller';
import { DbPoolMetric } from './db-pool-metric';
import { DbPoolStats } from './db-pool-stats';
import { InstanceRegistry } from './instance-registry';
import { PerformanceController } from './performance.controller';
import { QueueDepthMetrics } from './queue-depth.metrics';
import { QueueJobCounts } from './queue-job-counts';
import { RuntimeSampler } from './runtime-sampler';
import { SocketPerformanceController } from './socket-performance.controller';
import { StatusController } from './status.controller';
import { StatusSnapshots } from './status-snapshot';

export interface OpsModuleOptions {
  /** Modules that provide `connections` (e.g. the realtime module). */
  imports?: ModuleMetadata['imports'];
  /** A class implementing ConnectionStatsSource; instantiated here, so it may inject what `imports` or global modules export. */
  connections?: Type<ConnectionStatsSource>;
}

/**
 * Operations endpoints of the api process: /api/performance/detailed, /api/connections/stats, the /status page and its
 * SSE feed /api/performance/stream. Connection figures come
 * from an optional ConnectionStatsSource (see connection-stats.source.ts):
 * `OpsModule.register({ imports: [RealtimeModule], connections: TheRealtimeStatsAdapter })`.
 */
@Module({})
export class OpsModule {
  static register(opts: OpsModuleOptions = {}): DynamicModule {
    return {
      module: OpsModule,
      imports: opts.imports ?? [],
      controllers: [PerformanceController, StatusController, ConnectionsController, SocketPerformanceController],
      providers: [
        RuntimeSampler,
        DbPoolStats,
        DbPoolMetric,
        QueueJobCounts,
        QueueDepthMetrics,
        InstanceRegistry,
        StatusSnapshots,
        ...(opts.connections ? [{ provide: ConnectionStatsSource, useClass: opts.connections }] : []),
      ],
      exports: [RuntimeSampler, QueueJobCounts, InstanceRegistry],
    };
  }
}
