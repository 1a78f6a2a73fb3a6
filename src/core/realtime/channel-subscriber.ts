import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { createRedis, RedisClient } from '../redis/redis.factory';

type Stream = { isPaused(): boolean; pause(): void; resume(): void };

/** A shard's fan-out channel, and whether it is published with SPUBLISH. */
export interface ShardChannel {
  channel: string;
  sharded: boolean;
}

/**
 * The one Redis subscriber client of an api process (every event, from api
 * processes and workers alike, arrives on its shard's channel: one channel
 * with one shard, SSUBSCRIBEd shard channels with more — on a Cluster one
 * connection per master, ioredis' sharded subscribers), and its flow
 * control: reading stops while the fan-out is behind, so the backlog waits in
 * Redis (bounded by its pub/sub output buffer limit) instead of in this process.
 */
@Injectable()
export class ChannelSubscriber implements OnApplicationShutdown {
  private readonly logger = new Logger('RealtimeHub');
  private client?: RedisClient;

  constructor(private readonly config: AppConfig) {}

  /** `onMessage` gets each message with the index of its channel in `channels` (the shard). */
  async subscribe(channels: readonly ShardChannel[], onMessage: (message: string, shard: number) => void): Promise<void> {
    const sharded = channels.some((c) => c.sharded);
    const sub = createRedis(this.config.redis, { name: 'realtime-sub', failFast: false, shardedSubscribers: sharded });
    sub.on('error', (err: Error) => this.logger.warn({ err: err.message }, 'realtime subscriber error'));
    if (!sharded) {
      sub.on('message', (_channel: string, message: string) => onMessage(message, 0));
      await sub.subscribe(...channels.map((c) => c.channel));
    } else {
      const shardOf = new Map(channels.map((c, i) => [c.channel, i]));
      sub.on('smessage', (channel: string, message: string) => {
        const shard = shardOf.get(channel);
        if (shard !== undefined) onMessage(message, shard);
      });
      // One call per channel: SSUBSCRIBE takes channels of one slot only.
      for (const c of channels) await sub.ssubscribe(c.channel);
    }
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
