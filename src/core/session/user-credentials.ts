import { Inject, Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import type { UserRole } from './roles';
import { REDIS } from '../redis/redis.module';
import type { RedisClient } from '../redis/redis.factory';
import { Tokens } from './tokens';

/** Where a user's live sessions are listed (one Redis set per user), for logout-all. */
export function userSessionsKey(redisPrefix: string, userId: number | string): string {
  return `${redisPrefix}auth:sessions:${userId}`;
}

/**
 * Every credential a user holds, so that one request can revoke them all
 * (`POST /api/auth/logout-all`, Laravel's logoutOtherDevices). JWTs are
 * stateless and connect-redis does not index sessions by user, so both are
 * listed per user when they are made: tokens in a sorted set scored by expiry
 * (expired ones pruned on every issue), sessions in a set whose TTL is
 * refreshed with theirs (ThrottledTouchRedisStore), so the list outlives every
 * session in it. Tokens issued before this list existed are not in it; they
 * expire within JWT_TTL_SECONDS.
 */
@Injectable()
export class UserCredentials {
  private readonly prefix: string;

  constructor(
    private readonly tokens: Tokens,
    private readonly config: AppConfig,
    @Inject(REDIS) private readonly redis: RedisClient,
  ) {
    this.prefix = config.redis.prefix;
  }

  private tokensKey(userId: number): string {
    return `${this.prefix}auth:tokens:${userId}`;
  }

  private sessionKey(sid: string): string {
    return `${this.prefix}sess:${sid}`;
  }

  /** Issues a bearer token and lists it; a token that could not be listed is not handed out. */
  async issueToken(userId: number, role: UserRole): Promise<{ token: string; expiresIn: number }> {
    const issued = await this.tokens.issue(userId, role);
    const claims = this.tokens.claimsOf(issued.token);
    if (!claims) throw new Error('a token just issued did not verify');
    const key = this.tokensKey(userId);
    const now = Math.floor(Date.now() / 1000);
    // One key per command: on a Redis Cluster the user's keys may sit in different slots.
    await Promise.all([
      this.redis.zadd(key, claims.exp, claims.jti),
      this.redis.zremrangebyscore(key, '-inf', now),
      this.redis.expire(key, this.config.auth.jwtTtlSeconds + 60),
    ]);
    return issued;
  }

  async sessionStarted(userId: number, sid: string): Promise<void> {
    const key = userSessionsKey(this.prefix, userId);
    await Promise.all([this.redis.sadd(key, sid), this.redis.expire(key, this.config.auth.sessionTtlSeconds)]);
  }

  async sessionEnded(userId: number, sid: string): Promise<void> {
    await this.redis.srem(userSessionsKey(this.prefix, userId), sid);
  }

  /**
   * Revokes every listed token and deletes every listed session of the user,
   * and says how many of each (for the log). The caller ends the user's live
   * connections, all of them at once.
   */
  async revokeAll(userId: number): Promise<{ tokens: number; sessions: number }> {
    const tokensKey = this.tokensKey(userId);
    const sessionsKey = userSessionsKey(this.prefix, userId);
    const now = Math.floor(Date.now() / 1000);
    const [live, sids] = await Promise.all([this.redis.zrangebyscore(tokensKey, now + 1, '+inf', 'WITHSCORES'), this.redis.smembers(sessionsKey)]);
    const writes: Promise<unknown>[] = [];
    let tokens = 0;
    for (let i = 0; i + 1 < live.length; i += 2) {
      writes.push(this.tokens.revokeId(live[i], Number(live[i + 1])));
      tokens++;
    }
    for (const sid of sids) writes.push(this.redis.del(this.sessionKey(sid)));
    writes.push(this.redis.del(tokensKey), this.redis.del(sessionsKey));
    await Promise.all(writes);
    return { tokens, sessions: sids.length };
  }
}
