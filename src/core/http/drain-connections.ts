import type { NextFunction, Request, Response } from 'express';
import type { ShutdownState } from '../health/shutdown-state';

/** Probes and scrapes answer for themselves while draining (/up says shutting_down, /livez stays 200). */
const ANSWERED_WHILE_DRAINING = new Set(['/up', '/livez', '/metrics']);

/**
 * While the process drains after SIGTERM (SHUTDOWN_DRAIN_MS), nginx must stop choosing it before
 * its listener closes: a POST sent on a connection the closing process drops is not retried (not
 * idempotent) and reaches the client as a 5xx — the rolling-deploy drill counted them
 * (drills/RESULTS.md). nginx has only passive health checks, so:
 *   - every response asks nginx to close its connection, so none is left idle to be reused at the close;
 *   - reads (GET/HEAD) are answered 503: nginx resends them to another process (proxy_next_upstream
 *     http_503) and counts a failure, so after max_fails it sends nothing here, writes included.
 * Writes that still arrive are served normally.
 */
export function closeConnectionsWhileDraining(shutdown: ShutdownState) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!shutdown.isShuttingDown) return next();
    res.setHeader('Connection', 'close');
    if ((req.method === 'GET' || req.method === 'HEAD') && !ANSWERED_WHILE_DRAINING.has(req.path)) {
      res.setHeader('Retry-After', '1');
      res.status(503).json({ statusCode: 503, error: 'Service Unavailable', message: 'This process is shutting down' });
      return;
    }
    next();
  };
}
