import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { REDIS } from '../redis/redis.module';
import type { RedisClient } from '../redis/redis.factory';
import { SocketNamespaces } from './socket-namespaces';
import { SseRegistry } from './sse-registry';
import { EngineMiddleware, refuseHandshakesWhile } from './refuse-handshake';

const PROBE_EVERY_MS = 1000;
const PROBE_TIMEOUT_MS = 1000;
/** Consecutive failed probes before this process gives its sockets up. */
const FAILURES_TO_CUT = 2;

/**
 * A process cut off from Redis cannot deliver anything to its sockets (every event reaches it
 * through Redis) and cannot admit new ones (slots, sessions). The partition drill showed its
 * sockets staying connected and silent for the whole cut, then flooded with the backlog
 * (drills/RESULTS.md). So once Redis stops answering this process, it closes its sockets at the
 * transport (clients reconnect as after a crash and recover from history on a process that can
 * reach Redis) and answers new handshakes 503, which nginx resends to another upstream
 * (proxy_next_upstream http_503). When Redis answers again it admits sockets as before.
 */
@Injectable()
export class RedisReachability implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('RedisReachability');
  private failures = 0;
  private timer?: NodeJS.Timeout;
  private probing = false;

  constructor(
    @Inject(REDIS) private readonly redis: RedisClient,
    private readonly namespaces: SocketNamespaces,
    private readonly sse: SseRegistry,
  ) {}

  get cut(): boolean {
    return this.failures >= FAILURES_TO_CUT;
  }

  onModuleInit(): void {
    this.timer = setInterval(() => void this.probe(), PROBE_EVERY_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  private async probe(): Promise<void> {
    if (this.probing) return;
    this.probing = true;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([this.redis.ping(), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('timeout')), PROBE_TIMEOUT_MS)))]);
      if (this.cut) this.logger.warn('Redis answers again: admitting sockets');
      this.failures = 0;
    } catch {
      this.failures++;
      if (this.failures === FAILURES_TO_CUT) this.giveUpSockets();
    } finally {
      clearTimeout(timer);
      this.probing = false;
    }
  }

  private giveUpSockets(): void {
    let closed = 0;
    for (const nsp of this.namespaces.all()) {
      for (const socket of nsp.sockets.values()) {
        // The transport, not a Socket.IO disconnect: the client reconnects by itself and offers its session.
        socket.conn.close();
        closed++;
      }
    }
    const streams = this.sse.endAll();
    this.logger.warn({ closed, streams }, 'Redis unreachable from this process: its sockets reconnect elsewhere, new handshakes get 503');
  }

  /** Engine.IO middleware: handshakes (and upgrades) are refused 503 while Redis is unreachable. */
  engineMiddleware(): EngineMiddleware {
    return refuseHandshakesWhile(() => this.cut, 'This process cannot reach Redis');
  }
}
