import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { RedisRealtimeService } from './redis-realtime.service';

/** Shedding is told to admins at most this often (it can repeat every second under overload). */
export const SHED_WARNING_EVERY_MS = 60_000;

/**
 * `system:warning` to admins about this process's realtime capacity (SPEC §8):
 * connections past 75 % / 90 % of MAX_CONCURRENT_CONNECTIONS (ClusterState),
 * slow sockets shed (SlowSocketShedder). A warning that cannot be sent is logged.
 */
@Injectable()
export class AdminAlerts {
  private readonly logger = new Logger(AdminAlerts.name);
  private lastShedWarningAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly realtime: RedisRealtimeService,
    private readonly config: AppConfig,
  ) {}

  capacity(level: 'warning' | 'error', ratio: number, total: number): void {
    this.warn({ code: 'capacity', level, ratio, connections: total, limit: this.config.realtime.maxConnections, instance: this.config.instanceId });
  }

  /** At most one a minute; `now` for specs. */
  shedding(count: number, now = Date.now()): void {
    if (now - this.lastShedWarningAt < SHED_WARNING_EVERY_MS) return;
    this.lastShedWarningAt = now;
    this.warn({ code: 'shedding', shed: count, instance: this.config.instanceId });
  }

  private warn(payload: object): void {
    this.realtime.toAdmins('system:warning', payload).catch((err: Error) => this.logger.warn({ err: err.message }, 'system:warning not sent'));
  }
}
