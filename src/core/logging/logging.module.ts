import { DynamicModule, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { AppConfig } from '../../config/app-config';
import { currentRequestContext } from '../database/request-context';

/** The request's id and user on every line written within a unit of work (HTTP request, socket event, job). */
function requestContextFields(): { reqId?: string; userId?: string } {
  const unit = currentRequestContext();
  if (!unit) return {};
  return unit.requestId === undefined ? (unit.userId === undefined ? {} : { userId: unit.userId }) : { reqId: unit.requestId, userId: unit.userId };
}

/**
 * Structured JSON logs, one line per event, with the request id (nginx's
 * X-Request-Id when present) and the user id. `toStderr` keeps stdout of
 * CLI commands for their own output.
 *
 * nestjs-pino supplies Nest's logger; its per-request pino-http middleware is
 * not mounted (`forRoutes: []`): a child logger and a second
 * AsyncLocalStorage per request cost about a fifth of a request's CPU
 * (bench/RESULTS.md). The request context comes from the unit of work through
 * pino's `mixin`, and the access line from app/http-setup.ts.
 */
@Module({})
export class LoggingModule {
  static forRoot(opts: { toStderr?: boolean } = {}): DynamicModule {
    return {
      module: LoggingModule,
      imports: [
        LoggerModule.forRootAsync({
          inject: [AppConfig],
          useFactory: (config: AppConfig) => ({
            forRoutes: [],
            pinoHttp: {
              level: config.log.level,
              base: { pid: process.pid, instance: config.instanceId },
              stream: opts.toStderr ? process.stderr : undefined,
              mixin: requestContextFields,
              redact: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]'],
            },
          }),
        }),
      ],
    };
  }
}
