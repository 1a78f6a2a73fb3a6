import { BeforeApplicationShutdown, Injectable, Logger, Optional } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { Server } from 'node:net';
import { AppConfig } from '../../config/app-config';

/** After the drain, how long connections already accepted get to deliver their request before the close. */
export const ACCEPT_STOP_GRACE_MS = 1000;

/**
 * SIGTERM first turns /up to 503 `shutting_down` and keeps serving for
 * SHUTDOWN_DRAIN_MS, so the load balancer stops sending new clients here
 * before the listeners close.
 *
 * Then the listener stops accepting, and only a second later does the HTTP server close (Nest's own
 * close, which ends idle connections). Closing at once dropped a request that nginx had just sent on a
 * connection the process had accepted but not yet read: Node counts such a connection as idle and ends
 * it, nginx saw `recv() failed (104: Connection reset by peer)` and does not resend a POST (a 5xx to the
 * client in the rolling-deploy drill; with `fail_timeout=2s` nginx tries a draining process again every
 * 2 s, writes included). A connect refused by the stopped listener is resent by nginx for any method.
 */
@Injectable()
export class ShutdownState implements BeforeApplicationShutdown {
  private readonly logger = new Logger(ShutdownState.name);
  private draining = false;

  constructor(
    private readonly config: AppConfig,
    @Optional() private readonly adapterHost?: HttpAdapterHost,
  ) {}

  get isShuttingDown(): boolean {
    return this.draining;
  }

  async beforeApplicationShutdown(signal?: string): Promise<void> {
    this.draining = true;
    const ms = this.config.http.shutdownDrainMs;
    this.logger.log({ signal, drainMs: ms }, 'shutting down: /up answers 503 while draining');
    if (ms <= 0) return;
    await new Promise((r) => setTimeout(r, ms));
    if (stopAccepting(this.adapterHost?.httpAdapter?.getHttpServer())) await new Promise((r) => setTimeout(r, ACCEPT_STOP_GRACE_MS));
  }
}

/**
 * Stops a listening server from accepting connections and leaves the ones it has alone (net.Server's
 * close; http.Server's own close also ends every idle connection). Its later close() still ends them and
 * calls back once all are gone. False when there is no listening server (a CLI or worker process).
 */
export function stopAccepting(server: unknown): boolean {
  if (!(server instanceof Server) || !server.listening) return false;
  Server.prototype.close.call(server);
  return true;
}
