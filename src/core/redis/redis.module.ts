import { Global, Inject, Logger, Module, OnApplicationShutdown, OnModuleDestroy } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { BatchedReads } from './batched-reads';
import { createRedis, redisReady, RedisClient, stopRevivingRedis } from './redis.factory';

/** DI token of the shared fail-fast command connection. */
export const REDIS = Symbol('REDIS');

@Global()
@Module({
  providers: [
    {
      provide: REDIS,
      inject: [AppConfig],
      useFactory: async (config: AppConfig): Promise<RedisClient> => {
        const client = createRedis(config.redis, { name: 'commands' });
        const logger = new Logger('Redis');
        let wasReady = false;
        client.on('error', (err: Error) => {
          if (wasReady) logger.warn({ err: err.message }, 'redis connection error');
        });
        client.on('ready', () => {
          if (wasReady) logger.log('redis connection restored');
          wasReady = true;
        });
        await redisReady(client);
        return client;
      },
    },
    { provide: BatchedReads, inject: [REDIS], useFactory: (redis: RedisClient) => new BatchedReads(redis) },
  ],
  exports: [REDIS, BatchedReads],
})
export class RedisModule implements OnModuleDestroy, OnApplicationShutdown {
  constructor(@Inject(REDIS) private readonly redis: RedisClient) {}

  /** Before any module closes its connections (Nest runs every onModuleDestroy first). */
  onModuleDestroy(): void {
    stopRevivingRedis();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
