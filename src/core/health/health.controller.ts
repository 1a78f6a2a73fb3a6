import { Controller, Get, Res, ServiceUnavailableException } from '@nestjs/common';
import { HealthCheckResult, HealthCheckService } from '@nestjs/terminus';
import type { Response } from 'express';
import { Public } from '../session/auth.decorators';
import { DependencyIndicators } from './health.indicators';
import { ShutdownState } from './shutdown-state';

/**
 * `/up` (Laravel's name) is readiness for load balancers; `/livez` only says
 * the event loop answers. A replica being down is reported but does not fail
 * /up: reads fall back to the primary and the process keeps serving.
 */
@Controller()
export class HealthController {
  private inFlight?: Promise<{ status: number; json: string }>;

  constructor(
    private readonly health: HealthCheckService,
    private readonly deps: DependencyIndicators,
    private readonly shutdown: ShutdownState,
  ) {}

  @Public()
  @Get('up')
  async up(@Res() res: Response): Promise<void> {
    res.setHeader('Cache-Control', 'no-store');
    if (this.shutdown.isShuttingDown) {
      res.status(503).json({
        status: 'shutting_down',
        info: {},
        error: { shutting_down: { status: 'down', message: 'process is draining after SIGTERM' } },
      });
      return;
    }
    const report = await (this.inFlight ??= this.check().finally(() => (this.inFlight = undefined)));
    res.status(report.status).type('json').send(report.json);
  }

  /**
   * One round of checks, shared by every /up request that arrives while it
   * runs: a storm of probes (load balancers, k8s, monitoring) costs one
   * SELECT 1 and one PING at a time, and an answer is never older than the
   * round in flight when the request came in.
   */
  private async check(): Promise<{ status: number; json: string }> {
    let result: HealthCheckResult;
    try {
      result = await this.health.check([() => this.deps.databaseWrite(), () => this.deps.redisPing()]);
    } catch (err) {
      if (!(err instanceof ServiceUnavailableException)) throw err;
      result = err.getResponse() as HealthCheckResult;
    }
    const read = this.deps.databaseRead();
    const readUp = read.database_read.status === 'up';
    // A replica down is reported but keeps 200: reads fall back to the primary.
    const body = {
      status: result.status === 'ok' && !readUp ? 'degraded' : result.status,
      info: { ...result.info, ...(readUp ? read : {}) },
      error: { ...result.error, ...(readUp ? {} : read) },
      details: { ...result.details, ...read },
    };
    return { status: result.status === 'ok' ? 200 : 503, json: JSON.stringify(body) };
  }

  /**
   * Seed 002's `/api/health`, in its shape: 200 `{status:"healthy", timestamp,
   * services:{database, redis}}`, 503 `{status:"unhealthy", timestamp, error}`.
   * The same checks as /up (and the same round in flight).
   */
  @Public()
  @Get('api/health')
  async apiHealth(@Res() res: Response): Promise<void> {
    res.setHeader('Cache-Control', 'no-store');
    const timestamp = new Date().toISOString();
    if (this.shutdown.isShuttingDown) {
      res.status(503).json({ status: 'unhealthy', timestamp, error: 'shutting_down', services: { database: 'unknown', redis: 'unknown' } });
      return;
    }
    const report = await (this.inFlight ??= this.check().finally(() => (this.inFlight = undefined)));
    const details = (JSON.parse(report.json) as { details?: Record<string, { status?: string }> }).details ?? {};
    const up = (key: string) => (details[key]?.status === 'up' ? 'up' : 'down');
    const services = { database: up('database_write'), database_read: up('database_read'), redis: up('redis') };
    if (report.status === 200) {
      res.status(200).json({ status: 'healthy', timestamp, services });
      return;
    }
    const down = Object.entries(services).filter(([name, state]) => state === 'down' && name !== 'database_read').map(([name]) => name);
    res.status(503).json({ status: 'unhealthy', timestamp, error: `${down.join(', ') || 'a dependency'} down`, services });
  }

  @Public()
  @Get('livez')
  livez(): { status: 'ok'; uptimeSeconds: number } {
    return { status: 'ok', uptimeSeconds: Math.round(process.uptime()) };
  }
}
