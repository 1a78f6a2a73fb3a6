import { Logger } from '@nestjs/common';
import { RedisStore } from 'connect-redis';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import session from 'express-session';
import { AppConfig } from '../../config/app-config';
import { UnavailableError } from '../errors/domain-error';
import { sendError } from '../errors/http-exception.filter';
import type { BatchedReads } from '../redis/batched-reads';
import type { RedisClient } from '../redis/redis.factory';
import { SESSION_COOKIE, sessionIdFor } from './session-cookie';
import { userSessionsKey } from './user-credentials';

export { SESSION_COOKIE } from './session-cookie';

/** How often one process refreshes an unchanged session's TTL in Redis. */
const TOUCH_EVERY_MS = 60_000;
const TOUCH_MEMORY = 50_000;

/**
 * Sliding expiry (`rolling`) made express-session send an EXPIRE to Redis on
 * every request of every unchanged session. The TTL only needs refreshing
 * now and then: each process touches a session at most once a minute, which
 * moves its expiry by at most that minute. Sessions themselves stay in Redis.
 */
export class ThrottledTouchRedisStore extends RedisStore {
  private readonly touched = new Map<string, number>();
  private readonly expireIndex: (userId: number) => Promise<unknown>;

  /**
   * Session loads go out with other requests' reads in one MGET (BatchedReads); writes go straight to Redis.
   * `userIndexKey`: the user's list of sessions (UserCredentials), refreshed with each session so it outlives them.
   */
  constructor(opts: { client: RedisClient; reads: BatchedReads; prefix: string; ttl: number; userIndexKey?: (userId: number) => string }) {
    const { client, reads, userIndexKey } = opts;
    super({
      ...opts,
      client: {
        get: (key: string) => reads.get(key),
        set: (...args: Parameters<RedisClient['set']>) => client.set(...args),
        del: (key: string) => client.del(key),
        expire: (key: string, seconds: number) => client.expire(key, seconds),
        mget: (keys: string[]) => client.mget(keys),
        scan: (...args: Parameters<RedisClient['scan']>) => client.scan(...args),
      },
    });
    this.expireIndex = (userId) => (userIndexKey ? client.expire(userIndexKey(userId), opts.ttl) : Promise.resolve());
  }

  override async touch(sid: string, sess: session.SessionData, cb?: (err?: unknown) => void): Promise<void> {
    const now = Date.now();
    const last = this.touched.get(sid);
    if (last !== undefined && now - last < TOUCH_EVERY_MS) {
      cb?.();
      return;
    }
    if (this.touched.size >= TOUCH_MEMORY) this.touched.clear();
    this.touched.set(sid, now);
    if (sess.userId) await this.expireIndex(sess.userId).catch(() => undefined); // a missed refresh only narrows logout-all
    await super.touch(sid, sess, cb);
  }

  override async destroy(sid: string, cb?: (err?: unknown) => void): Promise<void> {
    this.touched.delete(sid);
    await super.destroy(sid, cb);
  }
}

/**
 * express-session in Redis (connect-redis): nothing about a session lives in
 * process memory, so any api process serves any request. A Redis failure is
 * a 503 for that request, not a hang and not a stack trace.
 */
export function sessionMiddleware(config: AppConfig, redis: RedisClient, reads: BatchedReads): RequestHandler {
  const logger = new Logger('Session');
  const handler = session({
    name: SESSION_COOKIE,
    genid: sessionIdFor,
    secret: config.auth.sessionSecret,
    store: new ThrottledTouchRedisStore({
      client: redis,
      reads,
      prefix: `${config.redis.prefix}sess:`,
      ttl: config.auth.sessionTtlSeconds,
      userIndexKey: (userId) => userSessionsKey(config.redis.prefix, userId),
    }),
    resave: false,
    saveUninitialized: false,
    rolling: true,
    proxy: true,
    cookie: {
      httpOnly: true,
      sameSite: 'lax',
      secure: config.isProduction ? 'auto' : false,
      maxAge: config.auth.sessionTtlSeconds * 1000,
    },
  });
  return (req: Request, res: Response, next: NextFunction) => {
    handler(req, res, (err?: unknown) => {
      if (err) {
        sendError(res, new UnavailableError('Session store unavailable'), logger, req);
        return;
      }
      next();
    });
  };
}
