import { Logger } from '@nestjs/common';
import { RedisStore } from 'connect-redis';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import session from 'express-session';
import { AppConfig } from '../../config/app-config';
import { UnavailableError } from '../errors/domain-error';
import { sendError } from '../errors/http-exception.filter';
import type { RedisClient } from '../redis/redis.factory';

export const SESSION_COOKIE = 'switchboard.sid';

/**
 * express-session in Redis (connect-redis): nothing about a session lives in
 * process memory, so any api process serves any request. A Redis failure is
 * a 503 for that request, not a hang and not a stack trace.
 */
export function sessionMiddleware(config: AppConfig, redis: RedisClient): RequestHandler {
  const logger = new Logger('Session');
  const handler = session({
    name: SESSION_COOKIE,
    secret: config.auth.sessionSecret,
    store: new RedisStore({ client: redis, prefix: `${config.redis.prefix}sess:`, ttl: config.auth.sessionTtlSeconds }),
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
