import type { NextFunction, Request, Response } from 'express';
import { httpRequestDuration } from './metrics';

/** http_request_duration_seconds by route template (bounded labels), recorded when the response ends. */
export function httpMetricsMiddleware(req: Request, res: Response, next: NextFunction): void {
  const end = httpRequestDuration.startTimer();
  res.once('finish', () => {
    const route = (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
    end({ method: req.method, route, status: String(res.statusCode) });
  });
  next();
}
