import { Global, Inject, Injectable, Module } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { AppConfig } from '../../config/app-config';
import { EmitOptions, RealtimeService, userRoom, projectRoom } from '../realtime/realtime.contract';
import { REDIS } from '../redis/redis.module';
import type { RedisClient } from '../redis/redis.factory';

/**
 * TEMPORARY binding of the abstract RealtimeService for the queues branch,
 * until the realtime branch's implementation is merged (the lead deletes this
 * file and its two imports in api.module.ts / cli.module.ts). It publishes
 * every event as JSON on the Redis channel `<prefix>realtime:placeholder`
 * so tests can assert what was sent, in order. Nothing else imports it.
 */
export interface PlaceholderEvent {
  eventId: string;
  room: string;
  event: string;
  payload: object;
  target: string;
}

export const placeholderChannel = (prefix: string) => `${prefix}realtime:placeholder`;

@Injectable()
export class PlaceholderRealtimeService extends RealtimeService {
  private readonly channel: string;

  constructor(
    @Inject(REDIS) private readonly redis: RedisClient,
    config: AppConfig,
  ) {
    super();
    this.channel = placeholderChannel(config.redis.prefix);
  }

  async toRoom(room: string, event: string, payload: object, opts?: EmitOptions): Promise<string> {
    const eventId = randomUUID();
    const message: PlaceholderEvent = { eventId, room, event, payload, target: opts?.target ?? 'all' };
    await this.redis.publish(this.channel, JSON.stringify(message));
    return eventId;
  }

  toUser(userId: number | string, event: string, payload: object, opts?: EmitOptions): Promise<string> {
    return this.toRoom(userRoom(userId), event, payload, opts);
  }

  toProject(projectId: number | string, event: string, payload: object, opts?: EmitOptions): Promise<string> {
    return this.toRoom(projectRoom(projectId), event, payload, opts);
  }

  broadcast(event: string, payload: object, opts?: EmitOptions): Promise<string> {
    return this.toRoom('*', event, payload, opts);
  }

  toAdmins(event: string, payload: object, opts?: EmitOptions): Promise<string> {
    return this.toRoom('admins', event, payload, opts);
  }
}

@Global()
@Module({
  providers: [{ provide: RealtimeService, useClass: PlaceholderRealtimeService }],
  exports: [RealtimeService],
})
export class RealtimePlaceholderModule {}
