import { Controller, Get } from '@nestjs/common';
import { register } from 'prom-client';
import { AppConfig } from '../../config/app-config';
import { Roles } from '../session/auth.decorators';
import { RuntimeSampler } from './runtime-sampler';
import { StatusSnapshots } from './status-snapshot';

/** Sums a counter's samples by one label (prom-client keeps them per label set). */
async function countBy(metric: string, label: string, where: Record<string, string> = {}): Promise<Record<string, number>> {
  const m = register.getSingleMetric(metric);
  if (!m) return {};
  const out: Record<string, number> = {};
  for (const v of (await m.get()).values) {
    if (Object.entries(where).some(([k, want]) => v.labels[k] !== want)) continue;
    const key = String(v.labels[label] ?? '');
    out[key] = (out[key] ?? 0) + v.value;
  }
  return out;
}

/**
 * Seed 000's `curl /api/socket-performance`: the Socket.IO side of the
 * picture at a glance (cluster connections against the limits, this
 * process's sockets, events in and out, event-loop delay). Admin only, as
 * every operations endpoint (SPEC §11).
 */
@Controller('api/socket-performance')
export class SocketPerformanceController {
  constructor(
    private readonly config: AppConfig,
    private readonly runtime: RuntimeSampler,
    private readonly snapshots: StatusSnapshots,
  ) {}

  @Roles('admin')
  @Get()
  async report() {
    const [connections, local, eventsIn, eventsOut] = await Promise.all([
      this.snapshots.connections(),
      countBy('socket_active_connections', 'namespace'),
      countBy('socket_messages_total', 'namespace', { direction: 'in' }),
      countBy('socket_messages_total', 'namespace', { direction: 'out' }),
    ]);
    const sample = this.runtime.latest();
    return {
      success: true,
      timestamp: new Date().toISOString(),
      instance: this.config.instanceId,
      cluster: connections,
      limits: { maxConnections: this.config.realtime.maxConnections, maxConnectionsPerIp: this.config.realtime.maxConnectionsPerIp },
      process: {
        sockets: local,
        eventsIn,
        eventsOut,
        eventLoop: sample.eventLoop,
        memory: this.runtime.memory(),
        uptimeSeconds: Math.round(process.uptime()),
      },
    };
  }
}
