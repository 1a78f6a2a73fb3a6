import { Controller, Get, Inject, Query } from '@nestjs/common';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { AppConfig } from '../../config/app-config';
import { BadRequestError, NotFoundError, RateLimitedError } from '../../core/errors/domain-error';
import { httpThrottledTotal } from '../../core/metrics/metrics';
import type { RedisClient } from '../../core/redis/redis.factory';
import { REDIS } from '../../core/redis/redis.module';
import { CurrentUser } from '../../core/session/auth.decorators';
import type { Principal } from '../../core/session/principal';
import { UsersService } from './users.service';

/** Lookups per user per minute: enough to add a few people to a room, too few to probe a directory. */
export const LOOKUPS_PER_MINUTE = 20;
const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}$/;

/**
 * How a client finds the id to put in `memberIds`: one exact email, one
 * user, `{id, name}` or 404. No listing, no prefix search, and a per-user
 * budget in Redis (every api process shares it), so the route cannot be used
 * to enumerate who has an account.
 */
@Controller('api/users')
export class UserLookupController {
  private readonly limiter: RateLimiterRedis;

  constructor(
    private readonly users: UsersService,
    config: AppConfig,
    @Inject(REDIS) redis: RedisClient,
  ) {
    this.limiter = new RateLimiterRedis({ storeClient: redis, keyPrefix: `${config.redis.prefix}rl:user-lookup`, points: LOOKUPS_PER_MINUTE, duration: 60, useRedisPackage: false });
  }

  @Get('lookup')
  async lookup(@CurrentUser() me: Principal, @Query('email') email: unknown): Promise<{ id: number; name: string }> {
    if (typeof email !== 'string' || email.length > 320 || !EMAIL.test(email.trim())) throw new BadRequestError('email must be one email address');
    try {
      await this.limiter.consume(`u${me.id}`);
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err;
      httpThrottledTotal.inc({ limit: 'user_lookup' });
      throw new RateLimitedError(err.msBeforeNext, 'Too many lookups; slow down');
    }
    const user = await this.users.findByEmailWithPassword(email);
    if (!user) throw new NotFoundError('User with this email');
    return { id: user.id, name: user.name };
  }
}
