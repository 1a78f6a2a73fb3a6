import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { createRedis, RedisClient } from '../redis/redis.factory';

type Stream = { isPaused(): boolean; pause(): void; resume(): void };

/**
 * The one Redis subscriber connection of an api process (every event, from api
 * processes and workers alike, arrives on one channel), and its flow control:
 * reading stops while the fan-out is behind, so the backlog waits in Redis
 * (bounded by its pub/sub output buffer limit) instead of in this process.
 */
@Injectable()
export class ChannelSubscriber implements OnApplicationShutdown {
  private readonly logger = new Logger('RealtimeHub');
  private client?: RedisClient;

  constructor(private readonly config: AppConfig) {}

  async subscribe(channel: string, onMessage: (message: string) => void): Promise<void> {
    const sub = createRedis(this.config.redis, { name: 'realtime-sub', failFast: false });
    sub.on('error', (err: Error) => this.logger.warn({ err: err.message }, 'realtime subscriber error'));
    sub.on('message', (_channel: string, message: string) => onMessage(message));
    await sub.subscribe(channel);
    this.client = sub;
  }

  /** Stops reading; false if it was stopped already (or cannot be: a Redis Cluster client has no one socket). */
  pause(): boolean {
    const stream = this.stream();
    if (!stream || stream.isPaused()) return false;
    stream.pause();
    return true;
  }

  resume(): void {
    const stream = this.stream();
    if (stream?.isPaused()) stream.resume();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.client?.quit().catch(() => this.client?.disconnect());
  }

  private stream(): Stream | undefined {
    return (this.client as { stream?: Stream } | undefined)?.stream;
  }
}
