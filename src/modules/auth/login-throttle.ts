import { Inject, Injectable } from '@nestjs/common';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { AppConfig } from '../../config/app-config';
import { RateLimitedError } from '../../core/errors/domain-error';
import { REDIS } from '../../core/redis/redis.module';
import type { RedisClient } from '../../core/redis/redis.factory';

/** Brute-force guard on login and register: attempts per client IP, counted in Redis across processes. */
@Injectable()
export class LoginThrottle {
  private readonly limiter: RateLimiterRedis;

  constructor(config: AppConfig, @Inject(REDIS) redis: RedisClient) {
    this.limiter = new RateLimiterRedis({
      storeClient: redis,
      keyPrefix: `${config.redis.prefix}rl:login`,
      points: config.http.rateLimitPoints,
      duration: config.http.rateLimitDurationS,
      useRedisPackage: false,
    });
  }

  async consume(ip: string): Promise<void> {
    try {
      await this.limiter.consume(ip);
    } catch (res) {
      if (res instanceof RateLimiterRes) throw new RateLimitedError(res.msBeforeNext);
      throw res;
    }
  }
}
