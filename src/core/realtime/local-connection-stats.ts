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
      let authenticated = 0;
      for (const s of nsp.sockets.values()) if ((s.data as { principal?: unknown } | undefined)?.principal) authenticated++;
      namespaces[nsp.name] = { connections: nsp.sockets.size, authenticated };
      for (const [room, members] of nsp.adapter.rooms) {
        if (nsp.sockets.has(room)) continue; // a socket's own id room
        rooms[`${nsp.name}#${room}`] = members.size;
      }
    }
    for (const [room, size] of this.sse.roomSizes()) rooms[`sse#${room}`] = size;
    return { namespaces, sse: { clients: this.sse.clients, authenticated: this.sse.clients }, rooms };
  }
}
