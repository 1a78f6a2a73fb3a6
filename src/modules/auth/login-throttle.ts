import { Inject, Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { AppConfig } from '../../config/app-config';
import { RateLimitedError } from '../../core/errors/domain-error';
import { httpThrottledTotal } from '../../core/metrics/metrics';
import { REDIS } from '../../core/redis/redis.module';
import type { RedisClient } from '../../core/redis/redis.factory';

/**
 * Brute-force guard on login and register, counted in Redis across processes:
 * per client address (HTTP_RATE_LIMIT_*), and for login, as Laravel's
 * ThrottlesLogins, per email + address (LOGIN_THROTTLE_*): every attempt
 * counts, a successful login clears the count. The address is the one
 * TRUSTED_PROXIES resolves (req.ip), so rotating X-Forwarded-For buys nothing.
 */
@Injectable()
export class LoginThrottle {
  private readonly perIp: RateLimiterRedis;
  private readonly perEmail: RateLimiterRedis;

  constructor(config: AppConfig, @Inject(REDIS) redis: RedisClient) {
    this.perIp = new RateLimiterRedis({
      storeClient: redis,
      keyPrefix: `${config.redis.prefix}rl:login`,
      points: config.http.authAttemptsPerAddress,
      duration: config.http.authAttemptsWindowS,
      useRedisPackage: false,
    });
    this.perEmail = new RateLimiterRedis({
      storeClient: redis,
      keyPrefix: `${config.redis.prefix}rl:login-email`,
      points: config.http.loginThrottleAttempts,
      duration: config.http.loginThrottleDecayS,
      useRedisPackage: false,
    });
  }

  /** Counts a register attempt from `ip`; 429 past the limit. */
  async register(ip: string): Promise<void> {
    await consume(this.perIp, ip, 'login_ip');
  }

  /**
   * Counts a login attempt before the password is checked, so parallel
   * guesses cannot slip past the limit while the first ones are verified.
   */
  async attempt(email: string, ip: string): Promise<void> {
    await consume(this.perIp, ip, 'login_ip');
    await consume(this.perEmail, emailKey(email, ip), 'login_email');
  }

  /** A successful login forgets the failed attempts of that email from that address. */
  async succeeded(email: string, ip: string): Promise<void> {
    await this.perEmail.delete(emailKey(email, ip));
  }
}

// Emails are personal data: Redis keeps only a digest of the pair.
function emailKey(email: string, ip: string): string {
  return createHash('sha256').update(`${email.trim().toLowerCase()}|${ip}`).digest('base64url');
}

async function consume(limiter: RateLimiterRedis, key: string, limit: string): Promise<void> {
  try {
    await limiter.consume(key);
  } catch (res) {
    if (res instanceof RateLimiterRes) {
      httpThrottledTotal.inc({ limit });
      throw new RateLimitedError(res.msBeforeNext, 'Too many login attempts; try again later');
    }
    throw res;
  }
}
