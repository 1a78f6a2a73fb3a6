import { CanActivate, ExecutionContext, Inject, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { AppConfig } from '../../config/app-config';
import { RateLimitedError } from '../errors/domain-error';
import { httpThrottledTotal } from '../metrics/metrics';
import type { RedisClient } from '../redis/redis.factory';
import { REDIS } from '../redis/redis.module';

const NO_WRITE_LIMIT = 'switchboard:no-write-limit';
const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** A write that must always go through (logging out must work for a user who hit the limit). */
export const NoWriteLimit = () => SetMetadata(NO_WRITE_LIMIT, true);

/**
 * Every authenticated write over HTTP (chat messages, projects, analyses, AI
 * completions, notifications, ...) counts against one per-user budget
 * (WRITE_RATE_LIMIT_*), in Redis so it holds across api processes; past it,
 * 429 with Retry-After and `http_throttled_total{limit="write"}`. Runs after
 * AuthGuard, so only signed-in callers of existing routes are counted; reads
 * cost nothing here. Socket events keep their own limits (RATE_LIMIT_*).
 */
@Injectable()
export class WriteThrottleGuard implements CanActivate {
  private readonly limiter: RateLimiterRedis;
  private readonly exempt = new WeakMap<object, boolean>();

  constructor(
    config: AppConfig,
    @Inject(REDIS) redis: RedisClient,
    private readonly reflector: Reflector,
  ) {
    this.limiter = new RateLimiterRedis({
      storeClient: redis,
      keyPrefix: `${config.redis.prefix}rl:write`,
      points: config.http.writeRateLimitPoints,
      duration: config.http.writeRateLimitDurationS,
      useRedisPackage: false,
    });
  }

  canActivate(ctx: ExecutionContext): boolean | Promise<boolean> {
    if (ctx.getType() !== 'http') return true;
    const req = ctx.switchToHttp().getRequest<Request>();
    if (!req.principal || READS.has(req.method) || this.isExempt(ctx.getHandler())) return true;
    return this.limiter.consume(`u${req.principal.id}`).then(
      () => true,
      (err: unknown) => {
        if (!(err instanceof RateLimiterRes)) throw err;
        httpThrottledTotal.inc({ limit: 'write' });
        throw new RateLimitedError(err.msBeforeNext, 'Too many writes; slow down');
      },
    );
  }

  private isExempt(handler: object): boolean {
    let exempt = this.exempt.get(handler);
    if (exempt === undefined) {
      exempt = this.reflector.get<boolean>(NO_WRITE_LIMIT, handler as () => void) ?? false;
      this.exempt.set(handler, exempt);
    }
    return exempt;
  }
}
