import { INestApplication, Inject, Injectable, Logger, NestMiddleware } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import cors from 'cors';
import { json, NextFunction, Request, RequestHandler, Response, urlencoded } from 'express';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { AppConfig } from '../config/app-config';
import { runInRequestContext } from '../core/database/request-context';
import { assertInputBounds, assertQueryBounds } from '../core/errors/input-bounds';
import { sendError } from '../core/errors/http-exception.filter';
import { assertSameSiteWrite } from '../core/http/cross-site';
import { closeConnectionsWhileDraining } from '../core/http/drain-connections';
import { ShutdownState } from '../core/health/shutdown-state';
import { MaintenanceMode } from '../core/maintenance/maintenance-mode';
import { httpRequestDuration } from '../core/metrics/metrics';
import { BatchedReads } from '../core/redis/batched-reads';
import type { RedisClient } from '../core/redis/redis.factory';
import { REDIS } from '../core/redis/redis.module';
import { Authenticator } from '../core/session/authenticator';
import { sessionMiddleware } from '../core/session/session.middleware';

declare module 'express-serve-static-core' {
  interface Request {
    /** nginx's X-Request-Id when it is a sane token, else a UUID of ours; echoed in the response. */
    requestId?: string;
  }
}

/** Paths that never need a session or a caller (probes and scrapes must not depend on Redis). */
const SESSIONLESS = /^\/(up|livez|metrics)(\/|\?|$)/;
/** Bearer clients have no use for a session, except on the auth routes (login, logout). */
const needsSession = (req: Request) =>
  !SESSIONLESS.test(req.originalUrl) && (!req.headers.authorization?.startsWith('Bearer ') || req.originalUrl.startsWith('/api/auth/'));

const REQUEST_ID = /^[\w.:-]{1,128}$/;
/** Probes and scrapes get no access line (they would drown the rest). */
const QUIET_PATHS = new Set(['/up', '/livez', '/metrics']);
const LOGS_REQUESTS = new Set(['info', 'debug', 'trace']);
/** body-parser's own test (type-is `hasBody`): without a body neither parser does anything, so neither is called. */
const hasBody = (req: Request) => req.headers['transfer-encoding'] !== undefined || !Number.isNaN(Number(req.headers['content-length']));

/**
 * Everything Express does for us before Nest's router, as one middleware (each
 * Express layer and each per-request closure showed up in bench/http): request
 * id, metrics and access line at the end of the response, CORS (from
 * CORS_ORIGIN, for requests with an Origin), body parsing (1 MB,
 * 400/413 in our error shape) only when there is a body, the Redis session only
 * for clients that use one, the caller (bearer token or session, with their
 * read-your-writes window: one batched Redis read) for the AuthGuard, then the
 * unit of work that scopes sticky database routing and the request's log
 * fields. Parsing, the session and the caller come before the unit of work
 * because their callbacks resume in the socket's or Redis' async context, not
 * in the unit's.
 */
export function requestPipeline(config: AppConfig, session: RequestHandler, authenticator: Authenticator): RequestHandler {
  const logger = new Logger('Http');
  // Response headers a browser's script may read besides the CORS-safelisted ones: the request id
  // to quote in a bug report, a replayed idempotent send, when to retry (429/503), and an SSE resume's
  // outcome for fetch-based clients (docs/clients.md).
  const allowOrigins = cors({
    origin: config.http.corsOrigins,
    credentials: true,
    exposedHeaders: ['X-Request-Id', 'Idempotent-Replayed', 'Retry-After', 'Last-Event-ID-Status'],
  });
  const parseJson = json({ limit: config.http.bodyLimitBytes });
  const parseForm = urlencoded({ extended: false, limit: config.http.bodyLimitBytes });
  const accessLog = LOGS_REQUESTS.has(config.log.level);

  const finished = (req: Request, res: Response, started: number) => {
    const seconds = (performance.now() - started) / 1000;
    const route = (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
    httpRequestDuration.observe({ method: req.method, route, status: String(res.statusCode) }, seconds);
    if (accessLog && !QUIET_PATHS.has(req.path)) {
      logger.log(
        {
          reqId: req.requestId,
          userId: req.principal?.id,
          ip: req.ip,
          req: { method: req.method, url: req.originalUrl },
          res: { statusCode: res.statusCode },
          responseTime: Math.round(seconds * 1000),
        },
        'request completed',
      );
    }
  };
  const identified = (req: Request, res: Response, next: NextFunction) => {
    if (SESSIONLESS.test(req.originalUrl)) return runInRequestContext(next, { requestId: req.requestId });
    authenticator.identify(req).then(
      (identity) => {
        if (identity) req.principal = identity.principal;
        try {
          assertSameSiteWrite(req, config.http.corsOrigins);
        } catch (err) {
          return sendError(res, err, logger, req);
        }
        if (!identity) return runInRequestContext(next, { requestId: req.requestId });
        runInRequestContext(next, { requestId: req.requestId, userId: String(identity.principal.id), userWithinWindow: identity.withinWindow });
      },
      (err: unknown) => sendError(res, err, logger, req),
    );
  };
  const withSession = (req: Request, res: Response, next: NextFunction) => {
    if (!needsSession(req)) return identified(req, res, next);
    authenticator.prefetch(req); // in the same MGET as the session's own read
    session(req, res, () => identified(req, res, next));
  };
  // The parsers call back from the socket's 'end' event: whatever throws there (a parser, the
  // bounds check, the session) would be an uncaught exception that ends the process, so every
  // callback of this stage answers the error instead.
  const guarded = (req: Request, res: Response, step: () => void) => {
    try {
      step();
    } catch (err) {
      sendError(res, err, logger, req);
    }
  };
  const afterCors = (req: Request, res: Response, next: NextFunction) => {
    assertQueryBounds(req.url);
    if (!hasBody(req)) return withSession(req, res, next);
    parseJson(req, res, (err?: unknown) =>
      guarded(req, res, () => (err ? afterBody(req, res, next, err) : parseForm(req, res, (e?: unknown) => guarded(req, res, () => afterBody(req, res, next, e))))),
    );
  };
  const afterBody = (req: Request, res: Response, next: NextFunction, err?: unknown) => {
    if (err) return sendError(res, err, logger, req);
    if (req.body !== undefined) assertInputBounds(req.body, 'Request body');
    withSession(req, res, next);
  };

  return (req: Request, res: Response, next: NextFunction) => {
    const started = performance.now();
    const incoming = req.headers['x-request-id'];
    req.requestId = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    res.setHeader('X-Request-Id', req.requestId);
    res.once('finish', () => finished(req, res, started));
    // CORS headers only mean something to a browser that sent an Origin (preflights included);
    // without one the answer only has to say it depends on it.
    if (req.headers.origin === undefined) {
      res.setHeader('Vary', 'Origin');
      return guarded(req, res, () => afterCors(req, res, next));
    }
    allowOrigins(req, res, () => guarded(req, res, () => afterCors(req, res, next)));
  };
}

/**
 * The request pipeline as Nest middleware, built by DI: ApiModule applies it
 * to every route (ApiModule.configure), so an app made from ApiModule alone
 * (Test.createTestingModule, NestFactory without main.ts) resolves callers as
 * the api process does and its AuthGuard works there too.
 */
@Injectable()
export class RequestPipeline implements NestMiddleware {
  private readonly handle: RequestHandler;

  constructor(config: AppConfig, @Inject(REDIS) redis: RedisClient, reads: BatchedReads, authenticator: Authenticator) {
    this.handle = requestPipeline(config, sessionMiddleware(config, redis, reads), authenticator);
  }

  use(req: Request, res: Response, next: NextFunction): void {
    void this.handle(req, res, next);
  }
}

/**
 * What the api process adds in front of every module's middleware: proxies,
 * the drain and maintenance gates (before anything else answers, /docs and
 * /login included).
 */
export function configureHttp(app: INestApplication, config: AppConfig): void {
  const express = app as NestExpressApplication;
  // req.ip (and req.secure, for the session cookie) resolve the client as sockets and SSE do (clientAddress).
  const trusted = config.http.trustedProxies;
  express.set('trust proxy', (addr: string) => trusted.trusts(addr));
  express.disable('x-powered-by');
  app.use(closeConnectionsWhileDraining(app.get(ShutdownState)));
  app.use(app.get(MaintenanceMode).httpGate());
}
