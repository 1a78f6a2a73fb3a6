import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Socket } from 'socket.io';
import { AppConfig } from '../../config/app-config';
import { maintenanceKey } from '../queue/queue.keys';
import type { RedisClient } from '../redis/redis.factory';
import { REDIS } from '../redis/redis.module';
import { BYPASS_COOKIE, BYPASS_TTL_S, bypassCookieValue, MaintenanceState, parseState, readBypassCookie, validBypass } from './maintenance-state';

/** Load balancers and Prometheus must keep every instance while the application is down. */
const ALWAYS_OPEN = /^\/(up|livez|metrics)(\/|\?|$)/;
const POLL_MS = 1000;
const MESSAGE = 'Service unavailable: down for maintenance';

/**
 * Maintenance mode on an api process: the state `bin/switchboard down` wrote to Redis, read every
 * second (one GET per process, never per request), so every process of the cluster follows within
 * a second and a restarted one starts in the same state. While down: HTTP answers 503 in the error
 * shape with Retry-After (and Refresh), except /up, /livez, /metrics and holders of the bypass
 * cookie; new sockets are refused with `maintenance`.
 */
@Injectable()
export class MaintenanceMode implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('MaintenanceMode');
  private state: MaintenanceState | null = null;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly config: AppConfig,
    @Inject(REDIS) private readonly redis: RedisClient,
  ) {}

  get current(): MaintenanceState | null {
    return this.state;
  }

  async onModuleInit(): Promise<void> {
    await this.poll();
    this.timer = setInterval(() => void this.poll(), POLL_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  private async poll(): Promise<void> {
    try {
      const next = parseState(await this.redis.get(maintenanceKey(this.config.redis.prefix)));
      if ((next === null) !== (this.state === null)) this.logger.warn({ down: next !== null }, next ? 'maintenance mode: down' : 'maintenance mode: up');
      this.state = next;
    } catch {
      // Redis away: keep the last known state (/up reports Redis itself).
    }
  }

  httpGate(): RequestHandler {
    return (req: Request, res: Response, next: NextFunction) => {
      const state = this.state;
      if (!state || ALWAYS_OPEN.test(req.originalUrl)) return next();
      if (state.secret && req.method === 'GET' && req.path === `/${state.secret}`) {
        const secure = req.secure ? '; Secure' : '';
        res.setHeader('Set-Cookie', `${BYPASS_COOKIE}=${bypassCookieValue(state.secret)}; Max-Age=${BYPASS_TTL_S}; Path=/; HttpOnly; SameSite=Lax${secure}`);
        res.redirect(302, '/');
        return;
      }
      if (state.secret && validBypass(state.secret, readBypassCookie(req.headers.cookie))) return next();
      if (state.retry !== undefined) res.setHeader('Retry-After', String(state.retry));
      if (state.refresh !== undefined) res.setHeader('Refresh', String(state.refresh));
      res.status(503).json({ statusCode: 503, error: 'Service Unavailable', message: MESSAGE });
    };
  }

  /** Socket.IO middleware for every namespace: refused with `maintenance` unless the handshake carries the bypass cookie. */
  socketGate(): (socket: Socket, next: (err?: Error) => void) => void {
    return (socket, next) => {
      const state = this.state;
      if (!state || (state.secret && validBypass(state.secret, readBypassCookie(socket.handshake.headers.cookie)))) return next();
      next(Object.assign(new Error('maintenance'), { data: { code: 'maintenance', message: MESSAGE, retryAfter: state.retry ?? null } }));
    };
  }
}
