import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import type { Server as HttpServer } from 'node:http';
import { Server as NetServer } from 'node:net';
import { AppConfig } from '../../config/app-config';
import { OpenHttpConnections } from '../http/drain-connections';

/**
 * After the listener stops, how long the connections nginx still holds get to end by themselves before
 * Nest closes the server (which ends every idle one at once). Longer than nginx's upstream
 * keepalive_timeout (4 s, nginx/templates/switchboard.conf.template), after which nginx has closed
 * every connection it was not using; under traffic they end sooner, each after its next response.
 */
export const IDLE_CONNECTIONS_WAIT_MS = 6000;

/**
 * SIGTERM, in two phases before Nest closes the listeners and sockets:
 *  1. draining, SHUTDOWN_DRAIN_MS: /up answers 503 `shutting_down`, so a load balancer that checks it
 *     stops sending new clients here; socket handshakes and SSE streams are refused (nginx sends them
 *     on); everything else is served as usual, on connections kept alive.
 *  2. closing: the listener stops accepting — nginx's connect is refused and it resends the request to
 *     another process, POSTs included (nothing was sent) — and every response says `Connection: close`,
 *     until no idle connection is left (at most IDLE_CONNECTIONS_WAIT_MS).
 * Only then may the HTTP server close without ending a connection that a request is on its way on:
 * the rolling-deploy drill lost a POST that way (drills/RESULTS.md, the POST reset at exit).
 * With SHUTDOWN_DRAIN_MS=0 (tests, a platform that drains) neither phase waits.
 */
@Injectable()
export class ShutdownState implements BeforeApplicationShutdown {
  private readonly logger = new Logger(ShutdownState.name);
  private phase: 'serving' | 'draining' | 'closing' = 'serving';
  private server?: HttpServer;
  private readonly connections = new OpenHttpConnections();

  constructor(private readonly config: AppConfig) {}

  get isShuttingDown(): boolean {
    return this.phase !== 'serving';
  }

  /** The listener has stopped: responses close their connections. */
  get isClosing(): boolean {
    return this.phase === 'closing';
  }

  /** The api's HTTP server, whose connections the second phase waits for (the api process calls this once). */
  attach(server: HttpServer): void {
    this.server = server;
    this.connections.attach(server);
  }

  async beforeApplicationShutdown(signal?: string): Promise<void> {
    this.phase = 'draining';
    const ms = this.config.http.shutdownDrainMs;
    this.logger.log({ signal, drainMs: ms }, 'shutting down: /up answers 503 while draining');
    if (ms <= 0) return;
    await new Promise((r) => setTimeout(r, ms));
    if (!stopAccepting(this.server)) return;
    this.phase = 'closing';
    const startedAt = Date.now();
    const idleAtStop = this.connections.idle;
    const idleLeft = await this.connections.whenNoneIdle(IDLE_CONNECTIONS_WAIT_MS);
    const figures = { idleAtStop, idleLeft, waitedMs: Date.now() - startedAt, open: this.connections.open };
    if (idleLeft > 0) this.logger.warn(figures, 'listener stopped; idle connections still open after the wait (a proxy keeps them longer than 4 s?): the close ends them');
    else this.logger.log(figures, 'listener stopped; no idle connection left');
  }
}

/**
 * Stops a listening server from accepting and leaves its connections alone (net.Server's close:
 * http.Server's own also ends every idle connection). Nest's close() later still closes the server and
 * waits for the rest. False when nothing listens (worker and CLI processes, or already closed).
 */
export function stopAccepting(server: unknown): boolean {
  if (!(server instanceof NetServer) || !server.listening) return false;
  NetServer.prototype.close.call(server);
  return true;
}
