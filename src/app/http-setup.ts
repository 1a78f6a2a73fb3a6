import { INestApplication, Logger } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { json, NextFunction, Request, RequestHandler, Response, urlencoded } from 'express';
import { AppConfig } from '../config/app-config';
import { runUnitOfWork } from '../core/database/unit-of-work';
import { BadRequestError } from '../core/errors/domain-error';
import { sendError } from '../core/errors/http-exception.filter';
import { httpMetricsMiddleware } from '../core/metrics/http-metrics.middleware';
import type { RedisClient } from '../core/redis/redis.factory';
import { REDIS } from '../core/redis/redis.module';
import { sessionMiddleware } from '../core/session/session.middleware';

/** Paths that never need a session (probes and scrapes must not depend on Redis). */
const SESSIONLESS = /^\/(up|livez|metrics)(\/|\?|$)/;
/** Bearer clients have no use for a session, except on the auth routes (login, logout). */
const needsSession = (req: Request) =>
  !SESSIONLESS.test(req.originalUrl) && (!req.headers.authorization?.startsWith('Bearer ') || req.originalUrl.startsWith('/api/auth/'));

const MAX_BODY_DEPTH = 32;

/** Nesting depth of a parsed body, stopping once past `limit` (class-transformer recurses and overflows the stack on deep input). */
export function depthExceeds(value: unknown, limit: number): boolean {
  let level: unknown[] = [value];
  for (let depth = 0; level.length; depth++) {
    if (depth > limit) return true;
    const next: unknown[] = [];
    for (const v of level) if (v && typeof v === 'object') next.push(...Object.values(v));
    level = next;
  }
  return false;
}

function guarded(handler: RequestHandler, logger: Logger): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) =>
    handler(req, res, (err?: unknown) => (err ? sendError(res, err, logger, req) : next()));
}

/**
 * Express-level pipeline, in this order: metrics timer, body parsing (1 MB,
 * 400/413 in our error shape), the Redis session, then the unit of work that
 * scopes sticky database routing to this request. Parsing comes before the
 * unit of work because body-parser resumes in the socket's async context.
 */
export function configureHttp(app: INestApplication, config: AppConfig): void {
  const logger = new Logger('Http');
  const express = app as NestExpressApplication;
  express.set('trust proxy', 'loopback, linklocal, uniquelocal');
  express.disable('x-powered-by');
  app.enableCors({ origin: config.http.corsOrigins, credentials: true });
  const session = sessionMiddleware(config, app.get<RedisClient>(REDIS));
  app.use(httpMetricsMiddleware);
  app.use(guarded(json({ limit: config.http.bodyLimitBytes }), logger));
  app.use(guarded(urlencoded({ extended: false, limit: config.http.bodyLimitBytes }), logger));
  app.use((req: Request, res: Response, next: NextFunction) =>
    depthExceeds(req.body, MAX_BODY_DEPTH)
      ? sendError(res, new BadRequestError(`Request body is nested deeper than ${MAX_BODY_DEPTH} levels`), logger, req)
      : next(),
  );
  app.use((req: Request, res: Response, next: NextFunction) => (needsSession(req) ? session(req, res, next) : next()));
  app.use((_req: Request, _res: Response, next: NextFunction) => runUnitOfWork(() => next()));
}
