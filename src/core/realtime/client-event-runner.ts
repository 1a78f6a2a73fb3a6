import { Inject, Injectable, Logger } from '@nestjs/common';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Socket } from 'socket.io';
import { AppConfig } from '../../config/app-config';
import { StickyWindow } from '../database/sticky-window';
import { currentRequestContext, runInRequestContext } from '../database/request-context';
import { mapError } from '../errors/error-mapping';
import { DomainError, ErrorCode, RateLimitedError, UnauthorizedError } from '../errors/domain-error';
import { socketMessagesTotal } from '../metrics/metrics';
import { REDIS_PER_TURN } from '../redis/redis.module';
import type { RedisClient } from '../redis/redis.factory';
import type { Principal } from '../session/principal';
import { InFlightEvents } from './in-flight-events';
import type { AppSocket } from './socket-state';

export type Ack<T extends object = object> = ({ ok: true } & T) | { ok: false; error: ErrorCode; message: string; retryAfterMs?: number };

/** Per-user limits apply to each class separately (SPEC §3 RATE_LIMIT_*). */
export type EventClass = 'auth' | 'rooms' | 'message' | 'typing';
export const EVENT_CLASSES: EventClass[] = ['auth', 'rooms', 'message', 'typing'];

/** What the runner needs of a rate limiter (rate-limiter-flexible's consume: rejects with RateLimiterRes when over). */
export interface EventLimiter {
  consume(key: string): Promise<unknown>;
}
export const EVENT_LIMITERS = Symbol('EVENT_LIMITERS');

/**
 * One RateLimiterRedis per event class, RATE_LIMIT_POINTS per RATE_LIMIT_DURATION_S, on the
 * connection without auto-pipelining (REDIS_PER_TURN): a client event's one script call built an
 * ioredis Pipeline of its own on the shared connection.
 */
export const eventLimitersProvider = {
  provide: EVENT_LIMITERS,
  inject: [REDIS_PER_TURN, AppConfig],
  useFactory: (redis: RedisClient, config: AppConfig): Map<EventClass, EventLimiter> =>
    new Map(
      EVENT_CLASSES.map((cls) => [
        cls,
        new RateLimiterRedis({ storeClient: redis, keyPrefix: `${config.redis.prefix}rl:ws:${cls}`, points: config.realtime.rateLimitPoints, duration: config.realtime.rateLimitDurationS }),
      ]),
    ),
};

/**
 * The one wrapper for client events: metrics, authentication, per-user rate
 * limit of the event class, a unit of work for sticky reads, and an ack that
 * is always `{ok:true,...}` or `{ok:false,error,message}` (never a crash).
 * Events in flight are tracked so SIGTERM waits for their acks.
 */
@Injectable()
export class ClientEventRunner {
  private readonly logger = new Logger('Sockets');
  /** Client events whose ack is not sent yet; the server waits for them before closing sockets on SIGTERM. */
  readonly inFlight = new InFlightEvents();

  constructor(
    @Inject(EVENT_LIMITERS) private readonly limiters: Map<EventClass, EventLimiter>,
    private readonly sticky: StickyWindow,
  ) {}

  handle<T extends object>(raw: Socket, event: string, cls: EventClass, fn: (user: Principal) => Promise<T>, opts: { public?: boolean } = {}): Promise<Ack<T>> {
    return this.inFlight.track(this.run(raw, event, cls, fn, opts));
  }

  private async run<T extends object>(raw: Socket, event: string, cls: EventClass, fn: (user: Principal) => Promise<T>, opts: { public?: boolean }): Promise<Ack<T>> {
    const socket = raw as AppSocket;
    socketMessagesTotal.inc({ namespace: socket.nsp.name, event, direction: 'in' });
    try {
      const user = socket.data.principal;
      if (!user && !opts.public) throw new UnauthorizedError('Authenticate first');
      await this.consume(cls, user ? `u${user.id}` : `ip${socket.data.ip}`);
      const result = await runInRequestContext(
        async () => {
          const unit = currentRequestContext();
          if (unit && user) unit.userWithinWindow = await this.sticky.isWithin(String(user.id));
          return fn(user as Principal);
        },
        { userId: user ? String(user.id) : undefined },
      );
      return { ok: true, ...result };
    } catch (err) {
      return this.toAck(err, socket, event);
    }
  }

  private toAck(err: unknown, socket: Socket, event: string): Ack<never> {
    if (err instanceof RateLimitedError) return { ok: false, error: 'rate_limited', message: err.message, retryAfterMs: err.retryAfterMs };
    if (err instanceof DomainError) return { ok: false, error: err.code, message: err.message };
    // Redis or the database gone for a moment (HTTP answers 503): a code the client can retry on, not `internal`.
    const mapped = mapError(err);
    if (mapped.body.statusCode === 503) return { ok: false, error: 'unavailable', message: String(mapped.body.message) };
    this.logger.error({ err, event, socketId: socket.id }, 'socket event failed');
    return { ok: false, error: 'internal', message: 'Internal error' };
  }

  private async consume(cls: EventClass, key: string): Promise<void> {
    try {
      await (this.limiters.get(cls) as EventLimiter).consume(key);
    } catch (err) {
      if (err instanceof RateLimiterRes) throw new RateLimitedError(err.msBeforeNext);
      throw err;
    }
  }
}
