import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DynamicModule, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { AppConfig } from '../../config/app-config';

const QUIET_PATHS = new Set(['/up', '/livez', '/metrics']);
const LOGS_REQUESTS = new Set(['info', 'debug', 'trace']);
const userIdOf = (req: IncomingMessage) => (req as { principal?: { id: number } }).principal?.id;

/**
 * Structured JSON logs, one line per event, with the request id (nginx's
 * X-Request-Id when present) and the user id. `toStderr` keeps stdout of
 * CLI commands for their own output.
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
            pinoHttp: {
              level: config.log.level,
              base: { pid: process.pid, instance: config.instanceId },
              stream: opts.toStderr ? process.stderr : undefined,
              genReqId: (req: IncomingMessage, res: ServerResponse) => {
                const incoming = req.headers['x-request-id'];
                const id = typeof incoming === 'string' && /^[\w.:-]{1,128}$/.test(incoming) ? incoming : randomUUID();
                res.setHeader('X-Request-Id', id);
                return id;
              },
              // Only on the completion line (customProps would run on every request, twice).
              customSuccessObject: (req: IncomingMessage, _res: ServerResponse, val: object) => ({ ...val, userId: userIdOf(req) }),
              customErrorObject: (req: IncomingMessage, _res: ServerResponse, _err: Error, val: object) => ({ ...val, userId: userIdOf(req) }),
              // The request line is written at info: above that, skip the per-request work entirely.
              autoLogging: LOGS_REQUESTS.has(config.log.level)
                ? { ignore: (req: IncomingMessage) => QUIET_PATHS.has((req.url ?? '').split('?')[0]) }
                : false,
              redact: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]'],
              serializers: {
                req: (req: { id: unknown; method: string; url: string }) => ({ id: req.id, method: req.method, url: req.url }),
                res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
              },
            },
          }),
        }),
      ],
    };
  }
}
