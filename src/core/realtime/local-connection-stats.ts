import { Injectable } from '@nestjs/common';
import type { ProcessStats } from './cluster-state';
import { SocketNamespaces } from './socket-namespaces';
import { SseRegistry } from './sse-registry';

/** This process's sockets and streams as ClusterState publishes them for the cluster-wide stats. */
@Injectable()
export class LocalConnectionStats {
  constructor(
    private readonly namespaces: SocketNamespaces,
    private readonly sse: SseRegistry,
  ) {}

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
