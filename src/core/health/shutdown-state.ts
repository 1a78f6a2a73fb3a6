import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';

/**
 * SIGTERM first turns /up to 503 `shutting_down` and keeps serving for
 * SHUTDOWN_DRAIN_MS, so the load balancer stops sending new clients here
 * before the listeners close.
 */
@Injectable()
export class ShutdownState implements BeforeApplicationShutdown {
  private readonly logger = new Logger(ShutdownState.name);
  private draining = false;

  constructor(private readonly config: AppConfig) {}

  get isShuttingDown(): boolean {
    return this.draining;
  }

  async beforeApplicationShutdown(signal?: string): Promise<void> {
    this.draining = true;
    const ms = this.config.http.shutdownDrainMs;
    this.logger.log({ signal, drainMs: ms }, 'shutting down: /up answers 503 while draining');
    if (ms > 0) await new Promise((r) => setTimeout(r, ms));
  }
}
