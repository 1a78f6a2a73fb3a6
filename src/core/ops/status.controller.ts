import { Controller, Get, Header, Logger, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { Roles } from '../session/auth.decorators';
import { StatusSnapshots } from './status-snapshot';
import { STATUS_PAGE } from './status.page';

export const STATUS_INTERVAL_MS = 2000;

/** GET /status (the page) and GET /api/performance/stream (its SSE feed). Admins only. */
@Controller()
export class StatusController {
  private readonly logger = new Logger(StatusController.name);

  constructor(private readonly snapshots: StatusSnapshots) {}

  @Roles('admin')
  @Get('status')
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Cache-Control', 'no-store')
  page(): string {
    return STATUS_PAGE;
  }

  /** One `status` event now and every STATUS_INTERVAL_MS while the client stays. */
  @Roles('admin')
  @Get('api/performance/stream')
  stream(@Req() req: Request, @Res() res: Response): void {
    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream');
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();
    res.write(`retry: ${STATUS_INTERVAL_MS}\n\n`);
    let seq = 0;
    let busy = false;
    const send = async () => {
      if (busy) return;
      busy = true;
      try {
        const snapshot = await this.snapshots.take();
        res.write(`id: ${++seq}\nevent: status\ndata: ${JSON.stringify(snapshot)}\n\n`);
      } catch (err) {
        this.logger.warn({ err: (err as Error).message }, 'status snapshot failed');
        res.write(': snapshot unavailable\n\n');
      } finally {
        busy = false;
      }
    };
    void send();
    const timer = setInterval(() => void send(), STATUS_INTERVAL_MS);
    req.on('close', () => clearInterval(timer));
  }
}
