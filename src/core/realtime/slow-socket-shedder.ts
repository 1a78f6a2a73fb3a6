import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { Socket } from 'socket.io';
import { realtimeShedTotal } from '../metrics/metrics';
import { AdminAlerts } from './admin-alerts';
import { ResumableSweep } from './resumable-sweep';
import { SocketNamespaces } from './socket-namespaces';
import { SocketWrites } from './socket-writes';

const SHED_CHECK_MS = 1000;
export const SHED_MAX_PACKETS = 1000;
export const SHED_MAX_BYTES = 1024 * 1024;
/** Every socket is also looked at within this many checks, written to or not (see `shed`). */
export const SHED_SWEEP_CHECKS = 30;
/** A sweep step looks at no fewer sockets than this: a small process looks at all of them every check. */
export const SHED_SWEEP_MIN = 500;

type Conn = { writeBuffer?: unknown[]; transport?: { socket?: { bufferedAmount?: number } } };

function isSlow(socket: Socket): boolean {
  const conn = socket.conn as unknown as Conn;
  return (conn.writeBuffer?.length ?? 0) > SHED_MAX_PACKETS || (conn.transport?.socket?.bufferedAmount ?? 0) > SHED_MAX_BYTES;
}

/**
 * Shedding policy: a socket whose unsent output passes the bound is
 * disconnected (counted in realtime_shed_total, admins get system:warning).
 * It loses nothing silently: it reconnects and recovers from history, or is
 * told recovered=false and refetches. Memory stays bounded under overload.
 *
 * Each second it looks at the sockets written to since the last check (SocketWrites: the members of
 * the rooms events went to, the sockets replayed to): only a write grows unsent output, and fan-out
 * and replays are what can pile it up. Walking every socket each second was most of what an idle
 * process did (issue 18). What else reaches a socket (acks to its own events, engine.io's pings) is
 * covered by a sweep that looks at 1/SHED_SWEEP_CHECKS of the sockets per check (at least
 * SHED_SWEEP_MIN), so every socket is still looked at within SHED_SWEEP_CHECKS seconds.
 */
@Injectable()
export class SlowSocketShedder implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('RealtimeHub');
  private timer?: NodeJS.Timeout;
  /** Where the sweep is: it goes on from there at the next check. */
  private readonly sweep = new ResumableSweep(() => this.everySocket());

  constructor(
    private readonly namespaces: SocketNamespaces,
    private readonly alerts: AdminAlerts,
    private readonly writes: SocketWrites,
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
    const slow = new Set<Socket>();
    const look = (socket: Socket | undefined) => {
      if (socket && isSlow(socket)) slow.add(socket);
    };
    const { rooms, sockets } = this.writes.take();
    rooms.forEach((names, nsp) => {
      for (const room of names) nsp.adapter.rooms.get(room)?.forEach((id) => look(nsp.sockets.get(id)));
    });
    sockets.forEach(look);
    this.sweepStep(look);
    if (!slow.size) return 0;
    slow.forEach((socket) => socket.disconnect(true));
    realtimeShedTotal.inc({ transport: 'websocket' }, slow.size);
    this.logger.warn({ shed: slow.size }, 'slow sockets shed');
    this.alerts.shedding(slow.size);
    return slow.size;
  }

  /** The next 1/SHED_SWEEP_CHECKS of every namespace's sockets, each at most once per step. */
  private sweepStep(look: (socket: Socket) => void): void {
    let total = 0;
    for (const nsp of this.namespaces.all()) total += nsp.sockets.size;
    this.sweep.step(Math.min(total, Math.max(SHED_SWEEP_MIN, Math.ceil(total / SHED_SWEEP_CHECKS))), look);
  }

  private *everySocket(): Generator<Socket> {
    for (const nsp of this.namespaces.all()) yield* nsp.sockets.values();
  }
}
