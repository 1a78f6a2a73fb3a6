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

/** How often one process refreshes a session it sees (its TTL in Redis, its cookie's expiry), and for how many at most. */
const REFRESH_EVERY_MS = 60_000;
const REFRESH_MEMORY = 50_000;
const SESSION_COOKIE_VALUE = new RegExp(`(?:^|;\\s*)${SESSION_COOKIE.replace(/\./g, '\\.')}=([^;]+)`);

/**
 * At most once per interval per key, in this process: the keys seen last are
 * remembered (bounded: when full it forgets them all, so a key comes due early
 * rather than never).
 */
export class OncePerKey {
  /** Key -> when it was last due. */
  private readonly last = new Map<string, number>();

  constructor(
    private readonly everyMs = REFRESH_EVERY_MS,
    private readonly memory = REFRESH_MEMORY,
  ) {}

  /** Whether the key is due now; counts it as done if so. */
  due(key: string, now = Date.now()): boolean {
    const last = this.last.get(key);
    if (last !== undefined && now - last < this.everyMs) return false;
    if (last === undefined && this.last.size >= this.memory) this.last.clear();
    this.last.set(key, now);
    return true;
  }

  /** Due again at once (a destroyed session). */
  forget(key: string): void {
    this.last.delete(key);
  }
}

/**
 * Sliding expiry (`rolling`) made express-session send an EXPIRE to Redis on
 * every request of every unchanged session. The TTL only needs refreshing
 * now and then: each process touches a session at most once a minute, which
 * moves its expiry by at most that minute. Sessions themselves stay in Redis.
 */
export class ThrottledTouchRedisStore extends RedisStore {
  private readonly touched = new OncePerKey();
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
    if (!this.touched.due(sid)) {
      cb?.();
      return;
    }
    if (sess.userId) await this.expireIndex(sess.userId).catch(() => undefined); // a missed refresh only narrows logout-all
    await super.touch(sid, sess, cb);
  }

  override async destroy(sid: string, cb?: (err?: unknown) => void): Promise<void> {
    this.touched.forget(sid);
    await super.destroy(sid, cb);
  }
}

/**
 * Sliding expiry (`rolling`) also made express-session sign and send the
 * cookie again on every response: an HMAC and a Set-Cookie header, 20–27 µs
 * of CPU per cookie request (bench/http/ablate.js `rollalways`, bench/RESULTS.md).
 * Each process now sends a session's cookie again at most once a minute, as
 * the store refreshes its TTL: a session still ends SESSION_TTL_SECONDS after
 * its last use, give or take that minute, in the browser as in Redis.
 */
export class CookieRefresh extends OncePerKey {
  /** The session cookie's value in a Cookie header, as the browser sent it (not verified: express-session does that). */
  static valueIn(cookieHeader: string | undefined): string | undefined {
    return cookieHeader ? SESSION_COOKIE_VALUE.exec(cookieHeader)?.[1] : undefined;
  }
}

/**
 * express-session in Redis (connect-redis): nothing about a session lives in
 * process memory, so any api process serves any request. A Redis failure is
 * a 503 for that request, not a hang and not a stack trace. Two handlers on
 * the same store, one with `rolling` (the cookie sent again with a fresh
 * expiry) for the requests CookieRefresh says are due, one without for the
 * rest; both send the cookie whenever the session changes (a login's new
 * session; logout clears it itself).
 */
export function sessionMiddleware(config: AppConfig, redis: RedisClient, reads: BatchedReads): RequestHandler {
  const logger = new Logger('Session');
  const options: session.SessionOptions = {
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
    proxy: true,
    cookie: {
      httpOnly: true,
      sameSite: 'lax',
      secure: config.isProduction ? 'auto' : false,
      maxAge: config.auth.sessionTtlSeconds * 1000,
    },
  };
  // Each handler sets the shared store's generate() to its own closure over the same options: either makes the same sessions.
  const rolling = session({ ...options, rolling: true });
  const steady = session({ ...options, rolling: false });
  const refresh = new CookieRefresh();
  return (req: Request, res: Response, next: NextFunction) => {
    const cookie = CookieRefresh.valueIn(req.headers.cookie);
    const handler = cookie !== undefined && refresh.due(cookie) ? rolling : steady;
    handler(req, res, (err?: unknown) => {
      if (err) {
        sendError(res, new UnavailableError('Session store unavailable'), logger, req);
        return;
      }
      next();
    });
  };
}
