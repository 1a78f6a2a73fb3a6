import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { RedisRealtimeService } from './redis-realtime.service';

/**
 * `system:info` to admins when an api process starts serving: a deploy or a
 * restart is visible to operators watching the dashboard live (seed 003 names
 * system:info; this is the event that carries it). Admins only, so a rolling
 * deploy of many processes does not reach every client once per process.
 */
@Injectable()
export class InstanceAnnouncer implements OnApplicationBootstrap {
  private readonly logger = new Logger(InstanceAnnouncer.name);

  constructor(
    private readonly realtime: RedisRealtimeService,
    private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    const payload = { code: 'instance_started', level: 'info', message: `api process ${this.config.instanceId} started`, instance: this.config.instanceId };
    this.realtime.toAdmins('system:info', payload).catch((err: Error) => this.logger.warn({ err: err.message }, 'system:info not sent'));
  }
}
