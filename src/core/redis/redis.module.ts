import { Global, Inject, Logger, Module, OnApplicationShutdown, OnModuleDestroy } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { BatchedReads } from './batched-reads';
import { createRedis, redisReady, RedisClient, stopRevivingRedis } from './redis.factory';
import { ReplicationSampler } from './replication-sampler';
import { writeOncePerTurn } from './turn-writes';

/** DI token of the shared fail-fast command connection. */
export const REDIS = Symbol('REDIS');

/**
 * DI token of a second fail-fast command connection, for commands sent one per
 * socket event in a connection storm (event rate limits, socket sessions):
 * no auto-pipelining, so no ioredis Pipeline is built per flush (one per
 * handshake when each arrives in a tick of its own), and the commands of one
 * event-loop turn still leave in one socket write (writeOncePerTurn).
 * Commands whose order matters go on one connection together.
 */
export const REDIS_PER_TURN = Symbol('REDIS_PER_TURN');

function connect(config: AppConfig, name: string, extra?: Parameters<typeof createRedis>[1]['extra']): RedisClient {
  const client = createRedis(config.redis, { name, extra });
  const logger = new Logger('Redis');
  let wasReady = false;
  client.on('error', (err: Error) => {
    if (wasReady) logger.warn({ err: err.message, connection: name }, 'redis connection error');
  });
  client.on('ready', () => {
    if (wasReady) logger.log({ connection: name }, 'redis connection restored');
    wasReady = true;
  });
  return client;
}

@Global()
@Module({
  providers: [
    {
      provide: REDIS,
      inject: [AppConfig],
      useFactory: async (config: AppConfig): Promise<RedisClient> => {
        const client = connect(config, 'commands');
        await redisReady(client);
        return client;
      },
    },
    {
      provide: REDIS_PER_TURN,
      inject: [AppConfig],
      useFactory: async (config: AppConfig): Promise<RedisClient> => {
        const client = connect(config, 'per-turn', { enableAutoPipelining: false });
        writeOncePerTurn(client);
        await redisReady(client);
        return client;
      },
    },
    { provide: BatchedReads, inject: [REDIS], useFactory: (redis: RedisClient) => new BatchedReads(redis) },
    // One per process: the replica confirmations of the producer and of queue:work's queues sample each server once.
    { provide: ReplicationSampler, useFactory: () => new ReplicationSampler() },
  ],
  exports: [REDIS, REDIS_PER_TURN, BatchedReads, ReplicationSampler],
})
export class RedisModule implements OnModuleDestroy, OnApplicationShutdown {
  constructor(
    @Inject(REDIS) private readonly redis: RedisClient,
    @Inject(REDIS_PER_TURN) private readonly perTurn: RedisClient,
  ) {}

  /** Before any module closes its connections (Nest runs every onModuleDestroy first). */
  onModuleDestroy(): void {
    stopRevivingRedis();
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([this.redis, this.perTurn].map((client) => client.quit().catch(() => client.disconnect())));
  }
}
