import { Injectable } from '@nestjs/common';
import { ClusterState } from '../realtime/cluster-state';
import { ConnectionsReport, ConnectionStatsSource } from './connection-stats.source';

/** The realtime module's cluster-wide counts, in the shape the ops endpoints and status page show. */
@Injectable()
export class RealtimeConnectionStats extends ConnectionStatsSource {
  constructor(private readonly cluster: ClusterState) {
    super();
  }

  async report(): Promise<ConnectionsReport> {
    const s = await this.cluster.clusterStats();
    const perNamespace: Record<string, number> = {};
    let websocket = 0;
    let sse = 0;
    const rooms = new Set<string>();
    for (const p of s.processes) {
      for (const [ns, n] of Object.entries(p.namespaces)) {
        perNamespace[ns] = (perNamespace[ns] ?? 0) + n.connections;
        websocket += n.connections;
      }
      sse += p.sse.clients;
      for (const room of Object.keys(p.rooms)) rooms.add(room);
    }
    if (sse) perNamespace.sse = sse;
    return {
      total: s.total,
      limit: s.limit,
      websocket,
      sse,
      rooms: rooms.size,
      perIp: s.perIp,
      perNamespace,
      processes: s.processes.map((p) => ({ ...p })),
      onlineUsers: s.onlineUsers,
    };
  }
}
