import type { ConnectionsReport } from './connection-stats.source';

export interface ConnectionsStatsView {
  current: number;
  limit: number;
  percent: number;
  perIpTop: Array<{ ip: string; connections: number }>;
  perIpLimit: number;
  perNamespace: Record<string, number>;
  perInstance: Array<{ instance: string; [figure: string]: unknown }>;
}

/** GET /api/connections/stats from a report: percent of the cap and the `top` busiest addresses. */
export function connectionsStatsView(report: ConnectionsReport, perIpLimit: number, top: number): ConnectionsStatsView {
  const perIpTop = Object.entries(report.perIp ?? {})
    .map(([ip, connections]) => ({ ip, connections }))
    .sort((a, b) => b.connections - a.connections || a.ip.localeCompare(b.ip))
    .slice(0, top);
  return {
    current: report.total,
    limit: report.limit,
    percent: report.limit ? Math.round((report.total / report.limit) * 10000) / 100 : 0,
    perIpTop,
    perIpLimit,
    perNamespace: report.perNamespace ?? {},
    perInstance: report.processes ?? [],
  };
}
