import { Injectable } from '@nestjs/common';
import type { EventEmitter } from 'node:events';
import type { Namespace } from 'socket.io';
import type { ProcessStats } from './cluster-state';
import { SocketNamespaces } from './socket-namespaces';
import { SseRegistry } from './sse-registry';

/** This process's sockets and streams as ClusterState publishes them for the cluster-wide stats. */
@Injectable()
export class LocalConnectionStats {
  /** Room joins and leaves seen on the namespaces' adapters (a socket's connect and disconnect are its own room's). */
  private roomChanges = 0;
  private readonly watched = new WeakSet<object>();

  constructor(
    private readonly namespaces: SocketNamespaces,
    private readonly sse: SseRegistry,
  ) {}

  /**
   * A number that grows whenever what `snapshot()` reports may have changed: a socket connected,
   * disconnected, joined or left a room (an authenticated socket joins its user room in the same
   * tick as its principal is set), or an SSE stream did. The heartbeat republishes the snapshot only
   * then: building it walks every socket and room, and at 12,500 sockets per process that every 2 s
   * was most of an idle process's garbage (bench/RESULTS.md).
   */
  version(): number {
    for (const nsp of this.namespaces.all()) this.watch(nsp);
    return this.roomChanges + this.sse.version;
  }

  private watch(nsp: Namespace): void {
    const adapter = nsp.adapter as unknown as EventEmitter;
    if (this.watched.has(adapter)) return;
    this.watched.add(adapter);
    this.roomChanges++; // a namespace not in the last snapshot
    const changed = () => {
      this.roomChanges++;
    };
    adapter.on('join-room', changed);
    adapter.on('leave-room', changed);
  }

  snapshot(): Omit<ProcessStats, 'instance'> {
    const namespaces: Record<string, { connections: number; authenticated: number }> = {};
    const rooms: Record<string, number> = {};
    for (const nsp of this.namespaces.all()) {
      // forEach, not for...of: this runs every heartbeat, never gets hot enough to be optimized, and each
      // step of an unoptimized iterator allocates a result object: garbage proportional to the sockets held
      // every 2 s, which kept V8 from shrinking the young generation of an idle process (bench/RESULTS.md).
      let authenticated = 0;
      nsp.sockets.forEach((s) => {
        if ((s.data as { principal?: unknown } | undefined)?.principal) authenticated++;
      });
      namespaces[nsp.name] = { connections: nsp.sockets.size, authenticated };
      nsp.adapter.rooms.forEach((members, room) => {
        if (nsp.sockets.has(room)) return; // a socket's own id room
        rooms[`${nsp.name}#${room}`] = members.size;
      });
    }
    for (const [room, size] of this.sse.roomSizes()) rooms[`sse#${room}`] = size;
    return { namespaces, sse: { clients: this.sse.clients, authenticated: this.sse.clients }, rooms };
  }
}
