import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { realtimeShedTotal } from '../metrics/metrics';
import { AdminAlerts } from './admin-alerts';
import { SocketNamespaces } from './socket-namespaces';

const SHED_CHECK_MS = 1000;
export const SHED_MAX_PACKETS = 1000;
export const SHED_MAX_BYTES = 1024 * 1024;

/**
 * Shedding policy: a socket whose unsent output passes the bound is
 * disconnected (counted in realtime_shed_total, admins get system:warning).
 * It loses nothing silently: it reconnects and recovers from history, or is
 * told recovered=false and refetches. Memory stays bounded under overload.
 */
@Injectable()
export class SlowSocketShedder implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('RealtimeHub');
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly namespaces: SocketNamespaces,
    private readonly alerts: AdminAlerts,
  ) {}

  onModuleInit(): void {
    this.timer = setInterval(() => this.shed(), SHED_CHECK_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** One round (the timer runs it every second); how many sockets were shed. */
  shed(): number {
    let shed = 0;
    for (const nsp of this.namespaces.all()) {
      // forEach: a for...of over every socket each second allocated an iterator result per socket (unoptimized code).
      nsp.sockets.forEach((socket) => {
        const conn = socket.conn as unknown as { writeBuffer?: unknown[]; transport?: { socket?: { bufferedAmount?: number } } };
        const pending = conn.writeBuffer?.length ?? 0;
        const buffered = conn.transport?.socket?.bufferedAmount ?? 0;
        if (pending > SHED_MAX_PACKETS || buffered > SHED_MAX_BYTES) {
          shed++;
          socket.disconnect(true);
        }
      });
    }
    if (!shed) return 0;
    realtimeShedTotal.inc({ transport: 'websocket' }, shed);
    this.logger.warn({ shed }, 'slow sockets shed');
    this.alerts.shedding(shed);
    return shed;
  }
}
