import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { mapError } from './error-mapping';

/** Every HTTP error leaves as `{ statusCode, error, message }`: no stack, no SQL. */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpError');

  catch(err: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw err;
    const ctx = host.switchToHttp();
    sendError(ctx.getResponse<Response>(), err, this.logger, ctx.getRequest<Request>());
  }
}

export function sendError(res: Response, err: unknown, logger: Logger, req?: Request): void {
  const mapped = mapError(err);
  if (mapped.unexpected) {
    logger.error({ err, path: req?.originalUrl, method: req?.method }, (err as Error)?.message ?? 'unexpected error');
  } else if (mapped.body.statusCode >= 500) {
    logger.warn({ path: req?.originalUrl, reason: (err as Error)?.message }, mapped.body.message as string);
  }
  if (res.headersSent) {
    res.end();
    return;
  }
  for (const [k, v] of Object.entries(mapped.headers ?? {})) res.setHeader(k, v);
  res.status(mapped.body.statusCode).json(mapped.body);
}
