/**
 * Where /api/performance/detailed gets its connection and room figures. The realtime module
 * owns those counts; it registers a provider for this class (in the api root module:
 * `OpsModule.register({ connections: AnAdapterClass })`, see ops.module.ts).
 * Until one is registered the endpoint says so (`connections.available: false`) instead of
 * reporting zero sockets.
 */
export interface ConnectionsReport {
  /** Cluster-wide sockets + SSE streams, and MAX_CONCURRENT_CONNECTIONS. */
  total: number;
  limit: number;
  websocket?: number;
  sse?: number;
  rooms?: number;
  /** Open connections per client address, cluster-wide (MAX_CONNECTIONS_PER_IP applies to these). */
  perIp?: Record<string, number>;
  /** Open connections per Socket.IO namespace (and `sse`). */
  perNamespace?: Record<string, number>;
  /** One entry per live api process. */
  processes?: Array<{ instance: string; [figure: string]: unknown }>;
  /** Anything else the realtime module wants operators to see (per process, per namespace...). */
  [extra: string]: unknown;
}

export abstract class ConnectionStatsSource {
  abstract report(): Promise<ConnectionsReport>;
}
