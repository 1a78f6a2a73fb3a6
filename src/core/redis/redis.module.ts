import { Global, Inject, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { BatchedReads } from './batched-reads';
import { createRedis, redisReady, RedisClient } from './redis.factory';

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
export class RedisModule implements OnApplicationShutdown {
  constructor(@Inject(REDIS) private readonly redis: RedisClient) {}

  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
